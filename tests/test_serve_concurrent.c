/*
 * test_serve_concurrent.c - 50 clients at once against the real vw-serve,
 * each on its own keep-alive connection, some pipelining, some batching;
 * every answer must equal vw_index_search on the same index in this process.
 *
 * The index is l2 over raw vectors and the server runs with --normalize (the
 * original Python service's behaviour), so the expected answers normalize the
 * query first.
 *
 * Usage: test_serve_concurrent VW_SERVE_BINARY SCRATCH_DIR
 */
#include "test_serve_util.h"

#include <pthread.h>

#define DIM     32
#define COUNT   3000
#define CLIENTS 50
#define ROUNDS  8

static const vw_index *g_index;
static float *g_queries; /* CLIENTS * ROUNDS queries */
static unsigned g_port;

typedef struct client {
    int id;
    int failures;
    pthread_t thread;
} client;

static const float *query_of(int client_id, int round) {
    return g_queries + ((size_t)client_id * ROUNDS + (size_t)round) * DIM;
}

/* The server normalizes; so does the expectation. */
static int matches(const char *body, const float *q, uint32_t k) {
    float unit[DIM];
    memcpy(unit, q, sizeof unit);
    if (vw_normalize(unit, DIM) != VW_OK)
        return 0;
    return sv_matches_local(g_index, body, unit, k, 64);
}

/* Rounds one at a time, each request sent then answered. */
static int run_sequential(client *cl, sv_conn *c) {
    int bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        const float *q = query_of(cl->id, round);
        uint32_t k = 1 + (uint32_t)((cl->id + round) % 20);
        char *body = sv_query_body(q, DIM, (int)k);
        sv_response r;
        if (body == NULL || sv_exchange(c, "POST", "/search", body, &r) != 0) {
            bad++;
        } else {
            bad += !(r.status == 200 && r.body && matches(r.body, q, k));
            sv_response_free(&r);
        }
        free(body);
    }
    return bad;
}

/* All rounds written at once; answers must come back in order. */
static int run_pipelined(client *cl, sv_conn *c) {
    char *all = malloc((size_t)ROUNDS * (DIM * 20 + 256));
    if (all == NULL)
        return 1;
    all[0] = '\0';
    for (int round = 0; round < ROUNDS; round++) {
        char *body = sv_query_body(query_of(cl->id, round), DIM, 10);
        char *req = sv_format_request("POST", "/search", body, NULL);
        if (body && req)
            strcat(all, req);
        free(body);
        free(req);
    }
    int bad = sv_send(c, all, strlen(all)) != 0;
    free(all);
    for (int round = 0; round < ROUNDS && !bad; round++) {
        sv_response r;
        if (sv_read_response(c, &r) != 0)
            return bad + 1;
        bad += !(r.status == 200 && r.body && matches(r.body, query_of(cl->id, round), 10));
        sv_response_free(&r);
    }
    return bad;
}

/* All rounds as one /search/batch request. */
static int run_batch(client *cl, sv_conn *c) {
    size_t cap = (size_t)ROUNDS * DIM * 20 + 128;
    char *body = malloc(cap);
    if (body == NULL)
        return 1;
    size_t n = (size_t)snprintf(body, cap, "{\"k\":5,\"query_vectors\":[");
    for (int round = 0; round < ROUNDS; round++) {
        const float *q = query_of(cl->id, round);
        n += (size_t)snprintf(body + n, cap - n, "%s[", round ? "," : "");
        for (int d = 0; d < DIM; d++)
            n += (size_t)snprintf(body + n, cap - n, "%s%.9g", d ? "," : "", q[d]);
        n += (size_t)snprintf(body + n, cap - n, "]");
    }
    snprintf(body + n, cap - n, "]}");
    sv_response r;
    int bad = 0;
    if (sv_exchange(c, "POST", "/search/batch", body, &r) != 0 || r.status != 200 || !r.body) {
        bad = 1;
    } else {
        const char *p = r.body;
        for (int round = 0; round < ROUNDS && !bad; round++) {
            uint64_t l[8];
            float d[8];
            const char *end = NULL;
            bad +=
                sv_parse_result(p, l, d, 8, &end) != 5 || !matches(p, query_of(cl->id, round), 5);
            p = end;
        }
    }
    sv_response_free(&r);
    free(body);
    return bad;
}

static void *client_main(void *arg) {
    client *cl = arg;
    sv_conn c;
    if (sv_connect(&c, g_port) != 0) {
        cl->failures++;
        return NULL;
    }
    switch (cl->id % 3) {
    case 0:
        cl->failures += run_sequential(cl, &c);
        break;
    case 1:
        cl->failures += run_pipelined(cl, &c);
        break;
    default:
        cl->failures += run_batch(cl, &c);
        break;
    }
    /* A health check on the same connection: still in sync. */
    sv_response r;
    if (sv_exchange(&c, "GET", "/", NULL, &r) != 0 || r.status != 200)
        cl->failures++;
    sv_response_free(&r);
    sv_close(&c);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE_BINARY SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mkdir(argv[2], 0755);
    char index_path[512], log_path[512];
    snprintf(index_path, sizeof index_path, "%s/concurrent.vwi", argv[2]);
    snprintf(log_path, sizeof log_path, "%s/concurrent_server.log", argv[2]);
    vw_index *index = sv_make_index(index_path, COUNT, DIM, VW_METRIC_L2);
    g_queries = sv_random_vectors((size_t)CLIENTS * ROUNDS, DIM);
    if (index == NULL || g_queries == NULL)
        return 1;
    g_index = index;

    sv_server s;
    const char *const args[] = {"--threads", "4", "--normalize", NULL};
    if (sv_start(&s, argv[1], index_path, log_path, args) != 0)
        return 1;
    g_port = s.port;

    static client clients[CLIENTS];
    int started = 0;
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].id = i;
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0)
            break;
        started++;
    }
    CHECK(started == CLIENTS);
    int failed_clients = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(clients[i].thread, NULL);
        if (clients[i].failures) {
            fprintf(stderr, "client %d: %d wrong or missing answers\n", i, clients[i].failures);
            failed_clients++;
        }
    }
    CHECK(failed_clients == 0);

    sv_response r;
    sv_conn c;
    CHECK(sv_connect(&c, s.port) == 0);
    CHECK(sv_exchange(&c, "GET", "/stats", NULL, &r) == 0 && r.status == 200);
    char want[64];
    snprintf(want, sizeof want, "\"queries\":%d,", CLIENTS * ROUNDS);
    CHECK(r.body && strstr(r.body, want) != NULL);
    CHECK(r.body && strstr(r.body, "\"errors\":0,") != NULL);
    CHECK(r.body && strstr(r.body, "\"normalize_queries\":true") != NULL);
    sv_response_free(&r);
    sv_close(&c);
    CHECK(sv_stop(&s) == 0);

    vw_index_free(index);
    free(g_queries);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed (server log: %s)\n", check_failures, log_path);
        return 1;
    }
    return 0;
}
