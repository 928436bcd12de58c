#!/usr/bin/env bash
# 10,000,000 x 128 clustered vectors with i8 storage on one 2-core, 24 GB
# machine: build time, peak RSS, file size, recall@10 and QPS per efSearch,
# and the efSearch for recall 0.95; hnswlib beside it with --hnswlib.
#
#   bench/tenm.sh [--out DIR] [--keep-float32] [--hnswlib] [--threads T]
#
# The input (5.1 GB of float32) is not held in memory beside the index:
# vw-build streams it (reads and inserts in chunks; with i8 it reads the file
# twice, once to train the codec and once to insert). Memory: the i8
# index without float32 is about 10M x (128 B codes + 260 B layer-0 lists +
# upper lists, labels) = 4.0 GB; with --keep-float32 another 5.1 GB.
# Ground truth is brute force over the 10M rows by vw-bench (--base, read
# once, about 5 GB of RSS in that process only). A recorded benchmark, never
# a CI step: expect hours (the 1M i8 build takes minutes; 10M is more than
# 10x, as the graph outgrows the caches).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/tenm
THREADS=2
EFS=16,32,64,128,256,512,1024,2048
FLOAT32=--no-float32
HNSW=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --keep-float32) FLOAT32=; shift ;;
    --hnswlib) HNSW=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tenm.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
B=${VW_BUILD_DIR:-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j"$(nproc)" >/dev/null
mkdir -p "$OUT"
[ -f "$OUT/base.fvecs" ] || "$B"/tools/vw-gen -n 10000000 -d 128 --dist clustered \
  --queries 1000 --queries-out "$OUT/query.fvecs" -o "$OUT/base.fvecs"
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) cores=$(nproc)"
} > "$OUT/meta.txt"
# Steps whose output exists are not run again (the build takes about half
# an hour): delete i8.vwi or gt.ivecs to redo them.
# shellcheck disable=SC2086
[ -f "$OUT/i8.vwi" ] || /usr/bin/time -v "$B"/tools/vw-build -i "$OUT/base.fvecs" \
  -o "$OUT/i8.vwi" --storage i8 $FLOAT32 --threads "$THREADS" -q --report "$OUT/build.json" \
  > "$OUT/build.log" 2> "$OUT/build.time"
[ -f "$OUT/gt.ivecs" ] || "$B"/tools/vw-bench -x "$OUT/i8.vwi" --base "$OUT/base.fvecs" \
  --queries "$OUT/query.fvecs" --gt-out "$OUT/gt.ivecs" --ef 64 -o "$OUT/gt-run.json" \
  > "$OUT/gt-run.log"
"$B"/tools/vw-bench -x "$OUT/i8.vwi" --gt "$OUT/gt.ivecs" --queries "$OUT/query.fvecs" \
  --sweep "$EFS" --target-recall 0.95 --repeat 3 --build-report "$OUT/build.json" \
  --plot "$OUT/recall_qps.svg" -o "$OUT/benchmark_results.json" > "$OUT/bench.log"
if [ "$HNSW" = 1 ]; then
  PB=/tmp/vw_peer_bench_hnswlib
  [ -x $PB ] || g++ -O3 -march=native -fopenmp -o $PB ../shared/peers/peer_bench.cpp -lfaiss -lblas -llapack
  [ -f "$OUT/hnswlib.idx" ] || /usr/bin/time -v $PB build hnswlib "$OUT/base.fvecs" "$OUT/hnswlib.idx" 32 200 "$THREADS" \
    > "$OUT/hnswlib-build.log" 2> "$OUT/hnswlib-build.time"
  $PB search hnswlib "$OUT/hnswlib.idx" "$OUT/query.fvecs" "$OUT/gt.ivecs" "$EFS" \
    "$THREADS" 3 > "$OUT/hnswlib-search.log"
fi
grep -E "Elapsed|Maximum resident" "$OUT/build.time"
cat "$OUT/build.log" "$OUT/bench.log"
