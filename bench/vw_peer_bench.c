/* vw_peer_bench: libvwhnsw measured exactly the way ../shared/peers/peer_bench.cpp
 * measures hnswlib and Faiss, so the figures can stand side by side.
 *
 *   vw_peer_bench build  <base.fvecs> <index_out> <M> <efC> <threads> [noreorder] [f32|f16|i8]
 *                        [nofloat32] [residual] [packed]
 *   vw_peer_bench search <index> <query.fvecs> <gt.ivecs> <ef,ef,...> <threads> [reps] [LOAD]
 *   vw_peer_bench load   <index> [LOAD] [times]
 *   vw_peer_bench reorder <index_in> <index_out>
 *
 * LOAD is read (default), mmap, read-noverify or mmap-noverify: the
 * vw_index_load flags (VW_LOAD_MMAP, VW_LOAD_NO_VERIFY); or import (a Faiss
 * file, or any file vw_index_import reads) or import-l2, import-ip,
 * import-cosine (an hnswlib file, whose metric is not in it).
 *
 * build : reads the base vectors, builds with <threads> threads (labels = row
 *         numbers) in the given storage kind (default f32; nofloat32: a
 *         compact index without float32 rows; residual: i8 nofloat32 with
 *         VW_PARAMS_RESIDUAL), reorders it (vw_index_reorder,
 *         as vw-build does; not with noreorder), saves (packed: with
 *         VW_SAVE_PACK_LINKS). Prints build seconds
 *         (graph construction and reorder), save seconds, index bytes, peak
 *         RSS.
 * search: loads the index (timed); one untimed warm-up pass at ef=64; then for
 *         each ef, <reps> passes of all queries one at a time on one thread
 *         (k=10), latency = CLOCK_MONOTONIC around the single search call;
 *         recall@10 against gt[:10]. Then a batch pass at ef=64 over
 *         <threads> threads (vw_index_search_batch), 3 times. Peak RSS last,
 *         and the RSS now (after all passes: file-backed pages of a mapped
 *         index count). The output lines have the same fields as
 *         peer_bench's. VW_RERANK=N sets the re-rank depth (default: the
 *         library's).
 * load  : loads the index `times` times (default 5) and prints each load's
 *         seconds and their median: the cost of the checks and checksums. */
#include "vwhnsw.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#define K 10

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Resident set now (VmRSS): anonymous and file-backed pages. */
static double rss_now_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double mb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            mb = atof(line + 6) / 1024.0;
    if (f)
        fclose(f);
    return mb;
}

static long long file_bytes(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static vw_dataset *read_or_die(const char *path) {
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(path, VW_FORMAT_AUTO, &ds);
    if (st != VW_OK) {
        fprintf(stderr, "vw_peer_bench: %s: %s (%s)\n", path, vw_strerror(st),
                vw_last_error_detail());
        exit(1);
    }
    return ds;
}

static void die_on(vw_status st, const char *what) {
    if (st != VW_OK) {
        fprintf(stderr, "vw_peer_bench: %s: %s (%s)\n", what, vw_strerror(st),
                vw_last_error_detail());
        exit(1);
    }
}

static int cmd_build(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "build <base.fvecs> <index_out> <M> <efC> <threads> [noreorder]\n");
        return 2;
    }
    double t0 = now();
    vw_dataset *base = read_or_die(argv[2]);
    double t1 = now();
    vw_params p;
    vw_params_default(&p, base->dim);
    p.M = (uint32_t)atoi(argv[4]);
    p.ef_construction = (uint32_t)atoi(argv[5]);
    p.capacity = base->n;
    unsigned threads = (unsigned)atoi(argv[6]);
    bool reorder = true;
    unsigned save = VW_SAVE_DEFAULT;
    for (int i = 7; i < argc; i++)
        if (strcmp(argv[i], "noreorder") == 0)
            reorder = false;
        else if (strcmp(argv[i], "nofloat32") == 0)
            p.flags |= VW_PARAMS_NO_FLOAT32;
        else if (strcmp(argv[i], "residual") == 0)
            p.flags |= VW_PARAMS_RESIDUAL;
        else if (strcmp(argv[i], "packed") == 0)
            save = VW_SAVE_PACK_LINKS;
        else
            die_on(vw_storage_parse(argv[i], &p.storage), argv[i]);
    printf("engine=vwhnsw base=%s n=%llu d=%u M=%u efC=%u threads=%u simd=%s storage=%s "
           "float32=%s residual=%s links=%s\n",
           argv[2], (unsigned long long)base->n, base->dim, p.M, p.ef_construction, threads,
           vw_simd_name(vw_simd_active()), vw_storage_name(p.storage),
           p.flags & VW_PARAMS_NO_FLOAT32 ? "no" : "yes",
           p.flags & VW_PARAMS_RESIDUAL ? "4bit" : "no", save ? "packed" : "fixed");
    printf("data_load_s=%.3f\n", t1 - t0);
    fflush(stdout);
    uint64_t *labels = malloc(base->n * sizeof *labels);
    for (uint64_t i = 0; i < base->n; i++)
        labels[i] = i;
    vw_index *ix = NULL;
    double tb = now();
    die_on(vw_index_create(&p, &ix), "create");
    die_on(vw_index_add_batch(ix, base->data, labels, base->n, threads, NULL, NULL), "build");
    double tr = now();
    if (reorder)
        die_on(vw_index_reorder(ix), "reorder");
    double te = now();
    /* build_s includes the reorder: it is part of what vw-build does */
    printf("reorder=%s reorder_s=%.3f\nbuild_s=%.3f\n", reorder ? "bfs" : "none", te - tr, te - tb);
    fflush(stdout);
    die_on(vw_index_save_ex(ix, argv[3], save), argv[3]);
    printf("save_s=%.3f\nindex_file=%s\nindex_bytes=%lld\npeak_rss_mb=%.1f\n", now() - te, argv[3],
           file_bytes(argv[3]), peak_rss_mb());
    vw_index_free(ix);
    vw_dataset_free(base);
    free(labels);
    return 0;
}

/* Load modes beyond the vw_index_load flags: vw_index_import, with a metric
 * (hnswlib files) or without. */
#define LOAD_IMPORT        (1u << 16)
#define LOAD_METRIC(flags) ((int)((flags) >> 17 & 3u)) /* 0 none, else vw_metric + 1 */

static unsigned parse_load(const char *s) {
    if (!s || strcmp(s, "read") == 0)
        return VW_LOAD_DEFAULT;
    if (strcmp(s, "import") == 0)
        return LOAD_IMPORT;
    vw_metric m;
    if (strncmp(s, "import-", 7) == 0 && vw_metric_parse(s + 7, &m) == VW_OK)
        return LOAD_IMPORT | (unsigned)(m + 1) << 17;
    if (strcmp(s, "mmap") == 0)
        return VW_LOAD_MMAP;
    if (strcmp(s, "read-noverify") == 0)
        return VW_LOAD_NO_VERIFY;
    if (strcmp(s, "mmap-noverify") == 0)
        return VW_LOAD_MMAP | VW_LOAD_NO_VERIFY;
    fprintf(stderr,
            "vw_peer_bench: load mode %s: expected read, mmap, read-noverify, "
            "mmap-noverify, import or import-l2|ip|cosine\n",
            s);
    exit(2);
}

static const char *load_name(unsigned flags) {
    static const char *const names[] = {"read", "mmap", "read-noverify", "mmap-noverify"};
    static const char *const imports[] = {"import", "import-l2", "import-ip", "import-cosine"};
    if (flags & LOAD_IMPORT)
        return imports[LOAD_METRIC(flags)];
    return names[(flags & VW_LOAD_MMAP ? 1 : 0) + (flags & VW_LOAD_NO_VERIFY ? 2 : 0)];
}

/* vw_index_load, or vw_index_import for another engine's file. */
static void open_index(const char *path, unsigned flags, vw_index **ix) {
    if (!(flags & LOAD_IMPORT)) {
        die_on(vw_index_load(path, flags, ix), path);
        return;
    }
    vw_import_options o;
    vw_import_options_default(&o);
    o.has_metric = LOAD_METRIC(flags) != 0;
    o.metric = o.has_metric ? (vw_metric)(LOAD_METRIC(flags) - 1) : VW_METRIC_L2;
    die_on(vw_index_import(path, &o, ix), path);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static double pct(const double *sorted, size_t n, double p) {
    size_t r = (size_t)ceil(p * (double)n);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return sorted[r - 1];
}

static double recall_at_10(const uint64_t *res, const vw_dataset *gt, size_t nq) {
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (int j = 0; j < K; j++)
            for (int g = 0; g < 10; g++)
                if ((uint64_t)gt->data[i * gt->dim + g] == res[i * K + j]) {
                    hit++;
                    break;
                }
    return (double)hit / ((double)nq * 10.0);
}

static uint32_t rerank_option(void) {
    const char *e = getenv("VW_RERANK");
    return e ? (uint32_t)atoi(e) : 0;
}

static void search_all(vw_index *ix, const vw_dataset *q, uint32_t ef, uint64_t *res, double *lat) {
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = ef;
    o.rerank = rerank_option();
    for (uint64_t i = 0; i < q->n; i++) {
        uint32_t found = 0;
        float dist[K];
        double a = now();
        vw_status st =
            vw_index_search_ex(ix, q->data + i * q->dim, K, &o, res + i * K, dist, &found);
        double b = now();
        die_on(st, "search");
        for (uint32_t j = found; j < K; j++)
            res[i * K + j] = UINT64_MAX;
        if (lat)
            lat[i] = (b - a) * 1e6;
    }
}

static int cmd_search(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr,
                "search <index> <query.fvecs> <gt.ivecs> <ef,ef,..> <threads> [reps] [mmap]\n");
        return 2;
    }
    const char *index_path = argv[2];
    unsigned threads = (unsigned)atoi(argv[6]);
    int reps = argc > 7 ? atoi(argv[7]) : 1;
    unsigned flags = parse_load(argc > 8 ? argv[8] : NULL);
    vw_dataset *q = read_or_die(argv[3]);
    vw_dataset *gt = read_or_die(argv[4]);
    if (gt->n != q->n || gt->dim < 10) {
        fprintf(stderr, "vw_peer_bench: gt/query count mismatch\n");
        return 1;
    }
    double t0 = now();
    vw_index *ix = NULL;
    open_index(index_path, flags, &ix);
    double load_s = now() - t0;
    vw_stats vs;
    die_on(vw_index_stats(ix, &vs), "stats");
    printf("engine=vwhnsw index=%s index_bytes=%lld nq=%llu d=%u k=%d reps=%d simd=%s load=%s\n",
           index_path, file_bytes(index_path), (unsigned long long)q->n, q->dim, K, reps,
           vw_simd_name(vw_simd_active()), load_name(flags));
    printf("storage=%s float32=%s exact_distances=%s bytes_per_vector=%u rerank=%u\n",
           vw_storage_name(vs.storage), vs.float32_kept ? "yes" : "no",
           vs.exact_distances ? "yes" : "no", vs.bytes_per_vector, rerank_option());
    printf("load_s=%.3f rss_after_load_mb=%.1f\n", load_s, peak_rss_mb());
    fflush(stdout);

    uint64_t *res = malloc(q->n * K * sizeof *res);
    double *lat = malloc(q->n * (size_t)reps * sizeof *lat);
    search_all(ix, q, 64, res, NULL); /* warm-up */
    printf("%6s %9s %10s %9s %9s %9s %9s\n", "ef", "recall@10", "QPS_1t", "mean_us", "p50_us",
           "p95_us", "p99_us");
    for (char *tok = strtok(argv[5], ","); tok; tok = strtok(NULL, ",")) {
        uint32_t ef = (uint32_t)atoi(tok);
        double ta = now(), rec = 0;
        for (int r = 0; r < reps; r++) {
            search_all(ix, q, ef, res, lat + (size_t)r * q->n);
            rec = recall_at_10(res, gt, q->n);
        }
        double wall = now() - ta;
        size_t nl = q->n * (size_t)reps;
        qsort(lat, nl, sizeof *lat, cmp_double);
        double mean = 0;
        for (size_t i = 0; i < nl; i++)
            mean += lat[i];
        mean /= (double)nl;
        printf("%6u %9.4f %10.1f %9.1f %9.1f %9.1f %9.1f\n", ef, rec, (double)nl / wall, mean,
               pct(lat, nl, 0.50), pct(lat, nl, 0.95), pct(lat, nl, 0.99));
        fflush(stdout);
    }
    for (int r = 0; r < 3; r++) {
        double a = now();
        vw_search_options o;
        vw_search_options_default(&o);
        o.rerank = rerank_option();
        die_on(vw_index_search_batch_ex(ix, q->data, q->n, K, &o, threads, res, NULL, NULL),
               "batch search");
        double w = now() - a;
        printf("batch ef=64 threads=%u run=%d QPS=%.1f recall@10=%.4f\n", threads, r,
               (double)q->n / w, recall_at_10(res, gt, q->n));
        fflush(stdout);
    }
    printf("peak_rss_mb=%.1f\nrss_now_mb=%.1f\n", peak_rss_mb(), rss_now_mb());
    free(res);
    free(lat);
    vw_index_free(ix);
    vw_dataset_free(q);
    vw_dataset_free(gt);
    return 0;
}

static int cmd_load(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "load <index> [read|mmap|read-noverify|mmap-noverify|import[-METRIC]] "
                        "[times]\n");
        return 2;
    }
    unsigned flags = parse_load(argc > 3 ? argv[3] : NULL);
    int times = argc > 4 ? atoi(argv[4]) : 5;
    if (times < 1 || times > 1000)
        times = 5;
    double *s = malloc((size_t)times * sizeof *s);
    for (int i = 0; i < times; i++) {
        vw_index *ix = NULL;
        double t0 = now();
        open_index(argv[2], flags, &ix);
        s[i] = now() - t0;
        vw_index_free(ix);
        printf("load=%s run=%d load_s=%.4f\n", load_name(flags), i, s[i]);
    }
    qsort(s, (size_t)times, sizeof *s, cmp_double);
    printf("load=%s median_load_s=%.4f index_bytes=%lld\n", load_name(flags), s[times / 2],
           file_bytes(argv[2]));
    free(s);
    return 0;
}

/* A reordered copy of an index built with noreorder: the same graph in both
 * numberings, for bench/reorder_ab.sh. */
static int cmd_reorder(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "reorder <index_in> <index_out>\n");
        return 2;
    }
    vw_index *ix = NULL;
    die_on(vw_index_load(argv[2], VW_LOAD_DEFAULT, &ix), argv[2]);
    double t0 = now();
    die_on(vw_index_reorder(ix), "reorder");
    printf("reorder_s=%.3f\n", now() - t0);
    die_on(vw_index_save(ix, argv[3]), argv[3]);
    vw_index_free(ix);
    return 0;
}

int main(int argc, char **argv) {
    if (vw_simd_env_status() != VW_OK) {
        fprintf(stderr, "vw_peer_bench: %s\n", vw_last_error_detail());
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "build") == 0)
        return cmd_build(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "search") == 0)
        return cmd_search(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return cmd_load(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "reorder") == 0)
        return cmd_reorder(argc, argv);
    fprintf(stderr, "usage: vw_peer_bench build|search|load|reorder ...\n");
    return 2;
}
