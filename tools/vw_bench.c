/*
 * vw-bench - measures an index: recall@k against exact ground truth,
 * single-thread latency (mean/p50/p95/p99/max) and QPS per efSearch, an
 * optional multi-thread throughput run, and the smallest efSearch that
 * reaches a target recall. Writes JSON, a summary table and an SVG plot.
 *
 * Method: queries are searched one at a time on one thread, each timed with
 * CLOCK_MONOTONIC around vw_index_search; one untimed pass over all queries
 * warms caches first. QPS = queries / wall time of the pass. Percentiles use
 * the nearest-rank definition. Recall@k = |result ∩ truth[:k]| / k, averaged
 * over queries. Exact ground truth is brute force over the base vectors
 * (library SIMD kernels, all CPUs), ties broken by the smaller id.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_K         10u
#define DEFAULT_EF        64u
#define DEFAULT_N_QUERIES 1000u
#define MAX_QUERIES       10000000u
#define MAX_EFS           64
#define MAX_EVALS         64

static void usage(void) {
    printf("Usage: vw-bench -x INDEX [OPTIONS]\n"
           "Measure recall@k, latency and QPS of an index, per efSearch value.\n"
           "\n"
           "Index and queries:\n"
           "  -x, --index FILE        index written by vw-build (required), or a Faiss\n"
           "                          (faiss.write_index) or hnswlib (save_index) file\n"
           "      --metric NAME       the metric of an hnswlib file: l2, ip or cosine\n"
           "      --mmap              map the index instead of reading it\n"
           "      --queries FILE      query vectors (.npy, .fvecs, .bvecs, .fbin, .u8bin)\n"
           "      --n-queries Q       without --queries: generate Q queries (default %u)\n"
           "                          the way vw-gen does, from these options:\n"
           "      --dist NAME         clustered (default), gaussian or uniform\n"
           "      --clusters C        (default %u)\n"
           "      --spread S          (default %g)\n"
           "      --seed S            (default %u)\n"
           "                          Use the values given to vw-gen: then the queries are\n"
           "                          exactly `vw-gen --queries Q` ones (same distribution,\n"
           "                          same centres, not base vectors).\n"
           "Ground truth (exact top-k):\n"
           "      --gt FILE           read it from a .ivecs or .ibin file (row i = query i)\n"
           "      --base FILE         brute force over these vectors (row i = label i)\n"
           "                          With neither, the base vectors are read back from\n"
           "                          the index, whose labels must be 0..count-1 (as\n"
           "                          vw-build makes them).\n"
           "      --gt-out FILE       write the brute-force ground truth computed here\n"
           "                          (.ivecs or .ibin, k ids per query, nearest first),\n"
           "                          e.g. for other engines' benchmarks on the same data\n"
           "Measurement:\n"
           "  -k, --k K               neighbours per query, 1..%u (default %u)\n"
           "      --ef EF             one efSearch value (default %u)\n"
           "      --sweep LIST        several, e.g. 16,32,64,128,256\n"
           "      --target-recall R   also find the smallest efSearch whose recall@k\n"
           "                          reaches R (0 < R <= 1) on these queries: doubling\n"
           "                          from k, then bisection. If even the largest useful\n"
           "                          ef misses R, the best one is reported with\n"
           "                          \"reached\": false (exit status still 0)\n"
           "      --threads T         add a T-thread throughput run (vw_index_search_batch)\n"
           "                          per efSearch; 0 = all CPUs\n"
           "      --repeat N          timed passes per efSearch (default 1)\n"
           "      --rerank R          compact storage with float32: candidates re-scored\n"
           "                          exactly per query (default: the library's, 4k)\n"
           "Output:\n"
           "  -o, --output FILE       JSON results (default benchmark_results.json)\n"
           "      --plot FILE.svg     recall-vs-QPS plot, one point per efSearch\n"
           "      --build-report FILE JSON from `vw-build --report`, copied under \"build\"\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the library version and exit\n"
           "\n"
           "Examples:\n"
           "  vw-bench -x base.vwi --base base.npy --queries queries.fvecs --sweep 16,32,64,128\n"
           "  vw-bench -x base.vwi --target-recall 0.95 --threads 0 --plot recall_qps.svg\n",
           DEFAULT_N_QUERIES, TOOL_DEFAULT_CLUSTERS, TOOL_DEFAULT_SPREAD, TOOL_DEFAULT_SEED,
           VW_MAX_K, DEFAULT_K, DEFAULT_EF);
}

/* ------------------------------------------------------------ state */

typedef struct latency {
    double mean, p50, p95, p99, max; /* microseconds */
} latency;

typedef struct ef_result {
    uint32_t ef;
    double recall;
    double qps;
    latency lat;
    int has_batch;
    unsigned batch_threads;
    double batch_qps;
} ef_result;

typedef struct bench {
    /* options */
    const char *index_path, *queries_path, *base_path, *gt_path, *gt_out;
    const char *out_path, *plot_path, *build_report;
    const char *metric; /* --metric, for an hnswlib file */
    uint32_t k;
    uint32_t efs[MAX_EFS];
    size_t n_efs;
    uint64_t n_queries;
    tool_gen_params gp;
    int has_target;
    double target;
    int threads_given;
    unsigned threads;
    unsigned repeat;
    unsigned load_flags;
    uint32_t rerank;
    /* the index */
    vw_index *index;
    vw_stats stats;
    int64_t file_bytes;
    double load_seconds;
    /* queries and truth */
    float *queries;
    vw_dataset *queries_ds; /* when read from a file; else queries is malloc'ed */
    uint64_t nq;
    uint64_t *truth; /* nq x truth_k, each row sorted ascending for lookup */
    uint32_t truth_k;
    uint32_t truth_len; /* ids per row that count: min(k, base size) */
    const char *truth_source;
    double truth_seconds;
    /* scratch */
    uint64_t *labels; /* nq x k */
    double *lat_us;   /* nq x repeat */
    /* results */
    ef_result results[MAX_EFS];
    int target_reached;
    ef_result target_result;
    uint32_t eval_ef[MAX_EVALS];
    double eval_recall[MAX_EVALS];
    size_t n_evals;
} bench;

/* ------------------------------------------------------------ ground truth */

/* One candidate of a query's top-k: a max-heap on (dist, id) keeps the k
 * best seen so far with the worst on top. */
typedef struct cand {
    float dist;
    uint64_t id;
} cand;

static int cand_worse(const cand *a, const cand *b) {
    return a->dist > b->dist || (a->dist == b->dist && a->id > b->id);
}

static void heap_sift_down(cand *h, uint32_t n, uint32_t i) {
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_worse(&h[l], &h[m])) {
            m = l;
        }
        if (r < n && cand_worse(&h[r], &h[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_push(cand *h, uint32_t *n, cand c) {
    uint32_t i = (*n)++;
    h[i] = c;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!cand_worse(&h[i], &h[p])) {
            break;
        }
        cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    return cand_worse(x, y) ? 1 : (cand_worse(y, x) ? -1 : 0);
}

typedef struct gt_shared {
    const float *base;
    uint64_t n;
    const float *queries;
    uint64_t nq;
    uint32_t dim, k;
    int use_dot;   /* ip and cosine rank by 1 - dot */
    uint64_t *out; /* nq x k ids, nearest first */
    pthread_mutex_t lock;
    uint64_t next; /* next query block to take */
    uint64_t done; /* queries finished */
    int failed;
} gt_shared;

enum { GT_BLOCK = 32 }; /* queries sharing one pass over the base */

static void *gt_worker(void *arg) {
    gt_shared *g = arg;
    cand *heaps = malloc((size_t)GT_BLOCK * g->k * sizeof *heaps);
    if (!heaps) {
        pthread_mutex_lock(&g->lock);
        g->failed = 1;
        pthread_mutex_unlock(&g->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&g->lock);
        uint64_t q0 = g->next;
        g->next += GT_BLOCK;
        pthread_mutex_unlock(&g->lock);
        if (q0 >= g->nq) {
            break;
        }
        uint32_t nb = (uint32_t)(g->nq - q0 < GT_BLOCK ? g->nq - q0 : GT_BLOCK);
        uint32_t sizes[GT_BLOCK] = {0};
        /* Base rows stream once per block of queries, which keeps a large
         * base set from being read from memory once per query. Rows come in
         * id order and only a strictly nearer row replaces the worst, so
         * equal distances keep the smaller id. */
        for (uint64_t i = 0; i < g->n; i++) {
            const float *row = g->base + (size_t)i * g->dim;
            for (uint32_t b = 0; b < nb; b++) {
                const float *q = g->queries + (size_t)(q0 + b) * g->dim;
                float d = g->use_dot ? 1.0f - vw_distance_dot(row, q, g->dim)
                                     : vw_distance_l2sq(row, q, g->dim);
                cand *h = heaps + (size_t)b * g->k;
                if (sizes[b] < g->k) {
                    heap_push(h, &sizes[b], (cand){d, i});
                } else if (d < h[0].dist) {
                    h[0] = (cand){d, i};
                    heap_sift_down(h, g->k, 0);
                }
            }
        }
        for (uint32_t b = 0; b < nb; b++) {
            cand *h = heaps + (size_t)b * g->k;
            qsort(h, sizes[b], sizeof *h, cand_cmp);
            uint64_t *out = g->out + (size_t)(q0 + b) * g->k;
            for (uint32_t j = 0; j < g->k; j++) {
                out[j] = j < sizes[b] ? h[j].id : UINT64_MAX;
            }
        }
        pthread_mutex_lock(&g->lock);
        g->done += nb;
        pthread_mutex_unlock(&g->lock);
    }
    free(heaps);
    return NULL;
}

/* Exact top-k of every query over base (n rows), multi-threaded; a progress
 * bar on a terminal because this is minutes on a million vectors. */
static void brute_force(const float *base, uint64_t n, const float *queries, uint64_t nq,
                        uint32_t dim, uint32_t k, int use_dot, uint64_t *out) {
    enum { MAX_THREADS = 256 };
    gt_shared g = {.base = base,
                   .n = n,
                   .queries = queries,
                   .nq = nq,
                   .dim = dim,
                   .k = k,
                   .use_dot = use_dot,
                   .out = out};
    pthread_mutex_init(&g.lock, NULL);
    unsigned threads = tool_cpu_count();
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    pthread_t tids[MAX_THREADS];
    unsigned started = 0;
    for (unsigned t = 0; t < threads; t++) {
        if (pthread_create(&tids[started], NULL, gt_worker, &g) == 0) {
            started++;
        }
    }
    tool_progress progress;
    tool_progress_start(&progress, "ground truth", nq, isatty(STDERR_FILENO));
    if (started == 0) {
        gt_worker(&g);
    } else {
        for (;;) {
            pthread_mutex_lock(&g.lock);
            uint64_t done = g.done;
            int finished = g.next >= nq && done >= nq;
            pthread_mutex_unlock(&g.lock);
            if (finished || g.failed) {
                break;
            }
            tool_progress_update(&progress, done);
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        }
        for (unsigned t = 0; t < started; t++) {
            pthread_join(tids[t], NULL);
        }
    }
    tool_progress_finish(&progress, nq);
    pthread_mutex_destroy(&g.lock);
    if (g.failed) {
        tool_die("out of memory computing the ground truth");
    }
}

/* The base vectors: from --base, or read back from the index when its labels
 * are exactly 0..count-1. */
typedef struct base_set {
    float *data; /* n x dim, writable */
    uint64_t n;
    vw_dataset *ds; /* owns data when read from a file; else data is malloc'ed */
} base_set;

static base_set load_base(bench *b) {
    uint32_t dim = b->stats.dim;
    base_set out = {0};
    if (b->base_path) {
        vw_status st = vw_dataset_read(b->base_path, VW_FORMAT_AUTO, &out.ds);
        if (st != VW_OK) {
            tool_die_status(st, b->base_path);
        }
        if (out.ds->dim != dim) {
            tool_die("%s: base vectors have dimension %u, but the index %s has dimension %u",
                     b->base_path, out.ds->dim, b->index_path, dim);
        }
        if (out.ds->n != b->stats.count) {
            tool_die("%s: %llu base vectors, but the index %s holds %llu (labels must be the row "
                     "numbers; use --gt otherwise)",
                     b->base_path, (unsigned long long)out.ds->n, b->index_path,
                     (unsigned long long)b->stats.count);
        }
        out.data = out.ds->data;
        out.n = out.ds->n;
        return out;
    }
    if (!b->stats.float32_kept) {
        tool_die("%s: the index keeps no float32 vectors (%s storage), so exact ground truth "
                 "cannot be read back from it; give --base or --gt",
                 b->index_path, vw_storage_name(b->stats.storage));
    }
    out.n = b->stats.count;
    out.data = malloc((size_t)out.n * dim * sizeof(float));
    if (!out.data) {
        tool_die("%s: out of memory reading %llu vectors back", b->index_path,
                 (unsigned long long)out.n);
    }
    for (uint64_t i = 0; i < out.n; i++) {
        vw_status st = vw_index_get_vector(b->index, i, out.data + (size_t)i * dim);
        if (st == VW_ERR_NOT_FOUND) {
            tool_die("%s: labels are not 0..%llu, so the base vectors cannot be read back; "
                     "give --base or --gt",
                     b->index_path, (unsigned long long)(out.n - 1));
        }
        if (st != VW_OK) {
            tool_die_status(st, b->index_path);
        }
    }
    return out;
}

static void free_base(base_set *base) {
    if (base->ds) {
        vw_dataset_free(base->ds);
    } else {
        free(base->data);
    }
}

static void normalize_rows(float *data, uint64_t n, uint32_t dim, const char *what) {
    for (uint64_t i = 0; i < n; i++) {
        vw_status st = vw_normalize(data + (size_t)i * dim, dim);
        if (st != VW_OK) {
            char buf[96];
            snprintf(buf, sizeof buf, "%s row %llu", what, (unsigned long long)i);
            tool_die_status(st, buf);
        }
    }
}

/* Writes nq rows of the first `len` ids (nearest first) as int32 through the
 * vector-file API, which checks that every id fits. */
static void write_truth(const char *path, const uint64_t *truth, uint64_t nq, uint32_t k,
                        uint32_t len) {
    float *rows = malloc((size_t)nq * len * sizeof *rows);
    if (!rows) {
        tool_die("out of memory writing %s", path);
    }
    for (uint64_t q = 0; q < nq; q++) {
        for (uint32_t j = 0; j < len; j++) {
            rows[q * len + j] = (float)truth[q * k + j];
        }
    }
    vw_status st = vw_dataset_write(path, VW_FORMAT_AUTO, rows, nq, len);
    free(rows);
    if (st != VW_OK) {
        tool_die_status(st, path);
    }
}

static void compute_truth(bench *b) {
    double t0 = tool_now();
    base_set base = load_base(b);
    uint64_t n = base.n;
    vw_metric metric = b->stats.metric;
    const float *queries = b->queries;
    float *normalized = NULL;
    if (metric == VW_METRIC_COSINE) {
        /* The index ranks cosine by the normalized vectors; so must we. */
        normalize_rows(base.data, n, b->stats.dim, b->base_path ? b->base_path : b->index_path);
        normalized = malloc((size_t)b->nq * b->stats.dim * sizeof(float));
        if (!normalized) {
            tool_die("out of memory for the queries");
        }
        memcpy(normalized, b->queries, (size_t)b->nq * b->stats.dim * sizeof(float));
        normalize_rows(normalized, b->nq, b->stats.dim,
                       b->queries_path ? b->queries_path : "query");
        queries = normalized;
    }
    b->truth_k = b->k;
    b->truth = malloc((size_t)b->nq * b->k * sizeof *b->truth);
    if (!b->truth) {
        tool_die("out of memory for the ground truth");
    }
    brute_force(base.data, n, queries, b->nq, b->stats.dim, b->k, metric != VW_METRIC_L2, b->truth);
    b->truth_len = (uint32_t)(n < b->k ? n : b->k);
    if (b->gt_out) {
        /* ids pass through float32 in the vector-file API: exact below 2^24 */
        if (n > (1u << 24)) {
            tool_die("%s: --gt-out supports base sets up to 16,777,216 vectors", b->gt_out);
        }
        write_truth(b->gt_out, b->truth, b->nq, b->k, b->truth_len);
    }
    b->truth_source = b->base_path ? "brute force over --base" : "brute force over the index";
    b->truth_seconds = tool_now() - t0;
    free(normalized);
    free_base(&base);
}

/* Reads ground truth from .ivecs (per row int32 k + k int32) or .ibin
 * (uint32 n, uint32 k, then n*k int32). Read directly rather than through
 * vw_dataset_read, whose float32 rows cannot hold every int32 id exactly. */
static void read_truth_file(bench *b) {
    const char *path = b->gt_path;
    vw_dataset_format fmt = vw_dataset_format_from_path(path);
    if (fmt != VW_FORMAT_IVECS && fmt != VW_FORMAT_IBIN) {
        tool_die("%s: ground truth must be an .ivecs or .ibin file", path);
    }
    FILE *f = tool_open_input(path);
    if (fseek(f, 0, SEEK_END) != 0) {
        tool_die("%s: cannot seek: %s", path, strerror(errno));
    }
    long size = ftell(f);
    rewind(f);
    if (size < 8) {
        tool_die("%s: truncated: %ld bytes", path, size);
    }
    int32_t head[2];
    if (fread(head, sizeof(int32_t), 2, f) != 2) {
        tool_die("%s: read error", path);
    }
    uint64_t rows, cols;
    if (fmt == VW_FORMAT_IBIN) {
        rows = (uint32_t)head[0];
        cols = (uint32_t)head[1];
        if (cols == 0 || (uint64_t)size != 8 + rows * cols * 4) {
            tool_die("%s: header says %llu x %llu ids, which does not match the file size %ld",
                     path, (unsigned long long)rows, (unsigned long long)cols, size);
        }
        fseek(f, 8, SEEK_SET);
    } else {
        cols = (uint64_t)(head[0] > 0 ? head[0] : 0);
        if (cols == 0 || cols > 1000000 || (uint64_t)size % ((cols + 1) * 4) != 0) {
            tool_die("%s: not an .ivecs file (first row length %d, file size %ld)", path, head[0],
                     size);
        }
        rows = (uint64_t)size / ((cols + 1) * 4);
        rewind(f);
    }
    if (rows != b->nq) {
        tool_die("%s: %llu ground-truth rows for %llu queries", path, (unsigned long long)rows,
                 (unsigned long long)b->nq);
    }
    if (cols < b->k) {
        tool_die("%s: ground truth has %llu ids per query, fewer than k = %u", path,
                 (unsigned long long)cols, b->k);
    }
    b->truth_k = b->k;
    b->truth_len = b->k;
    b->truth = malloc((size_t)rows * b->k * sizeof *b->truth);
    int32_t *row = malloc((size_t)(cols + 1) * sizeof *row);
    if (!b->truth || !row) {
        tool_die("%s: out of memory", path);
    }
    for (uint64_t r = 0; r < rows; r++) {
        int32_t *ids = row;
        if (fmt == VW_FORMAT_IVECS) {
            if (fread(row, sizeof *row, cols + 1, f) != cols + 1) {
                tool_die("%s: read error", path);
            }
            if ((uint64_t)row[0] != cols) {
                tool_die("%s: row %llu has %d ids, row 0 has %llu", path, (unsigned long long)r,
                         row[0], (unsigned long long)cols);
            }
            ids = row + 1;
        } else if (fread(row, sizeof *row, cols, f) != cols) {
            tool_die("%s: read error", path);
        }
        for (uint32_t j = 0; j < b->k; j++) {
            if (ids[j] < 0) {
                tool_die("%s: row %llu holds a negative id %d", path, (unsigned long long)r,
                         ids[j]);
            }
            b->truth[r * b->k + j] = (uint64_t)ids[j];
        }
    }
    free(row);
    fclose(f);
    b->truth_source = path;
}

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts each truth row's first truth_len ids so that hits are found by
 * binary search (k may be in the thousands). */
static void index_truth(bench *b) {
    for (uint64_t q = 0; q < b->nq; q++) {
        qsort(b->truth + q * b->truth_k, b->truth_len, sizeof(uint64_t), u64_cmp);
    }
}

static uint32_t count_hits(const bench *b, uint64_t q, const uint64_t *labels, uint32_t found) {
    const uint64_t *row = b->truth + q * b->truth_k;
    uint32_t hits = 0;
    for (uint32_t i = 0; i < found; i++) {
        if (bsearch(&labels[i], row, b->truth_len, sizeof *row, u64_cmp)) {
            hits++;
        }
    }
    return hits;
}

/* ------------------------------------------------------------ queries */

static void load_queries(bench *b) {
    uint32_t dim = b->stats.dim;
    if (b->queries_path) {
        vw_dataset *ds = NULL;
        vw_status st = vw_dataset_read(b->queries_path, VW_FORMAT_AUTO, &ds);
        if (st != VW_OK) {
            tool_die_status(st, b->queries_path);
        }
        if (ds->dim != dim) {
            tool_die("%s: queries have dimension %u, but the index %s has dimension %u",
                     b->queries_path, ds->dim, b->index_path, dim);
        }
        if (ds->n == 0 || ds->n > MAX_QUERIES) {
            tool_die("%s: %llu queries (need 1..%u)", b->queries_path, (unsigned long long)ds->n,
                     MAX_QUERIES);
        }
        b->nq = ds->n;
        b->queries = ds->data;
        b->queries_ds = ds; /* owns the rows */
        return;
    }
    b->gp.dim = dim;
    tool_gen *g = tool_gen_create(&b->gp);
    b->queries = malloc((size_t)b->n_queries * dim * sizeof(float));
    if (!g || !b->queries) {
        tool_die("out of memory for %llu queries", (unsigned long long)b->n_queries);
    }
    if (tool_gen_rows(g, TOOL_STREAM_QUERY, 0, b->n_queries, 0, b->queries) != 0) {
        tool_die("out of memory generating queries");
    }
    tool_gen_free(g);
    b->nq = b->n_queries;
}

/* ------------------------------------------------------------ measuring */

static int double_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values: the ceil(p/100 * n)-th. */
static double percentile(const double *sorted, size_t n, double p) {
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1) {
        rank = 1;
    }
    return sorted[rank > n ? n - 1 : rank - 1];
}

static vw_search_options options(const bench *b, uint32_t ef) {
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = ef;
    o.rerank = b->rerank;
    return o;
}

static void search_or_die(const bench *b, uint64_t q, uint32_t ef, uint64_t *labels,
                          uint32_t *found) {
    vw_search_options o = options(b, ef);
    vw_status st = vw_index_search_ex(b->index, b->queries + (size_t)q * b->stats.dim, b->k, &o,
                                      labels, NULL, found);
    if (st != VW_OK) {
        char what[64];
        snprintf(what, sizeof what, "query %llu", (unsigned long long)q);
        tool_die_status(st, what);
    }
}

static void warm_up(const bench *b, uint32_t ef) {
    uint32_t found;
    for (uint64_t q = 0; q < b->nq; q++) {
        search_or_die(b, q, ef, b->labels, &found);
    }
}

/* Recall only, with every CPU (the results do not depend on the threads). */
static double measure_recall(bench *b, uint32_t ef) {
    uint32_t *found = malloc((size_t)b->nq * sizeof *found);
    if (!found) {
        tool_die("out of memory");
    }
    vw_search_options o = options(b, ef);
    vw_status st =
        vw_index_search_batch_ex(b->index, b->queries, b->nq, b->k, &o, 0, b->labels, NULL, found);
    if (st != VW_OK) {
        tool_die_status(st, b->index_path);
    }
    uint64_t hits = 0;
    for (uint64_t q = 0; q < b->nq; q++) {
        hits += count_hits(b, q, b->labels + q * b->k, found[q]);
    }
    free(found);
    return (double)hits / ((double)b->nq * b->truth_len);
}

static void measure_batch(bench *b, uint32_t ef, ef_result *r) {
    unsigned threads = b->threads ? b->threads : tool_cpu_count();
    double wall = 0.0;
    for (unsigned pass = 0; pass < b->repeat; pass++) {
        double t0 = tool_now();
        vw_search_options o = options(b, ef);
        vw_status st = vw_index_search_batch_ex(b->index, b->queries, b->nq, b->k, &o, threads,
                                                b->labels, NULL, NULL);
        wall += tool_now() - t0;
        if (st != VW_OK) {
            tool_die_status(st, b->index_path);
        }
    }
    r->has_batch = 1;
    r->batch_threads = threads;
    r->batch_qps = wall > 0 ? (double)b->nq * b->repeat / wall : 0.0;
}

/* Timed single-thread passes at one ef. */
static void measure(bench *b, uint32_t ef, ef_result *r) {
    uint64_t hits = 0;
    double wall = 0.0;
    size_t n = 0;
    for (unsigned pass = 0; pass < b->repeat; pass++) {
        double pass_start = tool_now();
        for (uint64_t q = 0; q < b->nq; q++) {
            uint32_t found;
            double t0 = tool_now();
            search_or_die(b, q, ef, b->labels, &found);
            double t1 = tool_now();
            b->lat_us[n++] = (t1 - t0) * 1e6;
            if (pass == 0) {
                hits += count_hits(b, q, b->labels, found);
            }
        }
        wall += tool_now() - pass_start;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += b->lat_us[i];
    }
    qsort(b->lat_us, n, sizeof *b->lat_us, double_cmp);
    r->ef = ef;
    r->recall = (double)hits / ((double)b->nq * b->truth_len);
    r->qps = wall > 0 ? (double)n / wall : 0.0;
    r->lat.mean = sum / (double)n;
    r->lat.p50 = percentile(b->lat_us, n, 50);
    r->lat.p95 = percentile(b->lat_us, n, 95);
    r->lat.p99 = percentile(b->lat_us, n, 99);
    r->lat.max = b->lat_us[n - 1];
    r->has_batch = 0;
    if (b->threads_given) {
        measure_batch(b, ef, r);
    }
}

static double cached_recall(bench *b, uint32_t ef) {
    for (size_t i = 0; i < b->n_evals; i++) {
        if (b->eval_ef[i] == ef) {
            return b->eval_recall[i];
        }
    }
    double r = measure_recall(b, ef);
    if (b->n_evals < MAX_EVALS) {
        b->eval_ef[b->n_evals] = ef;
        b->eval_recall[b->n_evals] = r;
        b->n_evals++;
    }
    return r;
}

/* Smallest ef with recall >= target: efs below k search like ef = k, so
 * start there, double until the target is met (or ef reaches the point
 * where the beam holds the whole index), then bisect. Recall grows with ef
 * in practice, not strictly, so "smallest" means the first ef found with
 * ef - 1 below the target. */
static void find_target(bench *b) {
    uint64_t cap64 = b->stats.count > b->k ? b->stats.count : b->k;
    uint32_t cap = cap64 > VW_MAX_EF ? VW_MAX_EF : (uint32_t)cap64;
    uint32_t lo = b->k - 1; /* known (or taken) to miss */
    uint32_t hi = b->k;
    while (cached_recall(b, hi) < b->target) {
        lo = hi;
        if (hi == cap) {
            break;
        }
        hi = hi > cap / 2 ? cap : hi * 2;
    }
    b->target_reached = cached_recall(b, hi) >= b->target;
    if (b->target_reached) {
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (cached_recall(b, mid) >= b->target) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
    } else {
        /* Report the best reached. */
        double best = -1.0;
        for (size_t i = 0; i < b->n_evals; i++) {
            if (b->eval_recall[i] > best) {
                best = b->eval_recall[i];
                hi = b->eval_ef[i];
            }
        }
    }
    measure(b, hi, &b->target_result);
}

/* ------------------------------------------------------------ output */

/* Measured times carry no more digits than the clock and the noise give:
 * 0.001 us for latencies, 0.1 for QPS, 1 us for seconds. */
static double rounded(double v, int decimals) {
    double scale = pow(10.0, decimals);
    return round(v * scale) / scale; /* exact scale: the double nearest the decimal */
}

static void json_latency(tool_json *j, const latency *l) {
    tool_json_key(j, "latency_us");
    tool_json_begin_object(j);
    tool_json_key(j, "mean");
    tool_json_double(j, rounded(l->mean, 3));
    tool_json_key(j, "p50");
    tool_json_double(j, rounded(l->p50, 3));
    tool_json_key(j, "p95");
    tool_json_double(j, rounded(l->p95, 3));
    tool_json_key(j, "p99");
    tool_json_double(j, rounded(l->p99, 3));
    tool_json_key(j, "max");
    tool_json_double(j, rounded(l->max, 3));
    tool_json_end_object(j);
}

static void json_result_fields(tool_json *j, const bench *b, const ef_result *r) {
    tool_json_key(j, "ef_search");
    tool_json_u64(j, r->ef);
    tool_json_key(j, "k");
    tool_json_u64(j, b->k);
    tool_json_key(j, "n_queries");
    tool_json_u64(j, b->nq);
    tool_json_key(j, "recall_at_k");
    tool_json_double(j, r->recall);
    tool_json_key(j, "qps");
    tool_json_double(j, rounded(r->qps, 1));
    json_latency(j, &r->lat);
    if (r->has_batch) {
        tool_json_key(j, "batch");
        tool_json_begin_object(j);
        tool_json_key(j, "threads");
        tool_json_u64(j, r->batch_threads);
        tool_json_key(j, "qps");
        tool_json_double(j, rounded(r->batch_qps, 1));
        tool_json_end_object(j);
    }
}

static char *read_small_file(const char *path, size_t *len) {
    FILE *f = tool_open_input(path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        if (cap >= ((size_t)1 << 20)) {
            tool_die("%s: larger than 1 MB, not a build report", path);
        }
        cap *= 2;
        char *grown = realloc(buf, cap);
        if (!grown) {
            free(buf);
        }
        buf = grown;
    }
    if (!buf) {
        tool_die("%s: out of memory", path);
    }
    if (ferror(f)) {
        tool_die("%s: read error", path);
    }
    fclose(f);
    buf[n < cap ? n : cap - 1] = '\0';
    *len = n;
    return buf;
}

static void write_json(const bench *b, const char *build_json) {
    tool_output out;
    FILE *f = tool_output_open(&out, b->out_path);
    tool_json j;
    tool_json_init(&j, f, 1);
    tool_json_begin_object(&j);
    tool_json_key(&j, "tool");
    tool_json_string(&j, "vw-bench");
    tool_json_key(&j, "version");
    tool_json_string(&j, vw_version());

    tool_json_key(&j, "index");
    tool_json_begin_object(&j);
    tool_json_key(&j, "path");
    tool_json_string(&j, b->index_path);
    tool_json_key(&j, "count");
    tool_json_u64(&j, b->stats.count);
    tool_json_key(&j, "dim");
    tool_json_u64(&j, b->stats.dim);
    tool_json_key(&j, "metric");
    tool_json_string(&j, vw_metric_name(b->stats.metric));
    tool_json_key(&j, "M");
    tool_json_u64(&j, b->stats.M);
    tool_json_key(&j, "ef_construction");
    tool_json_u64(&j, b->stats.ef_construction);
    tool_json_key(&j, "file_bytes");
    tool_json_i64(&j, b->file_bytes);
    tool_json_key(&j, "memory_bytes");
    tool_json_u64(&j, b->stats.memory_bytes);
    tool_json_key(&j, "mmap");
    tool_json_bool(&j, b->stats.mmapped);
    tool_json_key(&j, "storage");
    tool_json_string(&j, vw_storage_name(b->stats.storage));
    tool_json_key(&j, "bytes_per_vector");
    tool_json_u64(&j, b->stats.bytes_per_vector);
    tool_json_key(&j, "code_bytes");
    tool_json_u64(&j, b->stats.code_bytes);
    tool_json_key(&j, "float32_kept");
    tool_json_bool(&j, b->stats.float32_kept);
    tool_json_key(&j, "exact_distances");
    tool_json_bool(&j, b->stats.exact_distances);
    tool_json_key(&j, "rerank");
    if (b->rerank)
        tool_json_u64(&j, b->rerank);
    else
        tool_json_string(&j, "default");
    tool_json_key(&j, "load_seconds");
    tool_json_double(&j, rounded(b->load_seconds, 6));
    tool_json_end_object(&j);

    char cpu[256];
    tool_cpu_model(cpu, sizeof cpu);
    tool_json_key(&j, "machine");
    tool_json_begin_object(&j);
    tool_json_key(&j, "cpu_model");
    tool_json_string(&j, cpu);
    tool_json_key(&j, "simd");
    tool_json_string(&j, vw_simd_name(vw_simd_active()));
    tool_json_key(&j, "threads");
    tool_json_u64(&j, tool_cpu_count());
    tool_json_end_object(&j);

    tool_json_key(&j, "queries");
    tool_json_begin_object(&j);
    tool_json_key(&j, "source");
    tool_json_string(&j, b->queries_path ? b->queries_path : "generated");
    tool_json_key(&j, "n_queries");
    tool_json_u64(&j, b->nq);
    if (!b->queries_path) {
        tool_json_key(&j, "dist");
        tool_json_string(&j, tool_dist_name(b->gp.dist));
        if (b->gp.dist == TOOL_DIST_CLUSTERED) {
            tool_json_key(&j, "clusters");
            tool_json_u64(&j, b->gp.clusters);
            tool_json_key(&j, "spread");
            tool_json_double(&j, b->gp.spread);
        }
        tool_json_key(&j, "seed");
        tool_json_u64(&j, b->gp.seed);
    }
    tool_json_end_object(&j);

    tool_json_key(&j, "ground_truth");
    tool_json_begin_object(&j);
    tool_json_key(&j, "source");
    tool_json_string(&j, b->truth_source);
    tool_json_key(&j, "seconds");
    tool_json_double(&j, rounded(b->truth_seconds, 6));
    tool_json_end_object(&j);

    tool_json_key(&j, "k");
    tool_json_u64(&j, b->k);
    tool_json_key(&j, "repeat");
    tool_json_u64(&j, b->repeat);
    tool_json_key(&j, "results");
    tool_json_begin_array(&j);
    for (size_t i = 0; i < b->n_efs; i++) {
        tool_json_begin_object(&j);
        json_result_fields(&j, b, &b->results[i]);
        tool_json_end_object(&j);
    }
    tool_json_end_array(&j);

    if (b->has_target) {
        tool_json_key(&j, "target_recall");
        tool_json_begin_object(&j);
        tool_json_key(&j, "target");
        tool_json_double(&j, b->target);
        tool_json_key(&j, "reached");
        tool_json_bool(&j, b->target_reached);
        json_result_fields(&j, b, &b->target_result);
        tool_json_key(&j, "evaluations");
        tool_json_begin_array(&j);
        for (size_t i = 0; i < b->n_evals; i++) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "ef_search");
            tool_json_u64(&j, b->eval_ef[i]);
            tool_json_key(&j, "recall_at_k");
            tool_json_double(&j, b->eval_recall[i]);
            tool_json_end_object(&j);
        }
        tool_json_end_array(&j);
        tool_json_end_object(&j);
    }
    if (build_json) {
        tool_json_key(&j, "build");
        tool_json_raw(&j, build_json);
    }
    tool_json_key(&j, "peak_rss_bytes");
    tool_json_u64(&j, tool_peak_rss_bytes());
    tool_json_end_object(&j);
    if (!tool_json_ok(&j)) {
        tool_die("%s: a measured figure is not a finite number", b->out_path);
    }
    tool_output_commit(&out);
}

static void print_row(const bench *b, const char *tag, const ef_result *r) {
    printf("%-6s %6u  %9.4f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f", tag, r->ef, r->recall, r->qps,
           r->lat.mean, r->lat.p50, r->lat.p95, r->lat.p99, r->lat.max);
    if (r->has_batch) {
        printf(" %10.0f", r->batch_qps);
    }
    (void)b;
    putchar('\n');
}

static void print_table(const bench *b) {
    char size[32];
    tool_format_bytes(size, sizeof size, (uint64_t)(b->file_bytes > 0 ? b->file_bytes : 0));
    printf("index %s: %llu vectors, dim %u, %s, M %u, ef_construction %u, %s, loaded in %.2f s%s\n",
           b->index_path, (unsigned long long)b->stats.count, b->stats.dim,
           vw_metric_name(b->stats.metric), b->stats.M, b->stats.ef_construction, size,
           b->load_seconds, b->stats.mmapped ? " (mmap)" : "");
    printf("storage: %s, %u bytes per vector%s\n", vw_storage_name(b->stats.storage),
           b->stats.bytes_per_vector,
           b->stats.storage == VW_STORAGE_F32 ? ""
           : b->stats.exact_distances         ? " (float32 kept: re-ranked, exact distances)"
                                              : " (no float32: APPROXIMATE distances)");
    if (b->queries_path) {
        printf("queries: %llu from %s", (unsigned long long)b->nq, b->queries_path);
    } else {
        printf("queries: %llu generated (%s, seed %llu)", (unsigned long long)b->nq,
               tool_dist_name(b->gp.dist), (unsigned long long)b->gp.seed);
    }
    printf("; ground truth: %s (%.2f s); kernels: %s\n", b->truth_source, b->truth_seconds,
           vw_simd_name(vw_simd_active()));
    char recall_head[32];
    snprintf(recall_head, sizeof recall_head, "recall@%u", b->k);
    printf("%-6s %6s  %9s %10s %9s %9s %9s %9s %9s", "", "ef", recall_head, "QPS", "mean us",
           "p50 us", "p95 us", "p99 us", "max us");
    int batch = b->n_efs ? b->results[0].has_batch : 0;
    if (batch) {
        char head[32];
        snprintf(head, sizeof head, "QPS %ut", b->results[0].batch_threads);
        printf(" %10s", head);
    }
    putchar('\n');
    for (size_t i = 0; i < b->n_efs; i++) {
        print_row(b, "", &b->results[i]);
    }
    if (b->has_target) {
        print_row(b, "target", &b->target_result);
        if (b->target_reached) {
            printf("recall@%u >= %g first reached at ef %u (recall %.4f, %.0f QPS, p99 %.1f us)\n",
                   b->k, b->target, b->target_result.ef, b->target_result.recall,
                   b->target_result.qps, b->target_result.lat.p99);
        } else {
            printf("recall@%u %g NOT reached: best %.4f at ef %u\n", b->k, b->target,
                   b->target_result.recall, b->target_result.ef);
        }
    }
}

/* ------------------------------------------------------------ SVG plot */

static void svg_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

typedef struct plot_area {
    double x0, y0, w, h; /* pixels of the data area */
    double rmin, rmax;   /* recall range */
    double lqmin, lqmax; /* log10 QPS range */
} plot_area;

static double px(const plot_area *a, double recall) {
    return a->x0 + (recall - a->rmin) / (a->rmax - a->rmin) * a->w;
}

static double py(const plot_area *a, double qps) {
    double l = log10(qps > 0 ? qps : 1e-9);
    return a->y0 + a->h - (l - a->lqmin) / (a->lqmax - a->lqmin) * a->h;
}

/* Labels of points near the right edge go to their left, inside the plot. */
static int label_left(const plot_area *a, double x) {
    return x > a->x0 + 0.8 * a->w;
}

static double label_x(const plot_area *a, double x) {
    return label_left(a, x) ? x - 8 : x + 8;
}

static const char *label_anchor(const plot_area *a, double x) {
    return label_left(a, x) ? " text-anchor=\"end\"" : "";
}

static void format_qps(char *buf, size_t size, double v) {
    if (v >= 1e6) {
        snprintf(buf, size, "%gM", v / 1e6);
    } else if (v >= 1e3) {
        snprintf(buf, size, "%gk", v / 1e3);
    } else {
        snprintf(buf, size, "%g", v);
    }
}

static void svg_axes(FILE *f, const plot_area *a, const bench *b, const char *ylabel) {
    /* recall ticks: the largest round step giving at least 4 of them */
    static const double steps[] = {0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001};
    double step = steps[0];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        step = steps[i];
        if ((a->rmax - a->rmin) / step >= 4) {
            break;
        }
    }
    for (double t = ceil(a->rmin / step - 1e-9) * step; t <= a->rmax + 1e-9; t += step) {
        double x = px(a, t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
                x, a->y0, x, a->y0 + a->h, x, a->y0 + a->h + 18, step < 0.01 ? 3 : 2, t);
    }
    /* QPS ticks at 1, 2, 5 x 10^n on the log scale */
    for (int e = (int)floor(a->lqmin); e <= (int)ceil(a->lqmax); e++) {
        static const double mult[] = {1, 2, 5};
        for (int m = 0; m < 3; m++) {
            double v = mult[m] * pow(10.0, e);
            double l = log10(v);
            if (l < a->lqmin - 1e-9 || l > a->lqmax + 1e-9) {
                continue;
            }
            double y = py(a, v);
            char label[32];
            format_qps(label, sizeof label, v);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                    a->x0, y, a->x0 + a->w, y, m == 0 ? "#ccc" : "#eee", a->x0 - 6, y + 4, label);
        }
    }
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#333\"/>\n",
            a->x0, a->y0, a->w, a->h);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">recall@%u "
            "(%llu queries)</text>\n",
            a->x0 + a->w / 2, a->y0 + a->h + 42, b->k, (unsigned long long)b->nq);
    fprintf(f,
            "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"14\">%s</text>\n",
            a->x0 - 62, a->y0 + a->h / 2, ylabel);
}

/* One series: a line through the points in ef order, a dot and an "ef=N"
 * label at each. `batch` picks the multi-thread QPS. */
static void svg_series(FILE *f, const plot_area *a, const bench *b, int batch, const char *color) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
    for (size_t i = 0; i < b->n_efs; i++) {
        const ef_result *r = &b->results[i];
        fprintf(f, "%.1f,%.1f ", px(a, r->recall), py(a, batch ? r->batch_qps : r->qps));
    }
    fputs("\"/>\n", f);
    for (size_t i = 0; i < b->n_efs; i++) {
        const ef_result *r = &b->results[i];
        double x = px(a, r->recall), y = py(a, batch ? r->batch_qps : r->qps);
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\"%s>ef=%u</text>\n",
                x, y, color, label_x(a, x), y - 6, color, label_anchor(a, x), r->ef);
    }
}

static int ef_order(const void *x, const void *y) {
    const ef_result *a = x, *b = y;
    return a->ef < b->ef ? -1 : a->ef > b->ef;
}

static void write_plot(bench *b) {
    /* Sorted by ef so the line follows the curve; the JSON keeps the order
     * given, so sort a copy. */
    bench *s = malloc(sizeof *s);
    if (!s) {
        tool_die("out of memory");
    }
    *s = *b;
    qsort(s->results, s->n_efs, sizeof s->results[0], ef_order);

    double rmin = 1.0, qmin = INFINITY, qmax = 0.0;
    for (size_t i = 0; i < s->n_efs + (s->has_target ? 1 : 0); i++) {
        const ef_result *r = i < s->n_efs ? &s->results[i] : &s->target_result;
        rmin = fmin(rmin, r->recall);
        qmin = fmin(qmin, r->qps);
        qmax = fmax(qmax, r->qps);
        if (r->has_batch) {
            qmin = fmin(qmin, r->batch_qps);
            qmax = fmax(qmax, r->batch_qps);
        }
    }
    plot_area a = {90, 50, 600, 380, 0, 1, 0, 1};
    a.rmin = floor(rmin * 10 - 1e-9) / 10;
    if (a.rmin > 0.9) {
        a.rmin = 0.9;
    }
    if (a.rmin < 0) {
        a.rmin = 0;
    }
    a.rmax = 1.0;
    qmin = qmin > 0 ? qmin : 1;
    qmax = qmax > qmin ? qmax : qmin;
    a.lqmin = floor(log10(qmin));
    a.lqmax = ceil(log10(qmax));
    if (a.lqmax <= a.lqmin) {
        a.lqmax = a.lqmin + 1;
    }

    tool_output out;
    FILE *f = tool_output_open(&out, s->plot_path);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"520\" "
               "viewBox=\"0 0 760 520\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"760\" height=\"520\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"390\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">");
    fprintf(f, "recall@%u vs QPS: ", s->k);
    svg_escape(f, s->index_path);
    fprintf(f, "</text>\n<text x=\"390\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">");
    fprintf(f, "%llu vectors, dim %u, %s, M %u, ef_construction %u, kernels %s</text>\n",
            (unsigned long long)s->stats.count, s->stats.dim, vw_metric_name(s->stats.metric),
            s->stats.M, s->stats.ef_construction, vw_simd_name(vw_simd_active()));
    svg_axes(f, &a, s, "queries per second (log scale)");
    int batch = s->n_efs && s->results[0].has_batch;
    if (batch) {
        svg_series(f, &a, s, 1, "#d95f02");
    }
    svg_series(f, &a, s, 0, "#1b6ac9");
    if (s->has_target) {
        const ef_result *r = &s->target_result;
        double x = px(&a, r->recall), y = py(&a, r->qps);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"none\" "
                "stroke=\"#c00\" stroke-width=\"2\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#c00\"%s>target %g: "
                "ef=%u</text>\n",
                x - 5, y - 5, label_x(&a, x), y + 18, label_anchor(&a, x), s->target, r->ef);
    }
    /* legend */
    fprintf(f,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1b6ac9\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">1 thread, one query at a time</text>\n",
            a.x0 + 12, a.y0 + 14, a.x0 + 22, a.y0 + 18);
    if (batch) {
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d95f02\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%u threads, batch</text>\n",
                a.x0 + 12, a.y0 + 32, a.x0 + 22, a.y0 + 36, s->results[0].batch_threads);
    }
    fputs("</svg>\n", f);
    free(s);
    tool_output_commit(&out);
}

/* ------------------------------------------------------------ main */

/* Fails early, before minutes of measuring, if an output cannot be written. */
static void check_writable(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    struct stat st;
    errno = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        tool_die("%s: cannot write to directory %s: %s", path, dir,
                 errno ? strerror(errno) : "not a directory");
    }
}

enum {
    OPT_MMAP = 256,
    OPT_QUERIES,
    OPT_NQ,
    OPT_DIST,
    OPT_CLUSTERS,
    OPT_SPREAD,
    OPT_SEED,
    OPT_GT,
    OPT_GT_OUT,
    OPT_BASE,
    OPT_EF,
    OPT_SWEEP,
    OPT_TARGET,
    OPT_THREADS,
    OPT_REPEAT,
    OPT_PLOT,
    OPT_BUILD_REPORT,
    OPT_RERANK,
    OPT_METRIC
};

static void parse_args(bench *b, int argc, char **argv) {
    static const struct option longopts[] = {
        {"index", required_argument, NULL, 'x'},
        {"mmap", no_argument, NULL, OPT_MMAP},
        {"queries", required_argument, NULL, OPT_QUERIES},
        {"n-queries", required_argument, NULL, OPT_NQ},
        {"dist", required_argument, NULL, OPT_DIST},
        {"clusters", required_argument, NULL, OPT_CLUSTERS},
        {"spread", required_argument, NULL, OPT_SPREAD},
        {"seed", required_argument, NULL, OPT_SEED},
        {"gt", required_argument, NULL, OPT_GT},
        {"gt-out", required_argument, NULL, OPT_GT_OUT},
        {"base", required_argument, NULL, OPT_BASE},
        {"k", required_argument, NULL, 'k'},
        {"ef", required_argument, NULL, OPT_EF},
        {"sweep", required_argument, NULL, OPT_SWEEP},
        {"target-recall", required_argument, NULL, OPT_TARGET},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"rerank", required_argument, NULL, OPT_RERANK},
        {"output", required_argument, NULL, 'o'},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"build-report", required_argument, NULL, OPT_BUILD_REPORT},
        {"metric", required_argument, NULL, OPT_METRIC},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int ef_given = 0, sweep_given = 0, nq_given = 0, gen_given = 0;
    int clusters_given = 0, spread_given = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":x:k:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'x':
            b->index_path = optarg;
            break;
        case OPT_MMAP:
            b->load_flags |= VW_LOAD_MMAP;
            break;
        case OPT_QUERIES:
            b->queries_path = optarg;
            break;
        case OPT_NQ:
            b->n_queries = tool_parse_u64("--n-queries", optarg, 1, MAX_QUERIES);
            nq_given = 1;
            break;
        case OPT_DIST:
            if (tool_dist_parse(optarg, &b->gp.dist) != 0) {
                tool_usage_error("--dist: unknown distribution '%s' (clustered, gaussian, uniform)",
                                 optarg);
            }
            gen_given = 1;
            break;
        case OPT_CLUSTERS:
            b->gp.clusters = tool_parse_u32("--clusters", optarg, 1, TOOL_MAX_CLUSTERS);
            gen_given = clusters_given = 1;
            break;
        case OPT_SPREAD:
            b->gp.spread = tool_parse_double("--spread", optarg, 1e-6, 1e6);
            gen_given = spread_given = 1;
            break;
        case OPT_SEED:
            b->gp.seed = tool_parse_u64("--seed", optarg, 0, UINT64_MAX);
            gen_given = 1;
            break;
        case OPT_GT:
            b->gt_path = optarg;
            break;
        case OPT_GT_OUT:
            b->gt_out = optarg;
            break;
        case OPT_BASE:
            b->base_path = optarg;
            break;
        case 'k':
            b->k = tool_parse_u32("-k", optarg, 1, VW_MAX_K);
            break;
        case OPT_EF:
            b->efs[0] = tool_parse_u32("--ef", optarg, 1, VW_MAX_EF);
            b->n_efs = 1;
            ef_given = 1;
            break;
        case OPT_SWEEP:
            b->n_efs = tool_parse_u32_list("--sweep", optarg, 1, VW_MAX_EF, b->efs, MAX_EFS);
            sweep_given = 1;
            break;
        case OPT_TARGET:
            b->target = tool_parse_double("--target-recall", optarg, 0.0, 1.0);
            if (b->target <= 0.0) {
                tool_usage_error("--target-recall: %s is out of range (0, 1]", optarg);
            }
            b->has_target = 1;
            break;
        case OPT_THREADS:
            b->threads = tool_parse_u32("--threads", optarg, 0, 1024);
            b->threads_given = 1;
            break;
        case OPT_REPEAT:
            b->repeat = tool_parse_u32("--repeat", optarg, 1, 1000);
            break;
        case OPT_RERANK:
            b->rerank = tool_parse_u32("--rerank", optarg, 1, VW_MAX_EF);
            break;
        case 'o':
            b->out_path = optarg;
            break;
        case OPT_PLOT:
            b->plot_path = optarg;
            break;
        case OPT_BUILD_REPORT:
            b->build_report = optarg;
            break;
        case OPT_METRIC:
            b->metric = optarg;
            break;
        case 'h':
            usage();
            exit(TOOL_EXIT_OK);
        case 'V':
            tool_print_version();
            exit(TOOL_EXIT_OK);
        default:
            tool_bad_option(c, argv);
        }
    }
    if (optind < argc) {
        tool_usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (!b->index_path) {
        tool_usage_error("missing -x INDEX");
    }
    if (ef_given && sweep_given) {
        tool_usage_error("give either --ef or --sweep, not both");
    }
    if (b->queries_path && (nq_given || gen_given)) {
        tool_usage_error("--n-queries, --dist, --clusters, --spread and --seed apply to "
                         "generated queries, not to --queries");
    }
    if (b->gp.dist != TOOL_DIST_CLUSTERED && (clusters_given || spread_given)) {
        tool_usage_error("%s applies only to --dist clustered",
                         clusters_given ? "--clusters" : "--spread");
    }
    if (b->gt_path && b->base_path) {
        tool_usage_error("give either --gt or --base, not both");
    }
    if (b->gt_path && b->gt_out) {
        tool_usage_error("--gt-out writes computed ground truth; it cannot go with --gt");
    }
    if (b->gt_out && vw_dataset_format_from_path(b->gt_out) != VW_FORMAT_IVECS &&
        vw_dataset_format_from_path(b->gt_out) != VW_FORMAT_IBIN) {
        tool_usage_error("--gt-out: %s must end in .ivecs or .ibin", b->gt_out);
    }
    if (b->plot_path && vw_dataset_format_from_path(b->plot_path) != VW_FORMAT_AUTO) {
        tool_usage_error("--plot: %s is a vector file name; give FILE.svg", b->plot_path);
    }
    const tool_file_arg files[] = {{"-x", b->index_path, 0},
                                   {"--queries", b->queries_path, 0},
                                   {"--base", b->base_path, 0},
                                   {"--gt", b->gt_path, 0},
                                   {"--build-report", b->build_report, 0},
                                   {"-o", b->out_path, 1},
                                   {"--plot", b->plot_path, 1},
                                   {"--gt-out", b->gt_out, 1}};
    tool_check_files(files, sizeof files / sizeof files[0]);
}

int main(int argc, char **argv) {
    tool_init("vw-bench");
    static bench b; /* large; zero-initialized */
    b.k = DEFAULT_K;
    b.efs[0] = DEFAULT_EF;
    b.n_efs = 1;
    b.n_queries = DEFAULT_N_QUERIES;
    b.repeat = 1;
    b.out_path = "benchmark_results.json";
    tool_gen_params_default(&b.gp, 1);
    parse_args(&b, argc, argv);

    check_writable(b.out_path);
    if (b.plot_path) {
        check_writable(b.plot_path);
    }
    char *build_json = NULL;
    if (b.build_report) {
        size_t len = 0;
        build_json = read_small_file(b.build_report, &len);
        if (!tool_json_valid(build_json, len)) {
            tool_die("%s: not valid JSON", b.build_report);
        }
    }

    double t0 = tool_now();
    b.index = tool_open_index(b.index_path, b.load_flags, b.metric);
    b.load_seconds = tool_now() - t0;
    vw_status st = vw_index_stats(b.index, &b.stats);
    if (st != VW_OK) {
        tool_die_status(st, b.index_path);
    }
    if (b.stats.count == 0) {
        tool_die("%s: the index is empty", b.index_path);
    }
    b.file_bytes = tool_file_size(b.index_path);

    load_queries(&b);
    if (b.gt_path) {
        read_truth_file(&b);
    } else {
        compute_truth(&b);
    }
    index_truth(&b);

    b.labels = malloc((size_t)b.nq * b.k * sizeof *b.labels);
    b.lat_us = malloc((size_t)b.nq * b.repeat * sizeof *b.lat_us);
    if (!b.labels || !b.lat_us) {
        tool_die("out of memory for %llu queries", (unsigned long long)b.nq);
    }

    warm_up(&b, b.efs[0]);
    for (size_t i = 0; i < b.n_efs; i++) {
        measure(&b, b.efs[i], &b.results[i]);
    }
    if (b.has_target) {
        find_target(&b);
    }

    print_table(&b);
    write_json(&b, build_json);
    if (b.plot_path) {
        write_plot(&b);
    }
    char rss[32];
    tool_format_bytes(rss, sizeof rss, tool_peak_rss_bytes());
    printf("peak RSS %s; results written to %s%s%s\n", rss, b.out_path,
           b.plot_path ? ", plot to " : "", b.plot_path ? b.plot_path : "");

    free(build_json);
    free(b.labels);
    free(b.lat_us);
    free(b.truth);
    if (b.queries_ds) {
        vw_dataset_free(b.queries_ds);
    } else {
        free(b.queries);
    }
    vw_index_free(b.index);
    return TOOL_EXIT_OK;
}
