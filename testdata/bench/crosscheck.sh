#!/usr/bin/env bash
# Cross-check xmppbench against tsung (issue 5, item 2): the same scenario,
# tsung through ../shared/bench/run.sh and xmppbench through peer.sh, against
# fresh instances of Debian's prosody and ejabberd, one run at a time.
#
# usage: testdata/bench/crosscheck.sh [chat|login ...]   (default: chat login)
#   env: OUT (testdata/bench/results/<utc>), HASHED (0, like the baseline),
#        XMPPBENCH_FIRST=1 (run xmppbench before tsung),
#        NICE (-10: both tools and servers run at this niceness), SERVERS,
#        QUIET_LOAD (1.5) / QUIET_WAIT_S (300): wait for a quiet machine first
# Every run's stdout+stderr lands in $OUT/<scenario>-<server>-<tool>.log, the
# JSON in the same directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${SHARED:-/work/shared/bench}"
OUT="${OUT:-$ROOT/testdata/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}"
export HASHED="${HASHED:-0}" TLS=0
mkdir -p "$OUT"
[ -x "$ROOT/bin/xmppbench" ] || (cd "$ROOT" && go build -o bin/xmppbench ./cmd/xmppbench)
quiet() { # wait (up to QUIET_WAIT_S, 300) until the 1-min load average is below QUIET_LOAD (1.5)
  local i
  for ((i = 0; i < ${QUIET_WAIT_S:-300}; i += 5)); do
    python3 -c "import os,sys; sys.exit(os.getloadavg()[0] >= float('${QUIET_LOAD:-1.5}'))" && return 0
    sleep 5
  done
  echo "   machine still busy: loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}
run() { # run NAME CMD...: one benchmark, logged
  local name="$1"; shift
  quiet
  echo "== $(date -u +%T) $name: $*" | tee -a "$OUT/commands.txt" >&2
  # both tools get the same raised priority (children inherit it): the
  # machine is shared, and other tenants' compiles on CPU 0 otherwise starve
  # the server under test (prosody's chat p99 went from ~60 ms to 9 s)
  nice -n "${NICE:--10}" "$@" > "$OUT/$name.log" 2>&1 || echo "   $name exited $?" >&2
  grep -h '^RESULT' "$OUT/$name.log" | tail -1 >&2 || true
  sleep 5
}
SCS=("$@"); [ ${#SCS[@]} -gt 0 ] || SCS=(chat login)
for sc in "${SCS[@]}"; do
  for srv in ${SERVERS:-prosody ejabberd}; do
    case "$sc" in
      chat)
        tsung() { run "chat-$srv-tsung" env RESULTS_DIR="$OUT" N=2000 "$SHARED/run.sh" "$srv"; }
        xb() { run "chat-$srv-xmppbench" env N=2000 "$ROOT/testdata/bench/peer.sh" "$srv" -scenario chat \
          -arrival 20s -msgs 60 -interval 1s -size 64 -linger 5s; };;
      login)
        # -roster=false: tsung's login scenario sends presence right after bind
        tsung() { run "login-$srv-tsung" env RESULTS_DIR="$OUT" SCENARIO=login N=10000 "$SHARED/run.sh" "$srv"; }
        xb() { run "login-$srv-xmppbench" env N=10000 "$ROOT/testdata/bench/peer.sh" "$srv" -scenario login \
          -roster=false -rates 50,100,150,200,250,300,400,600,800,1000,1200,1600 -step 15s -hold 1s -pause 5s; };;
      *) echo "unknown scenario $sc" >&2; exit 2;;
    esac
    # XMPPBENCH_FIRST=1 swaps the order, to see whether drift favours one tool
    if [ "${XMPPBENCH_FIRST:-0}" = 1 ]; then xb; tsung; else tsung; xb; fi
  done
done
echo "results in $OUT" >&2
