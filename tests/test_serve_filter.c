/* vw-serve and attributes: "filter" on /search and /search/batch returns
 * only matching elements (the same answers as the library's filtered
 * search), GET /vectors/{id} carries the attributes, a malformed filter is
 * a 422 whose detail names the place, and an unknown member of a search or
 * upsert body is a 422 extra_forbidden instead of being ignored. */
#include "test_serve_util.h"

#define N   400
#define DIM 8

static const char *filter = "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}},"
                            "{\"key\":\"price\",\"range\":{\"lt\":50}}]}";

static int result(void) {
    if (check_failures)
        fprintf(stderr, "test_serve_filter: %d check(s) failed\n", check_failures);
    else
        printf("test_serve_filter: all checks passed\n");
    return check_failures != 0;
}

static void post(unsigned port, const char *path, const char *body, int want, const char *needle) {
    sv_response r;
    CHECK(sv_roundtrip(port, "POST", path, body, &r) == 0);
    if (r.status != want || (needle && (!r.body || !strstr(r.body, needle)))) {
        fprintf(stderr, "POST %s %s: %d %s, want %d with \"%s\"\n", path, body, r.status,
                r.body ? r.body : "", want, needle ? needle : "");
        check_failures++;
    }
    sv_response_free(&r);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW-SERVE SCRATCH-DIR\n", argv[0]);
        return 2;
    }
    char dir[200], path[240], log[240];
    snprintf(dir, sizeof dir, "%s/filter", argv[2]);
    mkdir(argv[2], 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/attrs.vwi", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    vw_index *ix = sv_make_index(path, N, DIM, VW_METRIC_L2); /* labels 1000.. */
    CHECK(ix != NULL);
    if (!ix)
        return result();
    for (uint64_t i = 0; i < N; i++) { /* red when i % 4 == 0, price i / 4 */
        char json[96];
        snprintf(json, sizeof json, "{\"color\":\"%s\",\"price\":%u}", i % 4 ? "blue" : "red",
                 (unsigned)(i / 4));
        CHECK(vw_index_set_attributes(ix, 1000 + i, json, strlen(json)) == VW_OK);
    }
    CHECK(vw_index_save(ix, path) == VW_OK);
    sv_server s;
    CHECK(sv_start(&s, argv[1], path, log, NULL) == 0);
    float *q = sv_random_vectors(1, DIM);
    char *qb = sv_query_body(q, DIM, 10);
    /* {"query_vector":[...],"k":10} + filter */
    char body[4096];
    snprintf(body, sizeof body, "%.*s,\"filter\":%s}", (int)strlen(qb) - 1, qb, filter);
    sv_response r;
    CHECK(sv_roundtrip(s.port, "POST", "/search", body, &r) == 0 && r.status == 200);
    uint64_t labels[16];
    float dists[16];
    int n = r.body ? sv_parse_result(r.body, labels, dists, 16, NULL) : -1;
    CHECK(n == 10);
    for (int i = 0; i < n; i++) /* red (i % 4 == 0) and price < 50 (i < 200) */
        CHECK((labels[i] - 1000) % 4 == 0 && labels[i] - 1000 < 200);
    vw_filter *f = NULL;
    CHECK(vw_filter_parse(filter, strlen(filter), &f) == VW_OK);
    vw_search_options o;
    vw_search_options_default(&o);
    o.where = f;
    uint64_t want[10];
    uint32_t found = 0;
    CHECK(vw_index_search_ex(ix, q, 10, &o, want, NULL, &found) == VW_OK);
    CHECK(found == 10 && n == 10 && memcmp(want, labels, sizeof want) == 0);
    sv_response_free(&r);
    size_t at = (size_t)snprintf(body, sizeof body, "{\"query_vectors\":[[");
    for (int i = 0; i < DIM; i++)
        at += (size_t)snprintf(body + at, sizeof body - at, "%s%.9g", i ? "," : "", q[i]);
    snprintf(body + at, sizeof body - at, "]],\"k\":10,\"filter\":%s}", filter);
    post(s.port, "/search/batch", body, 200, "\"results\"");
    /* malformed filters: 422 naming the place */
    snprintf(body, sizeof body,
             "%.*s,\"filter\":{\"must\":[{\"key\":\"price\",\"range\":{\"lt\":"
             "\"5\"}}]}}",
             (int)strlen(qb) - 1, qb);
    post(s.port, "/search", body, 422, "filter.must[0].range.lt: expected a number");
    snprintf(body, sizeof body, "%.*s,\"filter\":{\"musst\":[]}}", (int)strlen(qb) - 1, qb);
    post(s.port, "/search", body, 422, "filter.musst: unknown member");
    /* unknown members: extra_forbidden, never ignored */
    snprintf(body, sizeof body, "%.*s,\"filtr\":{}}", (int)strlen(qb) - 1, qb);
    post(s.port, "/search", body, 422, "extra_forbidden");
    post(s.port, "/search/batch", "{\"query_vectors\":[],\"payload\":1}", 422, "extra_forbidden");
    /* the attributes of an element */
    CHECK(sv_roundtrip(s.port, "GET", "/vectors/1004", NULL, &r) == 0 && r.status == 200 &&
          r.body && strstr(r.body, "\"attributes\":{\"color\":\"red\",\"price\":1}"));
    sv_response_free(&r);
    vw_filter_free(f);
    free(q);
    free(qb);
    CHECK(sv_stop(&s) == 0);
    vw_index_free(ix);
    return result();
}
