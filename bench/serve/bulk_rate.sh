#!/usr/bin/env bash
# Bulk loading over HTTP against vw-build, same vectors, same M and
# ef_construction (32, 200), same machine, one run: N x 128 vectors
# (vw-gen), built by vw-build; then loaded into a fresh `vw-serve --data`
# server (seeded with 1,000 other vectors) as one application/x-npy body,
# then again as NDJSON (into the index that now holds them). Prints the
# vectors per second of each.
#
#   bench/serve/bulk_rate.sh [N] [WORKDIR]      (run from the top; BUILD=build)
#
# Take the lock of a shared machine: flock /work/bench.lock bench/serve/bulk_rate.sh
set -eu
N=${1:-100000}
W=${2:-/tmp/vw-bulk-rate}
B=$(cd "${BUILD:-build}/tools" && pwd)
PORT=${PORT:-18977}
mkdir -p "$W"
cd "$W"
rm -rf d b.vwi
[ -f "v$N.npy" ] || "$B/vw-gen" -q -n "$N" -d 128 -o "v$N.npy" --seed 7
[ -f seed.npy ] || "$B/vw-gen" -q -n 1000 -d 128 -o seed.npy --seed 8
"$B/vw-build" -q -i seed.npy -o seed.vwi
[ -f "v$N.ndjson" ] || python3 - "$N" <<'PY'
import struct, sys
n = int(sys.argv[1])
with open(f"v{n}.npy", "rb") as f, open(f"v{n}.ndjson", "w") as out:
    f.read(8)
    (hlen,) = struct.unpack("<H", f.read(2))
    f.read(hlen)
    for i in range(n):
        row = struct.unpack("<128f", f.read(512))
        out.write('{"id":%d,"vector":[%s]}\n' % (2000000 + i, ",".join("%.9g" % x for x in row)))
PY
now() { date +%s.%N; }
t0=$(now); "$B/vw-build" -q -i "v$N.npy" -o b.vwi; t1=$(now)
build=$(echo "$t1 - $t0" | bc)
"$B/vw-serve" -x seed.vwi --data d --port "$PORT" --max-write-body 4000000000 -t 2 2>serve.log &
sp=$!
trap 'kill $sp 2>/dev/null || true' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do sleep 0.1; done
t0=$(now)
curl -sS -H 'Content-Type: application/x-npy' --data-binary "@v$N.npy" \
    "http://127.0.0.1:$PORT/vectors?start=1000000"
echo
t1=$(now)
npy=$(echo "$t1 - $t0" | bc)
t0=$(now)
curl -sS -H 'Content-Type: application/x-ndjson' --data-binary "@v$N.ndjson" \
    "http://127.0.0.1:$PORT/vectors"
echo
t1=$(now)
nd=$(echo "$t1 - $t0" | bc)
echo "N=$N vw-build: ${build} s, $(echo "$N / $build" | bc) vectors/s"
echo "N=$N HTTP npy into a fresh --data server: ${npy} s, $(echo "$N / $npy" | bc) vectors/s"
echo "N=$N HTTP NDJSON (into 1000 + N): ${nd} s, $(echo "$N / $nd" | bc) vectors/s"
uptime
