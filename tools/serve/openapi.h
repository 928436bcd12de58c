/*
 * openapi.h - GET /openapi.json: an OpenAPI 3.1 description of vw-serve's
 * API (every route, request body, answer and error), written for the index
 * being served (its dimension bounds the query vectors).
 *
 * Each operation lists the statuses it answers itself. The statuses a
 * request can get before it reaches any route (a malformed or slow request
 * head, an unknown path or method, too many connections) are listed once,
 * under the extension member "x-protocol-responses" of the document. The
 * status table of README.md and vw-serve(1) is the same table;
 * test_serve_openapi checks this document against the server's answers in
 * both directions.
 */
#ifndef VW_SERVE_OPENAPI_H
#define VW_SERVE_OPENAPI_H

#include "json.h"
#include "vwhnsw.h"

/* What the document describes of access: the admin route only when
 * enabled; with API keys, the security schemes, the document's security
 * and each operation's scope ("x-scope"), GET / and /metrics open
 * ("security": []) unless auth_all. */
typedef struct openapi_access {
    int admin;
    int keys;
    int auth_all;
} openapi_access;

void openapi_write(json_writer *w, const vw_stats *index, const openapi_access *a);

#endif /* VW_SERVE_OPENAPI_H */
