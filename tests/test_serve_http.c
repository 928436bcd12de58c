/*
 * test_serve_http.c - unit tests of vw-serve's HTTP request parser (tools/serve/http.c).
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_BODY 1000u

typedef struct outcome {
    http_parse_result result;
    http_request req;
    int status;
    const char *reason;
} outcome;

static outcome parse(const char *text) {
    outcome o;
    o.status = 0;
    o.reason = NULL;
    o.result = http_parse_request(text, strlen(text), MAX_BODY, &o.req, &o.status, &o.reason);
    return o;
}

/* The request must fail with `status`, and every prefix must be incomplete
 * or fail with the same status (never succeed). */
static void expect_error(const char *text, int status) {
    outcome o = parse(text);
    if (o.result != HTTP_PARSE_ERROR || o.status != status) {
        fprintf(stderr, "expected %d for [%s], got result %d status %d\n", status, text,
                (int)o.result, o.status);
        check_failures++;
    }
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) {
        http_request req;
        int st = 0;
        const char *why = NULL;
        http_parse_result r = http_parse_request(text, i, MAX_BODY, &req, &st, &why);
        CHECK(r == HTTP_PARSE_INCOMPLETE || (r == HTTP_PARSE_ERROR && st == status));
    }
}

static int path_is(const http_request *req, const char *path) {
    return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static void test_simple_get(void) {
    const char *text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    outcome o = parse(text);
    CHECK(o.result == HTTP_PARSE_DONE);
    CHECK(o.req.method == HTTP_GET);
    CHECK(path_is(&o.req, "/"));
    CHECK(o.req.minor_version == 1);
    CHECK(o.req.keep_alive == 1);
    CHECK(o.req.content_length == 0);
    CHECK(o.req.head_len == strlen(text));
    /* Every strict prefix is merely incomplete. */
    for (size_t i = 0; i < strlen(text); i++) {
        http_request req;
        int st = 0;
        const char *why = NULL;
        CHECK(http_parse_request(text, i, MAX_BODY, &req, &st, &why) == HTTP_PARSE_INCOMPLETE);
    }
}

static void test_post_and_pipelining(void) {
    const char *text = "POST /search?x=1&y=%20 HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n"
                       "Content-Type: application/json\r\n\r\n{\"k\":1}     "
                       "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n";
    outcome o = parse(text);
    CHECK(o.result == HTTP_PARSE_DONE);
    CHECK(o.req.method == HTTP_POST);
    CHECK(path_is(&o.req, "/search"));
    CHECK(o.req.content_length == 12);
    size_t first = o.req.head_len + (size_t)o.req.content_length;
    CHECK(memcmp(text + first, "GET /stats", 10) == 0);
    o = parse(text + first);
    CHECK(o.result == HTTP_PARSE_DONE);
    CHECK(path_is(&o.req, "/stats"));
    CHECK(o.req.head_len == strlen(text + first));
}

static void test_keep_alive_rules(void) {
    CHECK(parse("GET / HTTP/1.0\r\n\r\n").req.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").req.keep_alive == 1);
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").req.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nconnection: Upgrade, CLOSE\r\n\r\n").req.keep_alive ==
          0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n\r\n")
              .req.keep_alive == 1);
}

static void test_misc_accepts(void) {
    outcome o = parse("\r\n\r\nHEAD /stats HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.method == HTTP_HEAD);
    o = parse("DELETE /vectors/7 HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.method == HTTP_DELETE);
    o = parse("PUT /vectors HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.method == HTTP_OTHER);
    o = parse("get / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.method == HTTP_OTHER);
    o = parse("POST /search HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
              "Content-Length: 5\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.expect_continue == 1);
    o = parse("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.content_length == 1000);
    o = parse("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Utf8: \xc3\xa9t\xc3\xa9\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE);
    /* RFC 9112 6.3: neither Content-Length nor Transfer-Encoding is an
     * empty body, for a POST too (curl -X POST sends one). */
    o = parse("POST /snapshot HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.content_length == 0);
}

static int span_is(http_span s, const char *lit) {
    return s.p != NULL && s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* The headers the application reads: keys, client address, media type. */
static void test_app_headers(void) {
    outcome o = parse("POST /vectors HTTP/1.1\r\nHost: h\r\nAuthorization: bearer  abc.def \r\n"
                      "X-API-Key: k1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n"
                      "Content-Type: application/x-ndjson; charset=utf-8\r\n"
                      "Content-Length: 0\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE);
    CHECK(span_is(o.req.bearer, "abc.def"));
    CHECK(span_is(o.req.api_key, "k1"));
    CHECK(span_is(o.req.forwarded_for, "10.0.0.1, 10.0.0.2"));
    CHECK(span_is(o.req.content_type, "application/x-ndjson"));
    o = parse("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dTpw\r\n\r\n");
    CHECK(o.result == HTTP_PARSE_DONE && o.req.bearer.p == NULL);
    o = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.req.bearer.p == NULL && o.req.api_key.p == NULL && o.req.content_type.p == NULL);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer a\r\n"
                 "Authorization: Bearer b\r\n\r\n",
                 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-API-Key: a\r\nX-API-Key: b\r\n\r\n", 400);
}

static void test_errors(void) {
    expect_error("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
    expect_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    expect_error("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    expect_error("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    expect_error("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
    expect_error(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nX: a\rz\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400);
    /* Junk is refused before a line ends: a TLS handshake, binary, bad targets. */
    expect_error("\x16\x03\x01\x02", 400);
    expect_error("GET /\x01", 400);
    expect_error("GET x", 400);
    expect_error("GET / HTTP/1.1x", 400);
    expect_error("GET / HTTP/1\r", 400);
    expect_error("GET / XTTP", 400);
    expect_error("GET\t/", 400);
    expect_error("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 400);
    CHECK(parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: h\r\n\r\n").result ==
          HTTP_PARSE_DONE);
    CHECK(parse("GET / HTTP/1.1\r").result == HTTP_PARSE_INCOMPLETE);
    CHECK(parse("\r\n\r").result == HTTP_PARSE_INCOMPLETE);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 411);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\n"
                 "Content-Length: 99999999999999999999999999\r\n\r\n",
                 413);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 12a\r\n\r\n", 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: +12\r\n\r\n", 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
                 "Content-Length: 2\r\n\r\n",
                 400);
    expect_error("POST /search HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n"
                 "Content-Length: 2\r\n\r\n",
                 417);
}

static void test_head_limit(void) {
    size_t n = HTTP_MAX_HEAD + 100;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'a', n);
    memcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: ", 33);
    big[n] = '\0';
    http_request req;
    int st = 0;
    const char *why = NULL;
    CHECK(http_parse_request(big, HTTP_MAX_HEAD - 1, MAX_BODY, &req, &st, &why) ==
          HTTP_PARSE_INCOMPLETE);
    CHECK(http_parse_request(big, n, MAX_BODY, &req, &st, &why) == HTTP_PARSE_ERROR);
    CHECK(st == 431);
    /* A head ending exactly at the limit is fine. */
    memcpy(big + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
    CHECK(http_parse_request(big, n, MAX_BODY, &req, &st, &why) == HTTP_PARSE_DONE);
    CHECK(req.head_len == HTTP_MAX_HEAD);
    free(big);
}

static void test_format_head(void) {
    char buf[512];
    size_t n = http_format_head(buf, sizeof buf, 405, 17, 1, "Allow: POST\r\n");
    CHECK(n > 0 && n < sizeof buf);
    buf[n] = '\0';
    CHECK(strncmp(buf, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
    CHECK(strstr(buf, "\r\nContent-Length: 17\r\n") != NULL);
    CHECK(strstr(buf, "\r\nAllow: POST\r\n") != NULL);
    CHECK(strstr(buf, "\r\nConnection: keep-alive\r\n\r\n") != NULL);
    CHECK(strstr(buf, "\r\nDate: ") != NULL);
    /* The head we write parses as a valid message head by our own rules. */
    n = http_format_head(buf, sizeof buf, 200, 0, 0, NULL);
    buf[n] = '\0';
    CHECK(strstr(buf, "Connection: close\r\n\r\n") != NULL);
    CHECK(http_format_head(buf, 20, 200, 0, 0, NULL) == 0);
    CHECK(strcmp(http_reason_phrase(413), "Content Too Large") == 0);
    CHECK(strcmp(http_reason_phrase(299), "Unknown") == 0);
}

int main(void) {
    test_simple_get();
    test_post_and_pipelining();
    test_keep_alive_rules();
    test_misc_accepts();
    test_app_headers();
    test_errors();
    test_head_limit();
    test_format_head();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}
