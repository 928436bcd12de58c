#!/usr/bin/env python3
"""Turns the logs of bench/compare.sh into markdown tables and recall-vs-QPS
plots.

    python3 bench/report.py OUT_DIR    -> OUT_DIR/report.md, OUT_DIR/recall_qps.svg
                                          (and recall_qps_rounds.svg after bench/rounds.sh)

The plots are drawn by the project's one plotter, vw-bench's: each engine's
curve is written as a results file in vw-bench's shape (OUT_DIR/<engine>-
results.json, -rounds.json) and `vw-bench --plot-from NAME=FILE ...` draws
them in one chart. vw-bench is taken from $VW_BENCH, else build/tools/.

Per engine: build seconds and peak RSS (from /usr/bin/time -v), index bytes,
load seconds, and per efSearch the recall@10, QPS and latency percentiles of
the single-thread passes, plus the 2-thread batch QPS (median of 3). QPS at
a recall target is interpolated on each engine's own curve (log QPS linear in
recall between the two efSearch values that bracket the target), so engines
are compared at equal recall rather than equal ef."""
import json
import math
import os
import re
import statistics
import subprocess
import sys

NAMES = {"vw": "libvwhnsw", "vw-f16": "libvwhnsw f16", "vw-f16n": "libvwhnsw f16, no f32",
         "vw-i8": "libvwhnsw i8", "vw-i8n": "libvwhnsw i8, no f32",
         "vw-i8np": "libvwhnsw i8, no f32, packed lists",
         "vw-i8r": "libvwhnsw i8 + 4-bit residual, packed lists", "hnswlib": "hnswlib",
         "faiss": "Faiss+SIMD", "usearch": "usearch", "usearch-f16": "usearch f16",
         "usearch-i8": "usearch i8"}
VW = [e for e in NAMES if e.startswith("vw")]


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def field(text, key):
    m = re.search(r"\b%s=([-\d.]+)" % re.escape(key), text)
    return float(m.group(1)) if m else None


def search_rows(text):
    rows = []
    for line in text.splitlines():
        p = line.split()
        if len(p) == 7 and p[0].isdigit():
            rows.append(dict(ef=int(p[0]), recall=float(p[1]), qps=float(p[2]), mean=float(p[3]),
                             p50=float(p[4]), p95=float(p[5]), p99=float(p[6]),
                             qps50=1e6 / float(p[4])))
    return rows


def rounds_table(out, res, targets):
    """Alternating rounds (bench/rounds.sh): per-round QPS at each recall
    target and our ratios to hnswlib, with their median."""
    logs = {}
    for e in res:
        n = 1
        while os.path.exists(os.path.join(out, "%s-round%d.log" % (e, n))):
            logs.setdefault(e, []).append(search_rows(read(os.path.join(out, "%s-round%d.log" % (e, n)))))
            n += 1
    if "hnswlib" not in logs or len(logs) < 2:
        return []
    lines = ["", "Alternating rounds (`bench/rounds.sh`: every engine searched in turn, one pass per "
             "efSearch, so all meet the same background load). QPS at each recall per round; "
             "ratio to hnswlib per round and the median:", "",
             "| engine | recall@10 | QPS per round | ratio to hnswlib per round | median ratio |",
             "|---|---|---|---|---|"]
    for e in logs:
        for t in targets:
            mine = [qps_at(r, t) for r in logs[e]]
            ref = [qps_at(r, t) for r in logs["hnswlib"]]
            ratios = [a / b for a, b in zip(mine, ref) if a and b]
            lines.append("| %s | %.2f | %s | %s | %s |" % (
                NAMES[e], t, ", ".join(fmt(x) for x in mine),
                ", ".join("%.2f" % x for x in ratios) if e != "hnswlib" else "",
                "**%.2f**" % statistics.median(ratios) if ratios and e != "hnswlib" else ""))
    return lines


def rounds_median(out, engines):
    """Per engine, the rounds' rows with the median QPS of each efSearch."""
    res = {}
    for e in engines:
        logs, n = [], 1
        while os.path.exists(os.path.join(out, "%s-round%d.log" % (e, n))):
            logs.append(search_rows(read(os.path.join(out, "%s-round%d.log" % (e, n)))))
            n += 1
        if logs:
            rows = [dict(r, qps=statistics.median(l[i]["qps"] for l in logs))
                    for i, r in enumerate(logs[0])]
            res[e] = dict(rows=rows)
    return res


def parse(out, e):
    build, search, tm = (read(os.path.join(out, "%s-%s" % (e, s))) for s in
                         ("build.log", "search.log", "build.time"))
    if not search:
        return None
    rows = search_rows(search)
    batch = [float(x) for x in re.findall(r"batch ef=64 threads=\d+ run=\d+ QPS=([\d.]+)", search)]
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tm)
    r = dict(rows=rows, batch=statistics.median(batch) if batch else None,
             build_s=field(build, "build_s"), index_bytes=field(build, "index_bytes"),
             build_rss_mb=int(m.group(1)) / 1024 if m else field(build, "peak_rss_mb"),
             load_s=field(search, "load_s"), search_rss_mb=field(search, "peak_rss_mb"),
             rss_now_mb=field(search, "rss_now_mb"))
    r["load_log"] = read(os.path.join(out, "%s-load.log" % e))
    mm = read(os.path.join(out, "%s-mmap.log" % e))
    if mm:
        r["mmap_load_s"] = field(mm, "load_s")
        r["mmap_rss_mb"] = field(mm, "peak_rss_mb")
    return r


def qps_at(rows, target, key="qps"):
    """QPS where the engine's recall curve crosses `target`, or None."""
    pts = sorted((r["recall"], r[key]) for r in rows)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    return None


def fmt(x, spec="%.0f"):
    return "n/a" if x is None else spec % x


def tables(meta, res, targets):
    out = ["Measured by `bench/compare.sh` (%s)." % meta.get("set", "?"), "",
           "%s, %s cores, commit %s, %s." % (meta.get("cpu", "?"), meta.get("cores", "?"),
                                             meta.get("commit", "?"), meta.get("date", "?")), ""]
    out += ["| engine | build s (%s thr) | build peak RSS MB | index bytes | load s | search RSS MB |"
            % meta.get("threads", "?"), "|---|---|---|---|---|---|"]
    for e, r in res.items():
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            NAMES[e], fmt(r["build_s"], "%.1f"), fmt(r["build_rss_mb"]),
            "n/a" if r["index_bytes"] is None else "{:,.0f}".format(r["index_bytes"]),
            fmt(r["load_s"], "%.3f"), fmt(r["search_rss_mb"], "%.1f")))
    out.append("")
    mm = res.get("vw", {})
    if "load_log" not in mm:
        mm["load_log"] = ""
    loads = re.findall(r"load=(\S+) median_load_s=([\d.]+)", mm.get("load_log", ""))
    if loads:
        out += ["libvwhnsw load time, median of 5: " + ", ".join(
            "%s %.1f ms" % (m, float(s) * 1000) for m, s in loads) + ".", ""]
    if mm.get("mmap_load_s") is not None:
        out += ["libvwhnsw with `VW_LOAD_MMAP`: load %.3f s, search RSS %.1f MB." % (
            mm["mmap_load_s"], mm["mmap_rss_mb"]), ""]
    out += ["Single-thread search, one query per call (%s passes of the 1000 queries pooled):" %
            meta.get("reps", "?"), "",
            "| engine | ef | recall@10 | QPS | mean µs | p50 µs | p95 µs | p99 µs |",
            "|---|---|---|---|---|---|---|---|"]
    for e, r in res.items():
        for row in r["rows"]:
            out.append("| %s | %d | %.4f | %.0f | %.1f | %.1f | %.1f | %.1f |" % (
                NAMES[e], row["ef"], row["recall"], row["qps"], row["mean"], row["p50"],
                row["p95"], row["p99"]))
    out += ["", "2-thread batch QPS at ef=64 (median of 3): " + ", ".join(
        "%s %s" % (NAMES[e], fmt(r["batch"])) for e, r in res.items()), ""]
    if "vw" in res:
        v64 = next((x for x in res["vw"]["rows"] if x["ef"] == 64), None)
        if v64 and res["vw"]["batch"]:
            out += ["libvwhnsw batch / single-thread QPS at ef=64: %.2f" % (
                res["vw"]["batch"] / v64["qps"]), ""]
    ours = [e for e in VW if e in res]
    out += ["QPS at equal recall (interpolated on each engine's curve) and our ratios to hnswlib:",
            "", "| recall@10 | " + " | ".join(NAMES[e] for e in res) + " | " +
            " | ".join("%s / hnswlib" % NAMES[e] for e in ours) + " |",
            "|---|" + "---|" * (len(res) + len(ours))]
    for key, label in (("qps", ""), ("qps50", " (1e6 / median latency)")):
        for t in targets:
            q = {e: qps_at(r["rows"], t, key) for e, r in res.items()}
            ratio = lambda a, o: ("%.2f" % (q[a] / q[o])) if q.get(a) and q.get(o) else "n/a"
            out.append("| %.2f%s | %s | %s |" % (t, label, " | ".join(fmt(q[e]) for e in res),
                                                 " | ".join(ratio(e, "hnswlib") for e in ours)))
    out += rounds_table(meta["out"], res, targets)
    efs = sorted({x["ef"] for r in res.values() for x in r["rows"]})
    out += ["", "recall@10 by efSearch:", "", "| ef | " + " | ".join(NAMES[e] for e in res) + " |",
            "|---|" + "---|" * len(res)]
    for ef in efs:
        cell = lambda r: next(("%.4f" % x["recall"] for x in r["rows"] if x["ef"] == ef), "")
        out.append("| %d | %s |" % (ef, " | ".join(cell(r) for r in res.values())))
    out += ["", "Memory: index file, search process peak RSS and RSS after all passes (MB):", "",
            "| engine | file bytes | file / hnswlib | peak RSS | RSS at end | RSS / hnswlib |",
            "|---|---|---|---|---|---|"]
    hb = res.get("hnswlib", {})
    for e, r in res.items():
        fr = ("%.3f" % (r["index_bytes"] / hb["index_bytes"])) if hb.get("index_bytes") and \
            r["index_bytes"] else "n/a"
        rr = ("%.3f" % (r["search_rss_mb"] / hb["search_rss_mb"])) if hb.get("search_rss_mb") and \
            r["search_rss_mb"] else "n/a"
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            NAMES[e], "n/a" if r["index_bytes"] is None else "{:,.0f}".format(r["index_bytes"]),
            fr, fmt(r["search_rss_mb"], "%.1f"), fmt(r.get("rss_now_mb"), "%.1f"), rr))
    for e in ours:
        if res[e].get("mmap_load_s") is not None:
            out.append("")
            out.append("%s with `VW_LOAD_MMAP`: search RSS %.1f MB." % (NAMES[e],
                                                                    res[e]["mmap_rss_mb"]))
    if "vw" in res and "hnswlib" in res:
        a = next((x for x in res["vw"]["rows"] if x["ef"] == 64), None)
        b = next((x for x in res["hnswlib"]["rows"] if x["ef"] == 64), None)
        if a and b:
            out += ["", "At efSearch=64, the original service's: libvwhnsw %.0f QPS at recall %.4f, "
                    "hnswlib %.0f "
                    "QPS at recall %.4f: ratio %.2f." % (a["qps"], a["recall"], b["qps"],
                                                         b["recall"], a["qps"] / b["qps"])]
    if "vw" in res and "hnswlib" in res and res["vw"]["build_s"] and res["hnswlib"]["build_s"]:
        out += ["", "Build time ratio libvwhnsw/hnswlib: %.2f." % (
            res["vw"]["build_s"] / res["hnswlib"]["build_s"])]
    return "\n".join(out) + "\n"


def plot(res, out, kind, title, svg):
    """Writes one vw-bench-shaped results file per engine and draws them."""
    args = [os.environ.get("VW_BENCH", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    "..", "build", "tools", "vw-bench")),
            "--plot", os.path.join(out, svg), "--plot-title", title]
    for e, r in res.items():
        path = os.path.join(out, "%s-%s.json" % (e, kind))
        doc = {"tool": "bench/report.py", "engine": NAMES[e], "k": 10,
               "results": [{"ef_search": x["ef"], "recall_at_k": x["recall"], "qps": x["qps"]}
                           for x in r["rows"]]}
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        args += ["--plot-from", "%s=%s" % (NAMES[e], path)]
    if not os.access(args[0], os.X_OK):
        print("report.py: %s not built; no %s" % (args[0], svg), file=sys.stderr)
        return
    subprocess.run(args, check=True)


def main():
    out = sys.argv[1]
    meta = {}
    for tok in read(os.path.join(out, "meta.txt")).split("\n"):
        for kv in ([tok] if tok.startswith(("cpu=", "date=", "commit=")) else tok.split()):
            if "=" in kv:
                k, v = kv.split("=", 1)
                meta[k] = v
    res = {e: r for e in NAMES for r in [parse(out, e)] if r}
    meta["out"] = out
    targets = {"seed100k": [0.90, 0.95], "seed": [0.90, 0.95],
               "clustered1m": [0.90, 0.95, 0.99]}.get(meta.get("set"), [0.90, 0.95, 0.99])
    md = tables(meta, res, targets)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(md)
    plot(res, out, "results", "recall vs QPS, %s (M=32, efC=200, k=10)" % meta.get("set", ""),
         "recall_qps.svg")
    med = rounds_median(out, NAMES)
    if len(med) > 1:
        plot(med, out, "rounds", "recall vs QPS, %s, median of alternating rounds" %
             meta.get("set", ""), "recall_qps_rounds.svg")
    print(md)


if __name__ == "__main__":
    main()
