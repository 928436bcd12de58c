#!/usr/bin/env bash
# Durable write rate of vw-serve --data: POST /vectors (one new vector per
# request) with wrk at 1 and 8 connections, fsync on (the data directory is
# on WORK's file system; use a real disk, not tmpfs). Each connection waits
# for its answer, so 8 connections are 8 concurrent writers; the server's
# log syncs per write show the group commit (from /stats).
#
# Usage: bench/serve/writes.sh         (settings through the environment)
#   BUILD=build  N=100000  DIM=128  WORK=/tmp/vw-serve-writes (a fresh data
#   directory each run)  DURATION=20  CONNS="1 8"  PORT=8078
# Timed: run under flock /work/bench.lock on a shared machine.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
N=${N:-100000}
DIM=${DIM:-128}
WORK=${WORK:-${TMPDIR:-/tmp}/vw-serve-writes}
DURATION=${DURATION:-20}
CONNS=${CONNS:-"1 8"}
PORT=${PORT:-8078}
TOOLS=$BUILD/tools
die() { echo "writes.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
mkdir -p "$WORK"
INDEX=$WORK/base_$N.vwi
[ -f "$INDEX" ] || {
  "$TOOLS/vw-gen" -n "$N" -d "$DIM" -q -o "$WORK/base_$N.fvecs" \
    --queries 1000 --queries-out "$WORK/new_$N.fvecs"
  "$TOOLS/vw-build" -i "$WORK/base_$N.fvecs" -o "$INDEX" -q
}
# one JSON array per line from the .fvecs rows (int32 dim, then floats)
od -A n -v -t f4 -w$((4 * (DIM + 1))) "$WORK/new_$N.fvecs" |
  awk '{ s = "["; for (i = 2; i <= NF; i++) s = s (i > 2 ? "," : "") $i; print s "]" }' \
  > "$WORK/vectors.jsonl"
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git -C "$ROOT" rev-parse --short HEAD) n=$N" \
  "dim=$DIM duration=$DURATION fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')"
for c in $CONNS; do
  rm -rf "$WORK/data"
  "$TOOLS/vw-serve" -x "$INDEX" --data "$WORK/data" --port "$PORT" --write-threads 8 \
    --snapshot-interval 0 2> "$WORK/serve-$c.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "localhost:$PORT/" >/dev/null && break; sleep 0.1; done
  VW_BODIES=$WORK/vectors.jsonl wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${DURATION}s" \
    -s "$HERE/upsert.lua" "http://localhost:$PORT/" > "$WORK/wrk-$c.txt"
  stats=$(curl -s "localhost:$PORT/stats")
  kill "$pid"; wait "$pid" || true
  syncs=$(echo "$stats" | sed -n 's/.*"log_syncs":\([0-9]*\).*/\1/p')
  writes=$(echo "$stats" | sed -n 's/.*"writes":{[^}]*"writes":\([0-9]*\).*/\1/p')
  echo "connections=$c $(grep RESULT "$WORK/wrk-$c.txt" | sed 's/^RESULT //') log_syncs=$syncs" \
    "writes=$writes writes_per_sync=$(awk -v w="$writes" -v s="$syncs" 'BEGIN { printf "%.2f", s ? w / s : 0 }')"
done
