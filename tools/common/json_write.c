/*
 * json_write.c - the JSON writer (see json.h).
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_writer_init(json_writer *w, int pretty, size_t headroom) {
    memset(w, 0, sizeof *w);
    w->pretty = pretty;
    w->start = w->len = headroom;
}

void json_writer_free(json_writer *w) {
    free(w->data);
    json_writer_init(w, w->pretty, w->start);
}

void json_writer_reset(json_writer *w) {
    char *data = w->data;
    size_t cap = w->cap;
    json_writer_init(w, w->pretty, w->start);
    w->data = data;
    w->cap = cap;
}

int json_writer_ok(const json_writer *w) {
    return !w->failed && !w->nonfinite;
}

const char *json_writer_text(const json_writer *w, size_t *len) {
    *len = w->data && !w->failed ? w->len - w->start : 0;
    return w->data && !w->failed ? w->data + w->start : NULL;
}

int json_writer_reserve(json_writer *w, size_t extra) {
    if (w->failed)
        return -1;
    if (w->cap > w->len && w->cap - w->len > extra) /* one more for the NUL */
        return 0;
    size_t want = w->cap ? w->cap : 256;
    while (want <= w->len || want - w->len <= extra) {
        if (want > SIZE_MAX / 2) {
            w->failed = 1;
            return -1;
        }
        want *= 2;
    }
    char *p = realloc(w->data, want);
    if (p == NULL) {
        w->failed = 1;
        return -1;
    }
    w->data = p;
    w->cap = want;
    return 0;
}

static void append(json_writer *w, const char *s, size_t n) {
    if (json_writer_reserve(w, n) != 0)
        return;
    memcpy(w->data + w->len, s, n);
    w->len += n;
    w->data[w->len] = '\0';
}

static void put_char(json_writer *w, char c) {
    append(w, &c, 1);
}

/* ------------------------------------------------------------------ structure */

static void indent(json_writer *w) {
    if (!w->pretty)
        return;
    put_char(w, '\n');
    for (int i = 0; i < w->depth; i++)
        append(w, "  ", 2);
}

/* Everything that starts a value or a key goes through here: it writes the
 * separating comma and the indentation, unless the value follows a key. */
static void before_item(json_writer *w) {
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0)
        return;
    if (w->need_comma[w->depth])
        put_char(w, ',');
    indent(w);
    w->need_comma[w->depth] = 1;
}

static void open_container(json_writer *w, char c) {
    before_item(w);
    put_char(w, c);
    if (w->depth < JSON_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = 0;
}

static void close_container(json_writer *w, char c) {
    int had_items = w->need_comma[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (had_items)
        indent(w);
    put_char(w, c);
    if (w->depth == 0 && w->pretty)
        put_char(w, '\n');
}

void json_begin_object(json_writer *w) {
    open_container(w, '{');
}

void json_end_object(json_writer *w) {
    close_container(w, '}');
}

void json_begin_array(json_writer *w) {
    open_container(w, '[');
}

void json_end_array(json_writer *w) {
    close_container(w, ']');
}

/* ------------------------------------------------------------------ values */

static void quoted(json_writer *w, const char *s) {
    put_char(w, '"');
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        append(w, run, (size_t)(s - run));
        if (c == '\0')
            break;
        char esc[8];
        int n = c == '"' || c == '\\' ? snprintf(esc, sizeof esc, "\\%c", c)
                : c == '\n'           ? snprintf(esc, sizeof esc, "\\n")
                : c == '\r'           ? snprintf(esc, sizeof esc, "\\r")
                : c == '\t'           ? snprintf(esc, sizeof esc, "\\t")
                                      : snprintf(esc, sizeof esc, "\\u%04x", c);
        append(w, esc, (size_t)n);
        run = s + 1;
    }
    put_char(w, '"');
}

void json_key(json_writer *w, const char *key) {
    before_item(w);
    quoted(w, key);
    append(w, ": ", w->pretty ? 2 : 1);
    w->after_key = 1;
}

void json_string(json_writer *w, const char *s) {
    before_item(w);
    quoted(w, s);
}

void json_u64(json_writer *w, uint64_t v) {
    before_item(w);
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    append(w, tmp + i, sizeof tmp - i);
}

void json_i64(json_writer *w, int64_t v) {
    if (v >= 0) {
        json_u64(w, (uint64_t)v);
        return;
    }
    before_item(w);
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    append(w, tmp, (size_t)n);
}

/* The null that stands in for a refused non-finite number. */
static int refuse_nonfinite(json_writer *w, double v) {
    if (isfinite(v))
        return 0;
    w->nonfinite = 1;
    append(w, "null", 4);
    return 1;
}

void json_float(json_writer *w, float v) {
    before_item(w);
    if (refuse_nonfinite(w, v))
        return;
    char tmp[32];
    append(w, tmp, json_format_float(tmp, v));
}

void json_double(json_writer *w, double v) {
    before_item(w);
    if (refuse_nonfinite(w, v))
        return;
    /* 0.971 rather than 0.97099999999999997 */
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    append(w, tmp, (size_t)n);
}

void json_bool(json_writer *w, int v) {
    before_item(w);
    append(w, v ? "true" : "false", v ? 4 : 5);
}

void json_raw(json_writer *w, const char *text) {
    before_item(w);
    append(w, text, strlen(text));
}

/* ------------------------------------------------------------------ members */

void json_field_string(json_writer *w, const char *key, const char *v) {
    json_key(w, key);
    json_string(w, v);
}

void json_field_u64(json_writer *w, const char *key, uint64_t v) {
    json_key(w, key);
    json_u64(w, v);
}

void json_field_i64(json_writer *w, const char *key, int64_t v) {
    json_key(w, key);
    json_i64(w, v);
}

void json_field_double(json_writer *w, const char *key, double v) {
    json_key(w, key);
    json_double(w, v);
}

void json_field_bool(json_writer *w, const char *key, int v) {
    json_key(w, key);
    json_bool(w, v);
}
