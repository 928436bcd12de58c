/*
 * api.c - routing, search-body decoding, statuses and response bodies (see
 * api.h).
 *
 * A body is read in one pass. Syntax errors stop the pass at once; shape
 * errors (400) and value errors (422) are remembered and the pass goes on,
 * so a body that is not JSON at all is always reported as such, whatever
 * else is wrong with it.
 */
#include "api.h"

#include "index_json.h"

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

typedef struct vector_ctx {
    uint32_t dim;
    api_error *shape, *value;
    float *dst;       /* dim floats, or NULL to only check the vector */
    const char *what; /* names it in messages: "query_vector", "query_vectors[3]" */
    size_t count;
} vector_ctx;

static int vector_element(json_cursor *cur, size_t i, void *ctx) {
    vector_ctx *v = ctx;
    v->count = i + 1;
    if (!starts_number(json_peek(cur))) {
        api_note(v->shape, 400, "%s must be an array of numbers", v->what);
        return json_skip_value(cur);
    }
    const char *tok;
    size_t len;
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    float x = 0.0f;
    if (json_number_to_float(tok, len, &x) != 0)
        api_note(v->value, 422, "%s[%zu] is not a finite float32 value", v->what, i);
    if (v->dst != NULL && i < v->dim)
        v->dst[i] = x;
    return 0;
}

int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *what) {
    if (json_peek(cur) != '[') {
        api_note(shape, 400, "%s must be an array of numbers", what);
        return json_skip_value(cur);
    }
    cur->p++;
    vector_ctx v = {dim, shape, value, dst, what, 0};
    if (json_read_elements(cur, vector_element, &v) != 0)
        return -1;
    if (v.count != dim)
        api_note(value, 422, "%s has %zu components; the index dimension is %u", what, v.count,
                 dim);
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

static int batch_element(json_cursor *cur, size_t i, void *ctx) {
    body_parser *bp = ctx;
    (void)cur; /* bp->cur */
    char what[40];
    snprintf(what, sizeof what, "query_vectors[%zu]", i);
    float *row = next_row(bp);
    if (read_vector(bp, row, what) != 0)
        return -1;
    if (row != NULL)
        bp->nq++;
    if (i + 1 > API_MAX_BATCH)
        api_note(&bp->value, 422, "a batch holds at most %u queries", API_MAX_BATCH);
    return 0;
}

static int read_batch(body_parser *bp) {
    json_cursor *cur = &bp->cur;
    if (json_peek(cur) != '[') {
        api_note(&bp->shape, 400, "query_vectors must be an array of arrays of numbers");
        return json_skip_value(cur);
    }
    cur->p++;
    return json_read_elements(cur, batch_element, bp);
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

int api_read_object(json_cursor *cur, api_error *shape,
                    int (*member)(json_cursor *cur, const char *key, void *ctx), void *ctx) {
    if (json_peek(cur) != '{') {
        if (json_skip_value(cur) != 0)
            return -1;
        api_note(shape, 400, "the body must be a JSON object");
        return json_expect_end(cur);
    }
    cur->p++;
    if (json_read_members(cur, member, ctx) != 0)
        return -1;
    return json_expect_end(cur);
}

typedef struct member_ctx {
    body_parser *bp;
    unsigned *seen;
    api_search *out;
} member_ctx;

static int member_cb(json_cursor *cur, const char *key, void *p) {
    member_ctx *m = p;
    (void)cur; /* m->bp->cur */
    return read_member(m->bp, key, m->seen, m->out);
}

static int read_object(body_parser *bp, unsigned *seen, api_search *out) {
    member_ctx m = {bp, seen, out};
    return api_read_object(&bp->cur, &bp->shape, member_cb, &m);
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

/* ------------------------------------------------------------------ answers */

int api_search_failure(vw_status st, const char *detail, long query, char *msg, size_t cap) {
    char where[40] = "";
    if (query >= 0)
        snprintf(where, sizeof where, "query_vectors[%ld]: ", query);
    if (st == VW_ERR_ZERO_VECTOR)
        snprintf(msg, cap, "%sthe query vector has zero length and cannot be normalized", where);
    else
        snprintf(msg, cap, "%s%s%s%s", where, vw_strerror(st), detail && detail[0] ? ": " : "",
                 detail ? detail : "");
    switch (st) {
    case VW_ERR_ZERO_VECTOR:
    case VW_ERR_NONFINITE:
    case VW_ERR_DIMENSION:
    case VW_ERR_K:
    case VW_ERR_EF:
    case VW_ERR_INVALID_ARG:
        return 422;
    default:
        return 500;
    }
}

void api_write_error(json_writer *w, const char *message) {
    json_begin_object(w);
    json_field_string(w, "error", message);
    json_end_object(w);
}

void api_begin_results(json_writer *w, int batch) {
    if (!batch)
        return;
    json_begin_object(w);
    json_key(w, "results");
    json_begin_array(w);
}

void api_end_results(json_writer *w, int batch) {
    if (!batch)
        return;
    json_end_array(w);
    json_end_object(w);
}

int api_write_health(json_writer *w, const vw_stats *info, int index_changed) {
    if (index_changed) {
        api_write_error(w, API_INDEX_CHANGED);
        return 503;
    }
    json_begin_object(w);
    json_field_string(w, "status", "ok");
    json_field_u64(w, "count", info->count);
    json_field_u64(w, "dim", info->dim);
    json_end_object(w);
    return 200;
}

/* The "writes" object of /stats (a server with --data). */
static void write_writes(json_writer *w, const api_write_figures *ws) {
    const vw_store_stats *s = &ws->store;
    json_key(w, "writes");
    json_begin_object(w);
    json_field_u64(w, "log_bytes", s->log_bytes);
    json_field_u64(w, "log_records", s->log_records);
    json_field_u64(w, "writes", s->writes);
    json_field_u64(w, "log_syncs", s->commits);
    json_field_u64(w, "snapshots", s->snapshots);
    json_field_u64(w, "snapshot_failures", ws->snapshot_failures);
    json_field_u64(w, "replayed_records", s->replayed_records);
    json_field_u64(w, "dropped_bytes", s->dropped_bytes);
    json_field_double(w, "seconds_since_snapshot", ws->seconds_since_snapshot);
    json_field_bool(w, "failed", s->failed);
    json_end_object(w);
}

void api_write_stats(json_writer *w, const vw_stats *info, uint64_t file_bytes,
                     const api_server_stats *sv, const api_write_figures *writes) {
    json_begin_object(w);
    tool_json_index_stats(w, info, (int64_t)file_bytes);
    json_field_u64(w, "ef_search", sv->ef_search);
    json_field_bool(w, "normalize_queries",
                    sv->normalize_queries || info->metric == VW_METRIC_COSINE);
    json_field_string(w, "simd", vw_simd_name(vw_simd_active()));
    json_field_u64(w, "threads", sv->threads);
    json_field_double(w, "uptime_s", sv->uptime_s);
    json_field_u64(w, "requests", sv->requests);
    json_field_u64(w, "errors", sv->errors);
    json_field_u64(w, "queries", sv->queries);
    json_field_u64(w, "timeouts", sv->timeouts);
    json_field_u64(w, "rejected", sv->rejected);
    json_field_u64(w, "in_flight", sv->in_flight);
    json_field_u64(w, "connections", sv->connections);
    json_field_u64(w, "connections_accepted", sv->connections_accepted);
    json_field_u64(w, "max_work", sv->max_work);
    json_field_u64(w, "log_dropped", sv->log_dropped);
    json_field_u64(w, "index_faults", sv->index_faults);
    json_field_u64(w, "index_reloads", sv->index_reloads);
    json_field_bool(w, "index_changed", sv->index_changed);
    json_field_bool(w, "read_only", writes == NULL);
    if (writes)
        write_writes(w, writes);
    json_field_string(w, "version", vw_version());
    json_end_object(w);
}
