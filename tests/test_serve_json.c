/*
 * test_serve_json.c - unit tests of vw-serve's strict JSON reader and writer
 * (tools/serve/json.c) and of request decoding and routing (tools/serve/api.c).
 */
#include "api.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* 0 if text is one valid JSON document, -1 otherwise. */
static int validate(const char *text, size_t len) {
    json_cursor cur;
    json_init(&cur, text, len);
    if (json_skip_value(&cur) != 0 || json_expect_end(&cur) != 0) {
        CHECK(cur.error != NULL);
        return -1;
    }
    return 0;
}

static void expect_valid(const char *text) {
    if (validate(text, strlen(text)) != 0) {
        fprintf(stderr, "rejected valid JSON: %s\n", text);
        failures++;
    }
}

static void expect_invalid(const char *text) {
    if (validate(text, strlen(text)) == 0) {
        fprintf(stderr, "accepted invalid JSON: %s\n", text);
        failures++;
    }
}

static void test_grammar(void) {
    expect_valid("{}");
    expect_valid(" [ ] ");
    expect_valid("0");
    expect_valid("-0.0e+0");
    expect_valid("\"\"");
    expect_valid("{\"a\":[1,-0,0.5,1e10,-1.5E-3,true,false,null,\"x\"],\"b\":{\"c\":{}}}");
    expect_valid("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"");
    expect_valid("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    expect_valid("\t\r\n{\"a\" : 1 }\n");

    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{,}",
        "[01]",
        "[+1]",
        "[.5]",
        "[1.]",
        "[1e]",
        "[1e+]",
        "[-]",
        "[NaN]",
        "[Infinity]",
        "[-Infinity]",
        "{'a':1}",
        "{a:1}",
        "{\"a\" 1}",
        "{\"a\":}",
        "[1 2]",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"a\tb\"",
        "\"a\nb\"",
        "\"abc",
        "[1] x",
        "tru",
        "nul",
        "True",
        "/* c */{}",
        "[1]]",
        "{\"a\":1}}",
        "[\"a\":1]",
        "0x10",
        "1 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i]);

    /* Invalid UTF-8: overlong, surrogate, above U+10FFFF, truncated, stray continuation. */
    static const char *const bad_utf8[] = {
        "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"", "\"\x80\"",         "\"\xe0\x80\xaf\""};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++)
        expect_invalid(bad_utf8[i]);
    /* A NUL byte inside a string is a control character. */
    CHECK(validate("\"a\0b\"", 5) != 0);
}

static void test_depth(void) {
    char text[2 * JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        text[n++] = '[';
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        text[n++] = ']';
    CHECK(validate(text, n) == 0);
    n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        text[n++] = '[';
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        text[n++] = ']';
    CHECK(validate(text, n) != 0);
}

static void test_strings_and_numbers(void) {
    json_cursor cur;
    char out[8];
    int truncated = -1;
    const char *s = "\"a\\u00e9\\n\"";
    json_init(&cur, s, strlen(s));
    CHECK(json_read_string(&cur, out, sizeof out, &truncated) == 0);
    CHECK(strcmp(out, "a\xc3\xa9\n") == 0 && truncated == 0);
    s = "\"abcdefghij\"";
    json_init(&cur, s, strlen(s));
    CHECK(json_read_string(&cur, out, sizeof out, &truncated) == 0);
    CHECK(truncated == 1 && strcmp(out, "abcdefg") == 0);
    CHECK(cur.p == s + strlen(s));

    float f = 0;
    double d = 0;
    CHECK(json_number_to_float("1e39", 4, &f) != 0);
    CHECK(json_number_to_float("-1e39", 5, &f) != 0);
    CHECK(json_number_to_float("1e-50", 5, &f) == 0 && f == 0.0f);
    CHECK(json_number_to_float("3.4028234e38", 12, &f) == 0 && isfinite(f));
    CHECK(json_number_to_float("0.25", 4, &f) == 0 && f == 0.25f);
    CHECK(json_number_to_double("1e400", 5, &d) != 0);
    CHECK(json_number_to_double("12", 2, &d) == 0 && d == 12.0);
    char longnum[JSON_MAX_NUMBER_LEN + 2];
    memset(longnum, '1', sizeof longnum);
    CHECK(json_number_to_double(longnum, sizeof longnum, &d) != 0);
}

static void test_writer(void) {
    json_buf b;
    json_buf_init(&b);
    json_buf_u64(&b, UINT64_MAX);
    json_buf_puts(&b, " ");
    json_buf_u64(&b, 0);
    json_buf_puts(&b, " ");
    json_buf_float(&b, 0.1f);
    json_buf_puts(&b, " ");
    json_buf_float(&b, -2.0);
    json_buf_puts(&b, " ");
    json_buf_string(&b, "q\"b\\s\n\x01");
    CHECK(!b.failed);
    CHECK(strcmp(b.data, "18446744073709551615 0 0.100000001 -2 \"q\\\"b\\\\s\\u000a\\u0001\"") ==
          0);
    json_buf_free(&b);

    /* No number that JSON cannot carry, and no null in its place: the
     * buffer fails and says why. */
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        json_buf_puts(&b, "[1,");
        json_buf_float(&b, nonfinite[i]);
        CHECK(b.failed && b.nonfinite);
        json_buf_puts(&b, "]");
        CHECK(strcmp(b.data, "[1,") == 0);
        json_buf_free(&b);
    }
    const uint64_t nan_labels[2] = {1, 2};
    const float nan_dists[2] = {0.5f, NAN};
    api_write_result(&b, nan_labels, nan_dists, 2);
    CHECK(b.failed && b.nonfinite);
    json_buf_free(&b);

    const uint64_t labels[2] = {5, 7};
    const float dists[2] = {0.5f, 0.25f};
    api_write_result(&b, labels, dists, 2);
    CHECK(strcmp(b.data, "{\"indices\":[5,7],\"distances\":[0.5,0.25]}") == 0);
    json_buf_free(&b);
    api_write_result(&b, labels, dists, 0);
    CHECK(strcmp(b.data, "{\"indices\":[],\"distances\":[]}") == 0);
    json_buf_free(&b);
    api_write_error(&b, "bad \"x\"");
    CHECK(strcmp(b.data, "{\"error\":\"bad \\\"x\\\"\"}") == 0);
    CHECK(validate(b.data, b.len) == 0);
    json_buf_free(&b);
}

static void test_routes(void) {
    api_route r;
    const char *allow = NULL;
    CHECK(api_route_request(HTTP_GET, "/", 1, &r, &allow) == 0 && r == API_HEALTH);
    CHECK(api_route_request(HTTP_HEAD, "/stats", 6, &r, &allow) == 0 && r == API_STATS);
    CHECK(api_route_request(HTTP_POST, "/search", 7, &r, &allow) == 0 && r == API_SEARCH);
    CHECK(api_route_request(HTTP_POST, "/search/batch", 13, &r, &allow) == 0 &&
          r == API_SEARCH_BATCH);
    CHECK(api_route_request(HTTP_POST, "/", 1, &r, &allow) == 405 &&
          strcmp(allow, "GET, HEAD") == 0);
    CHECK(api_route_request(HTTP_GET, "/search", 7, &r, &allow) == 405 &&
          strcmp(allow, "POST") == 0);
    CHECK(api_route_request(HTTP_OTHER, "/search/batch", 13, &r, &allow) == 405);
    CHECK(api_route_request(HTTP_GET, "/search/", 8, &r, &allow) == 404);
    CHECK(api_route_request(HTTP_GET, "/nope", 5, &r, &allow) == 404);
    CHECK(api_route_request(HTTP_GET, "", 0, &r, &allow) == 404);

    /* the write API */
    CHECK(api_route_request(HTTP_POST, "/vectors", 8, &r, &allow) == 0 && r == API_VECTORS);
    CHECK(api_route_request(HTTP_GET, "/vectors", 8, &r, &allow) == 405 &&
          strcmp(allow, "POST") == 0);
    CHECK(api_route_request(HTTP_POST, "/snapshot", 9, &r, &allow) == 0 && r == API_SNAPSHOT);
    CHECK(api_route_request(HTTP_GET, "/vectors/7", 10, &r, &allow) == 0 && r == API_VECTOR);
    CHECK(api_route_request(HTTP_HEAD, "/vectors/7", 10, &r, &allow) == 0 && r == API_VECTOR);
    CHECK(api_route_request(HTTP_DELETE, "/vectors/x", 10, &r, &allow) == 0 && r == API_VECTOR);
    CHECK(api_route_request(HTTP_POST, "/vectors/7", 10, &r, &allow) == 405 &&
          strcmp(allow, "GET, HEAD, DELETE") == 0);
    CHECK(api_route_request(HTTP_GET, "/vectors/", 9, &r, &allow) == 404);
    CHECK(api_route_request(HTTP_DELETE, "/search", 7, &r, &allow) == 405);
}

static int id_of(const char *path, uint64_t *id) {
    return api_parse_vector_id(path, strlen(path), id);
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

static void expect_upsert(const char *body, int status, const char *message_part) {
    api_upsert u;
    api_error err;
    int got = upsert_status(body, &u);
    if (got == 200)
        api_upsert_free(&u);
    if (got != status) {
        fprintf(stderr, "upsert body %s: expected %d, got %d\n", body, status, got);
        failures++;
    }
    if (got != 200 && message_part &&
        (api_parse_upsert(body, strlen(body), 3, &u, &err) == 0 ||
         !strstr(err.message, message_part))) {
        fprintf(stderr, "upsert body %s: message '%s' lacks '%s'\n", body, err.message,
                message_part);
        failures++;
    }
}

static void test_upsert_bodies(void) {
    api_upsert u;
    CHECK(upsert_status("{\"ids\":[7,18446744073709551615],\"vectors\":[[1,2,3],[4,5,6]]}", &u) ==
          200);
    CHECK(u.n == 2 && u.ids[0] == 7 && u.ids[1] == UINT64_MAX && u.vectors[5] == 6.0f);
    api_upsert_free(&u);
    CHECK(upsert_status("{\"vectors\":[[0.5,0,-1]],\"x\":[1],\"ids\":[0]}", &u) == 200);
    CHECK(u.n == 1 && u.ids[0] == 0 && u.vectors[0] == 0.5f);
    api_upsert_free(&u);

    /* 400: not JSON, wrong shape, missing or duplicated members */
    expect_upsert("", 400, "malformed JSON");
    expect_upsert("[]", 400, "JSON object");
    expect_upsert("{\"ids\":[1]}", 400, "missing member \"vectors\"");
    expect_upsert("{\"vectors\":[[1,2,3]]}", 400, "missing member \"ids\"");
    expect_upsert("{\"ids\":1,\"vectors\":[[1,2,3]]}", 400, "ids must be");
    expect_upsert("{\"ids\":[\"1\"],\"vectors\":[[1,2,3]]}", 400, "ids must be");
    expect_upsert("{\"ids\":[1],\"vectors\":[1,2,3]}", 400, "vectors[0]");
    expect_upsert("{\"ids\":[1],\"vectors\":{}}", 400, "vectors must be");
    expect_upsert("{\"ids\":[1],\"ids\":[2],\"vectors\":[[1,2,3]]}", 400, "duplicate");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,3]]", 400, "malformed JSON");
    /* 422: valid JSON, wrong values */
    expect_upsert("{\"ids\":[1,2],\"vectors\":[[1,2,3]]}", 422, "ids has 2 entries");
    expect_upsert("{\"ids\":[],\"vectors\":[]}", 422, "must not be empty");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2]]}", 422, "index dimension is 3");
    expect_upsert("{\"ids\":[1],\"vectors\":[[1,2,1e39]]}", 422, "finite float32");
    expect_upsert("{\"ids\":[-1],\"vectors\":[[1,2,3]]}", 422, "ids[0] must be an integer");
    expect_upsert("{\"ids\":[1.0],\"vectors\":[[1,2,3]]}", 422, "ids[0]");
    expect_upsert("{\"ids\":[1e2],\"vectors\":[[1,2,3]]}", 422, "ids[0]");
    expect_upsert("{\"ids\":[18446744073709551616],\"vectors\":[[1,2,3]]}", 422, "ids[0]");
    expect_upsert("{\"ids\":[5,6,5],\"vectors\":[[1,2,3],[1,2,3],[1,2,3]]}", 422,
                  "id 5 appears twice");
    /* a shape error wins over a value error */
    expect_upsert("{\"ids\":[-1],\"vectors\":[[1,\"2\",3]]}", 400, NULL);

    /* more than API_MAX_BATCH vectors */
    json_buf b;
    json_buf_init(&b);
    json_buf_puts(&b, "{\"ids\":[");
    for (unsigned i = 0; i <= API_MAX_BATCH; i++) {
        json_buf_puts(&b, i ? "," : "");
        json_buf_u64(&b, i);
    }
    json_buf_puts(&b, "],\"vectors\":[");
    for (unsigned i = 0; i <= API_MAX_BATCH; i++)
        json_buf_puts(&b, i ? ",[1,2,3]" : "[1,2,3]");
    json_buf_puts(&b, "]}");
    api_error err;
    CHECK(!b.failed && api_parse_upsert(b.data, b.len, 3, &u, &err) != 0 && err.status == 422 &&
          strstr(err.message, "more than") != NULL);
    json_buf_free(&b);

    json_buf_init(&b);
    float v[3] = {0.5f, -2.0f, 1e-3f};
    api_write_vector(&b, 9, v, 3);
    CHECK(!b.failed && strcmp(b.data, "{\"id\":9,\"vector\":[0.5,-2,0.00100000005]}") == 0);
    json_buf_free(&b);
}

/* Parses body for a dim-3 index with default ef 64; returns the status (200 = ok). */
static int parse_body(const char *body, int batch, api_search *out) {
    api_error err;
    if (api_parse_search(body, strlen(body), batch, 3, 64, API_DEFAULT_MAX_WORK, out, &err) == 0)
        return 200;
    CHECK(err.message[0] != '\0');
    CHECK(out->queries == NULL);
    return err.status;
}

static void expect_status(const char *body, int batch, int status) {
    api_search s;
    int got = parse_body(body, batch, &s);
    if (got != status) {
        fprintf(stderr, "body %s: expected %d, got %d\n", body, status, got);
        failures++;
    }
    if (got == 200)
        api_search_free(&s);
}

static void test_search_bodies(void) {
    api_search s;
    CHECK(parse_body("{\"query_vector\":[1,2.5,-3e-1]}", 0, &s) == 200);
    CHECK(s.nq == 1 && s.k == 10 && s.ef == 64);
    CHECK(s.queries[0] == 1.0f && s.queries[1] == 2.5f && s.queries[2] == -0.3f);
    api_search_free(&s);

    CHECK(parse_body(" {\"x\":{\"y\":[{}]},\"k\":3,\"ef_search\":1e2,\"query_vector\":[0,0,1]} ", 0,
                     &s) == 200);
    CHECK(s.nq == 1 && s.k == 3 && s.ef == 100 && s.queries[2] == 1.0f);
    api_search_free(&s);

    CHECK(parse_body("{\"query_vectors\":[[1,2,3],[4,5,6]],\"k\":2}", 1, &s) == 200);
    CHECK(s.nq == 2 && s.k == 2 && s.queries[3] == 4.0f && s.queries[5] == 6.0f);
    api_search_free(&s);
    CHECK(parse_body("{\"query_vectors\":[]}", 1, &s) == 200);
    CHECK(s.nq == 0);
    api_search_free(&s);

    /* 400: not JSON, wrong shape, missing or duplicated members. */
    expect_status("", 0, 400);
    expect_status("{\"query_vector\":[1,2,3]", 0, 400);
    expect_status("{\"query_vector\":[1,2,3],}", 0, 400);
    expect_status("{\"query_vector\":[1,2,NaN]}", 0, 400);
    expect_status("{\"query_vector\":[1,2]} trailing", 0, 400);
    expect_status("[1,2,3]", 0, 400);
    expect_status("{}", 0, 400);
    expect_status("{\"k\":3}", 0, 400);
    expect_status("{\"query_vectors\":[[1,2,3]]}", 0, 400);
    expect_status("{\"query_vector\":[1,2,3]}", 1, 400);
    expect_status("{\"query_vector\":\"1,2,3\"}", 0, 400);
    expect_status("{\"query_vector\":[1,\"2\",3]}", 0, 400);
    expect_status("{\"query_vector\":[1,null,3]}", 0, 400);
    expect_status("{\"query_vector\":[1,2,3],\"k\":\"10\"}", 0, 400);
    expect_status("{\"query_vector\":[1,2,3],\"k\":null}", 0, 400);
    expect_status("{\"query_vector\":[1,2,3],\"k\":1,\"k\":1}", 0, 400);
    expect_status("{\"query_vector\":[1,2,3],\"query_vector\":[1,2,3]}", 0, 400);
    expect_status("{\"query_vectors\":[1,2,3]}", 1, 400);
    expect_status("{\"query_vectors\":{}}", 1, 400);
    /* A syntax error wins over value errors seen before it. */
    expect_status("{\"query_vector\":[1,2],\"k\":0,", 0, 400);
    /* A shape error wins over a value error. */
    expect_status("{\"query_vector\":[1,2],\"k\":\"x\"}", 0, 400);

    /* 422: valid JSON, wrong values. */
    expect_status("{\"query_vector\":[1,2]}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3,4]}", 0, 422);
    expect_status("{\"query_vector\":[]}", 0, 422);
    expect_status("{\"query_vector\":[1,2,1e39]}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":0}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":-1}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":4097}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":4096}", 0, 200);
    expect_status("{\"query_vector\":[1,2,3],\"k\":1.5}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":1e999}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"ef_search\":0}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"ef_search\":65537}", 0, 422);
    expect_status("{\"query_vectors\":[[1,2,3],[1,2]]}", 1, 422);

    api_error err;
    const char *body = "{\"query_vectors\":[[1,2,3],[4,5]]}";
    CHECK(api_parse_search(body, strlen(body), 1, 3, 64, API_DEFAULT_MAX_WORK, &s, &err) != 0);
    CHECK(err.status == 422 && strstr(err.message, "query_vectors[1]") != NULL);

    /* Batch limits: queries x k results. */
    json_buf b;
    json_buf_init(&b);
    json_buf_puts(&b, "{\"k\":4096,\"query_vectors\":[");
    for (int i = 0; i < 300; i++)
        json_buf_puts(&b, i ? ",[1,2,3]" : "[1,2,3]");
    json_buf_puts(&b, "]}");
    CHECK(api_parse_search(b.data, b.len, 1, 3, 64, API_DEFAULT_MAX_WORK, &s, &err) != 0 &&
          err.status == 422);
    json_buf_free(&b);
}

int main(void) {
    test_grammar();
    test_depth();
    test_strings_and_numbers();
    test_writer();
    test_routes();
    test_search_bodies();
    test_vector_ids();
    test_upsert_bodies();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
