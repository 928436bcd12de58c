#!/usr/bin/env bash
# HTTP overhead of vw-serve: its POST /search throughput at C connections
# against the library's in-process throughput on the same index, queries and
# threads, measured alternately (in-process, HTTP, in-process, HTTP, ...)
# so that other load on a shared machine hits both alike; the ratio of each
# pair and the median ratio are printed.
#
# Usage: bench/serve/overhead.sh INDEX QUERIES.fvecs
#   BUILD=build-rel    build directory (tools/vw-serve, tools/vw-bench,
#                      bench/vw_http_load)
#   CONNS="1 8 64"  ROUNDS=3  DURATION=5  THREADS=2  EF=64  K=10  PORT=8079
#   CLIENT=lean|wrk    load generator: bench/vw_http_load (default) or wrk
#                      with post.lua
#   WORK=/tmp/vw-overhead
# Run it under the bench lock: flock /work/bench.lock bench/serve/overhead.sh ...
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
INDEX=${1:?usage: overhead.sh INDEX QUERIES.fvecs}
QUERIES=${2:?usage: overhead.sh INDEX QUERIES.fvecs}
BUILD=${BUILD:-$ROOT/build-rel}
CONNS=${CONNS:-"1 8 64"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
EF=${EF:-64}
K=${K:-10}
PORT=${PORT:-8079}
CLIENT=${CLIENT:-lean}
WORK=${WORK:-${TMPDIR:-/tmp}/vw-overhead}
mkdir -p "$WORK"

DIM=$(od -An -t d4 -N 4 "$QUERIES" | tr -d ' ')
BODIES=$WORK/bodies.jsonl
od -An -v -t f4 -w$((4 + 4 * DIM)) "$QUERIES" |
  awk -v k="$K" '{ printf "{\"query_vector\":["; for (i = 2; i <= NF; i++) printf "%s%s", (i > 2 ? "," : ""), $i; printf "],\"k\":%d}\n", k }' \
  >"$BODIES"

inprocess() { # QPS of vw_index_search_batch on THREADS threads
  "$BUILD/tools/vw-bench" -x "$INDEX" --queries "$QUERIES" -k "$K" --ef "$EF" \
    --threads "$THREADS" --repeat 10 -o "$WORK/inproc.json" >/dev/null
  grep -A2 '"batch"' "$WORK/inproc.json" | grep '"qps"' | tr -dc '0-9.'
}

http() { # QPS over HTTP at $1 connections
  if [ "$CLIENT" = wrk ]; then
    VW_BODIES=$BODIES wrk -t 1 -c "$1" -d "${DURATION}s" -s "$HERE/post.lua" \
      "http://127.0.0.1:$PORT/search" | grep '^RESULT' | tr ' ' '\n' | grep '^qps=' | cut -d= -f2
  else
    "$BUILD/bench/vw_http_load" "$PORT" "$BODIES" "$1" "$DURATION" |
      tr ' ' '\n' | grep '^qps=' | cut -d= -f2
  fi
}

LOG=$WORK/vw-serve.log
: >"$LOG"
"$BUILD/tools/vw-serve" -x "$INDEX" --port "$PORT" --ef "$EF" --threads "$THREADS" \
  --normalize 2>>"$LOG" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q ' port=' "$LOG" && break; sleep 0.2; done
grep -q ' port=' "$LOG" || { echo "vw-serve did not start: $(cat "$LOG")" >&2; exit 1; }

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  load: $(cut -d' ' -f1-3 /proc/loadavg)  client: $CLIENT"
echo "index: $INDEX  threads: $THREADS (server workers and in-process)  ef=$EF k=$K"
http 8 >/dev/null # warm-up
echo "| connections | round | in-process QPS | HTTP QPS | HTTP / in-process |"
echo "|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  ratios=()
  for r in $(seq "$ROUNDS"); do
    a=$(inprocess)
    b=$(http "$c")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$ratio")
    echo "| $c | $r | $a | $b | $ratio |"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "| $c | median | | | **$median** |"
done
kill -TERM $SERVER
wait $SERVER || true
trap - EXIT
