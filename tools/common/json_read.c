/*
 * json_read.c - the strict JSON reader (see json.h).
 */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int syntax_error(json_cursor *cur, const char *msg) {
    if (cur->error == NULL)
        cur->error = msg;
    return -1;
}

void json_init(json_cursor *cur, const char *text, size_t len) {
    cur->start = text;
    cur->p = text;
    cur->end = text + len;
    cur->error = NULL;
}

static void skip_ws(json_cursor *cur) {
    while (cur->p < cur->end &&
           (*cur->p == ' ' || *cur->p == '\t' || *cur->p == '\n' || *cur->p == '\r'))
        cur->p++;
}

int json_peek(json_cursor *cur) {
    skip_ws(cur);
    return cur->p < cur->end ? (unsigned char)*cur->p : -1;
}

int json_expect(json_cursor *cur, char ch) {
    if (json_peek(cur) != (unsigned char)ch) {
        static const char *const msgs[] = {"expected '{'", "expected '}'", "expected '['",
                                           "expected ']'", "expected ':'", "expected ','"};
        const char *which = strchr("{}[]:,", ch);
        return syntax_error(cur, which ? msgs[which - "{}[]:,"] : "unexpected character");
    }
    cur->p++;
    return 0;
}

int json_next_item(json_cursor *cur, char close, int first, int *more) {
    int c = json_peek(cur);
    if (c == (unsigned char)close) {
        cur->p++;
        *more = 0;
        return 0;
    }
    if (c < 0)
        return syntax_error(cur, "unexpected end of input");
    if (!first) {
        if (c != ',')
            return syntax_error(cur, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
        cur->p++;
        if (json_peek(cur) == (unsigned char)close)
            return syntax_error(cur, "trailing comma");
    }
    *more = 1;
    return 0;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits after "\u". */
static int read_hex4(json_cursor *cur, unsigned *out) {
    if (cur->end - cur->p < 4)
        return syntax_error(cur, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)cur->p[i]);
        if (h < 0)
            return syntax_error(cur, "bad hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    cur->p += 4;
    *out = v;
    return 0;
}

typedef struct str_out {
    char *data;
    size_t cap;
    size_t len;
    int truncated;
} str_out;

static void out_byte(str_out *o, unsigned char c) {
    if (o->len + 1 < o->cap)
        o->data[o->len++] = (char)c;
    else
        o->truncated = 1;
}

static void out_utf8(str_out *o, unsigned cp) {
    if (cp < 0x80) {
        out_byte(o, (unsigned char)cp);
    } else if (cp < 0x800) {
        out_byte(o, (unsigned char)(0xC0 | (cp >> 6)));
        out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out_byte(o, (unsigned char)(0xE0 | (cp >> 12)));
        out_byte(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        out_byte(o, (unsigned char)(0xF0 | (cp >> 18)));
        out_byte(o, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
        out_byte(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

/* After a backslash: one escape, with surrogate pairs joined. */
static int read_escape(json_cursor *cur, str_out *o) {
    if (cur->p >= cur->end)
        return syntax_error(cur, "unterminated string");
    char e = *cur->p++;
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit = e != '\0' ? strchr(from, e) : NULL;
    if (hit != NULL) {
        out_byte(o, (unsigned char)to[hit - from]);
        return 0;
    }
    if (e != 'u')
        return syntax_error(cur, "invalid escape in string");
    unsigned cp;
    if (read_hex4(cur, &cp) != 0)
        return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return syntax_error(cur, "unpaired low surrogate in string");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (cur->end - cur->p < 2 || cur->p[0] != '\\' || cur->p[1] != 'u')
            return syntax_error(cur, "unpaired high surrogate in string");
        cur->p += 2;
        if (read_hex4(cur, &lo) != 0)
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return syntax_error(cur, "unpaired high surrogate in string");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    out_utf8(o, cp);
    return 0;
}

/* One UTF-8 encoded character starting at a byte >= 0x80 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static int read_utf8(json_cursor *cur, str_out *o) {
    const unsigned char *s = (const unsigned char *)cur->p;
    size_t avail = (size_t)(cur->end - cur->p);
    unsigned char c = s[0];
    size_t n;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1Fu, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0Fu, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07u, min = 0x10000;
    else
        return syntax_error(cur, "invalid UTF-8 in string");
    if (avail < n)
        return syntax_error(cur, "invalid UTF-8 in string");
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return syntax_error(cur, "invalid UTF-8 in string");
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return syntax_error(cur, "invalid UTF-8 in string");
    for (size_t i = 0; i < n; i++)
        out_byte(o, s[i]);
    cur->p += n;
    return 0;
}

int json_read_string(json_cursor *cur, char *out, size_t cap, int *truncated) {
    if (json_peek(cur) != '"')
        return syntax_error(cur, "expected a string");
    cur->p++;
    str_out o = {out, cap, 0, 0};
    for (;;) {
        if (cur->p >= cur->end)
            return syntax_error(cur, "unterminated string");
        unsigned char c = (unsigned char)*cur->p;
        if (c == '"') {
            cur->p++;
            break;
        }
        if (c < 0x20)
            return syntax_error(cur, "control character in string");
        if (c == '\\') {
            cur->p++;
            if (read_escape(cur, &o) != 0)
                return -1;
        } else if (c >= 0x80) {
            if (read_utf8(cur, &o) != 0)
                return -1;
        } else {
            out_byte(&o, c);
            cur->p++;
        }
    }
    if (cap > 0)
        out[o.len] = '\0';
    if (truncated != NULL)
        *truncated = o.truncated || cap == 0;
    return 0;
}

static int is_digit(const json_cursor *cur) {
    return cur->p < cur->end && *cur->p >= '0' && *cur->p <= '9';
}

int json_read_number(json_cursor *cur, const char **tok, size_t *tok_len) {
    skip_ws(cur);
    const char *start = cur->p;
    if (cur->p < cur->end && *cur->p == '-')
        cur->p++;
    if (!is_digit(cur))
        return syntax_error(cur, "expected a number");
    if (*cur->p == '0') {
        cur->p++;
        if (is_digit(cur))
            return syntax_error(cur, "leading zero in number");
    } else {
        while (is_digit(cur))
            cur->p++;
    }
    if (cur->p < cur->end && *cur->p == '.') {
        cur->p++;
        if (!is_digit(cur))
            return syntax_error(cur, "expected a digit after '.'");
        while (is_digit(cur))
            cur->p++;
    }
    if (cur->p < cur->end && (*cur->p == 'e' || *cur->p == 'E')) {
        cur->p++;
        if (cur->p < cur->end && (*cur->p == '+' || *cur->p == '-'))
            cur->p++;
        if (!is_digit(cur))
            return syntax_error(cur, "expected a digit in exponent");
        while (is_digit(cur))
            cur->p++;
    }
    *tok = start;
    *tok_len = (size_t)(cur->p - start);
    return 0;
}

static int read_literal(json_cursor *cur, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(cur->end - cur->p) < n || memcmp(cur->p, lit, n) != 0)
        return syntax_error(cur, "invalid literal");
    cur->p += n;
    return 0;
}

static int skip_value_at(json_cursor *cur, int depth);

static int skip_container(json_cursor *cur, char close, int depth) {
    if (depth >= JSON_MAX_DEPTH)
        return syntax_error(cur, "nesting too deep");
    cur->p++;
    int more = 1;
    for (int first = 1;; first = 0) {
        if (json_next_item(cur, close, first, &more) != 0)
            return -1;
        if (!more)
            return 0;
        if (close == '}') {
            if (json_read_string(cur, NULL, 0, NULL) != 0 || json_expect(cur, ':') != 0)
                return -1;
        }
        if (skip_value_at(cur, depth + 1) != 0)
            return -1;
    }
}

static int skip_value_at(json_cursor *cur, int depth) {
    const char *tok;
    size_t len;
    switch (json_peek(cur)) {
    case '{':
        return skip_container(cur, '}', depth);
    case '[':
        return skip_container(cur, ']', depth);
    case '"':
        return json_read_string(cur, NULL, 0, NULL);
    case 't':
        return read_literal(cur, "true");
    case 'f':
        return read_literal(cur, "false");
    case 'n':
        return read_literal(cur, "null");
    case -1:
        return syntax_error(cur, "unexpected end of input");
    default:
        return json_read_number(cur, &tok, &len);
    }
}

int json_skip_value(json_cursor *cur) {
    return skip_value_at(cur, 0);
}

int json_expect_end(json_cursor *cur) {
    if (json_peek(cur) != -1)
        return syntax_error(cur, "unexpected data after the JSON value");
    return 0;
}

/* strtod/strtof need a terminated string, and the token sits inside a larger
 * buffer: copy it. Tokens are grammar-checked, so strto* reads all of it. */
static int copy_token(const char *tok, size_t len, char *buf) {
    if (len == 0 || len > JSON_MAX_NUMBER_LEN)
        return -1;
    memcpy(buf, tok, len);
    buf[len] = '\0';
    return 0;
}

/* A grammar-checked token as w x 10^e with w the significant digits;
 * -1 when w would not fit in 53 bits (then strtof decides). */
static int decimal_parts(const char *p, const char *end, uint64_t *w_out, int *e_out) {
    uint64_t w = 0;
    int e = 0, digits = 0;
    for (int fraction = 0; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            fraction = 1;
            continue;
        }
        if (w == 0 && *p == '0') { /* leading zeros add nothing */
            e -= fraction;
            continue;
        }
        if (++digits > 16)
            return -1;
        w = w * 10 + (uint64_t)(*p - '0');
        e -= fraction;
    }
    if (p < end) { /* exponent: at most 4 digits fit this path */
        int sign = *++p == '-' ? -1 : 1;
        p += *p == '-' || *p == '+';
        int x = 0;
        for (; p < end; p++)
            if ((x = x * 10 + (*p - '0')) > 999)
                return -1;
        e += sign * x;
    }
    if (w > (1ull << 53))
        return -1;
    *w_out = w;
    *e_out = e;
    return 0;
}

/* Decimal to float without strtof for the usual case (Clinger's fast
 * path). w and 10^k are exact doubles and one IEEE division or product
 * rounds once to double; rounding that double to float again gives the
 * correctly rounded float as long as the exact value cannot sit within
 * half a double ulp of a float midpoint m / 2^j (m < 2^25) without being
 * on it. For w / 10^k the distance |w 2^j - m 10^k| / (10^k 2^j) is a
 * nonzero multiple of 2^min(j,k) / (10^k 2^j), i.e. at least 1/w or
 * 1/(m 5^k) relative, both above 2^-53 when w < 2^53 and k <= 12
 * (5^12 < 2^28). A product w 10^k is taken only when it is exact
 * (<= 2^53). Anything else goes to strtof. test_serve_json compares the
 * two on many inputs. */
static int float_fast_path(const char *tok, size_t len, float *out) {
    static const double pow10[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
    const char *p = tok, *end = tok + len;
    int negative = *p == '-';
    uint64_t w;
    int e;
    if (decimal_parts(p + negative, end, &w, &e) != 0)
        return -1;
    double d;
    if (w == 0)
        d = 0.0;
    else if (e < 0 && e >= -12)
        d = (double)w / pow10[-e];
    else if (e >= 0 && e <= 16 && w <= (1ull << 53) / (uint64_t)pow10[e])
        d = (double)w * pow10[e];
    else
        return -1;
    *out = (float)(negative ? -d : d);
    return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EIGHT_AT_A_TIME 1
#define BYTES(x)        (0x0101010101010101ull * (x))

/* Whether the 8 bytes (first in the lowest byte) are all '0'..'9'. Each
 * byte is tested in its own lane: with the top bit cleared, adding 0x50
 * (0x46) sets it exactly when the byte is >= '0' (> '9'), and no sum
 * carries into the next byte. */
static int eight_digits(uint64_t b) {
    uint64_t low = b & BYTES(0x7f);
    uint64_t at_least_0 = low + BYTES(0x50), above_9 = low + BYTES(0x46);
    return ((at_least_0 & ~above_9 & ~b) & BYTES(0x80)) == BYTES(0x80);
}

/* Their value as an 8-digit decimal: pairs of digits (10 a + b fits a
 * byte), then the four pairs weighted by 10^6, 10^4, 10^2, 1 in two
 * products whose upper halves add up. */
static uint64_t eight_value(uint64_t b) {
    uint64_t d = b - BYTES(0x30);
    d = d * 10 + (d >> 8); /* byte 2i: digits 2i, 2i+1 */
    uint64_t pairs_0_2 = d & 0x000000ff000000ffull, pairs_1_3 = (d >> 16) & 0x000000ff000000ffull;
    return (pairs_0_2 * (100 + (1000000ull << 32)) + pairs_1_3 * (1 + (10000ull << 32))) >> 32;
}
#endif

/* The run of decimal digits at p appended to *w (w 10^len + run, modulo
 * 2^64: the caller refuses runs that could wrap); its end, its length in
 * *len. Eight digits at a time while eight bytes of text are left: the
 * components of a query are mostly 8 or 9 digits after "0." */
static const char *digit_run(const char *p, const char *end, uint64_t *w, size_t *len) {
    const char *start = p;
    uint64_t v = *w;
#ifdef EIGHT_AT_A_TIME
    uint64_t b;
    while (end - p >= 8 && (memcpy(&b, p, 8), eight_digits(b))) {
        v = v * 100000000u + eight_value(b);
        p += 8;
    }
#endif
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    *w = v;
    *len = (size_t)(p - start);
    return p;
}

/* A plain decimal (no exponent, at most 12 digits after the point and a
 * value of at most 2^53 in units of its last digit: float_fast_path's exact
 * case) read and converted in one pass; the end of its token, or NULL for
 * anything else (json_read_float then takes the general path, which also
 * reports grammar errors). */
static const char *plain_decimal(const char *p, const char *end, float *out) {
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3,  1e4,  1e5, 1e6,
                                   1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
    int negative = p < end && *p == '-';
    p += negative;
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    uint64_t w = 0;
    size_t whole = 0, fraction = 0;
    if (*p == '0')
        p++;
    else
        p = digit_run(p, end, &w, &whole);
    if (p < end && *p == '.') {
        if (++p >= end || *p < '0' || *p > '9')
            return NULL;
        p = digit_run(p, end, &w, &fraction);
    }
    /* 19 digits cannot wrap w; 2^53 keeps (double)w exact */
    if (whole + fraction > 19 || w > (1ull << 53) || fraction > 12 ||
        (p < end && (*p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))))
        return NULL;
    double d = (double)w / pow10[fraction];
    *out = (float)(negative ? -d : d);
    return p;
}

int json_read_float(json_cursor *cur, float *out) {
    skip_ws(cur);
    const char *end = plain_decimal(cur->p, cur->end, out);
    if (end != NULL) {
        cur->p = end;
        return 0;
    }
    const char *tok;
    size_t len;
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    return json_number_to_float(tok, len, out) == 0 ? 0 : 1;
}

int json_number_to_float(const char *tok, size_t len, float *out) {
    if (len > 0 && len <= JSON_MAX_NUMBER_LEN && float_fast_path(tok, len, out) == 0)
        return 0;
    char buf[JSON_MAX_NUMBER_LEN + 1];
    if (copy_token(tok, len, buf) != 0)
        return -1;
    float v = strtof(buf, NULL); /* underflow to 0 or a subnormal is fine */
    if (!isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int json_number_to_double(const char *tok, size_t len, double *out) {
    char buf[JSON_MAX_NUMBER_LEN + 1];
    if (copy_token(tok, len, buf) != 0)
        return -1;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int json_read_members(json_cursor *cur, int (*member)(json_cursor *cur, const char *key, void *ctx),
                      void *ctx) {
    int more = 1;
    for (int first = 1;; first = 0) {
        if (json_next_item(cur, '}', first, &more) != 0)
            return -1;
        if (!more)
            return 0;
        char key[64];
        int truncated = 0;
        if (json_read_string(cur, key, sizeof key, &truncated) != 0 || json_expect(cur, ':') != 0)
            return -1;
        if (member(cur, truncated ? "" : key, ctx) != 0)
            return -1;
    }
}

int json_read_elements(json_cursor *cur, int (*element)(json_cursor *cur, size_t i, void *ctx),
                       void *ctx) {
    int more = 1;
    for (size_t i = 0;; i++) {
        if (json_next_item(cur, ']', i == 0, &more) != 0)
            return -1;
        if (!more)
            return 0;
        if (element(cur, i, ctx) != 0)
            return -1;
    }
}

int json_valid(const char *text, size_t len) {
    json_cursor c;
    json_init(&c, text, len);
    return json_skip_value(&c) == 0 && json_expect_end(&c) == 0;
}
