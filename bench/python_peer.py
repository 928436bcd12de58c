#!/usr/bin/python3
"""vwhnsw against hnswlib, both from Python, side by side (issue 26, targets 2-3).

    flock /work/bench.lock /usr/bin/python3 bench/python_peer.py \\
        --data /tmp/pydata --set seed100k --rounds 3 [--build-threads 2]

Data sets (made on first use under --data, as the peers' harness makes them):
  seed100k      ../shared/peers/gen_seed.py's recipe: rows of default_rng(42),
                queries of default_rng(4242), unit length, exact top-100 truth
  clustered100k vw-gen's clustered set (seed 42), its 1000 queries, truth
  clustered1m   the same with 1,000,000 rows

What is timed (M=32, ef_construction=200, k=10, the same data for both):
  build   add_items of the whole float32 array with --build-threads threads,
          each engine in its own process (wall and CPU time, peak RSS: the
          data is read in before the index exists, so peak - before is what
          the build added), index saved; --build-rounds alternate the engines
          (--build-rounds 0: search the indexes a previous run saved);
  search  both indexes loaded in one process; per round and per ef, for each
          engine in turn (the order alternates between rounds): 1000
          knn_query calls of one query each (num_threads=1), then one call
          with all 1000 queries at num_threads=1 and at num_threads=2.
Recall@10 against the exact truth; QPS at recall 0.90 and 0.95 is
interpolated on each engine's own curve (log QPS linear in recall between
the two efs around the target); figures are medians over rounds. The
per-call overhead of one query is (time per single-query call) - (time per
query inside the 1000-query batch on one thread): the cost of going through
Python once per query, for each engine.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.environ.get("VW_PEERS", os.path.join(ROOT, "..", "shared", "peers"))
sys.path.insert(0, PEERS)  # gen_seed.py (VW_PEERS=/work/shared/peers from a worktree)
sys.path.insert(0, HERE)

K = 10
M = 32
EFC = 200


# ------------------------------------------------------------------ data

def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return np.ascontiguousarray(raw.reshape(-1, d + 1)[:, 1:].view(np.float32))


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:]


def make_set(data, name, vw_gen):
    import make_sets
    out = os.path.join(data, name)
    if os.path.exists(os.path.join(out, "gt.ivecs")):
        return out
    os.makedirs(out, exist_ok=True)
    if name == "seed100k":
        import gen_seed
        base = gen_seed.unit_rows(np.random.default_rng(42), 100_000)
        queries = gen_seed.unit_rows(np.random.default_rng(4242), 1000)
        make_sets.write_fvecs(os.path.join(out, "base.fvecs"), base)
        make_sets.write_fvecs(os.path.join(out, "query.fvecs"), queries)
    else:
        n = {"clustered100k": 100_000, "clustered1m": 1_000_000}[name]
        subprocess.run([vw_gen, "-q", "-n", str(n), "-d", "128", "--dist", "clustered",
                        "--queries-out", os.path.join(out, "query.fvecs"),
                        "-o", os.path.join(out, "base.fvecs")], check=True)
        base = read_fvecs(os.path.join(out, "base.fvecs"))
        queries = read_fvecs(os.path.join(out, "query.fvecs"))
    make_sets.write_ivecs(os.path.join(out, "gt.ivecs"), make_sets.ground_truth(base, queries))
    return out


# ------------------------------------------------------------------ build

BUILD = r"""
import sys, time, resource, numpy as np
sys.path.insert(0, {here!r})
from python_peer import read_fvecs
engine, base_path, out, threads = {engine!r}, {base!r}, {out!r}, {threads}
import vwhnsw
mod = vwhnsw if engine == "vwhnsw" else __import__("hnswlib")
x = read_fvecs(base_path)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ix = mod.Index(space="l2", dim=x.shape[1])
ix.init_index(max_elements=len(x), M={m}, ef_construction={efc}, random_seed=100)
t, c = time.perf_counter(), cpu()
ix.add_items(x, np.arange(len(x)), num_threads=threads)
t, c = time.perf_counter() - t, cpu() - c
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ix.save_index(out)
print(t, c, rss0 / 1024, rss / 1024)
"""


def build(engine, base_path, out, threads):
    code = BUILD.format(here=HERE, engine=engine, base=base_path, out=out, threads=threads, m=M,
                        efc=EFC)
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env=dict(os.environ))
    seconds, cpu, rss_before, rss_after = map(float, res.stdout.split())
    return {"seconds": seconds, "cpu_seconds": cpu, "rss_before_mb": rss_before,
            "peak_rss_mb": rss_after}


# ------------------------------------------------------------------ search

def recall(labels, gt):
    return float(np.mean([len(set(a[:K].tolist()) & set(b[:K].tolist())) / K
                          for a, b in zip(labels, gt)]))


def measure(ix, q, gt, ef):
    ix.set_ef(ef)
    t = time.perf_counter()
    for i in range(len(q)):
        ix.knn_query(q[i], k=K, num_threads=1)
    single = time.perf_counter() - t
    out = {}
    for threads in (1, 2):
        t = time.perf_counter()
        labels, _ = ix.knn_query(q, k=K, num_threads=threads)
        out[f"batch{threads}"] = len(q) / (time.perf_counter() - t)
    out["single"] = len(q) / single
    out["recall"] = recall(labels, gt)
    out["overhead_us"] = (single / len(q) - 1.0 / out["batch1"]) * 1e6
    return out


def at_recall(points, target, mode):
    """QPS at a recall target, log-linear between the efs around it."""
    pts = sorted((p["recall"], p[mode]) for p in points)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            w = (target - r0) / (r1 - r0)
            return float(np.exp(np.log(q0) + w * (np.log(q1) - np.log(q0))))
    return None


def search_rounds(engines, q, gt, efs, rounds):
    runs = {name: [] for name in engines}
    for r in range(rounds):
        order = list(engines) if r % 2 == 0 else list(reversed(engines))
        for name in order:
            runs[name].append({ef: measure(engines[name], q, gt, ef) for ef in efs})
            print(f"round {r + 1} {name} done", file=sys.stderr, flush=True)
    return runs


def per_call(rounds=5, calls=50_000):
    """Time of one knn_query call on a 100-vector index, where the search costs almost nothing:
    what going through Python costs each engine per call. Engines alternate; medians in µs."""
    import hnswlib
    import vwhnsw
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 128)).astype(np.float32)
    q = rng.standard_normal(128).astype(np.float32)
    engines = {}
    for name, mod in (("vwhnsw", vwhnsw), ("hnswlib", hnswlib)):
        ix = mod.Index(space="l2", dim=128)
        ix.init_index(100, M=M, ef_construction=EFC)
        ix.add_items(x, np.arange(100), num_threads=1)
        ix.set_ef(10)
        engines[name] = (ix, [])
    for r in range(rounds):
        for name in list(engines) if r % 2 == 0 else list(reversed(engines)):
            ix, times = engines[name]
            t = time.perf_counter()
            for _ in range(calls):
                ix.knn_query(q, k=1, num_threads=1)
            times.append((time.perf_counter() - t) / calls * 1e6)
    return {name: statistics.median(times) for name, (_, times) in engines.items()}


def summarize(runs, efs):
    summary = {}
    for name, rs in runs.items():
        s = {}
        for mode in ("single", "batch1", "batch2"):
            for target in (0.90, 0.95):
                vals = [at_recall(list(r.values()), target, mode) for r in rs]
                vals = [v for v in vals if v is not None]
                s[f"{mode}@{target:.2f}"] = statistics.median(vals) if vals else None
        s["overhead_us"] = statistics.median(
            statistics.median(r[ef]["overhead_us"] for ef in efs) for r in rs)
        s["curve"] = {ef: {k: statistics.median(r[ef][k] for r in rs)
                           for k in ("recall", "single", "batch1", "batch2")} for ef in efs}
        summary[name] = s
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--set", default="seed100k",
                    choices=["seed100k", "clustered100k", "clustered1m"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--efs", default="10,16,24,32,48,64,96,128,192,256,384,512")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--build-rounds", type=int, default=1)
    ap.add_argument("--vw-gen", default=os.path.join(ROOT, "build", "tools", "vw-gen"))
    ap.add_argument("--build-only", action="store_true")
    a = ap.parse_args()
    import hnswlib
    import vwhnsw
    d = make_set(a.data, a.set, a.vw_gen)
    base_path = os.path.join(d, "base.fvecs")
    files = {e: os.path.join(d, f"{e}.idx") for e in ("vwhnsw", "hnswlib")}
    rounds = {"vwhnsw": [], "hnswlib": []}
    if a.build_rounds == 0 and not all(os.path.exists(f) for f in files.values()):
        a.build_rounds = 1  # nothing to search yet
    for r in range(a.build_rounds):
        for e in ("vwhnsw", "hnswlib") if r % 2 == 0 else ("hnswlib", "vwhnsw"):
            rounds[e].append(build(e, base_path, files[e], a.build_threads))
            print(f"build {e}: {rounds[e][-1]}", file=sys.stderr, flush=True)
    result = {"set": a.set, "vwhnsw": vwhnsw.__version__, "simd": vwhnsw.simd()}
    if a.build_rounds:
        builds = {e: {k: statistics.median(b[k] for b in bs) for k in bs[0]}
                  for e, bs in rounds.items()}
        result.update({"build_threads": a.build_threads, "builds": builds,
                       "build_ratio": builds["vwhnsw"]["seconds"] / builds["hnswlib"]["seconds"],
                       "build_cpu_ratio":
                           builds["vwhnsw"]["cpu_seconds"] / builds["hnswlib"]["cpu_seconds"]})
    if not a.build_only:
        q = read_fvecs(os.path.join(d, "query.fvecs"))
        gt = read_ivecs(os.path.join(d, "gt.ivecs"))
        efs = [int(e) for e in a.efs.split(",")]
        dim = q.shape[1]
        ours = vwhnsw.Index(space="l2", dim=dim)
        ours.load_index(files["vwhnsw"])
        theirs = hnswlib.Index(space="l2", dim=dim)
        theirs.load_index(files["hnswlib"])
        runs = search_rounds({"vwhnsw": ours, "hnswlib": theirs}, q, gt, efs, a.rounds)
        result["summary"] = summarize(runs, efs)
        s = result["summary"]
        result["per_call_us"] = per_call()
        result["ratios"] = {key: (s["vwhnsw"][key] / s["hnswlib"][key]
                                  if s["vwhnsw"][key] and s["hnswlib"][key] else None)
                            for key in s["vwhnsw"] if "@" in key}
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
