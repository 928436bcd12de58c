/*
 * api.h - the vw-serve HTTP API, between HTTP and the index: routing, the
 * decoding of search bodies, which HTTP status answers what, and every JSON
 * body the server sends (search results, errors, GET / and GET /stats).
 * Pure functions (no sockets, threads or files), so the unit tests
 * (test_serve_api, test_serve_json) and the fuzz target call them directly.
 *
 * Request bodies (application/json; the Content-Type header is not checked):
 *   POST /search        {"query_vector": [f, ...], "k": 10, "ef_search": 64}
 *   POST /search/batch  {"query_vectors": [[f, ...], ...], "k": 10, "ef_search": 64}
 * "k" is optional (default 10, as in the original Python service),
 * "ef_search" optional (default the server's --ef); other members are
 * ignored.
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
#include "vwhnsw.h"

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

/* The body-reading pieces the write API (api_vectors.c) shares with the
 * search bodies. api_note records the first error of its kind in *e (later
 * ones are dropped). api_read_vector reads a JSON array of exactly `dim`
 * finite float32 values into dst (NULL to only check it): shape errors (not
 * an array of numbers) go to *shape as 400, value errors (wrong count, out
 * of range) to *value as 422, `what` naming the vector ("query_vector",
 * "vectors[3]"). api_read_object reads a body that must be one JSON object,
 * calling member() for each member (json_read_members); a body that is
 * another value is noted in *shape. Both return -1 on a syntax error. */
void api_note(api_error *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *what);
int api_read_object(json_cursor *cur, api_error *shape,
                    int (*member)(json_cursor *cur, const char *key, void *ctx), void *ctx);

/* ------------------------------------------------------------------ answers */

/* The text of the 404, and of the 503 while a changed index file is loaded
 * again; API_RETRY_LATER is the header every 503 carries. */
#define API_NOT_FOUND                                                                              \
    "not found; the API is GET /, GET /stats, POST /search, POST /search/batch, POST /vectors, "   \
    "GET or DELETE /vectors/{id}, POST /snapshot"
#define API_INDEX_CHANGED                                                                          \
    "the index file was changed in place while the server mapped it; it is being loaded again"
#define API_RETRY_LATER "Retry-After: 1\r\n"

/* The status of a failed search, with its message in msg: the caller's
 * fault (a zero vector to normalize, a non-finite value, a wrong dimension,
 * k or ef) is 422, anything else the server's, 500. `query` >= 0 names the
 * query of a batch in the message. */
int api_search_failure(vw_status st, const char *detail, long query, char *msg, size_t cap);

/* {"error":"message"} */
void api_write_error(json_writer *w, const char *message);

/* The body of a search answer around the results (tool_json_result each):
 * nothing for /search, {"results":[ ... ]} for /search/batch. */
void api_begin_results(json_writer *w, int batch);
void api_end_results(json_writer *w, int batch);

/* GET /: {"status":"ok","count":N,"dim":D}, 200; or, while the index is
 * loaded again (index_changed), the 503 error body. Returns the status. */
int api_write_health(json_writer *w, const vw_stats *info, int index_changed);

/* What GET /stats reports besides the index's own statistics. */
typedef struct api_server_stats {
    uint32_t ef_search;
    int normalize_queries;
    unsigned threads;
    double uptime_s;
    uint64_t requests, errors, queries, timeouts, rejected, in_flight;
    uint64_t connections, connections_accepted, max_work, log_dropped;
    uint64_t index_faults, index_reloads;
    int index_changed;
} api_server_stats;

/* What GET /stats reports of the write side: the durable store's figures
 * and snapshots that failed. */
typedef struct api_write_figures {
    vw_store_stats store;
    unsigned snapshot_failures;
    double seconds_since_snapshot;
} api_write_figures;

/* GET /stats: the index (tool_json_index_stats), then the server, then
 * "read_only" and, when `writes` is not NULL (a server with --data), a
 * "writes" object. */
void api_write_stats(json_writer *w, const vw_stats *info, uint64_t file_bytes,
                     const api_server_stats *server, const api_write_figures *writes);

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

/* The status of a failed store call (or vw_index_get_vector), its message
 * in msg: the caller's fault (a value an insert refuses) is 422, no memory
 * 503, anything else (the log could not be written or synced) 500. */
int api_store_failure(vw_status st, const char *detail, char *msg, size_t cap);

/* The message of the 403 a read-only server answers writes with. */
#define API_READ_ONLY "this server is read-only: start vw-serve with --data DIR to accept writes"

/* {"id":7,"vector":[...]} */
void api_write_vector(json_writer *w, uint64_t id, const float *v, uint32_t dim);
/* {"upserted":2}, {"deleted":7}, {"snapshot":"written","seconds":0.41} */
void api_write_upserted(json_writer *w, uint64_t n);
void api_write_deleted(json_writer *w, uint64_t id);
void api_write_snapshot(json_writer *w, double seconds);

#endif /* VW_SERVE_API_H */
