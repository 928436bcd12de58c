/*
 * config.h - the configuration of vw-serve, as serve_main.c reads it from
 * the command line; the event loop and the workers only read it.
 */
#ifndef VW_SERVE_CONFIG_H
#define VW_SERVE_CONFIG_H

#include "vwhnsw.h"

#include <stdint.h>

typedef struct serve_config {
    const char *index_path; /* the file of the initial load */
    unsigned load_flags;    /* VW_LOAD_* of the initial load */
    const char *metric;     /* --metric (an hnswlib file's), or NULL; reloads use it too */
    const char *host;
    unsigned port;                   /* 0 = any free port (printed on the startup line) */
    uint32_t ef;                     /* default ef_search */
    unsigned threads;                /* search workers (>= 1) */
    uint64_t max_body;               /* bytes; larger bodies get 413 */
    uint64_t max_write_body;         /* bytes of a bulk load (bulk.h); larger: 413 */
    unsigned timeout_ms;             /* request/idle/write timeout */
    unsigned search_timeout_ms;      /* a request's searches stop after it (503) */
    const char *search_timeout_flag; /* the flag that set it, for the 503's message */
    unsigned max_connections;        /* beyond it: 503 and close */
    unsigned queue_depth;            /* searches waiting for a worker; beyond it: 503 */
    uint64_t max_work;               /* queries x max(k, ef_search) per request; beyond it: 422 */
    int normalize;                   /* normalize queries before searching an l2/ip index */
    int admin;                       /* POST /admin/reload answered (to loopback clients) */
    const char *access_log;          /* FILE or "-", or NULL for none */
    const char *api_keys;            /* --api-keys FILE (auth.h), or NULL: no keys asked for */
    int auth_all;                    /* keys for GET / and /metrics too */
    /* writes (NULL store: read-only) */
    vw_store *store;              /* the index's durable store, opened by the caller */
    const char *data_dir;         /* its directory, for logs */
    unsigned write_threads;       /* workers for the write API (>= 1) */
    unsigned snapshot_interval_s; /* 0: no timed snapshots */
    uint64_t snapshot_log_bytes;  /* snapshot when the log reaches this; 0: no limit */
} serve_config;

#endif /* VW_SERVE_CONFIG_H */
