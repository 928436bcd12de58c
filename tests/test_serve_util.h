/*
 * test_serve_util.h - helpers of the vw-serve end-to-end tests: build a small
 * index with the public API, start the real vw-serve binary on a free
 * loopback port (--port 0; the port is read from its startup log line), and
 * a minimal HTTP client that is independent of the server's own parser.
 * Header-only so each test stays one program.
 */
#ifndef VW_TEST_SERVE_UTIL_H
#define VW_TEST_SERVE_UTIL_H

#include "vwhnsw.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The command line of a serve test, `<test> <vw-serve> <scratch dir>`: sets
 * *binary and makes a fresh directory DIR/NAME.XXXXXX in dir. 0, or the
 * test's exit status (2: usage, 1: no directory). */
static int sv_scratch_args(int argc, char **argv, const char *name, const char **binary, char *dir,
                           size_t size) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <vw-serve> <scratch dir>\n", argv[0]);
        return 2;
    }
    *binary = argv[1];
    mkdir(argv[2], 0755);
    snprintf(dir, size, "%s/%s.XXXXXX", argv[2], name);
    return mkdtemp(dir) ? 0 : 1;
}

static void sv_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------ index */

static uint64_t sv_rand_state = 0x9E3779B97F4A7C15ull;

static double sv_rand_unit(void) {
    sv_rand_state ^= sv_rand_state << 13;
    sv_rand_state ^= sv_rand_state >> 7;
    sv_rand_state ^= sv_rand_state << 17;
    return (double)(sv_rand_state >> 11) / 9007199254740992.0;
}

/* Random vectors with components in [-1, 1). */
static float *sv_random_vectors(size_t n, uint32_t dim) {
    float *v = malloc(n * dim * sizeof(float));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n * dim; i++)
        v[i] = (float)(sv_rand_unit() * 2.0 - 1.0);
    return v;
}

/* Builds an index of n random vectors labelled 1000 + i (so labels differ
 * from internal ids), saves it to `path` and returns it loaded back from
 * the file, which is exactly what the server will search. */
static vw_index *sv_make_index(const char *path, uint32_t n, uint32_t dim, vw_metric metric) {
    vw_params p;
    vw_params_default(&p, dim);
    p.metric = metric;
    p.M = 8;
    p.ef_construction = 64;
    vw_index *built = NULL;
    float *data = sv_random_vectors(n, dim);
    uint64_t *labels = malloc(n * sizeof *labels);
    vw_status st = data && labels ? vw_index_create(&p, &built) : VW_ERR_NOMEM;
    for (uint32_t i = 0; i < n && labels; i++)
        labels[i] = 1000 + i;
    if (st == VW_OK)
        st = vw_index_add_batch(built, data, labels, n, 1, NULL, NULL);
    if (st == VW_OK)
        st = vw_index_save(built, path);
    vw_index_free(built);
    free(data);
    free(labels);
    vw_index *loaded = NULL;
    if (st == VW_OK)
        st = vw_index_load(path, VW_LOAD_DEFAULT, &loaded);
    if (st != VW_OK) {
        fprintf(stderr, "cannot make index %s: %s (%s)\n", path, vw_strerror(st),
                vw_last_error_detail());
        return NULL;
    }
    return loaded;
}

/* ------------------------------------------------------------------ server process */

typedef struct sv_server {
    pid_t pid;
    unsigned port;
    char log_path[512];
} sv_server;

/* Starts `binary -x index --port 0 [extra...]` with stderr to log_path and
 * waits for its startup line. extra is NULL-terminated (may be NULL). */
static int sv_start(sv_server *s, const char *binary, const char *index_path, const char *log_path,
                    const char *const *extra) {
    const char *argv[32];
    int argc = 0;
    argv[argc++] = binary;
    argv[argc++] = "-x";
    argv[argc++] = index_path;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--host";
    argv[argc++] = "127.0.0.1";
    for (int i = 0; extra && extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    snprintf(s->log_path, sizeof s->log_path, "%s", log_path);
    s->port = 0;
    unlink(log_path); /* never read a port from a previous run's log */
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* no orphan server if the test is killed */
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    /* Loading under sanitizers can be slow: allow a generous minute. */
    for (int waited = 0; waited < 60000; waited += 10) {
        FILE *f = fopen(log_path, "r");
        if (f != NULL) {
            char line[1024];
            /* Only a complete line: the server may be writing it right now. */
            while (fgets(line, sizeof line, f) != NULL) {
                const char *p = strstr(line, " port=");
                if (p != NULL && strchr(line, '\n') != NULL)
                    s->port = (unsigned)strtoul(p + 6, NULL, 10);
            }
            fclose(f);
        }
        if (s->port != 0)
            return 0;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "vw-serve exited before listening; see %s\n", log_path);
            s->pid = -1;
            return -1;
        }
        sv_sleep_ms(10);
    }
    fprintf(stderr, "vw-serve did not start; see %s\n", log_path);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    return -1;
}

/* Waits for the process to exit; its exit code, or -1 (signal or timeout). */
static int sv_wait_exit(pid_t pid, int timeout_ms) {
    int status = 0;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        sv_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* SIGTERM and wait; the exit code (0 = clean shutdown), or -1. */
static int sv_stop(sv_server *s) {
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int rc = sv_wait_exit(s->pid, 30000);
    s->pid = -1;
    return rc;
}

/* The nginx binary on PATH or in the sbin directories, or NULL. */
static const char *sv_find_nginx(void) {
    static char found[512];
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/local/sbin:/sbin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/nginx", d);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

static unsigned sv_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ------------------------------------------------------------------ client */

typedef struct sv_conn {
    int fd;
    char *buf;
    size_t len, cap;
} sv_conn;

typedef struct sv_response {
    int status;
    char head[8192];
    char *body; /* NUL-terminated, owned */
    size_t body_len;
} sv_response;

static int sv_connect(sv_conn *c, unsigned port) {
    c->buf = NULL;
    c->len = c->cap = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A generous receive timeout turns a hang into a failure, not a stuck test. */
    struct timeval tv = {30, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void sv_close(sv_conn *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

static int sv_send(sv_conn *c, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into the buffer; 0 at EOF, -1 on error/timeout. */
static ssize_t sv_fill(sv_conn *c) {
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *p = realloc(c->buf, cap);
        if (p == NULL)
            return -1;
        c->buf = p;
        c->cap = cap;
    }
    ssize_t n;
    do {
        n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

/* Value of a header in a response head (case-insensitive name), or NULL. */
static const char *sv_header(const sv_response *r, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line && line[2] != '\r';
         line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
    }
    return NULL;
}

static void sv_response_free(sv_response *r) {
    free(r->body);
    r->body = NULL;
}

/* Reads one response (a "100 Continue" interim response counts as one).
 * head_only: the request was HEAD, so no body follows the head. Returns 0, or
 * -1 if the connection ended or timed out first. */
static int sv_read_response_ex(sv_conn *c, sv_response *r, int head_only) {
    memset(r, 0, sizeof *r);
    char *end = NULL;
    for (;;) {
        if (c->len > 0) {
            c->buf[c->len] = '\0';
            end = strstr(c->buf, "\r\n\r\n");
            if (end != NULL)
                break;
        }
        if (sv_fill(c) <= 0)
            return -1;
    }
    size_t head_len = (size_t)(end - c->buf) + 4;
    if (head_len >= sizeof r->head)
        return -1;
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return -1;
    char value[64];
    size_t body_len = 0;
    if (r->status >= 200 && !head_only && sv_header(r, "Content-Length", value, sizeof value))
        body_len = strtoul(value, NULL, 10);
    while (c->len < head_len + body_len)
        if (sv_fill(c) <= 0)
            return -1;
    r->body = malloc(body_len + 1);
    if (r->body == NULL)
        return -1;
    memcpy(r->body, c->buf + head_len, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
    c->len -= head_len + body_len;
    return 0;
}

static int sv_read_response(sv_conn *c, sv_response *r) {
    return sv_read_response_ex(c, r, 0);
}

/* 1 if the server closes the connection with nothing more to read. */
static int sv_sees_eof(sv_conn *c) {
    return c->len == 0 && sv_fill(c) == 0;
}

/* A complete request with Host and, for a body, Content-Length. */
static char *sv_format_request(const char *method, const char *path, const char *body,
                               const char *extra_headers) {
    size_t body_len = body ? strlen(body) : 0;
    size_t cap = body_len + strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + 256;
    char *req = malloc(cap);
    if (req == NULL)
        return NULL;
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path,
                     extra_headers ? extra_headers : "");
    if (body != NULL)
        n += snprintf(req + n, cap - (size_t)n,
                      "Content-Type: application/json\r\n"
                      "Content-Length: %zu\r\n",
                      body_len);
    n += snprintf(req + n, cap - (size_t)n, "\r\n%s", body ? body : "");
    return req;
}

/* Sends one request on the connection and reads its response. */
static int sv_exchange(sv_conn *c, const char *method, const char *path, const char *body,
                       sv_response *r) {
    memset(r, 0, sizeof *r);
    char *req = sv_format_request(method, path, body, NULL);
    int rc = req && sv_send(c, req, strlen(req)) == 0 ? sv_read_response(c, r) : -1;
    free(req);
    return rc;
}

/* One request on a fresh connection. */
static int sv_roundtrip(unsigned port, const char *method, const char *path, const char *body,
                        sv_response *r) {
    sv_conn c;
    memset(r, 0, sizeof *r);
    if (sv_connect(&c, port) != 0)
        return -1;
    int rc = sv_exchange(&c, method, path, body, r);
    sv_close(&c);
    return rc;
}

/* {"query_vector":[...],"k":k} with round-trip float formatting. */
static char *sv_query_body(const float *q, uint32_t dim, int k) {
    size_t cap = (size_t)dim * 20 + 64;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    size_t n = (size_t)snprintf(s, cap, "{\"query_vector\":[");
    for (uint32_t i = 0; i < dim; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s%.9g", i ? "," : "", q[i]);
    snprintf(s + n, cap - n, "],\"k\":%d}", k);
    return s;
}

/* Reads {"indices":[...],"distances":[...]} starting at `json`; returns the
 * number of results, or -1 if the shape is wrong. *end is set after it. */
static int sv_parse_result(const char *json, uint64_t *labels, float *dists, int cap,
                           const char **end) {
    const char *p = strstr(json, "\"indices\":[");
    if (p == NULL)
        return -1;
    p += 11;
    int n = 0;
    while (*p != ']') {
        char *e;
        unsigned long long v = strtoull(p, &e, 10);
        if (e == p || n >= cap)
            return -1;
        labels[n++] = v;
        p = *e == ',' ? e + 1 : e;
    }
    const char *d = strstr(p, "\"distances\":[");
    if (d == NULL)
        return -1;
    d += 13;
    int m = 0;
    while (*d != ']') {
        char *e;
        float v = strtof(d, &e);
        if (e == d || m >= cap)
            return -1;
        dists[m++] = v;
        d = *e == ',' ? e + 1 : e;
    }
    if (end != NULL)
        *end = d + 1;
    return m == n ? n : -1;
}

/* Compares a /search result body with vw_index_search on the same index. */
static int sv_matches_local(const vw_index *index, const char *body, const float *q, uint32_t k,
                            uint32_t ef) {
    uint64_t want_l[64], got_l[64];
    float want_d[64], got_d[64];
    uint32_t found = 0;
    if (k > 64 || vw_index_search(index, q, k, ef, NULL, NULL, want_l, want_d, &found) != VW_OK)
        return 0;
    int n = sv_parse_result(body, got_l, got_d, 64, NULL);
    if (n != (int)found)
        return 0;
    for (int i = 0; i < n; i++)
        if (got_l[i] != want_l[i] || got_d[i] != want_d[i])
            return 0;
    return 1;
}

#endif /* VW_TEST_SERVE_UTIL_H */
