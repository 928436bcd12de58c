/*
 * vw_http_load - a lean closed-loop HTTP/1.1 load generator for vw-serve.
 *
 * C connections (keep-alive) each send POST PATH with the next body of a
 * file of JSON bodies (one per line), wait for the whole answer, and send
 * the next, for D seconds, on one thread with epoll. Requests are
 * formatted once, before the clock starts, so the client spends per
 * request only a send(2), a recv(2) and a scan of the answer's head: the
 * least a client can cost, which matters when it shares the server's
 * cores (wrk runs a Lua function per request).
 *
 * Usage: vw_http_load PORT BODIES.jsonl CONNECTIONS SECONDS [SERVER_PID]
 * Prints one line:
 *   RESULT requests=N seconds=S qps=Q mean_ms= p50_ms= p90_ms= p95_ms= p99_ms= max_ms=
 *          errors=E non2xx=X client_cpu_us=C server_cpu_us=V
 * client_cpu_us and server_cpu_us are CPU time (user + system) per answered
 * request of this process and of SERVER_PID (from /proc; 0 without it).
 *
 * In-process mode, the library alone on the same machine:
 *   vw_http_load --inprocess INDEX QUERIES.fvecs THREADS SECONDS [EF K]
 * loads the index, normalizes the queries (as vw-serve --normalize does) and
 * has THREADS threads search them in turn for SECONDS:
 *   RESULT queries=N seconds=S qps=Q cpu_us=C thp_kb=H
 * cpu_us is the CPU time per query; thp_kb the process's memory on
 * transparent huge pages (AnonHugePages; the index's arrays ask for them,
 * and whether the kernel had them changes the search's speed). CPU time per request is what a
 * machine whose cores are all busy turns into throughput, and other jobs on a shared machine
 * disturb it much less than they disturb wall-clock QPS.
 */
#include "vwhnsw.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define RECV_BUF  (1 << 16)

typedef struct request {
    char *text;
    size_t len;
} request;

typedef struct client {
    int fd;
    size_t next; /* index of the next request to send */
    size_t sent; /* bytes of the current request sent */
    char *buf;   /* the answer so far */
    size_t len;
    double started; /* when the current request was sent */
} client;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static request *load_requests(const char *path, const char *target, size_t *n_out) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    size_t cap = 1024, n = 0;
    request *r = malloc(cap * sizeof *r);
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    while (r && (len = getline(&line, &line_cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (n == cap)
            r = realloc(r, (cap *= 2) * sizeof *r);
        size_t size = (size_t)len + strlen(target) + 160;
        r[n].text = malloc(size);
        r[n].len =
            (size_t)snprintf(r[n].text, size,
                             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zd\r\n\r\n%s",
                             target, len, line);
        n++;
    }
    free(line);
    fclose(f);
    *n_out = n;
    return r;
}

static int connect_to(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* Length of a complete answer at the start of buf, 0 if incomplete; its
 * status in *status. */
static size_t answer_length(const char *buf, size_t len, int *status) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
    if (len < head + body)
        return 0;
    *status = atoi(buf + 9);
    return head + body;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p) {
    if (n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

typedef struct totals {
    double *lat;
    size_t n, cap;
    long errors, non2xx;
} totals;

static void send_next(client *c, const request *reqs, size_t nreq, totals *t) {
    const request *r = &reqs[c->next % nreq];
    while (c->sent < r->len) {
        ssize_t w = send(c->fd, r->text + c->sent, r->len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            t->errors++;
            return;
        }
        c->sent += (size_t)w;
    }
}

static void record(totals *t, double latency) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 65536;
        t->lat = realloc(t->lat, t->cap * sizeof *t->lat);
    }
    t->lat[t->n++] = latency;
}

/* Reads what arrived; when an answer is complete, counts it and sends the
 * next request (if the run is not over). */
static void on_readable(client *c, const request *reqs, size_t nreq, totals *t, double until) {
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, RECV_BUF - c->len, MSG_DONTWAIT);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                t->errors++, close(c->fd), c->fd = -1;
            return;
        }
        c->len += (size_t)n;
        int status = 0;
        size_t a = answer_length(c->buf, c->len, &status);
        if (a == 0)
            continue;
        double now = now_s();
        record(t, now - c->started);
        if (status != 200)
            t->non2xx++;
        memmove(c->buf, c->buf + a, c->len - a);
        c->len -= a;
        if (now >= until)
            return;
        c->next++;
        c->sent = 0;
        c->started = now;
        send_next(c, reqs, nreq, t);
        return;
    }
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of a process, in seconds, from /proc; 0 when unknown. */
static double process_cpu_s(long pid) {
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ in process */

/* AnonHugePages of this process, in kB; -1 when unknown. */
static long huge_pages_kb(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

typedef struct inproc {
    vw_index *index;
    float *queries;
    size_t nq;
    uint32_t dim, ef, k;
    double until;
    atomic_long done;
    atomic_int started;
} inproc;

static void *inproc_main(void *arg) {
    inproc *ip = arg;
    uint64_t labels[4096];
    float dists[4096];
    long n = 0;
    /* each thread starts elsewhere in the queries */
    for (size_t i = (size_t)atomic_fetch_add(&ip->started, 1) * 97; now_s() < ip->until; i++, n++) {
        uint32_t found;
        if (vw_index_search(ip->index, ip->queries + (i % ip->nq) * ip->dim, ip->k, ip->ef, NULL,
                            NULL, labels, dists, &found) != VW_OK) {
            fprintf(stderr, "search failed: %s\n", vw_last_error_detail());
            exit(1);
        }
    }
    atomic_fetch_add(&ip->done, n);
    return NULL;
}

static int run_inprocess(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s --inprocess INDEX QUERIES.fvecs THREADS SECONDS [EF K]\n",
                argv[0]);
        return 2;
    }
    inproc ip = {.ef = argc > 6 ? (uint32_t)atoi(argv[6]) : 64,
                 .k = argc > 7 ? (uint32_t)atoi(argv[7]) : 10};
    vw_dataset *ds = NULL;
    if (vw_index_load(argv[2], VW_LOAD_DEFAULT, &ip.index) != VW_OK ||
        vw_dataset_read(argv[3], VW_FORMAT_AUTO, &ds) != VW_OK) {
        fprintf(stderr, "cannot load: %s\n", vw_last_error_detail());
        return 1;
    }
    ip.queries = ds->data;
    ip.nq = (size_t)ds->n;
    ip.dim = ds->dim;
    for (size_t i = 0; i < ip.nq; i++)
        vw_normalize(ip.queries + i * ip.dim, ip.dim);
    int threads = atoi(argv[4]);
    double seconds = atof(argv[5]);
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return 2;
    double cpu0 = self_cpu_s(), start = now_s();
    ip.until = start + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, inproc_main, &ip);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double wall = now_s() - start, cpu = self_cpu_s() - cpu0;
    long n = atomic_load(&ip.done);
    printf("RESULT queries=%ld seconds=%.2f qps=%.1f cpu_us=%.1f thp_kb=%ld\n", n, wall,
           (double)n / wall, n ? cpu / (double)n * 1e6 : 0, huge_pages_kb());
    vw_dataset_free(ds);
    vw_index_free(ip.index);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--inprocess") == 0)
        return run_inprocess(argc, argv);
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT BODIES.jsonl CONNECTIONS SECONDS [SERVER_PID]\n", argv[0]);
        return 2;
    }
    long server_pid = argc > 5 ? atol(argv[5]) : 0;
    unsigned port = (unsigned)atoi(argv[1]);
    int nconn = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (nconn < 1 || nconn > MAX_CONNS || seconds <= 0) {
        fprintf(stderr, "bad connections or seconds\n");
        return 2;
    }
    size_t nreq = 0;
    request *reqs = load_requests(argv[2], "/search", &nreq);
    if (reqs == NULL || nreq == 0) {
        fprintf(stderr, "no bodies in %s\n", argv[2]);
        return 1;
    }
    int ep = epoll_create1(0);
    client *cs = calloc((size_t)nconn, sizeof *cs);
    totals t = {0};
    double start = now_s(), until = start + seconds;
    double cpu0 = self_cpu_s(), server0 = process_cpu_s(server_pid);
    for (int i = 0; i < nconn; i++) {
        cs[i].fd = connect_to(port);
        cs[i].buf = malloc(RECV_BUF);
        cs[i].next = (size_t)i * 97;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        cs[i].started = now_s();
        send_next(&cs[i], reqs, nreq, &t);
    }
    /* Answers still in flight at the end are not counted. */
    struct epoll_event evs[256];
    while (now_s() < until) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            client *c = evs[i].data.ptr;
            if (c->fd >= 0)
                on_readable(c, reqs, nreq, &t, until);
        }
    }
    double elapsed = now_s() - start;
    double cpu = self_cpu_s() - cpu0, server_cpu = process_cpu_s(server_pid) - server0;
    qsort(t.lat, t.n, sizeof *t.lat, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < t.n; i++)
        sum += t.lat[i];
    printf("RESULT requests=%zu seconds=%.2f qps=%.1f mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f "
           "p95_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%ld non2xx=%ld client_cpu_us=%.1f "
           "server_cpu_us=%.1f\n",
           t.n, elapsed, (double)t.n / seconds, t.n ? sum / (double)t.n * 1e3 : 0,
           percentile(t.lat, t.n, 50) * 1e3, percentile(t.lat, t.n, 90) * 1e3,
           percentile(t.lat, t.n, 95) * 1e3, percentile(t.lat, t.n, 99) * 1e3,
           t.n ? t.lat[t.n - 1] * 1e3 : 0, t.errors, t.non2xx, t.n ? cpu / (double)t.n * 1e6 : 0,
           t.n ? server_cpu / (double)t.n * 1e6 : 0);
    return t.errors > 0 ? 1 : 0;
}
