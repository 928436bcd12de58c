/*
 * access_log.c - the access log's ring and writer thread (see access_log.h).
 */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_LINES   16384u
#define BATCH_LINES  256u
#define WAKE_MS      50
#define STOP_WAIT_MS 1000

typedef struct entry {
    struct timespec at; /* CLOCK_REALTIME */
    uint64_t bytes;
    uint64_t latency_ns;
    int status;
    char peer[48];
    char request[104];
    char key_name[48];
    char forwarded[64];
} entry;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry ring[RING_LINES];
    unsigned head, count;
    int fd;
    int running;
    int stopping;
    int finished;
    pthread_t thread;
} al = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .fd = -1};

static atomic_uint_fast64_t dropped;
static atomic_int enabled;

static size_t format_entry(const entry *e, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&e->at.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    const char *request = strchr(e->request, ' ') ? e->request : "- -";
    int n = snprintf(out, cap, "%s.%06ldZ %s %s %d %llu %.3f %s %s\n", when, e->at.tv_nsec / 1000,
                     e->peer, request, e->status, (unsigned long long)e->bytes,
                     (double)e->latency_ns / 1e6, e->key_name, e->forwarded);
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(al.fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a full disk or a closed pipe: nothing better to do */
        p += w;
        n -= (size_t)w;
    }
}

/* With the lock held: takes up to BATCH_LINES entries into out. */
static unsigned take_batch(entry *out) {
    unsigned n = al.count < BATCH_LINES ? al.count : BATCH_LINES;
    for (unsigned i = 0; i < n; i++)
        out[i] = al.ring[(al.head + i) % RING_LINES];
    al.head = (al.head + n) % RING_LINES;
    al.count -= n;
    return n;
}

static void wait_a_little(void) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += WAKE_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&al.cv, &al.mu, &until);
}

/* The answering threads never signal (that would be a system call per
 * request): the writer looks every WAKE_MS. */
static void *writer_main(void *arg) {
    (void)arg;
    static entry batch[BATCH_LINES];
    static char text[BATCH_LINES * 256];
    pthread_mutex_lock(&al.mu);
    for (;;) {
        if (al.count == 0 && al.stopping)
            break;
        if (al.count == 0) {
            wait_a_little();
            continue;
        }
        unsigned n = take_batch(batch);
        pthread_mutex_unlock(&al.mu);
        size_t len = 0;
        for (unsigned i = 0; i < n; i++)
            len += format_entry(&batch[i], text + len, sizeof text - len);
        write_all(text, len);
        pthread_mutex_lock(&al.mu);
    }
    al.finished = 1;
    pthread_cond_broadcast(&al.cv);
    pthread_mutex_unlock(&al.mu);
    return NULL;
}

int access_log_open(const char *path, char *err, size_t err_size) {
    int fd = strcmp(path, "-") == 0 ? dup(STDOUT_FILENO)
                                    : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open the access log %s: %s", path, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&al.mu);
    al.fd = fd;
    al.head = al.count = 0;
    al.stopping = al.finished = 0;
    int rc = pthread_create(&al.thread, NULL, writer_main, NULL);
    al.running = rc == 0;
    pthread_mutex_unlock(&al.mu);
    if (rc != 0) {
        close(fd);
        al.fd = -1;
        snprintf(err, err_size, "cannot start the access log writer: %s", strerror(rc));
        return -1;
    }
    atomic_store(&enabled, 1);
    return 0;
}

void access_log_record(const char *peer, const char *request, int status, uint64_t bytes,
                       uint64_t latency_ns, const char *key_name, const char *forwarded) {
    if (!atomic_load_explicit(&enabled, memory_order_relaxed))
        return;
    entry e;
    clock_gettime(CLOCK_REALTIME, &e.at);
    e.bytes = bytes;
    e.latency_ns = latency_ns;
    e.status = status;
    snprintf(e.peer, sizeof e.peer, "%s", peer);
    snprintf(e.request, sizeof e.request, "%s", request);
    snprintf(e.key_name, sizeof e.key_name, "%s", key_name);
    snprintf(e.forwarded, sizeof e.forwarded, "%s", forwarded);
    pthread_mutex_lock(&al.mu);
    int queued = al.running && !al.stopping && al.count < RING_LINES;
    if (queued) {
        al.ring[(al.head + al.count) % RING_LINES] = e;
        al.count++;
    }
    pthread_mutex_unlock(&al.mu);
    if (!queued)
        atomic_fetch_add(&dropped, 1);
}

void access_log_close(void) {
    atomic_store(&enabled, 0);
    pthread_mutex_lock(&al.mu);
    if (!al.running) {
        pthread_mutex_unlock(&al.mu);
        return;
    }
    al.stopping = 1;
    pthread_cond_broadcast(&al.cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_MS / 1000;
    while (!al.finished && pthread_cond_timedwait(&al.cv, &al.mu, &until) == 0) {
    }
    int finished = al.finished;
    al.running = 0;
    pthread_mutex_unlock(&al.mu);
    if (finished) {
        pthread_join(al.thread, NULL);
        close(al.fd);
        al.fd = -1;
    } else {
        pthread_detach(al.thread); /* stuck on a pipe nobody reads; the process is ending */
    }
}

uint64_t access_log_dropped(void) {
    return atomic_load(&dropped);
}
