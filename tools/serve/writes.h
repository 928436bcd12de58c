/*
 * writes.h - the write side of vw-serve (writes.c): the /vectors and
 * /snapshot routes over a durable store (vw_store), and the thread that
 * takes snapshots on a timer, when the log grows, or on SIGUSR1.
 */
#ifndef VW_SERVE_WRITES_H
#define VW_SERVE_WRITES_H

#include "api.h"
#include "bulk.h"
#include "json.h"
#include "vwhnsw.h"

#include <stddef.h>
#include <stdint.h>

typedef struct serve_writes serve_writes;

/* Starts the snapshot thread for `store`: a snapshot every `interval_s`
 * seconds while the log holds records (0: no timer), and whenever the log
 * reaches `log_bytes` (0: no limit). Returns NULL if the thread cannot
 * start. */
serve_writes *writes_start(vw_store *store, unsigned interval_s, uint64_t log_bytes);

/* Asks the snapshot thread for a snapshot now (SIGUSR1); never blocks. */
void writes_request_snapshot(serve_writes *w);

/* Stops the snapshot thread; a last snapshot is taken if the log holds
 * records, so the next start replays nothing. Frees w. */
void writes_stop(serve_writes *w);

/* One request of the write API (POST /vectors, GET/HEAD/DELETE /vectors/{id},
 * POST /snapshot). `w` is NULL on a read-only server, which answers GET and
 * refuses the others with 403. Writes block until durable. Fills *resp and
 * returns the HTTP status; for an error status, `error` gets the message
 * for the log. */
int writes_handle(serve_writes *w, const vw_index *index, api_route route, http_method method,
                  uint64_t id, const char *body, size_t body_len, json_writer *resp, char *error,
                  size_t error_cap);

/* A bulk load into POST /vectors (bulk.h); a read-only server (w NULL)
 * refuses it with 403 without reading the body. */
int writes_bulk(serve_writes *w, const vw_index *index, bulk_source *src, json_writer *resp,
                char *error, size_t error_cap);

/* The figures /stats reports; -1 (nothing filled) on a read-only server. */
int writes_stats(serve_writes *w, api_write_figures *out);

#endif /* VW_SERVE_WRITES_H */
