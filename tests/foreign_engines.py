#!/usr/bin/env python3
"""Index files written by the real Faiss and hnswlib, for the foreign-file tests.

    foreign_engines.py proof ENGINE DIR   files, queries and the engine's own answers
    foreign_engines.py seeds DIR          tiny files (fuzz seeds, corruption tests)

ENGINE is faiss or hnswlib. Exit status 77 when the engine's Python module is
missing (ctest then reports the test as skipped).

Proof data: vectors and queries with small integer coordinates, so that every
squared distance and dot product is an integer below 2^24 and every engine
computes it exactly, whatever its summation order or SIMD width. Any
difference between two engines' answers then comes from the search itself or
from an exact tie, never from rounding.

DIR/manifest.txt gets one line per (file, efSearch):
    NAME FORMAT METRIC FILE QUERIES EF ANSWERS
and each ANSWERS file holds: u32 nq, u32 k, nq*k int64 labels (-1 = none),
nq*k float32 distances in our convention (squared L2; 1 - dot for ip).
"""
import os
import struct
import sys

import numpy as np

N, DIM, NQ, K = 3000, 24, 500, 10
CLUSTERS = 40
EFS = (16, 64, 128)


def integer_data(rng, n):
    centres = rng.integers(-40, 41, size=(CLUSTERS, DIM))
    picks = rng.integers(0, CLUSTERS, size=n)
    noise = rng.integers(-12, 13, size=(n, DIM))
    return (centres[picks] + noise).astype(np.float32)


def write_fvecs(path, x):
    with open(path, "wb") as f:
        for row in x:
            f.write(struct.pack("<i", x.shape[1]))
            f.write(row.astype("<f4").tobytes())


def write_answers(path, labels, dists):
    nq, k = labels.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<II", nq, k))
        f.write(labels.astype("<i8").tobytes())
        f.write(dists.astype("<f4").tobytes())


class Manifest:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def add(self, name, fmt, metric, fname, ef, labels, dists, check="same"):
        ans = "%s.%s.ef%d.answers" % (name, check, ef)
        write_answers(os.path.join(self.out, ans), labels, dists)
        self.lines.append("%s %s %s %s queries.fvecs %d %s %s" % (name, fmt, metric, fname, ef,
                                                                  ans, check))

    def close(self):
        with open(os.path.join(self.out, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def faiss_proof(out, base, queries):
    import faiss
    faiss.omp_set_num_threads(1)
    man = Manifest(out)
    ids = (np.arange(N, dtype=np.int64) * 7919 + 1000003) % (1 << 40)
    cases = (("faiss_l2", faiss.METRIC_L2, False), ("faiss_ip_idmap", faiss.METRIC_INNER_PRODUCT, True),
             ("faiss_l2_idmap2", faiss.METRIC_L2, "2"))
    for name, metric, idmap in cases:
        hnsw = faiss.IndexHNSWFlat(DIM, 16, metric)
        hnsw.hnsw.efConstruction = 80
        if idmap:
            index = faiss.IndexIDMap2(hnsw) if idmap == "2" else faiss.IndexIDMap(hnsw)
            index.add_with_ids(base, ids)
        else:
            index = hnsw
            index.add(base)
        fname = name + ".faiss"
        faiss.write_index(index, os.path.join(out, fname))
        for ef in EFS:
            hnsw.hnsw.efSearch = ef
            for bounded in (True, False):
                hnsw.hnsw.search_bounded_queue = bounded
                d, i = index.search(queries, K)
                if metric == faiss.METRIC_INNER_PRODUCT:
                    d = np.where(i >= 0, 1 - d, d)  # Faiss gives the similarity
                man.add(name, "faiss", "l2" if metric == faiss.METRIC_L2 else "ip", fname, ef, i, d,
                        "bounded" if bounded else "same")
    man.close()


def hnswlib_proof(out, base, queries):
    import hnswlib
    man = Manifest(out)
    rng = np.random.default_rng(5)
    labels = rng.choice(1 << 40, size=N, replace=False).astype(np.uint64)
    for name, space, deleted in (("hnswlib_l2", "l2", 0), ("hnswlib_ip", "ip", 0),
                                 ("hnswlib_l2_deleted", "l2", N // 20)):
        index = hnswlib.Index(space=space, dim=DIM)
        index.init_index(max_elements=N + 100, ef_construction=80, M=16, random_seed=1)
        index.add_items(base, labels, num_threads=1)
        for lab in labels[rng.choice(N, size=deleted, replace=False)]:
            index.mark_deleted(int(lab))
        fname = name + ".hnsw"
        index.save_index(os.path.join(out, fname))
        for ef in EFS:
            index.set_ef(ef)
            i, d = index.knn_query(queries, k=K, num_threads=1)
            man.add(name, "hnswlib", space, fname, ef, i.astype(np.int64), d,
                    "deleted" if deleted else "same")
    man.close()


def proof(engine, out):
    try:
        __import__(engine)
    except ImportError as e:
        print("skipped: %s (%s)" % (engine, e))
        sys.exit(77)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2024)
    base = integer_data(rng, N)
    queries = integer_data(rng, NQ)
    write_fvecs(os.path.join(out, "queries.fvecs"), queries)
    (faiss_proof if engine == "faiss" else hnswlib_proof)(out, base, queries)


def seeds(out):
    """Tiny files: few nodes, small M, so mutations reach headers and lists."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    fdir, hdir = os.path.join(out, "fuzz_faiss"), os.path.join(out, "fuzz_hnswlib")
    os.makedirs(fdir, exist_ok=True)
    os.makedirs(hdir, exist_ok=True)
    import faiss
    faiss.omp_set_num_threads(1)
    for name, metric, n, idmap in (("l2_n40", faiss.METRIC_L2, 40, None),
                                   ("ip_n24", faiss.METRIC_INNER_PRODUCT, 24, None),
                                   ("l2_idmap_n30", faiss.METRIC_L2, 30, faiss.IndexIDMap),
                                   ("ip_idmap2_n12", faiss.METRIC_INNER_PRODUCT, 12, faiss.IndexIDMap2),
                                   ("empty", faiss.METRIC_L2, 0, None)):
        hnsw = faiss.IndexHNSWFlat(4, 3, metric)
        hnsw.hnsw.efConstruction = 16
        index = idmap(hnsw) if idmap else hnsw
        if idmap:
            index.add_with_ids(x[:n], np.arange(n, dtype=np.int64) * 11 + 5)
        elif n:
            index.add(x[:n])
        faiss.write_index(index, os.path.join(fdir, name + ".faiss"))
    import hnswlib
    for name, space, n, deleted in (("l2_n40", "l2", 40, 0), ("ip_n24", "ip", 24, 0),
                                    ("cosine_n30", "cosine", 30, 0), ("l2_deleted_n32", "l2", 32, 4),
                                    ("empty", "l2", 0, 0)):
        index = hnswlib.Index(space=space, dim=4)
        index.init_index(max_elements=max(n, 1) + 3, ef_construction=16, M=3, random_seed=3)
        if n:
            index.add_items(x[:n], np.arange(n) * 3 + 1, num_threads=1)
        for i in range(deleted):
            index.mark_deleted(int(i * 7 % n) * 3 + 1)
        index.save_index(os.path.join(hdir, name + ".hnsw"))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "proof" and sys.argv[2] in ("faiss", "hnswlib"):
        proof(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "seeds":
        seeds(sys.argv[2])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
