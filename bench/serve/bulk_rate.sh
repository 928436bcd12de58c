#!/usr/bin/env bash
# Bulk loading over HTTP against vw-build, same vectors, same M and
# ef_construction (32, 200), same machine: N x 128 vectors (vw-gen), built
# by vw-build; then loaded into a fresh `vw-serve --data` server (seeded
# with 1,000 other vectors) as one application/x-npy body; then the same
# vectors as NDJSON, again into a fresh server. Prints the vectors per
# second of each.
#
#   bench/serve/bulk_rate.sh [N] [WORKDIR] [PARTS]   (run from the top; BUILD=build)
#
# PARTS (default "prep build npy ndjson") picks what runs: prep makes the
# data (untimed), build times vw-build, npy and ndjson time the two loads.
# Each timed part compares with the others only when the machine does
# nothing else; on a shared one run prep first, then each timed part alone:
#   bench/serve/bulk_rate.sh 1000000 /tmp/b prep
#   /work/bin/quiet bench/serve/bulk_rate.sh 1000000 /tmp/b build   (and npy, ndjson)
set -eu
N=${1:-100000}
W=${2:-/tmp/vw-bulk-rate}
PARTS=${3:-prep build npy ndjson}
B=$(cd "${BUILD:-build}/tools" && pwd)
PORT=${PORT:-18977}
mkdir -p "$W"
cd "$W"
now() { date +%s.%N; }
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

prep() {
    [ -f "v$N.npy" ] || "$B/vw-gen" -q -n "$N" -d 128 -o "v$N.npy" --seed 7
    [ -f seed.npy ] || "$B/vw-gen" -q -n 1000 -d 128 -o seed.npy --seed 8
    [ -f seed.vwi ] || "$B/vw-build" -q -i seed.npy -o seed.vwi
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
}

# One body into a fresh --data server; prints the seconds it took.
load() { # TYPE FILE QUERY
    rm -rf d
    "$B/vw-serve" -x seed.vwi --data d --port "$PORT" --max-write-body 4000000000 -t 2 \
        2>serve.log &
    sp=$!
    trap 'kill $sp 2>/dev/null || true' EXIT
    until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do sleep 0.1; done
    local t0 t1
    t0=$(now)
    # -T streams the file (--data-binary @ would read all of it first)
    reply=$(curl -sS -X POST -T "$2" -H "Content-Type: application/$1" \
        "http://127.0.0.1:$PORT/vectors$3")
    t1=$(now)
    echo "$reply" >&2
    kill $sp
    wait $sp || true
    trap - EXIT
    [ "$reply" = "{\"upserted\":$N}" ] || { echo "the load failed: $reply" >&2; exit 1; }
    echo "$t1 - $t0" | bc
}

has prep && prep
if has build; then
    rm -f b.vwi
    t0=$(now)
    "$B/vw-build" -q -i "v$N.npy" -o b.vwi
    t1=$(now)
    s=$(echo "$t1 - $t0" | bc)
    echo "N=$N vw-build: $s s, $(echo "$N / $s" | bc) vectors/s"
fi
if has npy; then
    s=$(load x-npy "v$N.npy" "?start=1000000")
    echo "N=$N HTTP npy into a fresh --data server: $s s, $(echo "$N / $s" | bc) vectors/s"
fi
if has ndjson; then
    s=$(load x-ndjson "v$N.ndjson" "")
    echo "N=$N HTTP NDJSON into a fresh --data server: $s s, $(echo "$N / $s" | bc) vectors/s"
fi
has build || has npy || has ndjson && uptime
true
