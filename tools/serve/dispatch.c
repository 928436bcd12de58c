/*
 * dispatch.c - vw-serve's HTTP application policy: which route answers a
 * parsed request and how. GET /, /stats, /metrics and /openapi.json are
 * answered on the event loop (they never search); searches and the write
 * API go to the worker pools; POST /admin/reload to the slot's reload
 * thread. The transport (reading, framing, writing, timers) is server.c's.
 */
#include "dispatch.h"

#include "access_log.h"
#include "api.h"
#include "auth.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "slot.h"
#include "worker.h"
#include "writes.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest search the event loop runs itself (queries x max(k, ef)):
 * one query at ef_search 256, under a millisecond on a million vectors. */
#define INLINE_BUDGET 256u

/* The figures of GET /stats the server keeps; path and error are the
 * caller's buffers. */
static api_server_stats server_figures(server *s, int index_changed, const char *path,
                                       const char *error) {
    return (api_server_stats){.ef_search = s->cfg->ef,
                              .normalize_queries = s->cfg->normalize,
                              .threads = s->pool->nthreads,
                              .uptime_s = (double)(now_ms() - s->started_ms) / 1000.0,
                              .requests = load(s->requests),
                              .errors = load(s->errors),
                              .queries = load(&s->metrics->queries),
                              .timeouts = load(&s->metrics->timeouts),
                              .rejected = load(&s->metrics->connections_rejected) +
                                          load(&s->metrics->queue_rejected),
                              .in_flight = atomic_load(&s->sh->jobs_out),
                              .connections = atomic_load(&s->sh->nconns),
                              .connections_accepted = load(&s->metrics->connections_accepted),
                              .max_work = s->cfg->max_work,
                              .log_dropped = serve_log_dropped(),
                              .index_faults = fault_guard_total(),
                              .index_reloads = atomic_load(&s->slot->reloads),
                              .index_reload_failures = atomic_load(&s->slot->reload_failures),
                              .access_log_dropped = access_log_dropped(),
                              .index_path = path,
                              .last_reload_error = error,
                              .index_changed = index_changed};
}

static void answer_metrics(server *s, conn *c, const served_index *x) {
    metrics_gauges g = {.in_flight = atomic_load(&s->sh->jobs_out),
                        .connections = atomic_load(&s->sh->nconns),
                        .log_dropped = serve_log_dropped(),
                        .access_log_dropped = access_log_dropped(),
                        .index_reloads = atomic_load(&s->slot->reloads),
                        .index_reload_failures = atomic_load(&s->slot->reload_failures),
                        .index_faults = fault_guard_total(),
                        .index_changed = atomic_load(&x->damaged),
                        .index = &x->info,
                        .index_file_bytes = x->file_bytes,
                        .threads = s->pool->nthreads};
    json_writer w;
    json_writer_init(&w, 0, SERVE_HEAD_ROOM);
    metrics_write(&w, s->metrics, &g);
    if (json_writer_text(&w, &(size_t){0}) == NULL)
        respond_error(s, c, 500, "out of memory", NULL);
    else
        respond_typed(s, c, 200, &w, METRICS_CONTENT_TYPE, NULL, NULL);
    json_writer_free(&w);
}

/* GET /, /stats, /metrics and /openapi.json, answered on the event loop:
 * they never search. */
static void answer_get(server *s, conn *c, api_route route) {
    served_index *x = slot_acquire(s->slot);
    if (route == API_METRICS) {
        answer_metrics(s, c, x);
        slot_release(x);
        return;
    }
    vw_stats info = served_index_stats(x);
    uint64_t file_bytes = x->file_bytes;
    int changed = atomic_load(&x->damaged);
    slot_release(x);
    json_writer w;
    json_writer_init(&w, 0, SERVE_HEAD_ROOM);
    int status = 200;
    if (route == API_HEALTH) {
        status = api_write_health(&w, &info, changed);
    } else if (route == API_OPENAPI) {
        openapi_access a = {s->cfg->admin, s->cfg->api_keys != NULL, s->cfg->auth_all};
        openapi_write(&w, &info, &a);
    } else {
        char path[4096], error[512];
        slot_describe(s->slot, path, sizeof path, error, sizeof error);
        api_server_stats figures = server_figures(s, changed, path, error);
        api_write_figures ws;
        int writes = writes_stats(s->writes, &ws) == 0;
        api_write_stats(&w, &info, file_bytes, &figures, writes ? &ws : NULL);
    }
    if (!json_writer_ok(&w))
        respond_error(s, c, 500, "out of memory", NULL);
    else
        respond(s, c, status, &w, status == 503 ? API_RETRY_LATER : NULL,
                status == 503 ? API_INDEX_CHANGED : NULL);
    json_writer_free(&w);
}

/* A single small search is answered on the event loop, from the body
 * where it lies: a hand-off would cost two thread wake-ups, more than such
 * a search. 1 when it was not (a larger search: for the workers). */
static int search_inline(server *s, conn *c, const http_request *req) {
    serve_job *j = serve_job_new(c, &s->box, 0, NULL, c->in + req->head_len, req->content_length);
    if (j == NULL)
        return 1;
    j->route = API_SEARCH;
    j->method = req->method;
    int rc = workers_run_inline(s->pool, j, INLINE_BUDGET);
    if (rc == 0)
        respond_job(s, c, j);
    serve_job_free(j);
    return rc;
}

/* Hands a request to the workers: searches to the search pool, the write
 * API to the write pool (if the server takes writes). */
static void submit_job(server *s, conn *c, const http_request *req, api_route route, uint64_t id) {
    int batch = route == API_SEARCH_BATCH;
    if (route == API_SEARCH && search_inline(s, c, req) == 0)
        return;
    serve_job *j = take_body(s, c, batch, req);
    if (j == NULL) {
        respond_error(s, c, 503, "out of memory", API_RETRY_LATER);
        return;
    }
    j->route = route;
    j->method = req->method;
    j->id = id;
    int search = route == API_SEARCH || route == API_SEARCH_BATCH;
    /* The write API never runs on the loop: a write waits for its log sync. */
    worker_pool *pool = s->writes && !search ? s->write_pool : s->pool;
    if (workers_submit(pool, j) != 0) {
        serve_job_free(j);
        count(&s->metrics->queue_rejected, 1);
        respond_error(s, c, 503, "server overloaded: the request queue is full", API_RETRY_LATER);
        return;
    }
    c->in_flight = 1;
    s->jobs_out++;
    atomic_fetch_add(&s->sh->jobs_out, 1);
}

/* ?start=ID of a bulk load's target: 1 with *start set, 0 without it,
 * -1 for another parameter or a bad value. */
static int bulk_start(const http_request *req, uint64_t *start) {
    const char *q = req->path + req->path_len;
    if (*q != '?')
        return 0;
    size_t n = strcspn(q + 1, " ");
    if (n < 6 || memcmp(q + 1, "start=", 6) != 0)
        return -1;
    return api_parse_u64(q + 7, n - 6, start) == 0 ? 1 : -1;
}

/* POST /vectors with an NDJSON or npy body: the worker streams the body
 * from the socket (bulk.h); what the event loop already read of it goes
 * with the job. */
static void submit_bulk(server *s, conn *c, const http_request *req) {
    uint64_t start = 0;
    int has_start = bulk_start(req, &start);
    if (has_start < 0) {
        api_error e = {.status = 422, .type = "int_parsing", .loc_index = {-1, -1}};
        snprintf(e.loc_key, sizeof e.loc_key, "start");
        snprintf(e.message, sizeof e.message,
                 "the only query parameter is start, an integer in 0..18446744073709551615");
        respond_error_at(s, c, &e);
        return;
    }
    size_t have = c->in_len - req->head_len;
    if (have > req->content_length)
        have = (size_t)req->content_length;
    char *prefix = malloc(have + 1);
    serve_job *j = prefix ? serve_job_new(c, &s->box, 0, prefix, prefix, have) : NULL;
    if (j == NULL) {
        free(prefix);
        respond_error(s, c, 503, "out of memory", API_RETRY_LATER);
        return;
    }
    memcpy(prefix, c->in + req->head_len, have);
    j->route = API_VECTORS;
    j->method = req->method;
    j->bulk = (bulk_source){.format = c->bulk,
                            .fd = c->fd,
                            .prefix = prefix,
                            .prefix_len = have,
                            .left = req->content_length - have,
                            .timeout_ms = s->cfg->timeout_ms,
                            .has_start = has_start,
                            .start = start};
    if (!s->writes || workers_submit(s->write_pool, j) != 0) {
        j->bulk.format = BULK_NONE;
        serve_job_free(j);
        if (!s->writes) {
            respond_error(s, c, 403, API_READ_ONLY, NULL);
            return;
        }
        count(&s->metrics->queue_rejected, 1);
        respond_error(s, c, 503, "server overloaded: the request queue is full", API_RETRY_LATER);
        return;
    }
    c->streaming = 1;
    c->in_flight = 1;
    s->jobs_out++;
    atomic_fetch_add(&s->sh->jobs_out, 1);
}

bulk_format dispatch_bulk_format(const http_request *req) {
    if (req->method != HTTP_POST || req->path_len != 8 || memcmp(req->path, "/vectors", 8) != 0)
        return BULK_NONE;
    return bulk_format_of(req->content_type.p, req->content_type.len);
}

/* Runs on the reload thread when a reload asked for by POST /admin/reload
 * is done: the answer goes back to the event loop like a search's. */
void reload_done(void *arg, void *token, int ok, const char *path, const vw_stats *info,
                 const char *error) {
    (void)arg;
    serve_job *j = token;
    if (j == NULL)
        return; /* a SIGHUP: the slot logged the outcome */
    json_writer_reset(&j->resp);
    if (ok) {
        j->status = 200;
        api_write_reloaded(&j->resp, path, info);
    } else {
        api_error e = {.status = 422, .type = "value_error", .loc_index = {-1, -1}};
        snprintf(e.loc_key, sizeof e.loc_key, "path");
        snprintf(e.message, sizeof e.message,
                 "the index did not load; the previous one goes on "
                 "serving: %s",
                 error);
        j->status = 422;
        snprintf(j->error, sizeof j->error, "%s", e.message);
        api_write_error_at(&j->resp, &e);
    }
    workers_complete(j);
}

/* POST /admin/reload: only with --admin, only from loopback (or with an
 * admin key, when the server has keys); the load runs
 * on the slot's reload thread and the answer comes back when it is done. */
static void submit_reload(server *s, conn *c, const http_request *req) {
    if (!s->cfg->admin) {
        c->route = API_UNROUTED; /* a route that does not exist here */
        respond_error(s, c, 404, API_NOT_FOUND, NULL);
        return;
    }
    if (!c->loopback && s->cfg->api_keys == NULL) { /* with keys, an admin key was asked for */
        respond_error(s, c, 403, "the admin API answers loopback clients only", NULL);
        return;
    }
    if (s->writes) {
        respond_error(s, c, 409, API_RELOAD_DATA, NULL);
        return;
    }
    char path[4096];
    api_error err;
    if (api_parse_reload(c->in + req->head_len, req->content_length, path, sizeof path, &err) !=
        0) {
        respond_error_at(s, c, &err);
        return;
    }
    serve_job *j = serve_job_new(c, &s->box, 0, NULL, NULL, 0);
    if (j == NULL || slot_request_reload(s->slot, path[0] ? path : NULL, j) != 0) {
        if (j)
            serve_job_free(j);
        respond_error(s, c, 503, "out of memory", API_RETRY_LATER);
        return;
    }
    serve_log("%s: reload of %s asked for", c->peer, path[0] ? path : "the index file");
    c->in_flight = 1;
    s->jobs_out++;
    atomic_fetch_add(&s->sh->jobs_out, 1);
}

/* The scope a route needs: GET / and /metrics are open (to health checks
 * and scrapers) unless --auth-all. */
static auth_scope scope_needed(const server *s, api_route route, http_method method) {
    switch (route) {
    case API_HEALTH:
    case API_METRICS:
        return s->cfg->auth_all ? AUTH_READ : AUTH_NONE;
    case API_VECTOR:
        return method == HTTP_DELETE ? AUTH_WRITE : AUTH_READ;
    case API_VECTORS:
    case API_SNAPSHOT:
        return AUTH_WRITE;
    case API_ADMIN_RELOAD:
        return AUTH_ADMIN;
    default:
        return AUTH_READ;
    }
}

/* With --api-keys: the request's key (Authorization: Bearer, else
 * X-API-Key) must be one of the file's with the route's scope. 1 when it
 * may go on; 0 after answering 401 (no key, or an unknown one; FastAPI's
 * HTTPBearer body) or 403 (a key without the scope). */
static int authorized(server *s, conn *c, const http_request *req, api_route route) {
    auth_scope need = scope_needed(s, route, req->method);
    if (s->cfg->api_keys == NULL || need == AUTH_NONE)
        return 1;
    http_span key = req->bearer.p ? req->bearer : req->api_key;
    const char *name = NULL;
    char name_copy[sizeof c->key_name];
    pthread_rwlock_rdlock(&s->sh->keys_lock); /* loop 0 swaps the keys on SIGHUP */
    auth_scope has = key.p ? auth_lookup(s->sh->keys, key.p, key.len, &name) : AUTH_NONE;
    snprintf(name_copy, sizeof name_copy, "%s", name ? name : "");
    pthread_rwlock_unlock(&s->sh->keys_lock);
    name = name_copy;
    if (has == AUTH_NONE) {
        respond_error(s, c, 401, key.p ? API_KEY_INVALID : API_NOT_AUTHENTICATED,
                      key.p ? "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
                            : "WWW-Authenticate: Bearer\r\n");
        return 0;
    }
    snprintf(c->key_name, sizeof c->key_name, "%s", name);
    if (has < need) {
        char msg[160];
        snprintf(msg, sizeof msg, "the API key '%s' has the %s scope; %s needs %s", name,
                 auth_scope_name(has), api_route_path(route), auth_scope_name(need));
        respond_error(s, c, 403, msg, NULL);
        return 0;
    }
    return 1;
}

/* Keeps the request's X-Forwarded-For for the access log, without spaces
 * (the log's fields are separated by one). */
static void note_forwarded_for(conn *c, const http_request *req) {
    size_t n = 0;
    for (size_t i = 0; i < req->forwarded_for.len && n + 1 < sizeof c->forwarded; i++)
        if (req->forwarded_for.p[i] != ' ' && req->forwarded_for.p[i] != '\t')
            c->forwarded[n++] = req->forwarded_for.p[i];
    c->forwarded[n] = '\0';
    if (n == 0)
        strcpy(c->forwarded, "-");
}

/* Remembers "METHOD /target" of the request for the log. */
void note_request_line(conn *c, const http_request *req) {
    const char *line = c->in;
    while (line[0] == '\r')
        line += 2; /* empty lines the parser skipped */
    size_t n = (size_t)(req->path + req->path_len - line);
    if (n >= sizeof c->what)
        n = sizeof c->what - 1;
    memcpy(c->what, line, n);
    c->what[n] = '\0';
}

void dispatch(server *s, conn *c, const http_request *req) {
    c->keep_alive = req->keep_alive;
    c->head_only = req->method == HTTP_HEAD;
    c->started_ns = now_ns();
    note_request_line(c, req);
    api_route route = API_UNROUTED;
    const char *allow = NULL;
    uint64_t id = 0;
    api_error err;
    int st = api_route_request(req->method, req->path, req->path_len, &route, &allow);
    c->route = st == 404 ? API_UNROUTED : route;
    note_forwarded_for(c, req);
    if (st == 0 && !authorized(s, c, req, route)) {
        return; /* answered 401 or 403 */
    } else if (st == 404) {
        respond_error(s, c, 404, API_NOT_FOUND, NULL);
    } else if (st == 405) {
        char extra[64];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        respond_error(s, c, 405, "method not allowed", extra);
    } else if (route == API_ADMIN_RELOAD) {
        submit_reload(s, c, req);
    } else if (route == API_VECTOR &&
               api_parse_vector_id(req->path, req->path_len, &id, &err) != 0) {
        respond_error_at(s, c, &err);
    } else if (route == API_VECTORS && c->bulk != BULK_NONE) {
        submit_bulk(s, c, req);
    } else if (route == API_VECTOR || api_route_is_post(route)) {
        submit_job(s, c, req, route, id);
    } else {
        answer_get(s, c, route);
    }
}

int dispatch_load_keys(server *s) {
    if (s->cfg->api_keys == NULL)
        return 0;
    char err[600];
    auth_keys *k = auth_load(s->cfg->api_keys, err, sizeof err);
    if (k == NULL) {
        serve_log("%s%s", err, s->sh->keys ? "; the keys read before stay in force" : "");
        return -1;
    }
    pthread_rwlock_wrlock(&s->sh->keys_lock);
    auth_keys *old = s->sh->keys;
    s->sh->keys = k;
    pthread_rwlock_unlock(&s->sh->keys_lock);
    auth_free(old);
    serve_log("API keys: %zu from %s", auth_count(k), s->cfg->api_keys);
    return 0;
}
