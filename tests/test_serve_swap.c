/*
 * test_serve_swap.c - swapping the served index under load: no request
 * fails, and every answer comes whole from one index.
 *
 * Two index files hold the same vectors under different labels (A: 1000+i,
 * B: 500000+i), so an answer tells which index served it, and must equal
 * that index's own answer for the query exactly. CLIENTS threads search
 * over keep-alive connections the whole time while the main thread swaps
 * SWAPS times, alternately A and B: the next file is renamed over the
 * served path, then the reload is asked for by SIGHUP (odd swaps; done when
 * /stats counts it) or by POST /admin/reload (even swaps; its answer says
 * done). Twice in between, a reload that must fail: garbage renamed over
 * the path then SIGHUP, and POST /admin/reload of a missing file; the old
 * index goes on serving and /stats says why. At the end: zero failed
 * requests, answers from both indexes, and the reload counters match.
 *
 * Usage: test_serve_swap VW_SERVE SCRATCH
 */
#include "test_serve_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define DIM     16
#define COUNT   3000
#define CLIENTS 4
#define SWAPS   24
#define NQ      64

static unsigned g_port;
static float *g_queries;
static vw_index *g_a, *g_b;
static atomic_int g_stop;
static atomic_long g_requests, g_failed, g_from_a, g_from_b;

static vw_index *build(const float *data, uint64_t label_base, const char *path) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    uint64_t *labels = malloc(COUNT * sizeof *labels);
    for (uint32_t i = 0; i < COUNT; i++)
        labels[i] = label_base + i;
    vw_index *idx = NULL, *loaded = NULL;
    vw_status st = vw_index_create(&p, &idx);
    if (st == VW_OK)
        st = vw_index_add_batch(idx, data, labels, COUNT, 1, NULL, NULL);
    if (st == VW_OK)
        st = vw_index_save(idx, path);
    if (st == VW_OK)
        st = vw_index_load(path, VW_LOAD_DEFAULT, &loaded);
    CHECK(st == VW_OK);
    vw_index_free(idx);
    free(labels);
    return loaded;
}

static void *client_main(void *arg) {
    long id = (long)arg;
    sv_conn c;
    CHECK(sv_connect(&c, g_port) == 0);
    for (long n = 0; !atomic_load(&g_stop); n++) {
        const float *q = g_queries + (size_t)((id * 7 + n) % NQ) * DIM;
        char *body = sv_query_body(q, DIM, 10);
        sv_response r;
        int rc = sv_exchange(&c, "POST", "/search", body, &r);
        atomic_fetch_add(&g_requests, 1);
        int from_a = rc == 0 && r.status == 200 && sv_matches_local(g_a, r.body, q, 10, 64);
        int from_b = rc == 0 && r.status == 200 && sv_matches_local(g_b, r.body, q, 10, 64);
        if (from_a)
            atomic_fetch_add(&g_from_a, 1);
        else if (from_b)
            atomic_fetch_add(&g_from_b, 1);
        else {
            fprintf(stderr, "failed request: rc %d status %d %.200s\n", rc, r.status,
                    r.body ? r.body : "");
            atomic_fetch_add(&g_failed, 1);
        }
        sv_response_free(&r);
        free(body);
        if (rc != 0) { /* reconnect so one failure does not end the client */
            sv_close(&c);
            CHECK(sv_connect(&c, g_port) == 0);
        }
    }
    sv_close(&c);
    return NULL;
}

static long stats_number(const char *name) {
    sv_response r;
    long v = -1;
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    if (sv_roundtrip(g_port, "GET", "/stats", NULL, &r) == 0 && r.body && strstr(r.body, key))
        v = strtol(strstr(r.body, key) + strlen(key), NULL, 10);
    sv_response_free(&r);
    return v;
}

static int last_error_mentions(const char *what) {
    sv_response r;
    int yes = sv_roundtrip(g_port, "GET", "/stats", NULL, &r) == 0 && r.body &&
              strstr(r.body, "\"last_reload_error\":\"") && strstr(r.body, what);
    sv_response_free(&r);
    return yes;
}

static void copy_file(const char *from, const char *to) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    CHECK(system(cmd) == 0);
}

/* Waits until /stats counts `want` reloads and failures together. */
static void wait_reloads(long want) {
    for (int i = 0; i < 3000; i++) {
        if (stats_number("index_reloads") + stats_number("index_reload_failures") >= want)
            return;
        sv_sleep_ms(10);
    }
    fprintf(stderr, "the reload was not done in 30 s\n");
    check_failures++;
}

static void admin_reload(const char *path, int expect) {
    char body[1024];
    snprintf(body, sizeof body, "{\"path\":\"%s\"}", path);
    sv_response r;
    CHECK(sv_roundtrip(g_port, "POST", "/admin/reload", body, &r) == 0);
    if (r.status != expect)
        fprintf(stderr, "POST /admin/reload %s: expected %d, got %d %s\n", path, expect, r.status,
                r.body ? r.body : "");
    CHECK(r.status == expect);
    sv_response_free(&r);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE SCRATCH\n", argv[0]);
        return 2;
    }
    mkdir(argv[2], 0755);
    char a[512], b[512], served[512], next[512], garbage[512], log[512];
    snprintf(a, sizeof a, "%s/swap_a.vwi", argv[2]);
    snprintf(b, sizeof b, "%s/swap_b.vwi", argv[2]);
    snprintf(served, sizeof served, "%s/swap_served.vwi", argv[2]);
    snprintf(next, sizeof next, "%s/swap_next.vwi", argv[2]);
    snprintf(garbage, sizeof garbage, "%s/swap_garbage.vwi", argv[2]);
    snprintf(log, sizeof log, "%s/swap.log", argv[2]);
    float *data = sv_random_vectors(COUNT, DIM);
    g_queries = sv_random_vectors(NQ, DIM);
    g_a = build(data, 1000, a);
    g_b = build(data, 500000, b);
    free(data);
    FILE *f = fopen(garbage, "w");
    CHECK(f && fputs("this is not an index file\n", f) >= 0);
    if (f)
        fclose(f);
    copy_file(a, served);

    sv_server s;
    const char *const args[] = {"--admin", "--threads", "2", NULL};
    if (g_a == NULL || g_b == NULL || sv_start(&s, argv[1], served, log, args) != 0)
        return 1;
    g_port = s.port;
    pthread_t t[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        CHECK(pthread_create(&t[i], NULL, client_main, (void *)i) == 0);

    long events = 0;
    for (int i = 1; i <= SWAPS; i++) {
        sv_sleep_ms(20);
        copy_file(i % 2 ? b : a, next);
        CHECK(rename(next, served) == 0);
        if (i % 2) {
            CHECK(kill(s.pid, SIGHUP) == 0);
            wait_reloads(++events);
        } else {
            admin_reload(served, 200);
            events++;
        }
        if (i == 8) { /* a file that does not load: the old index goes on */
            copy_file(garbage, next);
            CHECK(rename(next, served) == 0);
            CHECK(kill(s.pid, SIGHUP) == 0);
            wait_reloads(++events);
            CHECK(last_error_mentions("swap_served.vwi"));
            copy_file(a, served); /* what is served (A) is on disk again */
        }
        if (i == 16) {
            admin_reload("/nonexistent/index.vwi", 422);
            events++;
            CHECK(last_error_mentions("/nonexistent/index.vwi"));
        }
    }
    sv_sleep_ms(50);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);

    long reloads = stats_number("index_reloads"), failures = stats_number("index_reload_failures");
    CHECK(reloads == SWAPS && failures == 2);
    CHECK(last_error_mentions("\"last_reload_error\":\"\"")); /* the last one loaded */
    CHECK(sv_stop(&s) == 0);
    printf("swaps=%d failed_reloads=%ld requests=%ld failed=%ld from_a=%ld from_b=%ld\n", SWAPS,
           failures, atomic_load(&g_requests), atomic_load(&g_failed), atomic_load(&g_from_a),
           atomic_load(&g_from_b));
    CHECK(atomic_load(&g_failed) == 0);
    CHECK(atomic_load(&g_from_a) > 0 && atomic_load(&g_from_b) > 0);
    vw_index_free(g_a);
    vw_index_free(g_b);
    free(g_queries);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}
