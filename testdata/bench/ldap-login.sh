#!/usr/bin/env bash
# ldap-login: XMPP login storm with the LDAP directory against the embedded
# one (issue 4's benchmark), end to end through xmppd with xmppbench.
# A private slapd (Debian's, mdb, {SSHA} passwords) holds user1..userN; the
# embedded run imports the same accounts with xmppctl. Each run: a fixed
# step where every user logs in twice (cache hit ratio from `xmppctl stats`),
# then a stepped storm for the sustained rate. Plaintext c2s, SASL PLAIN
# (the only mechanism LDAP can answer). Pinning: xmppd and slapd on CPU 0
# (the server side), xmppbench on CPU 1.
#   testdata/bench/ldap-login.sh        env: N (2000) RATES (200,400,800,1200,1600) BIN (bin)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${BIN:-$ROOT/bin}" N="${N:-2000}" RATES="${RATES:-200,400,800,1200,1600}"
for b in xmppd xmppctl xmppbench; do [ -x "$BIN/$b" ] || { echo "missing $BIN/$b (go build -o bin/ ./cmd/...)" >&2; exit 1; }; done
SLAPD=/usr/sbin/slapd; SLAPADD=/usr/sbin/slapadd
[ -x "$SLAPD" ] || { echo "slapd missing (make deps)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
DIR="$(mktemp -d /tmp/ldap-login.XXXXXX)"; PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.2; done; echo "nothing listens on $1" >&2; exit 1; }

# slapd: the tests' configuration without its TLS lines.
mkdir -p "$DIR/db"
sed -e "s|{{DIR}}|$DIR|g" -e '/^TLSCertificate/d' "$ROOT/testdata/ldap/slapd.conf.tmpl" > "$DIR/slapd.conf"
python3 - "$N" > "$DIR/users.ldif" <<'PY'
import base64, hashlib, os, sys
def ssha(pw):
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(pw.encode() + salt).digest() + salt).decode()
print("""dn: dc=example,dc=org
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example Org
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: cn=xmppd,ou=services,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: xmppd
userPassword: %s
""" % ssha("xmppd-service"))
for i in range(1, int(sys.argv[1]) + 1):
    print("dn: uid=user%d,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nuserPassword: %s\n" % (i, i, i, i, ssha("pw")))
PY
"$SLAPADD" -q -f "$DIR/slapd.conf" -l "$DIR/users.ldif"
LP=$(port)
taskset -c 0 "$SLAPD" -d 0 -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$LP/" > "$DIR/slapd.log" 2>&1 &
PIDS+=("$!"); waitport "$LP"

run() { # run ldap|embedded
  local be="$1" C2S; C2S=$(port)
  local conf="$DIR/$be.toml"
  cat > "$conf" <<TOML
[server]
domains = ["example.org"]
data_dir = "$DIR/data-$be"
log_level = "warn"
admin_socket = "$DIR/admin-$be.sock"
[c2s]
listen = ["127.0.0.1:$C2S"]
direct_tls_listen = []
require_tls = false
allow_plain_without_tls = true
[directory]
backend = "$be"
TOML
  if [ "$be" = ldap ]; then
    cat >> "$conf" <<TOML
[directory.ldap]
url = "ldap://127.0.0.1:$LP"
bind_dn = "cn=xmppd,ou=services,dc=example,dc=org"
bind_password = "xmppd-service"
domain = "example.org"
user_base = "ou=people,dc=example,dc=org"
TOML
  else
    for ((i = 1; i <= N; i++)); do echo "user$i@example.org;pw"; done > "$DIR/users.csv"
    "$BIN/xmppctl" -config "$conf" user import "$DIR/users.csv" >&2
  fi
  taskset -c 0 "$BIN/xmppd" -config "$conf" > "$DIR/xmppd-$be.log" 2>&1 &
  local srv=$!; PIDS+=("$srv"); waitport "$C2S"; sleep 1
  xb() { taskset -c 1 "$BIN/xmppbench" -addr "127.0.0.1:$C2S" -domain example.org -users "$N" -password pw \
      -pid "$srv" -label "xmppd $be" -sources 127.0.0.1,127.0.0.2 -scenario login "$@"; }
  echo "== $(date -u +%T) $be: every user twice (loadavg $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  xb -rates "$((N / 10))" -step 20s
  "$BIN/xmppctl" -config "$conf" stats >&2 || true
  echo "== $(date -u +%T) $be: stepped storm" >&2
  xb -rates "$RATES" -step 10s -pause 3s
  kill -TERM "$srv"; wait "$srv" 2>/dev/null || true
}
run ldap
run embedded
