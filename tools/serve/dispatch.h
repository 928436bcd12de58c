/*
 * dispatch.h - the HTTP application policy of vw-serve (dispatch.c): what
 * answers a parsed request, on the event loop's connection state (conn.h).
 */
#ifndef VW_SERVE_DISPATCH_H
#define VW_SERVE_DISPATCH_H

#include "conn.h"
#include "http.h"
#include "vwhnsw.h"

/* Answers or hands off one complete request of `c` (its bytes are at the
 * start of c->in). */
void dispatch(server *s, conn *c, const http_request *req);
/* The slot's callback when a reload is done (`arg` is the server): the
 * answer of a POST /admin/reload goes back to the event loop like a
 * search's; a SIGHUP's (token NULL) was logged by the slot. */
void reload_done(void *arg, void *token, int ok, const char *path, const vw_stats *info,
                 const char *error);

/* The bulk format of a POST /vectors request (bulk.h), else BULK_NONE:
 * such a request is dispatched before its body is read. */
bulk_format dispatch_bulk_format(const http_request *req);
/* Remembers "METHOD /target" of the request for the log. */
void note_request_line(conn *c, const http_request *req);

/* Reads --api-keys (if given) into s->keys, replacing the keys in force;
 * -1 after logging why the file was refused (the keys in force stay). */
int dispatch_load_keys(server *s);

#endif /* VW_SERVE_DISPATCH_H */
