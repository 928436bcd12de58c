/*
 * worker.h - vw-serve's workers: a bounded queue of jobs and the threads
 * that answer them.
 *
 * The event loop (server.c) submits a job per search request and never
 * waits: a full queue is refused at once (503), the overload signal. A
 * worker decodes the body (api.c), borrows the index from the slot, runs
 * the searches under the SIGBUS guard and writes the answer into the job;
 * then it puts the job on the completion box of the event loop that owns
 * the connection (one per loop) and wakes that loop through its eventfd,
 * which sends the answer. A single small search is not handed off at all:
 * the event loop runs it itself (workers_run_inline). The queries of a batch are
 * shared out: the worker that takes it queues helpers at the head of the
 * queue, every free worker searches chunks of it, and the last one to finish
 * writes the answer.
 *
 * A server that takes writes (--data) runs a second pool for the write API
 * (writes.c): a write blocks its worker until its log record is synced, so
 * writes have threads of their own and never hold up a search. A read-only
 * server answers GET /vectors/{id} (and refuses the writes) on its search
 * workers. Writes are never shared out nor run inline on the event loop.
 */
#ifndef VW_SERVE_WORKER_H
#define VW_SERVE_WORKER_H

#include "api.h"
#include "bulk.h"
#include "config.h"
#include "json.h"
#include "slot.h"
#include "writes.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes kept free in front of every answer, where the event loop writes
 * the HTTP head so that the answer is sent without being copied. */
#define SERVE_HEAD_ROOM 512u

typedef struct serve_job serve_job;
typedef struct shared_run shared_run;

/* Where the finished jobs of one event loop wait for it: any thread adds,
 * the loop takes the whole list when its eventfd says so. */
typedef struct completion_box {
    pthread_mutex_t mu;
    serve_job *done;
    int event_fd; /* written when the list goes from empty to not empty */
} completion_box;

void completion_box_init(completion_box *b, int event_fd);
/* Frees the jobs nobody took (at shutdown). */
void completion_box_destroy(completion_box *b);
/* The jobs finished since the last call, as a list through ->next. */
serve_job *completion_box_take(completion_box *b);
struct serve_job {
    void *conn;      /* the connection it answers (the event loop's) */
    int batch;       /* /search/batch */
    api_route route; /* a search, or a route of the write API */
    http_method method;
    uint64_t id; /* of /vectors/{id} */
    char *input; /* owned: the request's bytes, or a copy of its body */
    const char *body;
    size_t body_len;
    int status;                /* HTTP status of the answer */
    const char *extra_headers; /* static "Name: value\r\n" lines, or NULL */
    json_writer resp;          /* the answer's body, after SERVE_HEAD_ROOM bytes */
    char error[200];           /* what went wrong, for the log */
    uint64_t queries;          /* searches run */
    shared_run *run;           /* while its searches run (worker.c) */
    bulk_source bulk;          /* a bulk load (format != BULK_NONE): the body is streamed */
    completion_box *box;       /* where it goes when finished: its event loop's */
    int inline_run;            /* run by the event loop itself: finished, not handed back */
    serve_job *next;
};

/* A queue entry: a job, or a helper for the searches of a job's batch. */
typedef struct queue_item {
    serve_job *job;
    int helper;
} queue_item;

/* A job for `conn` over the request body at body[0..len), which lives in
 * `input` (owned by the job from here on; NULL: the body is borrowed, for a
 * job run inline). It finishes into `box`. NULL when out of memory. */
serve_job *serve_job_new(void *conn, completion_box *box, int batch, char *input, const char *body,
                         size_t len);
void serve_job_free(serve_job *j);

typedef struct worker_pool {
    index_slot *slot;
    const serve_config *cfg;
    serve_writes *writes;     /* the write side, NULL on a read-only server */
    atomic_int stop_searches; /* set at shutdown: batches stop between queries */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    queue_item *ring; /* the queue */
    unsigned cap, head, count;
    int stop;
    pthread_t *threads;
    unsigned nthreads;
    void *scratch; /* per-thread result buffers */
} worker_pool;

/* Starts `threads` workers with a queue of cfg->queue_depth; `writes` is
 * the write side (NULL on a read-only server). 0, or -1 after logging why
 * (what was started is stopped by workers_stop). */
int workers_start(worker_pool *p, index_slot *slot, const serve_config *cfg, unsigned threads,
                  serve_writes *writes);
/* Queues a job; -1 when the queue is full (the job stays the caller's). */
int workers_submit(worker_pool *p, serve_job *j);
/* Runs a single search on the calling thread when its work, queries x
 * max(k, ef_search), is at most `budget`: 0 when the job is answered (its
 * status and body are set; it is the caller's to send and free, it does
 * not go to the box). 1 for anything else (a batch, a larger search, not
 * a search): nothing was done, the caller submits it. For the event loop:
 * a hand-off costs two thread wake-ups, more than such a search. */
int workers_run_inline(worker_pool *p, serve_job *j, uint64_t budget);
/* Hands a finished job to its event loop (any thread may call it). */
void workers_complete(serve_job *j);
/* Running batches stop between two queries (503); for the shutdown. */
void workers_stop_searches(worker_pool *p);
/* Lets the queued jobs finish, then joins the threads and frees the queue. */
void workers_stop(worker_pool *p);

#endif /* VW_SERVE_WORKER_H */
