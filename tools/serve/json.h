/*
 * json.h - a small strict JSON reader (RFC 8259) and a JSON writer for vw-serve
 * (the reader also checks JSON files for the other tools: tool_json_valid).
 *
 * The reader is a cursor over a byte buffer, driven by the caller that knows
 * the shape it expects (see api.c), so nothing is allocated and no tree is
 * built. It accepts exactly RFC 8259 JSON: no comments, no trailing commas,
 * no NaN/Infinity literals, no leading zeros or '+', only valid UTF-8 in
 * strings, escapes checked (including surrogate pairs). Nesting is limited to
 * JSON_MAX_DEPTH so skipping an unknown value cannot exhaust the stack.
 *
 * Reader functions return 0 on success and -1 on a syntax error, after which
 * cur->error holds a static message and cur->p the offending position.
 */
#ifndef VW_SERVE_JSON_H
#define VW_SERVE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef struct json_cursor {
    const char *start;
    const char *p;
    const char *end;
    const char *error; /* NULL until a syntax error */
} json_cursor;

void json_init(json_cursor *cur, const char *text, size_t len);

/* Skips whitespace and returns the next byte without consuming it, or -1 at the end. */
int json_peek(json_cursor *cur);

/* Skips whitespace and consumes `ch` ('{', '}', '[', ']', ':' or ','). */
int json_expect(json_cursor *cur, char ch);

/* After '{' or '[' has been consumed: sets *more to 1 and consumes a ',' if
 * another member/element follows (first=0), or consumes the closing `close`
 * and sets *more to 0. With first=1 no ',' is expected before the element. */
int json_next_item(json_cursor *cur, char close, int first, int *more);

/* Reads a string and decodes it into out (cap bytes, NUL-terminated). A
 * string that does not fit is still validated and consumed; *truncated is
 * then 1 (callers treat it as "not a name we know"). */
int json_read_string(json_cursor *cur, char *out, size_t cap, int *truncated);

/* Reads a number token, checking the JSON grammar; *tok and *tok_len give its text. */
int json_read_number(json_cursor *cur, const char **tok, size_t *tok_len);

/* Reads and discards any value. */
int json_skip_value(json_cursor *cur);

/* Succeeds if only whitespace is left. */
int json_expect_end(json_cursor *cur);

/* Conversions of a token from json_read_number (already grammar-checked).
 * Return 0 on success, -1 if the value does not fit (a float overflowing to
 * +-Inf, a token longer than JSON_MAX_NUMBER_LEN). */
#define JSON_MAX_NUMBER_LEN 256
int json_number_to_float(const char *tok, size_t len, float *out);
int json_number_to_double(const char *tok, size_t len, double *out);

/* ------------------------------------------------------------------ writer */

/* A growable byte buffer. On allocation failure it stops growing and sets
 * `failed`; every append after that is a no-op, so callers check once. A
 * number that is not finite (JSON has none, and null is not a number)
 * fails the buffer the same way, with `nonfinite` set to tell why. */
typedef struct json_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
    int nonfinite;
} json_buf;

void json_buf_init(json_buf *b);
void json_buf_free(json_buf *b);
/* Makes room for `extra` more bytes; 0 on success. */
int json_buf_reserve(json_buf *b, size_t extra);
void json_buf_append(json_buf *b, const char *s, size_t n);
void json_buf_puts(json_buf *b, const char *s);
void json_buf_u64(json_buf *b, uint64_t v);
/* %.9g (round-trips a float); a non-finite value fails the buffer. */
void json_buf_float(json_buf *b, double v);
/* A quoted string with the escapes JSON requires. */
void json_buf_string(json_buf *b, const char *s);

#endif /* VW_SERVE_JSON_H */
