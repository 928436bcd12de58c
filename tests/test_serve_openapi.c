/*
 * test_serve_openapi.c - GET /openapi.json against the server's real
 * answers, in both directions:
 *
 *   - every status the document lists (for an operation, or among the
 *     x-protocol-responses any request can get) is produced by some request
 *     below, sent to that operation;
 *   - every answer those requests get is documented: its status is listed
 *     for the operation it was sent to (or is a protocol response, or the
 *     path is not in the document and the status is a protocol response),
 *     and its body has the members the document's schema requires (error
 *     bodies: "error" and "detail", detail a list of {type, loc, msg} for a
 *     422).
 *
 * The status table of README.md and of the man page must hold the same
 * statuses as the document.
 *
 * A server with --api-keys answers 401 and 403. The write API is tried on
 * the read-only server (403), on a server with
 * --data (200, 404, 409, 422, and 500: a file size limit, prlimit
 * RLIMIT_FSIZE, on the running server makes the log and snapshot writes
 * fail) and on a server whose mapped file changed in place (503).
 *
 * The 500 needs the server out of memory: the test lowers the running
 * server's data limit (prlimit) and asks for a large answer. Under
 * a sanitizer, whose allocator cannot take that, the 500 is left out (and
 * said so). The 403 needs a client address that is not loopback: the first
 * non-loopback IPv4 address of the machine; without one it is left out.
 *
 * Usage: test_serve_openapi VW_SERVE SCRATCH README MANPAGE
 */
#include "test_json_dom.h"
#include "test_serve_util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/resource.h>

#define DIM   16
#define COUNT 1500

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

typedef struct observed {
    char path[64];
    char method[8];
    int status;
} observed;

static observed g_seen[512];
static int g_nseen;
static jd_value *g_doc;

/* ------------------------------------------------------------------ the document */

/* The document's path for a request's: /vectors/7 is /vectors/{id}. */
static const char *template_of(const char *path) {
    return strncmp(path, "/vectors/", 9) == 0 ? "/vectors/{id}" : path;
}

static const jd_value *operation_of(const char *path, const char *method) {
    const jd_value *item = jd_get(jd_get(g_doc, "paths"), template_of(path));
    char m[8];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)tolower((unsigned char)method[i]);
    m[i] = '\0';
    if (strcmp(m, "head") == 0)
        snprintf(m, sizeof m, "get"); /* HEAD answers like GET, without the body */
    return jd_get(item, m);
}

static int is_protocol_status(int status) {
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    return jd_get(jd_get(g_doc, "x-protocol-responses"), code) != NULL;
}

/* The response object the document gives for this status, or NULL. */
static const jd_value *documented(const char *path, const char *method, int status) {
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const jd_value *op = operation_of(path, method);
    const jd_value *r = jd_get(jd_get(op, "responses"), code);
    if (r == NULL)
        r = jd_get(jd_get(g_doc, "x-protocol-responses"), code);
    return r ? jd_deref(g_doc, r) : NULL;
}

/* Checks body against the schema of a documented response: its required
 * members are there (one level, and the 422 detail items). */
static void check_body(const jd_value *response, const char *body, const char *what,
                       const char *path) {
    const jd_value *content = jd_get(response, "content");
    const jd_value *json = jd_get(content, "application/json");
    if (json == NULL)
        return; /* text (GET /metrics) */
    const jd_value *schema = jd_deref(g_doc, jd_get(json, "schema"));
    jd_value *v = jd_parse(body);
    if (v == NULL) {
        fprintf(stderr, "%s: the body is not JSON: %.200s\n", what, body);
        check_failures++;
        return;
    }
    const jd_value *req = jd_get(schema, "required");
    for (size_t i = 0; req && i < req->count; i++) {
        if (jd_get(v, req->items[i]->string) == NULL) {
            fprintf(stderr, "%s: the body lacks \"%s\": %.200s\n", what, req->items[i]->string,
                    body);
            check_failures++;
        }
    }
    const jd_value *detail = jd_get(v, "detail");
    if (detail && detail->kind == JD_ARRAY) {
        CHECK(detail->count == 1);
        for (size_t i = 0; i < detail->count; i++) {
            const jd_value *loc = jd_get(detail->items[i], "loc");
            CHECK(jd_get(detail->items[i], "type") && jd_get(detail->items[i], "msg"));
            /* a bad {id} is FastAPI's path parameter error */
            const char *root = strcmp(template_of(path), "/vectors/{id}") == 0 ? "path" : "body";
            CHECK(loc && loc->kind == JD_ARRAY && loc->count >= 1 &&
                  strcmp(loc->items[0]->string, root) == 0);
        }
    }
    jd_free(v);
}

static void observe(const char *method, const char *path, const sv_response *r) {
    if (g_nseen < (int)(sizeof g_seen / sizeof g_seen[0])) {
        observed *o = &g_seen[g_nseen++];
        snprintf(o->path, sizeof o->path, "%s", template_of(path));
        snprintf(o->method, sizeof o->method, "%s", method);
        o->status = r->status;
    }
    char what[128];
    snprintf(what, sizeof what, "%s %s -> %d", method, path, r->status);
    const jd_value *doc = documented(path, method, r->status);
    if (doc == NULL) {
        fprintf(stderr, "%s: not in the document\n", what);
        check_failures++;
        return;
    }
    if (strcmp(method, "HEAD") != 0 && r->body)
        check_body(doc, r->body, what, path);
}

/* ------------------------------------------------------------------ requests */

static void request(unsigned port, const char *method, const char *path, const char *body,
                    int expect) {
    sv_response r;
    CHECK(sv_roundtrip(port, method, path, body, &r) == 0);
    if (expect && r.status != expect) {
        fprintf(stderr, "%s %s: expected %d, got %d %.300s\n", method, path, expect, r.status,
                r.body ? r.body : "");
        check_failures++;
    }
    observe(method, path, &r);
    sv_response_free(&r);
}

/* The server's open connections (its /stats "connections", this request's
 * own included), or -1 if it did not answer 200. */
static long connections_open(unsigned port) {
    sv_response r;
    long n = -1;
    if (sv_roundtrip(port, "GET", "/stats", NULL, &r) == 0 && r.status == 200 && r.body) {
        const char *p = strstr(r.body, "\"connections\":");
        if (p != NULL)
            n = strtol(p + strlen("\"connections\":"), NULL, 10);
    }
    sv_response_free(&r);
    return n;
}

/* Raw bytes on a fresh connection; the answer is attributed to method and
 * path (the request the bytes were meant to be). */
static void raw(unsigned port, const char *method, const char *path, const char *bytes,
                int expect) {
    sv_conn c;
    sv_response r;
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, bytes, strlen(bytes)) == 0);
    CHECK(sv_read_response(&c, &r) == 0);
    if (r.status != expect) {
        fprintf(stderr, "raw %s %s: expected %d, got %d\n", method, path, expect, r.status);
        check_failures++;
    }
    observe(method, path, &r);
    sv_response_free(&r);
    sv_close(&c);
}

static char *batch_body(size_t nq, int k) {
    size_t cap = nq * DIM * 12 + 64;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"k\":%d,\"query_vectors\":[", k);
    for (size_t i = 0; i < nq; i++) {
        n += (size_t)snprintf(b + n, cap - n, "%s[", i ? "," : "");
        for (int d = 0; d < DIM; d++)
            n += (size_t)snprintf(b + n, cap - n, "%s%.3f", d ? "," : "",
                                  (double)((i * 7 + (size_t)d) % 13) / 13.0);
        n += (size_t)snprintf(b + n, cap - n, "]");
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

static void routes_ok(unsigned port, const char *index_path) {
    char *q =
        sv_query_body((const float[DIM]){1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, DIM, 5);
    request(port, "GET", "/", NULL, 200);
    request(port, "GET", "/stats", NULL, 200);
    request(port, "GET", "/metrics", NULL, 200);
    request(port, "GET", "/openapi.json", NULL, 200);
    request(port, "POST", "/search", q, 200);
    char *b = batch_body(3, 4);
    request(port, "POST", "/search/batch", b, 200);
    free(b);
    char body[1024];
    snprintf(body, sizeof body, "{\"path\":\"%s\"}", index_path);
    request(port, "POST", "/admin/reload", body, 200);
    request(port, "POST", "/admin/reload", "", 200);
    free(q);
}

static void validation_errors(unsigned port) {
    request(port, "POST", "/search", "{\"query_vector\":[1,2]}", 422);
    request(port, "POST", "/search", "not json", 422);
    request(port, "POST", "/search", "{}", 422);
    request(port, "POST", "/search/batch", "{\"query_vectors\":[[1]]}", 422);
    request(port, "POST", "/search/batch", "{\"query_vectors\":\"x\"}", 422);
    request(port, "POST", "/admin/reload", "{\"path\":7}", 422);
    request(port, "POST", "/admin/reload", "{\"path\":\"/nonexistent/x.vwi\"}", 422);
    request(port, "GET", "/vectors/x", NULL, 422);
}

/* The write API on a read-only server. */
static void read_only_writes(unsigned port) {
    request(port, "GET", "/vectors/1005", NULL, 200);
    request(port, "GET", "/vectors/99999999", NULL, 404);
    request(port, "POST", "/vectors", "{\"ids\":[1],\"vectors\":[[1]]}", 403);
    request(port, "DELETE", "/vectors/5", NULL, 403);
    request(port, "POST", "/snapshot", "", 403);
}

/* A vector of DIM components as a JSON array. */
static void vector_json(char *out, size_t cap, float x) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < DIM; d++)
        n += (size_t)snprintf(out + n, cap - n, "%s%g", d ? "," : "", (double)x);
    snprintf(out + n, cap - n, "]");
}

/* 500 from the write routes: the log and the snapshot cannot grow past a
 * file size limit set on the running server. */
static void writes_fail(unsigned port, pid_t pid, const char *upsert) {
    struct rlimit rl = {64, RLIM_INFINITY}; /* the empty log's header */
    CHECK(prlimit(pid, RLIMIT_FSIZE, &rl, NULL) == 0);
    request(port, "POST", "/vectors", upsert, 500);
    request(port, "DELETE", "/vectors/1005", NULL, 500);
    request(port, "POST", "/snapshot", "", 500);
    rl.rlim_cur = RLIM_INFINITY;
    CHECK(prlimit(pid, RLIMIT_FSIZE, &rl, NULL) == 0);
    request(port, "DELETE", "/vectors/1005", NULL, 200); /* nothing was left half-done */
}

/* The write API on a server with --data. */
static void data_writes(const char *binary, const char *dir, const char *index_path) {
    char data[512], log[512], cmd[600];
    snprintf(data, sizeof data, "%s/openapi_data", dir);
    snprintf(log, sizeof log, "%s/openapi_data.log", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
    CHECK(system(cmd) == 0);
    sv_server s;
    const char *const args[] = {"--data", data, "--admin", NULL};
    CHECK(sv_start(&s, binary, index_path, log, args) == 0);
    char vec[DIM * 8 + 8], upsert[DIM * 8 + 64];
    vector_json(vec, sizeof vec, 0.5f);
    snprintf(upsert, sizeof upsert, "{\"ids\":[900000],\"vectors\":[%s]}", vec);
    request(s.port, "POST", "/vectors", upsert, 200);
    request(s.port, "GET", "/vectors/900000", NULL, 200);
    request(s.port, "DELETE", "/vectors/900000", NULL, 200);
    request(s.port, "DELETE", "/vectors/900000", NULL, 404);
    request(s.port, "POST", "/snapshot", "", 200);
    request(s.port, "POST", "/vectors", "{\"ids\":[1]", 422);
    request(s.port, "POST", "/vectors", "{\"ids\":[1],\"vectors\":[[1,2]]}", 422);
    request(s.port, "DELETE", "/vectors/-3", NULL, 422);
    request(s.port, "POST", "/admin/reload", "", 409);
    writes_fail(s.port, s.pid, upsert);
    CHECK(sv_stop(&s) == 0);
}

/* A server with --api-keys: 401 without a key, 403 for a key without the
 * scope. */
static void with_keys(const char *binary, const char *dir, const char *index_path) {
    char keys[512], log[512];
    snprintf(keys, sizeof keys, "%s/openapi_keys", dir);
    snprintf(log, sizeof log, "%s/openapi_keys.log", dir);
    FILE *f = fopen(keys, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("read reader-key-0123456789\n", f);
    fclose(f);
    CHECK(chmod(keys, 0600) == 0);
    sv_server s;
    const char *const args[] = {"--api-keys", keys, NULL};
    CHECK(sv_start(&s, binary, index_path, log, args) == 0);
    raw(s.port, "GET", "/stats", "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n", 401);
    raw(s.port, "POST", "/vectors",
        "POST /vectors HTTP/1.1\r\nHost: x\r\nX-API-Key: reader-key-0123456789\r\n"
        "Content-Length: 2\r\n\r\n{}",
        403);
    CHECK(sv_stop(&s) == 0);
}

static void protocol_errors(unsigned port) {
    raw(port, "GET", "/stats", "GET /stats HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n", 400);
    request(port, "GET", "/nowhere", NULL, 404);
    request(port, "GET", "/search", NULL, 405);
    raw(port, "POST", "/search",
        "POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    raw(port, "POST", "/search",
        "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413);
    raw(port, "POST", "/search",
        "POST /search HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 2\r\n\r\n{}", 417);
    raw(port, "GET", "/", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    char *big = malloc(10000);
    int n = snprintf(big, 10000, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 9000);
    snprintf(big + n + 9000, 100, "\r\n\r\n");
    raw(port, "GET", "/", big, 431);
    free(big);
    /* 408: half a request, then nothing (the server runs --timeout-ms 1500). */
    raw(port, "POST", "/search", "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
        408);
}

/* --max-connections 4: four idle connections held open, the fifth gets 503. */
static void too_many_connections(unsigned port) {
    sv_conn held[4];
    for (int i = 0; i < 4; i++) { /* an answer on each: the server has taken them all */
        sv_response r;
        CHECK(sv_connect(&held[i], port) == 0);
        CHECK(sv_exchange(&held[i], "GET", "/", NULL, &r) == 0 && r.status == 200);
        sv_response_free(&r);
    }
    request(port, "GET", "/", NULL, 503);
    for (int i = 0; i < 4; i++)
        sv_close(&held[i]);
    /* The next case needs a free connection: wait until the server has
     * seen the four close (its own /stats connection is the one left). */
    long open = -1;
    for (int i = 0; i < 600 && open != 1; i++) {
        if (i > 0)
            sv_sleep_ms(10);
        open = connections_open(port);
    }
    CHECK(open == 1);
}

/* 403: /admin/reload from the machine's own non-loopback address. */
static int from_outside(unsigned port) {
    struct ifaddrs *ifs = NULL, *i;
    struct in_addr addr = {0};
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (i = ifs; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK)) {
            addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            break;
        }
    freeifaddrs(ifs);
    if (i == NULL)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = addr};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    sv_conn c = {.fd = fd};
    sv_response r;
    char *req = sv_format_request("POST", "/admin/reload", "", NULL);
    CHECK(sv_send(&c, req, strlen(req)) == 0 && sv_read_response(&c, &r) == 0);
    CHECK(r.status == 403);
    observe("POST", "/admin/reload", &r);
    sv_response_free(&r);
    free(req);
    sv_close(&c);
    return 1;
}

static unsigned long data_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %lu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    CHECK(kb > 0);
    return kb;
}

/* Sends a request with the server's data limit at its present size plus
 * `spare_kb`. RLIMIT_DATA counts the heap a thread's malloc arena commits
 * as it grows, which RLIMIT_AS does not (the arena was reserved at once). */
static void starved(unsigned port, pid_t pid, unsigned long spare_kb, const char *path,
                    const char *body) {
    struct rlimit rl = {(rlim_t)(data_kb(pid) + spare_kb) * 1024, RLIM_INFINITY};
    CHECK(prlimit(pid, RLIMIT_DATA, &rl, NULL) == 0);
    request(port, "POST", path, body, 500);
    rl.rlim_cur = RLIM_INFINITY;
    CHECK(prlimit(pid, RLIMIT_DATA, &rl, NULL) == 0);
}

/* 500: the server cannot allocate its answer. */
static int out_of_memory(unsigned port, pid_t pid) {
    if (UNDER_SANITIZER)
        return 0;
    /* One query at ef_search 65536: the search's own candidate lists,
     * about a megabyte, do not fit (the library says VW_ERR_NOMEM). */
    char *q = sv_query_body((const float[DIM]){1, 2, 3}, DIM, 10);
    char body[1024];
    snprintf(body, sizeof body, "%.*s,\"ef_search\":65536}", (int)(strlen(q) - 1), q);
    starved(port, pid, 0, "/search", body);
    free(q);
    /* 250 queries x k 4096: a small request and about 6 MB of answer. */
    char *b = batch_body(250, 4096);
    starved(port, pid, 1024, "/search/batch", b);
    free(b);
    return 1;
}

/* 503 from the routes: a mapped index file truncated in place. */
static void index_changed(const char *binary, const char *dir, const char *index_path) {
    char copy[512], log[512];
    snprintf(copy, sizeof copy, "%s/openapi_mapped.vwi", dir);
    snprintf(log, sizeof log, "%s/openapi_mapped.log", dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", index_path, copy);
    CHECK(system(cmd) == 0);
    sv_server s;
    const char *const args[] = {"--mmap", NULL};
    CHECK(sv_start(&s, binary, copy, log, args) == 0);
    CHECK(truncate(copy, 0) == 0);
    sv_response r;
    for (int i = 0; i < 500; i++) { /* inotify: wait until the server noticed */
        CHECK(sv_roundtrip(s.port, "GET", "/", NULL, &r) == 0);
        int status = r.status;
        sv_response_free(&r);
        if (status == 503)
            break;
        sv_sleep_ms(10);
    }
    request(s.port, "GET", "/", NULL, 503);
    char *q = sv_query_body((const float[DIM]){1}, DIM, 3);
    request(s.port, "POST", "/search", q, 503);
    free(q);
    request(s.port, "POST", "/search/batch", "{\"query_vectors\":[]}", 503);
    request(s.port, "GET", "/vectors/1", NULL, 503);
    request(s.port, "POST", "/vectors", "{}", 503);
    request(s.port, "DELETE", "/vectors/1", NULL, 503);
    request(s.port, "POST", "/snapshot", "", 503);
    CHECK(sv_stop(&s) == 0);
}

/* ------------------------------------------------------------------ cross-checks */

static int was_seen(const char *path, const char *method, int status) {
    for (int i = 0; i < g_nseen; i++)
        if (g_seen[i].status == status && strcmp(g_seen[i].path, path) == 0 &&
            strcasecmp(g_seen[i].method, method) == 0)
            return 1;
    return 0;
}

static int status_seen(int status) {
    for (int i = 0; i < g_nseen; i++)
        if (g_seen[i].status == status)
            return 1;
    return 0;
}

static void every_documented_status_seen(int skip_403, int skip_500) {
    const jd_value *paths = jd_get(g_doc, "paths");
    CHECK(paths && paths->count == 10);
    for (size_t p = 0; paths && p < paths->count; p++) {
        const jd_value *item = paths->items[p];
        for (size_t m = 0; m < item->count; m++) {
            const jd_value *resp = jd_get(item->items[m], "responses");
            for (size_t s = 0; resp && s < resp->count; s++) {
                int status = atoi(resp->keys[s]);
                int search = strncmp(paths->keys[p], "/search", 7) == 0;
                if ((status == 403 && skip_403 && strcmp(paths->keys[p], "/admin/reload") == 0) ||
                    (status == 500 && skip_500 && search))
                    continue;
                if (!was_seen(paths->keys[p], item->keys[m], status)) {
                    fprintf(stderr, "documented but never produced: %s %s %d\n", item->keys[m],
                            paths->keys[p], status);
                    check_failures++;
                }
            }
        }
    }
    const jd_value *proto = jd_get(g_doc, "x-protocol-responses");
    CHECK(proto && proto->count >= 9);
    for (size_t s = 0; proto && s < proto->count; s++) {
        if (!status_seen(atoi(proto->keys[s]))) {
            fprintf(stderr, "protocol response %s never produced\n", proto->keys[s]);
            check_failures++;
        }
    }
}

/* The statuses of the file's table (between `begin` and `end`; rows
 * "| 422 |" in README, ".B 422" in the man page) are the document's. */
static void same_status_table(const char *file, const char *begin, const char *end,
                              const char *row_format) {
    FILE *f = fopen(file, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    char *table = strstr(text, begin);
    CHECK(table != NULL);
    if (table == NULL)
        return;
    char *stop = strstr(table + strlen(begin), end);
    if (stop)
        *stop = '\0';
    int documented_rows = 0;
    for (int status = 100; status < 600; status++) {
        char row[32];
        snprintf(row, sizeof row, row_format, status);
        int in_file = strstr(table, row) != NULL;
        int in_doc = status == 200 || documented("/", "GET", status) != NULL ||
                     documented("/search", "POST", status) != NULL ||
                     documented("/admin/reload", "POST", status) != NULL ||
                     documented("/vectors/{id}", "DELETE", status) != NULL;
        documented_rows += in_doc;
        if (in_file != in_doc) {
            fprintf(stderr, "%s: status %d is %s the table but %s the OpenAPI document\n", file,
                    status, in_file ? "in" : "not in", in_doc ? "in" : "not in");
            check_failures++;
        }
    }
    CHECK(documented_rows >= 14);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s VW_SERVE SCRATCH README MANPAGE\n", argv[0]);
        return 2;
    }
    mkdir(argv[2], 0755);
    char index_path[512], log[512];
    snprintf(index_path, sizeof index_path, "%s/openapi.vwi", argv[2]);
    snprintf(log, sizeof log, "%s/openapi.log", argv[2]);
    vw_index *index = sv_make_index(index_path, COUNT, DIM, VW_METRIC_L2);
    CHECK(index != NULL);
    vw_index_free(index);

    sv_server s;
    const char *const args[] = {"--admin", "--host",     "0.0.0.0", "--timeout-ms",
                                "1500",    "--max-body", "4194304", "--max-connections",
                                "4",       "--max-work", "4000000", NULL};
    if (sv_start(&s, argv[1], index_path, log, args) != 0)
        return 1;
    sv_response r;
    CHECK(sv_roundtrip(s.port, "GET", "/openapi.json", NULL, &r) == 0 && r.status == 200);
    g_doc = r.body ? jd_parse(r.body) : NULL;
    sv_response_free(&r);
    CHECK(g_doc != NULL);
    if (g_doc == NULL)
        return 1;
    const jd_value *version = jd_get(g_doc, "openapi");
    CHECK(version && version->kind == JD_STRING && strncmp(version->string, "3.1", 3) == 0);

    routes_ok(s.port, index_path);
    validation_errors(s.port);
    read_only_writes(s.port);
    protocol_errors(s.port);
    too_many_connections(s.port);
    int saw_403 = from_outside(s.port);
    int saw_500 = out_of_memory(s.port, s.pid);
    CHECK(sv_stop(&s) == 0);
    index_changed(argv[1], argv[2], index_path);
    data_writes(argv[1], argv[2], index_path);
    with_keys(argv[1], argv[2], index_path);
    if (!saw_403)
        fprintf(stderr, "note: no non-loopback address; the 403 was not tried\n");
    if (!saw_500)
        fprintf(stderr, "note: under a sanitizer the 500 (out of memory) is not tried\n");
    every_documented_status_seen(!saw_403, !saw_500);
    same_status_table(argv[3], "<!-- statuses -->", "<!-- /statuses -->", "| %d |");
    same_status_table(argv[4], ".SH STATUS CODES", "\n.SH ", ".B %d\n");
    printf("%d answers checked against the document\n", g_nseen);
    jd_free(g_doc);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}
