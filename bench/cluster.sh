#!/usr/bin/env bash
# The shard router's overhead (README "More than one machine", bench/RESULTS.md
# section "Shards behind the router"): S shards of N/S clustered vectors behind
# nginx + njs (tools/cluster) against one index of all N, on this machine,
# for f32 and i8 storage:
#   - recall@10 per ef_search through the router and from the single index;
#   - QPS and p50/p99 at 1 and 8 connections (vw_http_load, ef 64): router,
#     the single index direct, one shard direct;
#   - the router's own CPU per query (nginx worker, from /proc): the fan-out
#     cost, and the latency it adds over one shard answered directly.
#
#   bench/cluster.sh [-n N] [-s SHARDS] [-t SECONDS] [-k f32|i8|"f32 i8"] [-e EFS] [-r EFS]
#                    [-R] [-1] [-B] [BUILD_DIR]
#
#   (-e "EF ...": the ef_search values of the load runs, default 64;
#    -r "EF ...": those of the recall sweep, default "16 32 64 128 256";
#    -R: no recall sweep; -1: shards only, no single index of all N, for
#    sizes whose single index is measured elsewhere, such as 10M in
#    RESULTS section 5: it would take half an hour to build again)
#
# -B only generates the vectors, the brute-force truth and the indexes (the
# long, untimed part: run it under /work/bin/cpu); without -B the indexes
# are built when missing and then measured (run that under /work/bin/quiet).
# VW_BENCH_DIR (default /tmp/vw-cluster-bench-N) holds everything;
# VW_BUILD_OPTS the build's options (default "-M 16 --ef-construction 100"),
# VW_GEN_SEED vw-gen's seed (default 11).
#
# Every process shares the machine's cores (shards, nginx, the client), as
# they would not on separate machines: QPS here is a floor.
set -euo pipefail
n=200000 shards=4 secs=10 dim=128 kinds="f32 i8" build_only= load_efs=64 sweep=1 with_single=1
sweep_efs="16 32 64 128 256"
while getopts "n:s:t:k:e:r:R1B" o; do
    case $o in
    n) n=$OPTARG ;; s) shards=$OPTARG ;; t) secs=$OPTARG ;; k) kinds=$OPTARG ;;
    e) load_efs=$OPTARG ;; r) sweep_efs=$OPTARG ;; R) sweep= ;; 1) with_single= ;;
    B) build_only=1 ;; *) exit 2 ;;
    esac
done
read -r -a build_opts <<<"${VW_BUILD_OPTS:--M 16 --ef-construction 100}"
shift $((OPTIND - 1))
py=${PYTHON:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
tools=$build/tools load=$build/bench/vw_http_load
work=${VW_BENCH_DIR:-/tmp/vw-cluster-bench-$n}
mkdir -p "$work"
cd "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 600); do curl -sf "localhost:$1/" >/dev/null && return 0; sleep 0.1; done; return 1; }
serve() { # INDEX PORT -> pid in $! (2 search threads each, as on its own machine's 2 cores)
    "$tools/vw-serve" -x "$1" --port "$2" --host 127.0.0.1 --threads 2 --queue 4096 \
        --max-body 16777216 2>"$work/serve-$2.log" &
    pids+=($!)
}
cpu_us() { awk '{printf "%d\n", ($14 + $15) * 10000}' "/proc/$1/stat"; } # utime+stime in µs (100 Hz)

[ -f base.fvecs ] || "$tools/vw-gen" -n "$n" -d $dim --seed "${VW_GEN_SEED:-11}" -o base.fvecs \
    --queries 1000 --queries-out queries.fvecs -q
[ -f truth.npy ] || "$py" - <<'EOF'
import json, numpy as np
def fvecs(p):
    a = np.fromfile(p, dtype=np.int32); d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].view(np.float32)
b, q = fvecs('base.fvecs'), fvecs('queries.fvecs')
# the exact 10 nearest, 100k rows at a time (a 1000 x 1M matrix would be 4 GB)
best_d = np.full((len(q), 0), np.inf, np.float32); best_i = np.zeros((len(q), 0), np.int64)
for s in range(0, len(b), 100000):
    c = b[s:s + 100000]
    d = (q * q).sum(1)[:, None] - 2 * q @ c.T + (c * c).sum(1)[None, :]
    ids = np.argpartition(d, 10, axis=1)[:, :10] if d.shape[1] > 10 else np.argsort(d, axis=1)
    best_d = np.hstack([best_d, np.take_along_axis(d, ids, 1)])
    best_i = np.hstack([best_i, ids + s])
    keep = np.argsort(best_d, axis=1, kind='stable')[:, :10]
    best_d, best_i = np.take_along_axis(best_d, keep, 1), np.take_along_axis(best_i, keep, 1)
np.save('truth.npy', best_i)
EOF
for ef in $load_efs; do # the load runs' request bodies
    [ -f bodies$ef.jsonl ] || "$py" - "$ef" <<'EOF'
import json, sys, numpy as np
a = np.fromfile('queries.fvecs', dtype=np.int32); q = a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32)
with open(f'bodies{sys.argv[1]}.jsonl', 'w') as f:
    for v in q:
        f.write(json.dumps({"query_vector": [float(x) for x in v], "k": 10,
                            "ef_search": int(sys.argv[1])}) + '\n')
EOF
done

recall() { # PORT -> "ef recall" lines
    "$py" - "$1" $sweep_efs <<'EOF'
import json, sys, urllib.request, numpy as np
port = sys.argv[1]
def fvecs(p):
    a = np.fromfile(p, dtype=np.int32); d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].view(np.float32)
q, truth = fvecs('queries.fvecs'), np.load('truth.npy')
for ef in map(int, sys.argv[2:]):
    hits = 0
    for s in range(0, len(q), 200):
        body = json.dumps({"query_vectors": q[s:s+200].tolist(), "k": 10, "ef_search": ef}).encode()
        req = urllib.request.Request(f'http://127.0.0.1:{port}/search/batch', data=body)
        res = json.loads(urllib.request.urlopen(req).read())['results']
        for i, r in enumerate(res):
            hits += len(set(r['indices']) & set(truth[s + i].tolist()))
    print(ef, round(hits / (len(q) * 10), 4))
EOF
}

build() { # STORAGE [--shard I/S] -> the index file's name, built if missing (logs the build)
    local out=all-$1.vwi
    [ $# -eq 1 ] || out=shard${3%/*}-$1.vwi
    [ -f "$out" ] || "$tools/vw-build" -i base.fvecs -o "$out" "${build_opts[@]}" \
        --storage "$1" -q "${@:2}" >>build.log
    echo "$out"
}
for storage in $kinds; do
    [ -z "$with_single" ] || build "$storage" >/dev/null
    for ((i = 0; i < shards; i++)); do build "$storage" --shard $i/$shards >/dev/null; done
done
[ -z "$build_only" ] || { cat build.log; exit 0; }

for storage in $kinds; do
    echo "== storage $storage: $shards shards of $((n / shards)) vs one index of $n (dim $dim)"
    ports=()
    for ((i = 0; i < shards; i++)); do
        p=$(free_port); serve "$(build "$storage" --shard $i/$shards)" "$p"; ports+=("127.0.0.1:$p")
    done
    single=
    if [ -n "$with_single" ]; then single=$(free_port); serve all-$storage.vwi "$single"; single_pid=$!; fi
    router=$(free_port)
    mkdir -p "ng-$storage"
    "$root/tools/cluster/gen-nginx.sh" --listen "127.0.0.1:$router" --prefix "$work/ng-$storage" \
        --foreground --workers 1 --max-body 16m "${ports[@]}" > "ng-$storage/nginx.conf"
    nginx -p "$work/ng-$storage/" -c "$work/ng-$storage/nginx.conf" 2>"ng-$storage/out" &
    pids+=($!)
    for p in $single "$router" "${ports[@]##*:}"; do wait_up "$p"; done
    worker=$(pgrep -P "$(cat ng-$storage/nginx.pid)" | head -1)
    if [ -n "$sweep" ]; then
        if [ -n "$single" ]; then
            echo "-- recall@10 per ef_search (1000 queries): router | single index"
            paste -d' ' <(recall "$router") <(recall "$single" | cut -d' ' -f2)
        else
            echo "-- recall@10 per ef_search (1000 queries): router"
            recall "$router"
        fi
    fi
    for ef in $load_efs; do
        echo "-- load, ef $ef, ${secs}s each (RESULT lines of vw_http_load)"
        for c in 1 8; do
            w0=$(cpu_us "$worker")
            line=$("$load" "$router" bodies$ef.jsonl $c "$secs" || true) # exit 1: errors, counted
            w1=$(cpu_us "$worker")
            reqs=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
            echo "router  c=$c $line nginx_cpu_us=$(((w1 - w0) / (reqs > 0 ? reqs : 1)))"
            [ -z "$single" ] ||
                echo "single  c=$c $("$load" "$single" bodies$ef.jsonl $c "$secs" "$single_pid" || true)"
            echo "shard0  c=$c $("$load" "${ports[0]##*:}" bodies$ef.jsonl $c "$secs" || true)"
        done
    done
    cleanup
    pids=()
done
