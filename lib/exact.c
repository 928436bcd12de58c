/* Exact k nearest neighbours by brute force (vw_exact_search): the ground
 * truth a recall measurement compares an index against.
 *
 * Every query meets every base row, so the cost is memory traffic: a base
 * of a million 128-d rows is 512 MB, read once per query it would be read a
 * thousand times for 1000 queries. Queries therefore go in blocks of
 * EXACT_BLOCK that share one pass over the base, each row read once per
 * block while the block's queries stay in cache. Blocks are spread over
 * threads (vw_parallel); a worker takes the next block from a shared
 * counter, so uneven threads still finish together.
 *
 * Each query keeps its k best in a max-heap (heap.h), ordered by (distance,
 * row): rows arrive in order and replace the worst only when strictly
 * better, so among equal distances the smaller row wins, whatever the
 * thread count. */
#include "vw_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_BLOCK 32u

typedef struct exact_job {
    const float *base, *queries; /* queries normalized for cosine (a copy) */
    uint64_t n, nq;
    uint32_t dim, k;
    bool cosine; /* base rows are normalized on the way, as an index stores them */
    vw_dist_fn dist;
    uint64_t *ids;
    float *dists;
    atomic_uint_fast64_t next_block, done;
    atomic_int status;
    vw_progress_fn progress; /* called by worker 0, the caller's thread */
    void *progress_ctx;
} exact_job;

/* One block of queries against every row, into heaps[b] (k entries each).
 * `unit` holds dim floats: a cosine row normalized once for the block. */
static void scan_block(const exact_job *j, uint64_t q0, uint32_t nb, vw_heap *heaps, float *unit) {
    for (uint32_t b = 0; b < nb; b++)
        heaps[b].size = 0;
    for (uint64_t i = 0; i < j->n; i++) {
        const float *row = j->base + i * j->dim;
        if (j->cosine) {
            memcpy(unit, row, (size_t)j->dim * sizeof *unit);
            vw_normalize(unit, j->dim); /* checked non-zero and finite up front */
            row = unit;
        }
        for (uint32_t b = 0; b < nb; b++) {
            vw_cand c = {j->dist(j->queries + (q0 + b) * j->dim, row, j->dim), (uint32_t)i};
            vw_heap *h = &heaps[b];
            if (h->size < j->k) {
                vw_heap_push(h, c, vw_farther_or_later);
            } else if (vw_farther_or_later(h->items[0], c)) {
                vw_heap_pop(h, vw_farther_or_later);
                vw_heap_push(h, c, vw_farther_or_later);
            }
        }
    }
}

/* Pops each heap worst first into its query's rows, padding what n < k leaves. */
static void write_block(exact_job *j, uint64_t q0, uint32_t nb, vw_heap *heaps) {
    for (uint32_t b = 0; b < nb; b++) {
        uint64_t *ids = j->ids + (q0 + b) * j->k;
        float *dists = j->dists ? j->dists + (q0 + b) * j->k : NULL;
        for (uint32_t r = heaps[b].size; r < j->k; r++) {
            ids[r] = UINT64_MAX;
            if (dists)
                dists[r] = INFINITY;
        }
        for (uint32_t r = heaps[b].size; r-- > 0;) {
            vw_cand c = vw_heap_pop(&heaps[b], vw_farther_or_later);
            ids[r] = c.id;
            if (dists)
                dists[r] = c.dist;
        }
    }
}

static void fail_job(exact_job *j, vw_status st) {
    int expected = VW_OK;
    atomic_compare_exchange_strong(&j->status, &expected, (int)st);
}

static void exact_worker(void *p, unsigned worker) {
    exact_job *j = p;
    vw_heap heaps[EXACT_BLOCK] = {{0}};
    float *unit = malloc((size_t)j->dim * sizeof *unit);
    bool ok = unit != NULL;
    for (uint32_t b = 0; b < EXACT_BLOCK && ok; b++)
        ok = vw_heap_reserve(&heaps[b], j->k) == VW_OK;
    if (!ok)
        fail_job(j, VW_ERR_NOMEM);
    while (ok && atomic_load(&j->status) == VW_OK) {
        uint64_t q0 = atomic_fetch_add(&j->next_block, 1) * EXACT_BLOCK;
        if (q0 >= j->nq)
            break;
        uint32_t nb = (uint32_t)(j->nq - q0 < EXACT_BLOCK ? j->nq - q0 : EXACT_BLOCK);
        scan_block(j, q0, nb, heaps, unit);
        write_block(j, q0, nb, heaps);
        atomic_fetch_add(&j->done, nb);
        if (worker == 0 && j->progress &&
            j->progress(atomic_load(&j->done), j->nq, j->progress_ctx) != 0)
            fail_job(j, VW_ERR_CANCELLED);
    }
    for (uint32_t b = 0; b < EXACT_BLOCK; b++)
        free(heaps[b].items);
    free(unit);
}

/* What an insert or a search would refuse is refused here too: a NaN
 * would make the order meaningless. */
static vw_status check_rows(const float *v, uint64_t n, uint32_t dim, bool cosine,
                            const char *what) {
    for (uint64_t i = 0; i < n; i++) {
        const float *row = v + i * dim;
        vw_status st = cosine ? vw_check_direction(row, dim) : vw_check_vector(row, dim, NULL);
        if (st == VW_ERR_ZERO_VECTOR)
            return vw_fail(st, "%s %llu is the zero vector (cosine metric)", what,
                           (unsigned long long)i);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(VW_ERR_NONFINITE, "%s %llu: %s", what, (unsigned long long)i, why);
        }
    }
    return VW_OK;
}

static vw_status check_exact_args(const float *base, uint64_t n, const float *queries, uint64_t nq,
                                  uint32_t dim, vw_metric metric, uint32_t k,
                                  const uint64_t *out_ids) {
    if (!out_ids || (n > 0 && !base) || (nq > 0 && !queries))
        return vw_fail(VW_ERR_NULL_ARG, "base, queries or out_ids is NULL");
    if (dim == 0 || dim > VW_MAX_DIM)
        return vw_fail(VW_ERR_DIMENSION, "dimension %u outside 1..%u", dim, VW_MAX_DIM);
    if (k == 0 || k > VW_MAX_K)
        return vw_fail(VW_ERR_K, "k=%u outside 1..%u", k, VW_MAX_K);
    if (metric != VW_METRIC_L2 && metric != VW_METRIC_IP && metric != VW_METRIC_COSINE)
        return vw_fail(VW_ERR_INVALID_ARG, "unknown metric %d", (int)metric);
    if (n > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "%llu base rows above %u", (unsigned long long)n,
                       VW_MAX_ELEMENTS);
    bool cosine = metric == VW_METRIC_COSINE;
    vw_status st = check_rows(base, n, dim, cosine, "base row");
    return st == VW_OK ? check_rows(queries, nq, dim, cosine, "query") : st;
}

/* The queries as the distances need them: a normalized copy for cosine. */
static vw_status prepare_queries(const float *queries, uint64_t nq, uint32_t dim, bool cosine,
                                 float **copy) {
    *copy = NULL;
    if (!cosine)
        return VW_OK;
    *copy = malloc((size_t)nq * dim * sizeof **copy);
    if (!*copy)
        return vw_fail(VW_ERR_NOMEM, "%llu normalized queries", (unsigned long long)nq);
    memcpy(*copy, queries, (size_t)nq * dim * sizeof **copy);
    for (uint64_t i = 0; i < nq; i++)
        vw_normalize(*copy + i * dim, dim);
    return VW_OK;
}

vw_status vw_exact_search(const float *base, uint64_t n, const float *queries, uint64_t nq,
                          uint32_t dim, vw_metric metric, uint32_t k, unsigned threads,
                          uint64_t *out_ids, float *out_distances, vw_progress_fn progress,
                          void *progress_ctx) {
    vw_clear_detail();
    vw_status st = check_exact_args(base, n, queries, nq, dim, metric, k, out_ids);
    float *unit_queries = NULL;
    if (st == VW_OK && nq > 0)
        st = prepare_queries(queries, nq, dim, metric == VW_METRIC_COSINE, &unit_queries);
    if (st != VW_OK || nq == 0)
        return st;
    const vw_kernels *kern = vw_kernels_active();
    exact_job j = {.base = base,
                   .queries = unit_queries ? unit_queries : queries,
                   .n = n,
                   .nq = nq,
                   .dim = dim,
                   .k = k,
                   .cosine = metric == VW_METRIC_COSINE,
                   .dist = metric == VW_METRIC_L2 ? kern->l2sq : kern->ipdist,
                   .ids = out_ids,
                   .dists = out_distances,
                   .progress = progress,
                   .progress_ctx = progress_ctx};
    atomic_init(&j.next_block, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.status, VW_OK);
    uint64_t blocks = (nq + EXACT_BLOCK - 1) / EXACT_BLOCK;
    if (threads == 0)
        threads = vw_default_threads();
    if (threads > blocks)
        threads = (unsigned)blocks;
    st = vw_parallel(threads, exact_worker, &j);
    free(unit_queries);
    if (st == VW_OK)
        st = (vw_status)atomic_load(&j.status);
    if (st == VW_ERR_NOMEM)
        return vw_fail(st, "heaps of %u entries", k);
    if (st == VW_ERR_CANCELLED)
        return vw_fail(st, "cancelled after %llu of %llu queries",
                       (unsigned long long)atomic_load(&j.done), (unsigned long long)nq);
    return st;
}
