/*
 * test_cluster_util.h - a shard cluster on loopback for the router tests:
 * vw-serve shards on fixed free ports (so a killed shard comes back where
 * nginx expects it), each built from the rows vw_shard_of gives it, and
 * nginx with the router's njs module, configured by tools/cluster/
 * gen-nginx.sh exactly as a user would, from a private prefix directory
 * (pid, logs, temporary files) inside the test's scratch directory.
 */
#ifndef VW_TEST_CLUSTER_UTIL_H
#define VW_TEST_CLUSTER_UTIL_H

#include "test_serve_util.h"

#define CL_SKIP       77
#define CL_MAX_SHARDS 4
#define CL_NJS        "/usr/lib/nginx/modules/ngx_http_js_module.so"

typedef struct cl_shard {
    sv_server server;
    unsigned port;
    char index[512], data[512], log[512];
} cl_shard;

typedef struct cl_router {
    pid_t pid;
    unsigned port;
    char prefix[512];
} cl_router;

/* mkdir -p of the scratch directory (its parent may not exist yet). */
static void cl_mkdirs(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
}

/* 0 when nginx and its njs module are installed, else prints why not. */
static int cl_can_run(void) {
    if (sv_find_nginx() == NULL || access(CL_NJS, R_OK) != 0) {
        printf("SKIP: nginx or its njs module (Debian nginx, libnginx-mod-http-js) is missing\n");
        return -1;
    }
    return 0;
}

/* The attributes of a label (JSON text in buf), for cl_build_shards_with. */
typedef const char *(*cl_attrs_fn)(uint64_t label, char *buf, size_t cap);

/* Builds one index per shard from n rows of dim floats labelled
 * first_label + row, each row in the index of vw_shard_of(label, shards);
 * files dir/NAME-I.vwi; each element with attrs(label) when attrs is set. */
static int cl_build_shards_with(const char *dir, const char *name, const float *rows, uint32_t n,
                                uint32_t dim, uint64_t first_label, uint32_t shards,
                                cl_attrs_fn attrs, cl_shard *out) {
    for (uint32_t s = 0; s < shards; s++) {
        vw_params p;
        vw_params_default(&p, dim);
        p.M = 16;
        p.ef_construction = 100;
        vw_index *index = NULL;
        vw_status st = vw_index_create(&p, &index);
        for (uint32_t i = 0; i < n && st == VW_OK; i++)
            if (vw_shard_of(first_label + i, shards) == s) {
                char buf[256];
                const char *a = attrs ? attrs(first_label + i, buf, sizeof buf) : NULL;
                st = vw_index_add(index, rows + (size_t)i * dim, first_label + i);
                if (st == VW_OK && a != NULL)
                    st = vw_index_set_attributes(index, first_label + i, a, strlen(a));
            }
        snprintf(out[s].index, sizeof out[s].index, "%s/%s-%u.vwi", dir, name, s);
        if (st == VW_OK)
            st = vw_index_save(index, out[s].index);
        vw_index_free(index);
        if (st != VW_OK) {
            fprintf(stderr, "cannot build %s: %s (%s)\n", out[s].index, vw_strerror(st),
                    vw_last_error_detail());
            return -1;
        }
    }
    return 0;
}

static int cl_build_shards(const char *dir, const char *name, const float *rows, uint32_t n,
                           uint32_t dim, uint64_t first_label, uint32_t shards, cl_shard *out) {
    return cl_build_shards_with(dir, name, rows, n, dim, first_label, shards, NULL, out);
}

/* Starts shard s on its port (chosen on the first start, kept on the next
 * ones); writable with a data directory when `writable`. */
static int cl_start_shard(cl_shard *s, const char *binary, const char *dir, const char *name,
                          unsigned number, int writable) {
    char port[16];
    snprintf(s->data, sizeof s->data, "%s/%s-%u.data", dir, name, number);
    snprintf(s->log, sizeof s->log, "%s/%s-%u.log", dir, name, number);
    if (s->port == 0) { /* the first start: no data of an earlier run */
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->data);
        if (system(cmd) != 0)
            return -1;
        s->port = sv_free_port();
    }
    snprintf(port, sizeof port, "%u", s->port);
    if (writable)
        mkdir(s->data, 0755);
    const char *const rw[] = {"--port", port, "--threads", "2", "--data", s->data, NULL};
    const char *const ro[] = {"--port", port, "--threads", "2", NULL};
    return sv_start(&s->server, binary, s->index, s->log, writable ? rw : ro);
}

/* The start of a cluster test's main(argv: VW_SERVE_BINARY SCRATCH_DIR
 * CLUSTER_DIR): -1 to go on, else the exit code (2: usage, 77: skipped). */
static int cl_setup(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s VW_SERVE_BINARY SCRATCH_DIR CLUSTER_DIR\n", argv[0]);
        return 2;
    }
    if (cl_can_run() != 0)
        return CL_SKIP;
    signal(SIGPIPE, SIG_IGN);
    cl_mkdirs(argv[2]);
    return -1;
}

/* Starts shards 0..n-1 (cl_start_shard); 0 when all are up. */
static int cl_start_shards(cl_shard *shards, unsigned n, const char *binary, const char *dir,
                           const char *name, int writable) {
    for (unsigned s = 0; s < n; s++)
        if (cl_start_shard(&shards[s], binary, dir, name, s, writable) != 0)
            return -1;
    return 0;
}

/* Stops the shards still running; the exit code of the test. */
static int cl_finish(cl_shard *shards, unsigned n, const char *dir) {
    for (unsigned s = 0; s < n; s++)
        if (shards[s].server.pid > 0)
            CHECK(sv_stop(&shards[s].server) == 0);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed (logs in %s)\n", check_failures, dir);
        return 1;
    }
    return 0;
}

/* Writes the router's nginx.conf with gen-nginx.sh (extra: more options,
 * e.g. "--partial") and starts nginx; waits until GET / answers 200. */
static int cl_start_router(cl_router *r, const char *cluster_dir, const char *dir, const char *name,
                           const cl_shard *shards, unsigned n, const char *extra) {
    char cmd[4096];
    r->port = sv_free_port();
    snprintf(r->prefix, sizeof r->prefix, "%s/%s-nginx", dir, name);
    mkdir(r->prefix, 0755);
    int len = snprintf(cmd, sizeof cmd,
                       "sh '%s/gen-nginx.sh' --listen 127.0.0.1:%u --prefix '%s' --foreground "
                       "--workers 1 %s",
                       cluster_dir, r->port, r->prefix, extra);
    for (unsigned s = 0; s < n; s++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " 127.0.0.1:%u", shards[s].port);
    snprintf(cmd + len, sizeof cmd - (size_t)len, " > '%s/nginx.conf'", r->prefix);
    if (system(cmd) != 0) {
        fprintf(stderr, "gen-nginx.sh failed: %s\n", cmd);
        return -1;
    }
    r->pid = fork();
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        char out[600], p[600], conf[600];
        snprintf(out, sizeof out, "%s/nginx.out", r->prefix);
        snprintf(p, sizeof p, "%s/", r->prefix);
        snprintf(conf, sizeof conf, "%s/nginx.conf", r->prefix);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(sv_find_nginx(), "nginx", "-p", p, "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) {
        sv_response resp;
        int ok = sv_roundtrip(r->port, "GET", "/", NULL, &resp) == 0 && resp.status == 200;
        sv_response_free(&resp);
        if (ok)
            return 0;
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
            break;
        sv_sleep_ms(10);
    }
    fprintf(stderr, "the router did not come up: see %s/nginx.out and error.log\n", r->prefix);
    return -1;
}

static int cl_stop_router(cl_router *r) {
    if (r->pid <= 0)
        return 0;
    kill(r->pid, SIGQUIT); /* graceful */
    int rc = sv_wait_exit(r->pid, 20000);
    r->pid = -1;
    return rc;
}

/* The status of one request on a fresh connection (-1: no answer); the
 * answer in *resp when resp is not NULL (free it). */
static int cl_request(unsigned port, const char *method, const char *path, const char *body,
                      sv_response *resp) {
    sv_response local;
    sv_response *r = resp ? resp : &local;
    int rc = sv_roundtrip(port, method, path, body, r);
    int status = rc == 0 ? r->status : -1;
    if (resp == NULL)
        sv_response_free(&local);
    return status;
}

/* {"ids":[...],"vectors":[[...],...]} for n ids, vector of id from fill(). */
static char *cl_write_body(const uint64_t *ids, size_t n, uint32_t dim,
                           void (*fill)(uint64_t, uint32_t, float *)) {
    size_t cap = n * (dim * 18 + 32) + 64, len = 0;
    char *s = malloc(cap);
    float v[256];
    if (s == NULL || dim > 256)
        return NULL;
    len += (size_t)snprintf(s, cap, "{\"ids\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%llu", i ? "," : "",
                                (unsigned long long)ids[i]);
    len += (size_t)snprintf(s + len, cap - len, "],\"vectors\":[");
    for (size_t i = 0; i < n; i++) {
        fill(ids[i], dim, v);
        for (uint32_t d = 0; d < dim; d++)
            len += (size_t)snprintf(s + len, cap - len, "%s%.9g", d ? "," : (i ? ",[" : "["), v[d]);
        len += (size_t)snprintf(s + len, cap - len, "]");
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* One {"id": N, "vector": [...]} line per id (vector from fill()). */
static char *cl_ndjson_body(const uint64_t *ids, size_t n, uint32_t dim,
                            void (*fill)(uint64_t, uint32_t, float *)) {
    size_t cap = n * (dim * 18 + 48) + 1, len = 0;
    char *s = malloc(cap);
    float v[256];
    if (s == NULL || dim > 256)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        fill(ids[i], dim, v);
        len += (size_t)snprintf(s + len, cap - len, "{\"id\":%llu,\"vector\":[",
                                (unsigned long long)ids[i]);
        for (uint32_t d = 0; d < dim; d++)
            len += (size_t)snprintf(s + len, cap - len, "%s%.9g", d ? "," : "", v[d]);
        len += (size_t)snprintf(s + len, cap - len, "]}\n");
    }
    return s;
}

/* POST /vectors with `body` as Content-Type `type` on a fresh connection;
 * the status (-1: no answer), the answer in *resp (free it). */
static int cl_post_typed(unsigned port, const char *type, const char *body, size_t len,
                         sv_response *resp) {
    char head[256];
    sv_conn c;
    memset(resp, 0, sizeof *resp);
    if (sv_connect(&c, port) != 0)
        return -1;
    snprintf(head, sizeof head,
             "POST /vectors HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %zu"
             "\r\n\r\n",
             type, len);
    int ok = sv_send(&c, head, strlen(head)) == 0 && sv_send(&c, body, len) == 0 &&
             sv_read_response(&c, resp) == 0;
    sv_close(&c);
    return ok ? resp->status : -1;
}

/* Whether GET /vectors/{id} on `port` answers 200 with exactly the vector
 * fill() gives (1), 404 (0), or something else (-1). */
static int cl_has_vector(unsigned port, uint64_t id, uint32_t dim,
                         void (*fill)(uint64_t, uint32_t, float *)) {
    char path[64], want[32];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id);
    sv_response r;
    int status = cl_request(port, "GET", path, NULL, &r), result = -1;
    snprintf(want, sizeof want, "{\"id\":%llu,", (unsigned long long)id);
    if (status == 404) {
        result = 0;
    } else if (status == 200 && r.body && strncmp(r.body, want, strlen(want)) == 0) {
        float v[256], got;
        const char *p = strstr(r.body, "\"vector\":[");
        fill(id, dim, v);
        result = p != NULL;
        p = p ? p + 10 : NULL;
        for (uint32_t d = 0; p && d < dim; d++) {
            char *end;
            got = strtof(p, &end);
            if (end == p || got != v[d])
                result = -1;
            p = end + 1;
        }
    }
    sv_response_free(&r);
    return result;
}

#endif /* VW_TEST_CLUSTER_UTIL_H */
