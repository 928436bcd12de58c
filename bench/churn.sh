#!/usr/bin/env bash
# Recall and speed after churn (removals, replacements) against a fresh
# build of the same vectors, libvwhnsw and hnswlib side by side.
#
#   bench/churn.sh --set seed100k|clustered100k [--out DIR]
#                  [--scenarios remove:0.1,remove:0.3,remove:0.5,replace:0.3]
#
# seed100k: ../shared/peers' seed100k (i.i.d. unit vectors, 128-d); the
#   replacement vectors are rows 100,000.. of the 1M seed set (same
#   distribution). Data from $VW_PEER_DATA (default /tmp/peers).
# clustered100k: vw-gen's default clustered data (512 clusters, 128-d):
#   130,000 rows, the first 100,000 indexed, the rest replacements; 1000
#   queries from the same centres (made once in the out directory).
# M=32, efConstruction=200, 2 threads; recall@10 against exact ground truth
# over what each index holds afterwards; QPS one query at a time on one
# thread (vw_live_bench churn, bench/hnswlib_churn.py). Timed: run under
# flock /work/bench.lock. Prints a table; logs in the out directory.
set -euo pipefail
cd "$(dirname "$0")/.."
SET=seed100k
OUT=
SCEN=remove:0.1,remove:0.3,remove:0.5,replace:0.3
DATA=${VW_PEER_DATA:-/tmp/peers}
while [ $# -gt 0 ]; do
  case "$1" in
    --set) SET=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --scenarios) SCEN=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "churn.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-out/churn-$SET}
mkdir -p "$OUT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target vw_live_bench vw-gen >/dev/null
case "$SET" in
  seed100k)
    BASE=$DATA/seed100k/base.fvecs Q=$DATA/seed100k/query.fvecs
    EXTRA=$DATA/seed/base.fvecs FROM=100000 ;;
  clustered100k)
    BASE=$OUT/clustered130k.fvecs Q=$OUT/queries.fvecs EXTRA=$BASE FROM=100000
    [ -f "$BASE" ] || build/tools/vw-gen -n 130000 -q -o "$BASE" --queries 1000 \
      --queries-out "$Q" ;;
  *) echo "churn.sh: unknown set $SET" >&2; exit 2 ;;
esac
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD) set=$SET" \
  "scenarios=$SCEN" > "$OUT/meta.txt"
build/bench/vw_live_bench churn "$BASE" 100000 "$Q" "$EXTRA" "$FROM" 32 200 2 "$OUT" "$SCEN" \
  | tee "$OUT/vw.log"
/usr/bin/python3 bench/hnswlib_churn.py "$BASE" 100000 "$Q" "$EXTRA" "$FROM" 32 200 2 "$OUT" \
  "$SCEN" | tee "$OUT/hnswlib.log"
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
rows = {}
for log in ("vw.log", "hnswlib.log"):
    scen = None
    for line in open(f"{out}/{log}"):
        m = re.match(r"scenario=(\S+)", line)
        if m:
            scen = m.group(1)
        m = re.match(r"engine=(\S+) ef=(\d+) recall@10=([\d.]+) QPS=([\d.]+)", line)
        if m and scen:
            rows.setdefault(scen, {})[(m.group(1), int(m.group(2)))] = (float(m.group(3)),
                                                                          float(m.group(4)))
        m = re.match(r"(?:hnswlib )?churn_s=([\d.]+) per_second=(\d+)", line)
        if m and scen:
            rows.setdefault(scen, {})[("rate", log)] = int(m.group(2))
print("| scenario | ef | vw churned recall / QPS | vw fresh recall / QPS | recall diff | QPS ratio |"
      " after reorder: recall / QPS ratio | hnswlib churned recall / QPS |"
      " hnswlib fresh recall / QPS |")
print("|---|---|---|---|---|---|---|---|---|")
for scen, r in rows.items():
    for ef in (64, 256):
        c, f, o = r[("churned", ef)], r[("fresh", ef)], r.get(("reordered", ef), (0, 0))
        hc, hf = r.get(("hnswlib-churned", ef), (0, 0)), r.get(("hnswlib-fresh", ef), (0, 0))
        print(f"| {scen} | {ef} | {c[0]:.4f} / {c[1]:.0f} | {f[0]:.4f} / {f[1]:.0f} | "
              f"{c[0] - f[0]:+.4f} | {c[1] / f[1]:.3f} | {o[0]:.4f} / {o[1] / f[1]:.3f} | "
              f"{hc[0]:.4f} / {hc[1]:.0f} | {hf[0]:.4f} / {hf[1]:.0f} |")
    print(f"| {scen} | churn rate (ops/s) | {r.get(('rate', 'vw.log'), 0)} | | | | | "
          f"{r.get(('rate', 'hnswlib.log'), 0)} | |")
PY
