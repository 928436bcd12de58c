#!/usr/bin/env bash
# Load benchmark of vw-serve with wrk: POST /search with real 128-d queries
# at 1, 8 and 64 connections, QPS and latency percentiles, next to the
# library's in-process throughput on the same index and queries (vw-bench).
#
# Usage: bench/serve/run.sh            (settings through the environment)
#   BUILD=build        build directory holding tools/vw-{gen,build,serve,bench}
#   N=100000           vectors when the script makes the index itself (the
#                      reference workload is N=1000000)
#   INDEX=             an existing index instead (then QUERIES should match it)
#   QUERIES=           .fvecs query file; default: 1000 made by vw-gen like the base
#   WORK=/tmp/vw-serve-bench   where data, index, bodies and logs go (reused)
#   DURATION=10        seconds per wrk run
#   CONNS="1 8 64"     connection counts
#   THREADS=0          vw-serve --threads (0 = all CPUs)
#   EF=64  K=10  PORT=8077
#   REPEAT=20          vw-bench passes over the queries for the in-process figures
#
# The index is l2 over the L2-normalized vectors vw-gen writes, and the
# server runs with --normalize: exactly the original Python service's setup (normalize the
# query, L2 search over normalized vectors, squared-L2 distances).
# Needs: wrk (Debian package 'wrk'), od and awk (coreutils, gawk/mawk).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
N=${N:-100000}
INDEX=${INDEX:-}
QUERIES=${QUERIES:-}
WORK=${WORK:-${TMPDIR:-/tmp}/vw-serve-bench}
DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 8 64"}
THREADS=${THREADS:-0}
EF=${EF:-64}
K=${K:-10}
PORT=${PORT:-8077}
REPEAT=${REPEAT:-20}
TOOLS=$BUILD/tools

die() { echo "run.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
for t in vw-gen vw-build vw-serve vw-bench; do
  [ -x "$TOOLS/$t" ] || die "$TOOLS/$t not found; build first or set BUILD="
done
mkdir -p "$WORK"

# ---------------------------------------------------------------- data and index
if [ -z "$INDEX" ]; then
  INDEX=$WORK/base_$N.vwi
  if [ ! -f "$INDEX" ]; then
    "$TOOLS/vw-gen" -o "$WORK/base_$N.fvecs" -n "$N" --queries 1000 \
      --queries-out "$WORK/queries.fvecs"
    "$TOOLS/vw-build" -i "$WORK/base_$N.fvecs" -o "$INDEX" -M 32 --ef-construction 200 -q
  fi
fi
if [ -z "$QUERIES" ]; then
  QUERIES=$WORK/queries.fvecs
  [ -f "$QUERIES" ] || "$TOOLS/vw-gen" -o "$WORK/one.fvecs" -n 1 --queries 1000 \
    --queries-out "$QUERIES" -q
fi

# One JSON body per line from the .fvecs rows (int32 dim, then dim float32).
DIM=$(od -An -t d4 -N 4 "$QUERIES" | tr -d ' ')
BODIES=$WORK/bodies.jsonl
od -An -v -t f4 -w$((4 + 4 * DIM)) "$QUERIES" |
  awk -v k="$K" '{ printf "{\"query_vector\":["; for (i = 2; i <= NF; i++) printf "%s%s", (i > 2 ? "," : ""), $i; printf "],\"k\":%d}\n", k }' \
  >"$BODIES"

# ---------------------------------------------------------------- in-process
# The library on the same index and queries, no HTTP: one thread (latency)
# and all CPUs (vw_index_search_batch). Run before and after the wrk runs,
# since other load on the machine moves the figures.
inprocess() {
  local json=$WORK/inproc_$1.json
  "$TOOLS/vw-bench" -x "$INDEX" --queries "$QUERIES" -k "$K" --ef "$EF" --threads 0 \
    --repeat "$REPEAT" -o "$json" >/dev/null
  local single multi recall
  single=$(grep -m1 '"qps"' "$json" | tr -dc '0-9.')
  multi=$(grep -A2 '"batch"' "$json" | grep '"qps"' | tr -dc '0-9.')
  recall=$(grep -m1 '"recall_at_k"' "$json" | tr -dc '0-9.')
  echo "in-process ($1, vw-bench --repeat $REPEAT): ${single} QPS on 1 thread, ${multi} QPS on all CPUs, recall@$K ${recall}"
}
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') x $(nproc)"
echo "index: $INDEX  queries: $QUERIES ($(wc -l <"$BODIES") bodies)  ef=$EF k=$K"
inprocess "before"

# ---------------------------------------------------------------- server
LOG=$WORK/vw-serve.log
SERVE_ARGS=(-x "$INDEX" --port "$PORT" --ef "$EF" --normalize)
[ "$THREADS" != 0 ] && SERVE_ARGS+=(--threads "$THREADS")
: >"$LOG" # empty it first: the server's own redirection may come after the first check
"$TOOLS/vw-serve" "${SERVE_ARGS[@]}" 2>>"$LOG" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _try in $(seq 600); do
  grep -q ' port=' "$LOG" && break
  kill -0 $SERVER 2>/dev/null || die "vw-serve did not start: $(cat "$LOG")"
  sleep 0.2
done
grep -q ' port=' "$LOG" || die "vw-serve did not start in time"
head -n 1 "$LOG"

URL=http://127.0.0.1:$PORT/search
export VW_BODIES=$BODIES
wrk -t 1 -c 8 -d 2s -s "$HERE/post.lua" "$URL" >/dev/null # warm-up

echo
echo "vw-serve over HTTP: wrk -t 1 -c C -d ${DURATION}s, POST /search, keep-alive"
printf '| connections | QPS | mean ms | p50 ms | p90 ms | p95 ms | p99 ms | max ms | errors |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for c in $CONNS; do
  line=$(wrk -t 1 -c "$c" -d "${DURATION}s" -s "$HERE/post.lua" "$URL" | grep '^RESULT')
  val() { echo "$line" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$(val qps)" "$(val mean_ms)" \
    "$(val p50_ms)" "$(val p90_ms)" "$(val p95_ms)" "$(val p99_ms)" "$(val max_ms)" \
    "$(( $(val socket_errors) + $(val non2xx) ))"
done

kill -TERM $SERVER
wait $SERVER || die "vw-serve did not exit cleanly"
trap - EXIT
tail -n 1 "$LOG"

echo
inprocess "after"
