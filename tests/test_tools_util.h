/* Helpers for the end-to-end tests of the tools: run a tool binary with
 * posix_spawn, capture its exit status, stdout and stderr, and read small
 * facts out of its output. Header-only, like testutil.h.
 *
 * Every tools test takes the same arguments, passed by tests/tools.cmake:
 *   argv[1..5] = paths of vw-gen, vw-build, vw-query, vw-bench, scratch dir */
#ifndef VW_TEST_TOOLS_UTIL_H
#define VW_TEST_TOOLS_UTIL_H

#include "test_argv.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct tt_paths {
    const char *gen, *build, *query, *bench;
    const char *dir; /* scratch directory, created if missing */
} tt_paths;

static tt_paths tt;

static void tt_setup(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH-DIR\n", argv[0]);
        exit(2);
    }
    tt.gen = argv[1];
    tt.build = argv[2];
    tt.query = argv[3];
    tt.bench = argv[4];
    tt.dir = argv[5];
    /* mkdir -p of the scratch directory */
    char path[4096];
    snprintf(path, sizeof path, "%s", tt.dir);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s\n", tt.dir);
        exit(2);
    }
}

/* A path inside the scratch directory; the returned buffer is one of a few
 * rotating ones, so several may be alive in one call. */
static const char *tt_file(const char *name) {
    static char bufs[16][4096];
    static int next;
    char *b = bufs[next++ % 16];
    snprintf(b, 4096, "%s/%s", tt.dir, name);
    return b;
}

typedef struct tt_run_result {
    int exited;   /* normal exit */
    int status;   /* exit status when exited */
    int signaled; /* killed by a signal: always a failure */
    char *out;
    char *err;
} tt_run_result;

static char *tt_read_text(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

static void tt_free_result(tt_run_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Runs argv (NULL-terminated; argv[0] is the program path) with stdin from
 * stdin_path (or /dev/null), capturing stdout and stderr. */
static tt_run_result tt_runv(const char *stdin_path, char *const argv[]) {
    tt_run_result r = {0};
    const char *out_path = tt_file("last.stdout");
    const char *err_path = tt_file("last.stderr");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(rc));
        exit(2);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    r.exited = WIFEXITED(ws);
    r.status = r.exited ? WEXITSTATUS(ws) : -1;
    r.signaled = WIFSIGNALED(ws);
    r.out = tt_read_text(out_path, NULL);
    r.err = tt_read_text(err_path, NULL);
    if (!r.out || !r.err) {
        fprintf(stderr, "cannot read the output of %s\n", argv[0]);
        exit(2);
    }
    return r;
}

/* tt_run(stdin_path, prog, arg1, ..., NULL) */
static tt_run_result tt_run(const char *stdin_path, const char *prog, ...) {
    char *argv[64];
    va_list ap;
    va_start(ap, prog);
    tu_argv(argv, 64, prog, ap);
    va_end(ap);
    return tt_runv(stdin_path, argv);
}

static int tt_count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void tt_report(const char *what, const tt_run_result *r) {
    fprintf(stderr, "  %s: exited %d status %d signaled %d\n  stdout: %.300s\n  stderr: %.600s\n",
            what, r->exited, r->status, r->signaled, r->out, r->err);
}

/* The run succeeded: exit 0, no signal. */
static int tt_expect_ok(const char *what, const tt_run_result *r) {
    if (r->exited && r->status == 0)
        return 1;
    fprintf(stderr, "FAIL: %s should succeed\n", what);
    tt_report(what, r);
    check_failures++;
    return 0;
}

/* The run failed cleanly: a non-zero exit (not a signal) and exactly one
 * line on stderr that starts with the tool's name. want_status 0 = any
 * non-zero status. `needle`, if not NULL, must appear in that line. */
static void tt_expect_fail(const char *what, const tt_run_result *r, int want_status,
                           const char *needle) {
    int ok = r->exited && r->status != 0 && (want_status == 0 || r->status == want_status) &&
             tt_count_lines(r->err) == 1 && r->err[strlen(r->err) - 1] == '\n' &&
             strncmp(r->err, "vw-", 3) == 0 && (!needle || strstr(r->err, needle));
    if (!ok) {
        fprintf(stderr, "FAIL: %s should fail with status %d and one line%s%s%s\n", what,
                want_status, needle ? " containing '" : "", needle ? needle : "",
                needle ? "'" : "");
        tt_report(what, r);
        check_failures++;
    }
}

/* The number that follows `"key":` at or after `from` in a JSON text, or
 * NAN. Our JSON writer puts one space after the colon. */
static double tt_json_number(const char *from, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = from ? strstr(from, pattern) : NULL;
    if (!p)
        return NAN;
    p += strlen(pattern);
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* The entry of "results" with the given ef_search, or NULL. */
static const char *tt_json_result_for_ef(const char *json, unsigned ef) {
    const char *results = strstr(json, "\"results\":");
    if (!results)
        return NULL;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"ef_search\": %u,", ef);
    return strstr(results, pattern);
}

/* Writes a raw file. */
static void tt_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Writes a .npy v1.0 file by hand: header dict (padded so the data starts
 * at a multiple of 64), then `len` bytes of data. */
static void tt_write_npy(const char *path, const char *descr, const char *shape, const void *data,
                         size_t len) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    unsigned char *buf = malloc(10 + hlen + len);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    if (len)
        memcpy(buf + 10 + hlen, data, len);
    tt_write_bytes(path, buf, 10 + hlen + len);
    free(buf);
}

#endif
