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

serve_job *serve_job_new(void *conn, int batch, char *input, const char *body, size_t len) {
    serve_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->conn = conn;
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
    uint64_t labels[VW_MAX_K];
    float distances[VW_MAX_K];
} worker_ctx;

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
                 "the searches ran longer than %u ms (--timeout-ms) and were stopped after %zu of "
                 "%zu queries; send fewer queries or a smaller ef_search",
                 p->cfg->timeout_ms, done, total);
        return 1;
    }
    return 0;
}

/* One query under the SIGBUS guard; *faulted says the mapped file vanished
 * under it (the answer is then garbage and must not be sent). */
static vw_status search_one(const served_index *x, worker_ctx *w, float *q, const api_search *req,
                            int normalize, uint32_t *found, int *faulted) {
    vw_status st = normalize ? vw_normalize(q, x->info.dim) : VW_OK;
    *faulted = 0;
    if (st != VW_OK)
        return st;
    fault_guard_enter();
    st = vw_index_search(x->index, q, req->k, req->ef, NULL, NULL, w->labels, w->distances, found);
    *faulted = fault_guard_leave() > 0;
    return st == VW_ERR_EMPTY_INDEX ? VW_OK : st; /* nothing to find: an empty answer */
}

/* Searches every query of a parsed request into j->resp; returns how many
 * were searched. */
static size_t run_searches(worker_ctx *w, serve_job *j, served_index *x, api_search *req) {
    worker_pool *p = w->pool;
    int normalize = p->cfg->normalize && x->info.metric != VW_METRIC_COSINE;
    int64_t deadline = now_ms() + p->cfg->timeout_ms;
    size_t i = 0;
    char msg[200];
    for (; i < req->nq; i++) {
        if (i > 0 && interrupted(p, deadline, i, req->nq, msg, sizeof msg)) {
            job_fail(j, 503, msg, API_RETRY_LATER);
            break;
        }
        uint32_t found = 0;
        int faulted;
        vw_status st =
            search_one(x, w, req->queries + i * x->info.dim, req, normalize, &found, &faulted);
        if (faulted) {
            slot_mark_damaged(p->slot, x, "the mapped index file shrank under a search");
            job_fail(j, 503, API_INDEX_CHANGED, API_RETRY_LATER);
            break;
        }
        if (st != VW_OK) {
            api_error e;
            api_search_failure(st, vw_last_error_detail(), j->batch ? (long)i : -1, &e);
            job_fail_at(j, &e, NULL);
            break;
        }
        tool_json_result(&j->resp, w->labels, w->distances, found);
    }
    return i;
}

static void run_job(worker_ctx *w, serve_job *j) {
    worker_pool *p = w->pool;
    served_index *x = slot_acquire(p->slot);
    api_search req;
    api_error err;
    if (atomic_load(&x->damaged)) {
        job_fail(j, 503, API_INDEX_CHANGED, API_RETRY_LATER);
    } else if (api_parse_search(j->body, j->body_len, j->batch, x->info.dim, p->cfg->ef,
                                p->cfg->max_work, &req, &err) != 0) {
        job_fail_at(j, &err, NULL);
    } else {
        j->status = 200;
        api_begin_results(&j->resp, j->batch);
        j->queries = run_searches(w, j, x, &req);
        if (j->status == 200)
            api_end_results(&j->resp, j->batch);
        if (j->status == 200 && !json_writer_ok(&j->resp))
            job_fail(j, 500,
                     j->resp.nonfinite ? "a distance is not a finite number: the index holds a "
                                         "non-finite vector"
                                       : "out of memory",
                     NULL);
        api_search_free(&req);
    }
    slot_release(x);
}

/* ------------------------------------------------------------------ the queue */

/* Blocks until a job arrives; NULL once stopped and drained. */
static serve_job *queue_pop(worker_pool *p) {
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    serve_job *j = NULL;
    if (p->count > 0) {
        j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    pthread_mutex_unlock(&p->mu);
    return j;
}

void workers_complete(worker_pool *p, serve_job *j) {
    pthread_mutex_lock(&p->done_mu);
    int was_empty = p->done == NULL;
    j->next = p->done;
    p->done = j;
    pthread_mutex_unlock(&p->done_mu);
    /* One wake-up per batch of completions: while the list is not empty,
     * the event loop has a wake-up coming and takes the whole list. */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(p->event_fd, &one, sizeof one);
        (void)n; /* the counter cannot overflow; a failed write leaves it readable anyway */
    }
}

static void *worker_main(void *arg) {
    worker_ctx *w = arg;
    worker_pool *p = w->pool;
    serve_job *j;
    while ((j = queue_pop(p)) != NULL) {
        run_job(w, j);
        workers_complete(p, j);
    }
    return NULL;
}

int workers_submit(worker_pool *p, serve_job *j) {
    pthread_mutex_lock(&p->mu);
    int ok = p->count < p->cap;
    if (ok) {
        p->ring[(p->head + p->count) % p->cap] = j;
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

serve_job *workers_take_done(worker_pool *p) {
    pthread_mutex_lock(&p->done_mu);
    serve_job *list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->done_mu);
    return list;
}

void workers_stop_searches(worker_pool *p) {
    atomic_store(&p->stop_searches, 1);
}

int workers_start(worker_pool *p, index_slot *slot, const serve_config *cfg, int event_fd) {
    memset(p, 0, sizeof *p);
    p->slot = slot;
    p->cfg = cfg;
    p->event_fd = event_fd;
    atomic_init(&p->stop_searches, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
    p->cap = cfg->queue_depth;
    p->ring = calloc(p->cap, sizeof *p->ring);
    p->threads = calloc(cfg->threads, sizeof *p->threads);
    worker_ctx *ctx = calloc(cfg->threads, sizeof *ctx);
    p->scratch = ctx;
    if (!p->ring || !p->threads || !ctx) {
        serve_log("out of memory starting %u workers", cfg->threads);
        return -1;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
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
    for (serve_job *j = workers_take_done(p), *next; j; j = next) {
        next = j->next;
        serve_job_free(j);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->done_mu);
    free(p->ring);
    free(p->threads);
    free(p->scratch);
}
