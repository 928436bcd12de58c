#!/usr/bin/python3
"""QPS at equal recall from bench/profile_ab.sh's output (issue 28's targets).

    bench/profile_ab.sh ... > ab.txt
    /usr/bin/python3 bench/at_recall.py ab.txt [--recalls 0.90,0.95,0.99] [--peer hnswlib]

profile_ab.sh prints one line per engine and ef: `ENGINE ef=E recall R
median_qps Q rounds: ...`. For each engine this interpolates the median QPS
linearly in recall between the two efs that bracket each target recall (an
engine that never reaches it gets "never"), and divides by the peer's.
"""
import argparse
import re
import sys

LINE = re.compile(r"^(\S+)\s+ef=(\d+)\s+recall\s+([\d.]+)\s+median_qps\s+([\d.]+)")


def curves(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                out.setdefault(m[1], []).append((int(m[2]), float(m[3]), float(m[4])))
    for pts in out.values():
        pts.sort()
    return out


def qps_at(points, target):
    """Interpolated QPS at `target` recall on a curve sorted by ef, or None."""
    prev = None
    for _, recall, qps in points:
        if recall >= target:
            if prev is None or prev[0] >= recall:
                return qps
            r0, q0 = prev
            return q0 + (qps - q0) * (target - r0) / (recall - r0)
        prev = (recall, qps)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--recalls", default="0.90,0.95,0.99")
    ap.add_argument("--peer", default="hnswlib")
    a = ap.parse_args()
    targets = [float(x) for x in a.recalls.split(",")]
    c = curves(a.log)
    if a.peer not in c:
        sys.exit(f"at_recall.py: no {a.peer} lines in {a.log}")
    peer = [qps_at(c[a.peer], t) for t in targets]
    print("| engine | " + " | ".join(f"QPS at {t:.2f} (x {a.peer})" for t in targets) + " |")
    print("|---" * (len(targets) + 1) + "|")
    for name in sorted(c):
        cells = []
        for t, p in zip(targets, peer):
            q = qps_at(c[name], t)
            if q is None:
                cells.append("never")
            elif p is None or name == a.peer:
                cells.append(f"{q:,.0f}")
            else:
                cells.append(f"{q:,.0f} ({q / p:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
