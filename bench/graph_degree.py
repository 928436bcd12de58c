#!/usr/bin/python3
"""Layer-0 degree of the live nodes of vwhnsw index files (lib/FORMAT.md,
versions 2 to 4, fixed or packed lists): the mean list length, the share of
full lists (2M ids) and a coarse histogram. Used to compare a churned graph
with a fresh build of the same vectors (bench/vw_live_bench.c, VW_LIVE_KEEP).

    python3 bench/graph_degree.py INDEX.vwi ...
"""
import struct
import sys


def degrees(path):
    f = open(path, "rb").read()
    M, = struct.unpack_from("<I", f, 40)
    n, = struct.unpack_from("<Q", f, 56)
    nsec, = struct.unpack_from("<I", f, 72)
    secs = {}
    for i in range(nsec):
        sid, flags, off, length, _ = struct.unpack_from("<IIQQI", f, 80 + 32 * i)
        secs[sid] = (off, length, flags)
    states = f[secs[8][0]:secs[8][0] + n] if 8 in secs else bytes(n)
    off, _, flags = secs[3]
    out, at = [], off
    for i in range(n):
        c, = struct.unpack_from("<I", f, at if flags & 2 else off + i * (1 + 2 * M) * 4)
        at += 4 * (1 + c)
        if states[i] == 0:
            out.append(c)
    return M, out


for path in sys.argv[1:]:
    M, d = degrees(path)
    hist = [0] * 8
    for c in d:
        hist[min(7, c * 8 // (2 * M + 1))] += 1
    print("%s: %d live nodes, mean layer-0 degree %.2f of %d, full lists %.1f %%, histogram by "
          "eighths of 2M: %s" % (path, len(d), sum(d) / max(1, len(d)), 2 * M,
                                 100.0 * sum(c == 2 * M for c in d) / max(1, len(d)),
                                 " ".join(str(h) for h in hist)))
