/* Fuzzes vw-serve's request parsing: the HTTP head parser, the strict JSON
 * reader, the search- and upsert-body decoders and the /vectors/{id} path
 * parser, and the JSON writer on what they accept. The parsers are
 * compiled in from tools/serve/ and tools/common/ so
 * the target does not need the tools built. Invariants checked:
 *   - a parsed head lies inside the input, within the limits, and parsing
 *     any prefix of the input agrees with it (incremental arrival);
 *   - an error always carries a status and a reason;
 *   - a decoded search holds finite floats and k/ef within range;
 *   - a decoded upsert holds as many ids as vectors, finite floats, no id
 *     twice;
 *   - a bulk load's NDJSON line decodes to finite floats or a 422, and an
 *     npy header's length lies within the input;
 *   - everything the writer produces is valid JSON to our own reader. */
#include "common/index_json.c"
#include "common/json_float.c"
#include "common/json_read.c"
#include "common/json_write.c"
#include "serve/api.c"
#include "serve/api_bulk.c"
#include "serve/api_vectors.c"
#include "serve/http.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096u

/* What the writer produced reads back as one JSON value, even when a
 * non-finite number made the document unusable (it is null there). */
static void check_valid_json(const json_writer *w) {
    size_t len;
    const char *text = json_writer_text(w, &len);
    if (text == NULL)
        return; /* out of memory */
    json_cursor cur;
    json_init(&cur, text, len);
    if (json_skip_value(&cur) != 0 || json_expect_end(&cur) != 0)
        abort();
}

static void check_head(const char *buf, size_t size) {
    http_request req;
    int status = 0;
    const char *reason = NULL;
    http_parse_result r = http_parse_request(buf, size, MAX_BODY, &req, &status, &reason);
    size_t cut = size / 2;
    http_request part;
    int part_status = 0;
    http_parse_result rp = http_parse_request(buf, cut, MAX_BODY, &part, &part_status, &reason);
    if (r == HTTP_PARSE_ERROR) {
        if (status < 400 || status > 505 || reason == NULL || reason[0] == '\0')
            abort();
        /* Early rejection never disagrees with the complete input. */
        if (rp == HTTP_PARSE_DONE || (rp == HTTP_PARSE_ERROR && part_status != status))
            abort();
        return;
    }
    if (r == HTTP_PARSE_INCOMPLETE) {
        if (size >= HTTP_MAX_HEAD || rp != HTTP_PARSE_INCOMPLETE)
            abort();
        return;
    }
    if (req.head_len > size || req.head_len > HTTP_MAX_HEAD || req.content_length > MAX_BODY)
        abort();
    if (req.path < buf || req.path + req.path_len > buf + req.head_len || req.path_len == 0 ||
        req.path[0] != '/')
        abort();
    /* The same bytes arriving in two parts give the same answer. */
    if (cut >= req.head_len ? (rp != HTTP_PARSE_DONE || part.head_len != req.head_len)
                            : rp != HTTP_PARSE_INCOMPLETE)
        abort();
}

static void check_search(const char *body, size_t len, uint32_t dim, int batch) {
    api_search s;
    api_error err;
    json_writer b;
    json_writer_init(&b, 0, 0);
    if (api_parse_search(body, len, batch, dim, 64, API_DEFAULT_MAX_WORK, &s, &err) != 0) {
        if (err.status != 422 && err.status != 500)
            abort();
        api_write_error_at(&b, &err);
        check_valid_json(&b);
        json_writer_free(&b);
        return;
    }
    if (s.k < 1 || s.k > VW_MAX_K || s.ef < 1 || s.ef > VW_MAX_EF || (!batch && s.nq != 1))
        abort();
    for (size_t i = 0; i < s.nq * dim; i++)
        if (!isfinite(s.queries[i]))
            abort();
    /* Render the queries' first components as a result: valid JSON out. */
    uint64_t labels[8];
    float dists[8];
    uint32_t n = s.nq * dim < 8 ? (uint32_t)(s.nq * dim) : 8;
    for (uint32_t i = 0; i < n; i++) {
        labels[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        dists[i] = s.queries[i];
    }
    tool_json_result(&b, labels, dists, n);
    check_valid_json(&b);
    json_writer_free(&b);
    api_search_free(&s);
}

static void check_upsert(const char *body, size_t len, uint32_t dim) {
    api_upsert u;
    api_error err;
    json_writer b;
    json_writer_init(&b, 0, 0);
    if (api_parse_upsert(body, len, dim, &u, &err) != 0) {
        if (err.status != 422 && err.status != 500)
            abort(); /* every body problem is a 422, as in FastAPI */
        api_write_error_at(&b, &err);
        check_valid_json(&b);
        json_writer_free(&b);
        return;
    }
    if (u.n == 0 || u.n > API_MAX_BATCH)
        abort();
    for (size_t i = 0; i < u.n; i++) {
        for (size_t j = 0; j < i; j++)
            if (u.ids[j] == u.ids[i])
                abort();
        for (uint32_t d = 0; d < dim; d++)
            if (!isfinite(u.vectors[i * dim + d]))
                abort();
    }
    for (size_t i = 0; u.attrs && i < u.n; i++)
        if (u.attrs[i] && vw_attributes_check(u.attrs[i], u.attr_lens[i]) != VW_OK)
            abort(); /* every text handed to the store was checked */
    api_write_vector(&b, u.ids[0], u.vectors, dim, NULL);
    check_valid_json(&b);
    json_writer_free(&b);
    api_upsert_free(&u);
}

static void check_bulk(const uint8_t *data, size_t size, uint32_t dim) {
    float v[8];
    uint64_t id;
    api_error err;
    const char *attrs;
    size_t attrs_len;
    if (api_parse_ndjson_line((const char *)data, size, dim, &id, v, &attrs, &attrs_len, &err) ==
        0) {
        for (uint32_t d = 0; d < dim; d++)
            if (!isfinite(v[d]))
                abort();
        if (attrs && vw_attributes_check(attrs, attrs_len) != VW_OK)
            abort();
    } else if (err.status != 422 && err.status != 503) {
        abort();
    }
    uint64_t rows;
    long h = api_parse_npy_header(data, size, dim, &rows, &err);
    if (h > (long)size || (h < 0 && err.status != 422))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    check_head(buf, size);

    /* The whole input as a body, and the bytes after a parsed head. */
    uint32_t dim = size > 0 ? (uint32_t)(data[0] % 8) + 1 : 3;
    int batch = size > 1 ? data[1] & 1 : 0;
    check_search(buf, size, dim, batch);
    check_upsert(buf, size, dim);
    check_bulk(data, size, dim);
    uint64_t id;
    api_error id_err;
    if (api_parse_vector_id(buf, size, &id, &id_err) == 0 ? (size < 10 || size > 29)
                                                          : id_err.status != 422)
        abort();
    http_request req;
    int status;
    const char *reason;
    if (http_parse_request(buf, size, MAX_BODY, &req, &status, &reason) == HTTP_PARSE_DONE) {
        size_t avail = size - req.head_len;
        size_t len = req.content_length < avail ? (size_t)req.content_length : avail;
        check_search(buf + req.head_len, len, 3, batch);
        check_upsert(buf + req.head_len, len, 3);
    }

    json_cursor cur;
    json_init(&cur, buf, size);
    if (json_skip_value(&cur) != 0 && cur.error == NULL)
        abort();
    return 0;
}
