#!/usr/bin/env bash
# The original Python service's pipeline end to end: build the project, generate vectors, build
# the HNSW index (M=32, efConstruction=200), then benchmark recall@10 and
# latency at efSearch=64 and find the efSearch that reaches recall 0.95.
#
#   bench/pipeline.sh                      100,000 clustered vectors (about a minute on 2 cores)
#   bench/pipeline.sh -n 1000000           the original service's full 1M workload
#   bench/pipeline.sh -n 1000000 --dist gaussian
#
# Options: -n N, --dist clustered|gaussian|uniform, --out DIR (default out/pipeline-<dist>-<n>),
#          --threads T (default: all CPUs). Results: DIR/benchmark_results.json, DIR/recall_qps.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
N=100000
DIST=clustered
THREADS=0
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    --dist) DIST=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pipeline.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-out/pipeline-$DIST-$N}
mkdir -p "$OUT"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
T=build/tools

echo "== vw-gen: $N x 128 $DIST vectors + 1000 queries"
$T/vw-gen -n "$N" -d 128 --dist "$DIST" --queries 1000 --queries-out "$OUT/queries.fvecs" \
  -o "$OUT/base.fvecs"
echo "== vw-build: M=32, efConstruction=200"
$T/vw-build -i "$OUT/base.fvecs" -o "$OUT/index.vwi" -M 32 --ef-construction 200 \
  --threads "$THREADS" --report "$OUT/build.json"
echo "== vw-bench: recall@10 and latency at efSearch=64; efSearch for recall 0.95"
$T/vw-bench -x "$OUT/index.vwi" --base "$OUT/base.fvecs" --queries "$OUT/queries.fvecs" \
  --sweep 16,32,64,128,256 --target-recall 0.95 --threads "$THREADS" \
  --build-report "$OUT/build.json" -o "$OUT/benchmark_results.json" --plot "$OUT/recall_qps.svg"
echo "== results: $OUT/benchmark_results.json, plot: $OUT/recall_qps.svg"
