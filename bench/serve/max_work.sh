#!/usr/bin/env bash
# How long one request at vw-serve's default --max-work (2^20 units of
# queries x max(k, ef_search)) holds a worker: three bodies right at the
# budget, each sent three times to a server with one worker; prints the
# status and the wall time of each (curl, loopback).
#
# Usage: flock /work/bench.lock bench/serve/max_work.sh INDEX QUERIES.fvecs
#   BUILD=build   build directory holding tools/vw-serve
#   WORK=/tmp/vw-max-work   where the bodies and the log go
# Needs curl and python3.
set -euo pipefail
INDEX=$1
QUERIES=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WORK=${WORK:-/tmp/vw-max-work}
mkdir -p "$WORK"

python3 - "$QUERIES" "$WORK" <<'PY'
import json, struct, sys
data = open(sys.argv[1], 'rb').read()
dim = struct.unpack('<i', data[:4])[0]
rows = [list(struct.unpack('<%df' % dim, data[o + 4:o + 4 + 4 * dim]))
        for o in range(0, len(data), 4 + 4 * dim)]
for nq, ef in ((16, 65536), (1000, 1048), (10000, 104)):
    qs = (rows * (nq // len(rows) + 1))[:nq]
    with open('%s/b%d_%d.json' % (sys.argv[2], nq, ef), 'w') as f:
        json.dump({'query_vectors': qs, 'k': 10, 'ef_search': ef}, f)
PY

"$BUILD/tools/vw-serve" -x "$INDEX" --port 0 --threads 1 --max-body 67108864 \
  --timeout-ms 600000 2> "$WORK/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until grep -q ' port=' "$WORK/serve.log"; do sleep 0.1; done
PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$WORK/serve.log" | head -1)
for body in b16_65536 b1000_1048 b10000_104; do
  for _ in 1 2 3; do
    curl -s -o /dev/null -w "$body %{http_code} %{time_total}s\n" \
      --data-binary "@$WORK/$body.json" "http://127.0.0.1:$PORT/search/batch"
  done
done
