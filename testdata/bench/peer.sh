#!/usr/bin/env bash
# Cross-check helper: start Debian's prosody or ejabberd exactly the way
# ../shared/bench/run.sh does (same config templates, accounts user1..userN
# with password pw, server pinned to CPU 0), then run xmppbench (pinned to
# CPU 1, like tsung) against that instance, then stop the server.
#
# usage: testdata/bench/peer.sh prosody|ejabberd XMPPBENCH_ARGS...
#   env: N (2000) HASHED (1) TLS (0) PORT (25222) BENCH (path of the
#   xmppbench binary, default bin/xmppbench) SHARED (../shared/bench)
# The xmppbench arguments get -addr, -domain, -users, -password, -pid,
# -label and -sources added; pass the scenario flags.
set -euo pipefail
SERVER="${1:?usage: peer.sh prosody|ejabberd XMPPBENCH_ARGS...}"; shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench}"; [ -d "$SHARED" ] || SHARED=/work/shared/bench
BENCH="${BENCH:-$ROOT/bin/xmppbench}"
N="${N:-2000}" HASHED="${HASHED:-1}" TLS="${TLS:-0}" PORT="${PORT:-25222}"
DOMAIN=localhost PASSWORD=pw
die() { echo "peer.sh: $*" >&2; exit 1; }
[ -x "$BENCH" ] || die "no xmppbench binary at $BENCH (go build -o bin/xmppbench ./cmd/xmppbench)"
ulimit -n "$(ulimit -Hn)"
RUNDIR="$(mktemp -d /tmp/xb-peer.XXXXXX)"; chmod 755 "$RUNDIR"
SRV_PID=""
stop() {
  [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null || return 0
  kill -TERM "$SRV_PID"; for _ in $(seq 40); do kill -0 "$SRV_PID" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$SRV_PID" 2>/dev/null || true
}
EPMD_BEFORE=0; epmd -names >/dev/null 2>&1 && EPMD_BEFORE=1
cleanup() { stop; [ "$SERVER" = ejabberd ] && [ "$EPMD_BEFORE" = 0 ] && epmd -kill >/dev/null 2>&1; rm -rf "$RUNDIR"; }
trap cleanup EXIT
for ((i = 1; i <= N; i++)); do echo "user$i;$PASSWORD"; done > "$RUNDIR/users.csv"
export BENCH_RUNDIR="$RUNDIR" BENCH_N="$N" BENCH_DOMAIN="$DOMAIN" BENCH_HOST=127.0.0.1 BENCH_PORT="$PORT" \
  BENCH_PASSWORD="$PASSWORD" BENCH_USERS_CSV="$RUNDIR/users.csv" BENCH_HASHED="$HASHED" BENCH_TLS="$TLS"
TLSARGS=()
if [ "$TLS" = 1 ]; then
  mkdir -p "$RUNDIR/certs"
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 30 -subj "/CN=$DOMAIN" \
    -addext "subjectAltName=DNS:$DOMAIN" -keyout "$RUNDIR/certs/$DOMAIN.key" -out "$RUNDIR/certs/$DOMAIN.crt" >/dev/null 2>&1
  cat "$RUNDIR/certs/$DOMAIN.crt" "$RUNDIR/certs/$DOMAIN.key" > "$RUNDIR/certs/$DOMAIN.pem"
  export BENCH_TLS_CERT="$RUNDIR/certs/$DOMAIN.crt" BENCH_TLS_KEY="$RUNDIR/certs/$DOMAIN.key" BENCH_TLS_PEM="$RUNDIR/certs/$DOMAIN.pem"
  TLSARGS=(-tls starttls -insecure)
fi
case "$SERVER" in
  prosody)
    "$SHARED/examples/prosody-as-custom.sh" prepare
    ( exec taskset -c 0 "$SHARED/examples/prosody-as-custom.sh" start ) > "$RUNDIR/server.out" 2>&1 &
    SRV_PID=$!; VERSION="prosody $(dpkg-query -W -f '${Version}' prosody)";;
  ejabberd)
    mkdir -p "$RUNDIR/db" "$RUNDIR/log"
    certs='[]' starttls=false; [ "$TLS" = 1 ] && { certs="[\"$BENCH_TLS_PEM\"]"; starttls=true; }
    pwf=plain; [ "$HASHED" = 1 ] && pwf=scram
    sed -e "s|@DOMAIN@|$DOMAIN|g; s|@PORT@|$PORT|g; s|@RUNDIR@|$RUNDIR|g; s|@EJABBERD_PW_FORMAT@|$pwf|" \
        -e "s|@EJABBERD_CERTFILES@|$certs|; s|@EJABBERD_STARTTLS@|$starttls|g" \
        "$SHARED/conf/ejabberd.yml.in" > "$RUNDIR/ejabberd.yml"
    grep -v '^ *#' "$RUNDIR/ejabberd.yml" | grep -q '@[A-Z_]*@' && die "unfilled placeholder in ejabberd.yml"
    cp /etc/ejabberd/inetrc "$RUNDIR/inetrc"
    chown -R ejabberd:ejabberd "$RUNDIR"
    ENODE="xbejb$PORT@localhost"; COOKIE="xb$PORT$$"
    ( cd "$RUNDIR" && exec env HOME="$RUNDIR" ERL_LIBS=/usr/lib/x86_64-linux-gnu \
        EJABBERD_CONFIG_PATH="$RUNDIR/ejabberd.yml" EJABBERD_LOG_PATH="$RUNDIR/log/ejabberd.log" \
        ERL_MAX_PORTS=$((N * 2 + 10000)) ERL_INETRC="$RUNDIR/inetrc" ERL_CRASH_DUMP_BYTES=0 \
        setpriv --reuid=ejabberd --regid=ejabberd --init-groups \
        taskset -c 0 erl -sname "$ENODE" -setcookie "$COOKIE" +K true +P 1000000 \
        -noinput -mnesia dir "\"$RUNDIR/db\"" -s ejabberd ) > "$RUNDIR/server.out" 2>&1 &
    SRV_PID=$!; VERSION="ejabberd $(dpkg-query -W -f '${Version}' ejabberd)";;
  *) die "unknown server $SERVER";;
esac
python3 "$SHARED/lib/xmpp_probe.py" 127.0.0.1 "$PORT" "$DOMAIN" --wait 60 $([ "$TLS" = 1 ] && echo --starttls) >&2 \
  || { tail -20 "$RUNDIR/server.out" >&2; die "server not ready"; }
if [ "$SERVER" = ejabberd ]; then  # the same registration as run.sh (SCRAM records computed here)
  erl -noshell -hidden -sname "xbreg$$@localhost" -setcookie "$COOKIE" -eval "
    Node = '$ENODE', Dom = <<\"$DOMAIN\">>, Pw = <<\"$PASSWORD\">>, N = $N,
    pong = net_adm:ping(Node),
    Fmt = rpc:call(Node, ejabberd_auth, password_format, [Dom]),
    Cred = case Fmt of
      plain -> fun() -> Pw end;
      scram ->
        Hash = rpc:call(Node, ejabberd_option, auth_scram_hash, [Dom]),
        PwP = rpc:call(Node, jid, resourceprep, [Pw]),
        Len = byte_size(crypto:hash(Hash, <<>>)),
        fun() ->
          Salt = crypto:strong_rand_bytes(16),
          SP = crypto:pbkdf2_hmac(Hash, PwP, Salt, 4096, Len),
          {scram, base64:encode(crypto:hash(Hash, crypto:mac(hmac, Hash, SP, <<\"Client Key\">>))),
                  base64:encode(crypto:mac(hmac, Hash, SP, <<\"Server Key\">>)),
                  base64:encode(Salt), Hash, 4096}
        end
    end,
    Reg = fun(I) ->
      case rpc:call(Node, ejabberd_auth, try_register,
                    [list_to_binary(\"user\" ++ integer_to_list(I)), Dom, Cred()]) of
        ok -> 0; {atomic, _} -> 0; {error, exists} -> 0; _ -> 1 end end,
    W = 4, Self = self(),
    [spawn_link(fun() -> Self ! {done, lists:sum([Reg(I) || I <- lists:seq(K, N, W)])} end)
     || K <- lists:seq(1, W)],
    Bad = lists:sum([receive {done, B} -> B end || _ <- lists:seq(1, W)]),
    io:format(\"ejabberd: registered ~p users (~s), ~p failures~n\", [N - Bad, Fmt, Bad]),
    halt(case Bad of 0 -> 0; _ -> 1 end)." >&2 || die "ejabberd registration failed"
fi
python3 "$SHARED/lib/xmpp_probe.py" 127.0.0.1 "$PORT" "$DOMAIN" --login user1 "$PASSWORD" --login "user$N" "$PASSWORD" \
  --wait 20 $([ "$TLS" = 1 ] && echo --starttls) >&2 || die "login probe failed"
sleep 3
echo "== $VERSION N=$N hashed=$HASHED tls=$TLS pid=$SRV_PID loadavg=$(cut -d' ' -f1-3 /proc/loadavg)" >&2
rc=0
taskset -c 1 "$BENCH" -addr "127.0.0.1:$PORT" -domain "$DOMAIN" -users "$N" -password "$PASSWORD" \
  -pid "$SRV_PID" -label "$VERSION" -sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 "${TLSARGS[@]}" "$@" || rc=$?
exit $rc
