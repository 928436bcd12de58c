/*
 * worker.c - the search queue and the worker threads (see worker.h).
 */
#include "worker.h"

#include "api.h"
#include "fault.h"
#include "index_json.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ jobs */

serve_job *serve_job_new(void *conn, completion_box *box, int batch, char *input, const char *body,
                         size_t len) {
    serve_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->conn = conn;
    j->box = box;
    j->batch = batch;
    j->input = input;
    j->body = body;
    j->body_len = len;
    json_writer_init(&j->resp, 0, SERVE_HEAD_ROOM);
    return j;
}

void serve_job_free(serve_job *j) {
    free(j->input);
    json_writer_free(&j->resp);
    free(j);
}

static void job_fail_at(serve_job *j, const api_error *e, const char *extra_headers) {
    j->status = e->status;
    j->extra_headers = extra_headers;
    snprintf(j->error, sizeof j->error, "%s", e->message);
    json_writer_reset(&j->resp);
    api_write_error_at(&j->resp, e);
}

static void job_fail(serve_job *j, int status, const char *message, const char *extra_headers) {
    api_error e = {.status = status, .loc_index = {-1, -1}};
    snprintf(e.message, sizeof e.message, "%s", message);
    job_fail_at(j, &e, extra_headers);
}

/* ------------------------------------------------------------------ searching */

typedef struct worker_ctx {
    worker_pool *pool;
} worker_ctx;

/* The searches of one request, shared by the workers that take part: the
 * one that took the job and, for a batch, helpers it queued. Each claims
 * CHUNK queries at a time from `next`; the last one to leave writes the
 * answer. A failure at query q stops everyone before the queries after q;
 * the first failing query in order is the one reported, as if one worker
 * had searched them all in turn. */
struct shared_run {
    served_index *x;
    api_search req;
    int normalize;
    int64_t deadline_ms;
    size_t chunk;
    uint64_t *labels; /* nq x k */
    float *distances;
    uint32_t *found; /* nq */
    atomic_size_t next;
    atomic_int participants;
    atomic_size_t fail_hint; /* fail_at, read without the lock */
    pthread_mutex_t mu;
    size_t fail_at; /* nq while nothing failed */
    api_error fail;
    const char *fail_headers;
};

/* Checked between two queries of a request: why the rest must not run, in
 * msg; 0 to go on. */
static int interrupted(worker_pool *p, int64_t deadline_ms, size_t done, size_t total, char *msg,
                       size_t cap) {
    if (atomic_load(&p->stop_searches)) {
        snprintf(msg, cap, "the server is shutting down; %zu of %zu queries were searched", done,
                 total);
        return 1;
    }
    if (now_ms() >= deadline_ms) {
        snprintf(msg, cap,
                 "the searches ran longer than %u ms (%s) and were stopped after %zu of "
                 "%zu queries; send fewer queries or a smaller ef_search",
                 p->cfg->search_timeout_ms, p->cfg->search_timeout_flag, done, total);
        return 1;
    }
    return 0;
}

static void run_fail(shared_run *r, size_t q, const api_error *e, const char *headers) {
    pthread_mutex_lock(&r->mu);
    if (q < r->fail_at) {
        r->fail_at = q;
        r->fail = *e;
        r->fail_headers = headers;
        atomic_store(&r->fail_hint, q);
    }
    pthread_mutex_unlock(&r->mu);
}

/* The /vectors routes and /snapshot (writes.c). A server that takes writes
 * serves the store's index, in memory; a read-only one may serve a mapped
 * file, read under the SIGBUS guard as searches are. */
static void run_vectors(worker_pool *p, serve_job *j, served_index *x) {
    fault_guard_enter();
    if (j->bulk.format != BULK_NONE)
        j->status = writes_bulk(p->writes, x->index, &j->bulk, &j->resp, j->error, sizeof j->error);
    else
        j->status = writes_handle(p->writes, x->index, j->route, j->method, j->id, j->body,
                                  j->body_len, &j->resp, j->error, sizeof j->error);
    if (fault_guard_leave() > 0) {
        slot_mark_damaged(p->slot, x, "the mapped index file shrank under a read");
        job_fail(j, 503, API_INDEX_CHANGED, API_RETRY_LATER);
    } else if (!json_writer_ok(&j->resp)) {
        job_fail(j, 500, "out of memory", NULL);
    }
}

static void run_fail_msg(shared_run *r, size_t q, int status, const char *msg,
                         const char *headers) {
    api_error e = {.status = status, .loc_index = {-1, -1}};
    snprintf(e.message, sizeof e.message, "%s", msg);
    run_fail(r, q, &e, headers);
}

/* Query q under the SIGBUS guard; 0, or -1 after recording a failure. A
 * fault means the mapped file vanished under it: the answer is garbage. */
static int search_query(worker_pool *p, shared_run *r, size_t q, int batch) {
    const served_index *x = r->x;
    float *vec = r->req.queries + q * x->info.dim;
    vw_status st = r->normalize ? vw_normalize(vec, x->info.dim) : VW_OK;
    int faulted = 0;
    if (st == VW_OK) {
        fault_guard_enter();
        vw_search_options o;
        vw_search_options_default(&o);
        o.ef = r->req.ef;
        o.where = r->req.filter;
        st = vw_index_search_ex(x->index, vec, r->req.k, &o, r->labels + q * r->req.k,
                                r->distances + q * r->req.k, &r->found[q]);
        faulted = fault_guard_leave() > 0;
    }
    if (faulted) {
        slot_mark_damaged(p->slot, r->x, "the mapped index file shrank under a search");
        run_fail_msg(r, q, 503, API_INDEX_CHANGED, API_RETRY_LATER);
        return -1;
    }
    if (st == VW_ERR_EMPTY_INDEX) { /* nothing to find: an empty answer */
        r->found[q] = 0;
    } else if (st != VW_OK) {
        api_error e;
        api_search_failure(st, vw_last_error_detail(), batch ? (long)q : -1, &e);
        run_fail(r, q, &e, NULL);
        return -1;
    }
    return 0;
}

/* Claims and searches chunks of queries until none is left. */
static void run_work(worker_pool *p, serve_job *j) {
    shared_run *r = j->run;
    size_t nq = r->req.nq;
    char msg[200];
    for (;;) {
        size_t first = atomic_fetch_add(&r->next, r->chunk);
        if (first >= nq)
            return;
        size_t end = first + r->chunk < nq ? first + r->chunk : nq;
        for (size_t q = first; q < end; q++) {
            if (q >= atomic_load(&r->fail_hint))
                return;
            if (q > 0 && interrupted(p, r->deadline_ms, q, nq, msg, sizeof msg)) {
                run_fail_msg(r, q, 503, msg, API_RETRY_LATER);
                return;
            }
            if (search_query(p, r, q, j->batch) != 0)
                return;
        }
    }
}

static void run_free(shared_run *r) {
    api_search_free(&r->req);
    pthread_mutex_destroy(&r->mu);
    free(r); /* the result arrays are in the same block */
}

/* The answer, from the results or the first failure. */
static void run_answer(serve_job *j) {
    shared_run *r = j->run;
    j->queries = r->fail_at < r->req.nq ? r->fail_at : r->req.nq;
    if (r->fail_at < r->req.nq) {
        job_fail_at(j, &r->fail, r->fail_headers);
        return;
    }
    j->status = 200;
    api_begin_results(&j->resp, j->batch);
    for (size_t q = 0; q < r->req.nq; q++)
        tool_json_result(&j->resp, r->labels + q * r->req.k, r->distances + q * r->req.k,
                         r->found[q]);
    api_end_results(&j->resp, j->batch);
    if (!json_writer_ok(&j->resp))
        job_fail(j, 500,
                 j->resp.nonfinite ? "a distance is not a finite number: the index holds a "
                                     "non-finite vector"
                                   : "out of memory",
                 NULL);
}

/* A participant is done; the last one answers and hands the job back. */
static void run_leave(serve_job *j) {
    shared_run *r = j->run;
    if (atomic_fetch_sub(&r->participants, 1) != 1)
        return;
    run_answer(j);
    slot_release(r->x);
    run_free(r);
    j->run = NULL;
    if (!j->inline_run)
        workers_complete(j);
}

static int queue_helpers(worker_pool *p, serve_job *j, unsigned n);

/* Sets up the shared run of a parsed request, its result arrays in the
 * same allocation (one per request); -1 when out of memory. */
static int run_start(worker_pool *p, serve_job *j, served_index *x, api_search *req) {
    size_t results = req->nq * req->k;
    size_t labels_at = (sizeof(shared_run) + 7) & ~(size_t)7;
    size_t distances_at = labels_at + results * sizeof(uint64_t);
    size_t found_at = distances_at + results * sizeof(float);
    shared_run *r = calloc(1, found_at + req->nq * sizeof(uint32_t) + 1);
    if (r == NULL)
        return -1;
    r->labels = (uint64_t *)((char *)r + labels_at);
    r->distances = (float *)((char *)r + distances_at);
    r->found = (uint32_t *)((char *)r + found_at);
    r->x = x;
    r->req = *req;
    r->normalize = p->cfg->normalize && x->info.metric != VW_METRIC_COSINE;
    r->deadline_ms = now_ms() + p->cfg->search_timeout_ms;
    size_t chunk = req->nq / ((size_t)p->nthreads * 4);
    r->chunk = chunk < 1 ? 1 : (chunk > 32 ? 32 : chunk);
    r->fail_at = req->nq;
    atomic_init(&r->fail_hint, req->nq);
    atomic_init(&r->next, 0);
    atomic_init(&r->participants, 1);
    pthread_mutex_init(&r->mu, NULL);
    j->run = r;
    size_t chunks = (req->nq + r->chunk - 1) / r->chunk;
    if (chunks > 1 && p->nthreads > 1)
        queue_helpers(p, j,
                      (unsigned)(chunks - 1 < p->nthreads - 1 ? chunks - 1 : p->nthreads - 1));
    return 0;
}

/* Borrows the index and decodes the body; -1 when the job was answered
 * (an error) and handed back. */
static int run_parse(worker_pool *p, serve_job *j, served_index **x_out, api_search *req) {
    served_index *x = slot_acquire(p->slot);
    api_error err;
    if (atomic_load(&x->damaged)) {
        job_fail(j, 503, API_INDEX_CHANGED, API_RETRY_LATER);
    } else if (j->route != API_SEARCH && j->route != API_SEARCH_BATCH) {
        run_vectors(p, j, x);
    } else if (api_parse_search(j->body, j->body_len, j->batch, x->info.dim, p->cfg->ef,
                                p->cfg->max_work, req, &err) != 0) {
        job_fail_at(j, &err, NULL);
    } else {
        *x_out = x;
        return 0;
    }
    slot_release(x);
    if (!j->inline_run)
        workers_complete(j);
    return -1;
}

/* Runs the searches of a decoded request; the run holds x until its last
 * participant leaves, which hands the job back. */
static void run_go(worker_pool *p, serve_job *j, served_index *x, api_search *req) {
    if (run_start(p, j, x, req) != 0) {
        api_search_free(req);
        job_fail(j, 500, "out of memory", NULL);
        slot_release(x);
        if (!j->inline_run)
            workers_complete(j);
        return;
    }
    run_work(p, j);
    run_leave(j);
}

static void run_job(worker_ctx *w, serve_job *j) {
    served_index *x;
    api_search req;
    if (run_parse(w->pool, j, &x, &req) == 0)
        run_go(w->pool, j, x, &req);
}

int workers_run_inline(worker_pool *p, serve_job *j, uint64_t budget) {
    served_index *x;
    api_search req;
    /* The event loop never waits: a write (which waits for its log sync),
     * a read of /vectors or a batch always goes to a worker. */
    if (j->route != API_SEARCH)
        return 1;
    j->inline_run = 1;
    if (run_parse(p, j, &x, &req) != 0)
        return 0; /* answered: an error */
    uint64_t work = (uint64_t)req.nq * (req.ef > req.k ? req.ef : req.k);
    if (req.nq != 1 || work > budget) {
        api_search_free(&req);
        slot_release(x);
        j->inline_run = 0;
        return 1;
    }
    run_go(p, j, x, &req);
    return 0;
}

/* ------------------------------------------------------------------ the queue */

/* Blocks until a job arrives; {NULL} once stopped and drained. */
static queue_item queue_pop(worker_pool *p) {
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    queue_item it = {NULL, 0};
    if (p->count > 0) {
        it = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    pthread_mutex_unlock(&p->mu);
    return it;
}

/* Queues up to n helpers for j's run at the head of the queue (they are
 * part of a request already being answered), as far as there is room. */
static int queue_helpers(worker_pool *p, serve_job *j, unsigned n) {
    pthread_mutex_lock(&p->mu);
    unsigned queued = 0;
    for (; queued < n && p->count < p->cap; queued++) {
        atomic_fetch_add(&j->run->participants, 1);
        p->head = (p->head + p->cap - 1) % p->cap;
        p->ring[p->head] = (queue_item){j, 1};
        p->count++;
    }
    if (queued > 0)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return (int)queued;
}

void workers_complete(serve_job *j) {
    completion_box *b = j->box;
    pthread_mutex_lock(&b->mu);
    int was_empty = b->done == NULL;
    j->next = b->done;
    b->done = j;
    pthread_mutex_unlock(&b->mu);
    /* One wake-up per batch of completions: while the list is not empty,
     * the event loop has a wake-up coming and takes the whole list. */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(b->event_fd, &one, sizeof one);
        (void)n; /* the counter cannot overflow; a failed write leaves it readable anyway */
    }
}

void completion_box_init(completion_box *b, int event_fd) {
    pthread_mutex_init(&b->mu, NULL);
    b->done = NULL;
    b->event_fd = event_fd;
}

serve_job *completion_box_take(completion_box *b) {
    pthread_mutex_lock(&b->mu);
    serve_job *list = b->done;
    b->done = NULL;
    pthread_mutex_unlock(&b->mu);
    return list;
}

void completion_box_destroy(completion_box *b) {
    for (serve_job *j = completion_box_take(b), *next; j; j = next) {
        next = j->next;
        serve_job_free(j);
    }
    pthread_mutex_destroy(&b->mu);
}

static void *worker_main(void *arg) {
    worker_ctx *w = arg;
    worker_pool *p = w->pool;
    for (queue_item it = queue_pop(p); it.job != NULL; it = queue_pop(p)) {
        if (it.helper) {
            run_work(p, it.job);
            run_leave(it.job);
        } else {
            run_job(w, it.job);
        }
    }
    return NULL;
}

int workers_submit(worker_pool *p, serve_job *j) {
    pthread_mutex_lock(&p->mu);
    int ok = p->count < p->cap;
    if (ok) {
        p->ring[(p->head + p->count) % p->cap] = (queue_item){j, 0};
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

void workers_stop_searches(worker_pool *p) {
    atomic_store(&p->stop_searches, 1);
}

int workers_start(worker_pool *p, index_slot *slot, const serve_config *cfg, unsigned threads,
                  serve_writes *writes) {
    memset(p, 0, sizeof *p);
    p->slot = slot;
    p->cfg = cfg;
    p->writes = writes;
    atomic_init(&p->stop_searches, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = cfg->queue_depth;
    p->ring = calloc(p->cap, sizeof *p->ring);
    p->threads = calloc(threads, sizeof *p->threads);
    worker_ctx *ctx = calloc(threads, sizeof *ctx);
    p->scratch = ctx;
    if (!p->ring || !p->threads || !ctx) {
        serve_log("out of memory starting %u workers", threads);
        return -1;
    }
    for (unsigned i = 0; i < threads; i++) {
        ctx[i].pool = p;
        int rc = pthread_create(&p->threads[i], NULL, worker_main, &ctx[i]);
        if (rc != 0) {
            serve_log("cannot start worker thread: %s", strerror(rc));
            return -1;
        }
        p->nthreads++;
    }
    return 0;
}

void workers_stop(worker_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->ring);
    free(p->threads);
    free(p->scratch);
}
