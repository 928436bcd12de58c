/*
 * test_hostile_http.c - raw bytes and hostile JSON against vw-serve.
 *
 *   http: request heads as a hostile client writes them on a raw socket
 *         (smuggling attempts, bad framing, junk protocols, controls, huge
 *         heads, slow and half-closed clients); each gets its documented
 *         status, the connection is kept or closed as documented, and the
 *         server answers everyone afterwards.
 *   json: search bodies that are not JSON, JSON of the wrong shape, values
 *         out of range, limits, plus a few hundred mutations of a valid
 *         body; only 200 and 422 are acceptable, every error body is
 *         {"error":...} and every 200 holds only numbers.
 *
 * Usage: test_hostile_http CASE VW-SERVE VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH
 */
#include "test_hostile.h"

#define DIM 4

typedef struct raw_case {
    const char *name;
    const char *bytes;
    size_t len; /* 0: strlen(bytes) */
    int status;
    int closes; /* the server closes after the answer (else it keeps the connection) */
    int head;   /* a HEAD request: no body follows */
} raw_case;

#define H "Host: x\r\n"
/* A literal that holds NUL bytes, with its length. */
#define BYTES(lit) lit, sizeof(lit) - 1

static const raw_case raw_cases[] = {
    {"plain GET", "GET / HTTP/1.1\r\n" H "\r\n", 0, 200, 0, 0},
    {"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", 0, 200, 1, 0},
    {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 200, 0, 0},
    {"HEAD", "HEAD / HTTP/1.1\r\n" H "\r\n", 0, 200, 0, 1},
    {"stats", "GET /stats HTTP/1.1\r\n" H "\r\n", 0, 200, 0, 0},
    /* ids in /vectors/{id}: a bad one is FastAPI's path parameter 422 */
    {"vector id junk", "GET /vectors/abc HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"vector id 2^64", "GET /vectors/18446744073709551616 HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"vector id negative", "DELETE /vectors/-1 HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"vector id encoded", "GET /vectors/1%30 HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"vector id nested", "GET /vectors/1/2 HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"write to read-only", "POST /vectors HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\n{}", 0, 403, 0,
     0},
    {"query string", "GET /?a=1&b=%20 HTTP/1.1\r\n" H "\r\n", 0, 200, 0, 0},
    {"empty lines first", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, 200, 0, 0},
    {"obs-text value", "GET / HTTP/1.1\r\n" H "X-A: \xc3\xa9\xff\r\n\r\n", 0, 200, 0, 0},
    {"GET with a body", "GET / HTTP/1.1\r\n" H "Content-Length: 3\r\n\r\nabc", 0, 200, 0, 0},
    {"Connection: close", "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", 0, 200, 1, 0},
    {"keep-alive, close", "GET / HTTP/1.1\r\n" H "Connection: keep-alive, close\r\n\r\n", 0, 200, 1,
     0},
    {"Expect on GET", "GET / HTTP/1.1\r\n" H "Expect: 100-continue\r\n\r\n", 0, 200, 0, 0},
    {"unknown path", "GET /nope HTTP/1.1\r\n" H "\r\n", 0, 404, 0, 0},
    {"path traversal", "GET /../../etc/passwd HTTP/1.1\r\n" H "\r\n", 0, 404, 0, 0},
    {"encoded path", "GET /%73tats HTTP/1.1\r\n" H "\r\n", 0, 404, 0, 0},
    {"trailing slash", "GET /stats/ HTTP/1.1\r\n" H "\r\n", 0, 404, 0, 0},
    {"GET /search", "GET /search HTTP/1.1\r\n" H "\r\n", 0, 405, 0, 0},
    {"POST /", "POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 0, 405, 0, 0},
    {"DELETE /", "DELETE / HTTP/1.1\r\n" H "\r\n", 0, 405, 0, 0},
    {"PUT /search", "PUT /search HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 0, 405, 0, 0},
    {"lowercase method", "get / HTTP/1.1\r\n" H "\r\n", 0, 405, 0, 0},
    {"32-byte method", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF / HTTP/1.1\r\n" H "\r\n", 0, 405, 0, 0},
    {"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"POST not JSON", "POST /search HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", 0, 422, 0, 0},
    {"POST empty object", "POST /search HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\n{}", 0, 422, 0,
     0},
    {"no Host", "GET / HTTP/1.1\r\n\r\n", 0, 400, 1, 0},
    {"two Hosts", "GET / HTTP/1.1\r\n" H H "\r\n", 0, 400, 1, 0},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n" H "\r\n", 0, 505, 1, 0},
    {"HTTP/1.2", "GET / HTTP/1.2\r\n" H "\r\n", 0, 505, 1, 0},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 0, 505, 1, 0},
    {"lowercase version", "GET / http/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"version junk", "GET / HTTP/1.1x\r\n" H "\r\n", 0, 400, 1, 0},
    {"no version", "GET /\r\n" H "\r\n", 0, 400, 1, 0},
    {"two spaces", "GET  / HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"tab separator", "GET\t/ HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"absolute form", "GET http://x/ HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"control in target", "GET /\x01 HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"NUL in target", BYTES("GET /\0 HTTP/1.1\r\n" H "\r\n"), 400, 1, 0},
    {"bad percent", "GET /%zz HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"cut percent", "GET /% HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"fragment", "GET /#x HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    {"bare LF", "GET / HTTP/1.1\n" H "\n", 0, 400, 1, 0},
    {"bare LF in headers", "GET / HTTP/1.1\r\nHost: x\n\r\n", 0, 400, 1, 0},
    {"folded header", "GET / HTTP/1.1\r\n" H "X-A: 1\r\n  continued\r\n\r\n", 0, 400, 1, 0},
    {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400, 1, 0},
    {"no colon", "GET / HTTP/1.1\r\n" H "Nonsense\r\n\r\n", 0, 400, 1, 0},
    {"empty name", "GET / HTTP/1.1\r\n" H ": x\r\n\r\n", 0, 400, 1, 0},
    {"DEL in name", "GET / HTTP/1.1\r\n" H "X\x7f: y\r\n\r\n", 0, 400, 1, 0},
    {"control in value", "GET / HTTP/1.1\r\n" H "X-A: a\x01z\r\n\r\n", 0, 400, 1, 0},
    {"NUL in value", BYTES("GET / HTTP/1.1\r\n" H "X-A: a\0z\r\n\r\n"), 400, 1, 0},
    {"TLS ClientHello", BYTES("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400, 1, 0},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 400, 1, 0},
    {"binary junk", BYTES("\xff\xfe\xfd\x00\x01\x02 garbage"), 400, 1, 0},
    {"33-byte method", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n" H "\r\n", 0, 400, 1, 0},
    /* no Content-Length and no Transfer-Encoding: an empty body (RFC 9112) */
    {"POST without length", "POST /search HTTP/1.1\r\n" H "\r\n", 0, 422, 0, 0},
    {"chunked",
     "POST /search HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0, 411,
     1, 0},
    {"TE and CL (smuggling)",
     "POST /search HTTP/1.1\r\n" H "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", 0,
     411, 1, 0},
    {"CL and TE (smuggling)",
     "POST /search HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}", 0, 411,
     1, 0},
    {"two lengths (smuggling)",
     "POST /search HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 0, 400, 1,
     0},
    {"negative length", "POST /search HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 0, 400, 1, 0},
    {"length with sign", "POST /search HTTP/1.1\r\n" H "Content-Length: +2\r\n\r\n{}", 0, 400, 1,
     0},
    {"length in hex", "POST /search HTTP/1.1\r\n" H "Content-Length: 0x2\r\n\r\n{}", 0, 400, 1, 0},
    {"length list", "POST /search HTTP/1.1\r\n" H "Content-Length: 2, 2\r\n\r\n{}", 0, 400, 1, 0},
    {"empty length", "POST /search HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 0, 400, 1, 0},
    {"length over max-body", "POST /search HTTP/1.1\r\n" H "Content-Length: 1048577\r\n\r\n", 0,
     413, 1, 0},
    {"length beyond 2^64",
     "POST /search HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999999\r\n\r\n", 0, 413, 1,
     0},
    {"Expect: other", "POST /search HTTP/1.1\r\n" H "Expect: 200-ok\r\nContent-Length: 2\r\n\r\n{}",
     0, 417, 1, 0},
};

/* A request is answered (and, when the connection stays open, the next one
 * is too); error answers are JSON {"error":...}. */
static void run_raw_case(unsigned port, const raw_case *rc) {
    sv_conn c;
    sv_response r;
    size_t len = rc->len ? rc->len : strlen(rc->bytes);
    CHECK(sv_connect(&c, port) == 0);
    CHECK(sv_send(&c, rc->bytes, len) == 0);
    int got = sv_read_response_ex(&c, &r, rc->head);
    if (got != 0 || r.status != rc->status) {
        fprintf(stderr, "%s: expected %d, got %d\n", rc->name, rc->status,
                got == 0 ? r.status : -1);
        check_failures++;
    } else if (rc->status >= 400) {
        CHECK(r.body && strncmp(r.body, "{\"error\":\"", 10) == 0);
    }
    sv_response_free(&r);
    if (got == 0 && rc->closes) {
        if (!sv_sees_eof(&c)) {
            fprintf(stderr, "%s: the connection should be closed\n", rc->name);
            check_failures++;
        }
    } else if (got == 0) {
        if (sv_exchange(&c, "GET", "/", NULL, &r) != 0 || r.status != 200) {
            fprintf(stderr, "%s: the connection should still serve\n", rc->name);
            check_failures++;
        }
        sv_response_free(&r);
    }
    sv_close(&c);
}

/* Heads too large, a client that never finishes, one that half-closes. */
static void run_slow_and_large(unsigned port) {
    static char big[10000];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\n" H "X-Pad: ");
    memset(big + n, 'a', 9000);
    memcpy(big + n + 9000, "\r\n\r\n", 4);
    raw_case large_header = {"9 KB header", big, (size_t)n + 9004, 431, 1, 0};
    run_raw_case(port, &large_header);
    static char line[10000];
    n = snprintf(line, sizeof line, "GET /");
    memset(line + n, 'a', 9000);
    memcpy(line + n + 9000, " HTTP/1.1\r\n" H "\r\n", 20);
    raw_case long_line = {"9 KB target", line, (size_t)n + 9020, 431, 1, 0};
    run_raw_case(port, &long_line);
    raw_case body_pending = {"body never sent",
                             "POST /search HTTP/1.1\r\n" H "Content-Length: 50\r\n\r\n{\"q",
                             0,
                             408,
                             1,
                             0};
    run_raw_case(port, &body_pending); /* --timeout-ms 1000: 408 after it */
    raw_case head_pending = {"head never ends", "GET / HTTP/1.1\r\n" H, 0, 408, 1, 0};
    run_raw_case(port, &head_pending);

    sv_conn c;
    sv_response r;
    CHECK(sv_connect(&c, port) == 0);
    const char *req = "GET /stats HTTP/1.1\r\n" H "\r\n";
    CHECK(sv_send(&c, req, strlen(req)) == 0);
    shutdown(c.fd, SHUT_WR);
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 200);
    sv_response_free(&r);
    CHECK(sv_sees_eof(&c));
    sv_close(&c);
}

static void hx_case_http(void) {
    const char *path = hx_file("http.vwi");
    vw_index *ix = hx_make_index(path, 300, DIM, 1);
    CHECK(ix != NULL);
    vw_index_free(ix);
    sv_server s;
    const char *const args[] = {"--timeout-ms", "1000", "--threads", "2", NULL};
    if (hx_serve(&s, path, hx_file("http.log"), args, NULL) != 0) {
        check_failures++;
        return;
    }
    for (size_t i = 0; i < sizeof raw_cases / sizeof raw_cases[0]; i++)
        run_raw_case(s.port, &raw_cases[i]);
    run_slow_and_large(s.port);
    sv_response r;
    CHECK(sv_roundtrip(s.port, "GET", "/", NULL, &r) == 0 && r.status == 200);
    sv_response_free(&r);
    CHECK(sv_stop(&s) == 0);
}

/* ------------------------------------------------------------------ json */

typedef struct json_case {
    int batch;
    const char *body;
    int status;
    const char *needle; /* in the error message, or NULL */
} json_case;

#define V4 "[1,2,3,4]"

static const json_case json_cases[] = {
    {0, "{\"query_vector\":" V4 "}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"k\":1}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"k\":4096}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"k\":1e1}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"k\":10.0}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"k\":3,\"ef_search\":1}", 200, NULL},
    {0, "{\"query_vector\":" V4 ",\"ef_search\":65536,\"k\":4096}", 200, NULL},
    {0, "{\"k\":3,\"query_vector\":" V4 "}", 200, NULL},
    {0, " \t\r\n{ \"query_vector\" : [ 1 , 2 , 3 , 4 ] } \n", 200, NULL},
    {0, "{\"\\u0071uery_vector\":" V4 "}", 200, NULL},
    /* Unknown members are parsed whole (escapes, nesting, long names), then
     * refused: a member the route does not know is never ignored. */
    {0, "{\"query_vector\":" V4 ",\"note\":\"\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}", 422,
     "extra_forbidden"},
    {0, "{\"query_vector\":" V4 ",\"x\":{\"a\":[1,{\"b\":null},true,false,-0.5e-3]}}", 422,
     "extra_forbidden"},
    {0, "{\"query_vector\":[1e-45,-0,1e10,5]}", 200, NULL},
    {0, "{\"query_vector\":[0,0,0,0]}", 200, NULL},
    {0, "{\"query_vector\":[1E+0,2e0,3.0e-0,4]}", 200, NULL},
    {0,
     "{\"a_very_long_member_name_that_is_not_known_to_the_server_at_all\":1,"
     "\"query_vector\":" V4 "}",
     422, "extra_forbidden"},
    {0, "", 422, "malformed JSON"},
    {0, " ", 422, "malformed JSON"},
    {0, "null", 422, "object"},
    {0, "[]", 422, "object"},
    {0, "\"query_vector\"", 422, "object"},
    {0, "{", 422, "malformed JSON"},
    {0, "}", 422, "malformed JSON"},
    {0, "{}", 422, "missing member"},
    {0, "{\"query_vector\":" V4 ",}", 422, "trailing comma"},
    {0, "{\"query_vector\":[1,2,3,4,]}", 422, "trailing comma"},
    {0, "{\"query_vector\":" V4 "} x", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 "}{}", 422, "malformed JSON"},
    {0, "{query_vector:" V4 "}", 422, "malformed JSON"},
    {0, "{'query_vector':" V4 "}", 422, "malformed JSON"},
    {0, "{\"query_vector\" " V4 "}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 " \"k\":3}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[NaN,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[Infinity,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[-Infinity,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[01,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[+1,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[.5,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[1.,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[1e,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[1e+,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[0x10,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[--1,2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[1 2,3,4]}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[\"1\",2,3,4]}", 422, "array of numbers"},
    {0, "{\"query_vector\":[true,2,3,4]}", 422, "array of numbers"},
    {0, "{\"query_vector\":[null,2,3,4]}", 422, "array of numbers"},
    {0, "{\"query_vector\":[[1],2,3,4]}", 422, "array of numbers"},
    {0, "{\"query_vector\":\"1,2,3,4\"}", 422, "array of numbers"},
    {0, "{\"query_vector\":{\"0\":1}}", 422, "array of numbers"},
    {0, "{\"query_vector\":null}", 422, "array of numbers"},
    {0, "{\"query_vector\":" V4 ",\"k\":\"3\"}", 422, "integer"},
    {0, "{\"query_vector\":" V4 ",\"k\":null}", 422, "integer"},
    {0, "{\"query_vector\":" V4 ",\"k\":[3]}", 422, "integer"},
    {0, "{\"query_vector\":" V4 ",\"ef_search\":true}", 422, "integer"},
    {0, "{\"query_vector\":" V4 ",\"query_vector\":" V4 "}", 422, "duplicate"},
    {0, "{\"query_vector\":" V4 ",\"k\":3,\"k\":3}", 422, "duplicate"},
    {0, "{\"query_vectors\":[" V4 "]}", 422, "missing member"},
    {0, "{\"QUERY_VECTOR\":" V4 "}", 422, "missing member"},
    {0, "{\"query_vector\":" V4 "} /* comment */", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\xff\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\xc0\xaf\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\xed\xa0\x80\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"a\tb\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\\x\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\\ud800\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\\udc00\\ud800\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"\\u12\"}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"s\":\"open}", 422, "malformed JSON"},
    {0, "\xef\xbb\xbf{\"query_vector\":" V4 "}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"t\":tru}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"t\":nul}", 422, "malformed JSON"},
    {0, "{\"query_vector\":" V4 ",\"t\":True}", 422, "malformed JSON"},
    {0, "{\"query_vector\":[1,2,3]}", 422, "dimension is 4"},
    {0, "{\"query_vector\":[1,2,3,4,5]}", 422, "dimension is 4"},
    {0, "{\"query_vector\":[]}", 422, "dimension is 4"},
    {0, "{\"query_vector\":[1e39,2,3,4]}", 422, "float32"},
    {0, "{\"query_vector\":[1e400,2,3,4]}", 422, "float32"},
    {0, "{\"query_vector\":[-1e39,2,3,4]}", 422, "float32"},
    {0, "{\"query_vector\":[3e38,3e38,0,0]}", 422, "overflow"},
    {0, "{\"query_vector\":" V4 ",\"k\":0}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"k\":4097}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"k\":-1}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"k\":1.5}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"k\":1e300}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"k\":18446744073709551616}", 422, "1..4096"},
    {0, "{\"query_vector\":" V4 ",\"ef_search\":0}", 422, "1..65536"},
    {0, "{\"query_vector\":" V4 ",\"ef_search\":65537}", 422, "1..65536"},
    {1, "{\"query_vectors\":[" V4 ",[4,3,2,1]]}", 200, NULL},
    {1, "{\"query_vectors\":[]}", 200, NULL},
    {1, "{\"query_vectors\":[" V4 "],\"k\":2,\"ef_search\":8}", 200, NULL},
    {1, "{\"query_vectors\":[" V4 ",[1,2,3]]}", 422, "query_vectors[1]"},
    {1, "{\"query_vectors\":[" V4 ",\"x\"]}", 422, "array of numbers"},
    {1, "{\"query_vectors\":[1,2,3,4]}", 422, "array of numbers"},
    {1, "{\"query_vectors\":" V4 "}", 422, "array of numbers"},
    {1, "{\"query_vectors\":{}}", 422, "array of arrays"},
    {1, "{\"query_vectors\":null}", 422, "array of arrays"},
    {1, "{\"query_vector\":" V4 "}", 422, "missing member"},
    {1, "{\"query_vectors\":[" V4 ",[1e39,0,0,0]]}", 422, "float32"},
};

/* A 200 search answer holds only numbers: no null, NaN or Infinity. */
static void check_answer(const char *body) {
    CHECK(body != NULL && strstr(body, "null") == NULL && strstr(body, "nan") == NULL &&
          strstr(body, "inf") == NULL);
}

static void run_json_case(unsigned port, const json_case *jc, const char *label) {
    sv_response r;
    const char *path = jc->batch ? "/search/batch" : "/search";
    if (sv_roundtrip(port, "POST", path, jc->body, &r) != 0) {
        fprintf(stderr, "%s: no answer to %.80s\n", label, jc->body);
        check_failures++;
        return;
    }
    if (r.status != jc->status ||
        (jc->needle && (r.body == NULL || strstr(r.body, jc->needle) == NULL))) {
        fprintf(stderr, "%s: %.80s: expected %d (%s), got %d %.200s\n", label, jc->body, jc->status,
                jc->needle ? jc->needle : "", r.status, r.body ? r.body : "");
        check_failures++;
    }
    if (r.status == 200)
        check_answer(r.body);
    else
        CHECK(r.body && strncmp(r.body, "{\"error\":\"", 10) == 0);
    sv_response_free(&r);
}

/* Batches at the edges of the limits. */
static void run_limit_cases(unsigned port) {
    char *b = hx_batch_body(16, DIM, 10, 65536); /* exactly the work budget */
    json_case at_budget = {1, b, 200, NULL};
    run_json_case(port, &at_budget, "work budget");
    free(b);
    b = hx_batch_body(17, DIM, 10, 65536);
    json_case over_budget = {1, b, 422, "search work"};
    run_json_case(port, &over_budget, "work budget + 1");
    free(b);
    b = hx_batch_body(257, DIM, 4096, 1);
    json_case results = {1, b, 422, "results"};
    run_json_case(port, &results, "results limit");
    free(b);
    b = hx_batch_body(10001, DIM, 1, 1);
    json_case queries = {1, b, 422, "10000 queries"};
    run_json_case(port, &queries, "query limit");
    free(b);
    char deep[512] = "{\"query_vector\":" V4 ",\"x\":";
    size_t n = strlen(deep);
    for (int depth = 0; depth < 100; depth++)
        deep[n++] = '[';
    for (int depth = 0; depth < 100; depth++)
        deep[n++] = ']';
    strcpy(deep + n, "}");
    json_case too_deep = {0, deep, 422, "malformed JSON"};
    run_json_case(port, &too_deep, "deep nesting");
    char digits[400] = "{\"query_vector\":[1";
    n = strlen(digits);
    memset(digits + n, '0', 300);
    strcpy(digits + n + 300, ",2,3,4]}");
    json_case long_number = {0, digits, 422, "float32"};
    run_json_case(port, &long_number, "300-digit number");
}

/* Random byte edits of valid bodies: never anything but 200, 400 or 422. */
static void run_mutations(unsigned port) {
    static const char *const seeds[] = {
        "{\"query_vector\":[0.5,-1.25,3e2,4],\"k\":7,\"ef_search\":32}",
        "{\"query_vectors\":[[1,2,3,4],[0.1,0.2,0.3,0.4]],\"k\":3}"};
    static const char alphabet[] = "{}[],:\"\\-+.eE0123456789 tfnu\x01\xff";
    uint64_t rng = 0x5DEECE66Dull;
    for (int i = 0; i < 400; i++) {
        const char *seed = seeds[i % 2];
        char body[256];
        snprintf(body, sizeof body, "%s", seed);
        size_t len = strlen(body);
        for (int edits = 0; edits < 1 + i % 3; edits++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(rng >> 33) % len;
            body[pos] = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
        }
        sv_response r;
        int ok = sv_roundtrip(port, "POST", i % 2 ? "/search/batch" : "/search", body, &r) == 0;
        if (!ok || (r.status != 200 && r.status != 400 && r.status != 422)) {
            fprintf(stderr, "mutation %d: %s: status %d\n", i, body, ok ? r.status : -1);
            check_failures++;
        } else if (r.status == 200) {
            check_answer(r.body);
        }
        sv_response_free(&r);
    }
}

static void hx_case_json(void) {
    const char *path = hx_file("json.vwi");
    vw_index *ix = hx_make_index(path, 300, DIM, 2);
    CHECK(ix != NULL);
    vw_index_free(ix);
    sv_server s;
    const char *const args[] = {"--threads", "2", NULL};
    if (hx_serve(&s, path, hx_file("json.log"), args, NULL) != 0) {
        check_failures++;
        return;
    }
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "json case %zu", i);
        run_json_case(s.port, &json_cases[i], label);
    }
    run_limit_cases(s.port);
    run_mutations(s.port);
    CHECK(hx_stat(s.port, "errors") > 0);
    CHECK(sv_stop(&s) == 0);
}

int main(int argc, char **argv) {
    static const hx_case cases[] = {{"http", hx_case_http}, {"json", hx_case_json}};
    return hx_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
