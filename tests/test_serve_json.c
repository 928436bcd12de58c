/*
 * test_serve_json.c - unit tests of the tools' strict JSON reader and writer
 * (tools/common/json_*.c) and of vw-serve's request decoding and routing
 * (tools/serve/api.c).
 */
#include "api.h"
#include "index_json.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

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
        check_failures++;
    }
}

static void expect_invalid(const char *text) {
    if (validate(text, strlen(text)) == 0) {
        fprintf(stderr, "accepted invalid JSON: %s\n", text);
        check_failures++;
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

static const char *text_of(const json_writer *w) {
    size_t len;
    const char *t = json_writer_text(w, &len);
    return t ? t : "(failed)";
}

static void test_writer(void) {
    json_writer w;
    json_writer_init(&w, 0, 0);
    json_begin_array(&w);
    json_u64(&w, UINT64_MAX);
    json_u64(&w, 0);
    json_float(&w, 0.1f);
    json_double(&w, -2.0);
    json_double(&w, 0.971);
    json_i64(&w, -5);
    json_bool(&w, 1);
    json_string(&w, "q\"b\\s\n\x01");
    json_end_array(&w);
    CHECK(json_writer_ok(&w));
    CHECK(strcmp(text_of(&w), "[18446744073709551615,0,0.100000001,-2,0.971,-5,true,"
                              "\"q\\\"b\\\\s\\n\\u0001\"]") == 0);
    json_writer_free(&w);

    /* Pretty: members on their own lines, indented, and a final newline. */
    json_writer_init(&w, 1, 0);
    json_begin_object(&w);
    json_field_u64(&w, "a", 1);
    json_key(&w, "b");
    json_begin_array(&w);
    json_end_array(&w);
    json_end_object(&w);
    CHECK(strcmp(text_of(&w), "{\n  \"a\": 1,\n  \"b\": []\n}\n") == 0);
    json_writer_free(&w);

    /* No number that JSON cannot carry: the writer says the document is
     * unusable (null keeps the text well-formed for whoever looks). */
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        json_writer_init(&w, 0, 0);
        json_begin_array(&w);
        json_u64(&w, 1);
        json_double(&w, nonfinite[i]);
        json_end_array(&w);
        CHECK(!json_writer_ok(&w) && w.nonfinite && strcmp(text_of(&w), "[1,null]") == 0);
        json_writer_free(&w);
    }
    const uint64_t nan_labels[2] = {1, 2};
    const float nan_dists[2] = {0.5f, NAN};
    json_writer_init(&w, 0, 0);
    tool_json_result(&w, nan_labels, nan_dists, 2);
    CHECK(!json_writer_ok(&w) && w.nonfinite);
    json_writer_free(&w);

    const uint64_t labels[2] = {5, 7};
    const float dists[2] = {0.5f, 0.25f};
    json_writer_init(&w, 0, 0);
    tool_json_result(&w, labels, dists, 2);
    CHECK(strcmp(text_of(&w), "{\"indices\":[5,7],\"distances\":[0.5,0.25]}") == 0);
    json_writer_reset(&w);
    tool_json_result(&w, labels, dists, 0);
    CHECK(strcmp(text_of(&w), "{\"indices\":[],\"distances\":[]}") == 0);
    json_writer_reset(&w);
    api_write_error(&w, 404, "bad \"x\"");
    CHECK(strcmp(text_of(&w), "{\"error\":\"bad \\\"x\\\"\",\"detail\":\"bad \\\"x\\\"\"}") == 0);
    CHECK(validate(text_of(&w), strlen(text_of(&w))) == 0);
    json_writer_free(&w);

    /* Headroom: the text starts after it, and the room is kept on reset. */
    json_writer_init(&w, 0, 100);
    json_u64(&w, 42);
    size_t len;
    const char *t = json_writer_text(&w, &len);
    CHECK(t == w.data + 100 && len == 2 && memcmp(t, "42", 2) == 0);
    json_writer_free(&w);
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
    CHECK(strcmp(api_route_path(API_VECTOR), "/vectors/{id}") == 0);

    /* every route has its own name (the /metrics label) and is in the 404's list */
    for (int i = 0; i < API_UNROUTED; i++) {
        const char *path = api_route_path((api_route)i);
        CHECK(strstr(API_NOT_FOUND, path) != NULL);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(path, api_route_path((api_route)j)) != 0);
    }
}

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
        check_failures++;
    }
    if (got == 200)
        api_search_free(&s);
}

/* A 422 of the given pydantic type, located at `loc` (the JSON of the
 * error body's "loc" list). */
static void expect_422(const char *body, int batch, const char *type, const char *loc) {
    api_search s;
    api_error err;
    int rc = api_parse_search(body, strlen(body), batch, 3, 64, API_DEFAULT_MAX_WORK, &s, &err);
    CHECK(rc != 0);
    if (rc == 0) {
        api_search_free(&s);
        return;
    }
    json_writer w;
    json_writer_init(&w, 0, 0);
    api_write_error_at(&w, &err);
    char want[256];
    snprintf(want, sizeof want, "\"detail\":[{\"type\":\"%s\",\"loc\":%s,\"msg\":", type, loc);
    size_t wlen;
    const char *text = json_writer_text(&w, &wlen);
    if (err.status != 422 || strstr(text, want) == NULL) {
        fprintf(stderr, "body %s: expected 422 with %s, got %d %s\n", body, want, err.status, text);
        check_failures++;
    }
    CHECK(validate(text, strlen(text)) == 0);
    json_writer_free(&w);
}

static void test_search_bodies(void) {
    api_search s;
    CHECK(parse_body("{\"query_vector\":[1,2.5,-3e-1]}", 0, &s) == 200);
    CHECK(s.nq == 1 && s.k == 10 && s.ef == 64);
    CHECK(s.queries[0] == 1.0f && s.queries[1] == 2.5f && s.queries[2] == -0.3f);
    api_search_free(&s);

    CHECK(parse_body(" {\"k\":3,\"ef_search\":1e2,\"query_vector\":[0,0,1]} ", 0, &s) == 200);
    CHECK(s.nq == 1 && s.k == 3 && s.ef == 100 && s.queries[2] == 1.0f);
    api_search_free(&s);
    /* an unknown member is a 422 extra_forbidden, never ignored */
    CHECK(parse_body(" {\"x\":{\"y\":[{}]},\"k\":3,\"query_vector\":[0,0,1]} ", 0, &s) == 422);

    CHECK(parse_body("{\"query_vectors\":[[1,2,3],[4,5,6]],\"k\":2}", 1, &s) == 200);
    CHECK(s.nq == 2 && s.k == 2 && s.queries[3] == 4.0f && s.queries[5] == 6.0f);
    api_search_free(&s);
    CHECK(parse_body("{\"query_vectors\":[]}", 1, &s) == 200);
    CHECK(s.nq == 0);
    api_search_free(&s);

    /* Not JSON, the wrong shape, missing or duplicated members: 422 as in
     * FastAPI, with the pydantic error type and where it is. */
    expect_422("", 0, "json_invalid", "[\"body\",0]");
    expect_422("{\"query_vector\":[1,2,3]", 0, "json_invalid", "[\"body\",23]");
    expect_422("{\"query_vector\":[1,2,3],}", 0, "json_invalid", "[\"body\",24]");
    expect_status("{\"query_vector\":[1,2,NaN]}", 0, 422);
    expect_status("{\"query_vector\":[1,2]} trailing", 0, 422);
    expect_422("[1,2,3]", 0, "model_attributes_type", "[\"body\"]");
    expect_422("{}", 0, "missing", "[\"body\",\"query_vector\"]");
    expect_status("{\"k\":3}", 0, 422);
    expect_422("{\"query_vectors\":[[1,2,3]]}", 0, "missing", "[\"body\",\"query_vector\"]");
    expect_422("{\"query_vector\":[1,2,3]}", 1, "missing", "[\"body\",\"query_vectors\"]");
    expect_422("{\"query_vector\":\"1,2,3\"}", 0, "list_type", "[\"body\",\"query_vector\"]");
    expect_422("{\"query_vector\":[1,\"2\",3]}", 0, "float_type", "[\"body\",\"query_vector\",1]");
    expect_status("{\"query_vector\":[1,null,3]}", 0, 422);
    expect_422("{\"query_vector\":[1,2,3],\"k\":\"10\"}", 0, "int_type", "[\"body\",\"k\"]");
    expect_status("{\"query_vector\":[1,2,3],\"k\":null}", 0, 422);
    expect_422("{\"query_vector\":[1,2,3],\"k\":1,\"k\":1}", 0, "value_error", "[\"body\",\"k\"]");
    expect_status("{\"query_vector\":[1,2,3],\"query_vector\":[1,2,3]}", 0, 422);
    expect_422("{\"query_vectors\":[1,2,3]}", 1, "list_type", "[\"body\",\"query_vectors\",0]");
    expect_422("{\"query_vectors\":{}}", 1, "list_type", "[\"body\",\"query_vectors\"]");
    /* A syntax error wins over value errors seen before it. */
    expect_422("{\"query_vector\":[1,2],\"k\":0,", 0, "json_invalid", "[\"body\",28]");
    /* A shape error wins over a value error. */
    expect_422("{\"query_vector\":[1,2],\"k\":\"x\"}", 0, "int_type", "[\"body\",\"k\"]");

    /* 422: valid JSON, wrong values. */
    expect_422("{\"query_vector\":[1,2]}", 0, "too_short", "[\"body\",\"query_vector\"]");
    expect_422("{\"query_vector\":[1,2,3,4]}", 0, "too_long", "[\"body\",\"query_vector\"]");
    expect_status("{\"query_vector\":[]}", 0, 422);
    expect_status("{\"query_vector\":[1,2,1e39]}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":0}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":-1}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":4097}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"k\":4096}", 0, 200);
    expect_422("{\"query_vector\":[1,2,3],\"k\":1.5}", 0, "int_from_float", "[\"body\",\"k\"]");
    expect_422("{\"query_vector\":[1,2,3],\"k\":0}", 0, "greater_than_equal", "[\"body\",\"k\"]");
    expect_422("{\"query_vector\":[1,2,1e39]}", 0, "finite_number",
               "[\"body\",\"query_vector\",2]");
    expect_422("{\"query_vectors\":[[1,2,3],[1,2]]}", 1, "too_short",
               "[\"body\",\"query_vectors\",1]");
    /* Components of every form and spacing read as strtof reads them, and
     * a fault part-way through an array is named where it is: api.c reads
     * a usual vector in one loop and gives any other array back to the
     * general path, from its start. */
    CHECK(parse_body("{\"query_vector\":[ -0 ,\n1.5e-3,\t2E+1 ]}", 0, &s) == 200);
    CHECK(s.queries[0] == 0.0f && signbit(s.queries[0]) && s.queries[1] == strtof("1.5e-3", NULL) &&
          s.queries[2] == 20.0f);
    api_search_free(&s);
    CHECK(parse_body("{\"query_vectors\":[[1,2,3],[0.25,-4,1e-2]]}", 1, &s) == 200);
    CHECK(s.nq == 2 && s.queries[3] == 0.25f && s.queries[4] == -4.0f &&
          s.queries[5] == strtof("1e-2", NULL));
    api_search_free(&s);
    expect_422("{\"query_vector\":[1,2 3]}", 0, "json_invalid", "[\"body\",21]");
    expect_422("{\"query_vector\":[1,2,3,]}", 0, "json_invalid", "[\"body\",23]");
    expect_422("{\"query_vector\":[1,2,1e39,4]}", 0, "finite_number",
               "[\"body\",\"query_vector\",2]");
    expect_422("{\"query_vectors\":[[1,2,3],[1,\"2\",3]]}", 1, "float_type",
               "[\"body\",\"query_vectors\",1,1]");
    expect_status("{\"query_vector\":[1,2,3],\"k\":1e999}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"ef_search\":0}", 0, 422);
    expect_status("{\"query_vector\":[1,2,3],\"ef_search\":65537}", 0, 422);
    expect_status("{\"query_vectors\":[[1,2,3],[1,2]]}", 1, 422);

    api_error err;
    const char *body = "{\"query_vectors\":[[1,2,3],[4,5]]}";
    CHECK(api_parse_search(body, strlen(body), 1, 3, 64, API_DEFAULT_MAX_WORK, &s, &err) != 0);
    CHECK(err.status == 422 && strstr(err.message, "query_vectors[1]") != NULL);

    /* Batch limits: queries x k results. */
    json_writer w;
    json_writer_init(&w, 0, 0);
    json_begin_object(&w);
    json_field_u64(&w, "k", 4096);
    json_key(&w, "query_vectors");
    json_begin_array(&w);
    for (int i = 0; i < 300; i++) {
        json_begin_array(&w);
        for (int j = 1; j <= 3; j++)
            json_u64(&w, (uint64_t)j);
        json_end_array(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    size_t len;
    const char *text = json_writer_text(&w, &len);
    CHECK(api_parse_search(text, len, 1, 3, 64, API_DEFAULT_MAX_WORK, &s, &err) != 0 &&
          err.status == 422);
    json_writer_free(&w);
}

/* json_number_to_float takes a fast path without strtof for most inputs:
 * it must give strtof's float, bit for bit, on every kind of number. */
static void test_float_fast_path(void) {
    uint64_t state = 0x243F6A8885A308D3ull;
    char text[64];
    long mismatches = 0;
    for (int i = 0; i < 300000; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        uint32_t bits = (uint32_t)state;
        float f;
        memcpy(&f, &bits, sizeof f);
        int kind = (int)((state >> 40) % 6);
        if (!isfinite(f))
            continue;
        if (kind == 0)
            snprintf(text, sizeof text, "%.9g", (double)f);
        else if (kind == 1)
            snprintf(text, sizeof text, "%.17g", (double)f);
        else if (kind == 2)
            snprintf(text, sizeof text, "%.6g", (double)f);
        else if (kind == 3) /* a normalized component as a client prints it */
            snprintf(text, sizeof text, "%.9g", (double)(f / (float)(1ull << 40)) / 1e-12);
        else if (kind == 4)
            snprintf(text, sizeof text, "%.*f", (int)(state % 13), (double)(bits % 100000) / 997.0);
        else
            snprintf(text, sizeof text, "%llue%d",
                     (unsigned long long)(state >> 20) % 100000000000ull, (int)(state % 41) - 20);
        float want = strtof(text, NULL), got = 0;
        if (!isfinite(want))
            continue;
        if (json_number_to_float(text, strlen(text), &got) != 0 ||
            memcmp(&want, &got, sizeof want) != 0) {
            if (mismatches++ < 5)
                fprintf(stderr, "%s: strtof %.9g, json_number_to_float %.9g\n", text, (double)want,
                        (double)got);
        }
    }
    CHECK(mismatches == 0);
    float got;
    CHECK(json_number_to_float("-0", 2, &got) == 0 && got == 0 && signbit(got));
    CHECK(json_number_to_float("0.000", 5, &got) == 0 && got == 0 && !signbit(got));
    CHECK(json_number_to_float("1e39", 4, &got) != 0);
    CHECK(json_number_to_float("1e-50", 5, &got) == 0 && got == 0);
}

int main(void) {
    test_grammar();
    test_depth();
    test_strings_and_numbers();
    test_float_fast_path();
    test_writer();
    test_routes();
    test_search_bodies();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}
