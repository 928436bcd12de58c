/*
 * http.c - strict HTTP/1.1 request-head parsing and response heads (see http.h).
 *
 * The parser walks the buffer line by line and rejects a bad byte as soon as
 * it arrives, so junk is answered without waiting for a blank line that may
 * never come. It re-parses from the start on every call: heads are at most
 * HTTP_MAX_HEAD bytes, so that costs little and keeps the parser stateless.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct head_state {
    int content_length_seen;
    int authorization_seen;
    int transfer_encoding_seen;
    int host_count;
    int connection_close;
    int connection_keep_alive;
} head_state;

typedef struct parse_error {
    int status;
    const char *reason;
} parse_error;

/* RFC 9110 token characters (method and header names). */
static int is_tchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Characters of an origin-form target (RFC 3986 pchar plus '/' and '?'). */
static int is_target_char(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

/* Header values: visible ASCII, obs-text, space and tab; no other controls. */
static int is_field_value_char(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int ascii_lower(int c) {
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int equals_nocase(const char *s, size_t n, const char *lit) {
    size_t i = 0;
    for (; i < n && lit[i] != '\0'; i++)
        if (ascii_lower((unsigned char)s[i]) != lit[i])
            return 0;
    return i == n && lit[i] == '\0';
}

static http_parse_result fail(parse_error *err, int status, const char *reason) {
    err->status = status;
    err->reason = reason;
    return HTTP_PARSE_ERROR;
}

/* Finds the line starting at `from`; on success *line_end is the index of its
 * CR. A LF without CR before it is an error (strict CRLF framing). */
static http_parse_result next_line(const char *buf, size_t limit, size_t from, size_t *line_end,
                                   parse_error *err) {
    const char *nl = memchr(buf + from, '\n', limit - from);
    if (nl == NULL)
        return HTTP_PARSE_INCOMPLETE;
    size_t at = (size_t)(nl - buf);
    if (at == from || buf[at - 1] != '\r')
        return fail(err, 400, "line not terminated by CRLF");
    *line_end = at - 1;
    return HTTP_PARSE_DONE;
}

static http_method method_of(const char *s, size_t n) {
    if (n == 3 && memcmp(s, "GET", 3) == 0)
        return HTTP_GET;
    if (n == 4 && memcmp(s, "HEAD", 4) == 0)
        return HTTP_HEAD;
    if (n == 4 && memcmp(s, "POST", 4) == 0)
        return HTTP_POST;
    if (n == 6 && memcmp(s, "DELETE", 6) == 0)
        return HTTP_DELETE;
    return HTTP_OTHER;
}

/* Checks an origin-form target and sets the path (query string dropped). */
static http_parse_result parse_target(const char *s, size_t n, http_request *req,
                                      parse_error *err) {
    if (n == 0 || s[0] != '/')
        return fail(err, 400, "request target must start with '/'");
    size_t path_len = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_target_char(c))
            return fail(err, 400, "invalid character in request target");
        if (c == '%' &&
            (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2])))
            return fail(err, 400, "bad percent-encoding in request target");
        if (c == '?' && path_len == n)
            path_len = i;
    }
    req->path = s;
    req->path_len = path_len;
    return HTTP_PARSE_DONE;
}

static http_parse_result parse_version(const char *s, size_t n, http_request *req,
                                       parse_error *err) {
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
        s[7] < '0' || s[7] > '9')
        return fail(err, 400, "malformed HTTP version");
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
        return fail(err, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    req->minor_version = s[7] - '0';
    return HTTP_PARSE_DONE;
}

/* METHOD SP request-target SP HTTP-version, exactly one space between. */
static http_parse_result parse_request_line(const char *s, size_t n, http_request *req,
                                            parse_error *err) {
    size_t m = 0;
    while (m < n && is_tchar((unsigned char)s[m]))
        m++;
    if (m == 0 || m == n || s[m] != ' ' || m > HTTP_MAX_METHOD)
        return fail(err, 400, "malformed request line");
    req->method = method_of(s, m);
    size_t t = m + 1;
    const char *sp = memchr(s + t, ' ', n - t);
    if (sp == NULL)
        return fail(err, 400, "malformed request line");
    size_t t_end = (size_t)(sp - s);
    http_parse_result r = parse_target(s + t, t_end - t, req, err);
    if (r != HTTP_PARSE_DONE)
        return r;
    return parse_version(s + t_end + 1, n - t_end - 1, req, err);
}

/* Rejects an unfinished request line that no continuation can make valid,
 * so junk (a TLS handshake, a binary protocol) is answered at once rather
 * than after the timeout. Gives the status the complete line would get. */
static http_parse_result check_partial_request_line(const char *s, size_t n, parse_error *err) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == n && i <= HTTP_MAX_METHOD)
        return HTTP_PARSE_INCOMPLETE;
    if (i == n - 1 && s[i] == '\r' && i <= HTTP_MAX_METHOD)
        return HTTP_PARSE_INCOMPLETE; /* maybe an empty line or a CRLF to come */
    if (i == 0 || i > HTTP_MAX_METHOD || s[i] != ' ')
        return fail(err, 400, "malformed request line");
    size_t t = ++i;
    for (; i < n && s[i] != ' '; i++) {
        if (i == t && s[i] != '/')
            return fail(err, 400, "request target must start with '/'");
        if (!is_target_char((unsigned char)s[i]))
            return fail(err, 400, "invalid character in request target");
    }
    if (i == n)
        return HTTP_PARSE_INCOMPLETE;
    for (size_t v = 0, at = i + 1; at < n; at++, v++) {
        int last_cr = at == n - 1 && s[at] == '\r' && v == 8;
        if (!last_cr && (v >= 8 || strchr("HTTP/0123456789.", s[at]) == NULL || s[at] == '\0'))
            return fail(err, 400, "malformed HTTP version");
    }
    return HTTP_PARSE_INCOMPLETE;
}

/* Content-Length: digits only; values too large for uint64 count as huge. */
static http_parse_result parse_content_length(const char *v, size_t n, http_request *req,
                                              head_state *st, parse_error *err) {
    if (st->content_length_seen)
        return fail(err, 400, "more than one Content-Length header");
    st->content_length_seen = 1;
    if (n == 0)
        return fail(err, 400, "empty Content-Length");
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return fail(err, 400, "Content-Length is not a decimal number");
        unsigned d = (unsigned)(v[i] - '0');
        value = value > (UINT64_MAX - d) / 10 ? UINT64_MAX : value * 10 + d;
    }
    req->content_length = value;
    return HTTP_PARSE_DONE;
}

/* Connection: a comma-separated list of options; only close/keep-alive matter. */
static void parse_connection(const char *v, size_t n, head_state *st) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (equals_nocase(v + start, i - start, "close"))
            st->connection_close = 1;
        else if (equals_nocase(v + start, i - start, "keep-alive"))
            st->connection_keep_alive = 1;
    }
}

/* Keeps a header value that may appear once. */
static http_parse_result keep_once(http_span *span, const char *v, size_t n, parse_error *err,
                                   const char *twice) {
    if (span->p != NULL)
        return fail(err, 400, twice);
    span->p = v;
    span->len = n;
    return HTTP_PARSE_DONE;
}

/* Authorization: only the Bearer scheme carries a key here; another scheme
 * (Basic) is kept as no key, so the answer is a 401 that says which one. */
static http_parse_result parse_authorization(const char *v, size_t n, http_request *req,
                                             head_state *st, parse_error *err) {
    if (st->authorization_seen)
        return fail(err, 400, "more than one Authorization header");
    st->authorization_seen = 1;
    if (n < 7 || !equals_nocase(v, 6, "bearer") || (v[6] != ' ' && v[6] != '\t'))
        return HTTP_PARSE_DONE;
    size_t i = 7;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    return keep_once(&req->bearer, v + i, n - i, err, "more than one Authorization header");
}

/* Content-Type: the media type, without parameters (";charset=utf-8"). */
static http_parse_result parse_content_type(const char *v, size_t n, http_request *req,
                                            parse_error *err) {
    size_t m = 0;
    while (m < n && v[m] != ';' && v[m] != ' ' && v[m] != '\t')
        m++;
    return keep_once(&req->content_type, v, m, err, "more than one Content-Type header");
}

static http_parse_result apply_header(const char *name, size_t name_len, const char *v, size_t n,
                                      http_request *req, head_state *st, parse_error *err) {
    if (equals_nocase(name, name_len, "content-length"))
        return parse_content_length(v, n, req, st, err);
    if (equals_nocase(name, name_len, "authorization"))
        return parse_authorization(v, n, req, st, err);
    if (equals_nocase(name, name_len, "x-api-key"))
        return keep_once(&req->api_key, v, n, err, "more than one X-API-Key header");
    if (equals_nocase(name, name_len, "content-type"))
        return parse_content_type(v, n, req, err);
    if (equals_nocase(name, name_len, "x-forwarded-for")) {
        req->forwarded_for.p = v; /* the last one: the nearest proxy's */
        req->forwarded_for.len = n;
        return HTTP_PARSE_DONE;
    }
    if (equals_nocase(name, name_len, "transfer-encoding"))
        st->transfer_encoding_seen = 1;
    else if (equals_nocase(name, name_len, "host"))
        st->host_count++;
    else if (equals_nocase(name, name_len, "connection"))
        parse_connection(v, n, st);
    else if (equals_nocase(name, name_len, "expect")) {
        if (!equals_nocase(v, n, "100-continue"))
            return fail(err, 417, "only 'Expect: 100-continue' is supported");
        req->expect_continue = 1;
    }
    return HTTP_PARSE_DONE;
}

/* name ":" OWS value OWS */
static http_parse_result parse_header_line(const char *s, size_t n, http_request *req,
                                           head_state *st, parse_error *err) {
    if (s[0] == ' ' || s[0] == '\t')
        return fail(err, 400, "obsolete header line folding");
    size_t c = 0;
    while (c < n && is_tchar((unsigned char)s[c]))
        c++;
    if (c == 0 || c == n || s[c] != ':')
        return fail(err, 400, "malformed header line");
    for (size_t i = c + 1; i < n; i++)
        if (!is_field_value_char((unsigned char)s[i]))
            return fail(err, 400, "control character in header value");
    size_t v = c + 1, e = n;
    while (v < e && (s[v] == ' ' || s[v] == '\t'))
        v++;
    while (e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    return apply_header(s, c, s + v, e - v, req, st, err);
}

/* Decisions that need the whole head: framing, Host, keep-alive. */
static http_parse_result finish_head(http_request *req, const head_state *st, uint64_t max_body,
                                     parse_error *err) {
    if (st->transfer_encoding_seen)
        return fail(err, 411, "Transfer-Encoding is not supported; send Content-Length");
    if (req->minor_version == 1 && st->host_count != 1)
        return fail(err, 400, "HTTP/1.1 request needs exactly one Host header");
    if (req->content_length > max_body)
        return fail(err, 413, "request body larger than the limit");
    if (req->minor_version == 1)
        req->keep_alive = !st->connection_close;
    else
        req->keep_alive = st->connection_keep_alive && !st->connection_close;
    return HTTP_PARSE_DONE;
}

http_parse_result http_parse_request(const char *buf, size_t len, uint64_t max_body,
                                     http_request *req, int *status, const char **reason) {
    memset(req, 0, sizeof *req);
    parse_error err = {0, ""};
    head_state st = {0, 0, 0, 0, 0, 0};
    size_t limit = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
    size_t pos = 0;
    /* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line. */
    while (pos + 1 < limit && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    int have_request_line = 0;
    http_parse_result r = HTTP_PARSE_DONE;
    for (;;) {
        size_t eol = 0;
        r = next_line(buf, limit, pos, &eol, &err);
        if (r != HTTP_PARSE_DONE)
            break;
        if (!have_request_line) {
            r = parse_request_line(buf + pos, eol - pos, req, &err);
            have_request_line = 1;
        } else if (eol == pos) {
            req->head_len = eol + 2;
            r = finish_head(req, &st, max_body, &err);
            break;
        } else {
            r = parse_header_line(buf + pos, eol - pos, req, &st, &err);
        }
        if (r != HTTP_PARSE_DONE)
            break;
        pos = eol + 2;
    }
    if (r == HTTP_PARSE_INCOMPLETE && !have_request_line)
        r = check_partial_request_line(buf + pos, limit - pos, &err);
    if (r == HTTP_PARSE_INCOMPLETE && len >= HTTP_MAX_HEAD)
        r = fail(&err, 431, "request head larger than 8 KiB");
    if (r == HTTP_PARSE_ERROR) {
        *status = err.status;
        *reason = err.reason;
    }
    return r;
}

const char *http_reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void http_date_now(char out[32]) {
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached[32];
    time_t now = time(NULL);
    if (now != cached_second) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_second = now;
    }
    memcpy(out, cached, sizeof cached);
}

size_t http_format_head(char *out, size_t cap, int status, size_t content_length, int keep_alive,
                        const char *extra_headers) {
    return http_format_head_typed(out, cap, status, NULL, content_length, keep_alive,
                                  extra_headers);
}

/* Appends text to out[*n..cap); 0 when it does not fit. */
static int put(char *out, size_t cap, size_t *n, const char *text, size_t len) {
    if (cap - *n < len)
        return 0;
    memcpy(out + *n, text, len);
    *n += len;
    return 1;
}

static int put_str(char *out, size_t cap, size_t *n, const char *text) {
    return put(out, cap, n, text, strlen(text));
}

static int put_uint(char *out, size_t cap, size_t *n, uint64_t v) {
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return put(out, cap, n, tmp + i, sizeof tmp - i);
}

/* Written piece by piece: this runs for every answer, and snprintf's
 * format machinery cost more than the rest of the head. */
size_t http_format_head_typed(char *out, size_t cap, int status, const char *content_type,
                              size_t content_length, int keep_alive, const char *extra_headers) {
    char date[32];
    http_date_now(date);
    size_t n = 0;
    int ok = put_str(out, cap, &n, "HTTP/1.1 ") && put_uint(out, cap, &n, (uint64_t)status) &&
             put(out, cap, &n, " ", 1) && put_str(out, cap, &n, http_reason_phrase(status)) &&
             put_str(out, cap, &n, "\r\nServer: vw-serve\r\nDate: ") &&
             put_str(out, cap, &n, date) && put_str(out, cap, &n, "\r\nContent-Type: ") &&
             put_str(out, cap, &n, content_type ? content_type : "application/json") &&
             put_str(out, cap, &n, "\r\nContent-Length: ") &&
             put_uint(out, cap, &n, content_length) && put(out, cap, &n, "\r\n", 2) &&
             put_str(out, cap, &n, extra_headers ? extra_headers : "") &&
             put_str(out, cap, &n,
                     keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    /* snprintf's contract: the text and its NUL fit, or nothing (0) */
    if (!ok || n >= cap)
        return 0;
    out[n] = '\0';
    return n;
}
