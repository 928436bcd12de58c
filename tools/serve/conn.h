/*
 * conn.h - the state of vw-serve's event loops (server.c), their
 * connections and the calls that answer a request on one, as the request
 * handlers of dispatch.c see them. A `server` is one event loop: what it
 * holds (its connections, timers, epoll) is touched by its own thread
 * only; what all loops share (index, workers, counters, keys) is reached
 * through pointers into the one serve_shared.
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

#include <pthread.h>
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

typedef struct serve_shared serve_shared;

typedef struct server {
    serve_shared *sh;
    unsigned id;      /* loop 0 accepts, takes the signals and inotify */
    index_slot *slot; /* the shared ones, for short */
    const serve_config *cfg;
    worker_pool *pool;       /* batches and larger searches (and GET /vectors/{id} read-only) */
    worker_pool *write_pool; /* the write API, with --data */
    serve_writes *writes;    /* the write side; NULL on a read-only server */
    serve_metrics *metrics;
    atomic_uint_fast64_t *requests, *errors;
    int epfd, listen_fd, event_fd, signal_fd, inotify_fd; /* listen, signal, inotify: loop 0's */
    int spare_fd;       /* /dev/null, closed to accept a connection when out of descriptors */
    completion_box box; /* its finished jobs */
    pthread_mutex_t inbox_mu;
    conn *inbox; /* connections loop 0 accepted for this loop */
    conn *conns;
    unsigned nconns;
    conn *thead, *ttail;
    conn *graveyard;
    unsigned jobs_out;
    int stopping;
    int accept_paused;
    int64_t stop_deadline_ms;
    int64_t started_ms;
    pthread_t thread; /* loops 1..n-1 */
} server;

/* What the event loops share. */
struct serve_shared {
    const serve_config *cfg;
    index_slot slot;
    int slot_started;
    worker_pool pool, write_pool;
    int workers_started, write_workers_started; /* pools to stop */
    serve_metrics metrics;
    atomic_uint_fast64_t requests, errors;
    atomic_uint nconns;   /* open connections, all loops */
    atomic_uint jobs_out; /* requests with the workers, all loops */
    atomic_int stop;      /* loop 0 began the shutdown: the others follow */
    pthread_rwlock_t keys_lock;
    auth_keys *keys; /* --api-keys, re-read on SIGHUP (under keys_lock); NULL: none */
    server *loops;
    unsigned nloops, started_loops; /* loops; threads started for loops 1.. */
    unsigned next_loop;             /* loop 0's round robin of new connections */
};

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

/* Closes a connection (freed at the end of the loop's round, or when its
 * job comes back). */
void conn_close(server *s, conn *c);
/* Appends to the connection's output; -1 when out of memory. */
int out_append(conn *c, const char *data, size_t n);
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
/* Called by loop 0 with a connection it accepted: the loops take the new
 * connections in turn; loop 0 watches its own at once, another loop gets
 * it through its inbox. */
void serve_adopt(server *s, conn *c);
/* Sends a job's answer (the job stays the caller's). */
void respond_job(server *s, conn *c, serve_job *j);
/* The request's body for a job: when the request is all the connection has
 * buffered (no pipelined request behind it, the usual case), the input
 * buffer itself goes to the job and the connection starts a new one;
 * otherwise the body is copied. 0 when the input is consumed. */
serve_job *take_body(server *s, conn *c, int batch, const http_request *req);

#endif /* VW_SERVE_CONN_H */
