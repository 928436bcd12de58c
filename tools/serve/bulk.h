/*
 * bulk.h - bulk loads into POST /vectors (application/x-ndjson or
 * application/x-npy, see api.h), streamed from the socket into the write
 * log in batches.
 *
 * The event loop parses the head and hands the connection's socket, with
 * the body bytes it has already read, to a write worker, and reads nothing
 * more from it until the job is back. The worker reads the body as it
 * arrives, waiting at most --timeout-ms for each part of it, decodes the
 * records into a batch of BULK_BATCH vectors and commits each full batch
 * with one vw_store_upsert: one log record, synced, all or nothing. So
 * memory stays at one read buffer and one batch whatever the body's size,
 * and a slow client holds one write worker, never the event loop.
 *
 * What is durable is always a prefix of the body: records are committed in
 * the order they arrive, a record that fails validation stops the load
 * after the records before it are committed, and an id that appears again
 * in the same batch makes the batch commit first (so the later vector
 * wins, as it would one request at a time). The answer is {"upserted": N};
 * a failure part-way is its status (422 for a bad record, 408 when the
 * body stops arriving, 500/503 from the store) with "written": the number
 * of leading records that are durable (see api_write_bulk_error). After a
 * crash the log holds whole batches of that prefix.
 */
#ifndef VW_SERVE_BULK_H
#define VW_SERVE_BULK_H

#include "json.h"
#include "vwhnsw.h"

#include <stddef.h>
#include <stdint.h>

/* Vectors per commit: vw_store_upsert searches with every CPU from 4096. */
#define BULK_BATCH 8192u

typedef enum bulk_format { BULK_NONE, BULK_NDJSON, BULK_NPY } bulk_format;

typedef struct bulk_source {
    bulk_format format;
    int fd;             /* the connection's (non-blocking) socket */
    const char *prefix; /* body bytes the event loop had already read */
    size_t prefix_len;
    uint64_t left;       /* body bytes still to read from fd; what is unread at the end */
    unsigned timeout_ms; /* longest wait for more of the body */
    int has_start;       /* ?start=ID given (the ids of an npy body) */
    uint64_t start;
} bulk_source;

/* The format a request's Content-Type asks for (BULK_NONE: a JSON body). */
bulk_format bulk_format_of(const char *content_type, size_t len);

/* Loads the body into `store` (an index of `dim` dimensions). Fills *resp
 * and returns the HTTP status; for an error status `error` gets the message
 * for the log. src->left is then the part of the body left unread (the
 * connection cannot be reused unless it is 0). */
int bulk_load(vw_store *store, uint32_t dim, bulk_source *src, json_writer *resp, char *error,
              size_t error_cap);

#endif /* VW_SERVE_BULK_H */
