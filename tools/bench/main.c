/*
 * vw-bench - measures an index: recall@k against exact ground truth,
 * single-thread latency (mean/p50/p95/p99/max) and QPS per efSearch, an
 * optional multi-thread throughput run, and the smallest efSearch that
 * reaches a target recall. Writes JSON, a summary table and an SVG plot.
 * The method is written down in bench.h.
 */
#include "attrs_io.h"
#include "bench.h"

#include "cli.h"
#include "files.h"
#include "index_files.h"
#include "json.h"
#include "machine.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_K         10u
#define DEFAULT_EF        64u
#define DEFAULT_N_QUERIES 1000u
#define MAX_PLOT_FROM     12

/* The second half of --help: measurement and output. */
static void usage_measurement(void) {
    printf("Measurement:\n"
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
           "      --filter JSON       filtered search (vw-query --filter; @FILE reads it):\n"
           "                          the ground truth is the exact top k among the\n"
           "                          elements that match, any result that does not match\n"
           "                          is counted (\"nonmatching_results\", always 0)\n"
           "Output:\n"
           "  -o, --output FILE       JSON results (default benchmark_results.json)\n"
           "      --plot FILE.svg     recall-vs-QPS plot, one point per efSearch\n"
           "      --build-report FILE JSON from `vw-build --report`, copied under \"build\"\n"
           "      --plot-title TEXT   the plot's title (default: recall@k vs QPS: INDEX)\n"
           "      --plot-from NAME=FILE\n"
           "                          instead of measuring (no -x): draw the results\n"
           "                          FILEs of earlier runs, or of other engines written\n"
           "                          in the same shape, in one --plot chart (up to 12)\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the library version and exit\n"
           "\n"
           "Examples:\n"
           "  vw-bench -x base.vwi --base base.npy --queries queries.fvecs --sweep 16,32,64,128\n"
           "  vw-bench -x base.vwi --target-recall 0.95 --threads 0 --plot recall_qps.svg\n",
           VW_MAX_K, DEFAULT_K, DEFAULT_EF);
}

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
           "                          e.g. for other engines' benchmarks on the same data\n",
           DEFAULT_N_QUERIES, TOOL_DEFAULT_CLUSTERS, TOOL_DEFAULT_SPREAD, TOOL_DEFAULT_SEED);
    usage_measurement();
}

/* What the command line said beyond the bench's own settings. */
typedef struct given {
    int ef, sweep, nq, gen, clusters, spread;
    char *plot_from[MAX_PLOT_FROM];
    size_t n_plot_from;
} given;

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
    OPT_PLOT_FROM,
    OPT_PLOT_TITLE,
    OPT_METRIC,
    OPT_FILTER
};

static const struct option longopts[] = {
    {"index", required_argument, NULL, 'x'},
    {"metric", required_argument, NULL, OPT_METRIC},
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
    {"filter", required_argument, NULL, OPT_FILTER},
    {"output", required_argument, NULL, 'o'},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"build-report", required_argument, NULL, OPT_BUILD_REPORT},
    {"plot-from", required_argument, NULL, OPT_PLOT_FROM},
    {"plot-title", required_argument, NULL, OPT_PLOT_TITLE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}};

/* The options of the queries and their ground truth. */
static int parse_data_option(bench *b, given *g, int c) {
    switch (c) {
    case OPT_QUERIES:
        b->queries_path = optarg;
        break;
    case OPT_NQ:
        b->n_queries = tool_parse_u64("--n-queries", optarg, 1, MAX_QUERIES);
        g->nq = 1;
        break;
    case OPT_DIST:
        if (tool_dist_parse(optarg, &b->gp.dist) != 0)
            tool_usage_error("--dist: unknown distribution '%s' (clustered, gaussian, uniform)",
                             optarg);
        g->gen = 1;
        break;
    case OPT_CLUSTERS:
        b->gp.clusters = tool_parse_u32("--clusters", optarg, 1, TOOL_MAX_CLUSTERS);
        g->gen = g->clusters = 1;
        break;
    case OPT_SPREAD:
        b->gp.spread = tool_parse_double("--spread", optarg, 1e-6, 1e6);
        g->gen = g->spread = 1;
        break;
    case OPT_SEED:
        b->gp.seed = tool_parse_u64("--seed", optarg, 0, UINT64_MAX);
        g->gen = 1;
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
    default:
        return 0;
    }
    return 1;
}

/* The options of the measurement itself. */
static int parse_measure_option(bench *b, given *g, int c) {
    switch (c) {
    case 'k':
        b->k = tool_parse_u32("-k", optarg, 1, VW_MAX_K);
        break;
    case OPT_EF:
        b->efs[0] = tool_parse_u32("--ef", optarg, 1, VW_MAX_EF);
        b->n_efs = 1;
        g->ef = 1;
        break;
    case OPT_SWEEP:
        b->n_efs = tool_parse_u32_list("--sweep", optarg, 1, VW_MAX_EF, b->efs, MAX_EFS);
        g->sweep = 1;
        break;
    case OPT_TARGET:
        b->target = tool_parse_double("--target-recall", optarg, 0.0, 1.0);
        if (b->target <= 0.0)
            tool_usage_error("--target-recall: %s is out of range (0, 1]", optarg);
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
    case OPT_FILTER:
        b->filter_arg = optarg;
        b->filter = tool_parse_filter(optarg);
        break;
    default:
        return 0;
    }
    return 1;
}

static void parse_option(bench *b, given *g, int c, char **argv) {
    if (parse_data_option(b, g, c) || parse_measure_option(b, g, c))
        return;
    switch (c) {
    case 'x':
        b->index_path = optarg;
        break;
    case OPT_MMAP:
        b->load_flags |= VW_LOAD_MMAP;
        break;
    case OPT_METRIC:
        b->metric = optarg;
        break;
    case 'o':
        b->out_path = optarg;
        break;
    case OPT_PLOT:
        b->plot_path = optarg;
        break;
    case OPT_PLOT_TITLE:
        b->plot_title = optarg;
        break;
    case OPT_BUILD_REPORT:
        b->build_report = optarg;
        break;
    case OPT_PLOT_FROM:
        if (g->n_plot_from == MAX_PLOT_FROM)
            tool_usage_error("--plot-from: at most %d result files", MAX_PLOT_FROM);
        g->plot_from[g->n_plot_from++] = optarg;
        break;
    default:
        tool_other_option(c, argv, usage);
    }
}

/* Combinations of options that make no sense together. */
static void check_combinations(const bench *b, const given *g) {
    if (g->ef && g->sweep)
        tool_usage_error("give either --ef or --sweep, not both");
    if (b->queries_path && (g->nq || g->gen))
        tool_usage_error("--n-queries, --dist, --clusters, --spread and --seed apply to "
                         "generated queries, not to --queries");
    if (b->gp.dist != TOOL_DIST_CLUSTERED && (g->clusters || g->spread))
        tool_usage_error("%s applies only to --dist clustered",
                         g->clusters ? "--clusters" : "--spread");
    if (b->gt_path && b->filter)
        tool_usage_error("--filter computes its own ground truth (the filtered top k); drop --gt");
    if (b->gt_path && b->base_path)
        tool_usage_error("give either --gt or --base, not both");
    if (b->gt_path && b->gt_out)
        tool_usage_error("--gt-out writes computed ground truth; it cannot go with --gt");
    if (b->gt_out && vw_dataset_format_from_path(b->gt_out) != VW_FORMAT_IVECS &&
        vw_dataset_format_from_path(b->gt_out) != VW_FORMAT_IBIN)
        tool_usage_error("--gt-out: %s must end in .ivecs or .ibin", b->gt_out);
    if (b->plot_path && vw_dataset_format_from_path(b->plot_path) != VW_FORMAT_AUTO)
        tool_usage_error("--plot: %s is a vector file name; give FILE.svg", b->plot_path);
}

static void parse_args(bench *b, given *g, int argc, char **argv) {
    b->k = DEFAULT_K;
    b->efs[0] = DEFAULT_EF;
    b->n_efs = 1;
    b->n_queries = DEFAULT_N_QUERIES;
    b->repeat = 1;
    b->out_path = "benchmark_results.json";
    tool_gen_params_default(&b->gp, 1);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":x:k:o:hV", longopts, NULL)) != -1)
        parse_option(b, g, c, argv);
    tool_no_operands(argc, argv);
    if (g->n_plot_from) {
        if (b->index_path || !b->plot_path)
            tool_usage_error("--plot-from draws earlier results: it needs --plot FILE.svg and "
                             "no -x");
        return;
    }
    if (!b->index_path)
        tool_usage_error("missing -x INDEX");
    check_combinations(b, g);
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

/* ------------------------------------------------------------ the run */

static char *read_build_report(const char *path) {
    size_t len = 0;
    char *text = tool_read_small_file(path, (size_t)1 << 20, &len);
    if (!json_valid(text, len))
        tool_die("%s: not valid JSON", path);
    return text;
}

static void load_index(bench *b) {
    double t0 = tool_now();
    b->index = tool_open_index(b->index_path, b->load_flags, b->metric);
    b->load_seconds = tool_now() - t0;
    vw_status st = vw_index_stats(b->index, &b->stats);
    if (st != VW_OK)
        tool_die_status(st, b->index_path);
    if (b->stats.count == 0)
        tool_die("%s: the index is empty", b->index_path);
    b->file_bytes = tool_file_size(b->index_path);
}

static void run(bench *b) {
    b->labels = malloc((size_t)b->nq * b->k * sizeof *b->labels);
    b->lat_us = malloc((size_t)b->nq * b->repeat * sizeof *b->lat_us);
    if (!b->labels || !b->lat_us)
        tool_die("out of memory for %llu queries", (unsigned long long)b->nq);
    warm_up(b, b->efs[0]);
    for (size_t i = 0; i < b->n_efs; i++)
        measure(b, b->efs[i], &b->results[i]);
    if (b->has_target)
        find_target(b);
}

static void free_bench(bench *b) {
    free(b->labels);
    free(b->lat_us);
    free(b->truth);
    free(b->matching);
    vw_filter_free(b->filter);
    if (b->queries_ds)
        vw_dataset_free(b->queries_ds);
    else
        free(b->queries);
    vw_index_free(b->index);
}

int main(int argc, char **argv) {
    tool_init("vw-bench");
    static bench b; /* large; zero-initialized */
    given g = {0};
    parse_args(&b, &g, argc, argv);
    if (g.n_plot_from) {
        plot_results_files(b.plot_path, b.plot_title, g.plot_from, g.n_plot_from);
        return TOOL_EXIT_OK;
    }
    tool_check_writable(b.out_path);
    if (b.plot_path)
        tool_check_writable(b.plot_path);
    char *build_json = b.build_report ? read_build_report(b.build_report) : NULL;
    load_index(&b);
    load_queries(&b);
    load_truth(&b);
    run(&b);
    print_table(&b);
    write_results(&b, build_json);
    if (b.plot_path)
        write_plot(&b);
    char rss[32];
    tool_format_bytes(rss, sizeof rss, tool_peak_rss_bytes());
    printf("peak RSS %s; results written to %s%s%s\n", rss, b.out_path,
           b.plot_path ? ", plot to " : "", b.plot_path ? b.plot_path : "");
    free(build_json);
    free_bench(&b);
    return TOOL_EXIT_OK;
}
