#!/usr/bin/env bash
# TLS in front of vw-serve, for real: tools/nginx/vw-serve-tls.conf with a
# self-signed certificate made here with openssl, nginx from a private
# prefix (config, pid, logs, temp paths under WORK_DIR) on a free loopback
# port, vw-serve with --data and --api-keys behind it. Through https://:
#   - GET / (open), a search with a read key, a write with a write key, a
#     401 (with WWW-Authenticate) without a key;
#   - TLS 1.3 only: a client limited to TLS 1.2 is refused;
#   - nginx keeps its connection to vw-serve open (keep-alive upstream):
#     20 requests cost vw-serve at most 2 accepted connections;
#   - vw-serve's access log shows the client address nginx passed in
#     X-Forwarded-For and the key's name.
#
#   test_serve_tls.sh VW_SERVE VW_GEN VW_BUILD SOURCE_DIR WORK_DIR
#
# Skipped (77) without nginx, openssl or curl.
set -euo pipefail

serve=$1 gen=$2 build=$3 src=$4 work=$5
nginx=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
[ -n "$nginx" ] || { echo "skipped: nginx is not installed"; exit 77; }
for tool in openssl curl; do
    command -v $tool >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
rm -rf "$work"
mkdir -p "$work/prefix/logs"
work=$(cd "$work" && pwd)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$work/serve.log" "$work/prefix/logs/error.log"; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}
expect() { # expect WHAT TEXT PATTERN
    case $2 in *$3*) echo "ok: $1" ;; *) fail "$1: '$3' not in: $2" ;; esac
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# the certificate, the index, the keys
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || fail "openssl req"
"$gen" -q -n 2000 -d 16 -o "$work/v.npy"
"$build" -q -i "$work/v.npy" -o "$work/seed.vwi" -M 8 --ef-construction 64
printf 'read tls-read-key-0123456789 dashboards\nwrite tls-write-key-0123456789 loader\n' \
    >"$work/keys"
chmod 600 "$work/keys"

# vw-serve on a free port: its startup line names it
"$serve" -x "$work/seed.vwi" --data "$work/data" --api-keys "$work/keys" --port 0 \
    --access-log "$work/access.log" -t 2 2>"$work/serve.log" &
pids+=($!)
vw_port=
for _ in $(seq 1 600); do
    vw_port=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' "$work/serve.log" | head -n 1)
    [ -n "$vw_port" ] && break
    sleep 0.05
done
[ -n "$vw_port" ] || fail "vw-serve did not start"

# nginx: the shipped file with this test's port, upstream and certificate
port=$(free_port)
sed -e "s#listen 443 ssl;#listen 127.0.0.1:$port ssl;#" \
    -e "s#server 127.0.0.1:8000;#server 127.0.0.1:$vw_port;#" \
    -e "s#/etc/ssl/certs/vw-serve.pem#$work/cert.pem#" \
    -e "s#/etc/ssl/private/vw-serve.key#$work/key.pem#" \
    "$src/tools/nginx/vw-serve-tls.conf" >"$work/prefix/vw-serve-tls.conf"
grep -q "127.0.0.1:$vw_port" "$work/prefix/vw-serve-tls.conf" || fail "the config's upstream line changed"
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;" # workers write the prefix's temp paths
cat >"$work/prefix/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $work/prefix/nginx.pid;
error_log $work/prefix/logs/error.log info;
events { worker_connections 128; }
http {
    access_log $work/prefix/logs/access.log;
    client_body_temp_path $work/prefix/tmp_body;
    proxy_temp_path $work/prefix/tmp_proxy;
    fastcgi_temp_path $work/prefix/tmp_fastcgi;
    uwsgi_temp_path $work/prefix/tmp_uwsgi;
    scgi_temp_path $work/prefix/tmp_scgi;
    include $work/prefix/vw-serve-tls.conf;
}
EOF
"$nginx" -p "$work/prefix/" -c "$work/prefix/nginx.conf" >"$work/prefix/nginx.out" 2>&1 &
pids+=($!)
url=https://localhost:$port
tls=(--cacert "$work/cert.pem" --resolve "localhost:$port:127.0.0.1" -sS --max-time 10)
for _ in $(seq 1 600); do
    curl "${tls[@]}" -o /dev/null "$url/" 2>/dev/null && break
    sleep 0.05
done

expect "GET / through TLS" "$(curl "${tls[@]}" "$url/")" '"status":"ok","count":2000'
q='{"query_vector":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8],"k":3}'
read_key=(-H "Authorization: Bearer tls-read-key-0123456789")
expect "search, read key" "$(curl "${tls[@]}" "${read_key[@]}" -d "$q" "$url/search")" '"indices":['
expect "write, write key" \
    "$(curl "${tls[@]}" -H 'X-API-Key: tls-write-key-0123456789' -H 'Content-Type: application/x-ndjson' \
        --data-binary '{"id":900001,"vector":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}' "$url/vectors")" \
    '{"upserted":1}'
expect "read back" "$(curl "${tls[@]}" "${read_key[@]}" "$url/vectors/900001")" '"id":900001'
out=$(curl "${tls[@]}" -D - -d "$q" "$url/search")
expect "401 without a key" "$out" 'HTTP/1.1 401'
expect "401's WWW-Authenticate" "$out" 'WWW-Authenticate: Bearer'
expect "401's detail" "$out" '"detail":"Not authenticated"'
expect "TLS 1.3" "$(curl "${tls[@]}" -v -o /dev/null "$url/" 2>&1)" 'TLSv1.3'
if curl "${tls[@]}" --tlsv1.2 --tls-max 1.2 -o /dev/null "$url/" 2>/dev/null; then
    fail "a TLS 1.2 client was served"
fi
echo "ok: TLS 1.2 refused"

# keep-alive upstream: 20 more requests, at most 2 new connections
accepted() {
    curl -sS "http://127.0.0.1:$vw_port/stats" -H "X-API-Key: tls-read-key-0123456789" |
        sed -n 's/.*"connections_accepted":\([0-9]*\).*/\1/p'
}
before=$(accepted)
for _ in $(seq 1 20); do curl "${tls[@]}" -o /dev/null "$url/"; done
after=$(accepted)
[ $((after - before)) -le 3 ] || fail "nginx opened $((after - before - 1)) connections for 20 requests"
echo "ok: keep-alive upstream ($((after - before - 1)) new connection(s) for 20 requests)"

# the access log: the client address from X-Forwarded-For, the key's name
kill "${pids[0]}"
wait "${pids[0]}" || fail "vw-serve did not stop cleanly"
grep -q 'POST /search 200 .* dashboards 127\.0\.0\.1$' "$work/access.log" ||
    fail "no search with the key's name and X-Forwarded-For in $(tail -n 3 "$work/access.log")"
grep -q 'POST /vectors 200 .* loader 127\.0\.0\.1$' "$work/access.log" ||
    fail "no write in the access log"
echo "ok: access log: $(grep -m1 'POST /search 200' "$work/access.log")"
echo "all checks passed"
