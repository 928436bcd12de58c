#!/usr/bin/python3
"""Which int8 codec: quantization quality of candidate codecs, measured by
brute force (no graph), so only the codec differs.

    python3 bench/codec_study.py NAME=DIR [NAME=DIR ...] [--aniso]

For each data set (DIR/base.fvecs or base.bvecs, query.fvecs, gt.ivecs) and
codec: recall@10 of the 10 nearest by code distance ("no re-rank"), and
recall@10 after re-scoring the R nearest by code distance with exact float32
distances, R = 10, 20, 40, 80. Codecs (x = stored vector, q = query):

  perdim-asym   per-dimension min/max, 255 steps (Faiss QT_8bit); q float
  perdim-sym    the same, q quantized with the same codec
  shared-asym   per-dimension offset (min), one step for all dimensions
                (largest range / 255); q float
  shared-sym    the same, q quantized: distances are integers in code space
                (what an integer madd/VNNI kernel computes)
  global-sym    one min/max for all (QT_8bit_uniform); q quantized
  pervec-sym    per-vector max-abs scale, signed 127 steps (Redis Q8); q the same

--aniso adds a synthetic set with unequal dimensions (per-dimension std
log-uniform over 0.1..1, as in real embeddings where a few dimensions dominate).
Training is on the base rows themselves (min/max)."""
import sys
import numpy as np


def read_vecs(path):
    if path.endswith(".bvecs"):
        raw = np.fromfile(path, dtype=np.uint8)
        d = int(raw[:4].view(np.int32)[0])
        return raw.reshape(-1, d + 4)[:, 4:].astype(np.float32)
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32).copy()


def load(d):
    import os
    b = os.path.join(d, "base.fvecs")
    if not os.path.exists(b):
        b = os.path.join(d, "base.bvecs")
    gt = np.fromfile(os.path.join(d, "gt.ivecs"), dtype=np.int32)
    gt = gt.reshape(-1, gt[0] + 1)[:, 1:11]
    return read_vecs(b), read_vecs(os.path.join(d, "query.fvecs")), gt


def perdim(x):
    lo, hi = x.min(0), x.max(0)
    step = np.maximum(hi - lo, 1e-30) / 255
    return lo, step


def shared(x):
    lo, hi = x.min(0), x.max(0)
    return lo, np.full_like(lo, max((hi - lo).max(), 1e-30) / 255)


def glob(x):
    lo, hi = x.min(), x.max()
    d = x.shape[1]
    return np.full(d, lo, np.float32), np.full(d, max(hi - lo, 1e-30) / 255, np.float32)


def quant(x, lo, step):
    c = np.clip(np.rint((x - lo) / step), 0, 255)
    return (lo + c * step).astype(np.float32)


def pervec(x):
    m = np.abs(x).max(1, keepdims=True)
    m[m == 0] = 1
    return (np.rint(x / m * 127) * m / 127).astype(np.float32)


def topr(base, q, r):
    bn = (base.astype(np.float64) ** 2).sum(1)
    out = np.empty((len(q), r), dtype=np.int64)
    for s in range(0, len(q), 200):
        qq = q[s:s + 200].astype(np.float64)
        d = bn[None, :] - 2 * (qq @ base.T.astype(np.float64))
        p = np.argpartition(d, r, axis=1)[:, :r]
        dd = np.take_along_axis(d, p, 1)
        out[s:s + 200] = np.take_along_axis(p, np.argsort(dd, 1), 1)
    return out


def recall(res, gt):
    return np.mean([len(set(res[i, :10]) & set(gt[i])) / 10 for i in range(len(gt))])


def rerank(cand, base, q, gt):
    out = []
    for r in (10, 20, 40, 80):
        c = cand[:, :r]
        d = ((base[c] - q[:, None, :]) ** 2).sum(2)
        best = np.take_along_axis(c, np.argsort(d, 1)[:, :10], 1)
        out.append(recall(best, gt))
    return out


def study(name, base, q, gt):
    print("## %s (n=%d, d=%d)" % (name, len(base), base.shape[1]))
    print("| codec | no re-rank | R=10 | R=20 | R=40 | R=80 |")
    print("|---|---|---|---|---|---|")
    codecs = []
    for kind, fit in (("perdim", perdim), ("shared", shared)):
        lo, step = fit(base)
        xb = quant(base, lo, step)
        codecs.append((kind + "-asym", xb, q))
        codecs.append((kind + "-sym", xb, quant(q, lo, step)))
    lo, step = glob(base)
    codecs.append(("global-sym", quant(base, lo, step), quant(q, lo, step)))
    codecs.append(("pervec-sym", pervec(base), pervec(q)))
    for cname, xb, qq in codecs:
        cand = topr(xb, qq, 80)
        rr = rerank(cand, base, q, gt)
        print("| %s | %.4f | %s |" % (cname, recall(cand, gt), " | ".join("%.4f" % v for v in rr)))
    print(flush=True)


def main():
    sets = [a for a in sys.argv[1:] if "=" in a]
    for s in sets:
        name, d = s.split("=", 1)
        base, q, gt = load(d)
        study(name, base, q, gt)
    if "--aniso" in sys.argv:
        rng = np.random.default_rng(5)
        std = np.exp(rng.uniform(np.log(0.1), 0, 128)).astype(np.float32)
        base = (rng.standard_normal((100000, 128)) * std).astype(np.float32)
        q = (rng.standard_normal((1000, 128)) * std).astype(np.float32)
        gt = topr(base, q, 10)
        study("anisotropic gaussian", base, q, gt)


if __name__ == "__main__":
    main()
