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
    API_UNROUTED,
    API_ROUTE_COUNT
} api_route;

/* Maps a method and path to a route. Returns 0, or 404 for an unknown path,
 * or 405 for a known path with another method (*allow then holds the value
 * of the Allow header). GET routes also answer HEAD. */
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
} api_error;

/* Decodes a search body for an index of `dim` dimensions. batch selects the
 * /search/batch shape; a request over max_work units of search work (see
 * API_DEFAULT_MAX_WORK) is a 422. Returns 0 with *out filled (free with
 * api_search_free), or -1 with *err set (and nothing to free). */
int api_parse_search(const char *body, size_t len, int batch, uint32_t dim, uint32_t default_ef,
                     uint64_t max_work, api_search *out, api_error *err);
void api_search_free(api_search *s);

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
    "GET /openapi.json (and POST /admin/reload with --admin)"
#define API_INDEX_CHANGED                                                                          \
    "the index file was changed in place while the server mapped it; it is being loaded again"
#define API_RETRY_LATER "Retry-After: 1\r\n"

/* The status of a failed search, with the error in *e: the caller's fault
 * (a zero vector to normalize, a non-finite value, a wrong dimension, k or
 * ef) is 422, anything else the server's, 500. `query` >= 0 names the query
 * of a batch. */
int api_search_failure(vw_status st, const char *detail, long query, api_error *e);

/* {"error":"message","detail":...}: see "Error bodies" above; a 422 with
 * no more precise place is a "value_error" at ["body"]. */
void api_write_error(json_writer *w, int status, const char *message);
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

/* GET /stats: the index (tool_json_index_stats), then the server. */
void api_write_stats(json_writer *w, const vw_stats *info, uint64_t file_bytes,
                     const api_server_stats *server);

#endif /* VW_SERVE_API_H */
