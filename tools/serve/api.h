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
 * A body that fails validation is a 422, as in FastAPI (the original
 * Python service), whatever is wrong with it; the first problem found is
 * reported, in this order: not JSON (RFC 8259, strict; "json_invalid"), not
 * an object, a member of the wrong type or duplicated, query_vector(s)
 * missing ("missing"), then wrong values: dimension differs from the index,
 * a component outside float range, k not an integer in 1..VW_MAX_K,
 * ef_search not an integer in 1..VW_MAX_EF, a batch over the limits, more
 * search work than the server allows (--max-work).
 *
 * Error bodies carry both a one-line "error" (what vw-serve always sent)
 * and FastAPI's "detail": for a 422 a list with one
 * {"type", "loc", "msg"} object (loc starts with "body", like pydantic's),
 * for every other status the message as a string (HTTPException's shape).
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

/* The routes; API_UNROUTED stands for a request that matched none (or
 * that could not be read), so that tables indexed by route have a row for
 * it. */
typedef enum api_route {
    API_HEALTH,
    API_STATS,
    API_SEARCH,
    API_SEARCH_BATCH,
    API_METRICS,      /* GET /metrics: Prometheus text (metrics.c) */
    API_OPENAPI,      /* GET /openapi.json (openapi.c) */
    API_ADMIN_RELOAD, /* POST /admin/reload: with --admin, from loopback only */
    API_VECTORS,      /* POST /vectors: upsert (api_vectors.c) */
    API_VECTOR,       /* GET, HEAD, DELETE /vectors/{id} */
    API_SNAPSHOT,     /* POST /snapshot */
    API_UNROUTED,
    API_ROUTE_COUNT
} api_route;

/* Maps a method and path to a route. Returns 0, or 404 for an unknown path,
 * or 405 for a known path with another method (*allow then holds the value
 * of the Allow header; *route is the path's route, so that metrics count
 * the 405 there). GET routes also answer HEAD. */
int api_route_request(http_method method, const char *path, size_t path_len, api_route *route,
                      const char **allow);
/* The path of a route ("/search"), or "unmatched" for API_UNROUTED. */
const char *api_route_path(api_route route);
/* Routes answered with a request body (POST). */
int api_route_is_post(api_route route);

typedef struct api_search {
    float *queries; /* nq rows of dim floats, owned */
    size_t nq;
    uint32_t k;
    uint32_t ef;
    vw_filter *filter; /* "filter", owned; NULL without one */
} api_search;

/* What is wrong with a request. For a 422, `type` is the pydantic error
 * type ("missing", "json_invalid", "list_type", ...) and the location in
 * the body is loc_key (a member name, "" for none) then loc_index[0] and
 * loc_index[1] (array positions, or the byte offset of a JSON syntax
 * error), each left out when < 0. */
typedef struct api_error {
    int status;
    char message[200];
    char type[32];
    char loc_key[40];
    long loc_index[2];
    int in_path; /* the location is in the URL path ("path"), not the body */
} api_error;

/* Decodes a search body for an index of `dim` dimensions. batch selects the
 * /search/batch shape; a request over max_work units of search work (see
 * API_DEFAULT_MAX_WORK) is a 422. Returns 0 with *out filled (free with
 * api_search_free), or -1 with *err set (and nothing to free). */
int api_parse_search(const char *body, size_t len, int batch, uint32_t dim, uint32_t default_ef,
                     uint64_t max_work, api_search *out, api_error *err);
void api_search_free(api_search *s);

/* Where a problem in a body is: a member ("" or NULL: none), then up to
 * two positions (< 0: none). */
typedef struct api_loc {
    const char *key;
    long i0, i1;
} api_loc;

/* The body-reading pieces the write API (api_vectors.c) shares with the
 * search bodies; every problem they note is a 422. api_note records the
 * first problem of its kind in *e (later ones are dropped), with its
 * pydantic type. api_read_vector reads a JSON array of exactly `dim`
 * finite float32 values into dst (NULL to only check it): shape errors
 * (not an array of numbers) go to *shape, value errors (wrong count, out of
 * range) to *value; the vector is member `key`, or its element `row` when
 * row >= 0. api_read_object reads a body that must be one JSON object,
 * calling member() for each member (json_read_members); a body that is
 * another value is noted in *shape. Both return -1 on a syntax error,
 * which api_syntax_error turns into the 422 "json_invalid". */
void api_note(api_error *e, const char *type, api_loc at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int api_read_vector(json_cursor *cur, uint32_t dim, api_error *shape, api_error *value, float *dst,
                    const char *key, long row);
int api_read_object(json_cursor *cur, api_error *shape,
                    int (*member)(json_cursor *cur, const char *key, void *ctx), void *ctx);
void api_syntax_error(const json_cursor *cur, api_error *err);

/* Decodes a POST /admin/reload body: empty, or {"path": "file"} (other
 * members are ignored). path gets the file, or "" for the index's own.
 * 0, or -1 with a 422 in *err. */
int api_parse_reload(const char *body, size_t len, char *path, size_t path_size, api_error *err);

/* {"status":"reloaded","path":...,"count":N,"dim":D} */
void api_write_reloaded(json_writer *w, const char *path, const vw_stats *info);

/* ------------------------------------------------------------------ answers */

/* The text of the 404, and of the 503 while a changed index file is loaded
 * again; API_RETRY_LATER is the header every 503 carries. */
#define API_NOT_FOUND                                                                              \
    "not found; the API is GET /, GET /stats, POST /search, POST /search/batch, GET /metrics, "    \
    "GET /openapi.json, POST /vectors, GET or DELETE /vectors/{id}, POST /snapshot (and POST "     \
    "/admin/reload with --admin)"
#define API_INDEX_CHANGED                                                                          \
    "the index file was changed in place while the server mapped it; it is being loaded again"
#define API_RETRY_LATER "Retry-After: 1\r\n"
/* The 401s of a server with --api-keys: no key (FastAPI HTTPBearer's
 * detail), or a key that is not in the file. */
#define API_NOT_AUTHENTICATED "Not authenticated"
#define API_KEY_INVALID       "Invalid API key"

/* The status of a failed search, with the error in *e: the caller's fault
 * (a zero vector to normalize, a non-finite value, a wrong dimension, k or
 * ef) is 422, anything else the server's, 500. `query` >= 0 names the query
 * of a batch. */
int api_search_failure(vw_status st, const char *detail, long query, api_error *e);

/* {"error":"message","detail":...}: see "Error bodies" above; a 422 with
 * no more precise place is a "value_error" at ["body"]. */
void api_write_error(json_writer *w, int status, const char *message);
/* The members "error" and "detail" of an error body, for a caller that
 * adds its own (the bulk load's "written"). */
void api_write_error_members(json_writer *w, const api_error *e);
void api_write_error_at(json_writer *w, const api_error *e);

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
    uint64_t index_faults, index_reloads, index_reload_failures, access_log_dropped;
    int index_changed;
    const char *index_path;        /* the served file */
    const char *last_reload_error; /* why the last requested reload failed, or "" */
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
 * Errors as for search: every body that fails validation is a 422 with a
 * pydantic detail (not JSON, not of this shape, counts, dimension,
 * non-finite components, ids out of range or repeated), and so is an {id}
 * in a path that is not such an integer (FastAPI's answer to a bad path
 * parameter: loc ["path", "id"], type "int_parsing"). */

/* Route of /vectors/{id}: 0 for GET, HEAD and DELETE, else 405. */
int api_route_vector(http_method method, api_route *route, const char **allow);

/* The id of a "/vectors/{id}" path; 0 on success, -1 with the 422 in *err
 * if it is not one. */
int api_parse_vector_id(const char *path, size_t path_len, uint64_t *id, api_error *err);

typedef struct api_upsert {
    uint64_t *ids;  /* n, owned */
    float *vectors; /* n rows of dim floats, owned */
    size_t n;
    /* "attributes", parallel to ids (NULL without the member): each entry
     * points into the body (NULL for null), attr_lens[i] bytes; owned
     * arrays, the texts are the body's. */
    const char **attrs;
    size_t *attr_lens;
} api_upsert;

/* Decodes a POST /vectors body for an index of `dim` dimensions:
 * {"ids": [...], "vectors": [[...], ...], "attributes": [{...}|null, ...]}
 * (attributes optional; each checked with vw_attributes_check, a bad one a
 * 422 at ["attributes", i] with the library's detail). Returns 0 with *out
 * filled (free with api_upsert_free; its texts point into body) or -1 with
 * *err set. */
int api_parse_upsert(const char *body, size_t len, uint32_t dim, api_upsert *out, api_error *err);
void api_upsert_free(api_upsert *u);

/* Bulk loads into POST /vectors (api_bulk.c), streamed by bulk.c:
 *   Content-Type: application/x-ndjson   one {"id": N, "vector": [...],
 *                                        "attributes": {...}} per line
 *                                        (attributes optional; blank lines
 *                                        skipped; any other member is 422
 *                                        extra_forbidden)
 *   Content-Type: application/x-npy      a .npy file of float32 (rows, dim),
 *                                        C order; ?start=ID gives the ids
 *                                        ID, ID+1, ...
 * api_parse_ndjson_line decodes one line into *id, vec[0..dim) and *attrs
 * (*attrs_len bytes of the line; NULL and 0 without attributes or for
 * null); 0, or -1 with a 422 in *err. api_parse_npy_header returns the header's length
 * with *rows set, 0 when buf[0..len) is too short to tell, -1 with a 422.
 * api_parse_u64 reads a plain decimal integer (0, or -1). */
int api_parse_ndjson_line(const char *line, size_t len, uint32_t dim, uint64_t *id, float *vec,
                          const char **attrs, size_t *attrs_len, api_error *err);
/* An attributes value at the cursor (an object or null), checked with
 * vw_attributes_check: *text and *len (NULL, 0 for null); a bad one is
 * noted in *value at `at` with the library's detail. -1 on a syntax error
 * (1 when out of memory). */
int api_read_attributes(json_cursor *cur, api_error *value, api_loc at, const char **text,
                        size_t *len);
long api_parse_npy_header(const unsigned char *buf, size_t len, uint32_t dim, uint64_t *rows,
                          api_error *err);
int api_parse_u64(const char *s, size_t len, uint64_t *out);
/* A bulk load's error: "error" and "detail" as usual, "written" (the
 * records before the failure, all durable) and "durable": {"first_id",
 * "last_id"} for an npy range, or {"first_records": N} (the body's first N
 * records, lines for NDJSON not counting blank ones). */
void api_write_bulk_error(json_writer *w, const api_error *e, uint64_t written, uint64_t first_id,
                          int range);

/* The status of a failed store call (or vw_index_get_vector), its message
 * in msg: the caller's fault (a value an insert refuses) is 422, no memory
 * 503, anything else (the log could not be written or synced) 500. */
int api_store_failure(vw_status st, const char *detail, char *msg, size_t cap);

/* Why a server with --data refuses SIGHUP and POST /admin/reload (409):
 * the durable store owns the index, and a file loaded over it would lose
 * the writes since its last snapshot. */
#define API_RELOAD_DATA                                                                            \
    "the index is the write log's (--data): it changes through the write API and is never "        \
    "reloaded from a file"

/* The message of the 403 a read-only server answers writes with. */
#define API_READ_ONLY "this server is read-only: start vw-serve with --data DIR to accept writes"

/* {"id":7,"vector":[...]} */
/* {"id", "vector", "attributes"}: attrs is the element's canonical JSON
 * (vw_index_get_attributes), "" or NULL for none (null). */
void api_write_vector(json_writer *w, uint64_t id, const float *v, uint32_t dim, const char *attrs);
/* {"upserted":2}, {"deleted":7}, {"snapshot":"written","seconds":0.41} */
void api_write_upserted(json_writer *w, uint64_t n);
void api_write_deleted(json_writer *w, uint64_t id);
void api_write_snapshot(json_writer *w, double seconds);

#endif /* VW_SERVE_API_H */
