/*
 * respond.c - how an event loop queues an answer on a connection (conn.h):
 * the head in front of the body, counted in the metrics and the access log.
 */
#include "access_log.h"
#include "api.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

/* Counts an answered request (metrics, access log) and logs an error one. */
static void account(server *s, conn *c, int status, size_t body_len, const char *log_msg) {
    uint64_t latency = (uint64_t)(now_ns() - c->started_ns);
    metrics_request(s->metrics, c->route, status, latency);
    access_log_record(c->peer, c->what, status, c->head_only ? 0 : body_len, latency, c->key_name,
                      c->forwarded);
    strcpy(c->key_name, "-"); /* the next request's own, once dispatched */
    strcpy(c->forwarded, "-");
    count(s->requests, 1);
    if (status >= 400) {
        count(s->errors, 1);
        serve_log("%s \"%s\" %d: %s", c->peer, c->what, status, log_msg ? log_msg : "");
    }
}

/* Queues a complete response: its head is written into the room the
 * writer keeps in front of the body, and when nothing else waits to be
 * sent the connection takes the writer's buffer as its output, so an answer
 * (up to tens of megabytes for a large batch) is never copied. Otherwise,
 * or for a HEAD request, head and body are appended. `log_msg` is logged
 * for error statuses. */
void respond_typed(server *s, conn *c, int status, json_writer *w, const char *content_type,
                   const char *extra_headers, const char *log_msg) {
    int keep = c->keep_alive && !c->close_after_write && !s->stopping;
    size_t body_len;
    const char *body = json_writer_text(w, &body_len);
    char head[SERVE_HEAD_ROOM];
    size_t head_len = body ? http_format_head_typed(head, sizeof head, status, content_type,
                                                    body_len, keep, extra_headers)
                           : 0;
    if (head_len > 0 && !c->head_only && c->out_off == c->out_len) {
        free(c->out);
        c->out = w->data;
        c->out_cap = w->cap;
        c->out_off = w->start - head_len;
        c->out_len = w->len;
        memcpy(c->out + c->out_off, head, head_len);
        w->data = NULL; /* the connection owns it now */
    } else if (head_len == 0 || out_append(c, head, head_len) != 0 ||
               (!c->head_only && out_append(c, body, body_len) != 0)) {
        serve_log("%s \"%s\": out of memory while answering; connection closed", c->peer, c->what);
        conn_close(s, c);
        return;
    }
    if (!keep)
        c->close_after_write = 1;
    account(s, c, status, body_len, log_msg);
}

void respond(server *s, conn *c, int status, json_writer *w, const char *extra_headers,
             const char *log_msg) {
    respond_typed(s, c, status, w, NULL, extra_headers, log_msg);
}

void respond_error(server *s, conn *c, int status, const char *message, const char *extra_headers) {
    json_writer w;
    json_writer_init(&w, 0, SERVE_HEAD_ROOM);
    api_write_error(&w, status, message);
    respond(s, c, status, &w, extra_headers, message);
    json_writer_free(&w);
}

void respond_error_at(server *s, conn *c, const api_error *e) {
    json_writer w;
    json_writer_init(&w, 0, SERVE_HEAD_ROOM);
    api_write_error_at(&w, e);
    respond(s, c, e->status, &w, NULL, e->message);
    json_writer_free(&w);
}

/* The request's body for a job: when the request is all the connection has
 * buffered (no pipelined request behind it, the usual case), the input
 * buffer itself goes to the job and the connection starts a new one;
 * otherwise the body is copied. 0 when the input is consumed. */
serve_job *take_body(server *s, conn *c, int batch, const http_request *req) {
    size_t total = req->head_len + (size_t)req->content_length;
    if (c->in_len == total) {
        serve_job *j =
            serve_job_new(c, &s->box, batch, c->in, c->in + req->head_len, req->content_length);
        if (j) {
            c->in = NULL;
            c->in_len = c->in_cap = 0;
        }
        return j;
    }
    char *copy = malloc(req->content_length + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, c->in + req->head_len, req->content_length);
    serve_job *j = serve_job_new(c, &s->box, batch, copy, copy, req->content_length);
    if (j == NULL)
        free(copy);
    return j;
}

void respond_job(server *s, conn *c, serve_job *j) {
    count(&s->metrics->queries, j->queries);
    if (j->status == 200 && (c->route == API_SEARCH || c->route == API_SEARCH_BATCH))
        count(&s->metrics->searches, 1);
    respond(s, c, j->status, &j->resp, j->extra_headers, j->error);
}
