# xmppd: build, run, test. `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go

# Debian packages the tests drive as real peers (server/interop) or run as
# servers (slapd for directory/ldap); openssl for certificates by hand.
DEB_PACKAGES := python3-slixmpp python3-aioxmpp python3-nbxmpp go-sendxmpp slapd ldap-utils openssl curl

# staticcheck runs through `go run`, fetched from the Go module proxy.
STATICCHECK_VERSION ?= v0.8.2
# How long each Fuzz target runs under `make fuzz`.
FUZZTIME ?= 20s
# Upper bound for one package's tests (the interop package is the slowest).
TEST_TIMEOUT ?= 45m
# Packages for test, lint, bench: `make test PKGS=./server/interop/...`.
PKGS ?= ./...

.PHONY: all build run deps test lint bench bench-load fuzz clean

all: build

## build: the three binaries into ./bin/
build:
	$(GO) build -o bin/ ./cmd/...

## run: build, then xmppd in the foreground with its embedded defaults
run: build
	bin/xmppd

## deps: install the Debian packages the tests need (root, no prompts)
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		if [ "$$(dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null)" != "install ok installed" ]; then \
			missing="$$missing $$p"; \
		fi; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: missing$$missing; run make deps as root" >&2; exit 1; fi; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	policy=/usr/sbin/policy-rc.d; \
	if [ ! -e "$$policy" ]; then \
		printf '#!/bin/sh\nexit 101\n' > "$$policy"; chmod 755 "$$policy"; \
		trap 'rm -f "$$policy"' EXIT; \
	fi; \
	apt-get update; \
	apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $$missing

## test: deps, go vet, and every test with the race detector: unit tests,
## fuzz seed corpora, interop with Debian's clients, scansion conformance
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

## lint: gofmt, go vet, staticcheck (skipped with a notice when the Go
## module proxy cannot be reached)
lint:
	@unformatted="$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -version >/dev/null 2>&1; then \
		echo "staticcheck@$(STATICCHECK_VERSION) $(PKGS)"; \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS); \
	else \
		echo "lint: staticcheck@$(STATICCHECK_VERSION) not available from the Go proxy; skipped"; \
	fi

## bench: every benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-load: xmppbench (login, chat, saturate, idle) against a fresh
## bin/xmppd with generated accounts; see testdata/bench/bench-load.sh
bench-load: build
	testdata/bench/bench-load.sh

## fuzz: each Fuzz target for FUZZTIME (go test -fuzz takes one at a time)
fuzz:
	@targets="$$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func /:/' | sort -u)"; \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets"; exit 0; fi; \
	for t in $$targets; do \
		dir="$$(dirname "$${t%%:*}")"; name="$${t##*:}"; \
		echo "fuzz: $$dir $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$dir"; \
	done

## clean: remove build output
clean:
	rm -rf bin/
