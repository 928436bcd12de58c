/*
 * api.h - the vw-serve API between HTTP and the index: routing, decoding of
 * search request bodies, and the JSON bodies of responses. Pure functions
 * (no I/O, no index), so unit tests and the fuzz target call them directly.
 *
 * Request bodies (application/json; the Content-Type header is not checked):
 *   POST /search        {"query_vector": [f, ...], "k": 10, "ef_search": 64}
 *   POST /search/batch  {"query_vectors": [[f, ...], ...], "k": 10, "ef_search": 64}
 * "k" is optional (default 10, like the seed), "ef_search" optional (default
 * the server's --ef); other members are ignored.
 *
 * Errors, in the order they are reported:
 *   400  not JSON (RFC 8259, strict), not an object, a member of the wrong
 *        type, a duplicated member, query_vector(s) missing;
 *   422  valid JSON with a wrong value: dimension differs from the index,
 *        a component outside float range, k not an integer in 1..VW_MAX_K,
 *        ef_search not an integer in 1..VW_MAX_EF, a batch over the limits,
 *        more search work than the server allows (--max-work).
 */
#ifndef VW_SERVE_API_H
#define VW_SERVE_API_H

#include "http.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define API_DEFAULT_K 10u
/* A batch may hold at most this many queries and k * queries results. */
#define API_MAX_BATCH         10000u
#define API_MAX_BATCH_RESULTS (1u << 20)
/* The default of --max-work: the search work of one request, counted as
 * queries x max(k, ef_search) (the beam each search keeps, which is what its
 * time grows with). 2^20: 16 queries at ef_search 65536, or 10,000 at 104
 * (a full batch at the default ef, 64, fits). One worker answers such a
 * request in 1 to 6.5 s on 100,000 random 128-d vectors
 * (bench/serve/max_work.sh). */
#define API_DEFAULT_MAX_WORK (1u << 20)

typedef enum api_route {
    API_HEALTH,
    API_STATS,
    API_SEARCH,
    API_SEARCH_BATCH,
    API_VECTORS,  /* POST /vectors: upsert (api_vectors.c) */
    API_VECTOR,   /* GET, HEAD, DELETE /vectors/{id} */
    API_SNAPSHOT, /* POST /snapshot */
} api_route;

/* Maps a method and path to a route. Returns 0, or 404 for an unknown path,
 * or 405 for a known path with another method (*allow then holds the value
 * of the Allow header). GET routes also answer HEAD. */
int api_route_request(http_method method, const char *path, size_t path_len, api_route *route,
                      const char **allow);

typedef struct api_search {
    float *queries; /* nq rows of dim floats, owned */
    size_t nq;
    uint32_t k;
    uint32_t ef;
} api_search;

typedef struct api_error {
    int status;
    char message[160];
} api_error;

/* Decodes a search body for an index of `dim` dimensions. batch selects the
 * /search/batch shape; a request over max_work units of search work (see
 * API_DEFAULT_MAX_WORK) is a 422. Returns 0 with *out filled (free with
 * api_search_free), or -1 with *err set (and nothing to free). */
int api_parse_search(const char *body, size_t len, int batch, uint32_t dim, uint32_t default_ef,
                     uint64_t max_work, api_search *out, api_error *err);
void api_search_free(api_search *s);

/* Records the first error of its kind in *e (later ones are dropped). */
void api_note(api_error *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads a JSON array of exactly `dim` finite float32 values into dst (NULL
 * to only check it). Shape errors (not an array of numbers) go to *shape
 * as 400, value errors (wrong count, out of range) to *value as 422; `what`
 * names the vector in messages ("query_vector", "vectors[3]"). Returns -1 on
 * a syntax error. */
int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *what);

/* Reads a JSON object to its end (nothing may follow it), calling member()
 * with each key (truncated keys as "") while the cursor is at its value,
 * which member() must consume. A body that is not an object is noted in
 * *shape (400). Returns -1 on a syntax error or if member() fails. */
typedef int (*api_member_fn)(void *ctx, const char *key);
int api_read_object(json_cursor *cur, api_error *shape, api_member_fn member, void *ctx);

/* {"error":"message"} */
void api_write_error(json_buf *b, const char *message);
/* {"indices":[...],"distances":[...]} for one query's `found` results. */
void api_write_result(json_buf *b, const uint64_t *labels, const float *distances, uint32_t found);

/* ------------------------------------------------------------------ the write API (api_vectors.c)
 *
 *   POST   /vectors       {"ids": [7, 8], "vectors": [[f, ...], [f, ...]]}
 *                         -> {"upserted": 2}
 *   GET    /vectors/{id}  -> {"id": 7, "vector": [f, ...]}
 *   DELETE /vectors/{id}  -> {"deleted": 7}
 *   POST   /snapshot      -> {"snapshot": "written", ...}
 *
 * ids are plain decimal integers 0..2^64-1 (no sign, fraction or exponent),
 * each at most once per request; at most API_MAX_BATCH vectors a request.
 * Errors as for search: 400 for JSON that is not of this shape, 422 for
 * values (counts, dimension, non-finite components, ids out of range or
 * repeated), and for {id} in a path 400 when it is not such an integer. */

/* Route of /vectors/{id}: 0 for GET, HEAD and DELETE, else 405. */
int api_route_vector(http_method method, api_route *route, const char **allow);

/* The id of a "/vectors/{id}" path; 0 on success, -1 if it is not one. */
int api_parse_vector_id(const char *path, size_t path_len, uint64_t *id);

typedef struct api_upsert {
    uint64_t *ids;  /* n, owned */
    float *vectors; /* n rows of dim floats, owned */
    size_t n;
} api_upsert;

/* Decodes a POST /vectors body for an index of `dim` dimensions. Returns 0
 * with *out filled (free with api_upsert_free) or -1 with *err set. */
int api_parse_upsert(const char *body, size_t len, uint32_t dim, api_upsert *out, api_error *err);
void api_upsert_free(api_upsert *u);

/* {"id":7,"vector":[...]} */
void api_write_vector(json_buf *b, uint64_t id, const float *v, uint32_t dim);

#endif /* VW_SERVE_API_H */
