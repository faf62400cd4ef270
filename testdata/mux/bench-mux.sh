#!/usr/bin/env bash
# bench-mux: the core's load (xmppbench) against xmppd directly and through
# one xmppmux, same server, same run; for docs (issue 3 benchmarks).
#   testdata/mux/bench-mux.sh [chat|saturate|many]...   (default: chat)
# env: N_CHAT (2000) N_SAT (1000) N_MANY (50000) MUXES (3, for "many")
#      SHORT=1 small quick runs; KEEP=1 keeps the temp dir.
# Pinning: xmppd on CPU 0, xmppbench on CPU 1, xmppmux unpinned (it would
# run on its own machine in production), or on MUX_CPUS (MUX_CPUS=0 puts the
# whole server side, xmppd and the mux, on the core xmppd has alone in the
# direct run). JSON lines on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHORT="${SHORT:-0}"
N_CHAT="${N_CHAT:-2000}" N_SAT="${N_SAT:-1000}" N_MANY="${N_MANY:-50000}" MUXES="${MUXES:-3}"
[ "$SHORT" = 1 ] && { N_CHAT=200; N_SAT=200; N_MANY=3000; }
SCENARIOS=("$@"); [ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(chat)
DIR="$(mktemp -d /tmp/bench-mux.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-mux: kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
die() { echo "bench-mux: $*" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
(cd "$ROOT" && go build -o "$DIR/bin/" ./cmd/xmppd ./cmd/xmppctl ./cmd/xmppmux ./cmd/xmppbench)
BIN="$DIR/bin"
NMAX=$N_CHAT; for sc in "${SCENARIOS[@]}"; do [ "$sc" = many ] && NMAX=$N_MANY; done
[ "$NMAX" -lt "$N_SAT" ] && NMAX=$N_SAT
C2S=$(port) MUXP=$(port)
cat > "$DIR/xmppd.toml" <<TOML
[server]
domains = ["localhost"]
data_dir = "$DIR/data"
log_level = "warn"
[c2s]
listen = ["127.0.0.1:$C2S"]
direct_tls_listen = []
require_tls = false
allow_plain_without_tls = true
[mux]
listen = "127.0.0.1:$MUXP"
TOML
for i in $(seq "$MUXES"); do printf '[[mux.peer]]\nname = "mux%d"\nsecret = "s%d"\n' "$i" "$i" >> "$DIR/xmppd.toml"; done
for ((i = 1; i <= NMAX; i++)); do echo "user$i;pw"; done > "$DIR/users.csv"
"$BIN/xmppctl" -config "$DIR/xmppd.toml" user import "$DIR/users.csv" >&2 || die "user import failed"
taskset -c 0 "$BIN/xmppd" -config "$DIR/xmppd.toml" > "$DIR/xmppd.log" 2>&1 &
SRV=$!; PIDS+=("$SRV")
MUXADDR=()
for i in $(seq "$MUXES"); do
  p=$(port); MUXADDR+=("127.0.0.1:$p")
  cat > "$DIR/mux$i.toml" <<TOML
[mux]
name = "mux$i"
secret = "s$i"
server = "127.0.0.1:$MUXP"
log_level = "warn"
[listen]
plain = ["127.0.0.1:$p"]
[limits]
max_clients = 20000
TOML
  PIN=(); [ -n "${MUX_CPUS:-}" ] && PIN=(taskset -c "$MUX_CPUS")
  "${PIN[@]}" "$BIN/xmppmux" -config "$DIR/mux$i.toml" > "$DIR/mux$i.log" 2>&1 &
  PIDS+=("$!")
done
for _ in $(seq 100); do ss -Htln "sport = :$C2S" | grep -q . && break; sleep 0.2; done
sleep 2
xb() { # xb ADDR LABEL N FLAGS...
  local addr="$1" label="$2" n="$3"; shift 3
  echo "== $(date -u +%T) $label: xmppbench -users $n $* (loadavg $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  taskset -c 1 "$BIN/xmppbench" -addr "$addr" -domain localhost -users "$n" -password pw -pid "$SRV" \
    -label "$label" -sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 "$@"
  sleep 3
}
muxrss() { for p in "${PIDS[@]:1}"; do echo "mux pid $p rss_kib $(awk '/VmRSS/{print $2}' /proc/$p/status)" >&2; done; }
for sc in "${SCENARIOS[@]}"; do
  case "$sc:$SHORT" in
    chat:1) F=(-scenario chat -arrival 2s -msgs 5 -interval 1s -linger 2s);;
    chat:*) F=(-scenario chat -arrival 20s -msgs 60 -interval 1s -size 64 -linger 5s);;
    saturate:1) F=(-scenario saturate -arrival 2s -settle 1s -rates 1000,2000 -step 3s -warmup 1s -linger 1s -pause 1s);;
    saturate:*) F=(-scenario saturate -arrival 10s -settle 5s -rates 4000,8000,12000,16000,24000,32000,40000,48000 -step 10s -warmup 2s -linger 2s -pause 3s);;
    many:*)
      # N_MANY idle sessions through the muxes, one generator per mux
      # (each under the 20,000 descriptors a process may hold).
      per=$((N_MANY / MUXES)); gen=()
      for i in $(seq "$MUXES"); do
        taskset -c 1 "$BIN/xmppbench" -scenario idle -addr "${MUXADDR[$((i-1))]}" -domain localhost \
          -first $(( (i-1)*per + 1 )) -users "$per" -password pw -pid "$SRV" -label "via mux$i" \
          -sources "127.0.$i.1,127.0.$i.2,127.0.$i.3,127.0.$i.4" -arrival "${ARRIVAL:-120}s" -settle 10s -hold 30s -timeout 30s &
        gen+=("$!")
      done
      sleep $(( ${ARRIVAL:-120} + 20 ))
      echo "server while all are connected (fds: $(ls /proc/$SRV/fd | wc -l), rss_kib: $(awk '/VmRSS/{print $2}' /proc/$SRV/status)):" >&2
      "$BIN/xmppctl" -config "$DIR/xmppd.toml" stats >&2 || true
      "$BIN/xmppctl" -config "$DIR/xmppd.toml" mux >&2 || true
      muxrss
      for g in "${gen[@]}"; do wait "$g" || true; done
      continue;;
    *) die "unknown scenario $sc";;
  esac
  n=$N_CHAT; [ "$sc" = saturate ] && n=$N_SAT
  xb "127.0.0.1:$C2S" direct "$n" "${F[@]}"
  xb "${MUXADDR[0]}" "via mux1" "$n" "${F[@]}"
  muxrss
done
