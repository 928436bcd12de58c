/* vw_live_bench: the live index measured (bench/churn.sh and bench/live.sh).
 *
 *   vw_live_bench churn <base.fvecs> <n> <query.fvecs> <extra.fvecs> <extra_from> <M> <efC>
 *                       <threads> <out_dir> <scenario,...> [seed]
 *   vw_live_bench writers <index> <query.fvecs> <extra.fvecs> <seconds> [ef]
 *
 * churn: the first n rows of base are built once (<threads> threads, then
 *   vw_index_reorder, as vw-build does) and saved to out_dir/full.vwi (kept
 *   for later runs). Each scenario starts from that file:
 *     remove:F   removes a fraction F of the labels, chosen at random (seeded),
 *                one vw_index_remove call at a time;
 *     replace:F  replaces the vectors of a fraction F with rows extra_from..
 *                of extra.fvecs (vw_index_upsert_batch, <threads> threads).
 *   Then, against exact ground truth over the vectors now in the index
 *   (vw_exact_search): the churned index as it stands, a copy of it after
 *   vw_index_reorder, and a fresh build (plus reorder) of the same vectors
 *   and labels, each searched one query at a time on one thread at ef=64
 *   and ef=256, the three in alternation (a warm-up pass each, then 5
 *   rounds of one pass each: the median round's QPS, and recall@10). The
 *   chosen labels (u64 each) and the ground truth (.ivecs) go to
 *   out_dir/<scenario>.{labels,gt.ivecs} for bench/hnswlib_churn.py. With
 *   VW_LIVE_KEEP set in the environment the churned and the fresh index are
 *   also saved, as out_dir/<scenario>.{churned,fresh}.vwi; VW_LIVE_EFS=a,b,..
 *   searches at those efSearch values instead of 64 and 256.
 *
 * writers: one thread writes as fast as it can (of each 4 writes: 2 upserts
 *   of a random present label with a vector from extra.fvecs, 1 removal of a
 *   random present label, 1 upsert of a random removed label) while one
 *   thread searches (k=10, ef, default 64), for <seconds>. Prints search QPS
 *   (and alone, for 10 s, before), writes per second, errors, and recall@10
 *   of the final index against exact ground truth over what it holds; with
 *   VW_LIVE_FRESH set, also recall and QPS beside a fresh build of the
 *   final vectors (at 64 and 256, or VW_LIVE_EFS). */
#include "vwhnsw.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define K 10

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die_on(vw_status st, const char *what) {
    if (st != VW_OK) {
        fprintf(stderr, "vw_live_bench: %s: %s (%s)\n", what, vw_strerror(st),
                vw_last_error_detail());
        exit(1);
    }
}

static vw_dataset *read_data(const char *path) {
    vw_dataset *ds = NULL;
    die_on(vw_dataset_read(path, VW_FORMAT_AUTO, &ds), path);
    return ds;
}

/* splitmix64: the label picks, reproducible from the seed */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void shuffle(uint64_t *a, uint64_t n, uint64_t seed) {
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = next_rand(&seed) % (i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ------------------------------------------------------------------ ground truth */

/* The vectors an index holds: row `label` of vec when alive[label]. */
typedef struct corpus {
    const float *vec;
    const uint8_t *alive;
    uint64_t n;
    uint32_t dim;
} corpus;

/* The K nearest live rows of each query, as labels (row numbers of vec),
 * by the library's brute force over the live rows gathered together. */
static uint64_t *ground_truth(const corpus *c, const vw_dataset *q, unsigned threads) {
    uint64_t live = 0;
    for (uint64_t i = 0; i < c->n; i++)
        live += c->alive[i] != 0;
    float *rows = malloc(live * c->dim * sizeof *rows);
    uint64_t *label = malloc(live * sizeof *label);
    uint64_t *out = malloc(q->n * K * sizeof *out);
    if (!rows || !label || !out) {
        fprintf(stderr, "vw_live_bench: out of memory for the ground truth\n");
        exit(1);
    }
    for (uint64_t i = 0, r = 0; i < c->n; i++)
        if (c->alive[i]) {
            memcpy(rows + r * c->dim, c->vec + i * c->dim, c->dim * sizeof *rows);
            label[r++] = i;
        }
    die_on(vw_exact_search(rows, live, q->data, q->n, c->dim, VW_METRIC_L2, K, threads, out, NULL,
                           NULL, NULL),
           "exact search");
    for (uint64_t i = 0; i < q->n * K; i++)
        out[i] = out[i] < live ? label[out[i]] : UINT64_MAX;
    free(rows);
    free(label);
    return out;
}

static double recall(const uint64_t *got, const uint64_t *gt, uint64_t nq) {
    uint64_t hits = 0;
    for (uint64_t i = 0; i < nq; i++)
        for (int j = 0; j < K; j++)
            for (int g = 0; g < K; g++)
                if (got[i * K + j] == gt[i * K + g]) {
                    hits++;
                    break;
                }
    return (double)hits / ((double)nq * K);
}

/* ------------------------------------------------------------------ measuring */

static double search_pass(vw_index *ix, const vw_dataset *q, uint32_t ef, uint64_t *res) {
    double t0 = now();
    for (uint64_t i = 0; i < q->n; i++) {
        uint32_t found = 0;
        die_on(
            vw_index_search(ix, q->data + i * q->dim, K, ef, NULL, NULL, res + i * K, NULL, &found),
            "search");
        for (uint32_t j = found; j < K; j++)
            res[i * K + j] = UINT64_MAX;
    }
    return now() - t0;
}

#define ROUNDS 5

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The churned and the fresh index searched in alternation, so that a
 * change in the machine's load hits both alike: one warm-up pass each, then
 * per ef ROUNDS rounds of one timed pass each. QPS is the median round's,
 * recall the last pass's. */
/* Searches the engines in alternation (a warm-up pass each, then ROUNDS
 * rounds of one pass each) at each ef: the median round's QPS, and
 * recall@10. */
/* The efSearch values: 64 and 256, or the comma-separated list in
 * VW_LIVE_EFS (at most 32), e.g. to compare at equal recall. */
static size_t search_efs(uint32_t *efs) {
    const char *list = getenv("VW_LIVE_EFS");
    size_t n = 0;
    for (const char *p = list; p && *p && n < 32;) {
        char *end;
        unsigned long ef = strtoul(p, &end, 10);
        if (end == p || ef == 0 || ef > 100000) {
            fprintf(stderr, "vw_live_bench: VW_LIVE_EFS: bad list '%s'\n", list);
            exit(2);
        }
        efs[n++] = (uint32_t)ef;
        p = *end == ',' ? end + 1 : end;
    }
    if (n > 0)
        return n;
    efs[0] = 64;
    efs[1] = 256;
    return 2;
}

static void measure(vw_index *const *ix, const char *const *engine, int engines,
                    const vw_dataset *q, const uint64_t *gt) {
    uint32_t efs[32];
    size_t nefs = search_efs(efs);
    uint64_t *res = malloc(q->n * K * sizeof *res);
    for (int e = 0; e < engines; e++)
        search_pass(ix[e], q, 64, res);
    for (size_t f = 0; f < nefs; f++) {
        double qps[3][ROUNDS], rec[3] = {0, 0, 0};
        for (int r = 0; r < ROUNDS; r++)
            for (int e = 0; e < engines; e++) {
                qps[e][r] = (double)q->n / search_pass(ix[e], q, efs[f], res);
                rec[e] = recall(res, gt, q->n);
            }
        for (int e = 0; e < engines; e++) {
            qsort(qps[e], ROUNDS, sizeof qps[e][0], cmp_double);
            printf("engine=%s ef=%u recall@10=%.4f QPS=%.1f\n", engine[e], efs[f], rec[e],
                   qps[e][ROUNDS / 2]);
        }
        fflush(stdout);
    }
    free(res);
}

/* A copy of the churned index (through a file) renumbered by
 * vw_index_reorder: what a user gets by reordering after churn. */
static vw_index *reordered_copy(const char *dir, vw_index *ix) {
    char path[1024];
    snprintf(path, sizeof path, "%s/churned.vwi", dir);
    die_on(vw_index_save(ix, path), path);
    vw_index *copy = NULL;
    die_on(vw_index_load(path, VW_LOAD_DEFAULT, &copy), path);
    remove(path);
    double t0 = now();
    die_on(vw_index_reorder(copy), "reorder");
    printf("engine=reordered reorder_s=%.2f\n", now() - t0);
    return copy;
}

/* VW_LIVE_KEEP set: out_dir/<scenario>.{churned,fresh}.vwi ("remove:0.3"
 * becomes "remove-0.3"). */
static void keep_files(const char *dir, const char *scenario, vw_index *churned, vw_index *fresh) {
    char name[64], path[1024];
    snprintf(name, sizeof name, "%s", scenario);
    char *colon = strchr(name, ':');
    if (colon)
        *colon = '-';
    snprintf(path, sizeof path, "%s/%s.churned.vwi", dir, name);
    die_on(vw_index_save(churned, path), path);
    snprintf(path, sizeof path, "%s/%s.fresh.vwi", dir, name);
    die_on(vw_index_save(fresh, path), path);
}

static void write_outputs(const char *dir, const char *name, const uint64_t *picked, uint64_t n,
                          const uint64_t *gt, uint64_t nq) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.labels", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(picked, sizeof *picked, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "vw_live_bench: cannot write %s\n", path);
        exit(1);
    }
    float *rows = malloc(nq * K * sizeof *rows);
    for (uint64_t i = 0; i < nq * K; i++)
        rows[i] = (float)gt[i]; /* labels < 2^24: exact as float32 */
    snprintf(path, sizeof path, "%s/%s.gt.ivecs", dir, name);
    die_on(vw_dataset_write(path, VW_FORMAT_IVECS, rows, nq, K), path);
    free(rows);
}

/* ------------------------------------------------------------------ churn */

typedef struct churn_args {
    const vw_dataset *base, *q, *extra;
    uint64_t n, extra_from, seed;
    uint32_t M, efc;
    unsigned threads;
    const char *dir, *full;
} churn_args;

static vw_index *build(const churn_args *a, const float *vec, const uint64_t *labels, uint64_t n,
                       double *seconds) {
    vw_params p;
    vw_params_default(&p, a->base->dim);
    p.M = a->M;
    p.ef_construction = a->efc;
    p.capacity = n;
    vw_index *ix = NULL;
    double t0 = now();
    die_on(vw_index_create(&p, &ix), "create");
    die_on(vw_index_add_batch(ix, vec, labels, n, a->threads, NULL, NULL), "build");
    die_on(vw_index_reorder(ix), "reorder");
    *seconds = now() - t0;
    return ix;
}

static vw_index *full_index(const churn_args *a) {
    struct stat sb;
    vw_index *ix = NULL;
    if (stat(a->full, &sb) != 0) {
        uint64_t *labels = malloc(a->n * sizeof *labels);
        for (uint64_t i = 0; i < a->n; i++)
            labels[i] = i;
        double s;
        ix = build(a, a->base->data, labels, a->n, &s);
        printf("full build n=%llu build_s=%.1f\n", (unsigned long long)a->n, s);
        die_on(vw_index_save(ix, a->full), a->full);
        vw_index_free(ix);
        free(labels);
    }
    die_on(vw_index_load(a->full, VW_LOAD_DEFAULT, &ix), a->full);
    return ix;
}

/* Applies a scenario; vec/alive describe the vectors afterwards. */
static void apply(const churn_args *a, vw_index *ix, bool replace, const uint64_t *picked,
                  uint64_t n, float *vec, uint8_t *alive) {
    double t0 = now(), slowest = 0;
    if (replace) {
        const float *rows = a->extra->data + a->extra_from * a->extra->dim;
        die_on(vw_index_upsert_batch(ix, rows, picked, n, a->threads, NULL, NULL), "upsert");
        for (uint64_t i = 0; i < n; i++)
            memcpy(vec + picked[i] * a->base->dim, rows + i * a->base->dim,
                   a->base->dim * sizeof(float));
    } else {
        for (uint64_t i = 0; i < n; i++) {
            double c0 = now();
            die_on(vw_index_remove(ix, picked[i]), "remove");
            double c = now() - c0;
            slowest = c > slowest ? c : slowest; /* the call that finished a pass, or compacted */
            alive[picked[i]] = 0;
        }
    }
    double t = now() - t0;
    vw_stats s;
    die_on(vw_index_stats(ix, &s), "stats");
    printf("churn_s=%.2f per_second=%.0f slowest_call_ms=%.1f count=%llu removed=%llu "
           "free_slots=%llu slots=%llu\n",
           t, (double)n / t, slowest * 1e3, (unsigned long long)s.count,
           (unsigned long long)s.removed, (unsigned long long)s.free_slots,
           (unsigned long long)s.slots);
}

static void scenario(const churn_args *a, const char *name) {
    bool replace = strncmp(name, "replace:", 8) == 0;
    double frac = atof(strchr(name, ':') ? strchr(name, ':') + 1 : "0");
    uint64_t n = (uint64_t)(frac * (double)a->n + 0.5), dim = a->base->dim;
    if ((!replace && strncmp(name, "remove:", 7) != 0) || n == 0 || n > a->n ||
        (replace && a->extra_from + n > a->extra->n)) {
        fprintf(stderr, "vw_live_bench: bad scenario %s\n", name);
        exit(2);
    }
    printf("scenario=%s picked=%llu\n", name, (unsigned long long)n);
    uint64_t *order = malloc(a->n * sizeof *order);
    for (uint64_t i = 0; i < a->n; i++)
        order[i] = i;
    shuffle(order, a->n, a->seed);
    float *vec = malloc(a->n * dim * sizeof *vec);
    uint8_t *alive = malloc(a->n);
    memcpy(vec, a->base->data, a->n * dim * sizeof *vec);
    memset(alive, 1, a->n);
    vw_index *ix = full_index(a);
    apply(a, ix, replace, order, n, vec, alive);
    corpus c = {vec, alive, a->n, (uint32_t)dim};
    uint64_t *gt = ground_truth(&c, a->q, a->threads);
    /* the same vectors and labels, built from scratch */
    uint64_t live = 0;
    for (uint64_t i = 0; i < a->n; i++)
        if (alive[i]) {
            memmove(vec + live * dim, vec + i * dim, dim * sizeof *vec);
            order[live++] = i;
        }
    double s;
    vw_index *fresh = build(a, vec, order, live, &s);
    printf("engine=fresh n=%llu build_s=%.1f\n", (unsigned long long)live, s);
    if (getenv("VW_LIVE_KEEP")) /* the graphs themselves, for inspection */
        keep_files(a->dir, name, ix, fresh);
    vw_index *reordered = reordered_copy(a->dir, ix);
    vw_index *engines[3] = {ix, reordered, fresh};
    static const char *const names[3] = {"churned", "reordered", "fresh"};
    measure(engines, names, 3, a->q, gt);
    vw_index_free(ix);
    vw_index_free(reordered);
    vw_index_free(fresh);
    char file[64];
    snprintf(file, sizeof file, "%s-%s", replace ? "replace" : "remove", strchr(name, ':') + 1);
    for (uint64_t i = 0; i < a->n; i++)
        order[i] = i;
    shuffle(order, a->n, a->seed);
    write_outputs(a->dir, file, order, n, gt, a->q->n);
    free(order);
    free(vec);
    free(alive);
    free(gt);
}

static int cmd_churn(int argc, char **argv) {
    if (argc < 12) {
        fprintf(stderr, "churn <base.fvecs> <n> <query.fvecs> <extra.fvecs> <extra_from> <M> "
                        "<efC> <threads> <out_dir> <scenario,...> [seed]\n");
        return 2;
    }
    churn_args a = {.base = read_data(argv[2]),
                    .n = strtoull(argv[3], NULL, 10),
                    .q = read_data(argv[4]),
                    .extra = read_data(argv[5]),
                    .extra_from = strtoull(argv[6], NULL, 10),
                    .M = (uint32_t)atoi(argv[7]),
                    .efc = (uint32_t)atoi(argv[8]),
                    .threads = (unsigned)atoi(argv[9]),
                    .dir = argv[10],
                    .seed = argc > 12 ? strtoull(argv[12], NULL, 10) : 15};
    if (a.n == 0 || a.n > a.base->n || a.extra->dim != a.base->dim || a.q->dim != a.base->dim) {
        fprintf(stderr, "vw_live_bench: n or dimensions do not match the files\n");
        return 2;
    }
    char full[1024];
    snprintf(full, sizeof full, "%s/full.vwi", a.dir);
    a.full = full;
    printf("engine=vwhnsw base=%s n=%llu d=%u M=%u efC=%u threads=%u simd=%s seed=%llu\n", argv[2],
           (unsigned long long)a.n, a.base->dim, a.M, a.efc, a.threads,
           vw_simd_name(vw_simd_active()), (unsigned long long)a.seed);
    for (char *tok = strtok(argv[11], ","); tok; tok = strtok(NULL, ","))
        scenario(&a, tok);
    vw_dataset_free((vw_dataset *)a.base);
    vw_dataset_free((vw_dataset *)a.q);
    vw_dataset_free((vw_dataset *)a.extra);
    return 0;
}

/* ------------------------------------------------------------------ writers */

typedef struct live_run {
    vw_index *ix;
    const vw_dataset *q, *extra;
    uint32_t ef;
    atomic_int stop;
    uint64_t searches, search_errors;
    uint64_t upserts, removes, readds, write_errors;
    /* writer's view: the vector of each label (base or extra row) */
    float *vec;
    uint8_t *alive;
    uint64_t n;
    uint64_t *gone; /* removed labels, to re-insert */
    uint64_t ngone;
} live_run;

static void *search_loop(void *p) {
    live_run *r = p;
    uint64_t labels[K];
    uint32_t found;
    for (uint64_t i = 0; !atomic_load_explicit(&r->stop, memory_order_relaxed); i++) {
        const float *q = r->q->data + (i % r->q->n) * r->q->dim;
        vw_status st = vw_index_search(r->ix, q, K, r->ef, NULL, NULL, labels, NULL, &found);
        r->search_errors += st != VW_OK || found != K;
        r->searches++;
    }
    return NULL;
}

static void write_one(live_run *r, uint64_t *seed, uint64_t op) {
    uint32_t dim = r->q->dim;
    bool want_alive = op % 4 != 3 || r->ngone == 0; /* the fourth re-adds a removed label */
    uint64_t label;
    if (want_alive) {
        do
            label = next_rand(seed) % r->n;
        while (!r->alive[label]);
    } else {
        uint64_t k = next_rand(seed) % r->ngone;
        label = r->gone[k];
        r->gone[k] = r->gone[--r->ngone];
    }
    const float *v = r->extra->data + (op % r->extra->n) * dim;
    vw_status st;
    if (op % 4 == 2) {
        st = vw_index_remove(r->ix, label);
        r->alive[label] = 0;
        r->gone[r->ngone++] = label;
        r->removes++;
    } else {
        st = vw_index_upsert(r->ix, v, label);
        memcpy(r->vec + label * dim, v, dim * sizeof *v);
        r->alive[label] = 1;
        if (want_alive)
            r->upserts++;
        else
            r->readds++;
    }
    r->write_errors += st != VW_OK;
}

static void *write_loop(void *p) {
    live_run *r = p;
    uint64_t seed = 29;
    for (uint64_t op = 0; !atomic_load_explicit(&r->stop, memory_order_relaxed); op++)
        write_one(r, &seed, op);
    return NULL;
}

static double run_for(live_run *r, double seconds, bool writer) {
    pthread_t s, w;
    atomic_store(&r->stop, 0);
    double t0 = now();
    pthread_create(&s, NULL, search_loop, r);
    if (writer)
        pthread_create(&w, NULL, write_loop, r);
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&r->stop, 1);
    pthread_join(s, NULL);
    if (writer)
        pthread_join(w, NULL);
    return now() - t0;
}

/* The index's labels are 0..n-1 (vw-build); their vectors start as the index's own. */
static void load_labels(live_run *r) {
    vw_stats s;
    die_on(vw_index_stats(r->ix, &s), "stats");
    r->n = s.count;
    r->vec = malloc(r->n * s.dim * sizeof *r->vec);
    r->alive = malloc(r->n);
    r->gone = malloc(r->n * sizeof *r->gone);
    memset(r->alive, 1, r->n);
    for (uint64_t l = 0; l < r->n; l++)
        die_on(vw_index_get_vector(r->ix, l, r->vec + l * s.dim), "labels 0..n-1");
}

/* VW_LIVE_FRESH set: the written index beside a fresh build (same M,
 * efConstruction; 2 threads, then vw_index_reorder) of the vectors it ends
 * with, searched in alternation as churn does (VW_LIVE_EFS applies). */
static void against_fresh(live_run *r, const uint64_t *gt) {
    vw_stats s;
    die_on(vw_index_stats(r->ix, &s), "stats");
    uint64_t *labels = malloc(r->n * sizeof *labels), n = 0;
    float *vec = malloc(r->n * s.dim * sizeof *vec);
    for (uint64_t l = 0; l < r->n; l++)
        if (r->alive[l]) {
            memcpy(vec + n * s.dim, r->vec + l * s.dim, s.dim * sizeof *vec);
            labels[n++] = l;
        }
    vw_params p;
    vw_params_default(&p, s.dim);
    p.M = s.M;
    p.ef_construction = s.ef_construction;
    p.capacity = n;
    vw_index *fresh = NULL;
    double t0 = now();
    die_on(vw_index_create(&p, &fresh), "create");
    die_on(vw_index_add_batch(fresh, vec, labels, n, 2, NULL, NULL), "build");
    die_on(vw_index_reorder(fresh), "reorder");
    printf("engine=fresh n=%llu build_s=%.1f\n", (unsigned long long)n, now() - t0);
    vw_index *both[2] = {r->ix, fresh};
    const char *names[2] = {"written", "fresh"};
    measure(both, names, 2, r->q, gt);
    vw_index_free(fresh);
    free(vec);
    free(labels);
}

static int cmd_writers(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "writers <index> <query.fvecs> <extra.fvecs> <seconds> [ef]\n");
        return 2;
    }
    live_run r = {.q = read_data(argv[3]), .extra = read_data(argv[4])};
    double seconds = atof(argv[5]);
    r.ef = argc > 6 ? (uint32_t)atoi(argv[6]) : 64;
    die_on(vw_index_load(argv[2], VW_LOAD_DEFAULT, &r.ix), argv[2]);
    load_labels(&r);
    printf("engine=vwhnsw index=%s n=%llu ef=%u seconds=%.0f simd=%s\n", argv[2],
           (unsigned long long)r.n, r.ef, seconds, vw_simd_name(vw_simd_active()));
    double t = run_for(&r, 10, false);
    printf("search alone: QPS=%.1f errors=%llu\n", (double)r.searches / t,
           (unsigned long long)r.search_errors);
    r.searches = r.search_errors = 0;
    t = run_for(&r, seconds, true);
    uint64_t writes = r.upserts + r.removes + r.readds;
    printf("with a writer: search QPS=%.1f search_errors=%llu writes/s=%.1f (upserts %llu, "
           "removes %llu, re-adds %llu) write_errors=%llu\n",
           (double)r.searches / t, (unsigned long long)r.search_errors, (double)writes / t,
           (unsigned long long)r.upserts, (unsigned long long)r.removes,
           (unsigned long long)r.readds, (unsigned long long)r.write_errors);
    vw_stats s;
    die_on(vw_index_stats(r.ix, &s), "stats");
    printf("after: count=%llu removed=%llu free_slots=%llu slots=%llu\n",
           (unsigned long long)s.count, (unsigned long long)s.removed,
           (unsigned long long)s.free_slots, (unsigned long long)s.slots);
    corpus c = {r.vec, r.alive, r.n, r.q->dim};
    uint64_t *gt = ground_truth(&c, r.q, 2);
    uint64_t *res = malloc(r.q->n * K * sizeof *res);
    search_pass(r.ix, r.q, r.ef, res);
    printf("recall@10 after (ef=%u, exact ground truth over the final vectors): %.4f\n", r.ef,
           recall(res, gt, r.q->n));
    free(res);
    if (getenv("VW_LIVE_FRESH"))
        against_fresh(&r, gt);
    free(gt);
    free(r.vec);
    free(r.alive);
    free(r.gone);
    vw_index_free(r.ix);
    return 0;
}

int main(int argc, char **argv) {
    if (vw_simd_env_status() != VW_OK) {
        fprintf(stderr, "vw_live_bench: %s\n", vw_last_error_detail());
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "churn") == 0)
        return cmd_churn(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "writers") == 0)
        return cmd_writers(argc, argv);
    fprintf(stderr, "usage: vw_live_bench churn|writers ...\n");
    return 2;
}
