/*
 * vw-gen - writes N L2-normalized synthetic vectors (and optionally a query
 * set from the same distribution) to a vector file.
 *
 * The generator is specified in common/gen.h, where vw-bench finds it to
 * draw the same queries from the same options. Output is float32, so only
 * the float formats are offered: .npy, .fvecs and .fbin.
 */
#include "cli.h"
#include "files.h"
#include "gen.h"
#include "machine.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_COUNT 1000000u
#define DEFAULT_DIM   128u
#define MAX_QUERIES   100000000u

static void usage(void) {
    printf("Usage: vw-gen [OPTIONS] -o FILE\n"
           "Write N L2-normalized float32 vectors, deterministic for a seed.\n"
           "The format follows FILE's extension: .npy, .fvecs or .fbin.\n"
           "\n"
           "  -o, --output FILE       vectors to write (required)\n"
           "  -n, --count N           number of vectors (default %u)\n"
           "  -d, --dim D             dimension, 1..%u (default %u)\n"
           "      --seed S            random seed (default %u)\n"
           "      --dist NAME         clustered (default), gaussian or uniform\n"
           "      --clusters C        clustered: number of clusters (default %u)\n"
           "      --spread S          clustered: noise std-dev per coordinate (default %g)\n"
           "      --queries Q         also write Q query vectors (default 1000 when\n"
           "                          --queries-out is given)\n"
           "      --queries-out FILE  where to write the queries\n"
           "      --threads T         generator threads, 0 = all CPUs (default 0);\n"
           "                          the output does not depend on T\n"
           "  -q, --quiet             no summary line\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the library version and exit\n"
           "\n"
           "Distributions (every vector is L2-normalized at the end):\n"
           "  clustered  C centres with standard-normal coordinates; each vector picks a\n"
           "             centre uniformly and adds N(0, spread^2) noise to every\n"
           "             coordinate. Structured like real embeddings: HNSW reaches high\n"
           "             recall on it at modest efSearch.\n"
           "  gaussian   i.i.d. standard-normal coordinates: random directions, the\n"
           "             hardest case for any graph index (low recall at efSearch=64).\n"
           "  uniform    i.i.d. uniform [0,1) coordinates, as quick scripts often make.\n"
           "\n"
           "Queries come from the same distribution (the same centres) but from a\n"
           "separate random stream, so they are not base vectors. Row i does not depend\n"
           "on N: the first 1000 rows of a 1,000,000-vector set equal a 1000-vector set.\n"
           "`vw-bench --n-queries Q` with the same --seed/--dist/--clusters/--spread draws\n"
           "exactly the queries `vw-gen --queries Q` writes.\n"
           "\n"
           "Example:\n"
           "  vw-gen -n 100000 -d 128 --queries 1000 --queries-out queries.fvecs -o base.npy\n",
           DEFAULT_COUNT, VW_MAX_DIM, DEFAULT_DIM, TOOL_DEFAULT_SEED, TOOL_DEFAULT_CLUSTERS,
           TOOL_DEFAULT_SPREAD);
}

/* vw-gen draws unit float vectors: the integer formats cannot hold them
 * without an arbitrary scaling, so they are refused rather than guessed. */
static void check_output_path(const char *path) {
    switch (vw_dataset_format_from_path(path)) {
    case VW_FORMAT_NPY:
    case VW_FORMAT_FVECS:
    case VW_FORMAT_FBIN:
        return;
    case VW_FORMAT_BVECS:
    case VW_FORMAT_U8BIN:
    case VW_FORMAT_IVECS:
    case VW_FORMAT_IBIN:
        tool_die("%s: vw-gen writes unit float vectors, which an integer format cannot hold; "
                 "use .npy, .fvecs or .fbin",
                 path);
    default:
        tool_die("%s: unknown file extension; use .npy, .fvecs or .fbin", path);
    }
}

/* Draws rows 0..n-1 of a stream and writes them to path. */
static void generate(const tool_gen *g, int stream, uint64_t n, uint32_t dim, unsigned threads,
                     const char *path) {
    float *data = malloc((size_t)n * dim * sizeof(float));
    if (!data) {
        char size[32];
        tool_format_bytes(size, sizeof size, (uint64_t)n * dim * sizeof(float));
        tool_die("%s: out of memory for %llu x %u floats (%s)", path, (unsigned long long)n, dim,
                 size);
    }
    if (tool_gen_rows(g, stream, 0, n, threads, data) != 0)
        tool_die("%s: out of memory", path);
    vw_status st = vw_dataset_write(path, VW_FORMAT_AUTO, data, n, dim);
    if (st != VW_OK)
        tool_die_status(st, path);
    free(data);
}

typedef struct gen_options {
    tool_gen_params gp;
    uint64_t count, queries;
    const char *output, *queries_out;
    unsigned threads;
    int quiet, clusters_given, spread_given;
} gen_options;

enum {
    OPT_SEED = 256,
    OPT_DIST,
    OPT_CLUSTERS,
    OPT_SPREAD,
    OPT_QUERIES,
    OPT_QUERIES_OUT,
    OPT_THREADS
};

static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"dim", required_argument, NULL, 'd'},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"dist", required_argument, NULL, OPT_DIST},
                                         {"clusters", required_argument, NULL, OPT_CLUSTERS},
                                         {"spread", required_argument, NULL, OPT_SPREAD},
                                         {"queries", required_argument, NULL, OPT_QUERIES},
                                         {"queries-out", required_argument, NULL, OPT_QUERIES_OUT},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};

static void parse_option(gen_options *o, int c, char **argv) {
    switch (c) {
    case 'o':
        o->output = optarg;
        break;
    case 'n':
        o->count = tool_parse_u64("-n", optarg, 1, VW_MAX_ELEMENTS);
        break;
    case 'd':
        o->gp.dim = tool_parse_u32("-d", optarg, 1, VW_MAX_DIM);
        break;
    case OPT_SEED:
        o->gp.seed = tool_parse_u64("--seed", optarg, 0, UINT64_MAX);
        break;
    case OPT_DIST:
        if (tool_dist_parse(optarg, &o->gp.dist) != 0)
            tool_usage_error("--dist: unknown distribution '%s' (clustered, gaussian, uniform)",
                             optarg);
        break;
    case OPT_CLUSTERS:
        o->gp.clusters = tool_parse_u32("--clusters", optarg, 1, TOOL_MAX_CLUSTERS);
        o->clusters_given = 1;
        break;
    case OPT_SPREAD:
        o->gp.spread = tool_parse_double("--spread", optarg, 1e-6, 1e6);
        o->spread_given = 1;
        break;
    case OPT_QUERIES:
        o->queries = tool_parse_u64("--queries", optarg, 1, MAX_QUERIES);
        break;
    case OPT_QUERIES_OUT:
        o->queries_out = optarg;
        break;
    case OPT_THREADS:
        o->threads = tool_parse_u32("--threads", optarg, 0, 256);
        break;
    case 'q':
        o->quiet = 1;
        break;
    default:
        tool_other_option(c, argv, usage);
    }
}

static void parse_args(gen_options *o, int argc, char **argv) {
    tool_gen_params_default(&o->gp, DEFAULT_DIM);
    o->count = DEFAULT_COUNT;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:n:d:qhV", longopts, NULL)) != -1)
        parse_option(o, c, argv);
    tool_no_operands(argc, argv);
    if (!o->output)
        tool_usage_error("missing -o FILE");
    if (o->gp.dist != TOOL_DIST_CLUSTERED && (o->clusters_given || o->spread_given))
        tool_usage_error("%s applies only to --dist clustered",
                         o->clusters_given ? "--clusters" : "--spread");
    if (o->queries && !o->queries_out)
        tool_usage_error("--queries needs --queries-out FILE");
    if (o->queries_out && !o->queries)
        o->queries = 1000;
    const tool_file_arg files[] = {{"-o", o->output, 1}, {"--queries-out", o->queries_out, 1}};
    tool_check_files(files, 2);
    check_output_path(o->output);
    if (o->queries_out)
        check_output_path(o->queries_out);
}

static void print_summary(const gen_options *o, double seconds) {
    char dist[64];
    if (o->gp.dist == TOOL_DIST_CLUSTERED)
        snprintf(dist, sizeof dist, "clustered (%u clusters, spread %g)", o->gp.clusters,
                 o->gp.spread);
    else
        snprintf(dist, sizeof dist, "%s", tool_dist_name(o->gp.dist));
    printf("wrote %llu x %u %s vectors to %s", (unsigned long long)o->count, o->gp.dim, dist,
           o->output);
    if (o->queries_out)
        printf(" and %llu queries to %s", (unsigned long long)o->queries, o->queries_out);
    printf(" (seed %llu) in %.2f s\n", (unsigned long long)o->gp.seed, seconds);
}

int main(int argc, char **argv) {
    tool_init("vw-gen");
    gen_options o = {0};
    parse_args(&o, argc, argv);
    double t0 = tool_now();
    tool_gen *g = tool_gen_create(&o.gp);
    if (!g)
        tool_die("%s: out of memory for %u cluster centres", o.output, o.gp.clusters);
    generate(g, TOOL_STREAM_BASE, o.count, o.gp.dim, o.threads, o.output);
    if (o.queries_out)
        generate(g, TOOL_STREAM_QUERY, o.queries, o.gp.dim, o.threads, o.queries_out);
    tool_gen_free(g);
    if (!o.quiet)
        print_summary(&o, tool_now() - t0);
    return TOOL_EXIT_OK;
}
