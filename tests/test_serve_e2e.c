/*
 * test_serve_e2e.c - the real vw-serve binary over loopback: every endpoint,
 * every error status, keep-alive, pipelining, a body split over many small
 * writes, 100-continue, timeouts of slow and idle clients, the connection
 * limit, the overload 503 and a graceful SIGTERM with a search in flight.
 *
 * Usage: test_serve_e2e VW_SERVE_BINARY SCRATCH_DIR
 */
#include "test_serve_util.h"

#include <sys/socket.h>

#include <poll.h>

#define DIM   16
#define COUNT 2000

static const vw_index *g_index;
static float *g_queries; /* 32 queries */

static int has_error_body(const sv_response *r) {
    return r->body != NULL && strncmp(r->body, "{\"error\":\"", 10) == 0 &&
           r->body[r->body_len - 1] == '}';
}

/* Sends raw bytes on a fresh connection; reads one response and expects
 * `status`, then (if want_close) the server closing the connection. */
static void expect_raw(unsigned port, const char *raw, size_t len, int status, int want_close) {
    sv_conn c;
    sv_response r;
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, raw, len) == 0);
    int rc = sv_read_response(&c, &r);
    CHECK(rc == 0);
    if (rc == 0) {
        if (r.status != status)
            fprintf(stderr, "expected %d, got %d for request [%.60s...]\n", status, r.status, raw);
        CHECK(r.status == status);
        CHECK(has_error_body(&r));
        if (want_close)
            CHECK(sv_sees_eof(&c));
    }
    sv_response_free(&r);
    sv_close(&c);
}

static void expect_search_status(unsigned port, const char *path, const char *body, int status) {
    sv_response r;
    CHECK(sv_roundtrip(port, "POST", path, body, &r) == 0);
    if (r.status != status)
        fprintf(stderr, "POST %s %s: expected %d, got %d %s\n", path, body, status, r.status,
                r.body ? r.body : "");
    CHECK(r.status == status);
    CHECK(has_error_body(&r));
    sv_response_free(&r);
}

static void test_health_and_stats(unsigned port) {
    sv_response r;
    CHECK(sv_roundtrip(port, "GET", "/", NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(r.body && strcmp(r.body, "{\"status\":\"ok\",\"count\":2000,\"dim\":16}") == 0);
    char v[64], get_len[32];
    snprintf(get_len, sizeof get_len, "%zu", r.body_len);
    CHECK(sv_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0);
    sv_response_free(&r);

    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    char *req = sv_format_request("HEAD", "/", NULL, NULL);
    CHECK(sv_send(&c, req, strlen(req)) == 0);
    CHECK(sv_read_response_ex(&c, &r, 1) == 0);
    CHECK(r.status == 200 && r.body_len == 0);
    CHECK(sv_header(&r, "Content-Length", v, sizeof v) && strcmp(v, get_len) == 0);
    sv_response_free(&r);
    free(req);
    /* The connection is still usable after HEAD: no stray body bytes. */
    CHECK(sv_exchange(&c, "GET", "/", NULL, &r) == 0 && r.status == 200);
    sv_response_free(&r);
    sv_close(&c);

    CHECK(sv_roundtrip(port, "GET", "/stats", NULL, &r) == 0);
    CHECK(r.status == 200);
    static const char *const fields[] = {"\"count\":2000",
                                         "\"dim\":16",
                                         "\"metric\":\"cosine\"",
                                         "\"M\":8",
                                         "\"ef_construction\":64",
                                         "\"ef_search\":64",
                                         "\"max_level\":",
                                         "\"storage\":\"f32\"",
                                         "\"bytes_per_vector\":64",
                                         "\"exact_distances\":true",
                                         "\"memory_bytes\":",
                                         "\"file_bytes\":",
                                         "\"simd\":\"",
                                         "\"uptime_s\":",
                                         "\"requests\":",
                                         "\"errors\":",
                                         "\"threads\":2",
                                         "\"queries\":",
                                         "\"in_flight\":"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (r.body == NULL || strstr(r.body, fields[i]) == NULL) {
            fprintf(stderr, "/stats lacks %s: %s\n", fields[i], r.body ? r.body : "");
            check_failures++;
        }
    }
    sv_response_free(&r);
}

static void test_search(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    /* Keep-alive: many requests on one connection, with errors in between. */
    for (int i = 0; i < 8; i++) {
        const float *q = g_queries + i * DIM;
        int k = 1 + i * 3;
        char *body = sv_query_body(q, DIM, k);
        sv_response r;
        CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0);
        CHECK(r.status == 200);
        CHECK(r.body && sv_matches_local(g_index, r.body, q, (uint32_t)k, 64));
        sv_response_free(&r);
        free(body);
        CHECK(sv_exchange(&c, "GET", "/nope", NULL, &r) == 0 && r.status == 404);
        sv_response_free(&r);
    }
    /* Default k is 10; ef_search is honoured. */
    char body[2048];
    char *qb = sv_query_body(g_queries, DIM, 10);
    snprintf(body, sizeof body, "%.*s}", (int)(strstr(qb, ",\"k\"") - qb), qb);
    sv_response r;
    CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries, 10, 64));
    sv_response_free(&r);
    snprintf(body, sizeof body, "%.*s,\"k\":7,\"ef_search\":300}", (int)(strstr(qb, ",\"k\"") - qb),
             qb);
    CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries, 7, 300));
    sv_response_free(&r);
    free(qb);

    /* k larger than the index returns everything there is. */
    snprintf(body, sizeof body, "{\"query_vector\":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"k\":4096}");
    CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0 && r.status == 200);
    {
        static uint64_t labels[4096];
        static float dists[4096];
        int n = r.body ? sv_parse_result(r.body, labels, dists, 4096, NULL) : -1;
        CHECK(n > 64 && n <= COUNT);
        for (int i = 1; i < n; i++)
            CHECK(dists[i - 1] <= dists[i]);
    }
    sv_response_free(&r);

    /* Batch: each result equals a single search. 32 queries are shared out
     * over both workers in chunks. */
    enum { NB = 32 };
    char *batch = malloc(NB * DIM * 20 + 64);
    sprintf(batch, "{\"k\":5,\"query_vectors\":[");
    for (int i = 0; i < NB; i++) {
        char *one = sv_query_body(g_queries + i * DIM, DIM, 5);
        char *open = strchr(one, '['), *close = strchr(one, ']');
        size_t n = strlen(batch);
        sprintf(batch + n, "%s%.*s", i ? "," : "", (int)(close - open + 1), open);
        free(one);
    }
    strcat(batch, "]}");
    CHECK(sv_exchange(&c, "POST", "/search/batch", batch, &r) == 0 && r.status == 200);
    CHECK(r.body && strncmp(r.body, "{\"results\":[{", 13) == 0);
    const char *p = r.body;
    for (int i = 0; i < NB && p; i++) {
        uint64_t l[8];
        float d[8];
        const char *end = NULL;
        CHECK(sv_parse_result(p, l, d, 8, &end) == 5);
        CHECK(sv_matches_local(g_index, p, g_queries + i * DIM, 5, 64));
        p = end;
    }
    sv_response_free(&r);
    /* Zero vectors (which a cosine index cannot normalize) at 20 and 27:
     * the first one in order is reported, however the work was shared. */
    for (int z = 0; z < 2; z++) {
        char *at = batch;
        for (int i = 0; i <= (z ? 27 : 20) + 1; i++) /* the outer [ first */
            at = strchr(at + 1, '[');
        for (char *e = at + 1; *e != ']'; e++)
            if (*e >= '1' && *e <= '9')
                *e = '0';
    }
    CHECK(sv_exchange(&c, "POST", "/search/batch", batch, &r) == 0 && r.status == 422);
    CHECK(r.body && strstr(r.body, "query_vectors[20]") != NULL &&
          strstr(r.body, "\"loc\":[\"body\",\"query_vectors\",20]") != NULL);
    sv_response_free(&r);
    free(batch);
    CHECK(sv_exchange(&c, "POST", "/search/batch", "{\"query_vectors\":[]}", &r) == 0);
    CHECK(r.status == 200 && r.body && strcmp(r.body, "{\"results\":[]}") == 0);
    sv_response_free(&r);
    sv_close(&c);
}

static void test_error_statuses(unsigned port) {
    expect_search_status(port, "/search", "{\"query_vector\":[1,2", 422);
    expect_search_status(port, "/search", "not json", 422);
    expect_search_status(port, "/search", "{\"k\":3}", 422);
    expect_search_status(port, "/search", "{\"query_vector\":\"x\"}", 422);
    expect_search_status(port, "/search/batch", "{\"query_vector\":[1]}", 422);
    expect_search_status(port, "/search", "{\"query_vector\":[1,2,3]}", 422);
    expect_search_status(port, "/search",
                         "{\"query_vector\":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"k\":0}", 422);
    expect_search_status(port, "/search",
                         "{\"query_vector\":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"k\":4097}", 422);
    expect_search_status(port, "/search", "{\"query_vector\":[1e39,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
                         422);
    expect_search_status(port, "/search", "{\"query_vector\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
                         422);
    expect_search_status(port, "/search/batch", "{\"query_vectors\":[[1,2]]}", 422);

    sv_response r;
    char v[64];
    CHECK(sv_roundtrip(port, "GET", "/missing", NULL, &r) == 0 && r.status == 404);
    CHECK(has_error_body(&r));
    sv_response_free(&r);
    CHECK(sv_roundtrip(port, "GET", "/search", NULL, &r) == 0 && r.status == 405);
    CHECK(sv_header(&r, "Allow", v, sizeof v) && strcmp(v, "POST") == 0);
    CHECK(has_error_body(&r));
    sv_response_free(&r);
    CHECK(sv_roundtrip(port, "DELETE", "/", NULL, &r) == 0 && r.status == 405);
    CHECK(sv_header(&r, "Allow", v, sizeof v) && strcmp(v, "GET, HEAD") == 0);
    sv_response_free(&r);

    /* Framing errors close the connection after the answer. */
    const char *raw = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 413, 1);
    raw = "POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n0\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 411, 1);
    /* Neither Content-Length nor Transfer-Encoding: an empty body (RFC
     * 9112 6.3), so a 422 that keeps the connection. */
    raw = "POST /search HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 422, 0);
    raw = "GET / HTTP/2.0\r\nHost: x\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 505, 1);
    raw = "HELLO\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 400, 1);
    raw = "GET / HTTP/1.1\r\n\r\n";
    expect_raw(port, raw, strlen(raw), 400, 1);
    char big[10000];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(big + n, 'a', 9000);
    memcpy(big + n + 9000, "\r\n\r\n", 4);
    expect_raw(port, big, (size_t)n + 9004, 431, 1);

    /* A body just under --max-body (64 KiB here) is fine. */
    size_t len = 60000;
    char *body = malloc(len + 1);
    char *q = sv_query_body(g_queries, DIM, 3);
    memset(body, ' ', len);
    memcpy(body, q, strlen(q));
    body[len] = '\0';
    CHECK(sv_roundtrip(port, "POST", "/search", body, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries, 3, 64));
    sv_response_free(&r);
    free(body);
    free(q);
}

static void test_pipelining(unsigned port) {
    char *q1 = sv_query_body(g_queries + 4 * DIM, DIM, 4);
    char *q2 = sv_query_body(g_queries + 5 * DIM, DIM, 6);
    char *parts[6] = {sv_format_request("GET", "/", NULL, NULL),
                      sv_format_request("POST", "/search", q1, NULL),
                      sv_format_request("GET", "/nope", NULL, NULL),
                      sv_format_request("POST", "/search", q2, NULL),
                      sv_format_request("POST", "/search", "{bad", NULL),
                      sv_format_request("GET", "/stats", NULL, NULL)};
    char all[16384] = "";
    for (int i = 0; i < 6; i++)
        strcat(all, parts[i]);
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, all, strlen(all)) == 0);
    static const int want[6] = {200, 200, 404, 200, 422, 200};
    for (int i = 0; i < 6; i++) {
        sv_response r;
        CHECK(sv_read_response(&c, &r) == 0);
        CHECK(r.status == want[i]);
        if (i == 1)
            CHECK(r.body && sv_matches_local(g_index, r.body, g_queries + 4 * DIM, 4, 64));
        if (i == 3)
            CHECK(r.body && sv_matches_local(g_index, r.body, g_queries + 5 * DIM, 6, 64));
        if (i == 5)
            CHECK(r.body && strstr(r.body, "\"count\":2000") != NULL);
        sv_response_free(&r);
    }
    sv_close(&c);

    /* A malformed request in the pipeline is answered, then the connection ends. */
    char mixed[4096];
    snprintf(mixed, sizeof mixed, "%sBROKEN\r\n\r\n%s", parts[0], parts[0]);
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, mixed, strlen(mixed)) == 0);
    sv_response r;
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    sv_response_free(&r);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 400);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&c));
    sv_close(&c);

    /* A long pipeline followed by the client's end of stream: every request
     * is answered (more than fit in the server's output buffer at once)
     * before the server closes. */
    enum { BURST = 3000 };
    size_t one = strlen(parts[0]);
    char *burst = malloc(one * BURST);
    for (int i = 0; i < BURST; i++)
        memcpy(burst + (size_t)i * one, parts[0], one);
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, burst, one * BURST) == 0);
    shutdown(c.fd, SHUT_WR);
    int answered = 0;
    while (answered < BURST && sv_read_response(&c, &r) == 0) {
        answered += r.status == 200;
        sv_response_free(&r);
    }
    CHECK(answered == BURST);
    CHECK(sv_sees_eof(&c));
    sv_close(&c);
    free(burst);
    for (int i = 0; i < 6; i++)
        free(parts[i]);
    free(q1);
    free(q2);
}

static void test_split_writes_and_continue(unsigned port) {
    char *q = sv_query_body(g_queries + 6 * DIM, DIM, 5);
    char *req = sv_format_request("POST", "/search", q, NULL);
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t len = strlen(req);
    for (size_t off = 0; off < len; off += 9) {
        CHECK(sv_send(&c, req + off, len - off < 9 ? len - off : 9) == 0);
        sv_sleep_ms(1);
    }
    sv_response r;
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries + 6 * DIM, 5, 64));
    sv_response_free(&r);

    /* Expect: 100-continue gets the interim response before the body is sent. */
    char head[256];
    snprintf(head, sizeof head,
             "POST /search HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: %zu\r\n\r\n",
             strlen(q));
    CHECK(sv_send(&c, head, strlen(head)) == 0);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 100);
    sv_response_free(&r);
    CHECK(sv_send(&c, q, strlen(q)) == 0);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries + 6 * DIM, 5, 64));
    sv_response_free(&r);

    /* Connection: close and HTTP/1.0 end the connection after the response. */
    char *close_req = sv_format_request("GET", "/", NULL, "Connection: close\r\n");
    CHECK(sv_send(&c, close_req, strlen(close_req)) == 0);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    char v[32];
    CHECK(sv_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&c));
    sv_close(&c);
    CHECK(sv_connect(&c, port) == 0);
    const char *old = "GET /stats HTTP/1.0\r\n\r\n";
    CHECK(sv_send(&c, old, strlen(old)) == 0);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&c));
    sv_close(&c);
    free(close_req);
    free(req);
    free(q);
}

/* The server runs with --timeout-ms 2000. */
static void test_timeouts(unsigned port) {
    /* A slow client trickles a request; another is served meanwhile; the slow
     * one gets 408 although it keeps sending (the deadline runs from its first byte). */
    sv_conn slow, fast;
    CHECK(sv_connect(&slow, port) == 0);
    const char *partial = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"query";
    CHECK(sv_send(&slow, partial, 20) == 0);
    CHECK(sv_connect(&fast, port) == 0);
    sv_response r;
    char *q = sv_query_body(g_queries + 7 * DIM, DIM, 3);
    CHECK(sv_exchange(&fast, "POST", "/search", q, &r) == 0 && r.status == 200);
    CHECK(r.body && sv_matches_local(g_index, r.body, g_queries + 7 * DIM, 3, 64));
    sv_response_free(&r);
    free(q);
    struct pollfd pfd = {slow.fd, POLLIN, 0};
    size_t sent = 20;
    for (int i = 0; i < 100 && poll(&pfd, 1, 100) == 0; i++)
        if (sent < strlen(partial) && sv_send(&slow, partial + sent, 1) == 0)
            sent++;
    CHECK(sv_read_response(&slow, &r) == 0 && r.status == 408);
    CHECK(has_error_body(&r));
    sv_response_free(&r);
    CHECK(sv_sees_eof(&slow));
    sv_close(&slow);

    /* The fast client's idle keep-alive connection is closed silently. */
    CHECK(sv_sees_eof(&fast));
    sv_close(&fast);
}

/* Second server: --threads 1 --queue 1 --max-connections MAX_CONN. */
#define MAX_CONN 5
static void test_connection_limit(unsigned port) {
    sv_conn c[MAX_CONN + 1];
    sv_response r;
    for (int i = 0; i < MAX_CONN; i++) {
        CHECK(sv_connect(&c[i], port) == 0);
        CHECK(sv_exchange(&c[i], "GET", "/", NULL, &r) == 0 && r.status == 200);
        sv_response_free(&r);
    }
    CHECK(sv_connect(&c[MAX_CONN], port) == 0);
    CHECK(sv_read_response(&c[MAX_CONN], &r) == 0 && r.status == 503);
    CHECK(r.body && strstr(r.body, "too many connections") != NULL);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&c[MAX_CONN]));
    sv_close(&c[MAX_CONN]);
    sv_close(&c[0]);
    /* The slot frees once the server has seen the close. */
    int served = 0;
    for (int attempt = 0; attempt < 200 && !served; attempt++) {
        CHECK(sv_connect(&c[0], port) == 0);
        if (sv_exchange(&c[0], "GET", "/", NULL, &r) == 0 && r.status == 200)
            served = 1;
        sv_response_free(&r);
        sv_close(&c[0]);
        if (!served)
            sv_sleep_ms(10);
    }
    CHECK(served);
    for (int i = 1; i < MAX_CONN; i++)
        sv_close(&c[i]);
}

/* A batch body that keeps the single worker busy for a while. */
static char *heavy_batch(int nq) {
    size_t cap = (size_t)nq * DIM * 20 + 128;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"k\":100,\"ef_search\":4000,\"query_vectors\":[");
    for (int i = 0; i < nq; i++) {
        const float *q = g_queries + (i % 32) * DIM;
        n += (size_t)snprintf(b + n, cap - n, "%s[", i ? "," : "");
        for (int d = 0; d < DIM; d++)
            n += (size_t)snprintf(b + n, cap - n, "%s%.9g", d ? "," : "", q[d]);
        n += (size_t)snprintf(b + n, cap - n, "]");
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

/* A single search the event loop hands to the workers (see test_overload). */
static char *light_queued_body(void) {
    char *b = sv_query_body(g_queries, DIM, 3);
    size_t n = strlen(b);
    char *out = malloc(n + 32);
    memcpy(out, b, n - 1); /* without the closing brace */
    snprintf(out + n - 1, 32, ",\"ef_search\":300}");
    free(b);
    return out;
}

/* Polls /stats until in_flight reaches `want`; 0 on success. */
static int wait_in_flight(unsigned port, int want) {
    for (int i = 0; i < 500; i++) {
        sv_response r;
        int got = -1;
        if (sv_roundtrip(port, "GET", "/stats", NULL, &r) == 0 && r.body) {
            const char *p = strstr(r.body, "\"in_flight\":");
            if (p)
                got = atoi(p + 12);
        }
        sv_response_free(&r);
        if (got >= want)
            return 0;
        sv_sleep_ms(2);
    }
    return -1;
}

/* With one worker and a queue of one: a busy worker plus a queued search
 * leave no room, so a further search is answered 503 at once. The light
 * searches ask for ef_search 300, past what the event loop searches itself
 * (one query at ef_search 256 at most): only searches that go to the
 * workers queue. Timing
 * decides whether the first batch is still running when the others arrive
 * (a loaded machine may finish it early, or be slow to queue the second),
 * so the batch grows until an overload is seen; every answer is either a
 * correct 200 or a well-formed 503. */
static int check_overload_answer(sv_conn *c, int light) {
    sv_response r;
    int is_503 = 0;
    CHECK(sv_read_response(c, &r) == 0);
    if (r.status == 503) {
        is_503 = 1;
        char v[16];
        CHECK(sv_header(&r, "Retry-After", v, sizeof v) != NULL);
        CHECK(has_error_body(&r));
    } else {
        CHECK(r.status == 200);
        if (light)
            CHECK(r.body && sv_matches_local(g_index, r.body, g_queries, 3, 300));
    }
    sv_response_free(&r);
    return is_503;
}

static void test_overload(unsigned port) {
    int saw_503 = 0;
    for (int nq = 200; nq <= 6400 && !saw_503; nq *= 2) {
        char *heavy = heavy_batch(nq);
        char *light = light_queued_body();
        char *req_heavy = sv_format_request("POST", "/search/batch", heavy, NULL);
        char *req_light = sv_format_request("POST", "/search", light, NULL);
        sv_conn a, b, c;
        CHECK(sv_connect(&a, port) == 0 && sv_connect(&b, port) == 0 && sv_connect(&c, port) == 0);
        CHECK(sv_send(&a, req_heavy, strlen(req_heavy)) == 0);
        wait_in_flight(port, 1); /* best effort: the batch may already be done */
        CHECK(sv_send(&b, req_light, strlen(req_light)) == 0);
        wait_in_flight(port, 2);
        CHECK(sv_send(&c, req_light, strlen(req_light)) == 0);
        saw_503 |= check_overload_answer(&c, 1);
        saw_503 |= check_overload_answer(&a, 0);
        saw_503 |= check_overload_answer(&b, 1);
        sv_close(&a);
        sv_close(&b);
        sv_close(&c);
        free(heavy);
        free(light);
        free(req_heavy);
        free(req_light);
    }
    CHECK(saw_503);
}

/* SIGTERM while a batch runs: it stops between two queries and is answered
 * 503 (or 200, had it finished first), then exit 0. */
static void test_graceful_stop(sv_server *s) {
    char *heavy = heavy_batch(400);
    char *req = sv_format_request("POST", "/search/batch", heavy, NULL);
    sv_conn a;
    CHECK(sv_connect(&a, s->port) == 0);
    CHECK(sv_send(&a, req, strlen(req)) == 0);
    CHECK(wait_in_flight(s->port, 1) == 0);
    kill(s->pid, SIGTERM);
    sv_response r;
    CHECK(sv_read_response(&a, &r) == 0 && (r.status == 200 || r.status == 503));
    if (r.status == 200)
        CHECK(r.body && strncmp(r.body, "{\"results\":[", 12) == 0);
    else
        CHECK(r.body && strstr(r.body, "shutting down") != NULL);
    char v[16];
    CHECK(sv_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&a));
    sv_close(&a);
    CHECK(sv_wait_exit(s->pid, 30000) == 0);
    s->pid = -1;
    free(heavy);
    free(req);
}

/* Runs the binary with args, stderr to log; its exit code. */
static int run_cli(const char *binary, const char *const *args, const char *log) {
    const char *argv[16] = {binary};
    int n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int out = open("/dev/null", O_WRONLY);
        if (fd >= 0 && out >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(out, STDOUT_FILENO);
        }
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    return pid < 0 ? -1 : sv_wait_exit(pid, 30000);
}

/* One line on stderr, naming the problem. */
static void expect_cli(const char *binary, const char *const *args, int code, const char *text,
                       const char *log) {
    int rc = run_cli(binary, args, log);
    char msg[1024] = "";
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(msg, 1, sizeof msg - 1, f) : 0;
    if (f)
        fclose(f);
    msg[n] = '\0';
    if (rc != code || strstr(msg, text) == NULL ||
        (code != 0 && strchr(msg, '\n') != msg + n - 1)) {
        fprintf(stderr, "vw-serve %s...: exit %d (want %d), stderr: %s\n", args[0] ? args[0] : "",
                rc, code, msg);
        check_failures++;
    }
}

static void test_command_line(const char *binary, const char *index_path, const char *log) {
    const char *const help[] = {"--help", NULL};
    const char *const version[] = {"--version", NULL};
    const char *const none[] = {NULL};
    const char *const port[] = {"-x", index_path, "--port", "70000", NULL};
    const char *const threads[] = {"-x", index_path, "--threads", "x", NULL};
    const char *const unknown[] = {"-x", index_path, "--bogus", NULL};
    const char *const missing[] = {"-x", "/nonexistent/index.vwi", NULL};
    const char *const not_index[] = {"-x", log, NULL};
    const char *const access[] = {"-x", index_path, "--access-log", "/nonexistent/dir/a.log", NULL};
    expect_cli(binary, help, 0, "", log);
    expect_cli(binary, version, 0, "", log);
    expect_cli(binary, none, 2, "-x INDEX", log);
    expect_cli(binary, port, 2, "--port", log);
    expect_cli(binary, threads, 2, "--threads", log);
    expect_cli(binary, unknown, 2, "--bogus", log);
    expect_cli(binary, missing, 1, "/nonexistent/index.vwi", log);
    expect_cli(binary, not_index, 1, log, log);
    expect_cli(binary, access, 1, "cannot open the access log /nonexistent/dir/a.log", log);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE_BINARY SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mkdir(argv[2], 0755);
    char index_path[512], log1[512], log2[512];
    snprintf(index_path, sizeof index_path, "%s/e2e.vwi", argv[2]);
    snprintf(log1, sizeof log1, "%s/e2e_server.log", argv[2]);
    snprintf(log2, sizeof log2, "%s/e2e_server_limits.log", argv[2]);
    vw_index *index = sv_make_index(index_path, COUNT, DIM, VW_METRIC_COSINE);
    g_queries = sv_random_vectors(32, DIM);
    if (index == NULL || g_queries == NULL)
        return 1;
    g_index = index;

    char cli_log[512];
    snprintf(cli_log, sizeof cli_log, "%s/e2e_cli.log", argv[2]);
    test_command_line(argv[1], index_path, cli_log);

    sv_server s;
    const char *const args1[] = {"--threads", "2", "--timeout-ms", "2000", "--max-body",
                                 "65536",     NULL};
    if (sv_start(&s, argv[1], index_path, log1, args1) != 0)
        return 1;
    test_health_and_stats(s.port);
    test_search(s.port);
    test_error_statuses(s.port);
    test_pipelining(s.port);
    test_split_writes_and_continue(s.port);
    test_timeouts(s.port);
    sv_response r;
    CHECK(sv_roundtrip(s.port, "GET", "/stats", NULL, &r) == 0 && r.status == 200);
    CHECK(r.body && strstr(r.body, "\"errors\":0,") == NULL);
    CHECK(r.body && strstr(r.body, "\"timeouts\":0,") == NULL);
    sv_response_free(&r);
    CHECK(sv_stop(&s) == 0);

    /* --max-work lets the heavy batches of the overload test be heavy. */
    const char *const args2[] = {"--threads", "1",          "--queue",    "1", "--max-connections",
                                 "5",         "--max-work", "1000000000", NULL};
    if (sv_start(&s, argv[1], index_path, log2, args2) != 0)
        return 1;
    test_connection_limit(s.port);
    test_overload(s.port);
    test_graceful_stop(&s);

    vw_index_free(index);
    free(g_queries);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed (server logs: %s, %s)\n", check_failures, log1, log2);
        return 1;
    }
    return 0;
}
