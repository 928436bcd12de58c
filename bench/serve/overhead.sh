#!/usr/bin/env bash
# HTTP overhead of vw-serve: its POST /search throughput at C connections
# against the library's in-process throughput on the same index, queries and
# threads, measured alternately (in-process, HTTP, in-process, HTTP, ...)
# so that other load on a shared machine hits both alike; the ratio of each
# pair and the median ratio are printed.
#
# Besides wall-clock QPS, both sides report CPU time per request: the
# library's per query (bench/vw_http_load --inprocess), and over HTTP the
# server's (all its threads, from /proc) plus the load client's own. Their
# ratio, in-process CPU / (server + client CPU), is the throughput ratio a
# machine whose cores are all busy with this work would see, and it moves
# much less than wall-clock QPS when other jobs share the machine.
#
# Usage: bench/serve/overhead.sh INDEX QUERIES.fvecs
#   BUILD=build-rel    build directory (tools/vw-serve, bench/vw_http_load)
#   CONNS="1 8 64"  ROUNDS=3  DURATION=5  THREADS=2  EF=64  K=10  PORT=8079
#   SERVE=             the vw-serve binary (default $BUILD/tools/vw-serve)
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

field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }

inprocess() { # "QPS CPU-us-per-query" of THREADS threads searching in process
  local r
  r=$("$BUILD/bench/vw_http_load" --inprocess "$INDEX" "$QUERIES" "$THREADS" "$DURATION" "$EF" "$K")
  echo "$(field "$r" qps) $(field "$r" cpu_us)"
}

http() { # "QPS server-CPU-us client-CPU-us" over HTTP at $1 connections
  if [ "$CLIENT" = wrk ]; then
    local q
    q=$(VW_BODIES=$BODIES wrk -t 1 -c "$1" -d "${DURATION}s" -s "$HERE/post.lua" \
      "http://127.0.0.1:$PORT/search" | grep '^RESULT')
    echo "$(field "$q" qps) 0 0"
  else
    local r
    r=$("$BUILD/bench/vw_http_load" "$PORT" "$BODIES" "$1" "$DURATION" "$SERVER")
    echo "$(field "$r" qps) $(field "$r" server_cpu_us) $(field "$r" client_cpu_us)"
  fi
}

SERVE=${SERVE:-$BUILD/tools/vw-serve}
LOG=$WORK/vw-serve.log
: >"$LOG"
"$SERVE" -x "$INDEX" --port "$PORT" --ef "$EF" --threads "$THREADS" \
  --normalize 2>>"$LOG" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q ' port=' "$LOG" && break; sleep 0.2; done
grep -q ' port=' "$LOG" || { echo "vw-serve did not start: $(cat "$LOG")" >&2; exit 1; }

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  load: $(cut -d' ' -f1-3 /proc/loadavg)  client: $CLIENT"
echo "index: $INDEX  threads: $THREADS (server workers and in-process)  ef=$EF k=$K"
http 8 >/dev/null # warm-up
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "| connections | round | in-process QPS | HTTP QPS | QPS ratio | in-process CPU us/query | server CPU us/request | client CPU us/request | CPU ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  ratios=()
  cpu_ratios=()
  for r in $(seq "$ROUNDS"); do
    read -r a_qps a_cpu < <(inprocess)
    read -r b_qps b_server b_client < <(http "$c")
    ratio=$(awk -v a="$a_qps" -v b="$b_qps" 'BEGIN { printf "%.3f", b / a }')
    cpu_ratio=$(awk -v a="$a_cpu" -v s="$b_server" -v c="$b_client" \
      'BEGIN { printf "%.3f", (s + c > 0) ? a / (s + c) : 0 }')
    ratios+=("$ratio")
    cpu_ratios+=("$cpu_ratio")
    echo "| $c | $r | $a_qps | $b_qps | $ratio | $a_cpu | $b_server | $b_client | $cpu_ratio |"
  done
  echo "| $c | median | | | **$(printf '%s\n' "${ratios[@]}" | median)** | | | | **$(printf '%s\n' "${cpu_ratios[@]}" | median)** |"
done
kill -TERM $SERVER
wait $SERVER || true
trap - EXIT
