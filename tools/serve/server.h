/*
 * server.h - the configuration of vw-serve and the entry point of its event
 * loop (server.c), which runs the worker pool of worker.c.
 */
#ifndef VW_SERVE_SERVER_H
#define VW_SERVE_SERVER_H

#include "slot.h"
#include "vwhnsw.h"

#include <signal.h>
#include <stdint.h>

typedef struct serve_config {
    const char *index_path; /* the file of the initial load */
    unsigned load_flags;    /* VW_LOAD_* of the initial load */
    const char *metric;     /* --metric (an hnswlib file's), or NULL; reloads use it too */
    const char *host;
    unsigned port;            /* 0 = any free port (printed on the startup line) */
    uint32_t ef;              /* default ef_search */
    unsigned threads;         /* search workers (>= 1) */
    uint64_t max_body;        /* bytes; larger bodies get 413 */
    unsigned timeout_ms;      /* request/idle/write timeout */
    unsigned max_connections; /* beyond it: 503 and close */
    unsigned queue_depth;     /* searches waiting for a worker; beyond it: 503 */
    uint64_t max_work;        /* queries x max(k, ef_search) per request; beyond it: 422 */
    int normalize;            /* normalize queries before searching an l2/ip index */
    int admin;                /* POST /admin/reload answered (to loopback clients) */
    const char *access_log;   /* FILE or "-", or NULL for none */
    /* writes (NULL store: read-only) */
    vw_store *store;              /* the index's durable store, opened by the caller */
    const char *data_dir;         /* its directory, for logs */
    unsigned write_threads;       /* workers for the write API (>= 1) */
    unsigned snapshot_interval_s; /* 0: no timed snapshots */
    uint64_t snapshot_log_bytes;  /* snapshot when the log reaches this; 0: no limit */
} serve_config;

/* Serves `index` (owned from here on) until SIGTERM or SIGINT; SIGHUP loads
 * the index file again and swaps it in, SIGUSR1 asks for a snapshot. With
 * cfg->store the index is the store's and the write API is open; it is
 * then never reloaded from a file (SIGHUP and POST /admin/reload are
 * refused). The caller must have blocked these signals in every thread, so
 * they arrive through a signalfd; the threads started here inherit the
 * mask. Returns 0 after a clean shutdown, 1 if the server could not start
 * (a message was logged). */
int serve_run(served_index *index, const serve_config *cfg, const sigset_t *signals);

#endif /* VW_SERVE_SERVER_H */
