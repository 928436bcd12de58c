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

static int fail(json_writer *resp, char *error, size_t cap, int status, const char *message) {
    snprintf(error, cap, "%s", message);
    json_writer_reset(resp);
    api_write_error(resp, status, error);
    return status;
}

static int store_failure(vw_status st, json_writer *resp, char *error, size_t cap) {
    char msg[300];
    int status = api_store_failure(st, vw_last_error_detail(), msg, sizeof msg);
    return fail(resp, error, cap, status, msg);
}

static int not_found(uint64_t id, json_writer *resp, char *error, size_t cap) {
    char msg[64];
    snprintf(msg, sizeof msg, "id %llu not found", (unsigned long long)id);
    return fail(resp, error, cap, 404, msg);
}

static int get_vector(const vw_index *index, uint64_t id, json_writer *resp, char *error,
                      size_t cap) {
    vw_stats info;
    vw_index_stats(index, &info);
    float *v = malloc((size_t)info.dim * sizeof *v);
    size_t acap = VW_MAX_ATTR_BYTES * 6 + 16, alen = 0;
    char *attrs = malloc(acap);
    if (!v || !attrs) {
        free(v);
        free(attrs);
        return fail(resp, error, cap, 503, "out of memory");
    }
    vw_status st = vw_index_get_vector(index, id, v);
    if (st == VW_OK)
        st = vw_index_get_attributes(index, id, attrs, acap, &alen);
    int status = 200;
    if (st == VW_OK)
        api_write_vector(resp, id, v, info.dim, attrs);
    else if (st == VW_ERR_NOT_FOUND)
        status = not_found(id, resp, error, cap);
    else
        status = store_failure(st, resp, error, cap);
    free(v);
    free(attrs);
    return status;
}

static int upsert(serve_writes *w, const vw_index *index, const char *body, size_t len,
                  json_writer *resp, char *error, size_t cap) {
    vw_stats info;
    vw_index_stats(index, &info);
    api_upsert up;
    api_error err;
    if (api_parse_upsert(body, len, info.dim, &up, &err) != 0) {
        snprintf(error, cap, "%s", err.message);
        json_writer_reset(resp);
        api_write_error_at(resp, &err);
        return err.status;
    }
    vw_status st =
        vw_store_upsert_with_attributes(w->store, up.vectors, up.ids, up.n, up.attrs, up.attr_lens);
    int status = 200;
    if (st == VW_OK)
        api_write_upserted(resp, up.n);
    else
        status = store_failure(st, resp, error, cap);
    api_upsert_free(&up);
    return status;
}

static int delete_vector(serve_writes *w, uint64_t id, json_writer *resp, char *error, size_t cap) {
    vw_status st = vw_store_remove(w->store, id);
    if (st == VW_ERR_NOT_FOUND)
        return not_found(id, resp, error, cap);
    if (st != VW_OK)
        return store_failure(st, resp, error, cap);
    api_write_deleted(resp, id);
    return 200;
}

static int snapshot_now(serve_writes *w, json_writer *resp, char *error, size_t cap) {
    double seconds = 0;
    vw_status st = snapshot(w, "POST /snapshot", &seconds);
    if (st != VW_OK)
        return store_failure(st, resp, error, cap);
    api_write_snapshot(resp, seconds);
    return 200;
}

int writes_handle(serve_writes *w, const vw_index *index, api_route route, http_method method,
                  uint64_t id, const char *body, size_t body_len, json_writer *resp, char *error,
                  size_t error_cap) {
    error[0] = '\0';
    if (route == API_VECTOR && method != HTTP_DELETE)
        return get_vector(index, id, resp, error, error_cap);
    if (!w)
        return fail(resp, error, error_cap, 403, API_READ_ONLY);
    if (route == API_VECTOR)
        return delete_vector(w, id, resp, error, error_cap);
    if (route == API_VECTORS)
        return upsert(w, index, body, body_len, resp, error, error_cap);
    return snapshot_now(w, resp, error, error_cap);
}

int writes_bulk(serve_writes *w, const vw_index *index, bulk_source *src, json_writer *resp,
                char *error, size_t error_cap) {
    error[0] = '\0';
    if (!w)
        return fail(resp, error, error_cap, 403, API_READ_ONLY);
    vw_stats info;
    vw_index_stats(index, &info);
    return bulk_load(w->store, info.dim, src, resp, error, error_cap);
}

int writes_stats(serve_writes *w, api_write_figures *out) {
    if (!w || vw_store_get_stats(w->store, &out->store) != VW_OK)
        return -1;
    pthread_mutex_lock(&w->mu);
    out->seconds_since_snapshot = (double)(now_ms() - w->last_ms) / 1000.0;
    out->snapshot_failures = w->failures;
    pthread_mutex_unlock(&w->mu);
    return 0;
}
