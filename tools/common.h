/*
 * common.h - helpers shared by the command-line tools (vw-gen, vw-build,
 * vw-query, vw-bench, vw-serve).
 *
 * Everything here serves the tools' command-line contract: one-line errors
 * of the form "vw-xxx: FILE: problem" on stderr, exit status 1 on failure and
 * 2 on a usage error, every numeric option range-checked with a message that
 * names the option. Nothing here is part of the library's public API.
 */
#ifndef VW_TOOLS_COMMON_H
#define VW_TOOLS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vwhnsw.h"

#if defined(__GNUC__)
#define TOOL_NORETURN     __attribute__((noreturn))
#define TOOL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TOOL_NORETURN
#define TOOL_PRINTF(f, a)
#endif

/* Exit statuses shared by every tool. */
enum { TOOL_EXIT_OK = 0, TOOL_EXIT_FAILURE = 1, TOOL_EXIT_USAGE = 2 };

/* ------------------------------------------------------------ messages */

/* Records the program name used as the prefix of every message and refuses
 * to start (exit 1, one line) when the VW_SIMD environment variable names an
 * unknown or unsupported kernel set. Call first in main. */
void tool_init(const char *name);
const char *tool_name(void);

/* "NAME: message" on stderr (one line), then exit(1). */
TOOL_NORETURN void tool_die(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: message" on stderr without exiting. */
void tool_warn(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: message; try 'NAME --help'" on stderr (one line), then exit(2). */
TOOL_NORETURN void tool_usage_error(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: WHAT: <vw_strerror(status)>[: <detail>]" then exit(1). WHAT is
 * usually a file name. The detail is vw_last_error_detail(), so call this
 * right after the failing library call. */
TOOL_NORETURN void tool_die_status(vw_status status, const char *what);
/* The same message as tool_die_status, formatted into buf. */
void tool_format_status(char *buf, size_t size, vw_status status, const char *what);

/* "NAME VERSION" on stdout, VERSION from vw_version(). */
void tool_print_version(void);

/* Handles a getopt_long return value of '?' or ':' (the option string must
 * start with ':' and opterr be 0): one line naming the offending option,
 * then exit(2). */
TOOL_NORETURN void tool_bad_option(int c, char **argv);

/* ------------------------------------------------------------ index files */

/* Opens an index file of any kind the library reads: a vwhnsw file with
 * vw_index_load(flags), a Faiss or hnswlib file with vw_index_import (read
 * into memory: VW_LOAD_MMAP draws a warning). `metric`, the --metric
 * argument or NULL, is required for an hnswlib file, which does not record
 * it, and checked against the others. 0, or -1 with a one-line message
 * naming the file in err. */
int tool_load_index(const char *path, unsigned flags, const char *metric, vw_index **out, char *err,
                    size_t err_size);
/* Exits with a usage error (status 2) for an unknown --metric, or for an
 * hnswlib file without one. */
void tool_check_metric(const char *path, const char *metric);
/* tool_check_metric, then tool_load_index, exiting with its line on failure. */
vw_index *tool_open_index(const char *path, unsigned flags, const char *metric);

/* ------------------------------------------------------------ numbers */

/* Parse a whole option argument as an integer / real in [min, max]; on any
 * problem (not a number, trailing junk, out of range) exit(2) with a message
 * naming the option, e.g. "-k: 0 is out of range 1..4096". */
uint64_t tool_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max);
uint32_t tool_parse_u32(const char *option, const char *arg, uint32_t min, uint32_t max);
double tool_parse_double(const char *option, const char *arg, double min, double max);
/* A comma-separated list of integers in [min, max], at most cap of them, in
 * the order given; returns how many. Exit(2) on an empty or bad list. */
size_t tool_parse_u32_list(const char *option, const char *arg, uint32_t min, uint32_t max,
                           uint32_t *out, size_t cap);

/* Parses one vector of floats: tokens separated by commas and/or whitespace,
 * optionally wrapped in one pair of [ ]. Every token must be a finite float;
 * empty tokens ("1,,2") are refused. Writes at most cap values to out and
 * returns the number of tokens (which may exceed cap), or -1 with a reason
 * in err on a malformed token. */
long tool_parse_vector(const char *text, float *out, size_t cap, char *err, size_t err_size);

/* ------------------------------------------------------------ time, system */

/* Seconds on the monotonic clock. */
double tool_now(void);
/* Online CPUs (at least 1). */
unsigned tool_cpu_count(void);
/* The "model name" line of /proc/cpuinfo, or "unknown". */
void tool_cpu_model(char *buf, size_t size);
/* Peak resident set size of this process in bytes (getrusage). */
uint64_t tool_peak_rss_bytes(void);
/* Size of a file in bytes, or -1 if it cannot be stat'ed. */
int64_t tool_file_size(const char *path);

/* ------------------------------------------------------------ files */

/* Every file a tool writes is composed in memory and then written with
 * vw_file_write_atomic: on a full disk, a file size limit or any other
 * failure the old file stays as it was and no partial file is left. */
typedef struct tool_output {
    const char *path;
    FILE *f; /* write the content here */
    char *data;
    size_t len;
} tool_output;

/* Starts an output for `path`; exits (1) when out of memory. */
FILE *tool_output_open(tool_output *o, const char *path);
/* Writes the file atomically; exits (1) naming the path and the reason. */
void tool_output_commit(tool_output *o);

/* Opens for reading a file the tool parses itself (not through the
 * library), refusing at once anything but a regular file (a FIFO would
 * otherwise block the open); exits (1) naming the path. */
FILE *tool_open_input(const char *path);

/* A file named on the command line: the option that named it and whether
 * the tool writes it. */
typedef struct tool_file_arg {
    const char *option;
    const char *path; /* NULL: the option was not given */
    int output;
} tool_file_arg;

/* Checks the files of a command line before any work: an output that is
 * the same file as an input or another output (the same device and inode,
 * or for an output that does not exist yet the same directory and name, so
 * "-o ./x.npy" with "-i x.npy" or a hard link to an input is caught) is a
 * usage error (exit 2); an output that exists and is not a regular file (a
 * FIFO, a directory, a device) exits 1. */
void tool_check_files(const tool_file_arg *files, size_t n);
/* "1.5 KB", "78.1 MB", ... (powers of 1000, for people). */
void tool_format_bytes(char *buf, size_t size, uint64_t bytes);

/* ------------------------------------------------------------ progress bar */

/* A one-line progress bar on stderr, redrawn at most ten times a second:
 * "what [=====>    ]  45.2%  452000/1000000  8123/s  ETA 1:07". Drawn only
 * when enabled (the caller decides: a terminal and not --quiet). */
typedef struct tool_progress {
    const char *what;
    uint64_t total;
    double start;
    double last_draw;
    int enabled;
    int drawn;
} tool_progress;

void tool_progress_start(tool_progress *p, const char *what, uint64_t total, int enabled);
void tool_progress_update(tool_progress *p, uint64_t done);
/* Draws the final state and ends the line (if anything was drawn). */
void tool_progress_finish(tool_progress *p, uint64_t done);

/* ------------------------------------------------------------ JSON output */

/* A small streaming JSON writer: it inserts commas and indentation so the
 * callers only say what to write. JSON has no NaN or infinity, and a null
 * where a number belongs is no better, so a number that is not finite
 * cannot be written: it marks the document failed (tool_json_ok() is then
 * 0, and the caller must not use it) and writes null in its place so the
 * rest stays well-formed. */
typedef struct tool_json {
    FILE *f;
    int pretty;
    int depth;
    int need_comma[32];
    int after_key;
    int nonfinite; /* a non-finite number was asked for */
} tool_json;

/* 1 unless a non-finite number was asked for. */
int tool_json_ok(const tool_json *j);

void tool_json_init(tool_json *j, FILE *f, int pretty);
void tool_json_key(tool_json *j, const char *key);
void tool_json_begin_object(tool_json *j);
void tool_json_end_object(tool_json *j);
void tool_json_begin_array(tool_json *j);
void tool_json_end_array(tool_json *j);
void tool_json_string(tool_json *j, const char *s);
void tool_json_u64(tool_json *j, uint64_t v);
void tool_json_i64(tool_json *j, int64_t v);
/* Shortest "%.9g"-style form that keeps a float; %.17g for doubles. */
void tool_json_float(tool_json *j, float v);
void tool_json_double(tool_json *j, double v);
void tool_json_bool(tool_json *j, int v);
void tool_json_null(tool_json *j);
/* Writes pre-formatted JSON text as a value (the caller vouches for it). */
void tool_json_raw(tool_json *j, const char *text);

/* Writes s as a JSON string literal (quotes and escapes) to f. */
void tool_json_write_string(FILE *f, const char *s);

/* Non-zero if text[0..len) is one complete JSON value (RFC 8259 syntax, with
 * optional surrounding whitespace). Used to check embedded reports. */
int tool_json_valid(const char *text, size_t len);

/* ------------------------------------------------------------ synthetic data */

/* The generator behind vw-gen (and vw-bench's generated queries), kept here
 * so that `vw-gen --seed S --queries Q` and `vw-bench --seed S --n-queries Q`
 * draw the very same query vectors.
 *
 * Every row comes from its own xoshiro256** stream seeded from (seed, stream,
 * row) through splitmix64, so rows do not depend on how many are drawn: the
 * first n rows of a 1,000,000-row set are the n-row set, and rows can be
 * drawn by many threads in any order. Normal deviates come from the
 * Marsaglia polar method. Every row is L2-normalized.
 *
 *   clustered: C centres with standard-normal coordinates (stream 2); a row
 *              picks a centre uniformly and adds N(0, spread^2) noise to
 *              each coordinate;
 *   gaussian:  i.i.d. standard normal coordinates;
 *   uniform:   i.i.d. uniform [0, 1) coordinates.
 */
typedef enum tool_dist { TOOL_DIST_CLUSTERED, TOOL_DIST_GAUSSIAN, TOOL_DIST_UNIFORM } tool_dist;

#define TOOL_DEFAULT_SEED 42u
/* 512 clusters: about 2,000 vectors per cluster at 1,000,000. Within a
 * cluster the points are isotropic, so recall is set by the cluster size:
 * hnswlib (M=32, efConstruction=200, ef=64) measured recall@10 0.987 with
 * ~1,960 per cluster (100,000 vectors, 51 clusters) and 0.963 with ~3,850,
 * which puts 1M at the seed's "95-98%". */
#define TOOL_DEFAULT_CLUSTERS 512u
#define TOOL_DEFAULT_SPREAD   1.0
#define TOOL_MAX_CLUSTERS     1000000u

/* Streams: base rows, query rows, cluster centres. */
enum { TOOL_STREAM_BASE = 0, TOOL_STREAM_QUERY = 1, TOOL_STREAM_CENTRES = 2 };

typedef struct tool_gen_params {
    tool_dist dist;
    uint32_t dim;
    uint32_t clusters;
    double spread;
    uint64_t seed;
} tool_gen_params;

void tool_gen_params_default(tool_gen_params *p, uint32_t dim);
/* "clustered", "gaussian", "uniform"; returns -1 for an unknown name. */
int tool_dist_parse(const char *name, tool_dist *out);
const char *tool_dist_name(tool_dist d);

typedef struct tool_gen tool_gen;

/* Draws the centres; NULL if out of memory. */
tool_gen *tool_gen_create(const tool_gen_params *p);
void tool_gen_free(tool_gen *g);
/* Fills out[0 .. n*dim) with rows first..first+n-1 of the given stream,
 * using `threads` threads (0 = all CPUs; the rows are the same for any
 * count). Returns -1 if out of memory, else 0. */
int tool_gen_rows(const tool_gen *g, int stream, uint64_t first, uint64_t n, unsigned threads,
                  float *out);

#endif /* VW_TOOLS_COMMON_H */
