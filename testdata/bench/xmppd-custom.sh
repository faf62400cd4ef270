#!/usr/bin/env bash
# Hooks for ../shared/bench/run.sh's custom mode, so tsung measures xmppd
# exactly as it measures Prosody and ejabberd:
#
#   RESULTS_DIR=$PWD/testdata/bench/results CUSTOM_PREPARE="testdata/bench/xmppd-custom.sh prepare" \
#     ../shared/bench/run.sh custom 127.0.0.1:25222 'testdata/bench/xmppd-custom.sh start'
#
# prepare writes a config into $BENCH_RUNDIR and imports user1..userN
# (password hashes always: SCRAM-SHA-1/-256 with 4096 PBKDF2 iterations, like
# ejabberd; BENCH_HASHED=0 changes nothing, xmppd never stores clear
# passwords). start execs bin/xmppd on it. Build first: go build -o bin/ ./cmd/...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONF="$BENCH_RUNDIR/xmppd.toml"
case "${1:-}" in
prepare)
  mkdir -p "$BENCH_RUNDIR/xmppd-data"
  {
    echo "[server]"
    echo "domains = [\"$BENCH_DOMAIN\"]"
    echo "data_dir = \"$BENCH_RUNDIR/xmppd-data\""
    echo "log_level = \"warn\""
    # XMPPD_PPROF=127.0.0.1:6060 serves net/http/pprof during the run
    if [ -n "${XMPPD_PPROF:-}" ]; then echo "pprof_listen = \"$XMPPD_PPROF\""; fi
    echo "[c2s]"
    echo "listen = [\"$BENCH_HOST:$BENCH_PORT\"]"
    echo "direct_tls_listen = []"
    if [ "${BENCH_TLS:-0}" = 1 ]; then
      echo "require_tls = true"
    else
      echo "require_tls = false"
      echo "allow_plain_without_tls = true"
    fi
    echo "[offline]"
    echo "quota = 5000"
    if [ "${BENCH_TLS:-0}" = 1 ]; then
      echo "[tls]"
      echo "cert = \"$BENCH_TLS_CERT\""
      echo "key = \"$BENCH_TLS_KEY\""
    fi
  } > "$CONF"
  "$ROOT/bin/xmppctl" -config "$CONF" user import "$BENCH_USERS_CSV"
  ;;
start)
  exec "$ROOT/bin/xmppd" -config "$CONF"
  ;;
*)
  echo "usage: $0 prepare|start" >&2
  exit 2
  ;;
esac
