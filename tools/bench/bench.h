/*
 * bench.h - vw-bench: what it measures and how, shared by its files.
 *
 *   main.c     options, the order of the steps
 *   truth.c    queries (read or generated) and exact ground truth
 *   measure.c  latency, QPS and recall per efSearch; the target search
 *   report.c   the JSON results and the table on stdout
 *   plot.c     the recall-vs-QPS SVG (also from other engines' results)
 *
 * Method: queries are searched one at a time on one thread, each timed with
 * CLOCK_MONOTONIC around vw_index_search_ex; one untimed pass over all
 * queries warms caches first. QPS = queries / wall time of the pass.
 * Percentiles use the nearest-rank definition. Recall@k = |result ∩
 * truth[:k]| / k, averaged over queries. Exact ground truth is brute force
 * over the base vectors (vw_exact_search: all CPUs, ties to the smaller id).
 */
#ifndef VW_TOOLS_BENCH_H
#define VW_TOOLS_BENCH_H

#include "gen.h"
#include "vwhnsw.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_QUERIES 10000000u
#define MAX_EFS     64
#define MAX_EVALS   64

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
    const char *out_path, *plot_path, *plot_title, *build_report;
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
    const char *filter_arg; /* --filter: text or @FILE */
    vw_filter *filter;
    uint64_t *matching; /* labels the filter matches, ascending (the truth's domain) */
    uint64_t n_matching;
    uint64_t nonmatching; /* results outside it, over every pass: must stay 0 */
    /* the index */
    vw_index *index;
    vw_stats stats;
    int64_t file_bytes;
    double load_seconds;
    /* queries and truth */
    float *queries;
    vw_dataset *queries_ds; /* when read from a file; else queries is malloc'ed */
    uint64_t nq;
    uint64_t *truth;    /* nq x k, each row's first truth_len sorted ascending for lookup */
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

/* truth.c */
void load_queries(bench *b);
/* Reads --gt or computes the truth by brute force (and writes --gt-out). */
void load_truth(bench *b);
/* Hits of one query's results among its true top-k. */
/* Results of a filtered search that do not match the filter (always 0). */
uint32_t count_nonmatching(bench *b, const uint64_t *labels, uint32_t found);
uint32_t count_hits(const bench *b, uint64_t q, const uint64_t *labels, uint32_t found);

/* measure.c */
void warm_up(const bench *b, uint32_t ef);
void measure(bench *b, uint32_t ef, ef_result *r);
void find_target(bench *b);

/* report.c */
void print_table(const bench *b);
void write_results(const bench *b, const char *build_json);

/* plot.c */
void write_plot(const bench *b);
/* --plot-from: draws the results files of several runs (or engines) in one
 * chart; `sources` are "NAME=FILE.json", title may be NULL. */
void plot_results_files(const char *svg_path, const char *title, char **sources, size_t n);

#endif /* VW_TOOLS_BENCH_H */
