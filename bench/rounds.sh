#!/usr/bin/env bash
# Alternating rounds on the index files a bench/compare.sh run left in OUT:
# each round searches every engine's index once (one pass of the queries per
# efSearch, one thread), in turn, so that on a shared machine every engine
# meets the same background load; bench/report.py OUT then reads the rounds
# (OUT/<engine>-round<N>.log) and quotes per-round ratios and their median.
#
#   bench/rounds.sh --set SET --data DIR --out OUT --engines "vw-i8 hnswlib" --efs 32,64 [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3
SET= DATA= OUT= ENGINES= EFS=
while [ $# -gt 0 ]; do
  case "$1" in
    --set) SET=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --engines) ENGINES=$2; shift 2 ;;
    --efs) EFS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rounds.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
D=$DATA/$SET
VWB=${VW_BUILD_DIR:-build}/bench/vw_peer_bench
for r in $(seq 1 "$ROUNDS"); do
  for e in $ENGINES; do
    case $e in
      vw|vw-*) idx=$OUT/$e.vwi
        "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" 2 1 > "$OUT/$e-round$r.log" ;;
      hnswlib) /tmp/vw_peer_bench_hnswlib search hnswlib "$OUT/hnswlib.idx" "$D/query.fvecs" \
                 "$D/gt.ivecs" "$EFS" 2 1 > "$OUT/$e-round$r.log" ;;
      usearch*) "$USEARCH_BENCH" search "$OUT/$e.usearch" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" 2 1 \
                  > "$OUT/$e-round$r.log" ;;
    esac
    echo "round $r $e done $(date -u +%H:%M:%S)"
  done
done
