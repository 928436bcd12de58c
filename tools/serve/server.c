/*
 * server.c - the vw-serve event loops and the state of their connections.
 *
 * One event loop per search thread (--threads), each on its own thread
 * with its own epoll; loop 0 runs on the caller of serve_run. Loop 0
 * accepts every connection and gives them out in turn, so each loop owns
 * an even share of the connections for their whole life: it reads, parses
 * requests with http.c and passes each to dispatch.c (the application
 * policy), which answers the cheap ones (GET /, GET /stats, errors, whose
 * bodies api.c writes) and a single small search (at most INLINE_BUDGET of
 * work: one query at a usual ef) on the loop's own thread, without a
 * hand-off: a request costs the loop a recv, the search and a send, as
 * nginx's workers do. Batches, larger searches and the write API go to the
 * worker pools (worker.c) through a bounded queue, and come back to the
 * loop that owns the connection through its eventfd; so a loop never waits
 * for a long search, and a full queue is answered at once with 503 instead
 * of letting latency grow without bound. A request's body goes to its job,
 * and its answer to the socket, without being copied when the connection
 * has nothing else buffered.
 *
 * Connections are accepted by listener.c. They are edge-triggered in epoll
 * and follow one rule that makes pipelining trivially ordered: at most one
 * request per connection is being
 * answered at a time. The next request in the buffer is parsed only after
 * the previous response is queued for writing.
 *
 * Every connection has at most one deadline, all of the same length
 * (--timeout-ms), so the timer list is a FIFO sorted by construction:
 *   IDLE     waiting for the first byte of a request: closed silently;
 *   REQUEST  part of a request received, counted from the first byte (a
 *            slow client cannot extend it by trickling bytes): 408 + close;
 *   WRITE    a response the client stopped reading: closed. The deadline
 *            restarts whenever the client takes more bytes (send() takes
 *            more, or the socket's send queue shrank), so it measures a
 *            lack of progress, not the length of the answer: a client
 *            that reads a 17 MB answer steadily gets all of it.
 * A connection whose request is with a worker has no deadline.
 *
 * A closed connection is freed at the end of the loop iteration (so events
 * already fetched for it stay harmless), or when its in-flight job returns.
 *
 * Limits: a connection buffers at most one largest request (8 KiB head +
 * --max-body) of input and stops parsing while 256 KiB of answers wait to be
 * read. Beyond --max-connections a new connection is answered 503 and closed
 * at once, without taking a slot; so is one that arrives when the process
 * is out of file descriptors (a spare descriptor, kept open for this, is
 * closed for the moment it takes). One request may ask for at most
 * --max-work units of search work (queries x max(k, ef_search)), and its
 * searches stop between two queries once they have run --timeout-ms (503).
 *
 * SIGTERM/SIGINT (taken by loop 0, which tells the others) close the
 * listener and the idle connections and stop the searches in flight
 * between two queries (a batch cut short is answered 503; a single search
 * finishes); every request in flight is answered (with "Connection:
 * close"), then serve_run returns. After max(--timeout-ms, 1 s) the rest
 * are closed.
 *
 * The index lives in a slot (slot.h) that the workers borrow it from, so
 * that a mapped file changed in place can be loaded again while serving;
 * the searches run under the SIGBUS guard of fault.h. Log lines go through
 * log.h, which never blocks.
 *
 * With --data the index is a durable store's (writes.h): the write API's
 * requests go to a second pool of workers, which block until their log
 * record is synced, and SIGUSR1 asks for a snapshot.
 */
#include "server.h"

#include "access_log.h"
#include "api.h"
#include "conn.h"
#include "dispatch.h"
#include "http.h"
#include "json.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "slot.h"
#include "worker.h"
#include "writes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OUT_HIGH_WATER   (256u * 1024u) /* stop parsing while this much output waits */
#define IN_FIRST_ALLOC   16384u
#define KEEP_BUFFER_MAX  (64u * 1024u) /* larger idle buffers are released */
#define MAX_EVENTS       256
#define LINGER_MAX_BYTES ((uint64_t)1 << 30) /* dropped at most while lingering */

/* ------------------------------------------------------------------ timers */

static void timer_remove(server *s, conn *c) {
    if (c->timer == TIMER_NONE)
        return;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        s->thead = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        s->ttail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->timer = TIMER_NONE;
}

/* Bytes in a socket's send queue (not yet taken by the peer), or -1. */
static int send_queue(int fd) {
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

static void timer_start(server *s, conn *c, timer_kind kind) {
    timer_remove(s, c);
    if (kind == TIMER_NONE)
        return;
    c->timer = kind;
    c->deadline_ms = now_ms() + s->cfg->timeout_ms;
    if (kind == TIMER_WRITE)
        c->outq_mark = send_queue(c->fd);
    c->tprev = s->ttail;
    c->tnext = NULL;
    if (s->ttail)
        s->ttail->tnext = c;
    else
        s->thead = c;
    s->ttail = c;
}

/* Picks the deadline for the connection's state; an unchanged state keeps
 * its running deadline. */
void timer_update(server *s, conn *c) {
    if (c->closed)
        return;
    timer_kind kind = c->lingering              ? TIMER_LINGER
                      : c->in_flight            ? TIMER_NONE
                      : c->out_off < c->out_len ? TIMER_WRITE
                      : c->in_len > 0           ? TIMER_REQUEST
                                                : TIMER_IDLE;
    if (kind != c->timer)
        timer_start(s, c, kind);
}

/* ------------------------------------------------------------------ connections */

static void conn_free(conn *c) {
    free(c->in);
    free(c->out);
    free(c);
}

void conn_close(server *s, conn *c) {
    if (c->closed)
        return;
    c->closed = 1;
    if (c->streaming) {
        /* A worker reads this socket: the descriptor must not be reused
         * under it. Shut it (the worker's read fails at once) and close it
         * when the job comes back. */
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        shutdown(c->fd, SHUT_RDWR);
        c->held_fd = c->fd;
    } else {
        close(c->fd);
    }
    c->fd = -1;
    timer_remove(s, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    atomic_fetch_sub(&s->sh->nconns, 1);
    if (!c->in_flight) {
        c->grave_next = s->graveyard;
        s->graveyard = c;
    }
}

static void free_graveyard(server *s) {
    while (s->graveyard) {
        conn *c = s->graveyard;
        s->graveyard = c->grave_next;
        conn_free(c);
    }
}

/* Wakes a loop: its eventfd (jobs, new connections, the shutdown). */
static void poke(server *s) {
    uint64_t one = 1;
    ssize_t n = write(s->event_fd, &one, sizeof one);
    (void)n; /* a failed write leaves the counter readable anyway */
}

static void link_conn(server *s, conn *c) {
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
}

/* Watches a new connection on this loop; 0, or -1 when epoll refused it
 * (then it is closed). */
static int watch_conn(server *s, conn *c) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0) {
        link_conn(s, c);
        timer_update(s, c);
        return 0;
    }
    close(c->fd);
    free(c);
    atomic_fetch_sub(&s->sh->nconns, 1);
    return -1;
}

void serve_adopt(server *s, conn *c) {
    atomic_fetch_add(&s->sh->nconns, 1);
    server *to = &s->sh->loops[s->sh->next_loop++ % s->sh->nloops];
    if (to == s) {
        watch_conn(s, c);
        return;
    }
    pthread_mutex_lock(&to->inbox_mu);
    int was_empty = to->inbox == NULL;
    c->next = to->inbox;
    to->inbox = c;
    pthread_mutex_unlock(&to->inbox_mu);
    if (was_empty)
        poke(to);
}

/* Takes the connections loop 0 gave this loop. */
static void adopt_inbox(server *s) {
    pthread_mutex_lock(&s->inbox_mu);
    conn *list = s->inbox;
    s->inbox = NULL;
    pthread_mutex_unlock(&s->inbox_mu);
    for (conn *c = list, *next; c; c = next) {
        next = c->next;
        if (watch_conn(s, c) == 0 && s->stopping)
            conn_close(s, c);
    }
}

int out_append(conn *c, const char *data, size_t n) {
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_cap - c->out_len < n) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL)
            return -1;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

/* Bytes the client sent that nobody read yet (buffered or in the socket). */
static int unread_input(const conn *c) {
    int n = 0;
    return c->body_unread || c->in_len > 0 || (ioctl(c->fd, FIONREAD, &n) == 0 && n > 0);
}

/* After the last answer of a connection whose client may still be
 * sending (a body refused before it was read: 413, 401...): closing now
 * would make the kernel answer those bytes with a reset, which can destroy
 * the answer before the client reads it (Python's http.client and requests
 * write the whole body before reading). So, as nginx's lingering close
 * does, the write side is shut and what arrives is read and dropped until
 * the client closes, --timeout-ms passes or LINGER_MAX_BYTES were dropped. */
static void linger_or_close(server *s, conn *c) {
    if (!unread_input(c)) {
        conn_close(s, c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = 1;
    c->readable = 1;
    timer_start(s, c, TIMER_LINGER);
}

static void linger_drain(server *s, conn *c) {
    char sink[65536];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0 && (c->lingered += (uint64_t)n) <= LINGER_MAX_BYTES)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = 0;
            return;
        }
        conn_close(s, c); /* the client closed, failed, or sent too much */
        return;
    }
}

/* Sends what is queued. A full socket waits for EPOLLOUT; a finished
 * response on a closing connection closes it. */
static void conn_flush(server *s, conn *c) {
    while (!c->closed && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            if (c->timer == TIMER_WRITE)
                timer_start(s, c, TIMER_WRITE); /* progress: the deadline starts again */
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conn_close(s, c); /* peer gone: nothing more to say */
            return;
        }
    }
    if (c->closed)
        return;
    c->out_off = c->out_len = 0;
    if (c->out_cap > KEEP_BUFFER_MAX) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    if (c->close_after_write && !c->lingering)
        linger_or_close(s, c);
}

static void consume_input(conn *c, size_t n) {
    c->sent_continue = 0;
    if (c->in == NULL)
        return; /* the request's buffer went to its job (take_body) */
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    if (c->in_len == 0 && c->in_cap > KEEP_BUFFER_MAX) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

/* A request the server cannot frame or read: answer and close (after
 * lingering: the client may still be sending). */
static void refuse_request(server *s, conn *c, int status, const char *reason) {
    snprintf(c->what, sizeof c->what, "-");
    c->keep_alive = 0;
    c->head_only = 0;
    c->route = API_UNROUTED;
    c->started_ns = now_ns();
    c->body_unread = 1;
    respond_error(s, c, status, reason, NULL);
}

/* The 413 of a body over its limit, before the body is read; the detail
 * names the flag that raises it. */
static void refuse_too_large(server *s, conn *c, const http_request *req) {
    char msg[256];
    if (c->bulk != BULK_NONE)
        snprintf(msg, sizeof msg,
                 "request body of %llu bytes is larger than --max-write-body (%llu bytes)",
                 (unsigned long long)req->content_length,
                 (unsigned long long)s->cfg->max_write_body);
    else
        snprintf(msg, sizeof msg,
                 "request body of %llu bytes is larger than --max-body (%llu bytes); load "
                 "vectors in bulk as application/x-ndjson or application/x-npy (up to "
                 "--max-write-body)",
                 (unsigned long long)req->content_length, (unsigned long long)s->cfg->max_body);
    c->keep_alive = 0;
    c->head_only = 0;
    c->started_ns = now_ns();
    note_request_line(c, req);
    c->route = API_VECTORS;
    if (c->bulk == BULK_NONE)
        api_route_request(req->method, req->path, req->path_len, &c->route, &(const char *){NULL});
    c->body_unread = 1;
    respond_error(s, c, 413, msg, NULL);
}

/* Sends "100 Continue" once for a request whose body is awaited. */
static int send_continue(server *s, conn *c, const http_request *req) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!req->expect_continue || c->sent_continue)
        return 0;
    if (out_append(c, cont, sizeof cont - 1) != 0) {
        conn_close(s, c);
        return -1;
    }
    c->sent_continue = 1;
    return 0;
}

/* A bulk load is dispatched as soon as its head is in: its worker reads
 * the body from the socket. A request answered here instead (401, 403,
 * 503...) leaves the rest of its body unread, so the connection closes. */
static void dispatch_bulk(server *s, conn *c, const http_request *req, size_t total) {
    size_t have = c->in_len < total ? c->in_len : total;
    if (have < total && send_continue(s, c, req) != 0)
        return;
    dispatch(s, c, req);
    if (c->closed)
        return;
    consume_input(c, have);
    if (have < total && !c->in_flight) {
        c->body_unread = 1;
        c->close_after_write = 1;
    }
}

/* Answers complete requests from the input buffer, one at a time, in order. */
static void process_input(server *s, conn *c) {
    while (!c->closed && !c->in_flight && !c->close_after_write && !s->stopping && c->in_len > 0 &&
           c->out_len - c->out_off < OUT_HIGH_WATER) {
        http_request req;
        int status = 0;
        const char *reason = NULL;
        http_parse_result r =
            http_parse_request(c->in, c->in_len, UINT64_MAX, &req, &status, &reason);
        if (r == HTTP_PARSE_INCOMPLETE)
            return;
        if (r == HTTP_PARSE_ERROR) {
            refuse_request(s, c, status, reason); /* the stream cannot be framed any more */
            return;
        }
        c->bulk = dispatch_bulk_format(&req);
        uint64_t limit = c->bulk != BULK_NONE ? s->cfg->max_write_body : s->cfg->max_body;
        if (req.content_length > limit) {
            refuse_too_large(s, c, &req);
            return;
        }
        size_t total = req.head_len + (size_t)req.content_length;
        if (c->bulk != BULK_NONE) {
            dispatch_bulk(s, c, &req, total);
        } else if (c->in_len < total) {
            send_continue(s, c, &req);
            return;
        } else {
            dispatch(s, c, &req);
            if (c->closed)
                return;
            consume_input(c, total);
        }
        timer_remove(s, c); /* the next request gets a fresh deadline */
    }
}

/* Reads until EAGAIN, EOF or a full buffer (one largest request). */
static void read_input(server *s, conn *c) {
    size_t limit = HTTP_MAX_HEAD + (size_t)s->cfg->max_body;
    while (!c->closed && c->readable && !c->streaming && c->in_len < limit) {
        if (c->in_cap == c->in_len) {
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST_ALLOC;
            if (cap > limit)
                cap = limit;
            char *p = realloc(c->in, cap);
            if (p == NULL) {
                serve_log("%s: out of memory for the request; connection closed", c->peer);
                conn_close(s, c);
                return;
            }
            c->in = p;
            c->in_cap = cap;
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            /* A short read emptied the socket: the next bytes raise a new
             * edge, so the recv that would only say EAGAIN is saved. */
            if ((size_t)n < room && !c->rdhup)
                c->readable = 0;
        } else if (n == 0) {
            c->peer_eof = 1;
            c->readable = 0;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->readable = 0;
        } else {
            conn_close(s, c); /* reset by peer */
        }
    }
}

/* Everything a connection can do now: read, answer, write. Goes round
 * while a round makes progress (bytes read, requests answered, output
 * sent): with edge-triggered epoll, requests already in our buffer would
 * otherwise wait for an event that never comes. Each round reads, consumes
 * or sends something, so the loop ends. */
static void conn_service(server *s, conn *c) {
    if (c->lingering) {
        linger_drain(s, c);
        return;
    }
    for (;;) {
        size_t in_before = c->in_len, out_before = c->out_len - c->out_off;
        read_input(s, c);
        size_t in_read = c->in_len;
        process_input(s, c);
        conn_flush(s, c);
        if (c->lingering) {
            linger_drain(s, c);
            return;
        }
        if (c->closed || c->in_flight)
            break;
        int progressed =
            in_read != in_before || c->in_len != in_read || c->out_len - c->out_off != out_before;
        if (!progressed)
            break;
    }
    if (c->closed)
        return;
    /* After a round without progress and with the output sent, what is
     * left in the buffer is at most a partial request. */
    if (c->peer_eof && !c->in_flight && c->out_off == c->out_len) {
        conn_close(s, c);
        return;
    }
    timer_update(s, c);
}

/* Sends the answers of the finished jobs in `done`. */
static void complete_jobs(server *s, serve_job *done) {
    for (serve_job *j = done, *next; j; j = next) {
        next = j->next;
        conn *c = j->conn;
        c->in_flight = 0;
        if (c->streaming) { /* the worker read what it could of the body */
            c->streaming = 0;
            c->readable = 1; /* bytes may wait with no edge to announce them */
            if (j->bulk.left > 0) {
                c->body_unread = 1;
                c->close_after_write = 1;
            }
        }
        s->jobs_out--;
        atomic_fetch_sub(&s->sh->jobs_out, 1);
        if (c->closed) {
            count(&s->metrics->queries, j->queries);
            if (c->held_fd > 0)
                close(c->held_fd);
            c->grave_next = s->graveyard;
            s->graveyard = c;
        } else {
            respond_job(s, c, j);
            if (!c->closed)
                conn_service(s, c);
        }
        serve_job_free(j);
    }
}

static void begin_shutdown(server *s, const char *why);
static void adopt_inbox(server *s);

/* The loop's eventfd: finished jobs, connections from loop 0, or the
 * shutdown that loop 0 began. */
static void handle_completions(server *s) {
    uint64_t v;
    ssize_t n = read(s->event_fd, &v, sizeof v);
    (void)n;
    adopt_inbox(s);
    complete_jobs(s, completion_box_take(&s->box));
    if (atomic_load(&s->sh->stop))
        begin_shutdown(s, s->id == 0 ? "an event loop failed" : NULL);
}

/* Whether a client whose answer waits took bytes since its deadline
 * started. The kernel's send queue drains as the client reads, but send()
 * only accepts more once a good part of the queue is free: a steady client
 * that reads slowly (or a busy machine) can leave send() without progress
 * for longer than the timeout while the queue keeps shrinking. */
static bool client_took_bytes(const conn *c) {
    int q = send_queue(c->fd);
    return q >= 0 && c->outq_mark >= 0 && q < c->outq_mark;
}

static void expire_timers(server *s) {
    int64_t now = now_ms();
    while (s->thead && s->thead->deadline_ms <= now) {
        conn *c = s->thead;
        timer_kind kind = c->timer;
        timer_remove(s, c);
        if (kind == TIMER_REQUEST) {
            count(&s->metrics->timeouts, 1);
            snprintf(c->what, sizeof c->what, "-");
            c->route = API_UNROUTED;
            c->started_ns = now_ns();
            c->keep_alive = 0;
            c->head_only = 0;
            respond_error(s, c, 408, "request not received in time", NULL);
            conn_flush(s, c);
        } else if (kind == TIMER_WRITE && client_took_bytes(c)) {
            timer_start(s, c, TIMER_WRITE); /* progress the kernel saw: wait again */
            continue;
        } else if (kind == TIMER_WRITE) {
            count(&s->metrics->timeouts, 1);
            serve_log("%s: client did not read its response in time; connection closed", c->peer);
        }
        conn_close(s, c); /* idle connections go silently */
    }
}

/* Loop 0 (why: the signal) closes the listener and tells the other loops,
 * which then come here with why NULL. */
static void begin_shutdown(server *s, const char *why) {
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stop_deadline_ms = now_ms() + (s->cfg->timeout_ms > 1000 ? s->cfg->timeout_ms : 1000);
    if (s->id == 0) {
        workers_stop_searches(s->pool);
        serve_log("%s: stopping; finishing %u request(s) in flight", why,
                  atomic_load(&s->sh->jobs_out));
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        close(s->listen_fd);
        s->listen_fd = -1;
        atomic_store(&s->sh->stop, 1);
        for (unsigned i = 1; i < s->sh->nloops; i++)
            poke(&s->sh->loops[i]);
    }
    for (conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->in_flight)
            continue; /* its response closes it */
        if (c->out_off < c->out_len)
            c->close_after_write = 1;
        else
            conn_close(s, c);
    }
}

static void handle_signal(server *s) {
    struct signalfd_siginfo si;
    ssize_t n = read(s->signal_fd, &si, sizeof si);
    if (n != (ssize_t)sizeof si)
        return;
    if (si.ssi_signo == SIGUSR1) {
        if (s->writes)
            writes_request_snapshot(s->writes);
        else
            serve_log("SIGUSR1: no snapshot to take (the server is read-only)");
        return;
    }
    if (si.ssi_signo == SIGHUP) {
        dispatch_load_keys(s);
        int rc = s->stopping ? -1 : slot_request_reload(s->slot, NULL, NULL);
        if (rc == 0)
            serve_log("SIGHUP: loading the index file again");
        else if (rc == -2)
            serve_log("SIGHUP ignored: " API_RELOAD_DATA);
        return;
    }
    begin_shutdown(s, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
}

static void handle_conn_event(server *s, conn *c, uint32_t events) {
    if (c->closed)
        return;
    if (events & EPOLLERR) {
        conn_close(s, c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        c->readable = 1;
    if (events & (EPOLLRDHUP | EPOLLHUP))
        c->rdhup = 1;
    conn_service(s, c);
}

static int wait_timeout(const server *s) {
    int64_t deadline = s->thead ? s->thead->deadline_ms : -1;
    /* Past the stop deadline with every connection closed, only searches in
     * flight remain; their completion wakes the loop through the eventfd, so
     * sleep instead of polling at a zero timeout. */
    if (s->stopping && s->nconns > 0 && (deadline < 0 || s->stop_deadline_ms < deadline))
        deadline = s->stop_deadline_ms;
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : (left > 60000 ? 60000 : (int)left);
}

static void event_loop(server *s) {
    struct epoll_event events[MAX_EVENTS];
    while (!(s->stopping && s->nconns == 0 && s->jobs_out == 0)) {
        int n = epoll_wait(s->epfd, events, MAX_EVENTS, wait_timeout(s));
        if (n < 0 && errno != EINTR) {
            serve_log("epoll_wait: %s", strerror(errno));
            if (s->id == 0)
                begin_shutdown(s, "epoll failure");
            else
                atomic_store(&s->sh->stop, 1), poke(&s->sh->loops[0]);
            n = 0;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &s->listen_fd)
                accept_all(s);
            else if (tag == &s->event_fd)
                handle_completions(s);
            else if (tag == &s->signal_fd)
                handle_signal(s);
            else if (tag == &s->inotify_fd)
                slot_handle_inotify(s->slot);
            else
                handle_conn_event(s, tag, events[i].events);
        }
        expire_timers(s);
        if (s->stopping && now_ms() >= s->stop_deadline_ms)
            while (s->conns)
                conn_close(s, s->conns); /* in-flight jobs still return and are freed */
        if (s->id == 0 && s->spare_fd < 0)
            s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (s->accept_paused && atomic_load(&s->sh->nconns) < s->cfg->max_connections)
            accept_all(s);
        free_graveyard(s);
    }
}

/* ------------------------------------------------------------------ setup */

static int watch(server *s, int fd, int *tag) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | (tag == &s->listen_fd ? EPOLLET : 0u);
    ev.data.ptr = tag;
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void log_startup(server *s, unsigned port) {
    const serve_config *cfg = s->cfg;
    served_index *x = slot_acquire(s->slot);
    vw_stats info = served_index_stats(x);
    slot_release(x);
    /* Before the "listening" line, which clients and tests wait for: by
     * then the warning is in the log. */
    if (cfg->data_dir && cfg->api_keys == NULL && !listener_is_loopback(s))
        serve_log("warning: writes are open to every client that can reach %s: no --api-keys",
                  cfg->host);
    int v6 = strchr(cfg->host, ':') != NULL;
    serve_log("listening on http://%s%s%s:%u port=%u index=%s count=%llu dim=%u metric=%s "
              "threads=%u ef=%u simd=%s max_body=%llu timeout_ms=%u search_timeout_ms=%u "
              "max_connections=%u "
              "queue=%u max_work=%llu%s%s%s%s%s",
              v6 ? "[" : "", cfg->host, v6 ? "]" : "", port, port, cfg->index_path,
              (unsigned long long)info.count, info.dim, vw_metric_name(info.metric), cfg->threads,
              cfg->ef, vw_simd_name(vw_simd_active()), (unsigned long long)cfg->max_body,
              cfg->timeout_ms, cfg->search_timeout_ms, cfg->max_connections, cfg->queue_depth,
              (unsigned long long)cfg->max_work, cfg->normalize ? " normalize=on" : "",
              cfg->admin ? " admin=on" : "", cfg->access_log ? " access_log=on" : "",
              cfg->data_dir ? " data=" : " read-only", cfg->data_dir ? cfg->data_dir : "");
}

static void loop_close_fds(server *s) {
    int *fds[] = {&s->listen_fd, &s->event_fd, &s->signal_fd, &s->epfd, &s->spare_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* The state and descriptors of loop `id`; 0, or -1 after logging why. */
static int loop_open(serve_shared *sh, unsigned id, serve_writes *writes) {
    server *s = &sh->loops[id];
    s->sh = sh;
    s->id = id;
    s->slot = &sh->slot;
    s->cfg = sh->cfg;
    s->pool = &sh->pool;
    s->write_pool = &sh->write_pool;
    s->writes = writes;
    s->metrics = &sh->metrics;
    s->requests = &sh->requests;
    s->errors = &sh->errors;
    s->listen_fd = s->signal_fd = s->inotify_fd = s->spare_fd = -1;
    s->started_ms = now_ms();
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    completion_box_init(&s->box, s->event_fd);
    pthread_mutex_init(&s->inbox_mu, NULL);
    if (s->epfd < 0 || s->event_fd < 0 || watch(s, s->event_fd, &s->event_fd) != 0) {
        serve_log("cannot set up an event loop: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void loop_close(server *s) {
    free_graveyard(s);
    for (conn *c = s->inbox, *next; c; c = next) { /* given, never taken */
        next = c->next;
        close(c->fd);
        free(c);
    }
    completion_box_destroy(&s->box);
    pthread_mutex_destroy(&s->inbox_mu);
    loop_close_fds(s);
}

static void *loop_main(void *arg) {
    event_loop(arg);
    return NULL;
}

/* Loop 0's descriptors (listener, signals, inotify), the workers and the
 * other loops' threads; 0 when everything is ready. */
static int server_start(serve_shared *sh, unsigned *port, const sigset_t *stop) {
    server *s = &sh->loops[0];
    s->signal_fd = signalfd(-1, stop, SFD_NONBLOCK | SFD_CLOEXEC);
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->signal_fd < 0) {
        serve_log("cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    s->inotify_fd = sh->slot.inotify_fd;
    if (open_listener(s, port) != 0 || watch(s, s->listen_fd, &s->listen_fd) != 0 ||
        watch(s, s->signal_fd, &s->signal_fd) != 0 ||
        (s->inotify_fd >= 0 && watch(s, s->inotify_fd, &s->inotify_fd) != 0))
        return -1;
    sh->workers_started = 1;
    if (workers_start(&sh->pool, &sh->slot, sh->cfg, sh->cfg->threads, s->writes) != 0)
        return -1;
    if (s->writes) {
        sh->write_workers_started = 1;
        if (workers_start(&sh->write_pool, &sh->slot, sh->cfg, sh->cfg->write_threads, s->writes) !=
            0)
            return -1;
    }
    for (unsigned i = 1; i < sh->nloops; i++) {
        int rc = pthread_create(&sh->loops[i].thread, NULL, loop_main, &sh->loops[i]);
        if (rc != 0) {
            serve_log("cannot start an event loop thread: %s", strerror(rc));
            return -1;
        }
        sh->started_loops++;
    }
    return 0;
}

/* Loop 0 is done: the others stop too, then the workers. */
static void server_stop(serve_shared *sh) {
    atomic_store(&sh->stop, 1);
    for (unsigned i = 1; i <= sh->started_loops; i++) {
        poke(&sh->loops[i]);
        pthread_join(sh->loops[i].thread, NULL);
    }
    if (sh->workers_started)
        workers_stop(&sh->pool);
    if (sh->write_workers_started)
        workers_stop(&sh->write_pool);
}

/* Everything before the loops: access log, write side, slot, keys, the
 * loops' state; 0 when ready, else 1 after logging why. */
static int server_open(serve_shared *sh, served_index *initial, serve_writes **writes) {
    char err[512];
    if (sh->cfg->access_log && access_log_open(sh->cfg->access_log, err, sizeof err) != 0) {
        serve_log("%s", err);
        served_index_free(initial);
        return 1;
    }
    if (sh->cfg->store && !(*writes = writes_start(sh->cfg->store, sh->cfg->snapshot_interval_s,
                                                   sh->cfg->snapshot_log_bytes))) {
        serve_log("cannot start the snapshot thread");
        served_index_free(initial);
        return 1;
    }
    sh->nloops = sh->cfg->threads ? sh->cfg->threads : 1;
    sh->loops = calloc(sh->nloops, sizeof *sh->loops);
    if (sh->loops == NULL) {
        serve_log("out of memory");
        served_index_free(initial);
        return 1;
    }
    for (unsigned i = 0; i < sh->nloops; i++)
        if (loop_open(sh, i, *writes) != 0) {
            served_index_free(initial);
            return 1;
        }
    sh->slot_started = 1;
    if (slot_start(&sh->slot, sh->cfg->load_flags, sh->cfg->metric, initial, reload_done,
                   &sh->loops[0]) != 0)
        return 1;
    return dispatch_load_keys(&sh->loops[0]) == 0 ? 0 : 1;
}

int serve_run(served_index *initial, const serve_config *cfg, const sigset_t *stop_signals) {
    static serve_shared shared; /* one per process; static keeps it off the stack */
    serve_shared *sh = &shared;
    memset(sh, 0, sizeof *sh);
    sh->cfg = cfg;
    metrics_init(&sh->metrics);
    pthread_rwlock_init(&sh->keys_lock, NULL);
    serve_log_start();
    serve_writes *writes = NULL;
    unsigned port = 0;
    int rc = server_open(sh, initial, &writes);
    if (rc == 0 && server_start(sh, &port, stop_signals) == 0) {
        log_startup(&sh->loops[0], port);
        event_loop(&sh->loops[0]);
        serve_log("stopped after %llu requests (%llu errors)",
                  (unsigned long long)load(&sh->requests), (unsigned long long)load(&sh->errors));
    } else {
        rc = 1;
    }
    server_stop(sh);
    writes_stop(writes); /* after the write workers: a last snapshot */
    if (sh->slot_started)
        slot_stop(&sh->slot);
    for (unsigned i = 0; sh->loops && i < sh->nloops; i++)
        loop_close(&sh->loops[i]);
    free(sh->loops);
    auth_free(sh->keys);
    pthread_rwlock_destroy(&sh->keys_lock);
    access_log_close();
    serve_log_stop();
    return rc;
}
