/*
 * writes.c - the write side of vw-serve (see writes.h).
 *
 * Requests run on the server's write workers, never on the I/O thread: a
 * write blocks until its log record is synced (vw_store_upsert and
 * vw_store_remove commit concurrent writers together), and a GET waits
 * while a snapshot is being written. Searches have their own workers and
 * never wait for either.
 *
 * Snapshots run on a thread of their own so that neither a timer nor a
 * signal ever blocks the I/O thread; a POST /snapshot runs on the write
 * worker that took the request and answers when the snapshot is on disk.
 */
#include "writes.h"

#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct serve_writes {
    vw_store *store;
    unsigned interval_s;
    uint64_t log_bytes;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, requested; /* under mu */
    int64_t last_ms;     /* monotonic time of the last snapshot or of the start; under mu */
    unsigned failures;   /* under mu */
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes a snapshot and logs it; returns the vw_store_snapshot status. */
static vw_status snapshot(serve_writes *w, const char *why, double *seconds) {
    int64_t t0 = now_ms();
    vw_status st = vw_store_snapshot(w->store);
    double s = (double)(now_ms() - t0) / 1000.0;
    if (seconds)
        *seconds = s;
    pthread_mutex_lock(&w->mu);
    if (st == VW_OK)
        w->last_ms = now_ms();
    else
        w->failures++;
    pthread_mutex_unlock(&w->mu);
    if (st == VW_OK)
        serve_log("snapshot written in %.3f s (%s)", s, why);
    else
        serve_log("snapshot (%s) failed: %s: %s", why, vw_strerror(st), vw_last_error_detail());
    return st;
}

/* Why a snapshot is due now, or NULL. Called with mu held. */
static const char *due(serve_writes *w) {
    if (w->requested)
        return "SIGUSR1";
    vw_store_stats s;
    if (vw_store_get_stats(w->store, &s) != VW_OK || s.log_records == 0)
        return NULL;
    if (w->log_bytes && s.log_bytes >= w->log_bytes)
        return "log size";
    if (w->interval_s && now_ms() - w->last_ms >= (int64_t)w->interval_s * 1000)
        return "interval";
    return NULL;
}

static void *snapshot_main(void *arg) {
    serve_writes *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1; /* the log size and the timer are looked at every second */
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        const char *why = w->stop ? NULL : due(w);
        if (!why)
            continue;
        w->requested = 0;
        pthread_mutex_unlock(&w->mu);
        snapshot(w, why, NULL);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

serve_writes *writes_start(vw_store *store, unsigned interval_s, uint64_t log_bytes) {
    serve_writes *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    *w = (serve_writes){.store = store, .interval_s = interval_s, .log_bytes = log_bytes};
    w->last_ms = now_ms();
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, snapshot_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void writes_request_snapshot(serve_writes *w) {
    pthread_mutex_lock(&w->mu);
    w->requested = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void writes_stop(serve_writes *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    vw_store_stats s;
    if (vw_store_get_stats(w->store, &s) == VW_OK && s.log_records > 0 && !s.failed)
        snapshot(w, "shutdown", NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* ------------------------------------------------------------------ requests */

static int fail(json_buf *resp, char *error, size_t cap, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(json_buf *resp, char *error, size_t cap, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, cap, fmt, ap);
    va_end(ap);
    resp->len = 0;
    api_write_error(resp, error);
    return status;
}

/* A store failure as HTTP: the caller's fault is 422, no memory 503, the
 * rest (the log could not be written or synced) 500. */
static int store_error(vw_status st, json_buf *resp, char *error, size_t cap) {
    int status = 500;
    if (st == VW_ERR_NONFINITE || st == VW_ERR_ZERO_VECTOR || st == VW_ERR_DUPLICATE_LABEL ||
        st == VW_ERR_DIMENSION || st == VW_ERR_INVALID_ARG)
        status = 422;
    else if (st == VW_ERR_NOMEM)
        status = 503;
    const char *detail = vw_last_error_detail();
    return fail(resp, error, cap, status, "%s%s%s", vw_strerror(st), detail[0] ? ": " : "", detail);
}

static int read_only(json_buf *resp, char *error, size_t cap) {
    return fail(resp, error, cap, 403,
                "this server is read-only: start vw-serve with --data DIR to accept writes");
}

static int get_vector(const vw_index *index, uint64_t id, json_buf *resp, char *error, size_t cap) {
    vw_stats info;
    vw_index_stats(index, &info);
    float *v = malloc((size_t)info.dim * sizeof *v);
    if (!v)
        return fail(resp, error, cap, 503, "out of memory");
    vw_status st = vw_index_get_vector(index, id, v);
    int status = 200;
    if (st == VW_OK)
        api_write_vector(resp, id, v, info.dim);
    else if (st == VW_ERR_NOT_FOUND)
        status = fail(resp, error, cap, 404, "id %llu not found", (unsigned long long)id);
    else
        status = store_error(st, resp, error, cap);
    free(v);
    return status;
}

static int upsert(serve_writes *w, const vw_index *index, const char *body, size_t len,
                  json_buf *resp, char *error, size_t cap) {
    vw_stats info;
    vw_index_stats(index, &info);
    api_upsert up;
    api_error err;
    if (api_parse_upsert(body, len, info.dim, &up, &err) != 0)
        return fail(resp, error, cap, err.status, "%s", err.message);
    vw_status st = vw_store_upsert(w->store, up.vectors, up.ids, up.n);
    int status = 200;
    if (st == VW_OK) {
        json_buf_puts(resp, "{\"upserted\":");
        json_buf_u64(resp, up.n);
        json_buf_puts(resp, "}");
    } else {
        status = store_error(st, resp, error, cap);
    }
    api_upsert_free(&up);
    return status;
}

static int delete_vector(serve_writes *w, uint64_t id, json_buf *resp, char *error, size_t cap) {
    vw_status st = vw_store_remove(w->store, id);
    if (st == VW_ERR_NOT_FOUND)
        return fail(resp, error, cap, 404, "id %llu not found", (unsigned long long)id);
    if (st != VW_OK)
        return store_error(st, resp, error, cap);
    json_buf_puts(resp, "{\"deleted\":");
    json_buf_u64(resp, id);
    json_buf_puts(resp, "}");
    return 200;
}

static int snapshot_now(serve_writes *w, json_buf *resp, char *error, size_t cap) {
    double seconds = 0;
    vw_status st = snapshot(w, "POST /snapshot", &seconds);
    if (st != VW_OK)
        return store_error(st, resp, error, cap);
    json_buf_puts(resp, "{\"snapshot\":\"written\",\"seconds\":");
    json_buf_float(resp, seconds);
    json_buf_puts(resp, "}");
    return 200;
}

int writes_handle(serve_writes *w, const vw_index *index, api_route route, http_method method,
                  uint64_t id, const char *body, size_t body_len, json_buf *resp, char *error,
                  size_t error_cap) {
    error[0] = '\0';
    if (route == API_VECTOR && method != HTTP_DELETE)
        return get_vector(index, id, resp, error, error_cap);
    if (!w)
        return read_only(resp, error, error_cap);
    if (route == API_VECTOR)
        return delete_vector(w, id, resp, error, error_cap);
    if (route == API_VECTORS)
        return upsert(w, index, body, body_len, resp, error, error_cap);
    return snapshot_now(w, resp, error, error_cap);
}

static void put_field(json_buf *b, const char *name, uint64_t v, int first) {
    json_buf_puts(b, first ? "\"" : ",\"");
    json_buf_puts(b, name);
    json_buf_puts(b, "\":");
    json_buf_u64(b, v);
}

void writes_stats_json(serve_writes *w, json_buf *b) {
    if (!w)
        return;
    vw_store_stats s;
    if (vw_store_get_stats(w->store, &s) != VW_OK)
        return;
    pthread_mutex_lock(&w->mu);
    double age = (double)(now_ms() - w->last_ms) / 1000.0;
    unsigned failures = w->failures;
    pthread_mutex_unlock(&w->mu);
    json_buf_puts(b, ",\"writes\":{");
    put_field(b, "log_bytes", s.log_bytes, 1);
    put_field(b, "log_records", s.log_records, 0);
    put_field(b, "writes", s.writes, 0);
    put_field(b, "log_syncs", s.commits, 0);
    put_field(b, "snapshots", s.snapshots, 0);
    put_field(b, "snapshot_failures", failures, 0);
    put_field(b, "replayed_records", s.replayed_records, 0);
    put_field(b, "dropped_bytes", s.dropped_bytes, 0);
    json_buf_puts(b, ",\"seconds_since_snapshot\":");
    json_buf_float(b, age);
    json_buf_puts(b, s.failed ? ",\"failed\":true}" : ",\"failed\":false}");
}
