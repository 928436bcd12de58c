/*
 * vw-build - reads a vector file, builds an HNSW index over it (labels are
 * the row numbers 0..n-1) and saves the index. The file is read in chunks
 * straight into the index, so the vectors are held once. With --shard I/N
 * only the rows whose label vw_shard_of puts on shard I are indexed, so N
 * machines build the N shards of one file in parallel. Or converts a Faiss
 * or hnswlib index file to ours, keeping its graph (--from).
 */
#include "attrs_io.h"
#include "cli.h"
#include "files.h"
#include "index_files.h"
#include "json.h"
#include "machine.h"
#include "progress.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_M               32u
#define DEFAULT_EF_CONSTRUCTION 200u
#define DEFAULT_BUILD_SEED      100u

/* Rows read and inserted per batch: 32 MiB of 128-d vectors. Small next to
 * the index (its own copy of the vectors is the bulk of it), large enough
 * that the threads meet at the end of a batch only a few dozen times. */
#define CHUNK_FLOATS ((size_t)8 << 20)

static void usage(void) {
    printf(
        "Usage: vw-build -i VECTORS -o INDEX [OPTIONS]\n"
        "       vw-build --from FILE -o INDEX [--metric NAME] [--no-reorder]\n"
        "                [--attributes FILE]\n"
        "Build an HNSW index over a vector file and save it. Vector i gets label i.\n"
        "VECTORS may be .npy, .fvecs, .bvecs, .fbin or .u8bin (by extension).\n"
        "With --from, convert another engine's index file instead, keeping its graph\n"
        "and labels (no rebuild: seconds for a million vectors).\n"
        "\n"
        "  -i, --input FILE          vectors to index (required unless --from)\n"
        "      --from FILE           index to convert: a Faiss IndexHNSWFlat\n"
        "                            (faiss.write_index; bare or in an IndexIDMap) or an\n"
        "                            hnswlib file (save_index; give --metric, which it\n"
        "                            does not record), or a vwhnsw file to write again\n"
        "                            (e.g. with --pack-links, or back to fixed lists)\n"
        "  -o, --output FILE         index file to write (required)\n"
        "  -M, --M M                 links per node, 2..%u (default %u)\n"
        "      --ef-construction E   beam width while building, 1..%u (default %u)\n"
        "      --metric NAME         l2 (default), ip or cosine\n"
        "      --storage KIND        how vectors are stored: f32 (default, exact),\n"
        "                            f16 (half the bytes) or i8 (a quarter: 8-bit\n"
        "                            codes trained on the input); compact kinds keep\n"
        "                            float32 vectors too, to re-rank for exact results\n"
        "      --no-float32          with f16 or i8: keep no float32 vectors (smallest\n"
        "                            index; searches return approximate distances)\n"
        "      --residual            with i8 --no-float32: keep a 4-bit residual per\n"
        "                            component (d/2 bytes per vector) to re-score the\n"
        "                            best candidates nearly as float32 would\n"
        "      --pack-links          write the layer-0 lists packed: a smaller file\n"
        "                            (format version 4) that loads into memory even\n"
        "                            with mmap\n"
        "      --shard I/N           index only shard I of N (0 <= I < N): the rows\n"
        "                            whose label (row number) vw_shard_of(label, N)\n"
        "                            maps to I, as the shard router places them\n"
        "      --attributes FILE     attributes of the vectors, JSON Lines: line i is\n"
        "                            the object of vector i, e.g. {\"color\": \"red\",\n"
        "                            \"price\": 12.5, \"tags\": [\"a\"]} (empty or null: none);\n"
        "                            searched with vw-query --filter (format version 5);\n"
        "                            with --from: attach them to the converted index\n"
        "                            without a rebuild (line i replaces label i's, an\n"
        "                            empty line clears them, labels past the file's\n"
        "                            lines keep theirs)\n"
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

typedef struct build_figures {
    const char *input, *output, *report;
    const char *from;        /* --from FILE: convert instead of building */
    const char *from_format; /* the converted file's format name */
    const char *metric_arg;  /* --metric as given (NULL: none) */
    const char *build_only;  /* the last option given that --from cannot take */
    const char *attributes;  /* --attributes FILE.jsonl */
    uint64_t attributed;     /* elements given attributes from it */
    int quiet;
    uint64_t count;     /* rows indexed: the file's, or shard I's share */
    uint64_t file_rows; /* rows in the input file */
    uint32_t shard_i;   /* --shard I/N; shard_n 0 without it */
    uint32_t shard_n;
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
    int pack_links; /* --pack-links */
    double reorder_seconds;
    double save_seconds;
    int64_t file_bytes;
    uint64_t memory_bytes;
    uint64_t peak_rss_bytes;
} build_figures;

static void write_report(const build_figures *b) {
    json_writer w;
    json_writer_init(&w, 1, 0);
    json_begin_object(&w);
    json_field_string(&w, "tool", "vw-build");
    json_field_string(&w, "version", vw_version());
    json_field_string(&w, "input", b->input);
    if (b->from_format)
        json_field_string(&w, "converted_from", b->from_format);
    json_field_string(&w, "index", b->output);
    json_field_u64(&w, "count", b->count);
    if (b->shard_n) {
        json_field_u64(&w, "shard", b->shard_i);
        json_field_u64(&w, "shards", b->shard_n);
        json_field_u64(&w, "file_rows", b->file_rows);
    }
    json_field_u64(&w, "dim", b->dim);
    json_field_string(&w, "metric", vw_metric_name(b->metric));
    json_field_string(&w, "storage", vw_storage_name(b->storage));
    json_field_bool(&w, "float32_kept", !(b->flags & VW_PARAMS_NO_FLOAT32));
    json_field_u64(&w, "residual_bits", (b->flags & VW_PARAMS_RESIDUAL) ? 4 : 0);
    json_field_bool(&w, "packed_links", b->pack_links);
    json_field_u64(&w, "bytes_per_vector", b->bytes_per_vector);
    json_field_u64(&w, "M", b->M);
    json_field_u64(&w, "ef_construction", b->ef_construction);
    json_field_u64(&w, "seed", b->seed);
    json_field_u64(&w, "threads", b->threads);
    json_field_double(&w, "read_seconds", b->read_seconds);
    json_field_double(&w, "build_seconds", b->build_seconds);
    json_field_string(&w, "reorder", b->reorder ? "bfs" : "none");
    json_field_double(&w, "reorder_seconds", b->reorder_seconds);
    json_field_double(&w, "save_seconds", b->save_seconds);
    json_field_i64(&w, "file_bytes", b->file_bytes);
    json_field_u64(&w, "memory_bytes", b->memory_bytes);
    json_field_u64(&w, "peak_rss_bytes", b->peak_rss_bytes);
    json_end_object(&w);
    tool_write_json(b->report, &w);
    json_writer_free(&w);
}

/* ------------------------------------------------------------ build */

static vw_dataset_reader *open_input(build_figures *b) {
    vw_dataset_reader *in = NULL;
    vw_status st = vw_dataset_open(b->input, VW_FORMAT_AUTO, &in);
    if (st != VW_OK)
        tool_die_status(st, b->input);
    b->file_rows = b->count = vw_dataset_rows(in);
    b->dim = vw_dataset_dim(in);
    if (b->shard_n) {
        /* capacity for exactly this shard's rows: counting needs no reading */
        b->count = 0;
        for (uint64_t r = 0; r < b->file_rows; r++)
            b->count += vw_shard_of(r, b->shard_n) == b->shard_i;
    }
    if (b->count > VW_MAX_ELEMENTS)
        tool_die("%s: %llu vectors is more than an index holds (%u)", b->input,
                 (unsigned long long)b->count, VW_MAX_ELEMENTS);
    return in;
}

static vw_index *create_index(const build_figures *b) {
    vw_params params;
    vw_params_default(&params, b->dim);
    params.metric = b->metric;
    params.M = b->M;
    params.ef_construction = b->ef_construction;
    params.capacity = b->count;
    params.seed = b->seed;
    params.storage = b->storage;
    params.flags = b->flags;
    vw_index *index = NULL;
    vw_status st = vw_index_create(&params, &index);
    if (st != VW_OK)
        tool_die_status(st, b->input);
    return index;
}

typedef struct build_progress {
    tool_progress bar;
    uint64_t before; /* rows inserted by earlier batches */
} build_progress;

/* Called on this thread by vw_index_add_batch. */
static int on_progress(uint64_t done, uint64_t total, void *ctx) {
    build_progress *p = ctx;
    (void)total;
    tool_progress_update(&p->bar, p->before + done);
    return 0;
}

/* Frees what a build holds and exits with the message of status st about
 * `what` (the input file, or a range of its rows). */
static void die_building(const char *what, vw_status st, float *chunk, vw_dataset_reader *in,
                         vw_index *index) {
    char msg[768];
    tool_format_status(msg, sizeof msg, st, what);
    free(chunk); /* freed first, so that leak checkers see a clean exit */
    vw_dataset_close(in);
    vw_index_free(index);
    tool_die("%s", msg);
}

/* An i8 index codes its vectors with ranges trained on them. Left alone,
 * the library trains on the first batch, which here would be the first
 * chunk only (and a file sorted in some order is not like its first
 * chunk), so the file is read once first and every chunk widens the codec:
 * the codec of the whole file. */
static void train_codec(build_figures *b, vw_index *index, float *chunk, uint64_t rows) {
    double t0 = tool_now();
    vw_dataset_reader *in = NULL;
    vw_status st = vw_dataset_open(b->input, VW_FORMAT_AUTO, &in);
    for (uint64_t got = 1, at = 0; st == VW_OK && got > 0; at += got) {
        st = vw_dataset_read_next(in, chunk, rows, &got);
        if (st == VW_OK && got > 0)
            st = vw_index_train(index, chunk, got);
        if (st != VW_OK && got > 0) {
            /* the detail counts from the chunk's first row: name that row */
            char what[600];
            snprintf(what, sizeof what, "%s (from row %llu)", b->input, (unsigned long long)at);
            die_building(what, st, chunk, in, index);
        }
    }
    if (st != VW_OK)
        die_building(b->input, st, chunk, in, index);
    vw_dataset_close(in);
    b->read_seconds += tool_now() - t0;
}

/* --shard I/N: moves this shard's rows of a chunk (rows first..first+got-1
 * of the file) to its front, their row numbers to labels; returns how many. */
static uint64_t keep_shard_rows(const build_figures *b, float *chunk, uint64_t first, uint64_t got,
                                uint64_t *labels) {
    uint64_t kept = 0;
    for (uint64_t r = 0; r < got; r++) {
        if (vw_shard_of(first + r, b->shard_n) != b->shard_i)
            continue;
        if (kept != r)
            memcpy(chunk + kept * b->dim, chunk + r * b->dim, b->dim * sizeof *chunk);
        labels[kept++] = first + r;
    }
    return kept;
}

/* Streams the input into the index a chunk at a time, so that the vectors
 * are in memory once (in the index), not twice. Labels are the row numbers:
 * each batch without labels continues where the last one stopped; a shard's
 * batches name theirs. */
static void insert_all(build_figures *b, vw_dataset_reader *in, vw_index *index) {
    uint64_t rows = CHUNK_FLOATS / b->dim < b->file_rows ? CHUNK_FLOATS / b->dim : b->file_rows;
    if (rows == 0)
        rows = 1;
    float *chunk = malloc((size_t)rows * b->dim * sizeof *chunk);
    uint64_t *labels = b->shard_n ? malloc((size_t)rows * sizeof *labels) : NULL;
    if (!chunk || (b->shard_n && !labels))
        tool_die("%s: out of memory for a read buffer", b->input);
    if (b->storage == VW_STORAGE_I8)
        train_codec(b, index, chunk, rows);
    build_progress p = {.before = 0};
    tool_progress_start(&p.bar, "building", b->count, !b->quiet && isatty(STDERR_FILENO));
    uint64_t got = 1;
    for (uint64_t at = 0; got > 0; at += got) {
        double t0 = tool_now();
        vw_status st = vw_dataset_read_next(in, chunk, rows, &got);
        double t1 = tool_now();
        b->read_seconds += t1 - t0;
        uint64_t n = st == VW_OK && b->shard_n ? keep_shard_rows(b, chunk, at, got, labels) : got;
        if (st == VW_OK && n > 0) {
            st = vw_index_add_batch(index, chunk, labels, n, b->threads, on_progress, &p);
            b->build_seconds += tool_now() - t1;
        }
        if (st != VW_OK) {
            /* A bad row or vector (NaN, or zero for cosine) is a fault of
             * the input; the detail names the row. */
            tool_progress_finish(&p.bar, p.before);
            free(labels);
            die_building(b->input, st, chunk, in, index);
        }
        p.before += n;
    }
    tool_progress_finish(&p.bar, b->count);
    free(labels);
    free(chunk);
}

static void reorder_and_save(build_figures *b, vw_index *index) {
    double t0 = tool_now();
    /* a streamed build's last chunks are checked for reachability by either */
    vw_status st = b->reorder ? vw_index_reorder(index) : vw_index_purge(index);
    if (st != VW_OK)
        tool_die_status(st, b->output);
    double t1 = tool_now();
    b->reorder_seconds = b->reorder ? t1 - t0 : 0.0;
    st = vw_index_save_ex(index, b->output, b->pack_links ? VW_SAVE_PACK_LINKS : 0);
    if (st != VW_OK)
        tool_die_status(st, b->output);
    b->save_seconds = tool_now() - t1;
    b->file_bytes = tool_file_size(b->output);
    vw_stats stats;
    if (vw_index_stats(index, &stats) == VW_OK) {
        b->memory_bytes = stats.memory_bytes;
        b->bytes_per_vector = stats.bytes_per_vector;
    }
}

/* ------------------------------------------------------------ convert */

/* Opens another engine's index file, or one of ours to write it again in
 * the layout asked for (--pack-links or fixed lists); its parameters become
 * the figures. */
static vw_index *convert_index(build_figures *b) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    vw_status st = vw_index_detect(b->input, &format);
    if (st != VW_OK)
        tool_die_status(st, b->input);
    b->from_format = vw_index_format_name(format);
    double t0 = tool_now();
    vw_index *index = tool_open_index(b->input, VW_LOAD_DEFAULT, b->metric_arg);
    b->build_seconds = tool_now() - t0;
    vw_stats s;
    st = vw_index_stats(index, &s);
    if (st != VW_OK)
        tool_die_status(st, b->input);
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

/* ------------------------------------------------------------ summary */

static void print_summary(const build_figures *b) {
    char size[32];
    tool_format_bytes(size, sizeof size, (uint64_t)(b->file_bytes > 0 ? b->file_bytes : 0));
    if (b->from_format) {
        printf("%s: %llu elements, dim %u, %s, M %u, ef_construction %u: converted from %s %s "
               "in %.2f s, reordered in %.2f s, index %lld bytes (%s)\n",
               b->output, (unsigned long long)b->count, b->dim, vw_metric_name(b->metric), b->M,
               b->ef_construction, b->from_format, b->input, b->build_seconds, b->reorder_seconds,
               (long long)b->file_bytes, size);
        return;
    }
    char shard[96] = "";
    if (b->shard_n)
        snprintf(shard, sizeof shard, " (shard %u of %u: of %llu rows)", b->shard_i, b->shard_n,
                 (unsigned long long)b->file_rows);
    printf("%s: %llu elements%s, dim %u, %s, %s storage%s (%u bytes per vector), M %u, "
           "ef_construction %u, %u threads: "
           "built in %.2f s (%.0f vectors/s), reordered in %.2f s, index %lld bytes (%s)\n",
           b->output, (unsigned long long)b->count, shard, b->dim, vw_metric_name(b->metric),
           vw_storage_name(b->storage),
           b->storage == VW_STORAGE_F32        ? ""
           : (b->flags & VW_PARAMS_RESIDUAL)   ? " without float32, 4-bit residual"
           : (b->flags & VW_PARAMS_NO_FLOAT32) ? " without float32"
                                               : " + float32",
           b->bytes_per_vector, b->M, b->ef_construction, b->threads, b->build_seconds,
           b->build_seconds > 0 ? (double)b->count / b->build_seconds : 0.0, b->reorder_seconds,
           (long long)b->file_bytes, size);
}

/* ------------------------------------------------------------ options */

enum {
    OPT_EFC = 256,
    OPT_METRIC,
    OPT_THREADS,
    OPT_SEED,
    OPT_REPORT,
    OPT_NO_REORDER,
    OPT_STORAGE,
    OPT_NO_FLOAT32,
    OPT_RESIDUAL,
    OPT_PACK_LINKS,
    OPT_FROM,
    OPT_SHARD,
    OPT_ATTRIBUTES
};

static const struct option longopts[] = {{"input", required_argument, NULL, 'i'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"M", required_argument, NULL, 'M'},
                                         {"ef-construction", required_argument, NULL, OPT_EFC},
                                         {"metric", required_argument, NULL, OPT_METRIC},
                                         {"storage", required_argument, NULL, OPT_STORAGE},
                                         {"no-float32", no_argument, NULL, OPT_NO_FLOAT32},
                                         {"residual", no_argument, NULL, OPT_RESIDUAL},
                                         {"pack-links", no_argument, NULL, OPT_PACK_LINKS},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"report", required_argument, NULL, OPT_REPORT},
                                         {"no-reorder", no_argument, NULL, OPT_NO_REORDER},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"shard", required_argument, NULL, OPT_SHARD},
                                         {"attributes", required_argument, NULL, OPT_ATTRIBUTES},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};

/* --shard I/N, 0 <= I < N. */
static void parse_shard(build_figures *b, const char *arg) {
    char n_text[32];
    const char *slash = strchr(arg, '/');
    if (slash == NULL || slash == arg || (size_t)(slash - arg) >= sizeof n_text)
        tool_usage_error("--shard: '%s' is not I/N (e.g. 0/4)", arg);
    memcpy(n_text, arg, (size_t)(slash - arg));
    n_text[slash - arg] = '\0';
    b->shard_n = tool_parse_u32("--shard N", slash + 1, 1, 65536);
    b->shard_i = tool_parse_u32("--shard I", n_text, 0, b->shard_n - 1);
}

/* The options that shape the graph or its storage: they need a build, so
 * each records its name for --from's refusal. Returns 0 for any other. */
static int parse_build_option(build_figures *b, int c) {
    switch (c) {
    case 'M':
        b->M = tool_parse_u32("-M", optarg, 2, VW_MAX_M);
        b->build_only = "-M";
        break;
    case OPT_EFC:
        b->ef_construction = tool_parse_u32("--ef-construction", optarg, 1, VW_MAX_EF);
        b->build_only = "--ef-construction";
        break;
    case OPT_STORAGE:
        if (vw_storage_parse(optarg, &b->storage) != VW_OK)
            tool_usage_error("--storage: unknown kind '%s' (f32, f16, i8)", optarg);
        b->build_only = "--storage";
        break;
    case OPT_NO_FLOAT32:
        b->flags |= VW_PARAMS_NO_FLOAT32;
        b->build_only = "--no-float32";
        break;
    case OPT_RESIDUAL:
        b->flags |= VW_PARAMS_RESIDUAL;
        b->build_only = "--residual";
        break;
    case OPT_THREADS:
        b->threads = tool_parse_u32("--threads", optarg, 0, 1024);
        b->build_only = "--threads";
        break;
    case OPT_SEED:
        b->seed = tool_parse_u64("--seed", optarg, 0, UINT64_MAX);
        b->build_only = "--seed";
        break;
    case OPT_SHARD:
        parse_shard(b, optarg);
        b->build_only = "--shard";
        break;
    default:
        return 0;
    }
    return 1;
}

static void parse_option(build_figures *b, int c, char **argv) {
    if (parse_build_option(b, c))
        return;
    switch (c) {
    case 'i':
        b->input = optarg;
        break;
    case 'o':
        b->output = optarg;
        break;
    case OPT_METRIC:
        if (vw_metric_parse(optarg, &b->metric) != VW_OK)
            tool_usage_error("--metric: unknown metric '%s' (l2, ip, cosine)", optarg);
        b->metric_arg = optarg;
        break;
    case OPT_PACK_LINKS:
        b->pack_links = 1;
        break;
    case OPT_FROM:
        b->from = optarg;
        break;
    case OPT_ATTRIBUTES:
        b->attributes = optarg;
        break;
    case OPT_REPORT:
        b->report = optarg;
        break;
    case OPT_NO_REORDER:
        b->reorder = 0;
        break;
    case 'q':
        b->quiet = 1;
        break;
    default:
        tool_other_option(c, argv, usage);
    }
}

static void parse_args(build_figures *b, int argc, char **argv) {
    *b = (build_figures){.metric = VW_METRIC_L2,
                         .storage = VW_STORAGE_F32,
                         .M = DEFAULT_M,
                         .ef_construction = DEFAULT_EF_CONSTRUCTION,
                         .seed = DEFAULT_BUILD_SEED,
                         .reorder = 1};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":i:o:M:qhV", longopts, NULL)) != -1)
        parse_option(b, c, argv);
    tool_no_operands(argc, argv);
    if (b->from && b->input)
        tool_usage_error("give either -i VECTORS or --from INDEX, not both");
    if (b->from && b->build_only)
        tool_usage_error("%s applies to building; --from keeps the file's graph", b->build_only);
    if (!b->input && !b->from)
        tool_usage_error("missing -i VECTORS (or --from INDEX)");
    if (!b->output)
        tool_usage_error("missing -o INDEX");
    if ((b->flags & VW_PARAMS_NO_FLOAT32) && b->storage == VW_STORAGE_F32)
        tool_usage_error("--no-float32 needs --storage f16 or i8");
    if ((b->flags & VW_PARAMS_RESIDUAL) &&
        (b->storage != VW_STORAGE_I8 || !(b->flags & VW_PARAMS_NO_FLOAT32)))
        tool_usage_error("--residual needs --storage i8 --no-float32");
    const tool_file_arg files[] = {{b->from ? "--from" : "-i", b->from ? b->from : b->input, 0},
                                   {"-o", b->output, 1},
                                   {"--report", b->report, 1},
                                   {"--attributes", b->attributes, 0}};
    tool_check_files(files, sizeof files / sizeof files[0]);
    if (b->threads == 0)
        b->threads = tool_cpu_count();
}

int main(int argc, char **argv) {
    tool_init("vw-build");
    build_figures b;
    parse_args(&b, argc, argv);
    vw_index *index;
    if (b.from) {
        b.input = b.from;
        index = convert_index(&b);
        if (b.attributes)
            b.attributed =
                tool_set_attributes_file(index, b.attributes, UINT64_MAX, TOOL_ATTRS_EXISTING);
    } else {
        vw_dataset_reader *in = open_input(&b);
        index = create_index(&b);
        insert_all(&b, in, index);
        vw_dataset_close(in);
        if (b.attributes)
            b.attributed = tool_set_attributes_file(
                index, b.attributes, b.file_rows, b.shard_n ? TOOL_ATTRS_SHARD : TOOL_ATTRS_BUILT);
    }
    reorder_and_save(&b, index);
    vw_index_free(index);
    b.peak_rss_bytes = tool_peak_rss_bytes();
    if (b.report)
        write_report(&b);
    print_summary(&b);
    return TOOL_EXIT_OK;
}
