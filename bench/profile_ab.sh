#!/bin/sh
# bench/profile_ab.sh: a timed A/B of two vw_search_profile binaries and
# hnswlib (bench/hnsw_profile.cpp) on one set, interleaved rounds, medians.
# Run it alone on the machine: flock /work/bench.lock bench/profile_ab.sh ...
#
#   bench/profile_ab.sh <old vw_search_profile> <new vw_search_profile> <hnsw_profile>
#                       <dir with vw_f32.vwi vw_i8r.vwi h.idx query.fvecs gt.ivecs>
#                       <ef,ef,...> [rounds=5] [nq=1000]
# Prints one line per engine and ef: recall, the median QPS of the rounds,
# and each round's QPS.
set -eu
OLD=$1 NEW=$2 HNSW=$3 D=$4 EFS=$5 ROUNDS=${6:-5} NQ=${7:-1000}
OUT=$(mktemp)
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for kind in f32 i8r; do
        "$OLD" "$D/vw_$kind.vwi" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$NQ" | sed "s/^/old-$kind /"
        "$NEW" "$D/vw_$kind.vwi" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$NQ" | sed "s/^/new-$kind /"
    done
    "$HNSW" search "$D/h.idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" "$NQ" | sed "s/^/hnswlib /"
    r=$((r + 1))
done >"$OUT"
# engine ef=E recall@10 R qps Q  ->  engine E R median(Q) [all Q]
sort -k1,1 -k2,2V "$OUT" | awk '
    { key = $1 " " $2; rec[key] = $4; n[key]++; q[key, n[key]] = $6; if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
    END {
        for (i = 1; i <= k; i++) {
            key = order[i]; m = n[key]
            for (a = 1; a <= m; a++) v[a] = q[key, a]
            for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
            all = ""; for (a = 1; a <= m; a++) all = all " " q[key, a]
            printf "%-12s %-8s recall %s median_qps %s rounds:%s\n", key, "", rec[key], v[int((m + 1) / 2)], all
        }
    }'
rm -f "$OUT"
