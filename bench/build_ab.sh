#!/usr/bin/env bash
# Two vw-build binaries on the same input, alternately: peak resident set,
# wall time, CPU seconds (user + system) and the build seconds of --report,
# per run and as medians. On a shared machine the CPU seconds are the fair
# comparison: wall time also measures how much of the CPUs others took.
#
#   bench/build_ab.sh A/vw-build B/vw-build INPUT [--rounds 2] [--threads 0] [--out DIR]
#
# Runs A B, B A, A B, ... (--rounds pairs), so drift in the machine's load
# falls on both. Each run: /usr/bin/time -v vw-build -i INPUT -o DIR/x.vwi
# --threads T --report DIR/<run>.json -q (M=32, efConstruction=200). With
# VW_BENCH_LOCK=FILE set, each run holds flock FILE (a shared machine's
# benchmark lock) and the lock is released between runs. Prints a table and
# writes it to DIR/summary.txt.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
A=$(realpath "$1"); B=$(realpath "$2"); INPUT=$3; shift 3
ROUNDS=2
THREADS=0
OUT=out/build-ab
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "build_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "A=$A"
  echo "B=$B"
  echo "input=$INPUT threads=$THREADS rounds=$ROUNDS"
} > "$OUT/meta.txt"

run() { # run NAME BINARY
  local lock=()
  [ -n "${VW_BENCH_LOCK:-}" ] && lock=(flock "$VW_BENCH_LOCK")
  "${lock[@]}" /usr/bin/time -v "$2" -i "$INPUT" -o "$OUT/x.vwi" -M 32 --ef-construction 200 \
    --threads "$THREADS" --report "$OUT/$1.json" -q > "$OUT/$1.log" 2> "$OUT/$1.time"
  local rss wall build size cpu
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$1.time")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$1.time")
  cpu=$(sed -n 's/.*\(User\|System\) time (seconds): //p' "$OUT/$1.time" | paste -sd+ | bc -l)
  build=$(sed -n 's/.*"build_seconds": \([0-9.]*\).*/\1/p' "$OUT/$1.json")
  size=$(stat -c %s "$OUT/x.vwi")
  printf '%-4s peak_rss_mb=%.1f index_mb=%.1f wall=%s cpu_s=%.1f build_s=%.2f\n' "$1" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "$size / 1048576" | bc -l)" "$wall" "$cpu" "$build" \
    | tee -a "$OUT/summary.txt"
}

median() { # median SIDE FIELD
  grep "^$1[0-9]" "$OUT/summary.txt" | sed "s/.* $2=\([0-9.]*\).*/\1/" | sort -n |
    awk -v s="$1" -v f="$2" '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
      printf "%s median %s=%.2f over %d runs\n", s, f, m, NR}' | tee -a "$OUT/summary.txt"
}

: > "$OUT/summary.txt"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then run "A$r" "$A"; run "B$r" "$B"; else run "B$r" "$B"; run "A$r" "$A"; fi
done
rm -f "$OUT/x.vwi"
for side in A B; do
  median "$side" cpu_s
  median "$side" build_s
done
