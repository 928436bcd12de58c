/*
 * common.c - see common.h. Shared by the tools; uses only the public API.
 */
#include "common.h"
#include "serve/json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ messages */

static const char *g_name = "vw";

const char *tool_name(void) {
    return g_name;
}

void tool_init(const char *name) {
    g_name = name;
    /* A benchmark run on a kernel set the user did not ask for would be a
     * silent lie, so an unusable VW_SIMD stops every tool before it starts. */
    vw_status st = vw_simd_env_status();
    if (st != VW_OK) {
        const char *value = getenv("VW_SIMD");
        if (st == VW_ERR_UNSUPPORTED) {
            tool_die("VW_SIMD=%s: not supported by this CPU or build", value ? value : "");
        }
        tool_die("VW_SIMD=%s: unknown kernel set (use scalar, avx2 or avx512)", value ? value : "");
    }
}

static void vmessage(const char *fmt, va_list ap, const char *suffix) {
    /* Build the whole line first so that it reaches stderr in one write and
     * never interleaves with another thread's output. */
    char line[1024];
    int len = snprintf(line, sizeof line, "%s: ", g_name);
    if (len < 0) {
        len = 0;
    }
    if ((size_t)len < sizeof line) {
        int more = vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
        if (more > 0) {
            len += more;
        }
    }
    if ((size_t)len >= sizeof line) {
        len = (int)sizeof line - 1;
    }
    /* Keep it to one line whatever the message holds (file names may
     * contain newlines). */
    for (int i = 0; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }
    fprintf(stderr, "%.*s%s\n", len, line, suffix ? suffix : "");
    fflush(stderr);
}

void tool_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap, NULL);
    va_end(ap);
    exit(TOOL_EXIT_FAILURE);
}

void tool_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap, NULL);
    va_end(ap);
}

void tool_usage_error(const char *fmt, ...) {
    char hint[128];
    snprintf(hint, sizeof hint, "; try '%s --help'", g_name);
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap, hint);
    va_end(ap);
    exit(TOOL_EXIT_USAGE);
}

void tool_format_status(char *buf, size_t size, vw_status status, const char *what) {
    const char *detail = vw_last_error_detail();
    if (detail && detail[0]) {
        snprintf(buf, size, "%s: %s: %s", what, vw_strerror(status), detail);
    } else {
        snprintf(buf, size, "%s: %s", what, vw_strerror(status));
    }
}

void tool_die_status(vw_status status, const char *what) {
    char buf[768];
    tool_format_status(buf, sizeof buf, status, what);
    tool_die("%s", buf);
}

void tool_print_version(void) {
    printf("%s %s\n", g_name, vw_version());
}

void tool_bad_option(int c, char **argv) {
    const char *arg = (optind > 0) ? argv[optind - 1] : "?";
    if (c == ':') {
        if (optopt > 0 && optopt < 256 && isalpha(optopt)) {
            tool_usage_error("option -%c requires a value", optopt);
        }
        tool_usage_error("option '%s' requires a value", arg);
    }
    if (optopt > 0 && optopt < 256 && isprint(optopt)) {
        tool_usage_error("unknown option -%c", optopt);
    }
    tool_usage_error("unknown or ambiguous option '%s'", arg);
}

/* ------------------------------------------------------------ index files */

/* A vwhnsw file through vw_index_load (which may map it); Faiss and hnswlib
 * files, and anything unknown (so the message says what is wrong with it),
 * through vw_index_import. */
int tool_load_index(const char *path, unsigned flags, const char *metric, vw_index **out, char *err,
                    size_t err_size) {
    vw_import_options o;
    vw_import_options_default(&o);
    o.has_metric = metric != NULL;
    if (metric && vw_metric_parse(metric, &o.metric) != VW_OK) {
        snprintf(err, err_size, "--metric: unknown metric '%s' (l2, ip, cosine)", metric);
        return -1;
    }
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    vw_status st = vw_index_detect(path, &format);
    if (st == VW_OK && format != VW_INDEX_FORMAT_VWHNSW && (flags & VW_LOAD_MMAP)) {
        tool_warn("%s: a %s file is read into memory; --mmap applies to vwhnsw files", path,
                  vw_index_format_name(format) ? vw_index_format_name(format) : "foreign");
    }
    *out = NULL;
    if (st == VW_OK) {
        st = format == VW_INDEX_FORMAT_VWHNSW ? vw_index_load(path, flags, out)
                                              : vw_index_import(path, &o, out);
    }
    if (st != VW_OK) {
        tool_format_status(err, err_size, st, path);
        return -1;
    }
    vw_stats stats;
    if (metric && vw_index_stats(*out, &stats) == VW_OK && stats.metric != o.metric) {
        snprintf(err, err_size, "%s: the index's metric is %s, not %s", path,
                 vw_metric_name(stats.metric), metric);
        vw_index_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void tool_check_metric(const char *path, const char *metric) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    if (metric && vw_metric_parse(metric, &(vw_metric){VW_METRIC_L2}) != VW_OK) {
        tool_usage_error("--metric: unknown metric '%s' (l2, ip, cosine)", metric);
    }
    if (!metric && vw_index_detect(path, &format) == VW_OK && format == VW_INDEX_FORMAT_HNSWLIB) {
        tool_usage_error("%s is an hnswlib index, which does not record its metric: give "
                         "--metric l2, ip or cosine (the space it was built with)",
                         path);
    }
}

vw_index *tool_open_index(const char *path, unsigned flags, const char *metric) {
    tool_check_metric(path, metric);
    vw_index *index = NULL;
    char err[768];
    if (tool_load_index(path, flags, metric, &index, err, sizeof err) != 0) {
        tool_die("%s", err);
    }
    return index;
}

/* ------------------------------------------------------------ numbers */

uint64_t tool_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max) {
    if (!isdigit((unsigned char)arg[0])) {
        tool_usage_error("%s: '%s' is not a non-negative integer", option, arg);
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end != '\0') {
        tool_usage_error("%s: '%s' is not a non-negative integer", option, arg);
    }
    if (errno == ERANGE || v < min || v > max) {
        tool_usage_error("%s: %s is out of range %llu..%llu", option, arg, (unsigned long long)min,
                         (unsigned long long)max);
    }
    return (uint64_t)v;
}

uint32_t tool_parse_u32(const char *option, const char *arg, uint32_t min, uint32_t max) {
    return (uint32_t)tool_parse_u64(option, arg, min, max);
}

double tool_parse_double(const char *option, const char *arg, double min, double max) {
    errno = 0;
    char *end = NULL;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || isspace((unsigned char)arg[0]) || !isfinite(v)) {
        tool_usage_error("%s: '%s' is not a finite number", option, arg);
    }
    if (v < min || v > max) {
        tool_usage_error("%s: %s is out of range %g..%g", option, arg, min, max);
    }
    return v;
}

size_t tool_parse_u32_list(const char *option, const char *arg, uint32_t min, uint32_t max,
                           uint32_t *out, size_t cap) {
    size_t n = 0;
    const char *p = arg;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item) {
            tool_usage_error("%s: '%s' is not a comma-separated list of integers", option, arg);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (n == cap) {
            tool_usage_error("%s: more than %zu values", option, cap);
        }
        out[n++] = tool_parse_u32(option, item, min, max);
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    return n;
}

static const char *skip_space(const char *p) {
    while (isspace((unsigned char)*p)) {
        p++;
    }
    return p;
}

long tool_parse_vector(const char *text, float *out, size_t cap, char *err, size_t err_size) {
    const char *p = skip_space(text);
    int bracket = 0;
    if (*p == '[') {
        bracket = 1;
        p = skip_space(p + 1);
    }
    long count = 0;
    int need_value = 0; /* just after a comma */
    for (;;) {
        p = skip_space(p);
        if (*p == '\0' || (bracket && *p == ']')) {
            if (need_value) {
                snprintf(err, err_size, "missing value after ','");
                return -1;
            }
            if (bracket && *p != ']') {
                snprintf(err, err_size, "missing ']'");
                return -1;
            }
            if (bracket && *skip_space(p + 1) != '\0') {
                snprintf(err, err_size, "unexpected text after ']'");
                return -1;
            }
            return count;
        }
        if (*p == ',') {
            snprintf(err, err_size, "empty value before ','");
            return -1;
        }
        const char *start = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',' && !(bracket && *p == ']')) {
            p++;
        }
        int len = (int)(p - start);
        char *end = NULL;
        errno = 0;
        float v = strtof(start, &end);
        if (end != p) {
            snprintf(err, err_size, "'%.*s' is not a number", len > 40 ? 40 : len, start);
            return -1;
        }
        if (!isfinite(v)) {
            snprintf(err, err_size, "'%.*s' is not a finite float", len > 40 ? 40 : len, start);
            return -1;
        }
        if ((size_t)count < cap) {
            out[count] = v;
        }
        count++;
        p = skip_space(p);
        need_value = 0;
        if (*p == ',') {
            need_value = 1;
            p++;
        }
    }
}

/* ------------------------------------------------------------ time, system */

double tool_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

unsigned tool_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

void tool_cpu_model(char *buf, size_t size) {
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                const char *v = skip_space(colon + 1);
                size_t len = strcspn(v, "\n");
                snprintf(buf, size, "%.*s", (int)len, v);
            }
            break;
        }
    }
    fclose(f);
}

uint64_t tool_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports kilobytes */
}

int64_t tool_file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        return -1;
    }
    return (int64_t)st.st_size;
}

/* ------------------------------------------------------------ files */

FILE *tool_output_open(tool_output *o, const char *path) {
    o->path = path;
    o->data = NULL;
    o->len = 0;
    o->f = open_memstream(&o->data, &o->len);
    if (!o->f) {
        tool_die("%s: out of memory", path);
    }
    return o->f;
}

void tool_output_commit(tool_output *o) {
    int failed = ferror(o->f);
    if (fclose(o->f) != 0 || failed) {
        tool_die("%s: out of memory", o->path);
    }
    vw_status st = vw_file_write_atomic(o->path, o->data, o->len);
    free(o->data);
    o->data = NULL;
    if (st != VW_OK) {
        tool_die_status(st, o->path);
    }
}

FILE *tool_open_input(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        tool_die("%s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        tool_die("%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        tool_die("%s: not a regular file (a %s)", path,
                 S_ISDIR(sb.st_mode)    ? "directory"
                 : S_ISFIFO(sb.st_mode) ? "FIFO"
                                        : "device");
    }
    FILE *f = NULL;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "rb"))) {
        tool_die("%s: %s", path, strerror(errno));
    }
    return f;
}

/* What makes two paths the same file: the inode of an existing file, else
 * (an output about to be created) its directory's inode and its name. */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode;
    const char *name;
} file_id;

static file_id identify(const char *path) {
    file_id id = {0, 0, 0, 0, NULL};
    struct stat sb;
    if (stat(path, &sb) == 0) {
        id.exists = 1;
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
        id.mode = sb.st_mode;
        return id;
    }
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    id.name = slash ? slash + 1 : path;
    if (stat(dir, &sb) == 0) {
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
    }
    return id;
}

static int same_file(const file_id *a, const file_id *b) {
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           (a->exists || strcmp(a->name, b->name) == 0);
}

static const char *kind_of(mode_t mode) {
    return S_ISDIR(mode)                    ? "a directory"
           : S_ISFIFO(mode)                 ? "a FIFO (named pipe)"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
                                            : "a special file";
}

void tool_check_files(const tool_file_arg *files, size_t n) {
    enum { MAX_FILES = 16 };
    file_id ids[MAX_FILES];
    for (size_t i = 0; i < n && i < MAX_FILES; i++) {
        ids[i] = files[i].path ? identify(files[i].path) : (file_id){0, 0, 0, 0, NULL};
        /* Found now rather than after minutes of work; the write itself
         * would refuse it too (vw_file_write_atomic, vw_index_save). */
        if (files[i].output && ids[i].exists && !S_ISREG(ids[i].mode)) {
            tool_die("%s: is %s, not a regular file", files[i].path, kind_of(ids[i].mode));
        }
    }
    for (size_t i = 0; i < n && i < MAX_FILES; i++) {
        for (size_t j = 0; j < i && files[i].path; j++) {
            if (!files[j].path || (!files[i].output && !files[j].output) ||
                !same_file(&ids[i], &ids[j])) {
                continue;
            }
            const tool_file_arg *out = files[i].output ? &files[i] : &files[j];
            const tool_file_arg *other = out == &files[i] ? &files[j] : &files[i];
            tool_usage_error("%s %s is the same file as %s %s; the %s would overwrite it",
                             out->option, out->path, other->option, other->path,
                             other->output ? "second output" : "output");
        }
    }
}

void tool_format_bytes(char *buf, size_t size, uint64_t bytes) {
    static const char *units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0) {
        snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
    } else {
        snprintf(buf, size, "%.1f %s", v, units[u]);
    }
}

/* ------------------------------------------------------------ progress bar */

void tool_progress_start(tool_progress *p, const char *what, uint64_t total, int enabled) {
    p->what = what;
    p->total = total;
    p->start = tool_now();
    p->last_draw = 0.0;
    p->enabled = enabled;
    p->drawn = 0;
}

static void format_duration(char *buf, size_t size, double seconds) {
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600) {
        snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, (s / 60) % 60, s % 60);
    } else {
        snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
    }
}

static void progress_draw(tool_progress *p, uint64_t done, double now) {
    enum { WIDTH = 30 };
    double frac = p->total ? (double)done / (double)p->total : 1.0;
    if (frac > 1.0) {
        frac = 1.0;
    }
    char bar[WIDTH + 1];
    int filled = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++) {
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    }
    bar[WIDTH] = '\0';
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    char eta[32];
    if (done >= p->total) {
        format_duration(eta, sizeof eta, elapsed);
    } else {
        format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : NAN);
    }
    /* \r plus "erase to end of line": the bar redraws itself in place. */
    fprintf(stderr, "\r%s [%s] %5.1f%%  %llu/%llu  %.0f/s  %s %s\033[K", p->what, bar, frac * 100.0,
            (unsigned long long)done, (unsigned long long)p->total, rate,
            done >= p->total ? "in" : "ETA", eta);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = now;
}

void tool_progress_update(tool_progress *p, uint64_t done) {
    if (!p->enabled) {
        return;
    }
    double now = tool_now();
    if (p->drawn && now - p->last_draw < 0.1) {
        return;
    }
    progress_draw(p, done, now);
}

void tool_progress_finish(tool_progress *p, uint64_t done) {
    if (!p->enabled) {
        return;
    }
    progress_draw(p, done, tool_now());
    fputc('\n', stderr);
    fflush(stderr);
}

/* ------------------------------------------------------------ JSON output */

void tool_json_init(tool_json *j, FILE *f, int pretty) {
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

static void json_indent(tool_json *j) {
    if (!j->pretty) {
        return;
    }
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) {
        fputs("  ", j->f);
    }
}

/* Everything that starts a value or a key goes through here: it writes the
 * separating comma and the indentation, unless the value follows a key. */
static void json_before_item(tool_json *j) {
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->need_comma[j->depth]) {
            fputc(',', j->f);
        }
        json_indent(j);
        j->need_comma[j->depth] = 1;
    }
}

void tool_json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20) {
                fprintf(f, "\\u%04x", *p);
            } else {
                fputc(*p, f);
            }
        }
    }
    fputc('"', f);
}

void tool_json_key(tool_json *j, const char *key) {
    json_before_item(j);
    tool_json_write_string(j->f, key);
    fputs(j->pretty ? ": " : ":", j->f);
    j->after_key = 1;
}

static void json_open(tool_json *j, char c) {
    json_before_item(j);
    fputc(c, j->f);
    if (j->depth + 1 < (int)(sizeof j->need_comma / sizeof j->need_comma[0])) {
        j->depth++;
    }
    j->need_comma[j->depth] = 0;
}

static void json_close(tool_json *j, char c) {
    int had_items = j->need_comma[j->depth];
    if (j->depth > 0) {
        j->depth--;
    }
    if (had_items) {
        json_indent(j);
    }
    fputc(c, j->f);
    if (j->depth == 0 && j->pretty) {
        fputc('\n', j->f);
    }
}

void tool_json_begin_object(tool_json *j) {
    json_open(j, '{');
}
void tool_json_end_object(tool_json *j) {
    json_close(j, '}');
}
void tool_json_begin_array(tool_json *j) {
    json_open(j, '[');
}
void tool_json_end_array(tool_json *j) {
    json_close(j, ']');
}

void tool_json_string(tool_json *j, const char *s) {
    json_before_item(j);
    tool_json_write_string(j->f, s);
}

void tool_json_u64(tool_json *j, uint64_t v) {
    json_before_item(j);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void tool_json_i64(tool_json *j, int64_t v) {
    json_before_item(j);
    fprintf(j->f, "%lld", (long long)v);
}

int tool_json_ok(const tool_json *j) {
    return !j->nonfinite;
}

/* Writes the null that stands in for a refused non-finite number. */
static int json_refuse_nonfinite(tool_json *j, double v) {
    if (isfinite(v)) {
        return 0;
    }
    j->nonfinite = 1;
    fputs("null", j->f);
    return 1;
}

void tool_json_float(tool_json *j, float v) {
    json_before_item(j);
    if (!json_refuse_nonfinite(j, v)) {
        fprintf(j->f, "%.9g", (double)v);
    }
}

void tool_json_double(tool_json *j, double v) {
    json_before_item(j);
    if (json_refuse_nonfinite(j, v)) {
        return;
    }
    /* The shortest of %.15g / %.17g that reads back exactly: 0.971 rather
     * than 0.97099999999999997. */
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) {
        snprintf(buf, sizeof buf, "%.17g", v);
    }
    fputs(buf, j->f);
}

void tool_json_bool(tool_json *j, int v) {
    json_before_item(j);
    fputs(v ? "true" : "false", j->f);
}

void tool_json_null(tool_json *j) {
    json_before_item(j);
    fputs("null", j->f);
}

void tool_json_raw(tool_json *j, const char *text) {
    json_before_item(j);
    fputs(text, j->f);
}

/* The strict reader of vw-serve (RFC 8259, depth-limited) does the check. */
int tool_json_valid(const char *text, size_t len) {
    json_cursor c;
    json_init(&c, text, len);
    return json_skip_value(&c) == 0 && json_expect_end(&c) == 0;
}

/* ------------------------------------------------------------ synthetic data */

struct tool_gen {
    tool_gen_params p;
    float *centres; /* clusters x dim, clustered only */
};

void tool_gen_params_default(tool_gen_params *p, uint32_t dim) {
    p->dist = TOOL_DIST_CLUSTERED;
    p->dim = dim;
    p->clusters = TOOL_DEFAULT_CLUSTERS;
    p->spread = TOOL_DEFAULT_SPREAD;
    p->seed = TOOL_DEFAULT_SEED;
}

static const char *const dist_names[] = {"clustered", "gaussian", "uniform"};

int tool_dist_parse(const char *name, tool_dist *out) {
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, dist_names[i]) == 0) {
            *out = (tool_dist)i;
            return 0;
        }
    }
    return -1;
}

const char *tool_dist_name(tool_dist d) {
    return (unsigned)d < 3 ? dist_names[d] : "unknown";
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
    double spare; /* the second deviate of the last polar pair */
    int has_spare;
} rng;

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna). */
static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* The stream of one row: a hash of (seed, stream, row) expanded by
 * splitmix64 into the 256-bit state, as the xoshiro authors recommend. */
static void rng_seed_row(rng *r, uint64_t seed, int stream, uint64_t row) {
    uint64_t h = seed;
    uint64_t x = splitmix64(&h);
    h = x ^ ((uint64_t)stream * 0xd1342543de82ef95ull);
    x = splitmix64(&h);
    h = x ^ row;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&h);
    }
    r->has_spare = 0;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) by multiply-shift; n < 2^32, bias < 2^-32. */
static uint32_t rng_below(rng *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Standard normal deviate, Marsaglia polar method. */
static double rng_normal(rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform(r) - 1.0;
        v = 2.0 * rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

tool_gen *tool_gen_create(const tool_gen_params *p) {
    tool_gen *g = calloc(1, sizeof *g);
    if (!g) {
        return NULL;
    }
    g->p = *p;
    if (p->dist == TOOL_DIST_CLUSTERED) {
        size_t count = (size_t)p->clusters * p->dim;
        g->centres = malloc(count * sizeof(float));
        if (!g->centres) {
            free(g);
            return NULL;
        }
        for (uint32_t c = 0; c < p->clusters; c++) {
            rng r;
            rng_seed_row(&r, p->seed, TOOL_STREAM_CENTRES, c);
            for (uint32_t i = 0; i < p->dim; i++) {
                g->centres[(size_t)c * p->dim + i] = (float)rng_normal(&r);
            }
        }
    }
    return g;
}

void tool_gen_free(tool_gen *g) {
    if (g) {
        free(g->centres);
        free(g);
    }
}

static void gen_row(const tool_gen *g, int stream, uint64_t row, float *out, double *tmp) {
    const uint32_t dim = g->p.dim;
    rng r;
    rng_seed_row(&r, g->p.seed, stream, row);
    for (;;) {
        switch (g->p.dist) {
        case TOOL_DIST_CLUSTERED: {
            const float *c = g->centres + (size_t)rng_below(&r, g->p.clusters) * dim;
            for (uint32_t i = 0; i < dim; i++) {
                tmp[i] = (double)c[i] + g->p.spread * rng_normal(&r);
            }
            break;
        }
        case TOOL_DIST_GAUSSIAN:
            for (uint32_t i = 0; i < dim; i++) {
                tmp[i] = rng_normal(&r);
            }
            break;
        case TOOL_DIST_UNIFORM:
            for (uint32_t i = 0; i < dim; i++) {
                tmp[i] = rng_uniform(&r);
            }
            break;
        }
        double norm = 0.0;
        for (uint32_t i = 0; i < dim; i++) {
            norm += tmp[i] * tmp[i];
        }
        norm = sqrt(norm);
        /* A zero draw cannot be normalized: draw again from the same stream
         * (vanishingly rare; keeps every row a unit vector). */
        if (norm > 0.0 && isfinite(norm)) {
            for (uint32_t i = 0; i < dim; i++) {
                out[i] = (float)(tmp[i] / norm);
            }
            return;
        }
    }
}

typedef struct gen_job {
    const tool_gen *g;
    int stream;
    uint64_t first;
    uint64_t n;
    float *out;
    int failed; /* out of memory for the scratch row */
} gen_job;

static void *gen_worker(void *arg) {
    gen_job *job = arg;
    const uint32_t dim = job->g->p.dim;
    double *tmp = malloc((size_t)dim * sizeof(double));
    if (!tmp) {
        job->failed = 1;
        return NULL;
    }
    for (uint64_t i = 0; i < job->n; i++) {
        gen_row(job->g, job->stream, job->first + i, job->out + (size_t)i * dim, tmp);
    }
    free(tmp);
    return NULL;
}

int tool_gen_rows(const tool_gen *g, int stream, uint64_t first, uint64_t n, unsigned threads,
                  float *out) {
    enum { MAX_THREADS = 256 };
    if (threads == 0) {
        threads = tool_cpu_count();
    }
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    if ((uint64_t)threads > n / 1024 + 1) {
        threads = (unsigned)(n / 1024 + 1); /* small sets are not worth a thread */
    }
    gen_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    uint64_t per = n / threads, extra = n % threads, at = 0;
    for (unsigned t = 0; t < threads; t++) {
        uint64_t cnt = per + (t < extra ? 1 : 0);
        jobs[t] = (gen_job){g, stream, first + at, cnt, out + (size_t)at * g->p.dim, 0};
        at += cnt;
        if (t > 0) {
            started[t] = pthread_create(&tids[t], NULL, gen_worker, &jobs[t]) == 0;
        }
    }
    gen_worker(&jobs[0]);
    int failed = jobs[0].failed;
    for (unsigned t = 1; t < threads; t++) {
        if (started[t]) {
            pthread_join(tids[t], NULL);
        } else {
            gen_worker(&jobs[t]); /* do its share here rather than fail */
        }
        failed |= jobs[t].failed;
    }
    return failed ? -1 : 0;
}
