/*
 * test_hostile.h - shared by the hostile-input test programs
 * (test_hostile_http.c, test_hostile_files.c, test_hostile_serve.c): what a
 * careless or hostile user does to the tools and to vw-serve, each case
 * checked for the documented answer and for never crashing, hanging or
 * leaving a broken file behind.
 *
 * Every child process runs with a deadline (a hang is a failure, not a
 * stuck ctest), optional resource limits (descriptors, file size) and its
 * output captured in files. Header-only, like the other test helpers.
 *
 * Each program takes: CASE VW-SERVE VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH
 */
#ifndef VW_TEST_HOSTILE_H
#define VW_TEST_HOSTILE_H

#include "test_argv.h"
#include "test_serve_util.h"

#include <dirent.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/resource.h>

/* The binaries and the scratch directory, from the command line. */
static struct {
    const char *serve, *gen, *build, *query, *bench;
    char dir[512];
} hx;

/* A path in the scratch directory; one of 16 rotating buffers. */
static const char *hx_file(const char *name) {
    static char bufs[16][768];
    static int next;
    char *b = bufs[next++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", hx.dir, name);
    return b;
}

/* Declares `char var[]` holding a scratch path that outlives the rotation. */
#define HX_PATH(var, name)                                                                         \
    char var[768];                                                                                 \
    snprintf(var, sizeof var, "%s/%s", hx.dir, name)

/* ------------------------------------------------------------------ processes */

typedef struct hx_limits {
    rlim_t nofile; /* RLIMIT_NOFILE (soft and hard), 0 = unchanged */
    rlim_t fsize;  /* RLIMIT_FSIZE, 0 = unchanged; SIGXFSZ is ignored */
} hx_limits;

typedef struct hx_result {
    int exited, status, signaled, hung;
    char *out, *err; /* NUL-terminated, owned */
} hx_result;

static char *hx_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static void hx_write(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static void hx_apply_limits(const hx_limits *l) {
    if (l == NULL)
        return;
    if (l->nofile) {
        struct rlimit rl = {l->nofile, l->nofile};
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (l->fsize) {
        struct rlimit rl = {l->fsize, l->fsize};
        signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
        setrlimit(RLIMIT_FSIZE, &rl);
    }
}

typedef struct hx_sink {
    int fd;
    char *buf;
    size_t len, cap;
} hx_sink;

/* Reads what the pipe has now; 0 at its end. */
static int hx_sink_read(hx_sink *k) {
    if (k->fd < 0)
        return 0;
    if (k->cap - k->len < 4096) {
        k->cap = k->cap ? k->cap * 2 : 65536;
        k->buf = realloc(k->buf, k->cap + 1);
        if (k->buf == NULL)
            exit(2);
    }
    ssize_t n = read(k->fd, k->buf + k->len, k->cap - k->len);
    if (n > 0) {
        k->len += (size_t)n;
        return 1;
    }
    if (n < 0 && errno == EINTR)
        return 1;
    close(k->fd);
    k->fd = -1;
    return 0;
}

static char *hx_sink_text(hx_sink *k) {
    while (hx_sink_read(k)) {
    }
    if (k->buf == NULL)
        k->buf = malloc(1);
    k->buf[k->len] = '\0';
    return k->buf;
}

/* Runs argv with stdin from /dev/null and stdout/stderr captured through
 * pipes (a file size limit must not cut them), under `limits` (may be
 * NULL); kills it after timeout_ms. */
static hx_result hx_runv(char *const argv[], const hx_limits *limits, int timeout_ms) {
    hx_result r;
    memset(&r, 0, sizeof r);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0)
            _exit(126);
        dup2(in, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        hx_apply_limits(limits);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    hx_sink sinks[2] = {{out[0], NULL, 0, 0}, {err[0], NULL, 0, 0}};
    int ws = 0;
    for (int waited = 0;; waited += 5) {
        struct pollfd pfd[2] = {{sinks[0].fd, POLLIN, 0}, {sinks[1].fd, POLLIN, 0}};
        if (poll(pfd, 2, 5) > 0) {
            for (int i = 0; i < 2; i++)
                if (pfd[i].revents)
                    hx_sink_read(&sinks[i]);
        }
        if (waitpid(pid, &ws, WNOHANG) == pid)
            break;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            r.hung = 1;
            break;
        }
    }
    r.exited = !r.hung && WIFEXITED(ws);
    r.status = r.exited ? WEXITSTATUS(ws) : -1;
    r.signaled = !r.hung && WIFSIGNALED(ws);
    r.out = hx_sink_text(&sinks[0]);
    r.err = hx_sink_text(&sinks[1]);
    return r;
}

/* hx_run(limits, timeout_ms, prog, args..., NULL) */
static hx_result hx_run(const hx_limits *limits, int timeout_ms, const char *prog, ...) {
    char *argv[64];
    va_list ap;
    va_start(ap, prog);
    tu_argv(argv, 64, prog, ap);
    va_end(ap);
    return hx_runv(argv, limits, timeout_ms);
}

static void hx_result_free(hx_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static void hx_report(const char *what, const hx_result *r) {
    fprintf(stderr,
            "  %s: exited %d status %d signaled %d hung %d\n  stdout: %.300s\n"
            "  stderr: %.600s\n",
            what, r->exited, r->status, r->signaled, r->hung, r->out, r->err);
}

static int hx_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The run failed cleanly: non-zero exit (want_status, if not 0), no signal,
 * no hang, one line on stderr containing `needle` (if not NULL). */
static void hx_expect_fail(const char *what, const hx_result *r, int want_status,
                           const char *needle) {
    int ok = r->exited && r->status != 0 && (want_status == 0 || r->status == want_status) &&
             hx_lines(r->err) == 1 && (needle == NULL || strstr(r->err, needle) != NULL);
    if (!ok) {
        fprintf(stderr, "FAIL: %s should fail (status %d) with one line%s%s\n", what, want_status,
                needle ? " containing " : "", needle ? needle : "");
        hx_report(what, r);
        check_failures++;
    }
}

static void hx_expect_ok(const char *what, const hx_result *r) {
    if (!r->exited || r->status != 0) {
        fprintf(stderr, "FAIL: %s should succeed\n", what);
        hx_report(what, r);
        check_failures++;
    }
}

/* ------------------------------------------------------------------ files */

static void hx_copy(const char *from, const char *to) {
    size_t len;
    char *data = hx_slurp(from, &len);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", from);
        exit(2);
    }
    hx_write(to, data, len);
    free(data);
}

static int hx_same_bytes(const char *a, const char *b) {
    size_t la, lb;
    char *x = hx_slurp(a, &la), *y = hx_slurp(b, &lb);
    int same = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Temporary files of an atomic write ("<name>.tmp.<pid>.<n>") left behind. */
static int hx_count_temp_files(void) {
    DIR *d = opendir(hx.dir);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d != NULL)
        closedir(d);
    return n;
}

/* An index of n random dim-d vectors (labels 1000 + i), saved at path and
 * loaded back; `seed` picks the data. */
static vw_index *hx_make_index(const char *path, uint32_t n, uint32_t dim, uint64_t seed) {
    sv_rand_state = 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
    return sv_make_index(path, n, dim, VW_METRIC_L2);
}

static uint32_t hx_crc32c(uint32_t crc, const unsigned char *p, size_t n) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t hx_rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t hx_rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Offset of section s (0 vectors, 1 levels, 2 links0, 3 upper, 4 labels)
 * in an index file image (lib/FORMAT.md: the table at byte 80). */
static uint64_t hx_section_offset(const unsigned char *f, int s) {
    return hx_rd64(f + 80 + 32 * s + 8);
}

/* Recomputes every section CRC and the header CRC of a file image, so that
 * only the structural and value checks can object to a patched file. */
static void hx_fix_crcs(unsigned char *f) {
    uint32_t n = hx_rd32(f + 72);
    for (uint32_t s = 0; s < n; s++) {
        unsigned char *e = f + 80 + 32 * s;
        uint32_t crc = hx_crc32c(0, f + hx_rd64(e + 8), hx_rd64(e + 16));
        memcpy(e + 24, &crc, 4);
    }
    uint32_t size = hx_rd32(f + 16);
    static const unsigned char zero[4];
    uint32_t c = hx_crc32c(0, f, 20);
    c = hx_crc32c(c, zero, 4);
    c = hx_crc32c(c, f + 24, size - 24);
    memcpy(f + 20, &c, 4);
}

/* Writes a copy of index file `from` to `to` with one vector component
 * replaced by `value`, checksums fixed. */
static void hx_write_poisoned(const char *from, const char *to, uint32_t row, float value) {
    size_t len;
    unsigned char *f = (unsigned char *)hx_slurp(from, &len);
    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", from);
        exit(2);
    }
    uint32_t dim = hx_rd32(f + 32);
    memcpy(f + hx_section_offset(f, 0) + ((size_t)row * dim + 1) * sizeof(float), &value,
           sizeof value);
    hx_fix_crcs(f);
    hx_write(to, f, len);
    free(f);
}

/* ------------------------------------------------------------------ server */

/* Forks vw-serve -x index --port 0 --host 127.0.0.1 [extra...] with stderr
 * on err_fd, under `limits` (may be NULL); its pid. */
static pid_t hx_spawn_serve(const char *index, const char *const *extra, const hx_limits *limits,
                            int err_fd) {
    const char *argv[40] = {hx.serve, "-x", index, "--port", "0", "--host", "127.0.0.1"};
    int argc = 7;
    for (int i = 0; extra && extra[i] && argc < 39; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan server if the test dies */
        dup2(err_fd, STDERR_FILENO);
        hx_apply_limits(limits);
        execv(hx.serve, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The port of the startup line in `text`, or 0. */
static unsigned hx_port_in(const char *text) {
    const char *p = strstr(text, " port=");
    return p != NULL && strchr(p, '\n') != NULL ? (unsigned)strtoul(p + 6, NULL, 10) : 0;
}

/* Starts vw-serve on `index` with stderr to the file `log`; 0 once it
 * listens (s->port set). */
static int hx_serve(sv_server *s, const char *index, const char *log, const char *const *extra,
                    const hx_limits *limits) {
    snprintf(s->log_path, sizeof s->log_path, "%s", log);
    s->port = 0;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    s->pid = hx_spawn_serve(index, extra, limits, fd);
    close(fd);
    for (int waited = 0; waited < 60000 && s->pid > 0; waited += 10) {
        char *text = hx_slurp(log, NULL);
        s->port = text != NULL ? hx_port_in(text) : 0;
        free(text);
        if (s->port != 0)
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "vw-serve exited before listening; see %s\n", log);
            s->pid = -1;
            return -1;
        }
        sv_sleep_ms(10);
    }
    fprintf(stderr, "vw-serve did not start; see %s\n", log);
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = -1;
    return -1;
}

/* The integer after "key": in a /stats answer, or -1. */
static long long hx_stat(unsigned port, const char *key) {
    sv_response r;
    long long v = -1;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    if (sv_roundtrip(port, "GET", "/stats", NULL, &r) == 0 && r.status == 200 && r.body) {
        const char *p = strstr(r.body, pattern);
        if (p != NULL)
            v = strtoll(p + strlen(pattern), NULL, 10);
    }
    sv_response_free(&r);
    return v;
}

/* {"query_vectors":[nq random rows],"k":k,"ef_search":ef} */
static char *hx_batch_body(size_t nq, uint32_t dim, uint32_t k, uint32_t ef) {
    size_t cap = nq * dim * 12 + 128;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t n = (size_t)snprintf(b, cap, "{\"k\":%u,\"ef_search\":%u,\"query_vectors\":[", k, ef);
    for (size_t i = 0; i < nq; i++) {
        n += (size_t)snprintf(b + n, cap - n, "%s[", i ? "," : "");
        for (uint32_t d = 0; d < dim; d++)
            n += (size_t)snprintf(b + n, cap - n, "%s%.4f", d ? "," : "",
                                  sv_rand_unit() * 2.0 - 1.0);
        n += (size_t)snprintf(b + n, cap - n, "]");
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

/* ------------------------------------------------------------------ main */

typedef struct hx_case {
    const char *name;
    void (*run)(void);
} hx_case;

/* Empties the case's scratch directory (files, FIFOs, links and the empty
 * directories the cases make), so that nothing of an earlier run counts. */
static void hx_clear_dir(void) {
    DIR *d = opendir(hx.dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove(hx_file(e->d_name));
    if (d != NULL)
        closedir(d);
}

/* Parses the command line, makes the scratch directory, runs the case. */
static int hx_main(int argc, char **argv, const hx_case *cases, size_t ncases) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s CASE VW-SERVE VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH\n",
                argv[0]);
        return 2;
    }
    hx.serve = argv[2];
    hx.gen = argv[3];
    hx.build = argv[4];
    hx.query = argv[5];
    hx.bench = argv[6];
    snprintf(hx.dir, sizeof hx.dir, "%s/%s", argv[7], argv[1]);
    mkdir(argv[7], 0755);
    mkdir(hx.dir, 0755);
    hx_clear_dir();
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < ncases; i++) {
        if (strcmp(argv[1], cases[i].name) != 0)
            continue;
        cases[i].run();
        if (check_failures) {
            fprintf(stderr, "%s: %d check(s) failed (scratch: %s)\n", argv[1], check_failures,
                    hx.dir);
            return 1;
        }
        printf("%s: all checks passed\n", argv[1]);
        return 0;
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}

#endif /* VW_TEST_HOSTILE_H */
