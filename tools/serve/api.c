/*
 * api.c - routing, search-body decoding, statuses and response bodies (see
 * api.h).
 *
 * A body is read in one pass. Syntax errors stop the pass at once; shape
 * errors and value errors (all 422) are remembered and the pass goes on,
 * so a body that is not JSON at all is always reported as such, whatever
 * else is wrong with it, and a shape error before a value error.
 */
#include "api.h"

#include "index_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *path;
    int is_post;
} routes[API_ROUTE_COUNT] = {[API_HEALTH] = {"/", 0},
                             [API_STATS] = {"/stats", 0},
                             [API_SEARCH] = {"/search", 1},
                             [API_SEARCH_BATCH] = {"/search/batch", 1},
                             [API_METRICS] = {"/metrics", 0},
                             [API_OPENAPI] = {"/openapi.json", 0},
                             [API_ADMIN_RELOAD] = {"/admin/reload", 1},
                             [API_VECTORS] = {"/vectors", 1},
                             [API_VECTOR] = {"/vectors/{id}", 0},
                             [API_SNAPSHOT] = {"/snapshot", 1},
                             [API_UNROUTED] = {"unmatched", 0}};

int api_route_request(http_method method, const char *path, size_t path_len, api_route *route,
                      const char **allow) {
    if (path_len > 9 && memcmp(path, "/vectors/", 9) == 0)
        return api_route_vector(method, route, allow);
    for (int i = 0; i < API_UNROUTED; i++) {
        const char *p = routes[i].path;
        if (i == API_VECTOR)
            continue; /* a pattern, matched above */
        if (strlen(p) != path_len || memcmp(p, path, path_len) != 0)
            continue;
        int post = routes[i].is_post;
        int ok = post ? method == HTTP_POST : (method == HTTP_GET || method == HTTP_HEAD);
        *route = (api_route)i; /* a 405 is counted under the route it addressed */
        if (!ok) {
            *allow = post ? "POST" : "GET, HEAD";
            return 405;
        }
        return 0;
    }
    return 404;
}

const char *api_route_path(api_route route) {
    return route < API_ROUTE_COUNT ? routes[route].path : routes[API_UNROUTED].path;
}

int api_route_is_post(api_route route) {
    return route < API_ROUTE_COUNT && routes[route].is_post;
}

typedef struct body_parser {
    json_cursor cur;
    uint32_t dim;
    int batch;
    api_error shape; /* first error of shape (a member of the wrong type...) */
    api_error value; /* first error of value */
    int out_of_memory;
    float *rows;
    size_t nq;
    size_t cap_rows;
} body_parser;

/* A member name from the body may be cut by a fixed buffer in the middle of
 * a UTF-8 character, and the error's JSON would then not be UTF-8: the cut
 * goes back to the start of that character. */
static void utf8_trim_cut(char *s) {
    size_t n = strlen(s), lead = n;
    while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--; /* over continuation bytes */
    if (lead == 0)
        return;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - (lead - 1) < want)
        s[lead - 1] = '\0';
}

void api_note(api_error *e, const char *type, api_loc at, const char *fmt, ...) {
    if (e->status != 0)
        return;
    e->status = 422;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->loc_key, sizeof e->loc_key, "%s", at.key ? at.key : "");
    utf8_trim_cut(e->loc_key);
    e->loc_index[0] = at.i0;
    e->loc_index[1] = at.i1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    utf8_trim_cut(e->message);
}

static int starts_number(int c) {
    return c == '-' || (c >= '0' && c <= '9');
}

typedef struct vector_ctx {
    uint32_t dim;
    api_error *shape, *value;
    float *dst;      /* dim floats, or NULL to only check the vector */
    const char *key; /* the member holding it */
    long row;        /* its position in that member's array, or -1 */
    size_t count;
} vector_ctx;

/* "query_vector" or "query_vectors[3]", for messages. */
static void vector_name(const vector_ctx *v, char *out, size_t cap) {
    if (v->row < 0)
        snprintf(out, cap, "%s", v->key);
    else
        snprintf(out, cap, "%s[%ld]", v->key, v->row);
}

/* Runs once per component of every query: the name for a message is
 * written only when there is something to say. */
static int vector_element(json_cursor *cur, size_t i, void *ctx) {
    vector_ctx *v = ctx;
    v->count = i + 1;
    char what[48];
    api_loc at = v->row < 0 ? (api_loc){v->key, (long)i, -1} : (api_loc){v->key, v->row, (long)i};
    if (!starts_number(json_peek(cur))) {
        vector_name(v, what, sizeof what);
        api_note(v->shape, "float_type", at, "%s must be an array of numbers", what);
        return json_skip_value(cur);
    }
    float x = 0.0f;
    int rc = json_read_float(cur, &x);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        vector_name(v, what, sizeof what);
        api_note(v->value, "finite_number", at, "%s[%zu] is not a finite float32 value", what, i);
    }
    if (v->dst != NULL && i < v->dim)
        v->dst[i] = x;
    return 0;
}

/* The usual vector, dim finite numbers after its '[', read in one loop:
 * the general path's call per component (and the place it keeps for a
 * message) is about a third of reading a query. -1 leaves *cur where it
 * was, for the general path to read the array again and name what is
 * wrong; dst may then hold some components, which that path rewrites. */
static int read_vector_fast(json_cursor *cur, uint32_t dim, float *dst) {
    json_cursor c = *cur;
    for (uint32_t i = 0; i < dim; i++) {
        if (i > 0) {
            if (json_peek(&c) != ',')
                return -1;
            c.p++;
        }
        if (!starts_number(json_peek(&c)) || json_read_float(&c, &dst[i]) != 0)
            return -1;
    }
    if (dim == 0 || json_peek(&c) != ']')
        return -1;
    c.p++;
    *cur = c;
    return 0;
}

int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *key, long row) {
    if (dst != NULL && json_peek(cur) == '[') {
        json_cursor after = *cur;
        after.p++;
        if (read_vector_fast(&after, dim, dst) == 0) {
            *cur = after;
            return 0;
        }
    }
    vector_ctx v = {dim, shape, value, dst, key, row, 0};
    char what[48];
    vector_name(&v, what, sizeof what);
    api_loc at = {key, row, -1};
    if (json_peek(cur) != '[') {
        api_note(shape, "list_type", at, "%s must be an array of numbers", what);
        return json_skip_value(cur);
    }
    cur->p++;
    if (json_read_elements(cur, vector_element, &v) != 0)
        return -1;
    if (v.count != dim)
        api_note(value, v.count < dim ? "too_short" : "too_long", at,
                 "%s has %zu components; the index dimension is %u", what, v.count, dim);
    return 0;
}

static const char *vector_key(const body_parser *bp) {
    return bp->batch ? "query_vectors" : "query_vector";
}

static int read_vector(body_parser *bp, float *dst, long row) {
    return api_read_vector(&bp->cur, bp->dim, &bp->shape, &bp->value, dst, vector_key(bp), row);
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
    if (read_vector(bp, row, -1) != 0)
        return -1;
    bp->nq = 1;
    return 0;
}

static int batch_element(json_cursor *cur, size_t i, void *ctx) {
    body_parser *bp = ctx;
    (void)cur; /* bp->cur */
    float *row = next_row(bp);
    if (read_vector(bp, row, (long)i) != 0)
        return -1;
    if (row != NULL)
        bp->nq++;
    if (i + 1 > API_MAX_BATCH)
        api_note(&bp->value, "too_long", (api_loc){"query_vectors", -1, -1},
                 "a batch holds at most %u queries", API_MAX_BATCH);
    return 0;
}

static int read_batch(body_parser *bp) {
    json_cursor *cur = &bp->cur;
    if (json_peek(cur) != '[') {
        api_note(&bp->shape, "list_type", (api_loc){"query_vectors", -1, -1},
                 "query_vectors must be an array of arrays of numbers");
        return json_skip_value(cur);
    }
    cur->p++;
    return json_read_elements(cur, batch_element, bp);
}

/* An integer-valued JSON number in [lo, hi]; "10" and "1e1" both give 10. */
static int read_bounded_int(body_parser *bp, const char *name, uint32_t lo, uint32_t hi,
                            uint32_t *out) {
    json_cursor *cur = &bp->cur;
    api_loc at = {name, -1, -1};
    if (!starts_number(json_peek(cur))) {
        api_note(&bp->shape, "int_type", at, "%s must be an integer", name);
        return json_skip_value(cur);
    }
    const char *tok;
    size_t len;
    if (json_read_number(cur, &tok, &len) != 0)
        return -1;
    double v;
    int fits = json_number_to_double(tok, len, &v) == 0;
    if (!fits || v != floor(v) || v < lo || v > hi) {
        const char *type = !fits || v > hi ? "less_than_equal"
                           : v != floor(v) ? "int_from_float"
                                           : "greater_than_equal";
        api_note(&bp->value, type, at, "%s must be an integer in %u..%u", name, lo, hi);
        return 0;
    }
    *out = (uint32_t)v;
    return 0;
}

enum { SEEN_VECTOR = 1, SEEN_K = 2, SEEN_EF = 4, SEEN_FILTER = 8 };

/* "filter": the member's text goes to vw_filter_parse as it is, so HTTP and
 * C read one language; null means none. A malformed filter is a 422 whose
 * detail is the library's, which names the place ("filter.must[0].range.
 * gte: expected a number, got a string"). */
static int read_filter(body_parser *bp, api_search *out) {
    json_cursor *cur = &bp->cur;
    if (json_peek(cur) == 'n')
        return json_skip_value(cur);
    const char *start = cur->p;
    if (json_skip_value(cur) != 0)
        return -1;
    vw_status st = vw_filter_parse(start, (size_t)(cur->p - start), &out->filter);
    if (st == VW_ERR_NOMEM)
        bp->out_of_memory = 1;
    else if (st != VW_OK)
        api_note(&bp->value, "value_error", (api_loc){"filter", -1, -1}, "%s",
                 vw_last_error_detail());
    return 0;
}

static int read_member(body_parser *bp, const char *key, unsigned *seen, api_search *out) {
    unsigned bit = strcmp(key, vector_key(bp)) == 0 ? SEEN_VECTOR
                   : strcmp(key, "k") == 0          ? SEEN_K
                   : strcmp(key, "ef_search") == 0  ? SEEN_EF
                   : strcmp(key, "filter") == 0     ? SEEN_FILTER
                                                    : 0;
    if (bit == 0) { /* a misspelt member must never look like it worked (after "missing") */
        api_note(&bp->value, "extra_forbidden", (api_loc){key, -1, -1},
                 "unknown member \"%s\": extra inputs are not permitted", key);
        return json_skip_value(&bp->cur);
    }
    if (*seen & bit)
        api_note(&bp->shape, "value_error", (api_loc){key, -1, -1}, "duplicate member \"%s\"", key);
    *seen |= bit;
    if (bit == SEEN_K)
        return read_bounded_int(bp, "k", 1, VW_MAX_K, &out->k);
    if (bit == SEEN_EF)
        return read_bounded_int(bp, "ef_search", 1, VW_MAX_EF, &out->ef);
    if (bit == SEEN_FILTER)
        return out->filter ? json_skip_value(&bp->cur) : read_filter(bp, out);
    if (bp->nq != 0)
        return json_skip_value(&bp->cur); /* duplicate, already reported */
    return bp->batch ? read_batch(bp) : read_single(bp);
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

int api_read_object(json_cursor *cur, api_error *shape,
                    int (*member)(json_cursor *cur, const char *key, void *ctx), void *ctx) {
    if (json_peek(cur) != '{') {
        if (json_skip_value(cur) != 0)
            return -1;
        api_note(shape, "model_attributes_type", (api_loc){NULL, -1, -1},
                 "the body must be a JSON object");
        return json_expect_end(cur);
    }
    cur->p++;
    if (json_read_members(cur, member, ctx) != 0)
        return -1;
    return json_expect_end(cur);
}

static int read_object(body_parser *bp, unsigned *seen, api_search *out) {
    member_ctx m = {bp, seen, out};
    return api_read_object(&bp->cur, &bp->shape, member_cb, &m);
}

void api_syntax_error(const json_cursor *cur, api_error *err) {
    size_t at = (size_t)(cur->p - cur->start);
    api_note(err, "json_invalid", (api_loc){NULL, (long)at, -1}, "malformed JSON: %s at byte %zu",
             cur->error, at);
}

static int pick_error(const body_parser *bp, unsigned seen, api_error *err) {
    if (bp->cur.error != NULL) {
        api_syntax_error(&bp->cur, err);
    } else if (bp->out_of_memory) {
        err->status = 500;
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (bp->shape.status != 0) {
        *err = bp->shape;
    } else if (!(seen & SEEN_VECTOR)) {
        api_note(err, "missing", (api_loc){vector_key(bp), -1, -1}, "missing member \"%s\"",
                 vector_key(bp));
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
    api_loc whole = {NULL, -1, -1};
    if (bp.value.status == 0 && (uint64_t)bp.nq * out->k > API_MAX_BATCH_RESULTS)
        api_note(&bp.value, "value_error", whole,
                 "a batch may ask for at most %u results (queries x k)", API_MAX_BATCH_RESULTS);
    uint64_t work = (uint64_t)bp.nq * (out->ef > out->k ? out->ef : out->k);
    if (bp.value.status == 0 && work > max_work)
        api_note(&bp.value, "value_error", whole,
                 "the request asks for %llu units of search work (queries x max(k, ef_search)); "
                 "this server allows %llu",
                 (unsigned long long)work, (unsigned long long)max_work);
    memset(err, 0, sizeof *err);
    if (pick_error(&bp, seen, err) != 0) {
        free(bp.rows);
        vw_filter_free(out->filter);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->queries = bp.rows;
    out->nq = bp.nq;
    return 0;
}

typedef struct reload_body {
    json_cursor cur;
    api_error shape;
    char *path;
    size_t path_size;
} reload_body;

static int reload_member(json_cursor *cur, const char *key, void *ctx) {
    reload_body *rb = ctx;
    if (strcmp(key, "path") != 0)
        return json_skip_value(cur);
    api_loc at = {"path", -1, -1};
    if (json_peek(cur) != '"') {
        api_note(&rb->shape, "string_type", at, "path must be a string");
        return json_skip_value(cur);
    }
    int truncated = 0;
    if (json_read_string(cur, rb->path, rb->path_size, &truncated) != 0)
        return -1;
    if (truncated || rb->path[0] == '\0')
        api_note(&rb->shape, "value_error", at, "path must name a file (1 to %zu bytes)",
                 rb->path_size - 1);
    return 0;
}

int api_parse_reload(const char *body, size_t len, char *path, size_t path_size, api_error *err) {
    reload_body rb;
    memset(&rb, 0, sizeof rb);
    memset(err, 0, sizeof *err);
    rb.path = path;
    rb.path_size = path_size;
    path[0] = '\0';
    json_init(&rb.cur, body, len);
    if (json_peek(&rb.cur) < 0)
        return 0; /* no body: the index's own file */
    if (json_peek(&rb.cur) != '{') {
        if (json_skip_value(&rb.cur) == 0 && json_expect_end(&rb.cur) == 0)
            api_note(&rb.shape, "model_attributes_type", (api_loc){NULL, -1, -1},
                     "the body must be a JSON object");
    } else {
        rb.cur.p++;
        if (json_read_members(&rb.cur, reload_member, &rb) == 0)
            json_expect_end(&rb.cur);
    }
    if (rb.cur.error != NULL)
        api_syntax_error(&rb.cur, err);
    else if (rb.shape.status != 0)
        *err = rb.shape;
    if (err->status != 0)
        path[0] = '\0';
    return err->status != 0 ? -1 : 0;
}

void api_write_reloaded(json_writer *w, const char *path, const vw_stats *info) {
    json_begin_object(w);
    json_field_string(w, "status", "reloaded");
    json_field_string(w, "path", path);
    json_field_u64(w, "count", info->count);
    json_field_u64(w, "dim", info->dim);
    json_end_object(w);
}

void api_search_free(api_search *s) {
    vw_filter_free(s->filter);
    s->filter = NULL;
    free(s->queries);
    s->queries = NULL;
    s->nq = 0;
}

/* ------------------------------------------------------------------ answers */

int api_search_failure(vw_status st, const char *detail, long query, api_error *e) {
    char where[40] = "";
    memset(e, 0, sizeof *e);
    if (query >= 0)
        snprintf(where, sizeof where, "query_vectors[%ld]: ", query);
    if (st == VW_ERR_ZERO_VECTOR)
        snprintf(e->message, sizeof e->message,
                 "%sthe query vector has zero length and cannot be normalized", where);
    else
        snprintf(e->message, sizeof e->message, "%s%s%s%s", where, vw_strerror(st),
                 detail && detail[0] ? ": " : "", detail ? detail : "");
    snprintf(e->type, sizeof e->type, "value_error");
    snprintf(e->loc_key, sizeof e->loc_key, "%s", query >= 0 ? "query_vectors" : "query_vector");
    e->loc_index[0] = query;
    e->loc_index[1] = -1;
    switch (st) {
    case VW_ERR_ZERO_VECTOR:
    case VW_ERR_NONFINITE:
    case VW_ERR_DIMENSION:
    case VW_ERR_K:
    case VW_ERR_EF:
    case VW_ERR_INVALID_ARG:
        e->status = 422;
        break;
    default:
        e->status = 500;
    }
    return e->status;
}

void api_write_error_at(json_writer *w, const api_error *e) {
    json_begin_object(w);
    api_write_error_members(w, e);
    json_end_object(w);
}

void api_write_error_members(json_writer *w, const api_error *e) {
    json_field_string(w, "error", e->message);
    json_key(w, "detail");
    if (e->status != 422) {
        json_string(w, e->message);
        return;
    }
    json_begin_array(w);
    json_begin_object(w);
    json_field_string(w, "type", e->type[0] ? e->type : "value_error");
    json_key(w, "loc");
    json_begin_array(w);
    json_string(w, e->in_path ? "path" : "body");
    if (e->loc_key[0])
        json_string(w, e->loc_key);
    for (int i = 0; i < 2; i++)
        if (e->loc_index[i] >= 0)
            json_i64(w, e->loc_index[i]);
    json_end_array(w);
    json_field_string(w, "msg", e->message);
    json_end_object(w);
    json_end_array(w);
}

void api_write_error(json_writer *w, int status, const char *message) {
    if (status == 422) {
        api_error e = {.status = status, .loc_index = {-1, -1}};
        snprintf(e.message, sizeof e.message, "%s", message);
        api_write_error_at(w, &e);
        return;
    }
    /* Written whole: a message can be longer than api_error's (the 404's). */
    json_begin_object(w);
    json_field_string(w, "error", message);
    json_field_string(w, "detail", message);
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
        api_write_error(w, 503, API_INDEX_CHANGED);
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
    json_field_u64(w, "skipped_records", s->skipped_records);
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
    json_field_string(w, "index_path", sv->index_path ? sv->index_path : "");
    json_field_u64(w, "index_reloads", sv->index_reloads);
    json_field_u64(w, "index_reload_failures", sv->index_reload_failures);
    json_field_string(w, "last_reload_error", sv->last_reload_error ? sv->last_reload_error : "");
    json_field_u64(w, "access_log_dropped", sv->access_log_dropped);
    json_field_bool(w, "index_changed", sv->index_changed);
    json_field_bool(w, "read_only", writes == NULL);
    if (writes)
        write_writes(w, writes);
    json_field_string(w, "version", vw_version());
    json_end_object(w);
}
