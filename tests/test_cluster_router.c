/*
 * test_cluster_router.c - three vw-serve shards behind the nginx + njs
 * router of tools/cluster/, on loopback:
 *   1. the router's shard hash (njs, 32-bit halves) equals vw_shard_of for
 *      ids at the edges of 32, 53 and 64 bits and random 64-bit ones;
 *   2. writes through the router land on the id's shard and only there
 *      (each shard asked directly), ids up to 2^64 - 1 exact both ways;
 *   3. merged answers equal the exact top-k of all the data (vw_exact_search)
 *      for /search and /search/batch;
 *   4. recall at equal ef on 30,000 clustered vectors: through the router no
 *      worse than (within 0.01 of) one index holding them all.
 * Skipped (77) without nginx and its njs module.
 *
 * Usage: test_cluster_router VW_SERVE_BINARY SCRATCH_DIR CLUSTER_DIR
 */
#include "test_cluster_util.h"

#define SHARDS 3
#define DIM    16
#define COUNT  3000
#define K      10

static void fill_vector(uint64_t id, uint32_t dim, float *v) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + 1;
    for (uint32_t d = 0; d < dim; d++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[d] = (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

/* 1. GET /shard?id= against vw_shard_of. */
static void check_hash(unsigned router) {
    uint64_t ids[64] = {0,
                        1,
                        2,
                        7,
                        UINT32_MAX,
                        1ull << 32,
                        (1ull << 53) - 1,
                        1ull << 53,
                        (1ull << 53) + 1,
                        1ull << 63,
                        UINT64_MAX - 1,
                        UINT64_MAX};
    for (int i = 12; i < 64; i++)
        ids[i] = ((uint64_t)(sv_rand_unit() * 4294967296.0) << 32) ^
                 (uint64_t)(sv_rand_unit() * 4294967296.0);
    for (int i = 0; i < 64; i++) {
        char path[64], want[96];
        snprintf(path, sizeof path, "/shard?id=%llu", (unsigned long long)ids[i]);
        snprintf(want, sizeof want, "{\"id\":%llu,\"shard\":%u,\"shards\":%d}",
                 (unsigned long long)ids[i], vw_shard_of(ids[i], SHARDS), SHARDS);
        sv_response r;
        CHECK(cl_request(router, "GET", path, NULL, &r) == 200);
        if (r.body == NULL || strcmp(r.body, want) != 0) {
            fprintf(stderr, "router: %s, library: %s\n", r.body ? r.body : "(none)", want);
            check_failures++;
        }
        sv_response_free(&r);
    }
    CHECK(cl_request(router, "GET", "/shard?id=18446744073709551616", NULL, NULL) == 422);
}

/* /, /stats and /metrics add up the shards and name them. */
static void check_totals(unsigned router) {
    sv_response r;
    CHECK(cl_request(router, "GET", "/", NULL, &r) == 200);
    CHECK(r.body &&
          strcmp(r.body, "{\"status\":\"ok\",\"count\":3000,\"dim\":16,\"shards\":3}") == 0);
    sv_response_free(&r);
    CHECK(cl_request(router, "GET", "/stats", NULL, &r) == 200);
    CHECK(r.body && strncmp(r.body, "{\"shards\":3,\"missing_shards\":[],\"dim\":16,", 41) == 0);
    CHECK(r.body && strstr(r.body, ",\"count\":3000,") &&
          strstr(r.body, "\"per_shard\":[{\"shard\":0,"));
    sv_response_free(&r);
    CHECK(cl_request(router, "GET", "/metrics", NULL, &r) == 200);
    CHECK(r.body && strstr(r.body, "\nvw_router_shard_up{shard=\"2\"} 1\n") &&
          strstr(r.body, "\nvw_index_vectors{shard=\"1\"} ") &&
          strstr(r.body, "\nvw_http_requests_total{shard=\"0\",route="));
    sv_response_free(&r);
}

/* 2. Writes through the router, read on each shard directly. */
static void check_writes(unsigned router, const cl_shard *shards) {
    uint64_t ids[60] = {UINT64_MAX, UINT64_MAX - 1, (1ull << 53) + 1, 1ull << 63, 5000, 5001};
    for (int i = 6; i < 60; i++)
        ids[i] = (i % 2 ? 6000u + (uint64_t)i
                        : ((uint64_t)(sv_rand_unit() * 4294967296.0) << 32) | (uint64_t)i);
    char *body = cl_write_body(ids, 60, DIM, fill_vector);
    sv_response r;
    CHECK(cl_request(router, "POST", "/vectors", body, &r) == 200);
    CHECK(r.body && strcmp(r.body, "{\"upserted\":60}") == 0);
    sv_response_free(&r);
    free(body);
    for (int i = 0; i < 60; i++)
        for (unsigned s = 0; s < SHARDS; s++) {
            int want = vw_shard_of(ids[i], SHARDS) == s;
            if (cl_has_vector(shards[s].port, ids[i], DIM, fill_vector) != want) {
                fprintf(stderr, "id %llu: on shard %u is %d, expected %d\n",
                        (unsigned long long)ids[i], s, !want, want);
                check_failures++;
            }
        }
    /* Through the router: read, nearest to itself, deleted on its shard. */
    CHECK(cl_has_vector(router, UINT64_MAX, DIM, fill_vector) == 1);
    float v[DIM];
    fill_vector(UINT64_MAX, DIM, v);
    char *q = sv_query_body(v, DIM, 3);
    CHECK(cl_request(router, "POST", "/search", q, &r) == 200);
    CHECK(r.body && strncmp(r.body, "{\"indices\":[18446744073709551615,", 33) == 0);
    sv_response_free(&r);
    free(q);
    CHECK(cl_request(router, "DELETE", "/vectors/18446744073709551615", NULL, NULL) == 200);
    CHECK(cl_has_vector(shards[vw_shard_of(UINT64_MAX, SHARDS)].port, UINT64_MAX, DIM,
                        fill_vector) == 0);
    CHECK(cl_request(router, "GET", "/vectors/18446744073709551615", NULL, NULL) == 404);
    CHECK(cl_request(router, "GET", "/vectors/18446744073709551616", NULL, NULL) == 422);
    /* A .npy body is refused, never passed whole to one shard (NDJSON is
     * split: test_cluster_bulk). */
    CHECK(cl_post_typed(router, "application/x-npy", "\x93NUMPY", 6, &r) == 415);
    sv_response_free(&r);
    /* A body vw-serve refuses is refused whole, with its 422, nothing written. */
    CHECK(cl_request(router, "POST", "/vectors", "{\"ids\":[1,1],\"vectors\":[[1],[1]]}", NULL) ==
          422);
    CHECK(cl_request(router, "POST", "/vectors", "{\"ids\":[\"7\"],\"vectors\":[[1]]}", NULL) ==
          422);
}

/* The exact k nearest of the COUNT rows (labels 0..COUNT-1) as labels. */
static void check_one_exact(const char *body, const uint64_t *want, const float *want_d) {
    uint64_t got[K];
    float got_d[K];
    int n = sv_parse_result(body, got, got_d, K, NULL);
    CHECK(n == K);
    for (int i = 0; i < n && i < K; i++)
        if (got[i] != want[i] || fabsf(got_d[i] - want_d[i]) > 1e-5f * (1.0f + want_d[i])) {
            fprintf(stderr, "rank %d: router %llu (%g), exact %llu (%g)\n", i,
                    (unsigned long long)got[i], got_d[i], (unsigned long long)want[i], want_d[i]);
            check_failures++;
        }
}

/* 3. Merged answers against the exact top-k; ef_search above any shard's
 * size makes each shard's own search exact on this small data. */
static void check_exact(unsigned router, const float *rows) {
    enum { Q = 20 };
    float *queries = sv_random_vectors(Q, DIM);
    uint64_t want[Q * K];
    float want_d[Q * K];
    CHECK(vw_exact_search(rows, COUNT, queries, Q, DIM, VW_METRIC_L2, K, 1, want, want_d, NULL,
                          NULL) == VW_OK);
    char batch[Q * DIM * 20 + 64];
    size_t len = (size_t)snprintf(batch, sizeof batch, "{\"query_vectors\":[");
    for (int q = 0; q < Q; q++) {
        char *body = sv_query_body(queries + q * DIM, DIM, K);
        char with_ef[DIM * 20 + 64];
        snprintf(with_ef, sizeof with_ef, "%.*s,\"ef_search\":2000}", (int)strlen(body) - 1, body);
        sv_response r;
        CHECK(cl_request(router, "POST", "/search", with_ef, &r) == 200);
        if (r.body)
            check_one_exact(r.body, want + q * K, want_d + q * K);
        sv_response_free(&r);
        const char *vec = strchr(body, '[');
        len += (size_t)snprintf(batch + len, sizeof batch - len, "%s%.*s", q ? "," : "",
                                (int)(strchr(vec, ']') - vec + 1), vec);
        free(body);
    }
    snprintf(batch + len, sizeof batch - len, "],\"k\":%d,\"ef_search\":2000}", K);
    sv_response r;
    CHECK(cl_request(router, "POST", "/search/batch", batch, &r) == 200);
    const char *at = r.body;
    for (int q = 0; q < Q && at; q++) {
        check_one_exact(at, want + q * K, want_d + q * K);
        at = strstr(at, "]}");
        at = at ? at + 2 : NULL;
    }
    sv_response_free(&r);
    free(queries);
}

int main(int argc, char **argv) {
    int rc = cl_setup(argc, argv);
    if (rc >= 0)
        return rc;
    float *rows = malloc((size_t)COUNT * DIM * sizeof *rows);
    for (uint64_t i = 0; rows && i < COUNT; i++)
        fill_vector(i, DIM, rows + i * DIM);
    cl_shard shards[SHARDS];
    memset(shards, 0, sizeof shards);
    cl_router router = {.pid = -1};
    if (rows == NULL || cl_build_shards(argv[2], "router", rows, COUNT, DIM, 0, SHARDS, shards))
        return 1;
    int up = cl_start_shards(shards, SHARDS, argv[1], argv[2], "router", 1) == 0;
    if (up && cl_start_router(&router, argv[3], argv[2], "router", shards, SHARDS, "") == 0) {
        check_hash(router.port);
        check_totals(router.port);
        check_exact(router.port, rows);
        check_writes(router.port, shards);
    } else {
        check_failures++;
    }
    CHECK(cl_stop_router(&router) == 0);
    free(rows);
    if (cl_finish(shards, SHARDS, argv[2]) != 0)
        return 1;
    printf("router: hash, writes, exact merge: all checks passed\n");
    return 0;
}
