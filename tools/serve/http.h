/*
 * http.h - the HTTP/1.1 request-head parser and response-head writer of vw-serve.
 *
 * The parser is a pure function over a byte buffer: it never reads a socket,
 * allocates or keeps state between calls, so the server calls it again each
 * time more bytes arrive, and the unit tests and the fuzz target drive it
 * with plain strings. It is deliberately strict (RFC 9112):
 *
 *   - lines end in CRLF; a bare LF, a control byte, obs-fold continuation
 *     lines or whitespace before a header's colon are 400;
 *   - only HTTP/1.0 and HTTP/1.1 (others 505); the target must be origin-form
 *     ("/path?query"); HTTP/1.1 needs exactly one Host header;
 *   - bodies are framed by Content-Length only: one such header with digits
 *     only; Transfer-Encoding (chunked or any other) is refused with 411, so
 *     no request can be framed two ways (no request smuggling); a request
 *     with neither has no body (RFC 9112 6.3), a POST included;
 *   - Authorization, X-API-Key and Content-Type may appear once each (400);
 *   - the head (request line + headers) must fit in HTTP_MAX_HEAD bytes (431);
 *     a Content-Length above the caller's body limit is 413 before the body
 *     is read.
 */
#ifndef VW_SERVE_HTTP_H
#define VW_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted request head, request line included. */
#define HTTP_MAX_HEAD 8192u
/* Longest accepted method name. */
#define HTTP_MAX_METHOD 32u

typedef enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_DELETE, HTTP_OTHER } http_method;

/* Bytes of the caller's buffer; p NULL when absent. */
typedef struct http_span {
    const char *p;
    size_t len;
} http_span;

typedef struct http_request {
    http_method method;
    const char *path; /* points into the caller's buffer; query string removed */
    size_t path_len;
    int minor_version;   /* 0 or 1 (HTTP/1.x) */
    int keep_alive;      /* the connection may stay open after the response */
    int expect_continue; /* client sent "Expect: 100-continue" */
    uint64_t content_length;
    size_t head_len; /* bytes of the head, final blank line included */
    /* Header values the application reads, pointing into the caller's
     * buffer (NULL when absent): the token of "Authorization: Bearer T",
     * X-API-Key, X-Forwarded-For and the media type of Content-Type
     * (parameters after ';' cut off). */
    http_span bearer, api_key, forwarded_for, content_type;
} http_request;

typedef enum http_parse_result {
    HTTP_PARSE_ERROR = -1,     /* *status and *reason say what to answer; then close */
    HTTP_PARSE_INCOMPLETE = 0, /* need more bytes */
    HTTP_PARSE_DONE = 1        /* head parsed; the body is the next content_length bytes */
} http_parse_result;

/* Parses the request head at the start of buf[0..len). On DONE the whole
 * request occupies head_len + content_length bytes of the stream (the body
 * may not have arrived yet). On ERROR *status is the HTTP status to answer
 * (400, 411, 413, 417, 431, 505) and *reason a static message. */
http_parse_result http_parse_request(const char *buf, size_t len, uint64_t max_body,
                                     http_request *req, int *status, const char **reason);

/* The standard reason phrase of a status code ("Not Found"); "Unknown" otherwise. */
const char *http_reason_phrase(int status);

/* Writes an IMF-fixdate for the current second ("Sun, 06 Nov 1994 08:49:37 GMT")
 * into out (at least 30 bytes). Cached per thread, so cheap per response. */
void http_date_now(char out[32]);

/* Formats a response head into out (cap bytes) and returns its length, or 0
 * if it does not fit. extra_headers is NULL or complete "Name: value\r\n" lines. */
size_t http_format_head(char *out, size_t cap, int status, size_t content_length, int keep_alive,
                        const char *extra_headers);
/* The same with another Content-Type than application/json (NULL: that one). */
size_t http_format_head_typed(char *out, size_t cap, int status, const char *content_type,
                              size_t content_length, int keep_alive, const char *extra_headers);

#endif /* VW_SERVE_HTTP_H */
