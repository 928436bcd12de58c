/*
 * vw-query - loads an index and answers k-nearest-neighbour queries given on
 * the command line, on stdin (one per line) or in a vector file.
 */
#include "attrs_io.h"
#include "cli.h"
#include "files.h"
#include "index_files.h"
#include "index_json.h"
#include "json.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_K  10u
#define DEFAULT_EF 64u

static void usage(void) {
    printf("Usage: vw-query -x INDEX [OPTIONS] [VECTOR...]\n"
           "Print the k nearest neighbours of each query vector.\n"
           "\n"
           "Queries come from, in this order of preference:\n"
           "  --queries FILE   a vector file (.npy, .fvecs, .bvecs, .fbin, .u8bin)\n"
           "  VECTOR...        arguments: each argument holding several numbers is one\n"
           "                   query (\"0.1,0.2,...\" or \"0.1 0.2 ...\", optionally in [ ]);\n"
           "                   single-number arguments together form one query\n"
           "  stdin            otherwise: one query per line, numbers separated by commas\n"
           "                   and/or spaces; blank lines are skipped\n"
           "Every number must be a finite float and each query must have the index's\n"
           "dimension. Queries are normalized by the library when the metric is cosine.\n"
           "\n"
           "  -x, --index FILE   index written by vw-build (required), or a Faiss\n"
           "                     (faiss.write_index) or hnswlib (save_index) file\n"
           "      --metric NAME  the metric of an hnswlib file: l2, ip or cosine (the\n"
           "                     others record theirs)\n"
           "  -k, --k K          neighbours per query, 1..%u (default %u)\n"
           "      --ef EF        search beam width, 1..%u (default %u; the search uses\n"
           "                     max(ef, k)); `vw-bench --target-recall` finds one\n"
           "      --queries FILE read the queries from a vector file\n"
           "      --json         one JSON object per query and line:\n"
           "                     {\"indices\":[...],\"distances\":[...]}\n"
           "      --mmap         map the index file instead of reading it (fast start)\n"
           "      --no-verify    skip the index file's checksums (structure is still\n"
           "                     checked); with --mmap the load then takes milliseconds\n"
           "      --filter JSON  return only elements whose attributes match the filter\n"
           "                     (Qdrant's shape: {\"must\": [{\"key\": \"color\", \"match\":\n"
           "                     {\"value\": \"red\"}}]}; README \"Filters\"); @FILE reads it\n"
           "                     from a file\n"
           "      --rerank R     compact storage with float32: candidates re-scored\n"
           "                     exactly (default: the library's, 4k)\n"
           "      --stats        print the index's statistics (count, dim, storage kind,\n"
           "                     bytes per vector, ...) as JSON and exit\n"
           "  -h, --help         show this help and exit\n"
           "  -V, --version      show the library version and exit\n"
           "\n"
           "Text output: a line \"# query N\" then one line \"ID<TAB>DISTANCE\" per neighbour,\n"
           "nearest first. Distances: squared L2 for l2, 1 - dot product for ip and cosine.\n"
           "\n"
           "Examples:\n"
           "  vw-query -x base.vwi -k 5 \"$(python3 -c 'print(\",\".join([\"0.1\"]*128))')\"\n"
           "  vw-query -x base.vwi --json --ef 128 --queries queries.fvecs\n"
           "  vw-query -x base.vwi --queries q.npy --filter '{\"must\": [{\"key\": \"price\", "
           "\"range\":\n"
           "      {\"lt\": 20}}, {\"key\": \"stock\", \"match\": {\"value\": true}}]}'\n",
           VW_MAX_K, DEFAULT_K, VW_MAX_EF, DEFAULT_EF);
}

typedef struct query_ctx {
    const vw_index *index;
    const char *index_path;
    uint32_t dim;
    uint32_t k;
    uint32_t ef;
    int json;
    uint32_t rerank;
    const vw_filter *filter; /* --filter, or NULL */
    uint64_t printed;        /* queries answered so far */
    uint64_t *labels;
    float *distances;
} query_ctx;

/* A distance that is not a number can only come from an index file that
 * holds a non-finite vector, which a checksummed load refuses: the answer
 * would be meaningless (and NaN is not JSON), so it is an error. */
static void check_distances(const query_ctx *q, uint32_t found, const char *what) {
    for (uint32_t i = 0; i < found; i++) {
        if (!isfinite(q->distances[i])) {
            tool_die("%s: distance to label %llu is not a finite number: the index %s holds a "
                     "non-finite vector (it loads without checks only with --no-verify)",
                     what, (unsigned long long)q->labels[i], q->index_path);
        }
    }
}

static void print_result(query_ctx *q, uint32_t found) {
    if (q->json) {
        json_writer w;
        json_writer_init(&w, 0, 0);
        tool_json_result(&w, q->labels, q->distances, found);
        size_t len;
        const char *text = json_writer_text(&w, &len);
        if (!text)
            tool_die("out of memory");
        printf("%s\n", text);
        json_writer_free(&w);
    } else {
        printf("# query %llu\n", (unsigned long long)q->printed);
        for (uint32_t i = 0; i < found; i++)
            printf("%llu\t%.9g\n", (unsigned long long)q->labels[i], (double)q->distances[i]);
    }
    q->printed++;
}

/* `what` names the query in an error message ("stdin line 3"). */
static void run_query(query_ctx *q, const float *vector, const char *what) {
    uint32_t found = 0;
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = q->ef;
    o.rerank = q->rerank;
    o.where = q->filter;
    vw_status st = vw_index_search_ex(q->index, vector, q->k, &o, q->labels, q->distances, &found);
    if (st != VW_OK)
        tool_die_status(st, what);
    check_distances(q, found, what);
    print_result(q, found);
}

static void dimension_error(const query_ctx *q, const char *what, long got) {
    tool_die("%s has %ld values, but the index %s has dimension %u", what, got, q->index_path,
             q->dim);
}

static void run_file(query_ctx *q, const char *path) {
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(path, VW_FORMAT_AUTO, &ds);
    if (st != VW_OK)
        tool_die_status(st, path);
    if (ds->dim != q->dim) {
        tool_die("%s: queries have dimension %u, but the index %s has dimension %u", path, ds->dim,
                 q->index_path, q->dim);
    }
    for (uint64_t i = 0; i < ds->n; i++) {
        char what[64];
        snprintf(what, sizeof what, "query %llu", (unsigned long long)i);
        run_query(q, ds->data + (size_t)i * q->dim, what);
    }
    vw_dataset_free(ds);
}

/* Parses one text vector into buf (dim floats) or exits naming `what`. */
static void parse_or_die(const query_ctx *q, const char *text, float *buf, const char *what) {
    char err[128];
    long n = tool_parse_vector(text, buf, q->dim, err, sizeof err);
    if (n < 0)
        tool_die("%s: %s", what, err);
    if ((uint64_t)n != q->dim)
        dimension_error(q, what, n);
}

static void run_args(query_ctx *q, int count, char **args, float *buf) {
    /* `vw-query -x i 0.1 0.2 0.3` (unquoted) arrives as single numbers:
     * together they are one query, unless the index is 1-d. */
    int all_single = 1;
    char err[128];
    float one;
    for (int i = 0; i < count; i++) {
        long n = tool_parse_vector(args[i], &one, 1, err, sizeof err);
        if (n != 1)
            all_single = 0;
    }
    if (all_single && q->dim > 1) {
        if ((uint64_t)count != q->dim)
            dimension_error(q, "query 0", count);
        for (int i = 0; i < count; i++)
            tool_parse_vector(args[i], &buf[i], 1, err, sizeof err);
        run_query(q, buf, "query 0");
        return;
    }
    for (int i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "query %d", i);
        parse_or_die(q, args[i], buf, what);
        run_query(q, buf, what);
    }
}

static int is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

static void run_stdin(query_ctx *q, float *buf) {
    char *line = NULL;
    size_t cap = 0;
    unsigned long long lineno = 0;
    while (getline(&line, &cap, stdin) != -1) {
        lineno++;
        if (is_blank(line))
            continue;
        char what[64];
        snprintf(what, sizeof what, "stdin line %llu", lineno);
        parse_or_die(q, line, buf, what);
        run_query(q, buf, what);
        fflush(stdout); /* answer each line at once when used interactively */
    }
    if (ferror(stdin))
        tool_die("stdin: read error");
    free(line);
}

static int starts_negative_number(const char *s) {
    return s[0] == '-' &&
           (isdigit((unsigned char)s[1]) || (s[1] == '.' && isdigit((unsigned char)s[2])));
}

/* --stats: what the index holds, one JSON object. */
static void print_stats(const char *path, const vw_stats *s) {
    json_writer w;
    json_writer_init(&w, 1, 0);
    json_begin_object(&w);
    json_field_string(&w, "index", path);
    tool_json_index_stats(&w, s, tool_file_size(path));
    json_end_object(&w);
    size_t len;
    const char *text = json_writer_text(&w, &len);
    if (!text)
        tool_die("out of memory");
    fputs(text, stdout);
    json_writer_free(&w);
}

typedef struct query_options {
    const char *queries;
    const char *metric; /* --metric, for an hnswlib file */
    const char *filter; /* --filter: the text, or @FILE */
    unsigned flags;     /* VW_LOAD_* */
    int stats_only;
} query_options;

enum {
    OPT_EF = 256,
    OPT_QUERIES,
    OPT_JSON,
    OPT_MMAP,
    OPT_NO_VERIFY,
    OPT_RERANK,
    OPT_STATS,
    OPT_METRIC,
    OPT_FILTER
};

static const struct option longopts[] = {{"index", required_argument, NULL, 'x'},
                                         {"k", required_argument, NULL, 'k'},
                                         {"ef", required_argument, NULL, OPT_EF},
                                         {"queries", required_argument, NULL, OPT_QUERIES},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"mmap", no_argument, NULL, OPT_MMAP},
                                         {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
                                         {"rerank", required_argument, NULL, OPT_RERANK},
                                         {"stats", no_argument, NULL, OPT_STATS},
                                         {"metric", required_argument, NULL, OPT_METRIC},
                                         {"filter", required_argument, NULL, OPT_FILTER},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};

static void parse_option(query_ctx *q, query_options *o, int c, char **argv) {
    switch (c) {
    case 'x':
        q->index_path = optarg;
        break;
    case 'k':
        q->k = tool_parse_u32("-k", optarg, 1, VW_MAX_K);
        break;
    case OPT_EF:
        q->ef = tool_parse_u32("--ef", optarg, 1, VW_MAX_EF);
        break;
    case OPT_QUERIES:
        o->queries = optarg;
        break;
    case OPT_JSON:
        q->json = 1;
        break;
    case OPT_NO_VERIFY:
        o->flags |= VW_LOAD_NO_VERIFY;
        break;
    case OPT_MMAP:
        o->flags |= VW_LOAD_MMAP;
        break;
    case OPT_RERANK:
        q->rerank = tool_parse_u32("--rerank", optarg, 1, VW_MAX_EF);
        break;
    case OPT_STATS:
        o->stats_only = 1;
        break;
    case OPT_METRIC:
        o->metric = optarg;
        break;
    case OPT_FILTER:
        o->filter = optarg;
        break;
    default:
        tool_other_option(c, argv, usage);
    }
}

static void parse_args(query_ctx *q, query_options *o, int argc, char **argv) {
    q->k = DEFAULT_K;
    q->ef = DEFAULT_EF;
    opterr = 0;
    int c;
    /* "+" stops at the first vector; a vector that starts with a minus sign
     * ("-0.5,1") also ends the options instead of being taken for one. */
    while (optind < argc && !starts_negative_number(argv[optind]) &&
           (c = getopt_long(argc, argv, "+:x:k:hV", longopts, NULL)) != -1)
        parse_option(q, o, c, argv);
    if (!q->index_path)
        tool_usage_error("missing -x INDEX");
    if (o->queries && optind < argc)
        tool_usage_error("give queries either with --queries or as arguments, not both");
}

static vw_index *load_index(const char *path, const query_options *o, vw_stats *stats) {
    vw_index *index = tool_open_index(path, o->flags, o->metric);
    vw_status st = vw_index_stats(index, stats);
    if (st != VW_OK)
        tool_die_status(st, path);
    return index;
}

int main(int argc, char **argv) {
    tool_init("vw-query");
    query_ctx q = {0};
    query_options o = {NULL, NULL, NULL, VW_LOAD_DEFAULT, 0};
    parse_args(&q, &o, argc, argv);
    vw_stats stats;
    vw_index *index = load_index(q.index_path, &o, &stats);
    if (o.stats_only) {
        print_stats(q.index_path, &stats);
        vw_index_free(index);
        return TOOL_EXIT_OK;
    }
    q.index = index;
    q.dim = stats.dim;
    vw_filter *filter = o.filter ? tool_parse_filter(o.filter) : NULL;
    q.filter = filter;
    q.labels = malloc((size_t)q.k * sizeof *q.labels);
    q.distances = malloc((size_t)q.k * sizeof *q.distances);
    float *buf = malloc((size_t)q.dim * sizeof *buf);
    if (!q.labels || !q.distances || !buf)
        tool_die("out of memory");
    if (o.queries)
        run_file(&q, o.queries);
    else if (optind < argc)
        run_args(&q, argc - optind, argv + optind, buf);
    else
        run_stdin(&q, buf);
    if (fflush(stdout) != 0 || ferror(stdout))
        tool_die("stdout: write error");
    free(buf);
    free(q.labels);
    free(q.distances);
    vw_filter_free(filter);
    vw_index_free(index);
    return TOOL_EXIT_OK;
}
