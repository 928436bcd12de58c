/*
 * report.c - vw-bench's results: JSON (benchmark_results.json) and the
 * table on stdout.
 */
#include "attrs_io.h"
#include "bench.h"

#include "files.h"
#include "index_json.h"
#include "json.h"
#include "machine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ JSON */

/* Measured times carry no more digits than the clock and the noise give:
 * 0.001 us for latencies, 0.1 for QPS, 1 us for seconds. */
static double rounded(double v, int decimals) {
    double scale = pow(10.0, decimals);
    return round(v * scale) / scale; /* exact scale: the double nearest the decimal */
}

static void json_latency(json_writer *w, const latency *l) {
    json_key(w, "latency_us");
    json_begin_object(w);
    json_field_double(w, "mean", rounded(l->mean, 3));
    json_field_double(w, "p50", rounded(l->p50, 3));
    json_field_double(w, "p95", rounded(l->p95, 3));
    json_field_double(w, "p99", rounded(l->p99, 3));
    json_field_double(w, "max", rounded(l->max, 3));
    json_end_object(w);
}

static void json_result_fields(json_writer *w, const bench *b, const ef_result *r) {
    json_field_u64(w, "ef_search", r->ef);
    json_field_u64(w, "k", b->k);
    json_field_u64(w, "n_queries", b->nq);
    json_field_double(w, "recall_at_k", r->recall);
    json_field_double(w, "qps", rounded(r->qps, 1));
    json_latency(w, &r->lat);
    if (!r->has_batch)
        return;
    json_key(w, "batch");
    json_begin_object(w);
    json_field_u64(w, "threads", r->batch_threads);
    json_field_double(w, "qps", rounded(r->batch_qps, 1));
    json_end_object(w);
}

static void json_index(json_writer *w, const bench *b) {
    json_key(w, "index");
    json_begin_object(w);
    json_field_string(w, "path", b->index_path);
    tool_json_index_stats(w, &b->stats, b->file_bytes);
    json_key(w, "rerank");
    if (b->rerank)
        json_u64(w, b->rerank);
    else
        json_string(w, "default");
    json_field_double(w, "load_seconds", rounded(b->load_seconds, 6));
    json_end_object(w);
}

static void json_setup(json_writer *w, const bench *b) {
    char cpu[256];
    tool_cpu_model(cpu, sizeof cpu);
    json_key(w, "machine");
    json_begin_object(w);
    json_field_string(w, "cpu_model", cpu);
    json_field_string(w, "simd", vw_simd_name(vw_simd_active()));
    json_field_u64(w, "threads", tool_cpu_count());
    json_end_object(w);

    json_key(w, "queries");
    json_begin_object(w);
    json_field_string(w, "source", b->queries_path ? b->queries_path : "generated");
    json_field_u64(w, "n_queries", b->nq);
    if (!b->queries_path) {
        json_field_string(w, "dist", tool_dist_name(b->gp.dist));
        if (b->gp.dist == TOOL_DIST_CLUSTERED) {
            json_field_u64(w, "clusters", b->gp.clusters);
            json_field_double(w, "spread", b->gp.spread);
        }
        json_field_u64(w, "seed", b->gp.seed);
    }
    json_end_object(w);

    json_key(w, "ground_truth");
    json_begin_object(w);
    json_field_string(w, "source", b->truth_source);
    json_field_double(w, "seconds", rounded(b->truth_seconds, 6));
    json_end_object(w);
    if (b->filter) {
        json_key(w, "filter");
        json_begin_object(w);
        char *text = tool_filter_text(b->filter_arg);
        json_field_string(w, "text", text);
        free(text);
        json_field_u64(w, "matching", b->n_matching);
        json_field_double(w, "fraction",
                          b->stats.count ? (double)b->n_matching / b->stats.count : 0);
        json_field_u64(w, "nonmatching_results", b->nonmatching);
        json_end_object(w);
    }
}

static void json_target(json_writer *w, const bench *b) {
    json_key(w, "target_recall");
    json_begin_object(w);
    json_field_double(w, "target", b->target);
    json_field_bool(w, "reached", b->target_reached);
    json_result_fields(w, b, &b->target_result);
    json_key(w, "evaluations");
    json_begin_array(w);
    for (size_t i = 0; i < b->n_evals; i++) {
        json_begin_object(w);
        json_field_u64(w, "ef_search", b->eval_ef[i]);
        json_field_double(w, "recall_at_k", b->eval_recall[i]);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

void write_results(const bench *b, const char *build_json) {
    json_writer w;
    json_writer_init(&w, 1, 0);
    json_begin_object(&w);
    json_field_string(&w, "tool", "vw-bench");
    json_field_string(&w, "version", vw_version());
    json_index(&w, b);
    json_setup(&w, b);
    json_field_u64(&w, "k", b->k);
    json_field_u64(&w, "repeat", b->repeat);
    json_key(&w, "results");
    json_begin_array(&w);
    for (size_t i = 0; i < b->n_efs; i++) {
        json_begin_object(&w);
        json_result_fields(&w, b, &b->results[i]);
        json_end_object(&w);
    }
    json_end_array(&w);
    if (b->has_target)
        json_target(&w, b);
    if (build_json) {
        json_key(&w, "build");
        json_raw(&w, build_json);
    }
    json_field_u64(&w, "peak_rss_bytes", tool_peak_rss_bytes());
    json_end_object(&w);
    tool_write_json(b->out_path, &w);
    json_writer_free(&w);
}

/* ------------------------------------------------------------ table */

static void print_row(const char *tag, const ef_result *r) {
    printf("%-6s %6u  %9.4f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f", tag, r->ef, r->recall, r->qps,
           r->lat.mean, r->lat.p50, r->lat.p95, r->lat.p99, r->lat.max);
    if (r->has_batch)
        printf(" %10.0f", r->batch_qps);
    putchar('\n');
}

static void print_header(const bench *b) {
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
           : b->stats.residual_bits ? " (no float32, re-ranked with a 4-bit residual: APPROXIMATE "
                                      "distances)"
                                    : " (no float32: APPROXIMATE distances)");
    if (b->queries_path)
        printf("queries: %llu from %s", (unsigned long long)b->nq, b->queries_path);
    else
        printf("queries: %llu generated (%s, seed %llu)", (unsigned long long)b->nq,
               tool_dist_name(b->gp.dist), (unsigned long long)b->gp.seed);
    printf("; ground truth: %s (%.2f s); kernels: %s\n", b->truth_source, b->truth_seconds,
           vw_simd_name(vw_simd_active()));
}

static void print_target(const bench *b) {
    const ef_result *r = &b->target_result;
    print_row("target", r);
    if (b->target_reached)
        printf("recall@%u >= %g first reached at ef %u (recall %.4f, %.0f QPS, p99 %.1f us)\n",
               b->k, b->target, r->ef, r->recall, r->qps, r->lat.p99);
    else
        printf("recall@%u %g NOT reached: best %.4f at ef %u\n", b->k, b->target, r->recall, r->ef);
}

void print_table(const bench *b) {
    print_header(b);
    char recall_head[32];
    snprintf(recall_head, sizeof recall_head, "recall@%u", b->k);
    printf("%-6s %6s  %9s %10s %9s %9s %9s %9s %9s", "", "ef", recall_head, "QPS", "mean us",
           "p50 us", "p95 us", "p99 us", "max us");
    if (b->n_efs && b->results[0].has_batch) {
        char head[32];
        snprintf(head, sizeof head, "QPS %ut", b->results[0].batch_threads);
        printf(" %10s", head);
    }
    putchar('\n');
    for (size_t i = 0; i < b->n_efs; i++)
        print_row("", &b->results[i]);
    if (b->has_target)
        print_target(b);
}
