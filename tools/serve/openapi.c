/*
 * openapi.c - the OpenAPI 3.1 document of vw-serve (see openapi.h).
 *
 * The status table below is the one README.md and vw-serve(1) show; each
 * operation refers to the rows it can answer.
 */
#include "openapi.h"

#include "api.h"

#include <stdio.h>
#include <string.h>

typedef struct status_row {
    int status;
    const char *name; /* components/responses key */
    const char *when;
    int protocol; /* answered before any route (x-protocol-responses) */
} status_row;

static const status_row status_table[] = {
    {400, "BadRequest",
     "the request head is not valid HTTP/1.1 (request line, headers, Host); the connection is "
     "closed",
     1},
    {401, "Unauthorized",
     "with --api-keys: no key (Authorization: Bearer or X-API-Key), or a key that is not in the "
     "file; WWW-Authenticate: Bearer",
     1},
    {403, "Forbidden",
     "an API key without the route's scope, POST /admin/reload from a client that is not on the "
     "loopback interface (without --api-keys), or a write (POST /vectors, DELETE /vectors/{id}, "
     "POST /snapshot) to a read-only server (no --data)",
     0},
    {404, "NotFound", "no such path, or no vector with that id", 1},
    {405, "MethodNotAllowed", "the path exists with another method (see the Allow header)", 1},
    {408, "RequestTimeout",
     "the request did not arrive within --timeout-ms of its first byte; the connection is closed",
     1},
    {409, "Conflict",
     "POST /admin/reload on a server with --data: the index is the write log's and is never "
     "reloaded from a file",
     0},
    {411, "LengthRequired", "any Transfer-Encoding (send Content-Length)", 1},
    {413, "ContentTooLarge", "the body is larger than --max-body", 1},
    {417, "ExpectationFailed", "an Expect header other than 100-continue", 1},
    {422, "ValidationError",
     "the body failed validation (not JSON, wrong shape or type, missing member, wrong value, "
     "over the limits or --max-work), an id in /vectors/{id} that is not an integer in "
     "0..2^64-1, or the file of a reload did not load",
     0},
    {431, "HeadersTooLarge", "the request head is larger than 8 KiB", 1},
    {500, "InternalError",
     "the server failed (out of memory, a non-finite distance, the write log or a snapshot "
     "could not be written or synced)",
     0},
    {503, "ServiceUnavailable",
     "request queue full, too many connections, shutting down, searches stopped at "
     "--timeout-ms, out of memory for a write, or the index file changed in place and is being "
     "loaded again; Retry-After: 1",
     1},
    {505, "VersionNotSupported", "not HTTP/1.0 or HTTP/1.1", 1},
};

static const status_row *row_of(int status) {
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].status == status)
            return &status_table[i];
    return NULL;
}

/* ------------------------------------------------------------------ small writers */

static void ref(json_writer *w, const char *kind, const char *name) {
    char target[96];
    snprintf(target, sizeof target, "#/components/%s/%s", kind, name);
    json_begin_object(w);
    json_field_string(w, "$ref", target);
    json_end_object(w);
}

static void int_schema(json_writer *w, uint64_t min, uint64_t max, int64_t def) {
    json_begin_object(w);
    json_field_string(w, "type", "integer");
    json_field_u64(w, "minimum", min);
    json_field_u64(w, "maximum", max);
    if (def >= 0)
        json_field_i64(w, "default", def);
    json_end_object(w);
}

static void vector_schema(json_writer *w, uint32_t dim) {
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    json_begin_object(w);
    json_field_string(w, "type", "number");
    json_field_string(w, "format", "float");
    json_end_object(w);
    json_field_u64(w, "minItems", dim);
    json_field_u64(w, "maxItems", dim);
    json_end_object(w);
}

static void required(json_writer *w, const char *const *names, size_t n) {
    json_key(w, "required");
    json_begin_array(w);
    for (size_t i = 0; i < n; i++)
        json_string(w, names[i]);
    json_end_array(w);
}

/* {"description": ..., "content": {type: {"schema": $ref}}} */
static void json_response(json_writer *w, const char *description, const char *schema) {
    json_begin_object(w);
    json_field_string(w, "description", description);
    json_key(w, "content");
    json_begin_object(w);
    json_key(w, "application/json");
    json_begin_object(w);
    json_key(w, "schema");
    ref(w, "schemas", schema);
    json_end_object(w);
    json_end_object(w);
    json_end_object(w);
}

/* ------------------------------------------------------------------ operations */

typedef struct operation {
    const char *path;
    const char *method;
    const char *id;
    const char *summary;
    const char *request;   /* schema of the body, or NULL */
    int request_optional;  /* the body may be empty */
    const char *ok_schema; /* schema of the 200, or NULL for text */
    const char *ok_what;   /* description of the 200 */
    const int *errors;     /* statuses besides 200 and the protocol ones, 0-terminated */
    int id_param;          /* the path holds {id} */
} operation;

static const int health_errors[] = {503, 0};
static const int no_errors[] = {0};
static const int search_errors[] = {422, 500, 503, 0};
static const int admin_errors[] = {403, 409, 422, 0};
static const int upsert_errors[] = {403, 422, 500, 503, 0};
static const int get_vector_errors[] = {404, 422, 503, 0};
static const int delete_errors[] = {403, 404, 422, 500, 503, 0};
static const int snapshot_errors[] = {403, 500, 503, 0};

static const operation operations[] = {
    {"/", "get", "health", "Health check", NULL, 0, "Health", "the server is up", health_errors, 0},
    {"/stats", "get", "stats", "Index and server statistics", NULL, 0, "Stats", "statistics",
     no_errors, 0},
    {"/search", "post", "search", "k nearest neighbours of one vector", "SearchRequest", 0,
     "SearchResult", "labels and distances, nearest first", search_errors, 0},
    {"/search/batch", "post", "search_batch", "k nearest neighbours of many vectors",
     "BatchSearchRequest", 0, "BatchSearchResult", "one result per query, in order", search_errors,
     0},
    {"/metrics", "get", "metrics", "Prometheus metrics (text exposition format 0.0.4)", NULL, 0,
     NULL, "the metrics", no_errors, 0},
    {"/openapi.json", "get", "openapi", "This document", NULL, 0, NULL, "OpenAPI 3.1", no_errors,
     0},
    {"/admin/reload", "post", "admin_reload",
     "Load the index again (or another file) and swap it in without dropping a request; only "
     "with --admin, only from loopback",
     "ReloadRequest", 1, "ReloadResult", "the new index is serving", admin_errors, 0},
    {"/vectors", "post", "upsert",
     "Insert or replace vectors by id, durably (with --data; read-only servers answer 403)",
     "UpsertRequest", 0, "UpsertResult", "every vector is in the write log and searchable",
     upsert_errors, 0},
    {"/vectors/{id}", "get", "get_vector", "The vector stored under an id", NULL, 0, "Vector",
     "the vector", get_vector_errors, 1},
    {"/vectors/{id}", "delete", "delete_vector",
     "Remove the vector of an id, durably (with --data; read-only servers answer 403)", NULL, 0,
     "Deleted", "the removal is in the write log; searches no longer return the id", delete_errors,
     1},
    {"/snapshot", "post", "snapshot",
     "Save the index and empty the write log (with --data; read-only servers answer 403)", NULL, 0,
     "SnapshotResult", "the snapshot is written", snapshot_errors, 0},
};

static void id_parameter(json_writer *w) {
    json_key(w, "parameters");
    json_begin_array(w);
    json_begin_object(w);
    json_field_string(w, "name", "id");
    json_field_string(w, "in", "path");
    json_field_bool(w, "required", 1);
    json_key(w, "schema");
    int_schema(w, 0, UINT64_MAX, -1);
    json_end_object(w);
    json_end_array(w);
}

/* The bulk bodies of POST /vectors (bulk.h), streamed into the log. */
static void bulk_content(json_writer *w) {
    static const char *const types[][2] = {
        {"application/x-ndjson",
         "one {\"id\": N, \"vector\": [...], \"attributes\": {...}} per line (attributes "
         "optional: absent or null = none), committed in batches of 8192 up to "
         "--max-write-body; a failure part-way answers with \"written\", the leading records "
         "that are durable"},
        {"application/x-npy",
         "a .npy file of float32 rows (rows, dim), C order; the ids are ?start=ID, ID+1, ..."}};
    for (int i = 0; i < 2; i++) {
        json_key(w, types[i][0]);
        json_begin_object(w);
        json_key(w, "schema");
        json_begin_object(w);
        json_field_string(w, "type", "string");
        json_field_string(w, "format", "binary");
        json_field_string(w, "description", types[i][1]);
        json_end_object(w);
        json_end_object(w);
    }
}

static void write_ok(json_writer *w, const operation *op) {
    json_key(w, "200");
    if (op->ok_schema) {
        json_response(w, op->ok_what, op->ok_schema);
        return;
    }
    int text = strcmp(op->path, "/metrics") == 0;
    json_begin_object(w);
    json_field_string(w, "description", op->ok_what);
    json_key(w, "content");
    json_begin_object(w);
    json_key(w, text ? "text/plain" : "application/json");
    json_begin_object(w);
    json_key(w, "schema");
    json_begin_object(w);
    json_field_string(w, "type", text ? "string" : "object");
    json_end_object(w);
    json_end_object(w);
    json_end_object(w);
    json_end_object(w);
}

/* The scope of API key an operation needs (see auth.h), or NULL when it
 * is open to clients without a key. */
static const char *scope_of(const operation *op, const openapi_access *a) {
    int open = strcmp(op->path, "/") == 0 || strcmp(op->path, "/metrics") == 0;
    if (!a->keys || (open && !a->auth_all))
        return NULL;
    if (strcmp(op->path, "/admin/reload") == 0)
        return "admin";
    int write = strcmp(op->method, "post") == 0 && strncmp(op->path, "/search", 7) != 0;
    return write || strcmp(op->method, "delete") == 0 ? "write" : "read";
}

/* With keys, the document's security applies to every operation but the
 * open ones, which say so with an empty list; x-scope names the key scope. */
static void write_security(json_writer *w, const operation *op, const openapi_access *a) {
    if (!a->keys)
        return;
    const char *scope = scope_of(op, a);
    if (scope) {
        json_field_string(w, "x-scope", scope);
        return;
    }
    json_key(w, "security");
    json_begin_array(w);
    json_end_array(w);
}

static void write_operation(json_writer *w, const operation *op, const openapi_access *a) {
    json_key(w, op->method);
    json_begin_object(w);
    json_field_string(w, "operationId", op->id);
    json_field_string(w, "summary", op->summary);
    write_security(w, op, a);
    if (op->id_param)
        id_parameter(w);
    if (op->request) {
        json_key(w, "requestBody");
        json_begin_object(w);
        json_field_bool(w, "required", !op->request_optional);
        json_key(w, "content");
        json_begin_object(w);
        json_key(w, "application/json");
        json_begin_object(w);
        json_key(w, "schema");
        ref(w, "schemas", op->request);
        json_end_object(w);
        if (strcmp(op->id, "upsert") == 0)
            bulk_content(w);
        json_end_object(w);
        json_end_object(w);
    }
    json_key(w, "responses");
    json_begin_object(w);
    write_ok(w, op);
    for (const int *e = op->errors; *e; e++) {
        char code[8];
        snprintf(code, sizeof code, "%d", *e);
        json_key(w, code);
        ref(w, "responses", row_of(*e)->name);
    }
    json_end_object(w);
    json_end_object(w);
}

static void write_paths(json_writer *w, const openapi_access *a) {
    json_key(w, "paths");
    json_begin_object(w);
    size_t n = sizeof operations / sizeof operations[0];
    for (size_t i = 0; i < n; i++) {
        if (!a->admin && strcmp(operations[i].path, "/admin/reload") == 0)
            continue;
        /* the operations of one path are neighbours in the table */
        if (i == 0 || strcmp(operations[i - 1].path, operations[i].path) != 0) {
            json_key(w, operations[i].path);
            json_begin_object(w);
        }
        write_operation(w, &operations[i], a);
        if (i + 1 == n || strcmp(operations[i + 1].path, operations[i].path) != 0)
            json_end_object(w);
    }
    json_end_object(w);
}

/* ------------------------------------------------------------------ components */

/* "name": {"type": "object", "properties": { ... then the properties. */
static void object_schema_begin(json_writer *w, const char *name) {
    json_key(w, name);
    json_begin_object(w);
    json_field_string(w, "type", "object");
    json_key(w, "properties");
    json_begin_object(w);
}

/* Closes the properties, lists the required ones and closes the schema. */
static void object_schema_end(json_writer *w, const char *const *names, size_t n) {
    json_end_object(w);
    if (n > 0)
        required(w, names, n);
    json_end_object(w);
}

static void schema_health(json_writer *w) {
    object_schema_begin(w, "Health");
    json_key(w, "status");
    json_begin_object(w);
    json_field_string(w, "const", "ok");
    json_end_object(w);
    json_key(w, "count");
    int_schema(w, 0, UINT64_MAX, -1);
    json_key(w, "dim");
    int_schema(w, 1, VW_MAX_DIM, -1);
    static const char *const req[] = {"status", "count", "dim"};
    object_schema_end(w, req, 3);
}

static void schema_stats(json_writer *w) {
    static const char *const names[] = {"count",
                                        "dim",
                                        "metric",
                                        "storage",
                                        "ef_search",
                                        "threads",
                                        "requests",
                                        "errors",
                                        "queries",
                                        "index_path",
                                        "index_reloads",
                                        "index_reload_failures",
                                        "last_reload_error",
                                        "version"};
    json_key(w, "Stats");
    json_begin_object(w);
    json_field_string(w, "type", "object");
    json_field_string(w, "description",
                      "the index's statistics and the server's counters; see vw-serve(1) for "
                      "every member");
    required(w, names, sizeof names / sizeof names[0]);
    json_end_object(w);
}

/* An object or null (a filter, attributes) with its description. */
static void nullable_object_schema(json_writer *w, const char *description) {
    json_begin_object(w);
    json_key(w, "type");
    json_begin_array(w);
    json_string(w, "object");
    json_string(w, "null");
    json_end_array(w);
    json_field_string(w, "description", description);
    json_end_object(w);
}

/* The filter language (README "Filters"; vwhnsw.h vw_filter_parse):
 * described, not spelled out as a recursive schema. */
static void filter_schema(json_writer *w) {
    nullable_object_schema(w, "Qdrant's filter shape: {\"must\": [...], \"should\": [...], "
                              "\"must_not\": [...]} of {\"key\", \"match\": {\"value\"|\"any\"}}, "
                              "{\"key\", \"range\": {\"gt\"|\"gte\"|\"lt\"|\"lte\"}}, "
                              "{\"is_empty\": {\"key\"}}, {\"has_id\": [...]} and nested groups; "
                              "results always match it; a malformed filter is a 422 naming the "
                              "place");
}

static void schema_search(json_writer *w, uint32_t dim, int batch) {
    json_key(w, batch ? "BatchSearchRequest" : "SearchRequest");
    json_begin_object(w);
    json_field_string(w, "type", "object");
    json_key(w, "properties");
    json_begin_object(w);
    json_key(w, batch ? "query_vectors" : "query_vector");
    if (batch) {
        json_begin_object(w);
        json_field_string(w, "type", "array");
        json_key(w, "items");
        vector_schema(w, dim);
        json_field_u64(w, "maxItems", API_MAX_BATCH);
        json_end_object(w);
    } else {
        vector_schema(w, dim);
    }
    json_key(w, "k");
    int_schema(w, 1, VW_MAX_K, API_DEFAULT_K);
    json_key(w, "ef_search");
    int_schema(w, 1, VW_MAX_EF, -1);
    json_key(w, "filter");
    filter_schema(w);
    json_end_object(w);
    const char *req = batch ? "query_vectors" : "query_vector";
    required(w, &req, 1);
    json_field_bool(w, "additionalProperties", 0);
    json_end_object(w);
}

static void schema_result(json_writer *w) {
    object_schema_begin(w, "SearchResult");
    json_key(w, "indices");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    int_schema(w, 0, UINT64_MAX, -1);
    json_end_object(w);
    json_key(w, "distances");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    json_begin_object(w);
    json_field_string(w, "type", "number");
    json_end_object(w);
    json_end_object(w);
    static const char *const req[] = {"indices", "distances"};
    object_schema_end(w, req, 2);

    object_schema_begin(w, "BatchSearchResult");
    json_key(w, "results");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    ref(w, "schemas", "SearchResult");
    json_end_object(w);
    static const char *const breq[] = {"results"};
    object_schema_end(w, breq, 1);
}

static void string_property(json_writer *w, const char *name) {
    json_key(w, name);
    json_begin_object(w);
    json_field_string(w, "type", "string");
    json_end_object(w);
}

static void schema_reload(json_writer *w) {
    object_schema_begin(w, "ReloadRequest");
    string_property(w, "path");
    json_end_object(w);
    json_end_object(w);

    object_schema_begin(w, "ReloadResult");
    string_property(w, "status");
    string_property(w, "path");
    json_key(w, "count");
    int_schema(w, 0, UINT64_MAX, -1);
    json_key(w, "dim");
    int_schema(w, 1, VW_MAX_DIM, -1);
    static const char *const req[] = {"status", "path", "count", "dim"};
    object_schema_end(w, req, 4);
}

static void ids_property(json_writer *w) {
    json_key(w, "ids");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    int_schema(w, 0, UINT64_MAX, -1);
    json_field_u64(w, "minItems", 1);
    json_field_u64(w, "maxItems", API_MAX_BATCH);
    json_end_object(w);
}

static void schema_writes(json_writer *w, uint32_t dim) {
    object_schema_begin(w, "UpsertRequest");
    ids_property(w);
    json_key(w, "vectors");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    vector_schema(w, dim);
    json_field_u64(w, "minItems", 1);
    json_field_u64(w, "maxItems", API_MAX_BATCH);
    json_end_object(w);
    json_key(w, "attributes");
    json_begin_object(w);
    json_key(w, "type");
    json_begin_array(w);
    json_string(w, "array");
    json_string(w, "null"); /* null: none for every element */
    json_end_array(w);
    json_key(w, "items");
    nullable_object_schema(w, "element i's attributes (a flat object: strings, numbers, booleans, "
                              "null, arrays of strings; at most 4096 bytes), or null for none");
    json_field_u64(w, "maxItems", API_MAX_BATCH);
    json_field_string(w, "description",
                      "parallel to ids; an upsert replaces the whole element, so an element "
                      "written without attributes (member absent, or null) has none");
    json_end_object(w);
    static const char *const ureq[] = {"ids", "vectors"};
    object_schema_end(w, ureq, 2);

    object_schema_begin(w, "UpsertResult");
    json_key(w, "upserted");
    int_schema(w, 1, API_MAX_BATCH, -1);
    static const char *const rreq[] = {"upserted"};
    object_schema_end(w, rreq, 1);

    object_schema_begin(w, "Vector");
    json_key(w, "id");
    int_schema(w, 0, UINT64_MAX, -1);
    json_key(w, "vector");
    vector_schema(w, dim);
    json_key(w, "attributes");
    nullable_object_schema(w, "the element's attributes (POST /vectors, vw-build --attributes), or "
                              "null");
    static const char *const vreq[] = {"id", "vector", "attributes"};
    object_schema_end(w, vreq, 3);

    object_schema_begin(w, "Deleted");
    json_key(w, "deleted");
    int_schema(w, 0, UINT64_MAX, -1);
    static const char *const dreq[] = {"deleted"};
    object_schema_end(w, dreq, 1);

    object_schema_begin(w, "SnapshotResult");
    string_property(w, "snapshot");
    json_key(w, "seconds");
    json_begin_object(w);
    json_field_string(w, "type", "number");
    json_end_object(w);
    static const char *const sreq[] = {"snapshot", "seconds"};
    object_schema_end(w, sreq, 2);
}

/* {"error": "...", "detail": "..."} or, for 422, detail as pydantic's list. */
static void schema_errors(json_writer *w) {
    object_schema_begin(w, "HTTPError");
    string_property(w, "error");
    string_property(w, "detail");
    static const char *const req[] = {"error", "detail"};
    object_schema_end(w, req, 2);

    object_schema_begin(w, "ValidationError");
    string_property(w, "error");
    json_key(w, "detail");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    object_schema_begin(w, "items");
    string_property(w, "type");
    string_property(w, "msg");
    json_key(w, "loc");
    json_begin_object(w);
    json_field_string(w, "type", "array");
    json_key(w, "items");
    json_begin_object(w);
    json_key(w, "type");
    json_begin_array(w);
    json_string(w, "string");
    json_string(w, "integer");
    json_end_array(w);
    json_end_object(w);
    json_end_object(w);
    static const char *const ireq[] = {"type", "loc", "msg"};
    object_schema_end(w, ireq, 3);
    json_end_object(w);
    json_end_object(w);
    required(w, req, 2);
    json_end_object(w);
}

static void write_responses(json_writer *w) {
    json_key(w, "responses");
    json_begin_object(w);
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++) {
        const status_row *r = &status_table[i];
        json_key(w, r->name);
        json_response(w, r->when, r->status == 422 ? "ValidationError" : "HTTPError");
    }
    json_end_object(w);
}

/* components/securitySchemes: a key as a bearer token or in X-API-Key. */
static void write_schemes(json_writer *w) {
    json_key(w, "securitySchemes");
    json_begin_object(w);
    json_key(w, "bearer");
    json_begin_object(w);
    json_field_string(w, "type", "http");
    json_field_string(w, "scheme", "bearer");
    json_field_string(w, "description",
                      "an API key of --api-keys; its scope (read, write, admin) must cover "
                      "the operation's x-scope");
    json_end_object(w);
    json_key(w, "apiKey");
    json_begin_object(w);
    json_field_string(w, "type", "apiKey");
    json_field_string(w, "in", "header");
    json_field_string(w, "name", "X-API-Key");
    json_end_object(w);
    json_end_object(w);
}

/* "security": either scheme. */
static void write_document_security(json_writer *w) {
    json_key(w, "security");
    json_begin_array(w);
    static const char *const schemes[] = {"bearer", "apiKey"};
    for (int i = 0; i < 2; i++) {
        json_begin_object(w);
        json_key(w, schemes[i]);
        json_begin_array(w);
        json_end_array(w);
        json_end_object(w);
    }
    json_end_array(w);
}

static void write_components(json_writer *w, const vw_stats *index, int keys) {
    uint32_t dim = index->dim;
    json_key(w, "components");
    json_begin_object(w);
    json_key(w, "schemas");
    json_begin_object(w);
    schema_health(w);
    schema_stats(w);
    schema_search(w, dim, 0);
    schema_search(w, dim, 1);
    schema_result(w);
    schema_reload(w);
    schema_writes(w, index->dim);
    schema_errors(w);
    json_end_object(w);
    write_responses(w);
    if (keys)
        write_schemes(w);
    json_end_object(w);
}

static void write_protocol(json_writer *w) {
    json_key(w, "x-protocol-responses");
    json_begin_object(w);
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++) {
        if (!status_table[i].protocol)
            continue;
        char code[8];
        snprintf(code, sizeof code, "%d", status_table[i].status);
        json_key(w, code);
        ref(w, "responses", status_table[i].name);
    }
    json_end_object(w);
}

void openapi_write(json_writer *w, const vw_stats *index, const openapi_access *a) {
    json_begin_object(w);
    json_field_string(w, "openapi", "3.1.0");
    json_key(w, "info");
    json_begin_object(w);
    json_field_string(w, "title", "vw-serve");
    json_field_string(w, "version", vw_version());
    json_field_string(w, "description",
                      "k-nearest-neighbour search over one HNSW index (libvwhnsw). The API of "
                      "the original Python (FastAPI) service, plus batches, metrics, "
                      "reloads and, with --data, durable writes. Error bodies are {\"error\": "
                      "message, \"detail\": ...}: detail "
                      "is pydantic's list of {type, loc, msg} for a 422, the message otherwise. "
                      "x-protocol-responses lists what any request can get before it reaches "
                      "a route.");
    json_end_object(w);
    if (a->keys)
        write_document_security(w);
    write_paths(w, a);
    write_components(w, index, a->keys);
    write_protocol(w);
    json_end_object(w);
}
