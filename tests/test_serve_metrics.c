/*
 * test_serve_metrics.c - GET /metrics counts exactly under concurrency, and
 * --access-log writes one well-formed line per answered request.
 *
 * THREADS client threads, each on its own keep-alive connection, send a
 * fixed mix of requests at once (searches, batches, validation errors,
 * health checks, unknown paths). Afterwards one scrape must show exactly
 * the numbers sent: per route and status, the histogram counts (+Inf equal
 * to the route's requests, buckets never decreasing), searches, queries,
 * accepted connections, nothing in flight. A second scrape sees the first.
 * After SIGTERM the access log holds one line per answered request with
 * the documented fields, and its status column adds up to the same counts.
 *
 * Usage: test_serve_metrics VW_SERVE SCRATCH
 */
#include "test_serve_util.h"

#include <pthread.h>

#define DIM     8
#define COUNT   1000
#define THREADS 8
#define ROUNDS  40
#define BATCH_Q 3

static unsigned g_port;
static float *g_queries;

/* One round: search 200, batch 200, search 422, GET / 200, GET /nope 404,
 * GET /search/batch 405 (counted under its route, not as unmatched). */
static void *client_main(void *arg) {
    long id = (long)arg;
    sv_conn c;
    CHECK(sv_connect(&c, g_port) == 0);
    char batch[2048];
    for (int round = 0; round < ROUNDS; round++) {
        const float *q = g_queries + ((size_t)(id * ROUNDS + round) % 64) * DIM;
        char *body = sv_query_body(q, DIM, 5);
        sv_response r;
        CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0 && r.status == 200);
        sv_response_free(&r);
        free(body);
        size_t n = (size_t)snprintf(batch, sizeof batch, "{\"k\":3,\"query_vectors\":[");
        for (int i = 0; i < BATCH_Q; i++) {
            n += (size_t)snprintf(batch + n, sizeof batch - n, "%s[", i ? "," : "");
            for (int d = 0; d < DIM; d++)
                n += (size_t)snprintf(batch + n, sizeof batch - n, "%s%.9g", d ? "," : "",
                                      q[d] + (float)i);
            n += (size_t)snprintf(batch + n, sizeof batch - n, "]");
        }
        snprintf(batch + n, sizeof batch - n, "]}");
        CHECK(sv_exchange(&c, "POST", "/search/batch", batch, &r) == 0 && r.status == 200);
        sv_response_free(&r);
        CHECK(sv_exchange(&c, "POST", "/search", "{\"query_vector\":[1]}", &r) == 0 &&
              r.status == 422);
        sv_response_free(&r);
        CHECK(sv_exchange(&c, "GET", "/", NULL, &r) == 0 && r.status == 200);
        sv_response_free(&r);
        CHECK(sv_exchange(&c, "GET", "/nope", NULL, &r) == 0 && r.status == 404);
        sv_response_free(&r);
        CHECK(sv_exchange(&c, "GET", "/search/batch", NULL, &r) == 0 && r.status == 405);
        sv_response_free(&r);
    }
    sv_close(&c);
    return NULL;
}

/* The value of the sample whose line starts with `series` ("name{labels}"
 * or "name"), or -1. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        const char *next = strchr(line, '\n');
        if (next == NULL)
            break;
        line = next + 1;
    }
    return -1;
}

static void expect(const char *text, const char *series, double want) {
    double got = sample(text, series);
    if (got != want) {
        fprintf(stderr, "%s: expected %.0f, got %.0f\n", series, want, got);
        check_failures++;
    }
}

/* Every sample line is `name{labels} value` or `name value`, and every
 * family has HELP and TYPE before its samples. */
static void check_format(const char *text) {
    char family[128] = "";
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        CHECK(end != NULL);
        if (end == NULL)
            return;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            sscanf(line + 7, "%127s", family);
        } else if (line[0] != '#') {
            CHECK(family[0] && strncmp(line, family, strlen(family)) == 0);
            const char *space = memchr(line, ' ', (size_t)(end - line));
            CHECK(space != NULL);
            char *num_end;
            if (space)
                strtod(space + 1, &num_end);
            CHECK(space && num_end == end);
        }
        line = end + 1;
    }
}

static void check_histogram(const char *text, const char *route, double count) {
    char series[160];
    double prev = 0;
    static const char *const bounds[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                         "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
                                         "1",      "2.5",     "5",      "10",    "+Inf"};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        snprintf(series, sizeof series,
                 "vw_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"}", route,
                 bounds[i]);
        double v = sample(text, series);
        CHECK(v >= prev);
        prev = v;
    }
    CHECK(prev == count);
    snprintf(series, sizeof series, "vw_http_request_duration_seconds_count{route=\"%s\"}", route);
    expect(text, series, count);
}

static char *scrape(unsigned port) {
    sv_response r;
    CHECK(sv_roundtrip(port, "GET", "/metrics", NULL, &r) == 0 && r.status == 200);
    char v[96];
    CHECK(sv_header(&r, "Content-Type", v, sizeof v) &&
          strcmp(v, "text/plain; version=0.0.4; charset=utf-8") == 0);
    return r.body;
}

static void check_counts(const char *m) {
    const double per = THREADS * ROUNDS;
    check_format(m);
    expect(m, "vw_http_requests_total{route=\"/search\",code=\"200\"}", per);
    expect(m, "vw_http_requests_total{route=\"/search\",code=\"422\"}", per);
    expect(m, "vw_http_requests_total{route=\"/search/batch\",code=\"200\"}", per);
    expect(m, "vw_http_requests_total{route=\"/\",code=\"200\"}", per);
    expect(m, "vw_http_requests_total{route=\"unmatched\",code=\"404\"}", per);
    expect(m, "vw_http_requests_total{route=\"/search/batch\",code=\"405\"}", per);
    expect(m, "vw_http_requests_total{route=\"unmatched\",code=\"405\"}", -1);
    expect(m, "vw_http_requests_total{route=\"/metrics\",code=\"200\"}", -1); /* not yet */
    check_histogram(m, "/search", 2 * per);
    check_histogram(m, "/search/batch", 2 * per);
    check_histogram(m, "/", per);
    check_histogram(m, "unmatched", per);
    check_histogram(m, "/stats", 0);
    expect(m, "vw_searches_total", 2 * per);
    expect(m, "vw_queries_total", per * (1 + BATCH_Q));
    expect(m, "vw_connections_accepted_total", THREADS + 1);
    expect(m, "vw_connections_rejected_total", 0);
    expect(m, "vw_requests_in_flight", 0);
    expect(m, "vw_search_queue_rejected_total", 0);
    expect(m, "vw_index_vectors", COUNT);
    expect(m, "vw_index_dimension", DIM);
    expect(m, "vw_worker_threads", 3);
    CHECK(strstr(m, "vw_build_info{version=\"") != NULL);
    CHECK(strstr(m, "vw_index_info{metric=\"l2\",storage=\"f32\",mmap=\"false\"} 1") != NULL);
}

/* time client METHOD TARGET status bytes latency_ms, per line. */
static void check_access_log(const char *path, double per) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    char line[512];
    long lines = 0, by_status[600] = {0}, metrics = 0;
    while (fgets(line, sizeof line, f)) {
        char when[64], client[64], method[16], target[128];
        int status;
        unsigned long long bytes;
        double ms;
        int n = sscanf(line, "%63s %63s %15s %127s %d %llu %lf", when, client, method, target,
                       &status, &bytes, &ms);
        CHECK(n == 7);
        CHECK(strlen(when) == 27 && when[4] == '-' && when[10] == 'T' && when[26] == 'Z');
        CHECK(strncmp(client, "127.0.0.1:", 10) == 0);
        CHECK(ms >= 0 && bytes > 0);
        if (n == 7 && status > 0 && status < 600)
            by_status[status]++;
        metrics += n == 7 && strcmp(target, "/metrics") == 0;
        lines++;
    }
    fclose(f);
    CHECK(lines == (long)(6 * per) + 2); /* two scrapes */
    CHECK(by_status[200] == (long)(3 * per) + 2);
    CHECK(by_status[422] == (long)per && by_status[404] == (long)per &&
          by_status[405] == (long)per);
    CHECK(metrics == 2);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE SCRATCH\n", argv[0]);
        return 2;
    }
    mkdir(argv[2], 0755);
    char index_path[512], log[512], access[512];
    snprintf(index_path, sizeof index_path, "%s/metrics.vwi", argv[2]);
    snprintf(log, sizeof log, "%s/metrics.log", argv[2]);
    snprintf(access, sizeof access, "%s/metrics_access.log", argv[2]);
    unlink(access);
    vw_index *index = sv_make_index(index_path, COUNT, DIM, VW_METRIC_L2);
    CHECK(index != NULL);
    vw_index_free(index);
    g_queries = sv_random_vectors(64, DIM);

    sv_server s;
    const char *const args[] = {"--threads", "3", "--access-log", access, NULL};
    if (sv_start(&s, argv[1], index_path, log, args) != 0)
        return 1;
    g_port = s.port;
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, client_main, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    char *m = scrape(s.port);
    CHECK(m != NULL);
    if (m)
        check_counts(m);
    free(m);
    m = scrape(s.port); /* the first scrape shows in the second */
    if (m) {
        expect(m, "vw_http_requests_total{route=\"/metrics\",code=\"200\"}", 1);
        check_histogram(m, "/metrics", 1);
    }
    free(m);
    CHECK(sv_stop(&s) == 0);
    check_access_log(access, THREADS * ROUNDS);
    free(g_queries);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("%d clients x %d rounds counted exactly\n", THREADS, ROUNDS);
    return 0;
}
