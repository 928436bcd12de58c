#!/usr/bin/env bash
# What the live index (lock-free searches, removals) costs the read-only
# paths: this tree against a base commit, on one machine in one run.
#
#   bench/live_ab.sh --base REF [--set seed100k] [--rounds 3] [--out DIR]
#                    [--no-callgrind]
#
# Builds vw_peer_bench from REF (in a scratch copy) and from this tree, then
#   1. batch build: `vw_peer_bench build` of the set (M=32, efC=200, 2
#      threads, no reorder) with each, alternately, --rounds times;
#   2. search: the base's index (a version-1 file both read) searched by each
#      in turn, --rounds times: `vw_peer_bench search` at ef=64 and 256, one
#      query at a time on one thread, then the 2-thread batch;
#   3. unless --no-callgrind: instruction counts inside vw_index_search for
#      one such search pass at ef=64 (valgrind --tool=callgrind).
# Prints medians and new/base ratios. Timed: run it under flock /work/bench.lock.
# Data as bench/compare.sh ($VW_PEER_DATA, default /tmp/peers).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=
SET=seed100k
ROUNDS=3
OUT=
CALLGRIND=1
DATA=${VW_PEER_DATA:-/tmp/peers}
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE=$2; shift 2 ;;
    --set) SET=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-callgrind) CALLGRIND=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "live_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$BASE" ] || { echo "live_ab.sh: --base REF is required" >&2; exit 2; }
OUT=${OUT:-out/live-ab-$SET}
D=$DATA/$SET
for f in base.fvecs query.fvecs gt.ivecs; do
  [ -f "$D/$f" ] || { echo "live_ab.sh: $D/$f missing" >&2; exit 2; }
done
mkdir -p "$OUT"
rm -rf "$OUT/base-src"
git archive --format=tar --prefix=base-src/ "$BASE" | tar -x -C "$OUT"
for v in base new; do
  src=.
  [ $v = base ] && src=$OUT/base-src
  cmake -S "$src" -B "$OUT/build-$v" -DCMAKE_BUILD_TYPE=Release -DVW_BUILD_TESTS=OFF \
    -DVW_BUILD_TOOLS=OFF >/dev/null
  cmake --build "$OUT/build-$v" -j2 --target vw_peer_bench >/dev/null
done
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) base=$(git rev-parse --short "$BASE")" \
  "new=$(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty) set=$SET rounds=$ROUNDS" \
  > "$OUT/meta.txt"
for r in $(seq 1 "$ROUNDS"); do
  for v in base new; do
    "$OUT/build-$v/bench/vw_peer_bench" build "$D/base.fvecs" "$OUT/$v.vwi" 32 200 2 noreorder \
      > "$OUT/build-$v-$r.log"
  done
done
for r in $(seq 1 "$ROUNDS"); do
  for v in base new; do
    "$OUT/build-$v/bench/vw_peer_bench" search "$OUT/base.vwi" "$D/query.fvecs" "$D/gt.ivecs" \
      64,256 2 3 > "$OUT/search-$v-$r.log"
  done
done
if [ "$CALLGRIND" = 1 ]; then
  for v in base new; do
    valgrind --tool=callgrind --toggle-collect=vw_index_search \
      --callgrind-out-file="$OUT/callgrind-$v.out" "$OUT/build-$v/bench/vw_peer_bench" search \
      "$OUT/base.vwi" "$D/query.fvecs" "$D/gt.ivecs" 64 1 1 > /dev/null 2> "$OUT/callgrind-$v.log"
  done
fi
python3 - "$OUT" "$ROUNDS" "$CALLGRIND" <<'EOF'
import re, statistics, sys
out, rounds, cg = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
med = statistics.median
def build_s(v, r):
    return float(re.search(r"build_s=([\d.]+)", open(f"{out}/build-{v}-{r}.log").read()).group(1))
def search(v, r):
    text = open(f"{out}/search-{v}-{r}.log").read()
    single = {int(m[0]): float(m[2]) for m in
              re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)", text, re.M)}
    batch = med(float(x) for x in re.findall(r"^batch .* QPS=([\d.]+)", text, re.M))
    return single, batch
rows = {}
for v in ("base", "new"):
    b = [build_s(v, r) for r in range(1, rounds + 1)]
    s = [search(v, r) for r in range(1, rounds + 1)]
    rows[v] = (b, s)
    print(f"{v:4}  build s: " + " ".join(f"{x:.1f}" for x in b) + f"  (median {med(b):.1f})")
    for e in sorted(s[0][0]):
        q = [x[0][e] for x in s]
        print(f"      QPS ef={e}: " + " ".join(f"{x:.0f}" for x in q) + f"  (median {med(q):.0f})")
    bq = [x[1] for x in s]
    print("      batch 2t QPS: " + " ".join(f"{x:.0f}" for x in bq) + f"  (median {med(bq):.0f})")
b0, s0 = rows["base"]
b1, s1 = rows["new"]
print(f"new/base: build time {med(b1) / med(b0):.3f}", end="")
for e in sorted(s0[0][0]):
    print(f"  QPS ef={e} {med(x[0][e] for x in s1) / med(x[0][e] for x in s0):.3f}", end="")
print(f"  batch QPS {med(x[1] for x in s1) / med(x[1] for x in s0):.3f}")
if cg:
    ir = {}
    for v in ("base", "new"):
        m = re.search(r"Collected : (\d+)", open(f"{out}/callgrind-{v}.log").read())
        ir[v] = int(m.group(1))
        print(f"callgrind {v}: {ir[v]:,} instructions in vw_index_search")
    print(f"new/base instructions: {ir['new'] / ir['base']:.4f}")
EOF
