#!/usr/bin/env bash
# The container image and the compose deployment, for real (ctest label
# "container"; CI runs it once):
#
#   test_container.sh SOURCE_DIR WORK_DIR
#
#  1. the bookworm build image, made with debootstrap by
#     tools/docker/base-image.sh (its root file system cached in WORK_DIR, and
#     the image kept in podman's store: later runs skip both);
#  2. the image built from tools/docker/Containerfile; it must be under 20 MB,
#     run as a non-root user and carry a health check on GET /;
#  3. tools/docker/compose.yaml brought up twice: on its own new named volume
#     (the container generates vectors and builds an index in it) and on a
#     host directory holding an index.faiss written by Faiss (converted);
#     each time the test waits for the health check, checks GET /, GET /stats
#     and POST /search over the published port, and brings it down;
#  4. once more with VW_WRITES=1 and a key file as the compose secret: a
#     write needs a write key (401 without, 403 with a read key), JSON and
#     NDJSON upserts are served back and the write log is in the volume.
#
# Skipped (77) only where podman cannot run containers at all. Measured here:
# 136 s on a machine without the base image (debootstrap 106 s of it), 30 s
# afterwards.
set -euo pipefail

src=$(cd "$1" && pwd)
work=$2
mkdir -p "$work"
work=$(cd "$work" && pwd)
image=localhost/vectorwise:ctest
base=localhost/vectorwise-build:bookworm
project=vwctest
started=$SECONDS

skip() {
    echo "skipped: $*"
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { printf '[%4ds] %s\n' $((SECONDS - started)) "$*"; }

command -v podman >/dev/null || skip "podman is not installed"
podman info >/dev/null 2>&1 || skip "podman cannot run on this machine"
for tool in podman-compose curl python3; do
    command -v $tool >/dev/null || fail "$tool is needed (apt-get install $tool)"
done
# crun, podman's default elsewhere, fails on this machine kind's cgroups;
# runc with explicit limits works.
podman_args=()
command -v runc >/dev/null && podman_args=(--runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)

step "build image $base (debootstrap, cached in $work)"
if ! podman image exists "$base"; then
    command -v debootstrap >/dev/null || fail "debootstrap is needed to make $base"
    PODMAN="podman ${podman_args[*]}" "$src/tools/docker/base-image.sh" "$base" \
        "$work/bookworm-build.tar"
fi

step "image $image"
podman "${podman_args[@]}" build --format docker "${limits[@]}" \
    -f "$src/tools/docker/Containerfile" -t "$image" "$src" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log"; fail "podman build"; }
podman image prune -f --filter label=org.vectorwise.stage=build >/dev/null
size=$(podman image inspect "$image" --format '{{.Size}}')
user=$(podman image inspect "$image" --format '{{.Config.User}}')
health=$(podman image inspect "$image" --format '{{json .Config.Healthcheck}}')
echo "image size: $size bytes ($((size / 1000000)) MB), user $user"
[ "$size" -lt 20000000 ] || fail "the image is $size bytes, over 20 MB"
[ "${user%%:*}" != 0 ] && [ -n "$user" ] || fail "the image runs as root"
case $health in *'http://127.0.0.1:8000/'*) ;; *) fail "no health check on GET /: $health" ;; esac

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
compose=(podman-compose --podman-args="${podman_args[*]}" -p "$project"
         -f "$src/tools/docker/compose.yaml")
container=${project}_api_1

down() { "${compose[@]}" down -v >/dev/null 2>&1 || true; }
trap 'down; rm -rf "$work/data"' EXIT

# Up on the data volume given (empty: compose's named volume), wait for the
# health check, run the checks given, down (removing a named volume).
deploy() {
    local what=$1 data=$2 checks=$3
    step "compose up: $what"
    VW_IMAGE=$image VW_PORT=$port VW_DATA=$data VW_N=3000 VW_WRITES=${writes:-0} \
        VW_API_KEYS=${keys:-/dev/null} "${compose[@]}" up -d \
        >"$work/compose.log" 2>&1 || { cat "$work/compose.log"; fail "compose up"; }
    local waited=0
    until podman "${podman_args[@]}" healthcheck run "$container" >/dev/null 2>&1; do
        waited=$((waited + 1))
        if [ $waited -gt 180 ]; then
            podman logs "$container" >&2 || true
            fail "$what: not healthy after 180 s"
        fi
        sleep 1
    done
    step "healthy after ${waited} s"
    $checks
    podman logs "$container" 2>&1 | grep '^vw-' | sed 's/^/  log: /'
    down
}

get() { curl -sS --max-time 10 "$url$1"; }
search() { curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' -d "$1" "$url/search"; }
expect() { # expect WHAT TEXT PATTERN
    case $2 in *$3*) echo "  ok: $1: $2" | cut -c1-200 ;; *) fail "$1: '$3' not in: $2" ;; esac
}

check_generated() {
    expect "GET /" "$(get /)" '{"status":"ok","count":3000,"dim":128}'
    local stats
    stats=$(get /stats)
    expect "GET /stats" "$stats" '"normalize_queries":true'
    expect "GET /stats" "$stats" '"metric":"l2","M":32,"ef_construction":200'
    expect "GET /stats" "$stats" '"ef_search":64'
    local q
    q=$(python3 -c 'import json; print(json.dumps({"query_vector": [((i * 37) % 11) - 5 for i in range(128)], "k": 10}))')
    local r
    r=$(search "$q")
    expect "POST /search" "$r" '"indices":['
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert len(r["indices"]) == 10 and r["distances"] == sorted(r["distances"]), r' "$r" ||
        fail "POST /search: not 10 results nearest first: $r"
    podman exec "$container" ls /data | tr '\n' ' ' | grep -q 'index.vwi vectors.npy' ||
        fail "vectors.npy and index.vwi were not written to the data volume"
    podman exec "$container" cat /proc/1/status | grep -q '^Uid:[[:space:]]*10001' ||
        fail "the server does not run as uid 10001"
}

check_converted() {
    expect "GET /" "$(get /)" '{"status":"ok","count":30,"dim":4}'
    expect "GET /stats" "$(get /stats)" '"count":30,"dim":4,"metric":"l2","M":3'
    local r
    r=$(search '{"query_vector":[0.5,-0.25,1,0.125],"k":5}')
    # the IndexIDMap's ids are 5 + 11 i
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert len(r["indices"]) == 5 and all(i % 11 == 5 for i in r["indices"]), r' "$r" ||
        fail "POST /search on the converted index: $r"
    echo "  ok: POST /search: $r"
}

fresh_data() {
    rm -rf "$work/data"
    mkdir -p "$work/data"
    cp "$1" "$work/data/index.faiss"
    chown -R 10001:10001 "$work/data" 2>/dev/null || chmod 777 "$work/data"
}

# VW_WRITES=1 and a key file from the compose secret: writes need a write key.
check_writes_with_key() {
    local read=(-H "Authorization: Bearer ctest-read-key-0123456789")
    local write=(-H "X-API-Key: ctest-write-key-0123456789")
    local v='[1,0.5,0.25,0.125]'
    expect "GET / (open)" "$(get /)" '"status":"ok"'
    expect "POST /vectors without a key" "$(curl -sS --max-time 10 -X POST -d "{\"ids\":[7],\"vectors\":[$v]}" "$url/vectors")" '"detail":"Not authenticated"'
    expect "POST /vectors, read key" "$(curl -sS --max-time 10 "${read[@]}" -X POST -d "{\"ids\":[7],\"vectors\":[$v]}" "$url/vectors")" 'has the read scope'
    expect "POST /vectors, write key" "$(curl -sS --max-time 10 "${write[@]}" -X POST -d "{\"ids\":[7],\"vectors\":[$v]}" "$url/vectors")" '{"upserted":1}'
    expect "NDJSON, write key" "$(printf '{"id":8,"vector":[1,1,1,1]}\n{"id":9,"vector":[2,2,2,2]}\n' | curl -sS --max-time 10 "${write[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @- "$url/vectors")" '{"upserted":2}'
    expect "GET /vectors/9, read key" "$(curl -sS --max-time 10 "${read[@]}" "$url/vectors/9")" '"id":9,"vector":?2,2,2,2?}'
    expect "GET /stats, read key" "$(curl -sS --max-time 10 "${read[@]}" "$url/stats")" '"read_only":false'
    podman exec "$container" ls /data | tr '\n' ' ' | grep -q 'wal.log' ||
        fail "no write log in the data volume"
}

deploy "a new named volume: generate 3000 vectors, build, serve" "" check_generated
fresh_data "$src/tests/fuzz/seeds/fuzz_faiss/l2_idmap_n30.faiss"
deploy "index.faiss in a host directory: convert, serve" "$work/data" check_converted
fresh_data "$src/tests/fuzz/seeds/fuzz_faiss/l2_idmap_n30.faiss"
printf 'read ctest-read-key-0123456789 ctest\nwrite ctest-write-key-0123456789 ctest-loader\n' >"$work/keys"
chmod 600 "$work/keys"
chown 10001:10001 "$work/keys" 2>/dev/null || fail "the key file must belong to uid 10001 (run as root)"
writes=1 keys=$work/keys deploy "VW_WRITES=1 and an API key file (compose secret)" "$work/data" \
    check_writes_with_key
step "done"
