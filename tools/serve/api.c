/*
 * api.c - routing, search-body decoding and response bodies (see api.h).
 *
 * A body is read in one pass. Syntax errors stop the pass at once; shape
 * errors (400) and value errors (422) are remembered and the pass goes on,
 * so a body that is not JSON at all is always reported as such, whatever
 * else is wrong with it.
 */
#include "api.h"

#include "vwhnsw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_route_request(http_method method, const char *path, size_t path_len, api_route *route,
                      const char **allow) {
    static const struct {
        const char *path;
        api_route route;
        int is_post;
    } table[] = {{"/", API_HEALTH, 0},         {"/stats", API_STATS, 0},
                 {"/search", API_SEARCH, 1},   {"/search/batch", API_SEARCH_BATCH, 1},
                 {"/vectors", API_VECTORS, 1}, {"/snapshot", API_SNAPSHOT, 1}};
    if (path_len > 9 && memcmp(path, "/vectors/", 9) == 0)
        return api_route_vector(method, route, allow);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strlen(table[i].path) != path_len || memcmp(table[i].path, path, path_len) != 0)
            continue;
        int ok =
            table[i].is_post ? method == HTTP_POST : (method == HTTP_GET || method == HTTP_HEAD);
        if (!ok) {
            *allow = table[i].is_post ? "POST" : "GET, HEAD";
            return 405;
        }
        *route = table[i].route;
        return 0;
    }
    return 404;
}

typedef struct body_parser {
    json_cursor cur;
    uint32_t dim;
    int batch;
    api_error shape; /* first 400 error that is not a syntax error */
    api_error value; /* first 422 error */
    int out_of_memory;
    float *rows;
    size_t nq;
    size_t cap_rows;
} body_parser;

void api_note(api_error *e, int status, const char *fmt, ...) {
    if (e->status != 0)
        return;
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static int starts_number(int c) {
    return c == '-' || (c >= '0' && c <= '9');
}

int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *what) {
    if (json_peek(cur) != '[') {
        api_note(shape, 400, "%s must be an array of numbers", what);
        return json_skip_value(cur);
    }
    cur->p++;
    size_t count = 0;
    int more = 1;
    for (int first = 1;; first = 0) {
        if (json_next_item(cur, ']', first, &more) != 0)
            return -1;
        if (!more)
            break;
        if (!starts_number(json_peek(cur))) {
            api_note(shape, 400, "%s must be an array of numbers", what);
            if (json_skip_value(cur) != 0)
                return -1;
            continue;
        }
        const char *tok;
        size_t len;
        if (json_read_number(cur, &tok, &len) != 0)
            return -1;
        float v = 0.0f;
        if (json_number_to_float(tok, len, &v) != 0)
            api_note(value, 422, "%s[%zu] is not a finite float32 value", what, count);
        if (dst != NULL && count < dim)
            dst[count] = v;
        count++;
    }
    if (count != dim)
        api_note(value, 422, "%s has %zu components; the index dimension is %u", what, count, dim);
    return 0;
}

static int read_vector(body_parser *bp, float *dst, const char *what) {
    return api_read_vector(&bp->cur, bp->dim, &bp->shape, &bp->value, dst, what);
}

/* Room for one more row in bp->rows; NULL when out of memory or over the batch limit. */
static float *next_row(body_parser *bp) {
    if (bp->nq >= API_MAX_BATCH)
        return NULL;
    if (bp->nq == bp->cap_rows) {
        size_t cap = bp->cap_rows ? bp->cap_rows * 2 : 16;
        float *p = realloc(bp->rows, cap * bp->dim * sizeof(float));
        if (p == NULL) {
            bp->out_of_memory = 1;
            return NULL;
        }
        bp->rows = p;
        bp->cap_rows = cap;
    }
    return bp->rows + bp->nq * bp->dim;
}

static int read_single(body_parser *bp) {
    float *row = next_row(bp);
    if (read_vector(bp, row, "query_vector") != 0)
        return -1;
    bp->nq = 1;
    return 0;
}

static int read_batch(body_parser *bp) {
    json_cursor *cur = &bp->cur;
    if (json_peek(cur) != '[') {
        api_note(&bp->shape, 400, "query_vectors must be an array of arrays of numbers");
        return json_skip_value(cur);
    }
    cur->p++;
    size_t seen = 0;
    int more = 1;
    for (int first = 1;; first = 0) {
        if (json_next_item(cur, ']', first, &more) != 0)
            return -1;
        if (!more)
            return 0;
        char what[40];
        snprintf(what, sizeof what, "query_vectors[%zu]", seen);
        float *row = next_row(bp);
        if (read_vector(bp, row, what) != 0)
            return -1;
        if (row != NULL)
            bp->nq++;
        seen++;
        if (seen > API_MAX_BATCH)
            api_note(&bp->value, 422, "a batch holds at most %u queries", API_MAX_BATCH);
    }
}

/* An integer-valued JSON number in [lo, hi]; "10" and "1e1" both give 10. */
static int read_bounded_int(body_parser *bp, const char *name, uint32_t lo, uint32_t hi,
                            uint32_t *out) {
    json_cursor *cur = &bp->cur;
    if (!starts_number(json_peek(cur))) {
        api_note(&bp->shape, 400, "%s must be an integer", name);
        return json_skip_value(cur);
    }
    const char *tok;
    size_t len;
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    double v;
    if (json_number_to_double(tok, len, &v) != 0 || v != floor(v) || v < lo || v > hi) {
        api_note(&bp->value, 422, "%s must be an integer in %u..%u", name, lo, hi);
        return 0;
    }
    *out = (uint32_t)v;
    return 0;
}

enum { SEEN_VECTOR = 1, SEEN_K = 2, SEEN_EF = 4 };

static int read_member(body_parser *bp, const char *key, unsigned *seen, api_search *out) {
    const char *vector_key = bp->batch ? "query_vectors" : "query_vector";
    unsigned bit = strcmp(key, vector_key) == 0    ? SEEN_VECTOR
                   : strcmp(key, "k") == 0         ? SEEN_K
                   : strcmp(key, "ef_search") == 0 ? SEEN_EF
                                                   : 0;
    if (bit == 0)
        return json_skip_value(&bp->cur);
    if (*seen & bit)
        api_note(&bp->shape, 400, "duplicate member \"%s\"", key);
    *seen |= bit;
    if (bit == SEEN_K)
        return read_bounded_int(bp, "k", 1, VW_MAX_K, &out->k);
    if (bit == SEEN_EF)
        return read_bounded_int(bp, "ef_search", 1, VW_MAX_EF, &out->ef);
    if (bp->nq != 0)
        return json_skip_value(&bp->cur); /* duplicate, already reported */
    return bp->batch ? read_batch(bp) : read_single(bp);
}

int api_read_object(json_cursor *cur, api_error *shape, api_member_fn member, void *ctx) {
    if (json_peek(cur) != '{') {
        if (json_skip_value(cur) != 0)
            return -1;
        api_note(shape, 400, "the body must be a JSON object");
        return json_expect_end(cur);
    }
    cur->p++;
    int more = 1;
    for (int first = 1;; first = 0) {
        if (json_next_item(cur, '}', first, &more) != 0)
            return -1;
        if (!more)
            return json_expect_end(cur);
        char key[32];
        int truncated = 0;
        if (json_read_string(cur, key, sizeof key, &truncated) != 0 || json_expect(cur, ':') != 0)
            return -1;
        if (truncated)
            key[0] = '\0'; /* longer than any name we know */
        if (member(ctx, key) != 0)
            return -1;
    }
}

typedef struct search_members {
    body_parser *bp;
    unsigned *seen;
    api_search *out;
} search_members;

static int search_member(void *ctx, const char *key) {
    search_members *m = ctx;
    return read_member(m->bp, key, m->seen, m->out);
}

static int read_object(body_parser *bp, unsigned *seen, api_search *out) {
    search_members m = {bp, seen, out};
    return api_read_object(&bp->cur, &bp->shape, search_member, &m);
}

static int pick_error(const body_parser *bp, unsigned seen, api_error *err) {
    if (bp->cur.error != NULL) {
        err->status = 400;
        snprintf(err->message, sizeof err->message, "malformed JSON: %s at byte %zu", bp->cur.error,
                 (size_t)(bp->cur.p - bp->cur.start));
    } else if (bp->out_of_memory) {
        err->status = 500;
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (bp->shape.status != 0) {
        *err = bp->shape;
    } else if (!(seen & SEEN_VECTOR)) {
        err->status = 400;
        snprintf(err->message, sizeof err->message, "missing member \"%s\"",
                 bp->batch ? "query_vectors" : "query_vector");
    } else if (bp->value.status != 0) {
        *err = bp->value;
    } else {
        return 0;
    }
    return -1;
}

int api_parse_search(const char *body, size_t len, int batch, uint32_t dim, uint32_t default_ef,
                     uint64_t max_work, api_search *out, api_error *err) {
    body_parser bp;
    memset(&bp, 0, sizeof bp);
    json_init(&bp.cur, body, len);
    bp.dim = dim;
    bp.batch = batch;
    memset(out, 0, sizeof *out);
    out->k = API_DEFAULT_K;
    out->ef = default_ef;
    unsigned seen = 0;
    (void)read_object(&bp, &seen, out);
    if (bp.value.status == 0 && (uint64_t)bp.nq * out->k > API_MAX_BATCH_RESULTS)
        api_note(&bp.value, 422, "a batch may ask for at most %u results (queries x k)",
                 API_MAX_BATCH_RESULTS);
    uint64_t work = (uint64_t)bp.nq * (out->ef > out->k ? out->ef : out->k);
    if (bp.value.status == 0 && work > max_work)
        api_note(&bp.value, 422,
                 "the request asks for %llu units of search work (queries x max(k, ef_search)); "
                 "this server allows %llu",
                 (unsigned long long)work, (unsigned long long)max_work);
    memset(err, 0, sizeof *err);
    if (pick_error(&bp, seen, err) != 0) {
        free(bp.rows);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->queries = bp.rows;
    out->nq = bp.nq;
    return 0;
}

void api_search_free(api_search *s) {
    free(s->queries);
    s->queries = NULL;
    s->nq = 0;
}

void api_write_error(json_buf *b, const char *message) {
    json_buf_puts(b, "{\"error\":");
    json_buf_string(b, message);
    json_buf_puts(b, "}");
}

void api_write_result(json_buf *b, const uint64_t *labels, const float *distances, uint32_t found) {
    json_buf_reserve(b, 48 + (size_t)found * 40);
    json_buf_puts(b, "{\"indices\":[");
    for (uint32_t i = 0; i < found; i++) {
        if (i)
            json_buf_append(b, ",", 1);
        json_buf_u64(b, labels[i]);
    }
    json_buf_puts(b, "],\"distances\":[");
    for (uint32_t i = 0; i < found; i++) {
        if (i)
            json_buf_append(b, ",", 1);
        json_buf_float(b, distances[i]);
    }
    json_buf_puts(b, "]}");
}
