#!/usr/bin/env bash
# Opening a user's existing index: our import of a Faiss and an hnswlib file
# against the engines' own loading of the same files, against converting
# (`vw-build --from`: import, reorder, save) and against building the index
# again from the vectors; then our answers on the imported Faiss graph next
# to Faiss's own.
#
#   flock /work/bench.lock bench/foreign_load.sh --faiss F.faiss --hnswlib H.bin \
#       --data DIR [--rounds 5] [--no-rebuild] [--out DIR]
#
# F.faiss: an IndexHNSWFlat (L2) and H.bin: an hnswlib l2 file, both over
# DIR/base.fvecs (DIR also holds query.fvecs and gt.ivecs, as gen_seed.py
# writes them). Every file is read once untimed first, so all loads are from
# the page cache (what a restart of a service sees). Then, --rounds times,
# interleaved: faiss.read_index (python3-faiss), hnswlib load_index
# (python3-hnswlib), vw_index_import of both (vw_peer_bench load ... import),
# vw_index_load of the converted file (read and mmap). Then vw-build --from
# once, and vw-build -i DIR/base.fvecs (M=32, efC=200, 2 threads) once
# unless --no-rebuild. Medians are printed at the end; logs go to --out.
set -euo pipefail
cd "$(dirname "$0")/.."
FAISS= HNSW= DATA= ROUNDS=5 REBUILD=1 OUT=
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --faiss) FAISS=$2; shift 2 ;;
    --hnswlib) HNSW=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-rebuild) REBUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "foreign_load.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for f in "$FAISS" "$HNSW" "$DATA/base.fvecs" "$DATA/query.fvecs" "$DATA/gt.ivecs"; do
  [ -f "$f" ] || { echo "foreign_load.sh: missing file '$f' (see --help)" >&2; exit 2; }
done
OUT=${OUT:-out/foreign-load}
mkdir -p "$OUT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target vw_peer_bench vw-build vw-query >/dev/null
VWB=build/bench/vw_peer_bench
LOG=$OUT/rounds.log
echo "date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD) faiss=$FAISS" \
  "hnswlib=$HNSW rounds=$ROUNDS" > "$OUT/meta.txt"
ls -l "$FAISS" "$HNSW" >> "$OUT/meta.txt"

# The converted file the load rounds read back (untimed here).
CONV=$OUT/converted.vwi
build/tools/vw-build --from "$FAISS" -o "$CONV" --report "$OUT/convert.json" > "$OUT/convert.log"
cat "$FAISS" "$HNSW" "$CONV" > /dev/null   # into the page cache

faiss_load() {
  $PY -c 'import faiss, sys, time
t = time.perf_counter(); ix = faiss.read_index(sys.argv[1]); s = time.perf_counter() - t
print("faiss_read_index_s=%.4f ntotal=%d" % (s, ix.ntotal))' "$FAISS"
}
hnswlib_load() {
  $PY -c 'import hnswlib, struct, sys, time
label_off, data_off = struct.unpack_from("<QQ", open(sys.argv[1], "rb").read(48), 32)
ix = hnswlib.Index(space="l2", dim=(label_off - data_off) // 4)
t = time.perf_counter(); ix.load_index(sys.argv[1]); s = time.perf_counter() - t
print("hnswlib_load_index_s=%.4f count=%d" % (s, ix.get_current_count()))' "$HNSW"
}
vw_import_faiss() {
  "$VWB" load "$FAISS" import 1 | sed -n 's/^load=import run=0 load_s=/vw_import_faiss_s=/p'
}
vw_import_hnswlib() {
  "$VWB" load "$HNSW" import-l2 1 | sed -n 's/^load=import-l2 run=0 load_s=/vw_import_hnswlib_s=/p'
}
vw_load_read() {
  "$VWB" load "$CONV" read 1 | sed -n 's/^load=read run=0 load_s=/vw_load_read_s=/p'
}
vw_load_mmap() {
  "$VWB" load "$CONV" mmap 1 | sed -n 's/^load=mmap run=0 load_s=/vw_load_mmap_s=/p'
}
# Each round starts with a different job: how fast fresh memory comes (huge
# pages, compaction) depends on what ran just before.
JOBS=(faiss_load hnswlib_load vw_import_faiss vw_import_hnswlib vw_load_read vw_load_mmap)
: > "$LOG"
for r in $(seq 0 $((ROUNDS - 1))); do
  for j in $(seq 0 $((${#JOBS[@]} - 1))); do
    ${JOBS[$(((r + j) % ${#JOBS[@]}))]} >> "$LOG"
  done
done

# The user's one command, timed as a whole (import, reorder, save with fsync).
/usr/bin/time -f "vw_build_from_wall_s=%e peak_rss_kb=%M" build/tools/vw-build --from "$FAISS" \
  -o "$OUT/converted2.vwi" --report "$OUT/convert2.json" > "$OUT/convert2.log" 2> "$OUT/convert2.time"
if [ "$REBUILD" = 1 ]; then
  /usr/bin/time -f "vw_build_wall_s=%e peak_rss_kb=%M" build/tools/vw-build -q -i "$DATA/base.fvecs" \
    -o "$OUT/rebuilt.vwi" -M 32 --ef-construction 200 --threads 2 --report "$OUT/rebuild.json" \
    > "$OUT/rebuild.log" 2> "$OUT/rebuild.time"
  rm -f "$OUT/rebuilt.vwi"
fi
rm -f "$OUT/converted2.vwi"

# Answers at efSearch 64: Faiss's two searches and ours on the same graph.
$PY - "$FAISS" "$DATA/query.fvecs" "$OUT" <<'EOF'
import faiss, numpy as np, sys
ix = faiss.read_index(sys.argv[1])
raw = np.fromfile(sys.argv[2], dtype="<i4")
d = raw[0]
q = raw.reshape(-1, d + 1)[:, 1:].copy().view("<f4")
ix.hnsw.efSearch = 64
for bounded in (False, True):
    ix.hnsw.search_bounded_queue = bounded
    D, I = ix.search(q, 10)
    np.save("%s/faiss_ef64_%s.npy" % (sys.argv[3], "bounded" if bounded else "unbounded"), I)
    np.save("%s/faiss_ef64_%s_dist.npy" % (sys.argv[3], "bounded" if bounded else "unbounded"), D)
EOF
build/tools/vw-query -x "$FAISS" --json --ef 64 -k 10 --queries "$DATA/query.fvecs" > "$OUT/ours_ef64.jsonl"
"$VWB" search "$FAISS" "$DATA/query.fvecs" "$DATA/gt.ivecs" 64 2 3 import > "$OUT/search_imported.log"

$PY - "$OUT" "$REBUILD" <<'EOF'
import json, re, statistics, sys
import numpy as np
out, rebuild = sys.argv[1], sys.argv[2] == "1"
vals = {}
for line in open(out + "/rounds.log"):
    k, v = line.split()[0].split("=")
    vals.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
conv = json.load(open(out + "/convert.json"))
conv2 = json.load(open(out + "/convert2.json"))
wall = re.search(r"vw_build_from_wall_s=([\d.]+)", open(out + "/convert2.time").read()).group(1)
print("median and best of %d rounds (page cache warm), seconds:" % len(vals["faiss_read_index_s"]))
for k in ("faiss_read_index_s", "hnswlib_load_index_s", "vw_import_faiss_s",
          "vw_import_hnswlib_s", "vw_load_read_s", "vw_load_mmap_s"):
    print("  %-22s %.3f  %.3f  (runs: %s)" % (k, med[k], min(vals[k]),
                                          " ".join("%.3f" % x for x in vals[k])))
print("vw-build --from: import %.3f s, reorder %.3f s, save %.3f s, wall %s s (first: import %.3f s)"
      % (conv2["build_seconds"], conv2["reorder_seconds"], conv2["save_seconds"], wall,
         conv["build_seconds"]))
if rebuild:
    rb = json.load(open(out + "/rebuild.json"))
    print("vw-build -i base.fvecs (rebuild): read %.1f s, build %.1f s, reorder %.2f s, save %.2f s"
          % (rb["read_seconds"], rb["build_seconds"], rb["reorder_seconds"], rb["save_seconds"]))
lines = [json.loads(l) for l in open(out + "/ours_ef64.jsonl")]
ours = [r["indices"] for r in lines]
our_d = np.array([r["distances"] for r in lines])
for kind in ("unbounded", "bounded"):
    theirs = np.load("%s/faiss_ef64_%s.npy" % (out, kind)).tolist()
    their_d = np.load("%s/faiss_ef64_%s_dist.npy" % (out, kind))
    same = sum(a == b for a, b in zip(ours, theirs))
    sets = sum(a != b and set(a) == set(b) for a, b in zip(ours, theirs))
    # rank by rank, allowing float32 rounding of a different summation order
    nearer = sum(a != b and bool(np.all(our_d[i] <= their_d[i] * (1 + 1e-6)))
                 for i, (a, b) in enumerate(zip(ours, theirs)))
    print("answers at ef=64 vs Faiss (%s queue): %d of %d identical, %d same set in another "
          "order; of the %d that differ, ours is at least as near at every rank in %d"
          % (kind, same, len(ours), sets, len(ours) - same, nearer))
EOF
grep -E "^ +64 |^batch" "$OUT/search_imported.log" | sed 's/^/imported graph, vw_peer_bench search: /'
