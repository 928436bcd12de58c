/*
 * api_vectors.c - the write API's routes and bodies (see api.h): pure
 * functions, like api.c, so unit tests and the fuzz target call them
 * directly. The body is read in one pass; a syntax error stops it, shape
 * errors and value errors (all 422, with FastAPI's detail) are remembered
 * and the pass goes on, so the most basic problem is the one reported.
 */
#include "api.h"

#include "vwhnsw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_route_vector(http_method method, api_route *route, const char **allow) {
    *route = API_VECTOR; /* a 405 is counted under the route it addressed */
    if (method != HTTP_GET && method != HTTP_HEAD && method != HTTP_DELETE) {
        *allow = "GET, HEAD, DELETE";
        return 405;
    }
    return 0;
}

/* A plain decimal integer that fits 64 bits. */
int api_parse_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int api_parse_vector_id(const char *path, size_t path_len, uint64_t *id, api_error *err) {
    memset(err, 0, sizeof *err);
    if (path_len > 9 && memcmp(path, "/vectors/", 9) == 0 &&
        api_parse_u64(path + 9, path_len - 9, id) == 0)
        return 0;
    api_note(err, "int_parsing", (api_loc){"id", -1, -1},
             "the id in /vectors/{id} must be an integer in 0..18446744073709551615");
    err->in_path = 1;
    return -1;
}

typedef struct upsert_parser {
    json_cursor cur;
    uint32_t dim;
    api_error shape, value;
    int out_of_memory;
    uint64_t *ids;
    size_t nids, cap_ids;
    float *rows;
    size_t nrows, cap_rows;
    const char **attrs; /* "attributes": NULL entries for null */
    size_t *attr_lens;
    size_t nattrs, cap_attrs, cap_lens;
} upsert_parser;

/* Room for one more element of a growing array; NULL when out of memory. */
static void *grow(void *p, size_t *cap, size_t have, size_t elem, int *oom) {
    if (have < *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 16;
    void *q = realloc(p, n * elem);
    if (!q) {
        *oom = 1;
        return NULL;
    }
    *cap = n;
    return q;
}

static int read_id(upsert_parser *up, size_t index) {
    json_cursor *cur = &up->cur;
    int c = json_peek(cur);
    if (c != '-' && (c < '0' || c > '9')) {
        api_note(&up->shape, "int_type", (api_loc){"ids", (long)index, -1},
                 "ids must be an array of integers");
        return json_skip_value(cur);
    }
    const char *tok;
    size_t len;
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    uint64_t id = 0;
    if (api_parse_u64(tok, len, &id) != 0)
        api_note(&up->value, tok[0] == '-' ? "greater_than_equal" : "value_error",
                 (api_loc){"ids", (long)index, -1},
                 "ids[%zu] must be an integer in 0..18446744073709551615", index);
    if (up->nids >= API_MAX_BATCH)
        return 0;
    uint64_t *ids = grow(up->ids, &up->cap_ids, up->nids, sizeof *ids, &up->out_of_memory);
    if (ids) {
        up->ids = ids;
        ids[up->nids++] = id;
    }
    return 0;
}

typedef struct array_ctx {
    upsert_parser *up;
    const char *name;
    int (*one)(upsert_parser *, size_t);
    size_t *seen;
} array_ctx;

static int array_element(json_cursor *cur, size_t i, void *ctx) {
    array_ctx *a = ctx;
    (void)cur; /* a->up->cur */
    if (a->one(a->up, i) != 0)
        return -1;
    *a->seen = i + 1;
    if (i == API_MAX_BATCH)
        api_note(&a->up->value, "too_long", (api_loc){a->name, -1, -1},
                 "%s holds more than %u entries", a->name, API_MAX_BATCH);
    return 0;
}

/* Reads an array of elements with `one` (ids or vectors); counts them. */
static int read_array(upsert_parser *up, const char *name, const char *shape_msg,
                      int (*one)(upsert_parser *, size_t), size_t *seen) {
    json_cursor *cur = &up->cur;
    if (json_peek(cur) != '[') {
        api_note(&up->shape, "list_type", (api_loc){name, -1, -1}, "%s", shape_msg);
        return json_skip_value(cur);
    }
    cur->p++;
    array_ctx a = {up, name, one, seen};
    return json_read_elements(cur, array_element, &a);
}

static int read_row(upsert_parser *up, size_t index) {
    float *row = NULL;
    if (up->nrows < API_MAX_BATCH) {
        float *rows = grow(up->rows, &up->cap_rows, up->nrows, (size_t)up->dim * sizeof *rows,
                           &up->out_of_memory);
        if (rows) {
            up->rows = rows;
            row = rows + up->nrows * up->dim;
        }
    }
    if (api_read_vector(&up->cur, up->dim, &up->shape, &up->value, row, "vectors", (long)index) !=
        0)
        return -1;
    up->nrows += row != NULL;
    return 0;
}

/* One entry of "attributes": an object (checked by the library) or null. */
static int read_attrs(upsert_parser *up, size_t index) {
    const char *text;
    size_t len;
    int rc = api_read_attributes(&up->cur, &up->value, (api_loc){"attributes", (long)index, -1},
                                 &text, &len);
    up->out_of_memory |= rc > 0;
    if (rc != 0 || up->nattrs >= API_MAX_BATCH)
        return rc < 0 ? -1 : 0;
    const char **a = grow(up->attrs, &up->cap_attrs, up->nattrs, sizeof *a, &up->out_of_memory);
    up->attrs = a ? a : up->attrs;
    size_t *l = grow(up->attr_lens, &up->cap_lens, up->nattrs, sizeof *l, &up->out_of_memory);
    up->attr_lens = l ? l : up->attr_lens;
    if (a && l) {
        a[up->nattrs] = text;
        l[up->nattrs++] = len;
    }
    return 0;
}

enum { SEEN_IDS = 1, SEEN_VECTORS = 2, SEEN_ATTRS = 4, SEEN_ATTRS_NULL = 8 };

typedef struct upsert_members {
    upsert_parser *up;
    unsigned seen;
    size_t nids, nvecs, nattrs;
} upsert_members;

static int upsert_member(json_cursor *cur, const char *key, void *ctx) {
    upsert_members *m = ctx;
    (void)cur; /* m->up->cur */
    upsert_parser *up = m->up;
    unsigned bit = strcmp(key, "ids") == 0          ? SEEN_IDS
                   : strcmp(key, "vectors") == 0    ? SEEN_VECTORS
                   : strcmp(key, "attributes") == 0 ? SEEN_ATTRS
                                                    : 0;
    if (bit == 0) {
        api_note(&up->shape, "extra_forbidden", (api_loc){key, -1, -1},
                 "unknown member \"%s\": extra inputs are not permitted", key);
        return json_skip_value(&up->cur);
    }
    if ((bit & m->seen) || (bit == SEEN_ATTRS && (m->seen & SEEN_ATTRS_NULL))) {
        api_note(&up->shape, "value_error", (api_loc){key, -1, -1}, "duplicate member \"%s\"", key);
        return json_skip_value(&up->cur);
    }
    if (bit == SEEN_ATTRS && json_peek(&up->cur) == 'n') {
        m->seen |= SEEN_ATTRS_NULL; /* "attributes": null, as if absent: none */
        return json_skip_value(&up->cur);
    }
    m->seen |= bit;
    if (bit == SEEN_IDS)
        return read_array(up, "ids", "ids must be an array of integers", read_id, &m->nids);
    if (bit == SEEN_ATTRS)
        return read_array(up, "attributes", "attributes must be an array of objects or nulls",
                          read_attrs, &m->nattrs);
    return read_array(up, "vectors", "vectors must be an array of arrays of numbers", read_row,
                      &m->nvecs);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Counts that match, at least one vector, no id twice. */
static void check_counts(upsert_parser *up, size_t nids, size_t nvecs, const upsert_members *m) {
    if (nids != nvecs)
        api_note(&up->value, "value_error", (api_loc){"vectors", -1, -1},
                 "ids has %zu entries but vectors has %zu", nids, nvecs);
    if ((m->seen & SEEN_ATTRS) && m->nattrs != nids)
        api_note(&up->value, "value_error", (api_loc){"attributes", -1, -1},
                 "ids has %zu entries but attributes has %zu", nids, m->nattrs);
    if (nids == 0)
        api_note(&up->value, "too_short", (api_loc){"ids", -1, -1},
                 "ids and vectors must not be empty");
    if (up->value.status != 0 || up->nids < 2)
        return;
    uint64_t *sorted = malloc(up->nids * sizeof *sorted);
    if (!sorted) {
        up->out_of_memory = 1;
        return;
    }
    memcpy(sorted, up->ids, up->nids * sizeof *sorted);
    qsort(sorted, up->nids, sizeof *sorted, cmp_u64);
    for (size_t i = 1; i < up->nids; i++)
        if (sorted[i] == sorted[i - 1]) {
            api_note(&up->value, "value_error", (api_loc){"ids", -1, -1}, "id %llu appears twice",
                     (unsigned long long)sorted[i]);
            break;
        }
    free(sorted);
}

static int pick_upsert_error(const upsert_parser *up, unsigned seen, api_error *err) {
    memset(err, 0, sizeof *err);
    if (up->cur.error) {
        api_syntax_error(&up->cur, err);
    } else if (up->out_of_memory) {
        err->status = 500;
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (up->shape.status) {
        *err = up->shape;
    } else if ((seen & (SEEN_IDS | SEEN_VECTORS)) != (SEEN_IDS | SEEN_VECTORS)) {
        const char *key = seen & SEEN_IDS ? "vectors" : "ids";
        api_note(err, "missing", (api_loc){key, -1, -1}, "missing member \"%s\"", key);
    } else if (up->value.status) {
        *err = up->value;
    } else {
        return 0;
    }
    return -1;
}

int api_parse_upsert(const char *body, size_t len, uint32_t dim, api_upsert *out, api_error *err) {
    upsert_parser up;
    memset(&up, 0, sizeof up);
    json_init(&up.cur, body, len);
    up.dim = dim;
    upsert_members m = {.up = &up};
    if (api_read_object(&up.cur, &up.shape, upsert_member, &m) == 0 &&
        (m.seen & (SEEN_IDS | SEEN_VECTORS)) == (SEEN_IDS | SEEN_VECTORS))
        check_counts(&up, m.nids, m.nvecs, &m);
    memset(out, 0, sizeof *out);
    if (pick_upsert_error(&up, m.seen, err) != 0) {
        free(up.ids);
        free(up.rows);
        free(up.attrs);
        free(up.attr_lens);
        return -1;
    }
    if (!(m.seen & SEEN_ATTRS)) {
        free(up.attrs); /* none, or a duplicate member's */
        free(up.attr_lens);
        up.attrs = NULL;
        up.attr_lens = NULL;
    }
    *out = (api_upsert){up.ids, up.rows, up.nids, up.attrs, up.attr_lens};
    return 0;
}

void api_upsert_free(api_upsert *u) {
    free(u->ids);
    free(u->vectors);
    free(u->attrs);
    free(u->attr_lens);
    memset(u, 0, sizeof *u);
}

/* ------------------------------------------------------------------ answers */

int api_store_failure(vw_status st, const char *detail, char *msg, size_t cap) {
    snprintf(msg, cap, "%s%s%s", vw_strerror(st), detail && detail[0] ? ": " : "",
             detail ? detail : "");
    switch (st) {
    case VW_ERR_NONFINITE:
    case VW_ERR_ZERO_VECTOR:
    case VW_ERR_DUPLICATE_LABEL:
    case VW_ERR_DIMENSION:
    case VW_ERR_INVALID_ARG:
        return 422;
    case VW_ERR_NOMEM:
        return 503;
    default:
        return 500;
    }
}

void api_write_vector(json_writer *w, uint64_t id, const float *v, uint32_t dim,
                      const char *attrs) {
    json_writer_reserve(w, 48 + (size_t)dim * 16 + (attrs ? strlen(attrs) : 0));
    json_begin_object(w);
    json_field_u64(w, "id", id);
    json_key(w, "vector");
    json_begin_array(w);
    for (uint32_t i = 0; i < dim; i++)
        json_float(w, v[i]);
    json_end_array(w);
    json_key(w, "attributes");
    json_raw(w, attrs && *attrs ? attrs : "null"); /* canonical JSON from the library */
    json_end_object(w);
}

void api_write_upserted(json_writer *w, uint64_t n) {
    json_begin_object(w);
    json_field_u64(w, "upserted", n);
    json_end_object(w);
}

void api_write_deleted(json_writer *w, uint64_t id) {
    json_begin_object(w);
    json_field_u64(w, "deleted", id);
    json_end_object(w);
}

void api_write_snapshot(json_writer *w, double seconds) {
    json_begin_object(w);
    json_field_string(w, "snapshot", "written");
    json_field_double(w, "seconds", seconds);
    json_end_object(w);
}
