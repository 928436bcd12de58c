#!/usr/bin/python3
"""Filtered search, side by side (issue 27): vwhnsw's planner (vw-bench
--filter), hnswlib's filter functor (bench/hnsw_filter.cpp against hnswlib
0.8.0's headers, see bench/README-hnswlib.md) and brute force over the
matching set (numpy, one thread), at the issue's selectivities; then the
cost of the attributes (file and memory per element, unfiltered QPS with
and without them).

Two phases, so that only the measuring runs alone on the machine:

    # data, attributes, the three indexes, masks and exact answers: untimed
    /work/bin/cpu /usr/bin/python3 bench/filter_bench.py prepare --tools build/tools \\
        --hnsw-filter /tmp/hnsw_filter --out /tmp/fb/seed100k \\
        --base /data/seed100k/base.fvecs --queries /data/seed100k/query.fvecs
    # the timed part (--only NAME,NAME to split it into short runs)
    /work/bin/quiet /usr/bin/python3 bench/filter_bench.py measure --tools build/tools \\
        --hnsw-filter /tmp/hnsw_filter --out /tmp/fb/seed100k
    /usr/bin/python3 bench/filter_bench.py table --out /tmp/fb/seed100k

Without --base, prepare makes the data with vw-gen (--dist, --n, --dim).

Attributes (the recipe): kw, a keyword with a Zipf distribution over 1,000
values ("k1" the most common, weight 1/rank); num, uniform in [0, 1) with
six decimals; flag, a fair boolean; zone, true for the 10 % of rows with the
largest first coordinate. Filters: 50 % (flag), 10 / 1 / 0.1 / 0.01 %
(num below a bound), the Zipf head (kw = k1, about 13 %) and a rare keyword
(kw = k500), and zone = true with queries moved to the zone's side
(correlated: the query's neighbours match) or to the other side
(anti-correlated: the matches are far from the query, the hard case).
Recall is against the exact filtered top 10; each engine's QPS is at the
smallest ef of the same doubling sweep whose recall reaches 0.95 ("never"
when none does). Single thread everywhere; M 32, efConstruction 200. The index with
attributes is the one without them plus the attributes (vw-build --from
--no-reorder --attributes): the same graph and layout, so the unfiltered
A/B of the attribute cost compares like with like.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

K = 10
SWEEP = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=kw.pop("stdout", subprocess.DEVNULL), **kw)


def read_vecs(path, limit=None):
    """A .fvecs or .npy file as a float32 array (a view of the file)."""
    if path.endswith(".npy"):
        return np.load(path, mmap_mode="r")[:limit]
    raw = np.memmap(path, dtype=np.float32, mode="r")
    d = int(raw[:1].view(np.int32)[0])
    return raw.reshape(-1, d + 1)[:limit, 1:]


def write_vecs(path, x, dtype):
    x = np.asarray(x)
    buf = np.empty((len(x), x.shape[1] + 1), dtype=dtype)
    buf[:, 0] = x.shape[1]
    buf[:, 1:] = x
    if dtype == np.float32:
        buf.view(np.int32)[:, 0] = x.shape[1]
    buf.tofile(path)


def make_attributes(base, rng):
    n = len(base)
    ranks = np.arange(1, 1001)
    p = (1.0 / ranks) / (1.0 / ranks).sum()
    kw = rng.choice(ranks, size=n, p=p)
    num = np.floor(rng.random(n) * 1e6) / 1e6
    flag = rng.random(n) < 0.5
    first = np.asarray(base[:, 0])
    zone = first > np.quantile(first, 0.9)
    return kw, num, flag, zone


def write_jsonl(path, kw, num, flag, zone):
    with open(path, "w") as f:
        for i in range(len(kw)):
            f.write('{"kw":"k%d","num":%.6f,"flag":%s,"zone":%s}\n' % (
                kw[i], num[i], "true" if flag[i] else "false", "true" if zone[i] else "false"))


def moved_queries(q, base, side):
    """Queries with their first coordinate on one side of the zone bound."""
    q = np.array(q, dtype=np.float32)
    first = np.asarray(base[:, 0])
    q[:, 0] = np.quantile(first, 0.99 if side > 0 else 0.01)
    if np.allclose(np.linalg.norm(base[:100], axis=1), 1, atol=1e-3):
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.astype(np.float32)


def exact(base, mask, queries, gather=False):
    """Brute force over the matching rows: ids (-1 pads), and its one-thread
    QPS, with the matching rows copied into one array beforehand (untimed)
    or, with gather, copied from the base for each query (timed), as a
    program holding its vectors in one array would do."""
    ids = np.flatnonzero(mask)
    sub = np.ascontiguousarray(base[ids])
    subn = (sub.astype(np.float64) ** 2).sum(1)
    out = np.full((len(queries), K), -1, dtype=np.int64)
    t0 = time.perf_counter()
    for i, q in enumerate(queries):
        if gather:
            sub = base[ids]
        d = subn - 2 * (sub @ q)
        k = min(K, len(ids))
        top = np.argpartition(d, k - 1)[:k] if len(ids) > k else np.arange(len(ids))
        out[i, :k] = ids[top[np.argsort(d[top], kind="stable")]]
    return out, len(queries) / (time.perf_counter() - t0)


def filters(num, kw, flag, zone):
    rng = lambda b: {"must": [{"key": "num", "range": {"lt": b}}]}  # noqa: E731
    kwf = lambda v: {"must": [{"key": "kw", "match": {"value": v}}]}  # noqa: E731
    zf = {"must": [{"key": "zone", "match": {"value": True}}]}
    return [
        ("50 % (flag)", {"must": [{"key": "flag", "match": {"value": True}}]}, flag, "q"),
        ("10 % (num < 0.1)", rng(0.1), num < 0.1, "q"),
        ("1 % (num < 0.01)", rng(0.01), num < 0.01, "q"),
        ("0.1 % (num < 0.001)", rng(0.001), num < 0.001, "q"),
        ("0.01 % (num < 0.0001)", rng(0.0001), num < 0.0001, "q"),
        ("Zipf head (kw = k1)", kwf("k1"), kw == 1, "q"),
        ("rare keyword (kw = k500)", kwf("k500"), kw == 500, "q"),
        ("correlated (zone 10 %, queries in it)", zf, zone, "q_pos"),
        ("anti-correlated (zone 10 %, queries away)", zf, zone, "q_neg"),
    ]


def slug(i):
    return "f%d" % i


def base_path(P):
    m = P("meta.json")
    return json.load(open(m))["base"] if os.path.exists(m) else P("base.npy")


def data(a, P):
    """The base vectors, the queries and the attributes, made or reused."""
    if a.base:
        json.dump({"base": os.path.abspath(a.base), "queries": os.path.abspath(a.queries)},
                  open(P("meta.json"), "w"))
    elif not os.path.exists(P("meta.json")) and not os.path.exists(P("base.npy")):
        run([os.path.join(a.tools, "vw-gen"), "-o", P("base.npy"), "-n", str(a.n), "-d",
             str(a.dim), "--dist", a.dist, "--queries", str(a.nq), "--queries-out",
             P("q0.npy"), "-q"])
    m = json.load(open(P("meta.json"))) if os.path.exists(P("meta.json")) else {}
    base = read_vecs(base_path(P))
    q = read_vecs(m.get("queries", P("q0.npy")), a.nq)
    kw, num, flag, zone = make_attributes(base, np.random.default_rng(27))
    return base_path(P), base, q, (kw, num, flag, zone)


def prepare(a, P):
    base_path, base, q, (kw, num, flag, zone) = data(a, P)
    if not os.path.exists(P("attrs.jsonl")):
        write_jsonl(P("attrs.jsonl"), kw, num, flag, zone)
    qsets = {"q": q, "q_pos": moved_queries(q, base, 1), "q_neg": moved_queries(q, base, -1)}
    for name, arr in qsets.items():
        np.save(P(name + ".npy"), arr)
        write_vecs(P(name + ".fvecs"), arr, np.float32)
    build = [os.path.join(a.tools, "vw-build"), "-i", base_path, "-M", "32",
             "--ef-construction", "200", "-q", "--threads", str(a.threads)]
    if not os.path.exists(P("plain.vwi")):
        run(build + ["-o", P("plain.vwi.tmp")])
        os.rename(P("plain.vwi.tmp"), P("plain.vwi"))
    if not os.path.exists(P("attrs.vwi")):  # the same graph and layout, with attributes
        run([os.path.join(a.tools, "vw-build"), "--from", P("plain.vwi"), "--no-reorder",
             "--attributes", P("attrs.jsonl"), "-o", P("attrs.vwi.tmp"), "-q"])
        os.rename(P("attrs.vwi.tmp"), P("attrs.vwi"))
    if a.hnsw_filter and not os.path.exists(P("hnswlib.idx")):
        src = base_path if base_path.endswith(".fvecs") else P("base.fvecs")
        if src != base_path:
            write_vecs(src, base, np.float32)
        run([a.hnsw_filter, "build", src, P("hnswlib.idx.tmp"), "32", "200", str(a.threads)],
            stdout=None)
        os.rename(P("hnswlib.idx.tmp"), P("hnswlib.idx"))
    for i, (name, filt, mask, qs) in enumerate(filters(num, kw, flag, zone)):
        truth, _ = exact(base, mask, qsets[qs])
        mask.astype(np.uint8).tofile(P(slug(i) + ".mask"))
        write_vecs(P(slug(i) + ".truth.ivecs"), truth, np.int32)
        json.dump({"filter": name, "where": filt, "queries": qs}, open(P(slug(i) + ".json"), "w"))


def at_target(points, target=0.95):
    """(ef, recall, qps) of the smallest ef reaching the target, or the best."""
    ok = [p for p in points if p[1] >= target]
    return (min(ok, key=lambda p: p[0]), True) if ok else (max(points, key=lambda p: p[1]), False)


def vw_points(a, P, filt, qs):
    cmd = [os.path.join(a.tools, "vw-bench"), "-x", P("attrs.vwi"), "--queries", P(qs + ".npy"),
           "--base", base_path(P), "--sweep", ",".join(map(str, SWEEP)), "--repeat", "3",
           "-o", P("vw.json"),
           "--filter", json.dumps(filt)]
    run(cmd)
    res = json.load(open(P("vw.json")))
    pts = [(r["ef_search"], r["recall_at_k"], r["qps"]) for r in res["results"]]
    return pts, res["filter"]["nonmatching_results"]


def first_rows(src, dst, n, dtype):
    """The first n rows of a .fvecs/.ivecs file, as dst (the slow peer's
    shorter run: --hnswlib-nq)."""
    raw = np.fromfile(src, dtype=dtype)
    d = int(raw[:1].view(np.int32)[0])
    raw.reshape(-1, d + 1)[:n].tofile(dst)
    return dst


def hnsw_points(a, P, i, qs):
    qf, tf = P(qs + ".fvecs"), P(slug(i) + ".truth.ivecs")
    if a.hnswlib_nq:
        qf = first_rows(qf, P("hq.fvecs"), a.hnswlib_nq, np.float32)
        tf = first_rows(tf, P("ht.ivecs"), a.hnswlib_nq, np.int32)
    out = run([a.hnsw_filter, "search", P("hnswlib.idx"), qf, P(slug(i) + ".mask"), tf,
               ",".join(map(str, SWEEP))], stdout=subprocess.PIPE, text=True).stdout
    pts, bad = [], 0
    for line in out.split("\n"):
        if line.startswith("ef="):
            w = line.split()
            pts.append((int(w[0][3:]), float(w[2]), float(w[4])))
            bad += int(w[6])
    return pts, bad


def measure(a, P):
    base_path, base, q, _ = data(a, P)
    only = a.only.split(",") if a.only else None
    specs = [s for s in glob.glob(P("f*.json")) if os.path.basename(s)[1:-5].isdigit()]
    for spec in sorted(specs, key=lambda s: int(os.path.basename(s)[1:-5])):
        i = int(os.path.basename(spec)[1:-5])
        if only and slug(i) not in only:
            continue
        f = json.load(open(spec))
        mask = np.fromfile(P(slug(i) + ".mask"), dtype=np.uint8).astype(bool)
        qv = np.load(P(f["queries"] + ".npy"))
        _, bf_qps = exact(base, mask, qv)
        _, bf_gather_qps = exact(base, mask, qv, gather=True)
        vw, vw_bad = vw_points(a, P, f["where"], f["queries"])
        hn, hn_bad = hnsw_points(a, P, i, f["queries"]) if a.hnsw_filter else ([], 0)
        row = {"filter": f["filter"], "fraction": float(mask.mean()),
               "matching": int(mask.sum()), "nonmatching": vw_bad, "hnswlib_nonmatching": hn_bad,
               "vw_recall_ef64": [p[1] for p in vw if p[0] == 64][0], "vw_sweep": vw,
               "brute_qps": bf_qps, "brute_gather_qps": bf_gather_qps, "hnswlib_sweep": hn,
               "nq": len(qv), "hnswlib_nq": min(a.hnswlib_nq or len(qv), len(qv))}
        json.dump(row, open(P(slug(i) + ".result.json"), "w"), indent=1)
        print(json.dumps(row), flush=True)
    if not only or "cost" in only:
        json.dump(attribute_cost(a, P, base_path), open(P("cost.json"), "w"), indent=1)


def peak_rss_kb(cmd):
    """Peak resident set of a command, from GNU time."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True, text=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return int(r.stderr.strip().split("\n")[-1])


def attribute_cost(a, P, base_path):
    """File, library memory and process RSS per element, and unfiltered QPS
    with and without attributes, interleaved, median of five."""
    def stats(index):
        out = run([os.path.join(a.tools, "vw-query"), "-x", index, "--stats"],
                  stdout=subprocess.PIPE, text=True).stdout
        return json.loads(out)
    sa, sp = stats(P("attrs.vwi")), stats(P("plain.vwi"))
    rss = {k: peak_rss_kb([os.path.join(a.tools, "vw-query"), "-x", P(k + ".vwi"), "--stats"])
           for k in ("attrs", "plain")}
    qps = {"attrs": [], "plain": []}
    pair = None
    if a.pair_bench:  # one process, paired rounds: resolves a few per cent
        out = run([a.pair_bench, P("plain.vwi"), P("attrs.vwi"), P("q.npy"), "64", "21"],
                  stdout=subprocess.PIPE, text=True).stdout
        pair = out.strip().split("\n")[-1]
    for _ in range(5 if not a.pair_bench else 1):
        for key in ("plain", "attrs"):
            run([os.path.join(a.tools, "vw-bench"), "-x", P(key + ".vwi"), "--queries",
                 P("q.npy"), "--base", base_path, "--ef", "64", "--repeat", "3",
                 "-o", P("ab.json")])
            res = json.load(open(P("ab.json")))["results"][0]
            qps[key].append(res["qps"])
            recall = res["recall_at_k"]
    return {"file_attrs": os.path.getsize(P("attrs.vwi")),
            "file_plain": os.path.getsize(P("plain.vwi")),
            "mem_attrs": sa.get("memory_bytes"), "mem_plain": sp.get("memory_bytes"),
            "rss_kb_attrs": rss["attrs"], "rss_kb_plain": rss["plain"], "n": sa.get("count"),
            "qps_median": {k: float(np.median(v)) for k, v in qps.items()}, "qps_runs": qps,
            "pair": pair,
            "unfiltered_recall_ef64": recall}


def fmt_point(pts):
    if not pts:
        return "not measured", None
    p, ok = at_target([tuple(x) for x in pts])
    if ok:
        return "%d / %.3f / %.0f" % p, p[2]
    return "never (best %.3f at ef %d)" % (p[1], p[0]), None


def table(P):
    print("| filter | matching | non-matching results (vw / hnswlib) | vw recall@10, ef 64 | "
          "vw ef / recall / QPS at >= 0.95 | hnswlib functor ef / recall / QPS at >= 0.95 | "
          "brute force QPS (rows copied before / per query) | vw / hnswlib | vw / brute |")
    print("|---|---:|---:|---:|---|---|---:|---:|---:|")
    for path in sorted(glob.glob(P("f*.result.json")), key=lambda s: int(
            os.path.basename(s)[1:].split(".")[0])):
        r = json.load(open(path))
        vs, vq = fmt_point(r["vw_sweep"])
        hs, hq = fmt_point(r["hnswlib_sweep"])
        if r.get("hnswlib_nq") and r["hnswlib_nq"] < r.get("nq", 200) and r["hnswlib_sweep"]:
            hs += " (%d queries)" % r["hnswlib_nq"]
        print("| %s | %d (%.3g %%) | %d / %d | %.3f | %s | %s | %.0f / %.0f | %s | %s |" % (
            r["filter"], r["matching"], 100 * r["fraction"], r["nonmatching"],
            r["hnswlib_nonmatching"], r["vw_recall_ef64"], vs, hs, r["brute_qps"],
            r.get("brute_gather_qps", 0),
            "%.1f" % (vq / hq) if vq and hq else "-",
            "%.1f" % (vq / r["brute_qps"]) if vq else "-"))
    if os.path.exists(P("cost.json")):
        c = json.load(open(P("cost.json")))
        n, m = c["n"], c["qps_median"]
        print("\nattributes: file +%.1f bytes/element, library memory +%.1f bytes/element, "
              "peak RSS +%.1f bytes/element" % (
                  (c["file_attrs"] - c["file_plain"]) / n,
                  ((c["mem_attrs"] or 0) - (c["mem_plain"] or 0)) / n,
                  (c["rss_kb_attrs"] - c["rss_kb_plain"]) * 1024 / n))
        print("unfiltered QPS at ef 64 (median of %d vw-bench runs): without %.0f, with %.0f "
              "(%.3f); unfiltered recall@10 at ef 64: %.3f" % (len(c["qps_runs"]["plain"]),
                                                              m["plain"], m["attrs"],
                                                       m["attrs"] / m["plain"],
                                                       c["unfiltered_recall_ef64"]))
        if c.get("pair"):
            print("paired rounds in one process (vw_pair_bench, a = without, b = with): " +
                  c["pair"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["prepare", "measure", "table"])
    ap.add_argument("--tools")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hnsw-filter", help="bench/hnsw_filter.cpp built against hnswlib 0.8")
    ap.add_argument("--base", help="base vectors (.fvecs/.npy); default: vw-gen makes them")
    ap.add_argument("--queries", help="query vectors (with --base)")
    ap.add_argument("--dist", default="gaussian")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--only", help="measure: these rows (f0,f1,...,cost)")
    ap.add_argument("--pair-bench", help="measure cost: bench/vw_pair_bench for the unfiltered "
                    "QPS with/without attributes (paired rounds in one process)")
    ap.add_argument("--hnswlib-nq", type=int, default=0,
                    help="measure: hnswlib's functor on the first N queries only (its slow rows)")
    a = ap.parse_args()
    if a.base and not a.queries:
        ap.error("--base needs --queries")
    os.makedirs(a.out, exist_ok=True)
    P = lambda name: os.path.join(a.out, name)  # noqa: E731
    if a.phase == "prepare":
        prepare(a, P)
    elif a.phase == "measure":
        measure(a, P)
    table(P)


if __name__ == "__main__":
    sys.exit(main())
