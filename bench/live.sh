#!/usr/bin/env bash
# Searching under writes: one thread writing as fast as it can (upserts of
# present labels, removals, re-inserts of removed labels) and one thread
# searching (k=10, ef=64), for 60 seconds on clustered 100k (M=32,
# efConstruction=200, built by vw-build). Prints search QPS alone (10 s)
# and beside the writer, writes per second, errors, and recall@10 of the
# final index against exact ground truth over the vectors it then holds.
#
#   bench/live.sh [--seconds 60] [--out DIR]
# Timed: run under flock /work/bench.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=60
OUT=out/live
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "live.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target vw_live_bench vw-gen vw-build >/dev/null
[ -f "$OUT/clustered130k.fvecs" ] || build/tools/vw-gen -n 130000 -q \
  -o "$OUT/clustered130k.fvecs" --queries 1000 --queries-out "$OUT/queries.fvecs"
[ -f "$OUT/base100k.fvecs" ] || head -c $((100000 * (4 + 128 * 4))) "$OUT/clustered130k.fvecs" \
  > "$OUT/base100k.fvecs"
[ -f "$OUT/base100k.vwi" ] || build/tools/vw-build -i "$OUT/base100k.fvecs" \
  -o "$OUT/base100k.vwi" --threads 2 -q
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD)" | tee "$OUT/meta.txt"
build/bench/vw_live_bench writers "$OUT/base100k.vwi" "$OUT/queries.fvecs" \
  "$OUT/clustered130k.fvecs" "$SECONDS_RUN" 64 | tee "$OUT/live.log"
