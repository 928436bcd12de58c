#!/usr/bin/python3
"""One graph, two storage kinds: splits an f16 index that keeps its float32
rows (vw-build --storage f16, format version 2) into two files with the
same graph, links, levels and labels:

  OUT-f32.vwi   the float32 rows as the index's vectors (storage f32)
  OUT-f16n.vwi  the binary16 rows only (storage f16, no float32)

so that searching both at each efSearch shows what the f16 rows alone cost,
without the graph-to-graph variation of two builds (bench/RESULTS.md,
section 5). Only lib/FORMAT.md is used: sections are copied byte for byte
with their CRCs; the storage section and the header get new ones.

    python3 bench/same_graph.py IN.vwi OUT
"""
import struct
import sys

def crc32c(data, crc=0):
    table = crc32c.table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

crc32c.table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    crc32c.table.append(c)
assert crc32c(b"123456789") == 0xE3069283


def align(x):
    return (x + 63) // 64 * 64


def read_index(path):
    f = open(path, "rb").read()
    assert f[:8] == b"\x89VWHNSW\n", "not a vwhnsw file"
    version, = struct.unpack_from("<I", f, 12)
    nsec, = struct.unpack_from("<I", f, 72)
    secs = {}
    for i in range(nsec):
        sid, flags, off, length, crc = struct.unpack_from("<IIQQI", f, 80 + 32 * i)
        secs[sid] = (f[off:off + length], crc)
    kind, sflags = struct.unpack_from("<II", secs[6][0], 0)
    if version != 2 or kind != 1 or sflags != 0 or 7 not in secs:
        sys.exit("%s: want an f16 index keeping float32 rows, format version 2" % path)
    return f, secs


def write_index(path, f, sections):
    """sections: list of (id, bytes, crc) in file order."""
    hs = align(80 + 32 * len(sections))
    body, table, off = [], [], hs
    for sid, data, crc in sections:
        off = align(off)
        table.append((sid, off, len(data), crc))
        body.append((off, data))
        off += len(data)
    out = bytearray(off)
    out[:80] = f[:80]
    struct.pack_into("<I", out, 16, hs)
    struct.pack_into("<I", out, 20, 0)
    struct.pack_into("<Q", out, 24, off)
    struct.pack_into("<I", out, 72, len(sections))
    for i, (sid, o, length, crc) in enumerate(table):
        struct.pack_into("<IIQQII", out, 80 + 32 * i, sid, 0, o, length, crc, 0)
    for o, data in body:
        out[o:o + len(data)] = data
    struct.pack_into("<I", out, 20, crc32c(bytes(out[:hs])))
    open(path, "wb").write(out)


def storage_section(kind, flags):
    data = struct.pack("<II", kind, flags) + bytes(24)
    return (6, data, crc32c(data))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    f, secs = read_index(sys.argv[1])
    graph = [(i, secs[i][0], secs[i][1]) for i in (2, 3, 4, 5)]
    write_index(sys.argv[2] + "-f32.vwi", f,
                [(1, secs[7][0], secs[7][1])] + graph + [storage_section(0, 0)])
    write_index(sys.argv[2] + "-f16n.vwi", f,
                [(1, secs[1][0], secs[1][1])] + graph + [storage_section(1, 1)])


main()
