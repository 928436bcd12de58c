/*
 * conn.h - the state of vw-serve's event loop (server.c), its connections
 * and the calls that answer a request on one, as the request handlers of
 * dispatch.c see them. Everything here runs on the event loop's thread.
 */
#ifndef VW_SERVE_CONN_H
#define VW_SERVE_CONN_H

#include "api.h"
#include "auth.h"
#include "bulk.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "slot.h"
#include "worker.h"
#include "writes.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum timer_kind {
    TIMER_NONE,
    TIMER_IDLE,
    TIMER_REQUEST,
    TIMER_WRITE,
    TIMER_LINGER
} timer_kind;

typedef struct conn conn;
struct conn {
    int fd;
    int closed;
    int readable; /* edge-triggered: set by EPOLLIN, cleared on EAGAIN */
    int rdhup;    /* the peer has shut down its side: read on to the end */
    int peer_eof;
    int in_flight; /* a search of this connection is with the workers */
    int close_after_write;
    int sent_continue; /* "100 Continue" sent for the current request */
    int keep_alive;    /* of the request being answered */
    int head_only;     /* the request being answered is HEAD */
    int loopback;      /* the client is on the loopback interface */
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_off, out_len, out_cap;
    timer_kind timer;
    int64_t deadline_ms;
    int outq_mark;       /* WRITE: bytes in the socket's send queue when the deadline started */
    conn *tprev, *tnext; /* timer FIFO */
    conn *prev, *next;   /* all open connections */
    conn *grave_next;    /* closed, to be freed */
    char peer[64];
    char what[96];      /* request line of the request being answered, for logs */
    api_route route;    /* of the request being answered */
    char key_name[48];  /* its API key's name, or "-", for the access log */
    bulk_format bulk;   /* the request being answered is a bulk load (bulk.h) */
    int streaming;      /* a worker reads its body from the socket: the loop does not */
    int held_fd;        /* closed while streaming: the socket, closed when the job is back */
    int body_unread;    /* part of a request's body was never read: linger, then close */
    int lingering;      /* answered, write side shut: reading and discarding until EOF */
    uint64_t lingered;  /* bytes discarded so far */
    char forwarded[64]; /* its X-Forwarded-For (no spaces), or "-" */
    int64_t started_ns; /* when its head was parsed */
};

typedef struct server {
    index_slot slot;
    const serve_config *cfg;
    int epfd, listen_fd, event_fd, signal_fd, inotify_fd;
    int spare_fd;           /* /dev/null, closed to accept a connection when out of descriptors */
    worker_pool pool;       /* searches (and GET /vectors/{id} when read-only) */
    worker_pool write_pool; /* the write API, with --data */
    int workers_started;    /* pool to stop */
    int write_workers_started; /* write_pool to stop */
    serve_writes *writes;      /* the write side; NULL on a read-only server */
    conn *conns;
    unsigned nconns;
    conn *thead, *ttail;
    conn *graveyard;
    unsigned jobs_out;
    int stopping;
    int quiet; /* the last epoll_wait returned one event: little concurrency */
    int accept_paused;
    int64_t stop_deadline_ms;
    int64_t started_ms;
    atomic_uint_fast64_t requests, errors;
    serve_metrics metrics;
    auth_keys *keys; /* --api-keys, re-read on SIGHUP; NULL: none */
} server;

static inline int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void count(atomic_uint_fast64_t *c, uint64_t v) {
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t load(atomic_uint_fast64_t *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Queues a complete response: its head is written into the room the
 * writer keeps in front of the body, and when nothing else waits to be
 * sent the connection takes the writer's buffer as its output, so an answer
 * (up to tens of megabytes for a large batch) is never copied. Otherwise,
 * or for a HEAD request, head and body are appended. `log_msg` is logged
 * for error statuses. */
void respond_typed(server *s, conn *c, int status, json_writer *w, const char *content_type,
                   const char *extra_headers, const char *log_msg);
void respond(server *s, conn *c, int status, json_writer *w, const char *extra_headers,
             const char *log_msg);
void respond_error(server *s, conn *c, int status, const char *message, const char *extra_headers);
void respond_error_at(server *s, conn *c, const api_error *e);
/* Starts, keeps or stops the connection's deadline for its state. */
void timer_update(server *s, conn *c);
/* The request's body for a job: when the request is all the connection has
 * buffered (no pipelined request behind it, the usual case), the input
 * buffer itself goes to the job and the connection starts a new one;
 * otherwise the body is copied. 0 when the input is consumed. */
serve_job *take_body(conn *c, int batch, const http_request *req);

#endif /* VW_SERVE_CONN_H */
