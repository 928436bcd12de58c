/*
 * cli.c - messages, getopt endings and option values (see cli.h).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ messages */

static const char *g_name = "vw";

void tool_init(const char *name) {
    g_name = name;
    /* A benchmark run on a kernel set the user did not ask for would be a
     * silent lie, so an unusable VW_SIMD stops every tool before it starts. */
    vw_status st = vw_simd_env_status();
    if (st == VW_OK)
        return;
    const char *value = getenv("VW_SIMD");
    if (st == VW_ERR_UNSUPPORTED)
        tool_die("VW_SIMD=%s: not supported by this CPU or build", value ? value : "");
    tool_die("VW_SIMD=%s: unknown kernel set (use scalar, avx2 or avx512)", value ? value : "");
}

static void vmessage(const char *fmt, va_list ap, const char *suffix) {
    /* Build the whole line first so that it reaches stderr in one write and
     * never interleaves with another thread's output. */
    char line[1024];
    int len = snprintf(line, sizeof line, "%s: ", g_name);
    if (len < 0)
        len = 0;
    if ((size_t)len < sizeof line) {
        int more = vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
        if (more > 0)
            len += more;
    }
    if ((size_t)len >= sizeof line)
        len = (int)sizeof line - 1;
    /* Keep it to one line whatever the message holds (file names may
     * contain newlines). */
    for (int i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
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
    if (detail && detail[0])
        snprintf(buf, size, "%s: %s: %s", what, vw_strerror(status), detail);
    else
        snprintf(buf, size, "%s: %s", what, vw_strerror(status));
}

void tool_die_status(vw_status status, const char *what) {
    char buf[768];
    tool_format_status(buf, sizeof buf, status, what);
    tool_die("%s", buf);
}

/* ------------------------------------------------------------ getopt */

void tool_other_option(int c, char **argv, void (*usage)(void)) {
    if (c == 'h') {
        usage();
        exit(TOOL_EXIT_OK);
    }
    if (c == 'V') {
        printf("%s %s\n", g_name, vw_version());
        exit(TOOL_EXIT_OK);
    }
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':') {
        if (optopt > 0 && optopt < 256 && isalpha(optopt))
            tool_usage_error("option -%c requires a value", optopt);
        tool_usage_error("option '%s' requires a value", arg);
    }
    if (optopt > 0 && optopt < 256 && isprint(optopt))
        tool_usage_error("unknown option -%c", optopt);
    tool_usage_error("unknown or ambiguous option '%s'", arg);
}

void tool_no_operands(int argc, char **argv) {
    if (optind < argc)
        tool_usage_error("unexpected argument '%s'", argv[optind]);
}

/* ------------------------------------------------------------ option values */

uint64_t tool_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max) {
    if (!isdigit((unsigned char)arg[0]))
        tool_usage_error("%s: '%s' is not a non-negative integer", option, arg);
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end != '\0')
        tool_usage_error("%s: '%s' is not a non-negative integer", option, arg);
    if (errno == ERANGE || v < min || v > max)
        tool_usage_error("%s: %s is out of range %llu..%llu", option, arg, (unsigned long long)min,
                         (unsigned long long)max);
    return (uint64_t)v;
}

uint32_t tool_parse_u32(const char *option, const char *arg, uint32_t min, uint32_t max) {
    return (uint32_t)tool_parse_u64(option, arg, min, max);
}

double tool_parse_double(const char *option, const char *arg, double min, double max) {
    errno = 0;
    char *end = NULL;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || isspace((unsigned char)arg[0]) || !isfinite(v))
        tool_usage_error("%s: '%s' is not a finite number", option, arg);
    if (v < min || v > max)
        tool_usage_error("%s: %s is out of range %g..%g", option, arg, min, max);
    return v;
}

size_t tool_parse_u32_list(const char *option, const char *arg, uint32_t min, uint32_t max,
                           uint32_t *out, size_t cap) {
    size_t n = 0;
    for (const char *p = arg;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item)
            tool_usage_error("%s: '%s' is not a comma-separated list of integers", option, arg);
        memcpy(item, p, len);
        item[len] = '\0';
        if (n == cap)
            tool_usage_error("%s: more than %zu values", option, cap);
        out[n++] = tool_parse_u32(option, item, min, max);
        if (!comma)
            return n;
        p = comma + 1;
    }
}

/* ------------------------------------------------------------ text vectors */

static const char *skip_space(const char *p) {
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* The end of a vector: a reason in err if it is not a proper one. */
static int vector_end(const char *p, int bracket, int need_value, char *err, size_t err_size) {
    if (need_value)
        snprintf(err, err_size, "missing value after ','");
    else if (bracket && *p != ']')
        snprintf(err, err_size, "missing ']'");
    else if (bracket && *skip_space(p + 1) != '\0')
        snprintf(err, err_size, "unexpected text after ']'");
    else
        return 0;
    return -1;
}

/* Reads the number token at *p (ended by space, ',' or a closing ']'). */
static int read_token(const char **p, int bracket, float *v, char *err, size_t err_size) {
    const char *start = *p;
    while (**p && !isspace((unsigned char)**p) && **p != ',' && !(bracket && **p == ']'))
        (*p)++;
    int len = (int)(*p - start);
    char *end = NULL;
    errno = 0;
    *v = strtof(start, &end);
    if (end != *p)
        snprintf(err, err_size, "'%.*s' is not a number", len > 40 ? 40 : len, start);
    else if (!isfinite(*v))
        snprintf(err, err_size, "'%.*s' is not a finite float", len > 40 ? 40 : len, start);
    else
        return 0;
    return -1;
}

long tool_parse_vector(const char *text, float *out, size_t cap, char *err, size_t err_size) {
    const char *p = skip_space(text);
    int bracket = *p == '[';
    if (bracket)
        p++;
    long count = 0;
    int need_value = 0; /* just after a comma */
    for (;;) {
        p = skip_space(p);
        if (*p == '\0' || (bracket && *p == ']'))
            return vector_end(p, bracket, need_value, err, err_size) == 0 ? count : -1;
        if (*p == ',') {
            snprintf(err, err_size, "empty value before ','");
            return -1;
        }
        float v;
        if (read_token(&p, bracket, &v, err, err_size) != 0)
            return -1;
        if ((size_t)count < cap)
            out[count] = v;
        count++;
        p = skip_space(p);
        need_value = *p == ',';
        if (need_value)
            p++;
    }
}
