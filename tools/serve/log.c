/*
 * log.c - the non-blocking log of vw-serve (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 768
#define QUEUE_LINES    512 /* with a pipe's 64 KiB, a burst of ~1,000 lines waits, not drops */
#define POLL_STEP_MS   100
#define STOP_GRACE_MS  1000

typedef struct queued_line {
    size_t len;
    char text[LINE_MAX_BYTES];
} queued_line;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    queued_line ring[QUEUE_LINES];
    unsigned head, count;
    int running;  /* the writer thread takes lines */
    int stopping; /* serve_log_stop was called */
    int finished; /* the writer thread has returned */
    pthread_t thread;
} lg = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_uint_fast64_t dropped;
static atomic_int_fast64_t give_up_ms; /* when stopping: the writer drops after this */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes a whole line once stderr is ready for it, waiting at most until
 * `deadline_ms` (< 0: until the stop grace ends). A pipe that polls
 * writable has room for a line of this size, so write(2) does not block. */
static void write_line(const char *p, size_t n, int64_t deadline_ms) {
    while (n > 0) {
        int64_t limit = deadline_ms >= 0 ? deadline_ms : atomic_load(&give_up_ms);
        int64_t left = limit - now_ms();
        struct pollfd pfd = {STDERR_FILENO, POLLOUT, 0};
        int ready = poll(&pfd, 1, left <= 0 ? 0 : (left < POLL_STEP_MS ? (int)left : POLL_STEP_MS));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0 && left > 0)
            continue; /* the deadline may have moved: look again */
        ssize_t w =
            ready > 0 && !(pfd.revents & (POLLERR | POLLNVAL)) ? write(STDERR_FILENO, p, n) : -1;
        if (w <= 0 && !(w < 0 && errno == EINTR)) {
            atomic_fetch_add(&dropped, 1);
            return;
        }
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
}

static void *writer_main(void *arg) {
    (void)arg;
    queued_line line;
    pthread_mutex_lock(&lg.mu);
    for (;;) {
        while (lg.count == 0 && !lg.stopping)
            pthread_cond_wait(&lg.cv, &lg.mu);
        if (lg.count == 0)
            break;
        line = lg.ring[lg.head];
        lg.head = (lg.head + 1) % QUEUE_LINES;
        lg.count--;
        pthread_mutex_unlock(&lg.mu);
        write_line(line.text, line.len, -1);
        pthread_mutex_lock(&lg.mu);
    }
    lg.finished = 1;
    pthread_cond_broadcast(&lg.cv);
    pthread_mutex_unlock(&lg.mu);
    return NULL;
}

int serve_log_start(void) {
    atomic_store(&give_up_ms, INT64_MAX);
    pthread_mutex_lock(&lg.mu);
    int rc = pthread_create(&lg.thread, NULL, writer_main, NULL);
    lg.running = rc == 0;
    pthread_mutex_unlock(&lg.mu);
    return rc == 0 ? 0 : -1;
}

void serve_log(const char *fmt, ...) {
    char buf[LINE_MAX_BYTES];
    size_t n = (size_t)snprintf(buf, sizeof buf, "vw-serve: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : (n + (size_t)m < sizeof buf - 1 ? n + (size_t)m : sizeof buf - 2);
    buf[n++] = '\n';
    pthread_mutex_lock(&lg.mu);
    if (lg.running && !lg.finished && lg.count < QUEUE_LINES) {
        queued_line *slot = &lg.ring[(lg.head + lg.count) % QUEUE_LINES];
        memcpy(slot->text, buf, n);
        slot->len = n;
        lg.count++;
        pthread_cond_signal(&lg.cv);
        pthread_mutex_unlock(&lg.mu);
        return;
    }
    int queued_elsewhere = lg.running && !lg.finished;
    pthread_mutex_unlock(&lg.mu);
    if (queued_elsewhere)
        atomic_fetch_add(&dropped, 1); /* the ring is full */
    else
        write_line(buf, n, now_ms()); /* no writer: only if stderr is ready now */
}

void serve_log_stop(void) {
    int64_t give_up = now_ms() + STOP_GRACE_MS;
    atomic_store(&give_up_ms, give_up);
    pthread_mutex_lock(&lg.mu);
    if (!lg.running) {
        pthread_mutex_unlock(&lg.mu);
        return;
    }
    lg.stopping = 1;
    pthread_cond_broadcast(&lg.cv);
    /* The writer gives up on a stuck stderr at give_up; allow it a little
     * more to notice, and never wait on it for longer. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (STOP_GRACE_MS + 500) / 1000;
    until.tv_nsec += (long)((STOP_GRACE_MS + 500) % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!lg.finished && pthread_cond_timedwait(&lg.cv, &lg.mu, &until) == 0) {
    }
    int finished = lg.finished;
    lg.running = 0;
    pthread_mutex_unlock(&lg.mu);
    if (finished)
        pthread_join(lg.thread, NULL);
    else
        pthread_detach(lg.thread);
}

uint64_t serve_log_dropped(void) {
    return atomic_load(&dropped);
}
