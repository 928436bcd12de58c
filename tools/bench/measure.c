/*
 * measure.c - latency, QPS and recall at each efSearch, and the smallest
 * efSearch that reaches a target recall (see bench.h for the method).
 */
#include "bench.h"

#include "cli.h"
#include "machine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static vw_search_options options(const bench *b, uint32_t ef) {
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = ef;
    o.rerank = b->rerank;
    o.where = b->filter;
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

void warm_up(const bench *b, uint32_t ef) {
    uint32_t found;
    for (uint64_t q = 0; q < b->nq; q++)
        search_or_die(b, q, ef, b->labels, &found);
}

/* ------------------------------------------------------------ one efSearch */

static int double_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values: the ceil(p/100 * n)-th. */
static double percentile(const double *sorted, size_t n, double p) {
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    rank = rank < 1 ? 1 : rank;
    return sorted[rank > n ? n - 1 : rank - 1];
}

/* The latency figures of n timed searches (sorts lat_us). */
static latency summarize(double *lat_us, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += lat_us[i];
    qsort(lat_us, n, sizeof *lat_us, double_cmp);
    return (latency){sum / (double)n, percentile(lat_us, n, 50), percentile(lat_us, n, 95),
                     percentile(lat_us, n, 99), lat_us[n - 1]};
}

static void measure_batch(bench *b, uint32_t ef, ef_result *r) {
    unsigned threads = b->threads ? b->threads : tool_cpu_count();
    vw_search_options o = options(b, ef);
    double wall = 0.0;
    for (unsigned pass = 0; pass < b->repeat; pass++) {
        double t0 = tool_now();
        vw_status st = vw_index_search_batch_ex(b->index, b->queries, b->nq, b->k, &o, threads,
                                                b->labels, NULL, NULL);
        wall += tool_now() - t0;
        if (st != VW_OK)
            tool_die_status(st, b->index_path);
    }
    r->has_batch = 1;
    r->batch_threads = threads;
    r->batch_qps = wall > 0 ? (double)b->nq * b->repeat / wall : 0.0;
}

/* Timed single-thread passes at one ef (the recall from the first). */
void measure(bench *b, uint32_t ef, ef_result *r) {
    uint64_t hits = 0;
    double wall = 0.0;
    size_t n = 0;
    for (unsigned pass = 0; pass < b->repeat; pass++) {
        double pass_start = tool_now();
        for (uint64_t q = 0; q < b->nq; q++) {
            uint32_t found;
            double t0 = tool_now();
            search_or_die(b, q, ef, b->labels, &found);
            b->lat_us[n++] = (tool_now() - t0) * 1e6;
            if (pass == 0) {
                hits += count_hits(b, q, b->labels, found);
                b->nonmatching += count_nonmatching(b, b->labels, found);
            }
        }
        wall += tool_now() - pass_start;
    }
    *r = (ef_result){.ef = ef,
                     .recall = (double)hits / ((double)b->nq * b->truth_len),
                     .qps = wall > 0 ? (double)n / wall : 0.0,
                     .lat = summarize(b->lat_us, n)};
    if (b->threads_given)
        measure_batch(b, ef, r);
}

/* ------------------------------------------------------------ the target */

/* Recall only, with every CPU (the results do not depend on the threads). */
static double measure_recall(bench *b, uint32_t ef) {
    uint32_t *found = malloc((size_t)b->nq * sizeof *found);
    if (!found)
        tool_die("out of memory");
    vw_search_options o = options(b, ef);
    vw_status st =
        vw_index_search_batch_ex(b->index, b->queries, b->nq, b->k, &o, 0, b->labels, NULL, found);
    if (st != VW_OK)
        tool_die_status(st, b->index_path);
    uint64_t hits = 0;
    for (uint64_t q = 0; q < b->nq; q++) {
        hits += count_hits(b, q, b->labels + q * b->k, found[q]);
        b->nonmatching += count_nonmatching(b, b->labels + q * b->k, found[q]);
    }
    free(found);
    return (double)hits / ((double)b->nq * b->truth_len);
}

static double cached_recall(bench *b, uint32_t ef) {
    for (size_t i = 0; i < b->n_evals; i++)
        if (b->eval_ef[i] == ef)
            return b->eval_recall[i];
    double r = measure_recall(b, ef);
    if (b->n_evals < MAX_EVALS) {
        b->eval_ef[b->n_evals] = ef;
        b->eval_recall[b->n_evals] = r;
        b->n_evals++;
    }
    return r;
}

/* The ef of the best recall evaluated: what a missed target reports. */
static uint32_t best_evaluated(const bench *b) {
    double best = -1.0;
    uint32_t ef = b->k;
    for (size_t i = 0; i < b->n_evals; i++) {
        if (b->eval_recall[i] > best) {
            best = b->eval_recall[i];
            ef = b->eval_ef[i];
        }
    }
    return ef;
}

/* Smallest ef with recall >= target: efs below k search like ef = k, so
 * start there, double until the target is met (or ef reaches the point
 * where the beam holds the whole index), then bisect. Recall grows with ef
 * in practice, not strictly, so "smallest" means the first ef found with
 * ef - 1 below the target. */
void find_target(bench *b) {
    uint64_t cap64 = b->stats.count > b->k ? b->stats.count : b->k;
    uint32_t cap = cap64 > VW_MAX_EF ? VW_MAX_EF : (uint32_t)cap64;
    uint32_t lo = b->k - 1; /* known (or taken) to miss */
    uint32_t hi = b->k;
    while (cached_recall(b, hi) < b->target && hi < cap) {
        lo = hi;
        hi = hi > cap / 2 ? cap : hi * 2;
    }
    b->target_reached = cached_recall(b, hi) >= b->target;
    while (b->target_reached && hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cached_recall(b, mid) >= b->target)
            hi = mid;
        else
            lo = mid;
    }
    if (!b->target_reached)
        hi = best_evaluated(b);
    measure(b, hi, &b->target_result);
}
