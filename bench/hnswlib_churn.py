#!/usr/bin/python3
"""hnswlib beside `vw_live_bench churn`: the same churn on the same vectors.

    /usr/bin/python3 bench/hnswlib_churn.py <base.fvecs> <n> <query.fvecs> <extra.fvecs>
        <extra_from> <M> <efC> <threads> <out_dir> <scenario,...>

Run it after `vw_live_bench churn` with the same arguments: it reads the
labels each scenario chose (out_dir/<remove|replace>-<F>.labels) and the
exact ground truth over what the index holds afterwards (.gt.ivecs), so both
engines are measured against the same truth.

  remove:F   hnswlib's mark_deleted on the chosen labels (it has no real
             removal: deleted elements stay in the graph and are skipped);
  replace:F  add_items with the chosen labels and the new vectors, which
             hnswlib turns into updatePoint (the vector is replaced in place
             and the neighbourhood re-linked).
Then a fresh hnswlib build of the same vectors. Search: knn_query over all
queries with num_threads=1 (one call; the loop over queries is C++), one
warm-up pass, 3 timed passes per ef; QPS and recall@10 as vw_live_bench.
The full build is cached in out_dir/hnswlib-full.bin.
"""
import os
import sys
import time

import hnswlib
import numpy as np

K = 10
EFS = (64, 256)


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32).copy()


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].copy()


def build(vectors, labels, m, efc, threads):
    ix = hnswlib.Index(space="l2", dim=vectors.shape[1])
    ix.init_index(max_elements=len(vectors), M=m, ef_construction=efc, random_seed=100)
    ix.set_num_threads(threads)
    t0 = time.perf_counter()
    ix.add_items(vectors, labels)
    return ix, time.perf_counter() - t0


def measure(engine, ix, queries, gt):
    ix.set_num_threads(1)
    ix.set_ef(64)
    ix.knn_query(queries, k=K, num_threads=1)
    for ef in EFS:
        ix.set_ef(ef)
        t = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            got, _ = ix.knn_query(queries, k=K, num_threads=1)
            t += time.perf_counter() - t0
        hits = sum(len(set(got[i].tolist()) & set(gt[i].tolist())) for i in range(len(queries)))
        print(f"engine={engine} ef={ef} recall@10={hits / (len(queries) * K):.4f} "
              f"QPS={3 * len(queries) / t:.1f}", flush=True)


def scenario(name, args):
    base, n, queries, extra, extra_from, m, efc, threads, out = args
    kind, frac = name.split(":")
    stem = f"{kind}-{frac}"
    picked = np.fromfile(os.path.join(out, stem + ".labels"), dtype=np.uint64).astype(np.int64)
    gt = read_ivecs(os.path.join(out, stem + ".gt.ivecs"))
    print(f"scenario={name} picked={len(picked)}", flush=True)
    full = os.path.join(out, "hnswlib-full.bin")
    if not os.path.exists(full):
        ix, s = build(base[:n], np.arange(n), m, efc, threads)
        print(f"hnswlib full build n={n} build_s={s:.1f}", flush=True)
        ix.save_index(full)
    ix = hnswlib.Index(space="l2", dim=base.shape[1])
    ix.load_index(full, max_elements=n)
    ix.set_num_threads(threads)
    vectors = base[:n].copy()
    alive = np.ones(n, dtype=bool)
    t0 = time.perf_counter()
    if kind == "remove":
        for label in picked:
            ix.mark_deleted(int(label))
        alive[picked] = False
    else:
        rows = extra[extra_from:extra_from + len(picked)]
        ix.add_items(rows, picked)
        vectors[picked] = rows
    t = time.perf_counter() - t0
    print(f"hnswlib churn_s={t:.2f} per_second={len(picked) / t:.0f}", flush=True)
    measure("hnswlib-churned", ix, queries, gt)
    keep = np.nonzero(alive)[0]
    fresh, s = build(vectors[keep], keep, m, efc, threads)
    print(f"engine=hnswlib-fresh n={len(keep)} build_s={s:.1f}", flush=True)
    measure("hnswlib-fresh", fresh, queries, gt)


def main(argv):
    if len(argv) != 11:
        print(__doc__, file=sys.stderr)
        return 2
    args = (read_fvecs(argv[1]), int(argv[2]), read_fvecs(argv[3]), read_fvecs(argv[4]),
            int(argv[5]), int(argv[6]), int(argv[7]), int(argv[8]), argv[9])
    print(f"engine=hnswlib version={getattr(hnswlib, '__version__', '?')} n={args[1]} "
          f"M={args[5]} efC={args[6]} threads={args[7]}", flush=True)
    for name in argv[10].split(","):
        scenario(name, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
