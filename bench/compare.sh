#!/usr/bin/env bash
# Side-by-side benchmark of libvwhnsw, hnswlib and Faiss IndexHNSWFlat on the
# same data, machine and parameters (M=32, efConstruction=200, k=10, 1000
# queries), one timed job at a time, with the protocol of
# ../shared/peers/peer_bench.cpp (our side: bench/vw_peer_bench.c).
#
#   bench/compare.sh                      seed100k (100,000 random directions)
#   bench/compare.sh --set seed           the 1,000,000-vector seed set
#   bench/compare.sh --set clustered1m    1M vw-gen clustered vectors as .fvecs
#   bench/compare.sh --set sift1m         SIFT-like uint8 descriptors (bench/make_sets.py)
#   options: --engines "vw hnswlib faiss" --reps 3 --threads 2 --data DIR --out DIR
#            --efs 16,64,256 (the set's list otherwise)
#
# Engines: vw (float32), vw-f16 / vw-i8 (compact storage, float32 kept for
# re-ranking), vw-f16n / vw-i8n (compact, no float32: approximate distances),
# vw-i8np (vw-i8n saved with packed layer-0 lists), vw-i8r (vw-i8np with the
# 4-bit residual re-scoring the candidates),
# hnswlib, faiss, usearch, usearch-f16, usearch-i8 (USearch 2.26.2 through
# ../shared/peers/usearch_bench.cpp; the binary from USEARCH_BENCH, see
# ../shared/peers/usearch_README.md). Sets clustered100k, sift100k, sift1m
# and clustered1m are made by bench/make_sets.py in DIR.
#
# Peers come from Debian (libhnswlib-dev, libfaiss-dev); missing packages are
# installed when running as root, otherwise those engines are skipped. The
# "faiss" engine is Faiss with the SIMD L2 kernel linked in
# (../shared/peers/faiss_l2_override.cpp), the fair stand-in for a wheel.
# Logs go to OUT/<engine>-{build,search}.log; bench/report.py turns them
# into tables and a recall-vs-QPS SVG.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=$ROOT/../shared/peers
SET=seed100k
ENGINES="vw hnswlib faiss"
REPS=3
THREADS=2
DATA=${VW_PEER_DATA:-/tmp/peers}
OUT=
EFS_GIVEN=
while [ $# -gt 0 ]; do
  case "$1" in
    --set) SET=$2; shift 2 ;;
    --engines) ENGINES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --efs) EFS_GIVEN=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-out/compare-$SET}
mkdir -p "$OUT"
case "$SET" in
  seed100k) EFS=16,32,64,128,256,512,1024 ;;
  seed) EFS=16,64,256,512,1024,2048,3072 ;;
  clustered1m|clustered100k) EFS=8,16,32,64,128,256 ;;
  sift100k|sift1m) EFS=8,16,32,64,128,256 ;;
  *) echo "compare.sh: unknown set $SET" >&2; exit 2 ;;
esac
EFS=${EFS_GIVEN:-$EFS}

need_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
install_pkgs() {
  local missing=()
  for p in "$@"; do need_pkg "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "compare.sh: missing ${missing[*]} and not root" >&2
    return 1
  fi
}

echo "== build libvwhnsw"
BUILD=${VW_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
VWB=$ROOT/$BUILD/bench/vw_peer_bench

echo "== data: $SET"
install_pkgs time
if [ -f "$DATA/$SET/gt.ivecs" ]; then
  D=$DATA/$SET
elif [ "$SET" = clustered1m ]; then
  D=$DATA/clustered1m
  if [ ! -f "$D/base.fvecs" ]; then
    mkdir -p "$D"
    "$BUILD"/tools/vw-gen -n 1000000 -d 128 --dist clustered --queries 1000 \
      --queries-out "$D/query.fvecs" -o "$D/base.fvecs"
  fi
  case " $ENGINES " in *" vw "*) ;; *) [ -f "$D/gt.ivecs" ] || {
    echo "compare.sh: clustered1m ground truth is made with the vw engine's index" >&2; exit 2; } ;;
  esac
else
  D=$DATA/$SET
  if [ ! -f "$D/gt.ivecs" ]; then
    install_pkgs python3-numpy
    /usr/bin/python3 "$PEERS/gen_seed.py" --out "$DATA"
  fi
fi

PB=/tmp/vw_peer_bench_hnswlib
PBS=/tmp/vw_peer_bench_faiss_simd
for e in $ENGINES; do
  case $e in
    hnswlib|faiss)
      if ! install_pkgs g++ libhnswlib-dev libfaiss-dev libblas-dev liblapack-dev; then
        echo "compare.sh: skipping $e (packages unavailable)"; ENGINES=${ENGINES//$e/}; continue
      fi
      [ -x $PB ] || g++ -O3 -march=native -fopenmp -o $PB "$PEERS/peer_bench.cpp" -lfaiss -lblas -llapack
      [ -x $PBS ] || g++ -O3 -march=native -fopenmp -o $PBS "$PEERS/peer_bench.cpp" \
        "$PEERS/faiss_l2_override.cpp" -Wl,--allow-multiple-definition -lfaiss -lblas -llapack
      ;;
  esac
done

{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cores=$(nproc)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
  echo "set=$SET efs=$EFS reps=$REPS threads=$THREADS"
} > "$OUT/meta.txt"

# vw-<kind>[n]: storage kind, n = without float32
vw_build_args() {
  case $1 in
    vw) echo f32 ;;
    vw-f16) echo f16 ;;
    vw-i8) echo i8 ;;
    vw-f16n) echo f16 nofloat32 ;;
    vw-i8n) echo i8 nofloat32 ;;
    vw-i8np) echo i8 nofloat32 packed ;;
    vw-i8r) echo i8 nofloat32 residual packed ;;
  esac
}

run_engine() {
  local e=$1 idx
  local base=$D/base.fvecs
  [ -f "$base" ] || base=$D/base.bvecs
  case $e in
    vw-*)
      idx=$OUT/$e.vwi
      # shellcheck disable=SC2046
      /usr/bin/time -v "$VWB" build "$base" "$idx" 32 200 "$THREADS" $(vw_build_args "$e") > "$OUT/$e-build.log" 2> "$OUT/$e-build.time"
      "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$THREADS" "$REPS" > "$OUT/$e-search.log"
      "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" 64 "$THREADS" 1 mmap > "$OUT/$e-mmap.log" ;;
    usearch|usearch-f16|usearch-i8)
      idx=$OUT/$e.usearch
      local q=${e#usearch}; q=${q#-}
      USEARCH_QUANT=${q:-f32} /usr/bin/time -v "$USEARCH_BENCH" build "$base" "$idx" 32 200 "$THREADS" > "$OUT/$e-build.log" 2> "$OUT/$e-build.time"
      "$USEARCH_BENCH" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$THREADS" "$REPS" > "$OUT/$e-search.log" ;;
    vw)
      idx=$OUT/vw.vwi
      /usr/bin/time -v "$VWB" build "$D/base.fvecs" "$idx" 32 200 "$THREADS" > "$OUT/vw-build.log" 2> "$OUT/vw-build.time"
      if [ ! -f "$D/gt.ivecs" ]; then
        # exact top-10 by brute force (vw-bench), written for every engine to read
        "$BUILD"/tools/vw-bench -x "$idx" --base "$D/base.fvecs" --queries "$D/query.fvecs" \
          --gt-out "$D/gt.ivecs" -o "$OUT/gt-run.json" > "$OUT/gt-run.log"
      fi
      "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$THREADS" "$REPS" > "$OUT/vw-search.log"
      "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" 64 "$THREADS" 1 mmap > "$OUT/vw-mmap.log"
      for mode in read read-noverify mmap mmap-noverify; do
        "$VWB" load "$idx" $mode 5
      done > "$OUT/vw-load.log" ;;
    hnswlib)
      idx=$OUT/hnswlib.idx
      /usr/bin/time -v $PB build hnswlib "$base" "$idx" 32 200 "$THREADS" > "$OUT/hnswlib-build.log" 2> "$OUT/hnswlib-build.time"
      $PB search hnswlib "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$THREADS" "$REPS" > "$OUT/hnswlib-search.log" ;;
    faiss)
      idx=$OUT/faiss.idx
      /usr/bin/time -v $PBS build faiss "$D/base.fvecs" "$idx" 32 200 "$THREADS" > "$OUT/faiss-build.log" 2> "$OUT/faiss-build.time"
      $PBS search faiss "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$THREADS" "$REPS" > "$OUT/faiss-search.log" ;;
  esac
}

for e in $ENGINES; do
  echo "== $e: build and search ($(date -u +%H:%M:%S))"
  run_engine "$e"
done
echo "== report"
python3 bench/report.py "$OUT"
