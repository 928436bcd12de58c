#!/usr/bin/env python3
"""Time from process start to the first answer of a command.

    bench/first_query.py [--runs N] [--warmup W] -- CMD ARG...

Starts CMD N times (after W untimed runs) and measures, with a monotonic
clock in this process, the time from just before the fork to the arrival of
the first line on CMD's standard output, and to its exit. For
`vw-query -x INDEX --mmap ...` the first line is the answer to the first
query, so this is the time to "answer the first query within 50 ms of process
start", without the unmapping at exit that a whole-process timer (hyperfine)
also counts. Prints min, median, p90 and max of both, in milliseconds.
"""
import argparse
import statistics
import subprocess
import time


def one_run(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    t1 = time.monotonic()
    p.stdout.read()
    rc = p.wait()
    t2 = time.monotonic()
    if rc != 0 or not line:
        raise SystemExit(f"first_query.py: {cmd[0]} failed (exit {rc})")
    return (t1 - t0) * 1e3, (t2 - t0) * 1e3


def summary(name, xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
    return (f"{name}: min {xs[0]:.1f} median {statistics.median(xs):.1f} "
            f"p90 {p90:.1f} max {xs[-1]:.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    for _ in range(a.warmup):
        one_run(cmd)
    first, total = zip(*(one_run(cmd) for _ in range(a.runs)))
    print(f"runs={a.runs} cmd={' '.join(cmd[:4])} ...")
    print(summary("first answer", first))
    print(summary("process exit", total))


if __name__ == "__main__":
    main()
