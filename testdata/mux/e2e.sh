#!/bin/sh
# End-to-end check of the multiplexor with the real binaries and Debian's
# python3-slixmpp: xmppd with two muxes on loopback. Run from the module root:
#   sh testdata/mux/e2e.sh
# Prints one "ok ..." line per step and exits non-zero at the first failure.
set -eu
ROOT=$(pwd)
W=$(mktemp -d /tmp/mux-e2e.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL $*"; echo "--- xmppd log"; tail -n 30 "$W"/xmppd*.log; echo "--- mux1 log"; tail -n 20 "$W/mux1.log"; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ListenMux is wired by cmd/xmppd once the lead adds it; until then build
# with an overlay that adds the one call.
OVERLAY=""
if ! grep -q ListenMux cmd/xmppd/main.go; then
	sed 's/^\tif cfg.Server.PprofListen != "" {/\tif _, err := srv.ListenMux(); err != nil {\n\t\treturn err\n\t}\n&/' cmd/xmppd/main.go >"$W/main.go"
	printf '{"Replace":{"%s":"%s"}}' "$ROOT/cmd/xmppd/main.go" "$W/main.go" >"$W/overlay.json"
	OVERLAY="-overlay=$W/overlay.json"
fi
go build $OVERLAY -o "$W/bin/" ./cmd/xmppd ./cmd/xmppctl ./cmd/xmppmux

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
C2S=$(port) DTLS=$(port) MUXP=$(port) M1=$(port) M1T=$(port) M2=$(port) S1=$(port)
cat >"$W/xmppd.toml" <<T
[server]
domains = ["localhost"]
log_level = "debug"
data_dir = "$W/data"
[tls]
cert = "$W/cert.pem"
key = "$W/key.pem"
[c2s]
listen = ["127.0.0.1:$C2S"]
direct_tls_listen = ["127.0.0.1:$DTLS"]
[mux]
listen = "127.0.0.1:$MUXP"
tls = true
[[mux.peer]]
name = "mux1"
secret = "one"
[[mux.peer]]
name = "mux2"
secret = "two"
T
muxconf() { # name secret plainport [tlsport] [statsport]
	cat >"$W/$1.toml" <<T
[mux]
name = "$1"
secret = "$2"
server = "127.0.0.1:$MUXP"
server_tls = true
server_ca = "$W/cert.pem"
server_name = "localhost"
reconnect_max = "2s"
[listen]
plain = ["127.0.0.1:$3"]
T
	if [ -n "${4:-}" ]; then printf 'tls = ["127.0.0.1:%s"]\ncert = "%s"\nkey = "%s"\n[stats]\nlisten = "127.0.0.1:%s"\n' "$4" "$W/cert.pem" "$W/key.pem" "$5" >>"$W/$1.toml"; fi
}
muxconf mux1 one "$M1" "$M1T" "$S1"
muxconf mux2 two "$M2"
for u in alice bob carol dave eve; do echo pw-$u | "$W/bin/xmppctl" -config "$W/xmppd.toml" user add $u@localhost >/dev/null; done

start_xmppd() { "$W/bin/xmppd" -config "$W/xmppd.toml" >>"$W/xmppd.log" 2>&1 & XPID=$!; PIDS="$PIDS $XPID"; }
start_mux() { "$W/bin/xmppmux" -config "$W/$1.toml" >>"$W/$1.log" 2>&1 & eval "${1}PID=\$!"; PIDS="$PIDS $!"; }
waitlog() { # file pattern count (a file not created yet counts 0 lines)
	i=0
	while n=$(grep -c "$2" "$1" 2>/dev/null || true); [ "${n:-0}" -lt "$3" ]; do
		i=$((i+1)); [ $i -lt 300 ] || fail "waiting for '$2' in $1"; sleep 0.1
	done
}
slix() { port=$1; shift; /usr/bin/python3 testdata/interop/slix.py --port "$port" --cafile "$W/cert.pem" "$@"; }

start_xmppd; start_mux mux1; start_mux mux2
waitlog "$W/mux1.log" "mux link up" 1; waitlog "$W/mux2.log" "mux link up" 1
echo "ok two muxes linked over TLS"

out=$(slix "$M1" --jid alice@localhost --password pw-alice roundtrip --peer bob@localhost --peer-password pw-bob) || fail "roundtrip via mux1: $out"
echo "$out" | grep -q "^OFFLINE bob@localhost from=alice@localhost" || fail "no offline message: $out"
echo "ok mux1: STARTTLS + SCRAM, chat, presence, offline ($(echo "$out" | grep -c .) lines)"
grep -q 'via=mux1' "$W/xmppd.log" || fail "server log does not name mux1"

out=$(slix "$M2" --jid carol@localhost --password pw-carol login) || fail "login via mux2: $out"
echo "$out" | grep -q "^TLS carol@localhost starttls" || fail "$out"
echo "ok mux2: $(echo "$out" | grep ^TLS)"

out=$(slix "$M1T" --direct-tls --jid dave@localhost --password pw-dave login) || fail "direct TLS at mux1: $out"
echo "ok mux1 direct TLS terminated at the mux: $(echo "$out" | grep ^TLS)"

# carol direct, dave through mux2: chat across transports.
slix "$C2S" --jid carol@localhost --password pw-carol receive --body "via mux2" >"$W/carol.out" 2>&1 & RPID=$!
PIDS="$PIDS $RPID"
waitlog "$W/carol.out" READY 1
/usr/bin/python3 testdata/mux/send.py "$M2" "$W/cert.pem" dave@localhost pw-dave carol@localhost "via mux2" >/dev/null 2>&1 || fail "send via mux2"
wait $RPID || fail "direct client did not get the message: $(cat "$W/carol.out")"
grep -q "^MSG carol@localhost from=dave@localhost body=via mux2" "$W/carol.out" || fail "$(cat "$W/carol.out")"
echo "ok direct client got a message sent through mux2"

# Head-of-line: eve (through mux1) never reads while alice floods her with
# 8 MB; bob and alice (also through mux1) must still chat meanwhile.
/usr/bin/python3 testdata/mux/stall.py "$M1" "$W/cert.pem" eve@localhost pw-eve >"$W/eve.out" 2>&1 & EPID=$!
PIDS="$PIDS $EPID"
waitlog "$W/eve.out" READY 1
BIG=$(python3 -c 'print("x"*1000)')
/usr/bin/python3 testdata/mux/send.py "$M1" "$W/cert.pem" alice@localhost pw-alice eve@localhost "$BIG" 8000 >/dev/null 2>&1 &
FPID=$!; PIDS="$PIDS $FPID"
# wait until the bytes going down to clients stop growing: eve is stuck
prev=-1 same=0 i=0
while [ $same -lt 20 ]; do
	cur=$(curl -fsS "http://127.0.0.1:$S1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_down"])')
	if [ "$cur" = "$prev" ] && [ "$cur" -gt 1000000 ]; then same=$((same+1)); else same=0; fi
	prev=$cur; i=$((i+1)); [ $i -lt 900 ] || fail "flood to eve did not stall"; sleep 0.1
done
out=$(slix "$M1" --jid carol@localhost --password pw-carol roundtrip --peer dave@localhost --peer-password pw-dave) || fail "chat stalled while eve does not read: $out"
echo "ok carol and dave chat through mux1 while eve (mux1) does not read a flood of 8 MB"
wait $FPID 2>/dev/null || true
kill $EPID 2>/dev/null || true

curl -fsS "http://127.0.0.1:$S1/stats" >"$W/stats.json" 2>/dev/null || "$W/bin/xmppmux" -stats "127.0.0.1:$S1" >"$W/stats.json"
echo "ok mux1 stats: $(tr -d ' \n' <"$W/stats.json" | cut -c1-200)"

# A wrong secret: not-authorized, logged on both sides, retried with backoff.
muxconf bad wrong "$(port)"
sed -i 's/^name = "bad"/name = "mux1"/' "$W/bad.toml"
start_mux bad
waitlog "$W/bad.log" "not-authorized" 2
# The server logs its refusal after writing it: wait for the line.
waitlog "$W/xmppd.log" 'mux link refused.*mux=mux1.*not-authorized' 1
kill "$badPID"
echo "ok wrong secret: not-authorized, logged by both, retried ($(grep -c not-authorized "$W/bad.log") attempts)"

# Server restart: the muxes reconnect by themselves.
kill "$XPID"; wait "$XPID" 2>/dev/null || true
waitlog "$W/mux1.log" "mux link down" 1
start_xmppd
waitlog "$W/mux1.log" "mux link up" 2; waitlog "$W/mux2.log" "mux link up" 2
out=$(slix "$M1" --jid alice@localhost --password pw-alice login) || fail "login after server restart: $out"
echo "ok server restarted, muxes reconnected, login through mux1 works"

# Killing a mux ends its sessions on the server; later messages go offline.
slix "$M2" --jid bob@localhost --password pw-bob receive --body never >"$W/bob.out" 2>&1 & BPID=$!
waitlog "$W/bob.out" READY 1
# Count bob's ended sessions only: another session (alice's login above)
# may log its end late, and bob's must be gone before the next message.
ended='session ended.*jid=bob@localhost/'
n0=$(grep -c "$ended" "$W/xmppd.log" || true)
kill "$mux2PID"; wait "$mux2PID" 2>/dev/null || true
wait $BPID 2>/dev/null || true
i=0; while [ "$(grep -c "$ended" "$W/xmppd.log" || true)" -le "$n0" ]; do i=$((i+1)); [ $i -lt 300 ] || fail "server did not end bob's session"; sleep 0.1; done
echo "ok killing mux2 ended its session on the server"
/usr/bin/python3 testdata/mux/send.py "$M1" "$W/cert.pem" alice@localhost pw-alice bob@localhost "after mux2 died" >/dev/null 2>&1 || fail "send to bob"
out=$(slix "$M1" --jid bob@localhost --password pw-bob receive --body "after mux2 died") || fail "bob did not get the offline message: $out"
echo "ok a message sent after mux2 died was stored offline and delivered through mux1"
echo "PASS"
