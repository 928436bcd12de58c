/*
 * test_cluster_bulk.c - bulk loads and filtered searches through the nginx +
 * njs router of tools/cluster/, three writable vw-serve shards on loopback:
 *   1. an NDJSON body is split by shard line by line: every record lands on
 *      its id's shard only (each shard asked directly), ids up to 2^64 - 1
 *      exact, whatever the line's shape (id first or last, spaces, CRLF,
 *      blank lines);
 *   2. a record a shard refuses: the shard's 422 with the client's record
 *      number, and durable_ids/failed_ids saying exactly what each shard
 *      made durable (its part's prefix before the bad record, checked on the
 *      shards);
 *   3. a record without a readable id refuses the body whole, nothing
 *      written; a .npy body is 415 naming NDJSON; a JSON body over the
 *      router's --max-body is 413 while a larger NDJSON body is split;
 *   4. a filter passes through /search and /search/batch: the merged answer
 *      is the exact top-k of the matching rows;
 *   5. attributes written through both routes (split with their ids, or in
 *      their lines) are found by a filter through the router; a bad one is
 *      refused at the client's position.
 * (A shard killed in the middle of bulk loads: test_cluster_failover.)
 * Skipped (77) without nginx and its njs module.
 *
 * Usage: test_cluster_bulk VW_SERVE_BINARY SCRATCH_DIR CLUSTER_DIR
 */
#include "test_cluster_util.h"

#define SHARDS 3
#define DIM    8
#define COUNT  600
#define K      10

static void fill_vector(uint64_t id, uint32_t dim, float *v) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + 7;
    for (uint32_t d = 0; d < dim; d++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[d] = (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

static const char *parity(uint64_t label, char *buf, size_t cap) {
    snprintf(buf, cap, "{\"odd\":%s,\"label\":%llu}", label % 2 ? "true" : "false",
             (unsigned long long)label);
    return buf;
}

/* Whether each id is on exactly the shards `want` says: its own shard when
 * want[i], none otherwise. */
static void check_placed(const cl_shard *shards, const uint64_t *ids, const int *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (unsigned s = 0; s < SHARDS; s++) {
            int expect = want[i] && vw_shard_of(ids[i], SHARDS) == s;
            if (cl_has_vector(shards[s].port, ids[i], DIM, fill_vector) != expect) {
                fprintf(stderr, "id %llu on shard %u: expected %d\n", (unsigned long long)ids[i], s,
                        expect);
                check_failures++;
            }
        }
}

/* The ids listed in the answer's member `key` ("durable_ids"), in order,
 * equal want[0..n). */
static void check_id_list(const char *body, const char *key, const uint64_t *want, size_t n) {
    char head[64];
    snprintf(head, sizeof head, "\"%s\":[", key);
    const char *p = body ? strstr(body, head) : NULL;
    CHECK(p != NULL);
    if (p == NULL)
        return;
    p += strlen(head);
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long long id = strtoull(p, &end, 10);
        if (end == p || id != want[i]) {
            fprintf(stderr, "%s[%zu]: expected %llu at \"%.40s\"\n", key, i,
                    (unsigned long long)want[i], p);
            check_failures++;
            return;
        }
        p = *end == ',' ? end + 1 : end;
    }
    CHECK(*p == ']');
}

/* 1. Records of every shape, each on its shard. */
static void check_split(unsigned router, const cl_shard *shards) {
    enum { N = 90 };
    uint64_t ids[N] = {UINT64_MAX, UINT64_MAX - 1, (1ull << 53) + 1, 1ull << 63, 0};
    int want[N];
    for (int i = 5; i < N; i++)
        ids[i] = i % 3 ? 10000u + (uint64_t)i : ((uint64_t)(sv_rand_unit() * 4294967296.0) << 32);
    for (int i = 0; i < N; i++)
        want[i] = 1;
    char *plain = cl_ndjson_body(ids, N, DIM, fill_vector);
    /* The same records rewritten: id after the vector, spaces, CRLF, blanks. */
    size_t cap = strlen(plain) * 2 + 64, len = 0;
    char *body = malloc(cap);
    const char *line = plain;
    for (int i = 0; i < N; i++) {
        const char *nl = strchr(line, '\n'), *vec = strstr(line, "\"vector\":");
        int vlen = (int)(nl - 1 - vec); /* "vector":[...] */
        if (i % 4 == 1)
            len += (size_t)snprintf(body + len, cap - len, "{%.*s, \"id\" : %llu}\n", vlen, vec,
                                    (unsigned long long)ids[i]);
        else if (i % 4 == 2)
            len += (size_t)snprintf(body + len, cap - len, " \t{ \"id\":%llu , %.*s }\r\n\n",
                                    (unsigned long long)ids[i], vlen, vec);
        else
            len += (size_t)snprintf(body + len, cap - len, "%.*s", (int)(nl + 1 - line), line);
        line = nl + 1;
    }
    len -= 1; /* the last record without its '\n' */
    sv_response r;
    CHECK(cl_post_typed(router, "application/x-ndjson", body, len, &r) == 200);
    CHECK(r.body && strcmp(r.body, "{\"upserted\":90}") == 0);
    sv_response_free(&r);
    check_placed(shards, ids, want, N);
    CHECK(cl_has_vector(router, UINT64_MAX, DIM, fill_vector) == 1);
    free(body);
    free(plain);
}

/* 2. Record 40 has a vector one short; its shard keeps what came before. */
static void check_refused_record(unsigned router, const cl_shard *shards) {
    enum { N = 60, BAD = 39 };
    uint64_t ids[N], durable[N], failed[N];
    int want[N];
    size_t nd = 0, nf = 0;
    for (int i = 0; i < N; i++)
        ids[i] = 20000 + (uint64_t)i * 13;
    unsigned victim = vw_shard_of(ids[BAD], SHARDS);
    char *body = cl_ndjson_body(ids, N, DIM, fill_vector);
    char *line = body;
    for (int i = 0; i < BAD; i++)
        line = strchr(line, '\n') + 1;
    char *cut = strstr(line, "]}\n"); /* drop the last component of record 40 */
    char *comma = cut;
    while (*comma != ',')
        comma--;
    memmove(comma, cut, strlen(cut) + 1);
    for (int i = 0; i < N; i++) {
        want[i] = !(i >= BAD && vw_shard_of(ids[i], SHARDS) == victim);
        if (want[i])
            durable[nd++] = ids[i];
        else
            failed[nf++] = ids[i];
    }
    sv_response r;
    CHECK(cl_post_typed(router, "application/x-ndjson", body, strlen(body), &r) == 422);
    CHECK(r.body && strstr(r.body, "\"error\":\"record 40: ") &&
          strstr(r.body, "\"msg\":\"record 40: ") && !strstr(r.body, "\"written\""));
    char up[32];
    snprintf(up, sizeof up, "\"upserted\":%zu,", nd);
    CHECK(r.body && strstr(r.body, up) && strstr(r.body, "\"missing_shards\":[]"));
    check_id_list(r.body, "durable_ids", durable, nd);
    check_id_list(r.body, "failed_ids", failed, nf);
    sv_response_free(&r);
    check_placed(shards, ids, want, N);
    free(body);
}

/* 3. Bodies refused whole, and the limits. */
static void check_refused_bodies(unsigned router, const cl_shard *shards) {
    enum { N = 12 };
    uint64_t ids[N];
    int none[N] = {0};
    for (int i = 0; i < N; i++)
        ids[i] = 30000 + (uint64_t)i;
    char *body = cl_ndjson_body(ids, N, DIM, fill_vector);
    char *line = body;
    for (int i = 0; i < 6; i++)
        line = strchr(line, '\n') + 1;
    memcpy(line + 1, "\"ix\"", 4); /* record 7: {"ix":30006,...}: no id */
    sv_response r;
    CHECK(cl_post_typed(router, "application/x-ndjson", body, strlen(body), &r) == 422);
    CHECK(r.body && strstr(r.body, "\"error\":\"record 7: ") &&
          strstr(r.body, "\"loc\":[\"body\",\"id\"]") && strstr(r.body, "\"upserted\":0,"));
    sv_response_free(&r);
    check_placed(shards, ids, none, N);
    free(body);
    /* An id past 2^64 - 1 is no id either. */
    const char *big = "{\"id\":1,\"vector\":[0,0,0,0,0,0,0,0]}\n"
                      "{\"id\":18446744073709551616,\"vector\":[0,0,0,0,0,0,0,0]}\n";
    CHECK(cl_post_typed(router, "application/x-ndjson", big, strlen(big), &r) == 422);
    CHECK(r.body && strstr(r.body, "record 2: "));
    sv_response_free(&r);
    const char npy[] = "\x93NUMPY\x01\x00\x06\x00{}    ";
    CHECK(cl_post_typed(router, "application/x-npy", npy, sizeof npy - 1, &r) == 415);
    CHECK(r.body && strstr(r.body, "application/x-ndjson"));
    sv_response_free(&r);
    /* 400 ids: a JSON body over the router's --max-body (16k) is 413; the
     * same records as NDJSON are split. */
    enum { M = 400 };
    uint64_t many[M];
    for (int i = 0; i < M; i++)
        many[i] = 40000 + (uint64_t)i;
    char *json = cl_write_body(many, M, DIM, fill_vector);
    CHECK(strlen(json) > 16384);
    CHECK(cl_request(router, "POST", "/vectors", json, &r) == 413);
    CHECK(r.body && strstr(r.body, "application/x-ndjson"));
    sv_response_free(&r);
    free(json);
    char *nd = cl_ndjson_body(many, M, DIM, fill_vector);
    CHECK(cl_post_typed(router, "application/x-ndjson", nd, strlen(nd), &r) == 200);
    CHECK(r.body && strcmp(r.body, "{\"upserted\":400}") == 0);
    sv_response_free(&r);
    free(nd);
    CHECK(cl_has_vector(router, 40399, DIM, fill_vector) == 1);
}

/* The ids a filtered search for {"tag": tag} finds (k 64, so all of them),
 * as a count; each must be in want[0..n). */
static int tagged(unsigned router, const char *tag, const uint64_t *want, size_t n) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"query_vector\":[0,0,0,0,0,0,0,0],\"k\":64,\"ef_search\":1000,\"filter\":"
             "{\"must\":[{\"key\":\"tag\",\"match\":{\"value\":\"%s\"}}]}}",
             tag);
    sv_response r;
    uint64_t got[64];
    float d[64];
    int found = cl_request(router, "POST", "/search", body, &r) == 200
                    ? sv_parse_result(r.body, got, d, 64, NULL)
                    : -1;
    for (int i = 0; i < found; i++) {
        size_t j = 0;
        while (j < n && want[j] != got[i])
            j++;
        if (j == n) {
            fprintf(stderr, "tag %s: %llu found, never written with it\n", tag,
                    (unsigned long long)got[i]);
            check_failures++;
        }
    }
    sv_response_free(&r);
    return found;
}

/* 5. Attributes through both write routes: split with their ids (JSON) or
 * inside their lines (NDJSON, a nested "id" in them no id), found by a
 * filter through the router; a bad object's 422 at the client's position. */
static void check_attributes(unsigned router) {
    enum { N = 24 };
    uint64_t a[N], b[N], json_tagged[N];
    size_t nj = 0;
    for (int i = 0; i < N; i++) {
        a[i] = 50000 + (uint64_t)i * 7;
        b[i] = 60000 + (uint64_t)i * 7;
        if (i != 3)
            json_tagged[nj++] = a[i];
    }
    char *json = cl_write_body(a, N, DIM, fill_vector);
    size_t len = strlen(json) - 1, cap = len + N * 32 + 64;
    json = realloc(json, cap);
    len += (size_t)snprintf(json + len, cap - len, ",\"attributes\":[");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(json + len, cap - len, i == 3 ? "%snull" : "%s{\"tag\":\"json\"}",
                                i ? "," : "");
    snprintf(json + len, cap - len, "]}");
    sv_response r;
    CHECK(cl_request(router, "POST", "/vectors", json, &r) == 200);
    sv_response_free(&r);
    char *nd = cl_ndjson_body(b, N, DIM, fill_vector), *out = malloc(strlen(nd) * 2);
    const char *line = nd;
    len = 0;
    for (int i = 0; i < N; i++) { /* {"attributes":{...},"vector":[...],"id":N} */
        const char *vec = strstr(line, "\"vector\":"), *nl = strchr(line, '\n');
        len += (size_t)sprintf(
            out + len, "{\"attributes\":{\"id\":\"x\",\"tag\":\"ndjson\"},%.*s,\"id\":%llu}\n",
            (int)(nl - 1 - vec), vec, (unsigned long long)b[i]);
        line = nl + 1;
    }
    CHECK(cl_post_typed(router, "application/x-ndjson", out, len, &r) == 200);
    CHECK(r.body && strcmp(r.body, "{\"upserted\":24}") == 0);
    sv_response_free(&r);
    CHECK(tagged(router, "json", json_tagged, nj) == (int)nj);
    CHECK(tagged(router, "ndjson", b, N) == N);
    CHECK(cl_request(router, "GET", "/vectors/50035", NULL, &r) == 200);
    CHECK(r.body && strstr(r.body, "\"attributes\":{\"tag\":\"json\"}"));
    sv_response_free(&r);
    /* Three ids on three shards, the last one's attributes refused: its
     * shard's loc ["body","attributes",0] is the client's 2. */
    uint64_t c[3] = {70000, 70000, 70000};
    for (unsigned k = 0; k < 3; k++)
        while (vw_shard_of(c[k], SHARDS) != k)
            c[k]++;
    char bad[512], failed[64];
    snprintf(bad, sizeof bad,
             "{\"ids\":[%llu,%llu,%llu],\"vectors\":[[0,0,0,0,0,0,0,1],[0,0,0,0,0,0,0,2],"
             "[0,0,0,0,0,0,0,3]],\"attributes\":[null,null,{\"a\":{\"b\":1}}]}",
             (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2]);
    snprintf(failed, sizeof failed, "\"failed_ids\":[%llu]", (unsigned long long)c[2]);
    CHECK(cl_request(router, "POST", "/vectors", bad, &r) == 422);
    CHECK(r.body && strstr(r.body, "\"loc\":[\"body\",\"attributes\",2]") &&
          strstr(r.body, failed));
    sv_response_free(&r);
    free(json);
    free(nd);
    free(out);
}

/* The exact k nearest odd labels of the COUNT rows for one query. */
static void exact_odd(const float *rows, const float *q, uint64_t *want) {
    float odd[COUNT / 2 * DIM];
    for (int i = 0; i < COUNT / 2; i++)
        memcpy(odd + i * DIM, rows + (size_t)(2 * i + 1) * DIM, sizeof(float) * DIM);
    float d[K];
    CHECK(vw_exact_search(odd, COUNT / 2, q, 1, DIM, VW_METRIC_L2, K, 1, want, d, NULL, NULL) ==
          VW_OK);
    for (int i = 0; i < K; i++)
        want[i] = want[i] * 2 + 1;
}

static void check_labels(const char *body, const uint64_t *want) {
    uint64_t got[K];
    float d[K];
    CHECK(body && sv_parse_result(body, got, d, K, NULL) == K);
    for (int i = 0; body && i < K; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "filtered rank %d: router %llu, exact %llu\n", i,
                    (unsigned long long)got[i], (unsigned long long)want[i]);
            check_failures++;
        }
}

/* 4. {"odd": true} through both search routes, and a wrong filter. */
static void check_filter(unsigned router, const float *rows) {
    const char *filter = "\"filter\":{\"must\":[{\"key\":\"odd\",\"match\":{\"value\":true}}]}";
    float *q = sv_random_vectors(2, DIM);
    uint64_t want[2][K];
    exact_odd(rows, q, want[0]);
    exact_odd(rows, q + DIM, want[1]);
    char body[1024], batch[1024];
    char *one = sv_query_body(q, DIM, K), *two = sv_query_body(q + DIM, DIM, K);
    snprintf(body, sizeof body, "%.*s,\"ef_search\":1000,%s}", (int)strlen(one) - 1, one, filter);
    const char *v1 = strchr(one, '['), *v2 = strchr(two, '[');
    snprintf(batch, sizeof batch, "{\"query_vectors\":[%.*s,%.*s],\"k\":%d,\"ef_search\":1000,%s}",
             (int)(strchr(v1, ']') - v1 + 1), v1, (int)(strchr(v2, ']') - v2 + 1), v2, K, filter);
    sv_response r;
    CHECK(cl_request(router, "POST", "/search", body, &r) == 200);
    check_labels(r.body, want[0]);
    sv_response_free(&r);
    CHECK(cl_request(router, "POST", "/search/batch", batch, &r) == 200);
    const char *second = r.body ? strstr(r.body, "]},{") : NULL;
    check_labels(r.body ? strstr(r.body, "{\"indices\"") : NULL, want[0]);
    check_labels(second ? second + 3 : NULL, want[1]);
    sv_response_free(&r);
    /* The shards' own 422 for a filter they refuse. */
    char *bad = strstr(body, "\"match\"");
    memcpy(bad, "\"matc!\"", 7);
    CHECK(cl_request(router, "POST", "/search", body, &r) == 422);
    CHECK(r.body && strstr(r.body, "filter.must[0]"));
    sv_response_free(&r);
    free(one);
    free(two);
    free(q);
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
    if (rows == NULL ||
        cl_build_shards_with(argv[2], "bulk", rows, COUNT, DIM, 0, SHARDS, parity, shards))
        return 1;
    int up = cl_start_shards(shards, SHARDS, argv[1], argv[2], "bulk", 1) == 0;
    if (up && cl_start_router(&router, argv[3], argv[2], "bulk", shards, SHARDS,
                              "--max-body 16k --max-bulk-body 1m") == 0) {
        check_filter(router.port, rows);
        check_split(router.port, shards);
        check_refused_record(router.port, shards);
        check_refused_bodies(router.port, shards);
        check_attributes(router.port);
    } else {
        check_failures++;
    }
    CHECK(cl_stop_router(&router) == 0);
    free(rows);
    if (cl_finish(shards, SHARDS, argv[2]) != 0)
        return 1;
    printf("bulk: NDJSON split, refusals, limits, filters: all checks passed\n");
    return 0;
}
