#!/usr/bin/env python3
"""The original service's benchmark, over HTTP, against a running vw-serve.

What the original Python service's benchmark.py measured, through the API
instead of in process: N queries (default 1000) sent one after another to
POST /search on one keep-alive connection, latency average / P50 / P95 / P99
in milliseconds (wall time of each request, client side), and recall@10
against brute-force ground truth. Writes benchmark_results.json in those
terms. Python standard library only (http.client, json, struct).

Ground truth: --gt FILE (.ivecs, row i = the exact top-k labels of query i),
or --index INDEX.vwi --vw-bench PATH to have vw-bench compute it by brute
force over the index's own vectors (vw-bench --gt-out). Queries: --queries
FILE (.fvecs, or .npy float32 as the original benchmark.py took: the first
N rows).

Example (the 1M clustered reference workload):
  vw-serve -x c1m.vwi --normalize &
  bench/serve/benchmark_http.py --url http://127.0.0.1:8000 \\
      --queries queries.fvecs --index c1m.vwi --vw-bench build/tools/vw-bench
"""
import argparse
import http.client
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse


def read_vecs(path, kind, limit):
    """Rows of an .fvecs ('f') or .ivecs ('i') file: int32 dim, then dim values."""
    rows = []
    with open(path, "rb") as f:
        while len(rows) < limit:
            head = f.read(4)
            if len(head) < 4:
                break
            (dim,) = struct.unpack("<i", head)
            if dim <= 0 or dim > 1 << 16:
                raise SystemExit(f"{path}: bad row dimension {dim}")
            data = f.read(4 * dim)
            if len(data) < 4 * dim:
                raise SystemExit(f"{path}: truncated row {len(rows)}")
            rows.append(list(struct.unpack(f"<{dim}{kind}", data)))
    return rows


def read_npy(path, limit):
    """Rows of a 2-D float32 .npy file (C order), without numpy."""
    with open(path, "rb") as f:
        magic = f.read(8)
        if magic[:6] != b"\x93NUMPY" or magic[6] not in (1, 2, 3):
            raise SystemExit(f"{path}: not a .npy file")
        size = f.read(2 if magic[6] == 1 else 4)
        (hlen,) = struct.unpack("<H" if magic[6] == 1 else "<I", size)
        header = f.read(hlen).decode("latin1")
        if "'<f4'" not in header or "'fortran_order': False" not in header:
            raise SystemExit(f"{path}: the queries must be float32 in C order")
        shape = header.split("'shape':")[1].split("(")[1].split(")")[0]
        rows, dim = (int(x) for x in shape.split(",")[:2])
        out = []
        for _ in range(min(rows, limit)):
            out.append(list(struct.unpack(f"<{dim}f", f.read(4 * dim))))
        return out


def read_queries(path, limit):
    return read_npy(path, limit) if path.endswith(".npy") else read_vecs(path, "f", limit)


def ground_truth(args, n, k):
    if args.gt:
        return read_vecs(args.gt, "i", n)
    if not (args.index and args.vw_bench):
        raise SystemExit("ground truth: give --gt FILE.ivecs, or --index and --vw-bench")
    with tempfile.TemporaryDirectory() as tmp:
        gt = os.path.join(tmp, "gt.ivecs")
        subprocess.run([args.vw_bench, "-x", args.index, "--queries", args.queries,
                        "-k", str(k), "--gt-out", gt, "-o", os.path.join(tmp, "b.json")],
                       check=True, stdout=subprocess.DEVNULL)
        return read_vecs(gt, "i", n)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


class Client:
    """One keep-alive connection; reconnects if the server closed it."""

    def __init__(self, url, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                headers = {"Content-Type": "application/json"} if body is not None else {}
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--queries", required=True, help=".fvecs or .npy (float32) query file")
    ap.add_argument("--gt", help=".ivecs exact top-k per query")
    ap.add_argument("--index", help="the served index, for vw-bench to compute the ground truth")
    ap.add_argument("--vw-bench", help="path of vw-bench")
    ap.add_argument("-n", "--n-queries", type=int, default=1000)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--ef-search", type=int, help="sent as ef_search (default: the server's)")
    ap.add_argument("--warmup", type=int, default=50, help="requests before the timed ones")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("-o", "--output", default="benchmark_results.json")
    args = ap.parse_args()

    queries = read_queries(args.queries, args.n_queries)
    truth = ground_truth(args, len(queries), args.k)
    if len(truth) < len(queries):
        raise SystemExit(f"ground truth has {len(truth)} rows for {len(queries)} queries")
    client = Client(args.url, args.timeout)
    status, body = client.request("GET", "/stats")
    if status != 200:
        raise SystemExit(f"GET /stats: {status} {body[:200]!r}")
    stats = json.loads(body)

    def body_of(q):
        doc = {"query_vector": q, "k": args.k}
        if args.ef_search:
            doc["ef_search"] = args.ef_search
        return json.dumps(doc, separators=(",", ":"))

    bodies = [body_of(q) for q in queries]
    for i in range(min(args.warmup, len(bodies))):
        client.request("POST", "/search", bodies[i])

    latencies, hits, errors = [], 0, 0
    started = time.perf_counter()
    for i, b in enumerate(bodies):
        t0 = time.perf_counter()
        status, answer = client.request("POST", "/search", b)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        if status != 200:
            errors += 1
            continue
        found = json.loads(answer)["indices"][: args.k]
        hits += len(set(found) & set(truth[i][: args.k]))
    elapsed = time.perf_counter() - started

    lat = sorted(latencies)
    n = len(queries)
    result = {
        "benchmark": "the original service's benchmark over HTTP (bench/serve/benchmark_http.py)",
        "url": args.url,
        "index": {key: stats.get(key) for key in ("count", "dim", "metric", "M",
                                                  "ef_construction", "storage")},
        "ef_search": args.ef_search or stats.get("ef_search"),
        "normalize_queries": stats.get("normalize_queries"),
        "num_queries": n,
        "k": args.k,
        "errors": errors,
        "average_latency_ms": round(sum(lat) / n, 4),
        "p50_latency_ms": round(percentile(lat, 50), 4),
        "p95_latency_ms": round(percentile(lat, 95), 4),
        "p99_latency_ms": round(percentile(lat, 99), 4),
        "max_latency_ms": round(lat[-1], 4),
        f"recall_at_{args.k}": round(hits / (n * args.k), 4),
        "qps_one_connection": round(n / elapsed, 1),
    }
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"{n} queries over HTTP to {args.url}: latency avg {result['average_latency_ms']:.3f} ms, "
          f"P50 {result['p50_latency_ms']:.3f} ms, P95 {result['p95_latency_ms']:.3f} ms, "
          f"P99 {result['p99_latency_ms']:.3f} ms; recall@{args.k} "
          f"{result[f'recall_at_{args.k}']:.4f}; {result['qps_one_connection']} QPS on one "
          f"connection; {errors} errors; written to {args.output}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
