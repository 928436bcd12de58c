#!/bin/sh
# gen-nginx.sh - writes the nginx.conf of a VectorWise shard router to
# standard output. Each SHARD argument is one shard, in shard order (the
# order is the shard number: vw_shard_of(id, N) picks it, so never reorder):
# a writable primary "host:port", or read-only replicas of one built shard
# "host:port,host:port,...", which nginx balances and retries.
#
#   gen-nginx.sh [OPTIONS] SHARD [SHARD...] > nginx.conf
#   nginx -c "$PWD/nginx.conf"
#
# See README.md, "More than one machine".
set -eu

usage() {
    cat <<'EOF'
Usage: gen-nginx.sh [OPTIONS] SHARD [SHARD...] > nginx.conf
Write the nginx.conf of a router in front of VectorWise shards (vw-serve).
A SHARD is host:port (a writable primary) or host:port,host:port,... (read-only
replicas of one shard). Give them in shard order: shard i is the i-th.

  --listen ADDR        address:port or port to listen on (default 8000)
  --partial            a search with shards down answers from the others with
                       "partial": true and "missing_shards" (default: 503)
  --prefix DIR         keep pid, logs and temporary files under DIR (default:
                       nginx's own paths; give one to run without root)
  --js-dir DIR         where vw_router.js is (default: this script's directory)
  --module PATH        the njs module to load (default
                       /usr/lib/nginx/modules/ngx_http_js_module.so; "none"
                       when nginx already loads it)
  --max-body SIZE      largest request body (default 1m, as vw-serve)
  --max-bulk-body SIZE largest NDJSON bulk load into POST /vectors (default
                       64m; the router holds it in memory to split it)
  --max-response SIZE  largest answer of one shard (default 8m)
  --timeout SECONDS    a shard's time to answer (default 30)
  --workers N          nginx worker processes (default auto)
  --foreground         "daemon off;" (containers, tests)
  -h, --help           show this help
EOF
}

listen=8000 partial=off prefix= module=/usr/lib/nginx/modules/ngx_http_js_module.so
js_dir=$(cd "$(dirname "$0")" && pwd) max_body=1m max_bulk=64m max_response=8m timeout=30
workers=auto
foreground=
while [ $# -gt 0 ]; do
    case $1 in
    --listen) listen=$2; shift 2 ;;
    --partial) partial=on; shift ;;
    --prefix) prefix=$2; shift 2 ;;
    --js-dir) js_dir=$2; shift 2 ;;
    --module) module=$2; shift 2 ;;
    --max-body) max_body=$2; shift 2 ;;
    --max-bulk-body) max_bulk=$2; shift 2 ;;
    --max-response) max_response=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --foreground) foreground=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "gen-nginx.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "gen-nginx.sh: give at least one SHARD" >&2
    usage >&2
    exit 2
fi
[ -f "$js_dir/vw_router.js" ] || { echo "gen-nginx.sh: no $js_dir/vw_router.js" >&2; exit 2; }

# An nginx size (123, 64k, 64m, 1g) in bytes, for the router's own checks.
bytes() {
    case $1 in
    *[kK]) echo $((${1%?} * 1024)) ;;
    *[mM]) echo $((${1%?} * 1048576)) ;;
    *[gG]) echo $((${1%?} * 1073741824)) ;;
    *) echo $(($1)) ;;
    esac
}
max_body_bytes=$(bytes "$max_body") || { echo "gen-nginx.sh: bad --max-body $max_body" >&2; exit 2; }
max_bulk_bytes=$(bytes "$max_bulk") || { echo "gen-nginx.sh: bad --max-bulk-body $max_bulk" >&2; exit 2; }
# The largest body of POST /vectors, and of a part of one sent to a shard.
[ "$max_bulk_bytes" -gt "$max_body_bytes" ] || max_bulk_bytes=$max_body_bytes

# The 503 of an unavailable shard, in vw-serve's error shape.
down_json='{"error":"the shard of this id is unavailable","detail":"the shard of this id is unavailable"}'
big_json='{"error":"request body larger than the limit","detail":"request body larger than the limit"}'

[ "$module" = none ] || echo "load_module $module;"
[ -z "$foreground" ] || echo "daemon off;"
echo "worker_processes $workers;"
if [ -n "$prefix" ]; then
    echo "pid $prefix/nginx.pid;"
    echo "error_log $prefix/error.log warn;"
fi
cat <<EOF
events { worker_connections 1000; }

http {
    js_path "$js_dir/";
    js_import vw from vw_router.js;
    js_set \$vw_id_upstream vw.idUpstream;
EOF
if [ -n "$prefix" ]; then
    cat <<EOF
    access_log $prefix/access.log;
    client_body_temp_path $prefix/tmp_body;
    proxy_temp_path $prefix/tmp_proxy;
    fastcgi_temp_path $prefix/tmp_fastcgi;
    uwsgi_temp_path $prefix/tmp_uwsgi;
    scgi_temp_path $prefix/tmp_scgi;
EOF
else
    echo "    access_log off;"
fi
cat <<EOF
    # Bodies stay in memory: the router reads them (njs r.requestText).
    client_max_body_size $max_body;
    client_body_buffer_size $max_body;
    client_body_in_single_buffer on;
    subrequest_output_buffer_size $max_response;
    # clients keep their connections (nginx closes one after 1,000 requests by default)
    keepalive_requests 1000000;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_connect_timeout 2s;
    proxy_read_timeout ${timeout}s;
    proxy_send_timeout ${timeout}s;
EOF
i=0
for shard in "$@"; do
    echo "    upstream vw_shard_$i {"
    echo "$shard" | tr ',' '\n' | while read -r server; do
        [ -n "$server" ] && echo "        server $server max_fails=1 fail_timeout=2s;"
    done
    echo "        keepalive 32;"
    echo "    }"
    i=$((i + 1))
done
cat <<EOF
    server {
        listen $listen;
        set \$vw_shards $#;
        set \$vw_partial $partial;
        set \$vw_max_body $max_body_bytes;
        default_type application/json;
        error_page 413 = @vw_too_big;

        location = / { js_content vw.health; }
        location = /search { js_content vw.search; }
        location = /search/batch { js_content vw.search; }
        # JSON writes stop at --max-body (the router checks), NDJSON at --max-bulk-body.
        location = /vectors {
            client_max_body_size $max_bulk_bytes;
            client_body_buffer_size $max_bulk_bytes;
            js_content vw.upsert;
        }
        location = /stats { js_content vw.stats; }
        location = /metrics { js_content vw.metrics; }
        location = /snapshot { js_content vw.snapshot; }
        location = /shard { js_content vw.shard; }
        # GET/DELETE /vectors/{id}: straight to the id's shard.
        location /vectors/ {
            proxy_pass http://\$vw_id_upstream;
            error_page 502 504 = @vw_down;
        }
        # Reloads are per shard: send them to each shard directly.
        location /admin/ {
            return 404 '{"error":"not found; the router has no /admin: reload each shard directly","detail":"not found; the router has no /admin: reload each shard directly"}';
        }
        # Anything else (/openapi.json, unknown paths) is shard 0's answer.
        location / {
            proxy_pass http://vw_shard_0;
            error_page 502 504 = @vw_down;
        }
        location @vw_down {
            add_header Retry-After 1 always;
            return 503 '$down_json';
        }
        location @vw_too_big {
            return 413 '$big_json';
        }
EOF
i=0
while [ $i -lt $# ]; do
    cat <<EOF
        location /_vw/$i/ {
            internal;
            client_max_body_size $max_bulk_bytes; # a subrequest's body is checked here too
            proxy_pass http://vw_shard_$i/;
            proxy_next_upstream error timeout non_idempotent;
        }
EOF
    i=$((i + 1))
done
echo "    }"
echo "}"
