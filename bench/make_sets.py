#!/usr/bin/python3
"""Data sets for the storage-kind benchmarks (bench/storage.sh), beside the
peers' seed sets:

  clustered1m/  vw-gen's default clustered set, 1,000,000 x 128 (.fvecs), its
                1000 queries and exact top-100 ground truth;
  clustered100k/ its first 100,000 rows, same queries, own ground truth;
  sift1m/       SIFT-like descriptors, integers 0..255 (.bvecs base, .fvecs
                queries), and ground truth; sift100k/ its first 100,000 rows.

    python3 bench/make_sets.py --out DIR [--vw-gen build/tools/vw-gen]

SIFT-like recipe (real SIFT1M cannot be fetched here): a SIFT descriptor is
4x4 spatial cells x 8 orientation bins of gradient magnitude, normalized,
clipped at 0.2, renormalized and scaled by 512 into a byte. We draw 1000
"keypoint kinds" (per-bin Gamma(0.6) means: sparse, skewed, non-negative),
give each row a kind plus multiplicative Gamma noise (shape 4), then apply
the same normalize / clip 0.2 / renormalize / x512 / round / clip 255 steps.
The result has SIFT's tell-tale properties: non-negative integers, many
zeros, a few large bins, per-dimension ranges up to 255. Queries are drawn
the same way from another stream (not base rows).
Ground truth: exact squared-L2 top-100 by numpy (float64 accumulation),
ties to the smaller id."""
import argparse
import os
import subprocess
import numpy as np


def write_fvecs(path, x):
    n, d = x.shape
    rec = np.empty((n, d + 1), dtype=np.float32)
    rec[:, 0] = np.array([d], dtype=np.int32).view(np.float32)[0]
    rec[:, 1:] = x
    rec.tofile(path)


def write_bvecs(path, x):
    n, d = x.shape
    rec = np.empty((n, d + 4), dtype=np.uint8)
    rec[:, :4] = np.frombuffer(np.int32(d).tobytes(), dtype=np.uint8)
    rec[:, 4:] = x
    rec.tofile(path)


def write_ivecs(path, x):
    n, d = x.shape
    rec = np.empty((n, d + 1), dtype=np.int32)
    rec[:, 0] = d
    rec[:, 1:] = x
    rec.tofile(path)


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32)


def ground_truth(base, queries, k=100):
    base = base.astype(np.float32)
    bn = (base.astype(np.float64) ** 2).sum(1)
    out = np.empty((len(queries), k), dtype=np.int32)
    for s in range(0, len(queries), 100):
        q = queries[s:s + 100].astype(np.float64)
        d = bn[None, :] - 2 * (q @ base.T.astype(np.float64)) + (q ** 2).sum(1)[:, None]
        part = np.argpartition(d, k, axis=1)[:, :k + 1]
        for i in range(len(q)):
            ids = part[i]
            order = np.lexsort((ids, d[i, ids]))
            out[s + i] = ids[order][:k]
    return out


def sift_like(n, seed, kinds):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, len(kinds), n)
    x = kinds[kind] * rng.gamma(4.0, 0.25, size=(n, 128))
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
    np.minimum(x, 0.2, out=x)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
    return np.minimum(np.rint(x * 512), 255).astype(np.uint8)


def make_sift(out):
    kinds = np.random.default_rng(7).gamma(0.6, 1.0, size=(1000, 128))
    base = np.concatenate([sift_like(100000, 100 + i, kinds) for i in range(10)])
    queries = sift_like(1000, 99, kinds).astype(np.float32)
    for name, rows in (("sift100k", 100000), ("sift1m", 1000000)):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        write_bvecs(os.path.join(d, "base.bvecs"), base[:rows])
        # the same values as float32, for the peers' harnesses (fvecs only)
        write_fvecs(os.path.join(d, "base.fvecs"), base[:rows].astype(np.float32))
        write_fvecs(os.path.join(d, "query.fvecs"), queries)
        write_ivecs(os.path.join(d, "gt.ivecs"), ground_truth(base[:rows], queries))
        print(name, "done", flush=True)


def make_clustered(out, vw_gen):
    d1 = os.path.join(out, "clustered1m")
    os.makedirs(d1, exist_ok=True)
    subprocess.run([vw_gen, "-n", "1000000", "-d", "128", "--dist", "clustered", "--queries",
                    "1000", "--queries-out", os.path.join(d1, "query.fvecs"),
                    "-o", os.path.join(d1, "base.fvecs")], check=True)
    base = read_fvecs(os.path.join(d1, "base.fvecs"))
    q = read_fvecs(os.path.join(d1, "query.fvecs"))
    write_ivecs(os.path.join(d1, "gt.ivecs"), ground_truth(base, q))
    d2 = os.path.join(out, "clustered100k")
    os.makedirs(d2, exist_ok=True)
    write_fvecs(os.path.join(d2, "base.fvecs"), base[:100000])
    write_fvecs(os.path.join(d2, "query.fvecs"), q)
    write_ivecs(os.path.join(d2, "gt.ivecs"), ground_truth(base[:100000], q))
    print("clustered done", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vw-gen", default="build/tools/vw-gen")
    ap.add_argument("--only", choices=["sift", "clustered"])
    a = ap.parse_args()
    if a.only != "sift":
        make_clustered(a.out, a.vw_gen)
    if a.only != "clustered":
        make_sift(a.out)
