/*
 * json.h - the tools' JSON: a strict reader (RFC 8259) and a writer.
 *
 * vw-serve reads request bodies with the reader and writes every answer
 * with the writer; the other tools write their reports and results with the
 * same writer and check a JSON file they embed with the reader.
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
#ifndef VW_TOOLS_JSON_H
#define VW_TOOLS_JSON_H

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

/* Reads the members of the object whose '{' has just been consumed: for
 * each, member(cur, key, ctx) is called with the cursor on the value, which
 * it must consume (key is "" when longer than 63 bytes: a name no caller
 * knows). 0 after the closing '}'; -1 on a syntax error or when member
 * returns non-zero. */
int json_read_members(json_cursor *cur, int (*member)(json_cursor *cur, const char *key, void *ctx),
                      void *ctx);
/* The same for the elements of the array whose '[' has just been consumed:
 * element(cur, i, ctx) for the i-th, 0-based. */
int json_read_elements(json_cursor *cur, int (*element)(json_cursor *cur, size_t i, void *ctx),
                       void *ctx);

/* Succeeds if only whitespace is left. */
int json_expect_end(json_cursor *cur);

/* Conversions of a token from json_read_number (already grammar-checked).
 * Return 0 on success, -1 if the value does not fit (a float overflowing to
 * +-Inf, a token longer than JSON_MAX_NUMBER_LEN). */
#define JSON_MAX_NUMBER_LEN 256
int json_number_to_float(const char *tok, size_t len, float *out);
/* json_read_number and json_number_to_float in one call, in one pass over
 * the usual plain decimals: 0 with *out set, 1 for a number that is not a
 * finite float32 (*out untouched), -1 on a syntax error. */
int json_read_float(json_cursor *cur, float *out);
int json_number_to_double(const char *tok, size_t len, double *out);

/* Non-zero if text[0..len) is one complete JSON value (with optional
 * surrounding whitespace). */
int json_valid(const char *text, size_t len);

/* ------------------------------------------------------------------ writer */

/* A JSON document built in memory. The writer puts in the commas (and, when
 * pretty, the newlines and indentation), so callers only say what to write.
 *
 * It never fails half-way: out of memory it stops growing and sets
 * `failed`, and every later call is a no-op. JSON has no NaN or infinity,
 * and a null where a number belongs is no better, so a number that is not
 * finite marks the document `nonfinite` (it is written as null, to keep the
 * rest well-formed). A document is usable only when json_writer_ok(). */
typedef struct json_writer {
    char *data;   /* the text is data[start .. len) */
    size_t start; /* bytes kept free in front of the text (see json_writer_init) */
    size_t len, cap;
    int failed;
    int nonfinite;
    int pretty;
    int depth;
    int after_key;
    unsigned char need_comma[JSON_MAX_DEPTH + 1];
} json_writer;

/* An empty document. `headroom` bytes stay free before the text, for a
 * caller that puts something in front of it without copying it (vw-serve
 * writes the HTTP head there). */
void json_writer_init(json_writer *w, int pretty, size_t headroom);
void json_writer_free(json_writer *w);
/* Empties the document, keeping its memory, pretty and headroom. */
void json_writer_reset(json_writer *w);
/* 1 unless out of memory or a non-finite number was asked for. */
int json_writer_ok(const json_writer *w);
/* The text (len bytes, followed by a NUL), or NULL when nothing was written
 * or the writer failed. */
const char *json_writer_text(const json_writer *w, size_t *len);
/* Makes room for `extra` more bytes; 0 on success. */
int json_writer_reserve(json_writer *w, size_t extra);

void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w);
void json_end_array(json_writer *w);
void json_key(json_writer *w, const char *key);
/* A quoted string with the escapes JSON requires. */
void json_string(json_writer *w, const char *s);
void json_u64(json_writer *w, uint64_t v);
void json_i64(json_writer *w, int64_t v);
/* "%.9g": reads back as the same float. */
void json_float(json_writer *w, float v);
/* Writes snprintf's "%.9g" of v into out, without printf for most floats
 * (json_float.c); its length. */
size_t json_format_float(char out[32], float v);
/* The shorter of "%.15g" and "%.17g" that reads back as the same double. */
void json_double(json_writer *w, double v);
void json_bool(json_writer *w, int v);
/* Pre-formatted JSON text as a value (the caller vouches for it). */
void json_raw(json_writer *w, const char *text);

/* A member of the object being written: json_key, then the value. */
void json_field_string(json_writer *w, const char *key, const char *v);
void json_field_u64(json_writer *w, const char *key, uint64_t v);
void json_field_i64(json_writer *w, const char *key, int64_t v);
void json_field_double(json_writer *w, const char *key, double v);
void json_field_bool(json_writer *w, const char *key, int v);

#endif /* VW_TOOLS_JSON_H */
