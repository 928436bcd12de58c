#!/usr/bin/python3
"""QPS of a churned index against a fresh build at equal recall, from a
vw_live_bench churn log searched at several efSearch values (VW_LIVE_EFS):
for each efSearch of the churned index, the fresh build's QPS at the same
recall@10, interpolated linearly on the fresh build's own (recall, QPS)
points of the same log, and the ratio; also the plain ratio at equal ef.

    python3 bench/churn_equal_recall.py vw_live_bench.log
"""
import re
import sys

runs, scen = {}, None
for line in open(sys.argv[1]):
    m = re.match(r"scenario=(\S+)", line)
    if m:
        scen = m.group(1)
        runs[scen] = {}
    m = re.match(r"engine=(churned|fresh) ef=(\d+) recall@10=([\d.]+) QPS=([\d.]+)", line)
    if m and scen:
        runs[scen].setdefault(m.group(1), []).append(
            (int(m.group(2)), float(m.group(3)), float(m.group(4))))


def qps_at(points, recall):
    pts = sorted((r, q) for _, r, q in points)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= recall <= r1 and r1 > r0:
            return q0 + (q1 - q0) * (recall - r0) / (r1 - r0)
    return None


for scen, e in runs.items():
    print("%s:" % scen)
    print("  ef  churned recall  churned QPS  fresh QPS at equal ef  ratio  "
          "fresh QPS at equal recall  ratio")
    fresh = {ef: (r, q) for ef, r, q in e.get("fresh", [])}
    for ef, r, q in e.get("churned", []):
        at = qps_at(e["fresh"], r)
        print("  %3d  %.4f  %8.1f  %8.1f  %.3f  %s  %s" % (
            ef, r, q, fresh[ef][1], q / fresh[ef][1],
            "%8.1f" % at if at else "   (out of range)", "%.3f" % (q / at) if at else ""))
