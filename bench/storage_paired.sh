#!/usr/bin/env bash
# Recall of f16 (and i8) storage against f32 with everything else equal:
# single-threaded builds are deterministic, so for one level seed the f32
# and the compact index differ only by what the codec does to distances.
# Two-thread builds differ from run to run by more than the 0.002 of
# recall that f16 is allowed to lose, which hides the codec's own effect.
#
#   bench/storage_paired.sh [--data DIR] [--out DIR] [--seeds "100 101"]
#                           [--kinds "f16n"] [--efs 16,32,...,1024]
#
# Kinds: f16n / i8n (no float32: approximate distances), f16 / i8 (float32
# kept for re-ranking). Data: DIR/seed100k/{base,query}.fvecs and gt.ivecs
# (../shared/peers/gen_seed.py). Recall only: nothing here is timed, so it
# may run beside other jobs. Prints one table of recall@10 per efSearch.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${VW_PEER_DATA:-/tmp/peers}
OUT=out/storage-paired
SEEDS="100 101"
KINDS="f16n"
EFS=16,32,64,128,256,512,1024
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --kinds) KINDS=$2; shift 2 ;;
    --efs) EFS=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "storage_paired.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
D=$DATA/seed100k
B=${VW_BUILD_DIR:-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target vw-build vw-bench >/dev/null
mkdir -p "$OUT"
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD) seeds=$SEEDS" \
  "kinds=$KINDS efs=$EFS" > "$OUT/meta.txt"
for seed in $SEEDS; do
  for kind in f32 $KINDS; do
    case $kind in
      f32) opts="--storage f32" ;;
      f16|i8) opts="--storage $kind" ;;
      f16n|i8n) opts="--storage ${kind%n} --no-float32" ;;
      *) echo "storage_paired.sh: unknown kind $kind" >&2; exit 2 ;;
    esac
    idx=$OUT/$kind-$seed.vwi
    # shellcheck disable=SC2086
    [ -f "$idx" ] || "$B"/tools/vw-build -i "$D/base.fvecs" -o "$idx" -M 32 \
      --ef-construction 200 --threads 1 --seed "$seed" $opts -q > "$OUT/$kind-$seed.build.log"
    "$B"/tools/vw-bench -x "$idx" --queries "$D/query.fvecs" --gt "$D/gt.ivecs" --sweep "$EFS" \
      -o "$OUT/$kind-$seed.json" > "$OUT/$kind-$seed.bench.log"
  done
done
/usr/bin/python3 - "$OUT" "$SEEDS" "f32 $KINDS" <<'PY'
import json, sys
out, seeds, kinds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def curve(kind, seed):
    doc = json.load(open(f"{out}/{kind}-{seed}.json"))
    return {p["ef_search"]: p["recall_at_k"] for p in doc["results"]}
efs = sorted(curve("f32", seeds[0]))
print("| seed | kind | " + " | ".join(f"ef {e}" for e in efs) + " |")
print("|---|---|" + "---|" * len(efs))
for seed in seeds:
    base = curve("f32", seed)
    print(f"| {seed} | f32 | " + " | ".join(f"{base[e]:.4f}" for e in efs) + " |")
    for kind in kinds[1:]:
        c = curve(kind, seed)
        print(f"| {seed} | {kind} − f32 | " + " | ".join(f"{c[e] - base[e]:+.4f}" for e in efs)
              + " |")
if len(seeds) > 1:
    a, b = curve("f32", seeds[0]), curve("f32", seeds[1])
    print(f"| {seeds[1]} − {seeds[0]} | f32 − f32 | " + " | ".join(f"{b[e] - a[e]:+.4f}" for e in efs)
          + " |")
PY
