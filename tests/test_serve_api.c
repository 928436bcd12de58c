/*
 * test_serve_api.c - vw-serve's HTTP API layer without sockets: which
 * status answers which search or store failure, the bodies of GET /, GET
 * /stats and of search answers, as the server sends them (tools/serve/api.c),
 * and the write API's ids and bodies (tools/serve/api_vectors.c).
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
    api_write_stats(&w, &info, 4096, &sv, NULL);
    const char *t = text_of(&w);
    CHECK(strstr(t, "\"read_only\":true") && !strstr(t, "\"writes\""));
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
            check_failures++;
        }
    api_write_figures ws = {.store = {.log_bytes = 128, .writes = 5, .commits = 2},
                            .snapshot_failures = 1,
                            .seconds_since_snapshot = 2.5};
    json_writer_reset(&w);
    api_write_stats(&w, &info, 4096, &sv, &ws);
    t = text_of(&w);
    CHECK(strstr(t, "\"read_only\":false,\"writes\":{\"log_bytes\":128,\"log_records\":0,"
                    "\"writes\":5,\"log_syncs\":2,\"snapshots\":0,\"snapshot_failures\":1,") &&
          strstr(t, "\"seconds_since_snapshot\":2.5,\"failed\":false}"));
    json_writer_free(&w);
}

/* A bad id is FastAPI's answer to a path parameter that is not an int:
 * 422, loc ["path", "id"], type "int_parsing". */
static int id_of(const char *path, uint64_t *id) {
    api_error err;
    int rc = api_parse_vector_id(path, strlen(path), id, &err);
    if (rc != 0) {
        json_writer w;
        json_writer_init(&w, 0, 0);
        api_write_error_at(&w, &err);
        const char *t = text_of(&w);
        CHECK(err.status == 422 && strstr(t, "\"detail\":[{\"type\":\"int_parsing\","
                                             "\"loc\":[\"path\",\"id\"],\"msg\":"));
        json_writer_free(&w);
    }
    return rc;
}

static void test_vector_ids(void) {
    uint64_t id = 0;
    CHECK(id_of("/vectors/0", &id) == 0 && id == 0);
    CHECK(id_of("/vectors/42", &id) == 0 && id == 42);
    CHECK(id_of("/vectors/18446744073709551615", &id) == 0 && id == UINT64_MAX);
    CHECK(id_of("/vectors/18446744073709551616", &id) != 0); /* 2^64 */
    CHECK(id_of("/vectors/99999999999999999999", &id) != 0);
    CHECK(id_of("/vectors/007", &id) != 0);
    CHECK(id_of("/vectors/-1", &id) != 0);
    CHECK(id_of("/vectors/1e3", &id) != 0);
    CHECK(id_of("/vectors/12a", &id) != 0);
    CHECK(id_of("/vectors/", &id) != 0);
    CHECK(id_of("/vectors/7/x", &id) != 0);
    CHECK(id_of("/search/7", &id) != 0);
}

/* Parses a POST /vectors body for a dim-3 index; returns the status. */
static int upsert_status(const char *body, api_upsert *out) {
    api_error err;
    if (api_parse_upsert(body, strlen(body), 3, out, &err) == 0)
        return 200;
    CHECK(err.message[0] != '\0' && out->ids == NULL && out->vectors == NULL);
    return err.status;
}

/* detail_part: a piece of the error body's pydantic detail, or NULL. */
static void expect_upsert(const char *body, int status, const char *message_part,
                          const char *detail_part) {
    api_upsert u;
    api_error err;
    int got = upsert_status(body, &u);
    if (got == 200)
        api_upsert_free(&u);
    if (got != status) {
        fprintf(stderr, "upsert body %s: expected %d, got %d\n", body, status, got);
        check_failures++;
    }
    if (got != 200 && message_part &&
        (api_parse_upsert(body, strlen(body), 3, &u, &err) == 0 ||
         !strstr(err.message, message_part))) {
        fprintf(stderr, "upsert body %s: message '%s' lacks '%s'\n", body, err.message,
                message_part);
        check_failures++;
    }
    if (got != 200 && detail_part) {
        json_writer w;
        json_writer_init(&w, 0, 0);
        (void)api_parse_upsert(body, strlen(body), 3, &u, &err);
        api_write_error_at(&w, &err);
        if (!strstr(text_of(&w), detail_part)) {
            fprintf(stderr, "upsert body %s: error body %s lacks %s\n", body, text_of(&w),
                    detail_part);
            check_failures++;
        }
        json_writer_free(&w);
    }
}

static void test_upsert_bodies(void) {
    api_upsert u;
    CHECK(upsert_status("{\"ids\":[7,18446744073709551615],\"vectors\":[[1,2,3],[4,5,6]]}", &u) ==
          200);
    CHECK(u.n == 2 && u.ids[0] == 7 && u.ids[1] == UINT64_MAX && u.vectors[5] == 6.0f);
    api_upsert_free(&u);
    CHECK(upsert_status("{\"vectors\":[[0.5,0,-1]],\"ids\":[0]}", &u) == 200);
    CHECK(u.n == 1 && u.ids[0] == 0 && u.vectors[0] == 0.5f);
    api_upsert_free(&u);
    /* an unknown member is refused (extra_forbidden), never ignored */
    CHECK(upsert_status("{\"vectors\":[[0.5,0,-1]],\"x\":[1],\"ids\":[0]}", &u) == 422);

    /* Every failure is a 422, as in FastAPI; the detail says where. Not
     * JSON, wrong shape, missing or duplicated members: */
    expect_upsert("", 422, "malformed JSON", "\"type\":\"json_invalid\",\"loc\":[\"body\",0]");
    expect_upsert("[]", 422, "JSON object",
                  "\"type\":\"model_attributes_type\",\"loc\":[\"body\"]");
    expect_upsert("{\"ids\":[1]}", 422, "missing member \"vectors\"",
                  "\"type\":\"missing\",\"loc\":[\"body\",\"vectors\"]");
    expect_upsert("{\"vectors\":[[1,2,3]]}", 422, "missing member \"ids\"",
                  "\"loc\":[\"body\",\"ids\"]");
    expect_upsert("{\"ids\":1,\"vectors\":[[1,2,3]]}", 422, "ids must be",
                  "\"type\":\"list_type\",\"loc\":[\"body\",\"ids\"]");
    expect_upsert("{\"ids\":[\"1\"],\"vectors\":[[1,2,3]]}", 422, "ids must be",
                  "\"type\":\"int_type\",\"loc\":[\"body\",\"ids\",0]");
    expect_upsert("{\"ids\":[1],\"vectors\":[1,2,3]}", 422, "vectors[0]",
                  "\"type\":\"list_type\",\"loc\":[\"body\",\"vectors\",0]");
    expect_upsert("{\"ids\":[1],\"vectors\":{}}", 422, "vectors must be",
                  "\"loc\":[\"body\",\"vectors\"]");
    expect_upsert("{\"ids\":[1],\"ids\":[2],\"vectors\":[[1,2,3]]}", 422, "duplicate", NULL);
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,3]]", 422, "malformed JSON",
                  "\"type\":\"json_invalid\"");
    /* valid JSON, wrong values */
    expect_upsert("{\"ids\":[1,2],\"vectors\":[[1,2,3]]}", 422, "ids has 2 entries", NULL);
    expect_upsert("{\"ids\":[],\"vectors\":[]}", 422, "must not be empty",
                  "\"type\":\"too_short\"");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2]]}", 422, "index dimension is 3",
                  "\"type\":\"too_short\",\"loc\":[\"body\",\"vectors\",0]");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,1e39]]}", 422, "finite float32",
                  "\"type\":\"finite_number\",\"loc\":[\"body\",\"vectors\",0,2]");
    expect_upsert("{\"ids\":[-1],\"vectors\":[[1,2,3]]}", 422, "ids[0] must be an integer",
                  "\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"ids\",0]");
    expect_upsert("{\"ids\":[1.0],\"vectors\":[[1,2,3]]}", 422, "ids[0]", NULL);
    expect_upsert("{\"ids\":[1e2],\"vectors\":[[1,2,3]]}", 422, "ids[0]", NULL);
    expect_upsert("{\"ids\":[18446744073709551616],\"vectors\":[[1,2,3]]}", 422, "ids[0]", NULL);
    expect_upsert("{\"ids\":[5,6,5],\"vectors\":[[1,2,3],[1,2,3],[1,2,3]]}", 422,
                  "id 5 appears twice", NULL);
    /* a shape error wins over a value error */
    expect_upsert("{\"ids\":[-1],\"vectors\":[[1,\"2\",3]]}", 422, "vectors[0] must be",
                  "\"type\":\"float_type\"");

    /* more than API_MAX_BATCH vectors */
    json_writer w;
    json_writer_init(&w, 0, 0);
    json_begin_object(&w);
    json_key(&w, "ids");
    json_begin_array(&w);
    for (unsigned i = 0; i <= API_MAX_BATCH; i++)
        json_u64(&w, i);
    json_end_array(&w);
    json_key(&w, "vectors");
    json_begin_array(&w);
    for (unsigned i = 0; i <= API_MAX_BATCH; i++)
        json_raw(&w, "[1,2,3]");
    json_end_array(&w);
    json_end_object(&w);
    size_t len;
    const char *text = json_writer_text(&w, &len);
    api_error err;
    CHECK(text && api_parse_upsert(text, len, 3, &u, &err) != 0 && err.status == 422 &&
          strstr(err.message, "more than") != NULL);
    json_writer_free(&w);
}

/* The answers of the write API, and whose fault a failed store call is. */
/* "attributes" beside ids and vectors, and in an NDJSON line: objects or
 * nulls, each checked by the library, a bad one a 422 naming the place. */
static void test_upsert_attributes(void) {
    api_upsert u;
    const char *body = "{\"ids\":[1,2,3],\"vectors\":[[1,2,3],[4,5,6],[7,8,9]],"
                       "\"attributes\":[{\"c\": \"red\"},null,{\"n\":1,\"t\":[\"a\"]}]}";
    CHECK(upsert_status(body, &u) == 200);
    CHECK(u.n == 3 && u.attrs && u.attr_lens);
    const char *first = "{\"c\": \"red\"}", *third = "{\"n\":1,\"t\":[\"a\"]}";
    CHECK(u.attrs && u.attr_lens[0] == strlen(first) &&
          memcmp(u.attrs[0], first, strlen(first)) == 0);
    CHECK(u.attrs && u.attrs[1] == NULL && u.attr_lens[1] == 0);
    CHECK(u.attrs && u.attr_lens[2] == strlen(third) &&
          memcmp(u.attrs[2], third, strlen(third)) == 0);
    api_upsert_free(&u);
    CHECK(upsert_status("{\"ids\":[1],\"vectors\":[[1,2,3]]}", &u) == 200 && !u.attrs);
    api_upsert_free(&u);
    CHECK(upsert_status("{\"ids\":[1],\"vectors\":[[1,2,3]],\"attributes\":null}", &u) == 200 &&
          !u.attrs);
    api_upsert_free(&u);
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,3]],\"attributes\":null,\"attributes\":[{}]}",
                  422, "duplicate member", NULL);
    expect_upsert("{\"ids\":[1,2],\"vectors\":[[1,2,3],[4,5,6]],\"attributes\":[null,{\"a\":{"
                  "\"b\":1}}]}",
                  422, "attributes.a", "\"loc\":[\"body\",\"attributes\",1]");
    expect_upsert("{\"ids\":[1,2],\"vectors\":[[1,2,3],[4,5,6]],\"attributes\":[{}]}", 422,
                  "attributes has 1", "\"loc\":[\"body\",\"attributes\"]");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,3]],\"attributes\":[7]}", 422,
                  "expected an object", "\"loc\":[\"body\",\"attributes\",0]");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,3]],\"attributes\":{\"a\":1}}", 422, "array",
                  "\"loc\":[\"body\",\"attributes\"]");
    float v[3];
    uint64_t id;
    const char *attrs;
    size_t alen;
    api_error err;
    const char *line = "{\"id\":4,\"vector\":[1,2,3],\"attributes\":{\"k\":true}}";
    CHECK(api_parse_ndjson_line(line, strlen(line), 3, &id, v, &attrs, &alen, &err) == 0);
    CHECK(id == 4 && attrs && alen == 10 && memcmp(attrs, "{\"k\":true}", 10) == 0);
    line = "{\"id\":4,\"vector\":[1,2,3],\"attributes\":null}";
    CHECK(api_parse_ndjson_line(line, strlen(line), 3, &id, v, &attrs, &alen, &err) == 0);
    CHECK(attrs == NULL && alen == 0);
    line = "{\"id\":4,\"vector\":[1,2,3],\"attributes\":{\"k\":[1]}}";
    CHECK(api_parse_ndjson_line(line, strlen(line), 3, &id, v, &attrs, &alen, &err) != 0);
    CHECK(err.status == 422 && strstr(err.message, "attributes.k") != NULL);
}

static void test_write_answers(void) {
    json_writer w;
    json_writer_init(&w, 0, 0);
    float v[3] = {0.5f, -2.0f, 1e-3f};
    api_write_vector(&w, 9, v, 3, NULL);
    CHECK(strcmp(text_of(&w), "{\"id\":9,\"vector\":[0.5,-2,0.00100000005],\"attributes\":null}") ==
          0);
    json_writer_reset(&w);
    api_write_vector(&w, 9, v, 1, "{\"c\":\"red\"}");
    CHECK(strcmp(text_of(&w), "{\"id\":9,\"vector\":[0.5],\"attributes\":{\"c\":\"red\"}}") == 0);
    json_writer_reset(&w);
    api_write_upserted(&w, 2);
    CHECK(strcmp(text_of(&w), "{\"upserted\":2}") == 0);
    json_writer_reset(&w);
    api_write_deleted(&w, UINT64_MAX);
    CHECK(strcmp(text_of(&w), "{\"deleted\":18446744073709551615}") == 0);
    json_writer_reset(&w);
    api_write_snapshot(&w, 0.25);
    CHECK(strcmp(text_of(&w), "{\"snapshot\":\"written\",\"seconds\":0.25}") == 0);
    json_writer_free(&w);

    char msg[200];
    const vw_status client[] = {VW_ERR_NONFINITE, VW_ERR_ZERO_VECTOR, VW_ERR_DUPLICATE_LABEL,
                                VW_ERR_DIMENSION, VW_ERR_INVALID_ARG};
    for (size_t i = 0; i < sizeof client / sizeof client[0]; i++)
        CHECK(api_store_failure(client[i], "", msg, sizeof msg) == 422);
    CHECK(api_store_failure(VW_ERR_NOMEM, NULL, msg, sizeof msg) == 503);
    CHECK(api_store_failure(VW_ERR_IO, "fdatasync: no space", msg, sizeof msg) == 500);
    CHECK(strstr(msg, vw_strerror(VW_ERR_IO)) == msg && strstr(msg, ": fdatasync: no space"));
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
    test_vector_ids();
    test_upsert_bodies();
    test_upsert_attributes();
    test_write_answers();
    return tu_result("test_serve_api");
}
