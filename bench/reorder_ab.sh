#!/usr/bin/env bash
# What vw_index_reorder buys: the same graph searched in insertion order and
# in BFS order, alternately, on one machine in one run.
#
#   bench/reorder_ab.sh --set seed100k|seed|clustered1m [--rounds 3] [--efs 64,256]
#                       [--index PLAIN.vwi] [--out DIR]
#
# Builds the set's index without reordering (vw_peer_bench build ... noreorder,
# unless --index names one), writes a reordered copy (vw_peer_bench reorder),
# then runs `vw_peer_bench search` on each in turn, --rounds times: 3 passes
# of the 1000 queries one at a time per efSearch, then the 2-thread batch at
# ef=64. Prints per round and the medians: single-thread QPS per ef, batch QPS
# (median of its 3 runs) and batch / single at ef=64. Data as bench/compare.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SET=seed100k
ROUNDS=3
EFS=64,256
INDEX=
OUT=
DATA=${VW_PEER_DATA:-/tmp/peers}
while [ $# -gt 0 ]; do
  case "$1" in
    --set) SET=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --efs) EFS=$2; shift 2 ;;
    --index) INDEX=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reorder_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-out/reorder-ab-$SET}
D=$DATA/$SET
for f in base.fvecs query.fvecs gt.ivecs; do
  [ -f "$D/$f" ] || { echo "reorder_ab.sh: $D/$f missing (run bench/compare.sh --set $SET first)" >&2; exit 2; }
done
mkdir -p "$OUT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target vw_peer_bench >/dev/null
VWB=build/bench/vw_peer_bench
if [ -z "$INDEX" ]; then
  INDEX=$OUT/plain.vwi
  "$VWB" build "$D/base.fvecs" "$INDEX" 32 200 2 noreorder > "$OUT/plain-build.log"
fi
"$VWB" reorder "$INDEX" "$OUT/bfs.vwi" > "$OUT/reorder.log"
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD) set=$SET efs=$EFS rounds=$ROUNDS"
  echo "plain=$INDEX $(cat "$OUT/reorder.log")"
} > "$OUT/meta.txt"
for r in $(seq 1 "$ROUNDS"); do
  for v in plain bfs; do
    idx=$INDEX
    [ $v = bfs ] && idx=$OUT/bfs.vwi
    "$VWB" search "$idx" "$D/query.fvecs" "$D/gt.ivecs" "$EFS" 2 3 > "$OUT/$v-round$r.log"
  done
done
python3 - "$OUT" "$ROUNDS" <<'EOF'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for v in ("plain", "bfs"):
    for r in range(1, rounds + 1):
        text = open(f"{out}/{v}-round{r}.log").read()
        single = {int(m[0]): (float(m[1]), float(m[2])) for m in
                  re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)", text, re.M)}
        batch = statistics.median(float(x) for x in re.findall(r"^batch .* QPS=([\d.]+)", text, re.M))
        rows.setdefault(v, []).append((single, batch))
efs = sorted(rows["plain"][0][0])
print("round order  " + "  ".join(f"ef={e} QPS (recall)" for e in efs) + "  batch2t  batch/1t@64")
med = {}
for v in ("plain", "bfs"):
    for r, (single, batch) in enumerate(rows[v], 1):
        ratio = batch / single[64][1] if 64 in single else float("nan")
        print(f"{r:5} {v:5}  " + "  ".join(f"{single[e][1]:9.1f} ({single[e][0]:.4f})" for e in efs)
              + f"  {batch:8.1f}  {ratio:.2f}")
    med[v] = ({e: statistics.median(s[e][1] for s, _ in rows[v]) for e in efs},
              statistics.median(b for _, b in rows[v]),
              statistics.median(b / s[64][1] for s, b in rows[v]) if 64 in efs else float("nan"))
print("median:")
for v in ("plain", "bfs"):
    s, b, q = med[v]
    print(f"      {v:5}  " + "  ".join(f"{s[e]:9.1f}" + " " * 9 for e in efs) + f"  {b:8.1f}  {q:.2f}")
print("bfs / plain: " + "  ".join(f"ef={e} {med['bfs'][0][e] / med['plain'][0][e]:.3f}" for e in efs)
      + f"  batch {med['bfs'][1] / med['plain'][1]:.3f}")
EOF
