#!/usr/bin/env bash
# vw-serve's HTTP cost per request against nginx's, as a paired measurement
# that resolves a difference of two noisy figures.
#
# ../shared/peers/http_anchor.sh (the reference) measures, per round of 5 s,
# nginx, then the library in process, then vw-serve, and takes vw-serve's
# CPU per request minus the in-process CPU per query as its HTTP cost. On a
# VM whose speed drifts (the in-process search of one index moved between
# 68 and 126 us/query within one quiet run) that difference is mostly the
# drift between the moments the two figures were taken. Here the three run
# in short rounds (SECONDS each, default 2) many times (ROUNDS, default 15),
# in an order that rotates every round (so none always follows the server's
# round with its cold caches), and each round's HTTP cost is taken from its
# own in-process figure: what drifts over minutes hits both alike. Reported
# per connection count: the median of each figure and of the per-round
# cost / nginx ratio, with a distribution-free 95 % interval of the median
# (order statistics of the rounds).
#
# The in-process side runs min(CONNS, 2) threads (INPROC_THREADS overrides):
# at one connection the server searches one query at a time, and two
# threads searching at once on two vCPUs that may share a core are slower
# per query than one, which would flatter the server.
#
# Also printed: memory on transparent huge pages (the index arrays ask for
# them; without them every search runs slower) of both processes, and the
# machine's steal time per round.
#
# With SERVES="old=BINARY new=BINARY" several builds of vw-serve take part
# in the same rounds (each its own server), and the per-round difference of
# each against the first is reported too: an A/B free of the drift.
#
# With PERF=1 each server round also runs `perf record -e cpu-clock` on the
# server and splits its CPU per request by the samples: the library's
# (libvwhnsw: the search) and the rest (kernel, libc, vw-serve: the HTTP
# path). The rest per request, against nginx's whole cost, needs no
# in-process figure; the library's part minus the in-process figure is how
# much slower the same search runs inside the server. (Sampling costs the
# server about 1 % more CPU.)
#
# Usage: paired_anchor.sh INDEX.vwi QUERIES.fvecs OUTDIR [CONNS] [ROUNDS] [SECONDS]
# From the project root after a build (BUILD=build, or SERVE=/SERVES= and LOAD=);
# needs nginx and python3. Timed: run it alone (/work/bin/quiet here).
set -u
INDEX=$1 Q=$2 OUT=$3 CONNS=${4:-"1 8 64"} ROUNDS=${5:-15} DUR=${6:-2} EF=64 K=10
BUILD=${BUILD:-build}
SERVE=${SERVE:-$BUILD/tools/vw-serve} LOAD=${LOAD:-$BUILD/bench/vw_http_load}
NPORT=${NPORT:-18393} VPORT=${VPORT:-18394}
[ -x "$LOAD" ] && [ -x "$SERVE" ] || { echo "no $LOAD or $SERVE"; exit 1; }
mkdir -p "$OUT/nginx"
BODIES=$OUT/bodies.jsonl
DIM=$(od -An -t d4 -N 4 "$Q" | tr -d ' ')
od -An -v -t f4 -w$((4 + 4 * DIM)) "$Q" | awk -v k=$K '{ printf "{\"query_vector\":["; for (i = 2; i <= NF; i++) printf "%s%s", (i > 2 ? "," : ""), $i; printf "],\"k\":%d}\n", k }' >"$BODIES"
# the same fixed answer as the reference's: 10 ids and 10 distances
ANSWER='{"indices":[911,4,77,3012,58,1200,6,93,4410,17],"distances":[0.412345678,0.423456789,0.434567891,0.445678912,0.456789123,0.467891234,0.478912345,0.489123456,0.491234567,0.502345678]}'
cat >"$OUT/nginx/nginx.conf" <<NG
worker_processes 1; daemon off; pid $OUT/nginx/nginx.pid; error_log $OUT/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_buffer_size 64k; keepalive_requests 1000000;
  server { listen 127.0.0.1:$NPORT; location /search { default_type application/json; return 200 '$ANSWER'; } } }
NG
nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" &
PIDS=$!
NGM=$!
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null' EXIT
# SERVES="name=binary ..." measures several builds in the same rounds (an A/B)
SERVES=${SERVES:-vw-serve=$SERVE}
NAMES="" i=0
for nb in $SERVES; do
    name=${nb%%=*} bin=${nb#*=} port=$((VPORT + i))
    [ -x "$bin" ] || { echo "no $bin"; exit 1; }
    "$bin" -x "$INDEX" --port $port --ef $EF --threads 2 --normalize 2>"$OUT/serve-$name.log" &
    PIDS="$PIDS $!"
    eval "PORT_$i=$port PID_$i=$!"
    NAMES="$NAMES $name" i=$((i + 1))
done
for _ in $(seq 300); do
    up=1
    for j in $(seq 0 $((i - 1))); do
        eval "curl -s -o /dev/null http://127.0.0.1:\$PORT_$j/" || up=0
    done
    [ $up = 1 ] && curl -s -o /dev/null -X POST -d x http://127.0.0.1:$NPORT/search && break
    sleep 0.2
done
NGW=$(pgrep -P $NGM | head -1)

field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
steal() { awk '/^cpu /{ print $9 }' /proc/stat; } # in clock ticks
thp() { awk '/AnonHugePages/{ print $2 }' /proc/$1/smaps_rollup 2>/dev/null; }
inproc_threads() { echo "${INPROC_THREADS:-$(($1 < 2 ? $1 : 2))}"; }

# The library's share (%) of a process's perf samples while it serves one
# load; "-" without PERF. Prints the load's output after it.
profiled_load() { # PID LOAD-ARGS...
    local pid=$1 pp share=-
    shift
    if [ -n "${PERF:-}" ]; then
        # until SIGINT; it takes a moment to attach, and samples only
        # while the server runs (not while it waits for the load)
        perf record -q -e cpu-clock -F 2000 -o "$OUT/perf.data" -p $pid >/dev/null 2>&1 &
        pp=$!
        sleep 1
    fi
    local out
    out=$("$LOAD" "$@")
    if [ -n "${PERF:-}" ]; then
        kill -INT $pp
        wait $pp
        share=$(perf report -i "$OUT/perf.data" --sort dso -g none --stdio 2>/dev/null |
            awk '/libvwhnsw/ { sub("%", "", $1); s += $1 } END { print s + 0 }')
    fi
    echo "$share $out"
}

# One measurement of WHAT (nginx, inproc, or server number j) at CONNS:
# prints "qps cpu_us extra share" (extra: non-2xx answers, or the
# in-process side's huge-page kB; share: the library's % of the server's
# samples, or "-").
measure() { # WHAT CONNS
    local out port pid
    case $1 in
    nginx) out="- $("$LOAD" $NPORT "$BODIES" $2 $DUR $NGW)" ;;
    inproc)
        out=$("$LOAD" --inprocess "$INDEX" "$Q" $(inproc_threads $2) $DUR $EF $K)
        echo "$(field "$out" qps) $(field "$out" cpu_us) $(field "$out" thp_kb) -"
        return
        ;;
    *)
        eval "port=\$PORT_$1 pid=\$PID_$1"
        out=$(profiled_load $pid $port "$BODIES" $2 $DUR $pid)
        ;;
    esac
    echo "$(field "$out" qps) $(field "$out" server_cpu_us) $(field "$out" non2xx) ${out%% *}"
}

ITEMS="nginx inproc $(seq 0 $((i - 1)) | tr '\n' ' ')"
NITEMS=$(echo $ITEMS | wc -w)
ROWS=$OUT/rounds.tsv
echo "conns round what position qps cpu_us extra steal_ticks lib_share" >"$ROWS"
for c in $CONNS; do
    for w in $ITEMS; do measure $w $c >/dev/null; done # warm-up, not counted
    for r in $(seq "$ROUNDS"); do
        # the order rotates by one place every round
        set -- $ITEMS
        shift $((r % NITEMS))
        order="$* $(echo $ITEMS | cut -d' ' -f1-$((r % NITEMS)) 2>/dev/null)"
        pos=0
        for w in $order; do
            s0=$(steal)
            read -r qps us extra share <<<"$(measure $w $c)"
            name=$w
            [ "$w" != nginx ] && [ "$w" != inproc ] && name=$(echo $NAMES | cut -d' ' -f$((w + 1)))
            echo "$c $r $name $pos $qps $us $extra $(($(steal) - s0)) $share" >>"$ROWS"
            pos=$((pos + 1))
        done
    done
done
for j in $(seq 0 $((i - 1))); do
    eval "echo \"# huge pages at the end: $(echo $NAMES | cut -d' ' -f$((j + 1))) \$(thp \$PID_$j) kB\"" >>"$OUT/thp.txt"
done
{
    echo "# $(date -u +%FT%TZ) index=$INDEX ef=$EF k=$K rounds=$ROUNDS seconds=$DUR servers=$SERVES in-process threads=${INPROC_THREADS:-min(conns,2)}"
    python3 - "$ROWS" "$NAMES" <<'PY'
import sys
from math import comb

rows = [l.split() for l in open(sys.argv[1])][1:]
names = sys.argv[2].split()

def interval(xs):
    """Median and a distribution-free interval of it holding >= 95 %:
    order statistics k and n+1-k of the sorted rounds."""
    xs = sorted(xs)
    n = len(xs)
    med = (xs[(n - 1) // 2] + xs[n // 2]) / 2
    k = 0
    while k + 1 <= n // 2 and sum(comb(n, i) for i in range(k + 1)) / 2 ** n <= 0.025:
        k += 1
    if k == 0:
        return med, None, None
    return med, xs[k - 1], xs[n - k]

def show(v, fmt=".1f"):
    med, lo, hi = v
    return (f"{med:{fmt}} ({lo:{fmt}}-{hi:{fmt}})" if lo is not None else f"{med:{fmt}}")

# by[conns][round][what] = (qps, cpu_us, extra)
by = {}
for c, r, what, pos, qps, us, extra, st, share in rows:
    by.setdefault(c, {}).setdefault(r, {})[what] = (float(qps), float(us), extra, share)
print("| conns | build | rounds | nginx us/req | in-process us/query | vw-serve us/req "
      "| vw overhead us/req | overhead / nginx | nginx QPS | vw-serve QPS |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c, rounds in by.items():
    for name in names:
        rs = [v for v in rounds.values() if all(w in v for w in ("nginx", "inproc", name))]
        ng = [v["nginx"][1] for v in rs]
        ip = [v["inproc"][1] for v in rs]
        sv = [v[name][1] for v in rs]
        over = [s - i for s, i in zip(sv, ip)]
        ratio = [o / n for o, n in zip(over, ng)]
        print(f"| {c} | {name} | {len(rs)} | {show(interval(ng))} | {show(interval(ip))} "
              f"| {show(interval(sv))} | {show(interval(over))} | **{show(interval(ratio), '.2f')}** "
              f"| {interval([v['nginx'][0] for v in rs])[0]:.0f} "
              f"| {interval([v[name][0] for v in rs])[0]:.0f} |")
    for name in names:  # with PERF: the server's CPU split by perf's samples
        rs = [v for v in rounds.values() if name in v and v[name][3] != "-"]
        if not rs:
            continue
        lib = [v[name][1] * float(v[name][3]) / 100 for v in rs]
        http = [v[name][1] - l for v, l in zip(rs, lib)]
        slower = [l - v["inproc"][1] for v, l in zip(rs, lib)]
        print(f"| {c} | {name}: perf split | {len(rs)} | library share % {show(interval([float(v[name][3]) for v in rs]))} "
              f"| search inside the server {show(interval(lib))} | HTTP path (the rest) {show(interval(http))} "
              f"| search slower than in process {show(interval(slower))} "
              f"| **HTTP path / nginx {show(interval([h / v['nginx'][1] for v, h in zip(rs, http)]), '.2f')}** | | |")
    if len(names) > 1:  # the A/B: per round, each build against the first
        for name in names[1:]:
            d = [v[name][1] - v[names[0]][1] for v in rounds.values()]
            print(f"| {c} | {name} - {names[0]} us/req, paired | {len(d)} | | | {show(interval(d))} | | | | |")
bad = [r for r in rows if r[2] != "inproc" and r[6] != "0"]
if bad:
    print(f"WARNING: {len(bad)} measurements with answers other than 2xx")
thp = sorted({r[6] for r in rows if r[2] == "inproc"})
print(f"\nmedian (95 % interval of the median) over the rounds; overhead and its ratio are "
      f"per round; in-process huge pages: {', '.join(thp)} kB")
PY
} | tee "$OUT/table.md"
