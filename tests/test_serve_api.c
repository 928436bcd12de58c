/*
 * test_serve_api.c - vw-serve's HTTP API layer without sockets: which
 * status answers which search failure, and the bodies of GET /, GET /stats
 * and of search answers, as the server sends them (tools/serve/api.c).
 */
#include "api.h"
#include "index_json.h"
#include "json.h"
#include "testutil.h"

static const char *text_of(const json_writer *w) {
    size_t len;
    const char *t = json_writer_text(w, &len);
    return t ? t : "(failed)";
}

/* Whose fault a failed search is: the client's (422) or the server's (500). */
static void test_failure_statuses(void) {
    api_error e;
    const vw_status client[] = {VW_ERR_ZERO_VECTOR, VW_ERR_NONFINITE, VW_ERR_DIMENSION,
                                VW_ERR_K,           VW_ERR_EF,        VW_ERR_INVALID_ARG};
    for (size_t i = 0; i < sizeof client / sizeof client[0]; i++)
        CHECK(api_search_failure(client[i], "", -1, &e) == 422 && e.status == 422);
    const vw_status server[] = {VW_ERR_NOMEM, VW_ERR_CORRUPT, VW_ERR_IO, VW_ERR_EMPTY_INDEX};
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++)
        CHECK(api_search_failure(server[i], "", -1, &e) == 500);

    CHECK(api_search_failure(VW_ERR_ZERO_VECTOR, "", 3, &e) == 422);
    CHECK(strcmp(e.message, "query_vectors[3]: the query vector has zero length and cannot be "
                            "normalized") == 0);
    /* The 422 body says where, in FastAPI's words. */
    json_writer w;
    json_writer_init(&w, 0, 0);
    api_write_error_at(&w, &e);
    size_t wlen;
    CHECK(strstr(json_writer_text(&w, &wlen),
                 "\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"query_vectors\",3],") !=
          NULL);
    json_writer_free(&w);
    CHECK(api_search_failure(VW_ERR_NONFINITE, "component 2 is NaN", -1, &e) == 422);
    CHECK(strstr(e.message, vw_strerror(VW_ERR_NONFINITE)) == e.message &&
          strstr(e.message, ": component 2 is NaN") != NULL);
    CHECK(api_search_failure(VW_ERR_NOMEM, NULL, -1, &e) == 500);
    CHECK(strcmp(e.message, vw_strerror(VW_ERR_NOMEM)) == 0);
}

static void test_health(void) {
    vw_stats info = {.count = 1000, .dim = 128};
    json_writer w;
    json_writer_init(&w, 0, 64);
    CHECK(api_write_health(&w, &info, 0) == 200);
    CHECK(strcmp(text_of(&w), "{\"status\":\"ok\",\"count\":1000,\"dim\":128}") == 0);
    json_writer_reset(&w);
    CHECK(api_write_health(&w, &info, 1) == 503);
    CHECK(strstr(text_of(&w), "{\"error\":\"the index file was changed in place") == text_of(&w));
    json_writer_free(&w);
}

static void test_stats(void) {
    vw_stats info = {.count = 7,
                     .dim = 3,
                     .metric = VW_METRIC_COSINE,
                     .M = 16,
                     .ef_construction = 200,
                     .max_level = -1,
                     .storage = VW_STORAGE_I8,
                     .bytes_per_vector = 3,
                     .float32_kept = 0,
                     .exact_distances = 0};
    api_server_stats sv = {.ef_search = 64,
                           .threads = 2,
                           .uptime_s = 1.5,
                           .requests = 9,
                           .queries = 4,
                           .index_reloads = 1,
                           .index_changed = 1};
    json_writer w;
    json_writer_init(&w, 0, 0);
    api_write_stats(&w, &info, 4096, &sv);
    const char *t = text_of(&w);
    CHECK(strncmp(t, "{\"count\":7,\"dim\":3,\"metric\":\"cosine\",\"M\":16,", 44) == 0);
    const char *members[] = {
        "\"max_level\":-1",    "\"storage\":\"i8\"",  "\"exact_distances\":false",
        "\"file_bytes\":4096", "\"ef_search\":64",    "\"normalize_queries\":true",
        "\"threads\":2",       "\"uptime_s\":1.5",    "\"requests\":9",
        "\"queries\":4",       "\"index_reloads\":1", "\"index_changed\":true",
        "\"simd\":\"",         "\"version\":\""};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if (strstr(t, members[i]) == NULL) {
            fprintf(stderr, "/stats lacks %s: %s\n", members[i], t);
            tu_failures++;
        }
    json_writer_free(&w);
}

/* A batch answer wraps the single answers in {"results":[...]}. */
static void test_results(void) {
    const uint64_t labels[2] = {4, 9};
    const float dists[2] = {0.25f, 1.0f};
    json_writer w;
    json_writer_init(&w, 0, 0);
    api_begin_results(&w, 1);
    tool_json_result(&w, labels, dists, 2);
    tool_json_result(&w, labels, dists, 1);
    api_end_results(&w, 1);
    CHECK(strcmp(text_of(&w), "{\"results\":[{\"indices\":[4,9],\"distances\":[0.25,1]},"
                              "{\"indices\":[4],\"distances\":[0.25]}]}") == 0);
    json_writer_reset(&w);
    api_begin_results(&w, 0);
    tool_json_result(&w, labels, dists, 2);
    api_end_results(&w, 0);
    CHECK(strcmp(text_of(&w), "{\"indices\":[4,9],\"distances\":[0.25,1]}") == 0);
    json_writer_free(&w);
}

int main(void) {
    test_failure_statuses();
    test_health();
    test_stats();
    test_results();
    return tu_result("test_serve_api");
}
