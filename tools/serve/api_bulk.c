/*
 * api_bulk.c - the bodies of bulk loads into POST /vectors (see api.h):
 * one NDJSON line, and the header of a .npy body. Pure functions, like
 * api.c, so the unit tests and the fuzz target call them directly.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LINE_ID = 1, LINE_VECTOR = 2, LINE_ATTRS = 4 };

typedef struct line_parser {
    uint32_t dim;
    unsigned seen;
    uint64_t id;
    float *vec;
    const char *attrs;
    size_t attrs_len;
    int out_of_memory;
    api_error shape, value;
} line_parser;

int api_read_attributes(json_cursor *cur, api_error *value, api_loc at, const char **text,
                        size_t *len) {
    int c = json_peek(cur);
    const char *start = cur->p;
    *text = NULL;
    *len = 0;
    if (json_skip_value(cur) != 0)
        return -1;
    if (c == 'n')
        return 0; /* null: none */
    vw_status st = vw_attributes_check(start, (size_t)(cur->p - start));
    if (st == VW_ERR_NOMEM)
        return 1;
    if (st != VW_OK)
        api_note(value, "value_error", at, "%s", vw_last_error_detail());
    *text = start;
    *len = (size_t)(cur->p - start);
    return 0;
}

static int line_member(json_cursor *cur, const char *key, void *ctx) {
    line_parser *lp = ctx;
    unsigned bit = strcmp(key, "id") == 0           ? LINE_ID
                   : strcmp(key, "vector") == 0     ? LINE_VECTOR
                   : strcmp(key, "attributes") == 0 ? LINE_ATTRS
                                                    : 0;
    if (bit == 0) {
        api_note(&lp->shape, "extra_forbidden", (api_loc){key, -1, -1},
                 "unknown member \"%s\": a line is {\"id\": N, \"vector\": [...], "
                 "\"attributes\": {...}}",
                 key);
        return json_skip_value(cur);
    }
    if (bit & lp->seen) {
        api_note(&lp->shape, "value_error", (api_loc){key, -1, -1}, "duplicate member \"%s\"", key);
        return json_skip_value(cur);
    }
    lp->seen |= bit;
    if (bit == LINE_ATTRS) {
        int rc = api_read_attributes(cur, &lp->value, (api_loc){"attributes", -1, -1}, &lp->attrs,
                                     &lp->attrs_len);
        lp->out_of_memory |= rc > 0;
        return rc < 0 ? -1 : 0;
    }
    if (bit == LINE_VECTOR)
        return api_read_vector(cur, lp->dim, &lp->shape, &lp->value, lp->vec, "vector", -1);
    const char *tok;
    size_t len;
    int c = json_peek(cur);
    if (c != '-' && (c < '0' || c > '9')) {
        api_note(&lp->shape, "int_type", (api_loc){"id", -1, -1}, "id must be an integer");
        return json_skip_value(cur);
    }
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    if (api_parse_u64(tok, len, &lp->id) != 0)
        api_note(&lp->value, "value_error", (api_loc){"id", -1, -1},
                 "id must be an integer in 0..18446744073709551615");
    return 0;
}

int api_parse_ndjson_line(const char *line, size_t len, uint32_t dim, uint64_t *id, float *vec,
                          const char **attrs, size_t *attrs_len, api_error *err) {
    line_parser lp;
    memset(&lp, 0, sizeof lp);
    lp.dim = dim;
    lp.vec = vec;
    json_cursor cur;
    json_init(&cur, line, len);
    memset(err, 0, sizeof *err);
    int rc = api_read_object(&cur, &lp.shape, line_member, &lp);
    if (rc != 0 || cur.error) {
        api_syntax_error(&cur, err);
    } else if (lp.out_of_memory) {
        err->status = 503;
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (lp.shape.status) {
        *err = lp.shape;
    } else if ((lp.seen & (LINE_ID | LINE_VECTOR)) != (LINE_ID | LINE_VECTOR)) {
        const char *key = lp.seen & LINE_ID ? "vector" : "id";
        api_note(err, "missing", (api_loc){key, -1, -1}, "missing member \"%s\"", key);
    } else if (lp.value.status) {
        *err = lp.value;
    } else {
        *id = lp.id;
        *attrs = lp.attrs;
        *attrs_len = lp.attrs_len;
        return 0;
    }
    return -1;
}

/* The value of 'key': in the header dict, or NULL. */
static const char *dict_value(const char *dict, const char *key) {
    const char *k = strstr(dict, key);
    if (k == NULL)
        return NULL;
    k += strlen(key);
    while (*k == ' ')
        k++;
    if (*k != ':')
        return NULL;
    k++;
    while (*k == ' ')
        k++;
    return k;
}

/* The dict of a .npy header: float32 little-endian, C order, (rows, dim). */
static int check_npy_dict(const char *dict, uint32_t dim, uint64_t *rows, api_error *err) {
    const char *descr = dict_value(dict, "'descr'");
    const char *order = dict_value(dict, "'fortran_order'");
    const char *shape = dict_value(dict, "'shape'");
    if (!descr || !order || !shape || *shape != '(') {
        api_note(err, "value_error", (api_loc){NULL, -1, -1}, "not a .npy header");
        return -1;
    }
    if (strncmp(descr, "'<f4'", 5) != 0) {
        api_note(err, "value_error", (api_loc){NULL, -1, -1},
                 "the .npy array must be float32 ('<f4'); convert with a.astype(np.float32)");
        return -1;
    }
    if (strncmp(order, "False", 5) != 0) {
        api_note(err, "value_error", (api_loc){NULL, -1, -1},
                 "the .npy array must be in C order (np.ascontiguousarray)");
        return -1;
    }
    char *end = NULL;
    unsigned long long n = strtoull(shape + 1, &end, 10);
    unsigned long long d = 0;
    if (end && *end == ',') {
        while (*++end == ' ')
            ;
        d = strtoull(end, &end, 10);
    }
    if (end == NULL || *end != ')' || d != dim) {
        api_note(err, "value_error", (api_loc){NULL, -1, -1},
                 "the .npy array must be 2-D, (rows, %u): the index dimension is %u", dim, dim);
        return -1;
    }
    *rows = n;
    return 0;
}

long api_parse_npy_header(const unsigned char *buf, size_t len, uint32_t dim, uint64_t *rows,
                          api_error *err) {
    memset(err, 0, sizeof *err);
    if (len < 10)
        return 0;
    if (memcmp(buf, "\x93NUMPY", 6) != 0 || buf[6] < 1 || buf[6] > 3) {
        api_note(err, "value_error", (api_loc){NULL, -1, -1},
                 "not a .npy file (version 1, 2 or 3): np.save writes one");
        return -1;
    }
    size_t start = buf[6] == 1 ? 10 : 12;
    if (len < start)
        return 0;
    size_t hlen = buf[6] == 1 ? (size_t)buf[8] | (size_t)buf[9] << 8
                              : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                                    (size_t)buf[11] << 24;
    if (hlen > 65536) {
        api_note(err, "value_error", (api_loc){NULL, -1, -1}, "the .npy header is too long");
        return -1;
    }
    if (len < start + hlen)
        return 0;
    char dict[65537];
    memcpy(dict, buf + start, hlen);
    dict[hlen] = '\0';
    if (memchr(dict, '\0', hlen) != NULL || check_npy_dict(dict, dim, rows, err) != 0) {
        if (err->status == 0)
            api_note(err, "value_error", (api_loc){NULL, -1, -1}, "not a .npy header");
        return -1;
    }
    return (long)(start + hlen);
}

void api_write_bulk_error(json_writer *w, const api_error *e, uint64_t written, uint64_t first_id,
                          int range) {
    json_begin_object(w);
    api_write_error_members(w, e);
    json_field_u64(w, "written", written);
    json_key(w, "durable");
    json_begin_object(w);
    if (range && written > 0) {
        json_field_u64(w, "first_id", first_id);
        json_field_u64(w, "last_id", first_id + written - 1);
    } else {
        json_field_u64(w, "first_records", written);
    }
    json_end_object(w);
    json_end_object(w);
}
