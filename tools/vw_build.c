/*
 * vw-build - reads a vector file, builds an HNSW index over it (labels are
 * the row numbers 0..n-1) and saves the index; or converts a Faiss or
 * hnswlib index file to ours, keeping its graph (--from).
 */
#include "common.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_M               32u
#define DEFAULT_EF_CONSTRUCTION 200u
#define DEFAULT_BUILD_SEED      100u

static void usage(void) {
    printf("Usage: vw-build -i VECTORS -o INDEX [OPTIONS]\n"
           "       vw-build --from FILE -o INDEX [--metric NAME] [--no-reorder]\n"
           "Build an HNSW index over a vector file and save it. Vector i gets label i.\n"
           "VECTORS may be .npy, .fvecs, .bvecs, .fbin or .u8bin (by extension).\n"
           "With --from, convert another engine's index file instead, keeping its graph\n"
           "and labels (no rebuild: seconds for a million vectors).\n"
           "\n"
           "  -i, --input FILE          vectors to index (required unless --from)\n"
           "      --from FILE           index to convert: a Faiss IndexHNSWFlat\n"
           "                            (faiss.write_index; bare or in an IndexIDMap) or an\n"
           "                            hnswlib file (save_index; give --metric, which it\n"
           "                            does not record)\n"
           "  -o, --output FILE         index file to write (required)\n"
           "  -M, --M M                 links per node, 2..%u (default %u)\n"
           "      --ef-construction E   beam width while building, 1..%u (default %u)\n"
           "      --metric NAME         l2 (default), ip or cosine; with --from, the space of\n"
           "                            an hnswlib file\n"
           "      --storage KIND        how vectors are stored: f32 (default, exact),\n"
           "                            f16 (half the bytes) or i8 (a quarter: 8-bit\n"
           "                            codes trained on the input); compact kinds keep\n"
           "                            float32 vectors too, to re-rank for exact results\n"
           "      --no-float32          with f16 or i8: keep no float32 vectors (smallest\n"
           "                            index; searches return approximate distances)\n"
           "      --threads T           build threads, 0 = all CPUs (default 0)\n"
           "      --seed S              seed of the level draws (default %u)\n"
           "      --no-reorder          keep insertion order instead of renumbering the\n"
           "                            nodes for faster search (vw_index_reorder)\n"
           "      --report FILE         also write the build figures as JSON (for\n"
           "                            vw-bench --build-report)\n"
           "  -q, --quiet               no progress bar\n"
           "  -h, --help                show this help and exit\n"
           "  -V, --version             show the library version and exit\n"
           "\n"
           "A progress bar (count, rate, ETA) is drawn on stderr when it is a terminal.\n"
           "At the end one summary line goes to stdout: elements, build seconds, index bytes.\n"
           "\n"
           "Example:\n"
           "  vw-build -i base.npy -o base.vwi -M 32 --ef-construction 200\n",
           VW_MAX_M, DEFAULT_M, VW_MAX_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_BUILD_SEED);
}

/* Called serialized from the build threads. */
static int on_progress(uint64_t done, uint64_t total, void *ctx) {
    (void)total;
    tool_progress_update(ctx, done);
    return 0;
}

typedef struct build_figures {
    const char *input;
    const char *from_format; /* --from: "faiss" or "hnswlib"; NULL when building */
    const char *output;
    uint64_t count;
    uint32_t dim;
    vw_metric metric;
    vw_storage storage;
    uint32_t flags;
    uint32_t bytes_per_vector;
    uint32_t M;
    uint32_t ef_construction;
    uint64_t seed;
    unsigned threads;
    double read_seconds;
    double build_seconds;
    int reorder;
    double reorder_seconds;
    double save_seconds;
    int64_t file_bytes;
    uint64_t memory_bytes;
    uint64_t peak_rss_bytes;
} build_figures;

static void write_report(const char *path, const build_figures *b) {
    tool_output out;
    FILE *f = tool_output_open(&out, path);
    tool_json j;
    tool_json_init(&j, f, 1);
    tool_json_begin_object(&j);
    tool_json_key(&j, "tool");
    tool_json_string(&j, "vw-build");
    tool_json_key(&j, "version");
    tool_json_string(&j, vw_version());
    tool_json_key(&j, "input");
    tool_json_string(&j, b->input);
    if (b->from_format) {
        tool_json_key(&j, "converted_from");
        tool_json_string(&j, b->from_format);
    }
    tool_json_key(&j, "index");
    tool_json_string(&j, b->output);
    tool_json_key(&j, "count");
    tool_json_u64(&j, b->count);
    tool_json_key(&j, "dim");
    tool_json_u64(&j, b->dim);
    tool_json_key(&j, "metric");
    tool_json_string(&j, vw_metric_name(b->metric));
    tool_json_key(&j, "storage");
    tool_json_string(&j, vw_storage_name(b->storage));
    tool_json_key(&j, "float32_kept");
    tool_json_bool(&j, !(b->flags & VW_PARAMS_NO_FLOAT32));
    tool_json_key(&j, "bytes_per_vector");
    tool_json_u64(&j, b->bytes_per_vector);
    tool_json_key(&j, "M");
    tool_json_u64(&j, b->M);
    tool_json_key(&j, "ef_construction");
    tool_json_u64(&j, b->ef_construction);
    tool_json_key(&j, "seed");
    tool_json_u64(&j, b->seed);
    tool_json_key(&j, "threads");
    tool_json_u64(&j, b->threads);
    tool_json_key(&j, "read_seconds");
    tool_json_double(&j, b->read_seconds);
    tool_json_key(&j, "build_seconds");
    tool_json_double(&j, b->build_seconds);
    tool_json_key(&j, "reorder");
    tool_json_string(&j, b->reorder ? "bfs" : "none");
    tool_json_key(&j, "reorder_seconds");
    tool_json_double(&j, b->reorder_seconds);
    tool_json_key(&j, "save_seconds");
    tool_json_double(&j, b->save_seconds);
    tool_json_key(&j, "file_bytes");
    tool_json_i64(&j, b->file_bytes);
    tool_json_key(&j, "memory_bytes");
    tool_json_u64(&j, b->memory_bytes);
    tool_json_key(&j, "peak_rss_bytes");
    tool_json_u64(&j, b->peak_rss_bytes);
    tool_json_end_object(&j);
    if (!tool_json_ok(&j)) {
        tool_die("%s: a build figure is not a finite number", path);
    }
    tool_output_commit(&out);
}

enum {
    OPT_EFC = 256,
    OPT_METRIC,
    OPT_THREADS,
    OPT_SEED,
    OPT_REPORT,
    OPT_NO_REORDER,
    OPT_STORAGE,
    OPT_NO_FLOAT32,
    OPT_FROM
};

/* Reads the vectors and builds the index over them. */
static vw_index *build_index(build_figures *b, int quiet) {
    double t0 = tool_now();
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(b->input, VW_FORMAT_AUTO, &ds);
    if (st != VW_OK) {
        tool_die_status(st, b->input);
    }
    if (ds->n == 0) {
        tool_die("%s: the file holds no vectors", b->input);
    }
    if (ds->n > VW_MAX_ELEMENTS) {
        tool_die("%s: %llu vectors is more than an index holds (%u)", b->input,
                 (unsigned long long)ds->n, VW_MAX_ELEMENTS);
    }
    b->count = ds->n;
    b->dim = ds->dim;
    b->read_seconds = tool_now() - t0;

    vw_params params;
    vw_params_default(&params, ds->dim);
    params.metric = b->metric;
    params.M = b->M;
    params.ef_construction = b->ef_construction;
    params.capacity = ds->n;
    params.seed = b->seed;
    params.storage = b->storage;
    params.flags = b->flags;
    vw_index *index = NULL;
    st = vw_index_create(&params, &index);
    if (st != VW_OK) {
        tool_die_status(st, b->input);
    }

    uint64_t *labels = malloc((size_t)ds->n * sizeof *labels);
    if (!labels) {
        tool_die("%s: out of memory for %llu labels", b->input, (unsigned long long)ds->n);
    }
    for (uint64_t i = 0; i < ds->n; i++) {
        labels[i] = i;
    }

    tool_progress progress;
    tool_progress_start(&progress, "building", ds->n, !quiet && isatty(STDERR_FILENO));
    double t1 = tool_now();
    st = vw_index_add_batch(index, ds->data, labels, ds->n, b->threads, on_progress, &progress);
    b->build_seconds = tool_now() - t1;
    tool_progress_finish(&progress, st == VW_OK ? ds->n : 0);
    free(labels);
    vw_dataset_free(ds);
    if (st != VW_OK) {
        /* A bad vector (NaN, or zero for cosine) is a fault of the input. */
        vw_index_free(index);
        tool_die_status(st, b->input);
    }
    return index;
}

/* Opens another engine's index file; its parameters become the figures. */
static vw_index *convert_index(build_figures *b, const char *metric) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    vw_status st = vw_index_detect(b->input, &format);
    if (st != VW_OK) {
        tool_die_status(st, b->input);
    }
    if (format == VW_INDEX_FORMAT_VWHNSW) {
        tool_die("%s is already a vwhnsw index", b->input);
    }
    b->from_format = vw_index_format_name(format);
    double t0 = tool_now();
    vw_index *index = tool_open_index(b->input, VW_LOAD_DEFAULT, metric);
    b->build_seconds = tool_now() - t0;
    vw_stats s;
    st = vw_index_stats(index, &s);
    if (st != VW_OK) {
        tool_die_status(st, b->input);
    }
    b->count = s.count;
    b->dim = s.dim;
    b->metric = s.metric;
    b->storage = s.storage;
    b->M = s.M;
    b->ef_construction = s.ef_construction;
    b->seed = s.seed;
    b->threads = 1;
    return index;
}

int main(int argc, char **argv) {
    tool_init("vw-build");
    static const struct option longopts[] = {{"input", required_argument, NULL, 'i'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"M", required_argument, NULL, 'M'},
                                             {"ef-construction", required_argument, NULL, OPT_EFC},
                                             {"metric", required_argument, NULL, OPT_METRIC},
                                             {"storage", required_argument, NULL, OPT_STORAGE},
                                             {"no-float32", no_argument, NULL, OPT_NO_FLOAT32},
                                             {"threads", required_argument, NULL, OPT_THREADS},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"report", required_argument, NULL, OPT_REPORT},
                                             {"no-reorder", no_argument, NULL, OPT_NO_REORDER},
                                             {"from", required_argument, NULL, OPT_FROM},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};

    build_figures b = {0};
    b.metric = VW_METRIC_L2;
    b.M = DEFAULT_M;
    b.ef_construction = DEFAULT_EF_CONSTRUCTION;
    b.seed = DEFAULT_BUILD_SEED;
    b.reorder = 1;
    const char *report = NULL, *from = NULL, *metric_arg = NULL;
    const char *build_only = NULL; /* an option that --from cannot take */
    int quiet = 0;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":i:o:M:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            b.input = optarg;
            break;
        case 'o':
            b.output = optarg;
            break;
        case 'M':
            b.M = tool_parse_u32("-M", optarg, 2, VW_MAX_M);
            build_only = "-M";
            break;
        case OPT_EFC:
            b.ef_construction = tool_parse_u32("--ef-construction", optarg, 1, VW_MAX_EF);
            build_only = "--ef-construction";
            break;
        case OPT_METRIC:
            if (vw_metric_parse(optarg, &b.metric) != VW_OK) {
                tool_usage_error("--metric: unknown metric '%s' (l2, ip, cosine)", optarg);
            }
            metric_arg = optarg;
            break;
        case OPT_STORAGE:
            if (vw_storage_parse(optarg, &b.storage) != VW_OK) {
                tool_usage_error("--storage: unknown kind '%s' (f32, f16, i8)", optarg);
            }
            build_only = "--storage";
            break;
        case OPT_NO_FLOAT32:
            b.flags |= VW_PARAMS_NO_FLOAT32;
            build_only = "--no-float32";
            break;
        case OPT_THREADS:
            b.threads = tool_parse_u32("--threads", optarg, 0, 1024);
            build_only = "--threads";
            break;
        case OPT_SEED:
            b.seed = tool_parse_u64("--seed", optarg, 0, UINT64_MAX);
            build_only = "--seed";
            break;
        case OPT_FROM:
            from = optarg;
            break;
        case OPT_REPORT:
            report = optarg;
            break;
        case OPT_NO_REORDER:
            b.reorder = 0;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage();
            return TOOL_EXIT_OK;
        case 'V':
            tool_print_version();
            return TOOL_EXIT_OK;
        default:
            tool_bad_option(c, argv);
        }
    }
    if (optind < argc) {
        tool_usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (from && b.input) {
        tool_usage_error("give either -i VECTORS or --from INDEX, not both");
    }
    if (from && build_only) {
        tool_usage_error("%s applies to building; --from keeps the file's graph", build_only);
    }
    if (!b.input && !from) {
        tool_usage_error("missing -i VECTORS (or --from INDEX)");
    }
    if (!b.output) {
        tool_usage_error("missing -o INDEX");
    }
    const tool_file_arg files[] = {{from ? "--from" : "-i", from ? from : b.input, 0},
                                   {"-o", b.output, 1},
                                   {"--report", report, 1}};
    tool_check_files(files, sizeof files / sizeof files[0]);
    if (b.threads == 0) {
        b.threads = tool_cpu_count();
    }
    if ((b.flags & VW_PARAMS_NO_FLOAT32) && b.storage == VW_STORAGE_F32) {
        tool_usage_error("--no-float32 needs --storage f16 or i8");
    }

    vw_index *index;
    vw_status st;
    if (from) {
        b.input = from;
        index = convert_index(&b, metric_arg);
    } else {
        index = build_index(&b, quiet);
    }

    if (b.reorder) {
        double tr = tool_now();
        st = vw_index_reorder(index);
        if (st != VW_OK) {
            tool_die_status(st, b.output);
        }
        b.reorder_seconds = tool_now() - tr;
    }

    double t2 = tool_now();
    st = vw_index_save(index, b.output);
    if (st != VW_OK) {
        tool_die_status(st, b.output);
    }
    b.save_seconds = tool_now() - t2;
    b.file_bytes = tool_file_size(b.output);
    vw_stats stats;
    if (vw_index_stats(index, &stats) == VW_OK) {
        b.memory_bytes = stats.memory_bytes;
        b.bytes_per_vector = stats.bytes_per_vector;
    }
    vw_index_free(index);
    b.peak_rss_bytes = tool_peak_rss_bytes();

    if (report) {
        write_report(report, &b);
    }
    char size[32];
    tool_format_bytes(size, sizeof size, (uint64_t)(b.file_bytes > 0 ? b.file_bytes : 0));
    if (b.from_format) {
        printf("%s: %llu elements, dim %u, %s, M %u, ef_construction %u: converted from %s %s "
               "in %.2f s, reordered in %.2f s, index %lld bytes (%s)\n",
               b.output, (unsigned long long)b.count, b.dim, vw_metric_name(b.metric), b.M,
               b.ef_construction, b.from_format, b.input, b.build_seconds, b.reorder_seconds,
               (long long)b.file_bytes, size);
        return TOOL_EXIT_OK;
    }
    printf("%s: %llu elements, dim %u, %s, %s storage%s (%u bytes per vector), M %u, "
           "ef_construction %u, %u threads: "
           "built in %.2f s (%.0f vectors/s), reordered in %.2f s, index %lld bytes (%s)\n",
           b.output, (unsigned long long)b.count, b.dim, vw_metric_name(b.metric),
           vw_storage_name(b.storage),
           b.storage == VW_STORAGE_F32        ? ""
           : (b.flags & VW_PARAMS_NO_FLOAT32) ? " without float32"
                                              : " + float32",
           b.bytes_per_vector, b.M, b.ef_construction, b.threads, b.build_seconds,
           b.build_seconds > 0 ? (double)b.count / b.build_seconds : 0.0, b.reorder_seconds,
           (long long)b.file_bytes, size);
    return TOOL_EXIT_OK;
}
