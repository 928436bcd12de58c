#!/usr/bin/python3
"""Filtered search, side by side: vwhnsw's planner (vw-bench --filter),
brute force over the matching set (numpy, one thread) and hnswlib's filter
functor (Debian's python3-hnswlib, a Python callable per visited node), on
one data set, at the selectivities of issue 27; then the cost of the
attributes (file and memory per element, unfiltered QPS with and without
them).

    flock /work/bench.lock /usr/bin/python3 bench/filter_bench.py \\
        --tools build/tools --out /tmp/filter --dist gaussian --n 100000

Attributes (the recipe): kw, a keyword with a Zipf distribution over 1,000
values ("k1" the most common, weight 1/rank); num, uniform in [0, 1) with
six decimals; flag, a fair boolean; zone, true for the 10 % of rows with the
largest first coordinate. Filters: 50 % (flag), 10 / 1 / 0.1 / 0.01 %
(num below a bound), the Zipf head (kw = k1, about 13 %) and a rare keyword
(kw = k500), and zone = true with queries moved to the zone's side
(correlated: the query's neighbours match) or to the other side
(anti-correlated: the matches are far from the query, the hard case).
Recall is against the exact filtered top 10; each engine's QPS is at the
smallest ef of a sweep whose recall reaches 0.95 ("never" when none does).
Single thread everywhere.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

K = 10
SWEEP = [16, 32, 64, 128, 256, 512, 1024, 2048]
HNSW_SWEEP = [16, 64, 256, 1024, 4096]


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def make_attributes(base, rng):
    n = len(base)
    ranks = np.arange(1, 1001)
    p = (1.0 / ranks) / (1.0 / ranks).sum()
    kw = rng.choice(ranks, size=n, p=p)
    num = np.floor(rng.random(n) * 1e6) / 1e6
    flag = rng.random(n) < 0.5
    zone = base[:, 0] > np.quantile(base[:, 0], 0.9)
    return kw, num, flag, zone


def write_jsonl(path, kw, num, flag, zone):
    with open(path, "w") as f:
        for i in range(len(kw)):
            f.write('{"kw":"k%d","num":%.6f,"flag":%s,"zone":%s}\n' % (
                kw[i], num[i], "true" if flag[i] else "false", "true" if zone[i] else "false"))


def moved_queries(q, base, side):
    """Queries with their first coordinate on one side of the zone bound."""
    q = q.copy()
    q[:, 0] = np.quantile(base[:, 0], 0.99 if side > 0 else 0.01)
    if np.allclose(np.linalg.norm(base[:100], axis=1), 1, atol=1e-3):
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.astype(np.float32)


def exact(base, mask, queries):
    """Brute force over the matching rows: ids, and its single-thread QPS."""
    ids = np.flatnonzero(mask)
    sub = base[ids]
    subn = (sub.astype(np.float64) ** 2).sum(1)
    out = np.full((len(queries), K), -1, dtype=np.int64)
    t0 = time.perf_counter()
    for i, q in enumerate(queries):
        d = subn - 2 * sub @ q
        k = min(K, len(ids))
        top = np.argpartition(d, k - 1)[:k] if len(ids) > k else np.arange(len(ids))
        out[i, :k] = ids[top[np.argsort(d[top], kind="stable")]]
    return out, len(queries) / (time.perf_counter() - t0)


def recall(found, truth):
    hits = total = 0
    for f, t in zip(found, truth):
        t = set(int(x) for x in t if x >= 0)
        hits += len(t & set(int(x) for x in f if x >= 0))
        total += len(t)
    return hits / total if total else 1.0


def vw_run(tools, index, qpath, base_path, filt, out):
    cmd = [os.path.join(tools, "vw-bench"), "-x", index, "--queries", qpath, "--base", base_path,
           "--sweep", ",".join(map(str, SWEEP)), "-o", out]
    if filt is not None:
        cmd += ["--filter", json.dumps(filt)]
    run(cmd)
    return json.load(open(out))


def at_target(points, target=0.95):
    """(ef, recall, qps) of the smallest ef reaching the target, or the best."""
    ok = [p for p in points if p[1] >= target]
    return (min(ok, key=lambda p: p[0]), True) if ok else (max(points, key=lambda p: p[1]), False)


def vw_points(res):
    return [(r["ef"], r["recall_at_k"], r["qps"]) for r in res["results"]]


def hnsw_points(index, queries, mask, truth):
    pts = []
    keep = mask.tolist()
    for ef in HNSW_SWEEP:
        index.set_ef(ef)
        t0 = time.perf_counter()
        found = []
        for q in queries:
            lab, _ = index.knn_query(q, k=min(K, int(mask.sum())) or 1, num_threads=1,
                                     filter=lambda l: keep[l])
            found.append(lab[0])
        qps = len(queries) / (time.perf_counter() - t0)
        r = recall(found, truth)
        pts.append((ef, r, qps))
        if r >= 0.95:
            break
    return pts


def filters(num, kw, flag, zone):
    return [
        ("50 % (flag)", {"must": [{"key": "flag", "match": {"value": True}}]}, flag, "q"),
        ("10 % (num < 0.1)", {"must": [{"key": "num", "range": {"lt": 0.1}}]}, num < 0.1, "q"),
        ("1 % (num < 0.01)", {"must": [{"key": "num", "range": {"lt": 0.01}}]}, num < 0.01, "q"),
        ("0.1 % (num < 0.001)", {"must": [{"key": "num", "range": {"lt": 0.001}}]}, num < 0.001,
         "q"),
        ("0.01 % (num < 0.0001)", {"must": [{"key": "num", "range": {"lt": 0.0001}}]},
         num < 0.0001, "q"),
        ("Zipf head (kw = k1)", {"must": [{"key": "kw", "match": {"value": "k1"}}]}, kw == 1, "q"),
        ("rare keyword (kw = k500)", {"must": [{"key": "kw", "match": {"value": "k500"}}]},
         kw == 500, "q"),
        ("correlated (zone, queries in it)", {"must": [{"key": "zone", "match": {"value": True}}]},
         zone, "q_pos"),
        ("anti-correlated (zone, queries away)",
         {"must": [{"key": "zone", "match": {"value": True}}]}, zone, "q_neg"),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dist", default="gaussian")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--base-tools", help="an older build's tools dir, for the unfiltered A/B")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    P = lambda name: os.path.join(a.out, name)  # noqa: E731
    tools = a.tools
    run([os.path.join(tools, "vw-gen"), "-o", P("base.npy"), "-n", str(a.n), "-d", str(a.dim),
         "--dist", a.dist, "--queries", str(a.nq), "--queries-out", P("q.npy"), "-q"])
    base = np.load(P("base.npy"))
    q = np.load(P("q.npy"))
    rng = np.random.default_rng(27)
    kw, num, flag, zone = make_attributes(base, rng)
    write_jsonl(P("attrs.jsonl"), kw, num, flag, zone)
    qsets = {"q": q, "q_pos": moved_queries(q, base, 1), "q_neg": moved_queries(q, base, -1)}
    for name, arr in qsets.items():
        np.save(P(name + ".npy"), arr)
    build = [os.path.join(tools, "vw-build"), "-i", P("base.npy"), "-M", "32",
             "--ef-construction", "200", "-q"]
    run(build + ["-o", P("attrs.vwi"), "--attributes", P("attrs.jsonl")])
    run(build + ["-o", P("plain.vwi")])

    import hnswlib
    hn = hnswlib.Index(space="l2", dim=a.dim)
    hn.init_index(max_elements=a.n, M=32, ef_construction=200, random_seed=100)
    hn.add_items(base, np.arange(a.n))

    rows = []
    for name, filt, mask, qs in filters(num, kw, flag, zone):
        truth, bf_qps = exact(base, mask, qsets[qs])
        res = vw_run(tools, P("attrs.vwi"), P(qs + ".npy"), P("base.npy"), filt, P("vw.json"))
        vw_default = [r for r in res["results"] if r["ef"] == 64][0]["recall_at_k"]
        vw_best, vw_ok = at_target(vw_points(res))
        hn_best, hn_ok = at_target(hnsw_points(hn, qsets[qs], mask, truth))
        rows.append({"filter": name, "fraction": float(mask.mean()), "matching": int(mask.sum()),
                     "nonmatching": res["filter"]["nonmatching_results"],
                     "vw_recall_ef64": vw_default, "vw": vw_best, "vw_reached": vw_ok,
                     "brute_qps": bf_qps, "hnswlib": hn_best, "hnswlib_reached": hn_ok})
        print(json.dumps(rows[-1]), flush=True)

    cost = attribute_cost(a, tools, P)
    json.dump({"rows": rows, "cost": cost}, open(P("filter_results.json"), "w"), indent=1)
    print_tables(rows, cost, a)


def attribute_cost(a, tools, P):
    """File and memory per element, and unfiltered QPS with and without
    attributes (and with an older build's tools, if given), interleaved,
    median of three."""
    def stats(index):
        out = subprocess.run([os.path.join(tools, "vw-query"), "-x", index, "--stats"],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)
    sa, sp = stats(P("attrs.vwi")), stats(P("plain.vwi"))
    qps = {"attrs": [], "plain": [], "older": []}
    for _ in range(3):
        for key, idx, t in (("plain", "plain.vwi", tools), ("attrs", "attrs.vwi", tools),
                            ("older", "plain.vwi", a.base_tools)):
            if not t:
                continue
            run([os.path.join(t, "vw-bench"), "-x", P(idx), "--queries", P("q.npy"), "--base",
                 P("base.npy"), "--ef", "64", "--repeat", "3", "-o", P("ab.json")])
            qps[key].append(json.load(open(P("ab.json")))["results"][0]["qps"])
    med = {k: float(np.median(v)) for k, v in qps.items() if v}
    return {"file_attrs": os.path.getsize(P("attrs.vwi")),
            "file_plain": os.path.getsize(P("plain.vwi")),
            "mem_attrs": sa.get("memory_bytes"), "mem_plain": sp.get("memory_bytes"),
            "n": a.n, "qps_median": med, "qps_runs": qps}


def print_tables(rows, cost, a):
    print("\n| filter | matching | non-matching results | vw recall@10, ef 64 | vw ef / recall / QPS "
          "at >= 0.95 | brute force QPS | hnswlib ef / recall / QPS at >= 0.95 | vw / hnswlib | "
          "vw / brute |")
    print("|---|---:|---:|---:|---|---:|---|---:|---:|")
    for r in rows:
        v, h = r["vw"], r["hnswlib"]
        hs = "%d / %.3f / %.0f" % h if r["hnswlib_reached"] else "never (best %.3f at ef %d)" % (
            h[1], h[0])
        ratio = "%.1f" % (v[2] / h[2]) if r["hnswlib_reached"] else "-"
        print("| %s | %d (%.3g %%) | %d | %.3f | %d / %.3f / %.0f | %.0f | %s | %s | %.1f |" % (
            r["filter"], r["matching"], 100 * r["fraction"], r["nonmatching"], r["vw_recall_ef64"],
            v[0], v[1], v[2], r["brute_qps"], hs, ratio, v[2] / r["brute_qps"]))
    c = cost
    print("\nattributes: file +%.1f bytes/element, memory +%.1f bytes/element" % (
        (c["file_attrs"] - c["file_plain"]) / c["n"],
        ((c["mem_attrs"] or 0) - (c["mem_plain"] or 0)) / c["n"]))
    print("unfiltered QPS at ef 64 (median of 3):", c["qps_median"])


if __name__ == "__main__":
    sys.exit(main())
