/*
 * test_hostile_serve.c - what a hostile user, or a careless operator, does
 * to a running vw-serve.
 *
 *   mmap_overwrite  the mapped index file truncated and rewritten in place
 *                   (cp over it): the server used to die of SIGBUS; now the
 *                   affected searches get 503, the file is loaded again, and
 *                   a file renamed over it leaves the served one alone
 *   log_pipe        stderr is a pipe nobody reads: thousands of error lines
 *                   used to freeze the whole server, SIGTERM included
 *   work_budget     one request asking for huge search work (2,000 queries
 *                   at ef_search 65536) is refused; a long batch stops at
 *                   --timeout-ms and at shutdown
 *   slow_reader     a 9 MB answer read slowly but steadily arrives whole; a
 *                   client that stops reading is still disconnected (its
 *                   searches have their own --search-timeout-ms budget)
 *   fd_limit        a low descriptor limit: connections beyond it are
 *                   answered 503 at once instead of waiting for a timeout
 *
 * Usage: test_hostile_serve CASE VW-SERVE VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH
 */
#include "test_hostile.h"

#include "fault.h"

#include <dirent.h>
#include <sys/resource.h>

#define DIM 16

/* Random queries of the index dimension. */
static float *queries(size_t n, uint32_t dim) {
    float *q = sv_random_vectors(n, dim);
    CHECK(q != NULL);
    return q;
}

/* POST /search of q (k) on a fresh connection; the status, and whether the
 * answer equals a local search of `index` (when 200). */
static int search_status(unsigned port, const vw_index *index, const float *q, uint32_t dim, int k,
                         int *matches) {
    char *body = sv_query_body(q, dim, k);
    sv_response r;
    int status = sv_roundtrip(port, "POST", "/search", body, &r) == 0 ? r.status : -1;
    if (matches != NULL)
        *matches = status == 200 && r.body && sv_matches_local(index, r.body, q, (uint32_t)k, 64);
    if (status == 503) {
        char v[16];
        CHECK(sv_header(&r, "Retry-After", v, sizeof v) != NULL);
    }
    if (status == 200)
        CHECK(r.body && strstr(r.body, "null") == NULL && strstr(r.body, "nan") == NULL);
    sv_response_free(&r);
    free(body);
    return status;
}

/* ------------------------------------------------------------------ mmap_overwrite */

/* Writes `from` over `to` in place: truncate, then write, like cp. With
 * `keep_size` the file is rewritten without truncation. */
static void overwrite_in_place(const char *from, const char *to, int truncate_first) {
    size_t len;
    char *data = hx_slurp(from, &len);
    int fd = open(to, O_WRONLY | (truncate_first ? O_TRUNC : 0));
    CHECK(data != NULL && fd >= 0);
    if (data != NULL && fd >= 0)
        CHECK(pwrite(fd, data, len, 0) == (ssize_t)len);
    if (fd >= 0)
        close(fd);
    free(data);
}

/* Polls until a search answers `want` (or 30 s pass); 1 if it did. */
static int wait_for_status(unsigned port, const vw_index *index, const float *q, int want) {
    for (int i = 0; i < 600; i++) {
        if (search_status(port, index, q, DIM, 5, NULL) == want)
            return 1;
        sv_sleep_ms(50);
    }
    return 0;
}

/* Our writes in place queued several change notifications, and the server
 * may have reloaded after the first of them: a later one then marks the
 * fresh index damaged and asks for one more reload. The server reads its
 * notifications in the loop that reads requests, so by the time a search
 * sent now is answered, every notification queued before it has been
 * handled (and any reload it asks for is wanted, searches answering 503
 * until it is done). Then wait for the answers again: no reload is left. */
static void settle(unsigned port, const vw_index *index, const float *q) {
    (void)search_status(port, index, q, DIM, 5, NULL);
    CHECK(wait_for_status(port, index, q, 200));
}

/* In process: a search on a mapped index whose file was truncated faults
 * inside the guard and returns; the guard counts it. */
static void guard_in_process(const char *path) {
    CHECK(fault_guard_install() == 0);
    vw_index *ix = NULL;
    CHECK(vw_index_load(path, VW_LOAD_MMAP, &ix) == VW_OK);
    if (ix == NULL)
        return;
    CHECK(truncate(path, 0) == 0);
    float *q = queries(1, DIM);
    uint64_t labels[10];
    float dists[10];
    uint32_t found = 0;
    fault_guard_enter();
    vw_index_search(ix, q, 10, 64, NULL, NULL, labels, dists, &found);
    unsigned faults = fault_guard_leave();
    CHECK(faults > 0 && fault_guard_total() >= faults);
    vw_index_free(ix);
    free(q);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGBUS, &dfl, NULL);
}

/* The indexes of the case: A served first, B copied over it in place, C
 * renamed over it; b-nan.vwi is B with a NaN behind valid checksums. */
typedef struct overwrite_ctx {
    unsigned port;
    vw_index *A, *B, *C;
    char live[768], b[768], poisoned[768];
    float *q; /* 8 queries */
} overwrite_ctx;

/* cp b.vwi live.vwi: the truncation alone makes every mapped page vanish;
 * then the file is loaded again and B is served. */
static void copy_over(overwrite_ctx *t) {
    int fd = open(t->live, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(search_status(t->port, t->A, t->q, DIM, 5, NULL) == 503);
    if (fd >= 0)
        close(fd);
    overwrite_in_place(t->b, t->live, 0);
    CHECK(wait_for_status(t->port, t->B, t->q, 200));
    settle(t->port, t->B, t->q);
    int same = 0;
    for (int i = 0; i < 8; i++)
        CHECK(search_status(t->port, t->B, t->q + i * DIM, DIM, 5, &same) == 200 && same);
    CHECK(hx_stat(t->port, "index_reloads") >= 1);
    CHECK(hx_stat(t->port, "count") == 700);
}

/* A file that no longer loads, written in place at the same size: 503
 * while it is retried (never a NaN), until a good file is back. */
static void copy_broken_over(overwrite_ctx *t) {
    overwrite_in_place(t->poisoned, t->live, 0);
    CHECK(wait_for_status(t->port, t->B, t->q, 503));
    for (int i = 0; i < 20; i++) {
        CHECK(search_status(t->port, t->B, t->q + (i % 8) * DIM, DIM, 700, NULL) == 503);
        sv_sleep_ms(50);
    }
    overwrite_in_place(t->b, t->live, 0);
    CHECK(wait_for_status(t->port, t->B, t->q, 200));
    settle(t->port, t->B, t->q);
}

/* The safe way: rename over it. The server keeps the file it mapped. */
static void rename_over(overwrite_ctx *t, const char *c) {
    long long reloads = hx_stat(t->port, "index_reloads");
    hx_copy(c, hx_file("c.tmp"));
    CHECK(rename(hx_file("c.tmp"), t->live) == 0);
    int same = 0;
    for (int i = 0; i < 20; i++) {
        CHECK(search_status(t->port, t->B, t->q + (i % 8) * DIM, DIM, 5, &same) == 200 && same);
        sv_sleep_ms(50);
    }
    CHECK(hx_stat(t->port, "index_reloads") == reloads);
}

static void hx_case_mmap_overwrite(void) {
    overwrite_ctx t;
    HX_PATH(a, "a.vwi");
    HX_PATH(c, "c.vwi");
    snprintf(t.live, sizeof t.live, "%s", hx_file("live.vwi"));
    snprintf(t.b, sizeof t.b, "%s", hx_file("b.vwi"));
    snprintf(t.poisoned, sizeof t.poisoned, "%s", hx_file("b-nan.vwi"));
    t.A = hx_make_index(a, 2000, DIM, 11);
    t.B = hx_make_index(t.b, 700, DIM, 12);
    t.C = hx_make_index(c, 900, DIM, 13);
    CHECK(t.A && t.B && t.C);
    hx_write_poisoned(t.b, t.poisoned, 3, NAN);
    hx_copy(a, hx_file("guard.vwi"));
    guard_in_process(hx_file("guard.vwi"));

    hx_copy(a, t.live);
    sv_server s;
    const char *const args[] = {"--mmap", "--threads", "2", NULL};
    if (hx_serve(&s, t.live, hx_file("overwrite.log"), args, NULL) != 0) {
        check_failures++;
        return;
    }
    t.port = s.port;
    t.q = queries(8, DIM);
    int same = 0;
    CHECK(search_status(s.port, t.A, t.q, DIM, 5, &same) == 200 && same);
    copy_over(&t);
    copy_broken_over(&t);
    rename_over(&t, c);
    CHECK(sv_stop(&s) == 0);
    char *log = hx_slurp(hx_file("overwrite.log"), NULL);
    CHECK(log != NULL && strstr(log, "loaded") != NULL && strstr(log, "cannot load") != NULL);
    free(log);
    free(t.q);
    vw_index_free(t.A);
    vw_index_free(t.B);
    vw_index_free(t.C);
}

/* ------------------------------------------------------------------ log_pipe */

/* Reads the startup line from the pipe; the port, or 0. */
static unsigned read_port_from_pipe(int fd) {
    char line[2048];
    size_t n = 0;
    for (int waited = 0; waited < 60000 && n < sizeof line - 1; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t got = read(fd, line + n, 1); /* byte by byte: leave the rest unread */
        if (got <= 0)
            return 0;
        n++;
        line[n] = '\0';
        if (line[n - 1] == '\n')
            return hx_port_in(line);
    }
    return 0;
}

static void hx_case_log_pipe(void) {
    HX_PATH(path, "log.vwi");
    vw_index *ix = hx_make_index(path, 500, DIM, 21);
    CHECK(ix != NULL);
    vw_index_free(ix);
    int p[2];
    CHECK(pipe(p) == 0);
    sv_server s;
    s.pid = hx_spawn_serve(path, NULL, NULL, p[1]);
    close(p[1]);
    s.port = read_port_from_pipe(p[0]);
    if (s.port == 0) {
        check_failures++;
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
        return;
    }
    /* Each 404 logs a line; 4,000 of them are far more than a pipe holds. */
    enum { REQUESTS = 4000, PER_CONN = 200 };
    int answered = 0, stuck = 0;
    for (int i = 0; i < REQUESTS / PER_CONN && !stuck; i++) {
        sv_conn c;
        if (sv_connect(&c, s.port) != 0)
            break;
        struct timeval tv = {10, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (int j = 0; j < PER_CONN && !stuck; j++) {
            sv_response r;
            int rc = sv_exchange(&c, "GET", "/no/such/path/to/make/the/log/line/longer", NULL, &r);
            answered += rc == 0 && r.status == 404;
            stuck = rc != 0;
            sv_response_free(&r);
        }
        sv_close(&c);
    }
    CHECK(answered == REQUESTS);
    CHECK(hx_stat(s.port, "log_dropped") > 0);
    CHECK(sv_stop(&s) == 0); /* SIGTERM still works */
    close(p[0]);
}

/* ------------------------------------------------------------------ work_budget */

/* Sends a batch and waits until the server has it in flight. */
static int send_batch(unsigned port, sv_conn *c, const char *body) {
    char *req = sv_format_request("POST", "/search/batch", body, NULL);
    int rc = sv_connect(c, port) == 0 && sv_send(c, req, strlen(req)) == 0 ? 0 : -1;
    free(req);
    for (int i = 0; i < 5000 && rc == 0 && hx_stat(port, "in_flight") < 1; i++)
        sv_sleep_ms(2);
    return rc;
}

static int answer_has(sv_conn *c, int status, const char *needle) {
    sv_response r;
    int ok = sv_read_response(c, &r) == 0 && r.status == status && r.body &&
             strstr(r.body, needle) != NULL;
    if (!ok)
        fprintf(stderr, "expected %d with '%s', got %d %.200s\n", status, needle, r.status,
                r.body ? r.body : "");
    sv_response_free(&r);
    return ok;
}

static void hx_case_work_budget(void) {
    HX_PATH(small, "small.vwi");
    HX_PATH(large, "large.vwi");
    vw_index *ix = hx_make_index(small, 2000, DIM, 31);
    vw_index *big = hx_make_index(large, 3000, 32, 32);
    CHECK(ix && big);
    sv_server s;
    const char *const args[] = {"--threads", "2", "--max-body", "8388608", NULL};
    if (hx_serve(&s, small, hx_file("budget.log"), args, NULL) != 0) {
        check_failures++;
        return;
    }
    /* The request of the report: 516 KB, 2,000 queries at ef_search 65536. */
    char *huge = hx_batch_body(2000, DIM, 10, 65536);
    sv_response r;
    CHECK(sv_roundtrip(s.port, "POST", "/search/batch", huge, &r) == 0 && r.status == 422);
    CHECK(r.body && strstr(r.body, "search work") != NULL);
    sv_response_free(&r);
    free(huge);
    float *q = queries(1, DIM);
    CHECK(search_status(s.port, ix, q, DIM, 4096, NULL) == 200);
    CHECK(sv_stop(&s) == 0);

    /* Allowed that much work, a batch runs into its time budget and stops:
     * --timeout-ms, or --search-timeout-ms where given (with a long
     * --timeout-ms beside it); the 503 names the flag that stopped it. */
    char *heavy = hx_batch_body(10000, 32, 10, 4000);
    float *q32 = queries(1, 32);
    sv_conn c;
    const char *const budget[2] = {"--timeout-ms", "--search-timeout-ms"};
    const char *const named[2] = {"(--timeout-ms)", "(--search-timeout-ms)"};
    for (int b = 0; b < 2; b++) {
        const char *const slow[] = {"--threads", "2",          "--max-body",
                                    "8388608",   "--max-work", "1000000000",
                                    budget[b],   "300",        b ? "--timeout-ms" : NULL,
                                    "600000",    NULL};
        if (hx_serve(&s, large, hx_file("budget2.log"), slow, NULL) != 0) {
            check_failures++;
            return;
        }
        CHECK(send_batch(s.port, &c, heavy) == 0);
        int same = 0;
        CHECK(search_status(s.port, big, q32, 32, 5, &same) == 200 && same); /* not starved */
        CHECK(answer_has(&c, 503, named[b]));
        sv_close(&c);
        CHECK(sv_stop(&s) == 0);
    }

    /* SIGTERM stops a long batch between two queries. */
    const char *const patient[] = {"--threads",    "2",          "--max-body",
                                   "8388608",      "--max-work", "1000000000",
                                   "--timeout-ms", "600000",     NULL};
    if (hx_serve(&s, large, hx_file("budget3.log"), patient, NULL) != 0) {
        check_failures++;
        return;
    }
    CHECK(send_batch(s.port, &c, heavy) == 0);
    kill(s.pid, SIGTERM);
    CHECK(answer_has(&c, 503, "shutting down"));
    CHECK(sv_sees_eof(&c));
    sv_close(&c);
    CHECK(sv_wait_exit(s.pid, 30000) == 0);
    free(heavy);
    free(q);
    free(q32);
    vw_index_free(ix);
    vw_index_free(big);
}

/* ------------------------------------------------------------------ slow_reader */

/* Connects with a small receive buffer, so that the server's writes wait
 * on the reader rather than fill the kernel's buffers. */
static int connect_small_window(sv_conn *c, unsigned port) {
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 32768;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
}

/* A reader that stops taking bytes until the server counts a timeout
 * (GET /stats "timeouts" above `base`, asked on another connection), then
 * reads what is left: a condition, not a sleep that must outlast
 * --timeout-ms. */
typedef struct stall {
    unsigned port;
    long long base;
} stall;

/* Waits until the server has counted a timeout after `st->base`; 0, or -1
 * when none came in 10 minutes (the server never dropped the client). */
static int wait_for_timeout(const stall *st) {
    for (int i = 0; i < 60000; i++) {
        if (hx_stat(st->port, "timeouts") > st->base)
            return 0;
        sv_sleep_ms(10);
    }
    return -1;
}

/* Reads the whole answer in steps of at most 32 KiB with `pause_ms`
 * between them; with `st`, stalls after the first step until the server
 * counts a timeout. The bytes read before EOF. The first byte is waited
 * for as long as the searches take: they have no deadline here. */
static size_t read_slowly(sv_conn *c, unsigned pause_ms, const stall *st, size_t *expected) {
    static char buf[32768];
    size_t total = 0;
    *expected = 0;
    char head[4096] = "";
    size_t head_len = 0;
    for (int step = 0;; step++) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, step == 0 ? -1 : 30000) <= 0)
            break;
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (head_len < sizeof head - 1) {
            size_t take =
                (size_t)n < sizeof head - 1 - head_len ? (size_t)n : sizeof head - 1 - head_len;
            memcpy(head + head_len, buf, take);
            head_len += take;
            head[head_len] = '\0';
            const char *cl = strstr(head, "Content-Length: ");
            const char *end = strstr(head, "\r\n\r\n");
            if (cl && end && *expected == 0)
                *expected = (size_t)(end + 4 - head) + strtoul(cl + 16, NULL, 10);
        }
        total += (size_t)n;
        if (*expected && total >= *expected)
            break;
        if (step == 0 && st != NULL)
            CHECK(wait_for_timeout(st) == 0);
        else if (st == NULL)
            sv_sleep_ms(pause_ms);
    }
    return total;
}

/* Sends the batch on a connection with a small window and reads the answer
 * at the given pace (or with a stall); the bytes read, and *expected those
 * of the answer. */
static size_t read_batch(unsigned port, const char *req, unsigned pause_ms, const stall *st,
                         size_t *expected) {
    sv_conn c;
    CHECK(connect_small_window(&c, port) == 0 && sv_send(&c, req, strlen(req)) == 0);
    size_t got = read_slowly(&c, pause_ms, st, expected);
    sv_close(&c);
    return got;
}

static void hx_case_slow_reader(void) {
    HX_PATH(path, "slow.vwi");
    vw_index *ix = hx_make_index(path, 5000, DIM, 41);
    CHECK(ix != NULL);
    vw_index_free(ix);
    /* --timeout-ms 10000: the slow transfer of the answer (at least 14 s:
     * the reader's pauses alone add up to that) does not fit in it, so the
     * server must measure a client's progress, not the transfer; on a
     * loaded machine the gaps between two send()s that take more bytes
     * (the kernel takes more only once a good part of its send buffer is
     * free) grow past it too, and the server must count the send queue
     * draining as progress. The searches of the batch get their own budget
     * (--search-timeout-ms), out of reach: how long they take on a loaded
     * machine (over 10 s in a Debug build with 4 test jobs on 2 cores) has
     * nothing to do with the transfer tested here. */
    sv_server s;
    const char *const args[] = {
        "--timeout-ms", "10000", "--search-timeout-ms", "3600000", "--threads", "2", NULL};
    if (hx_serve(&s, path, hx_file("slow.log"), args, NULL) != 0) {
        check_failures++;
        return;
    }
    /* 128 queries x k 4096: about 9 MB of JSON, of which the kernel's socket
     * buffers hold at most about 4 MB: the rest waits on the reader. */
    char *body = hx_batch_body(128, DIM, 4096, 4096);
    char *req = sv_format_request("POST", "/search/batch", body, NULL);
    size_t expected;
    size_t got = read_batch(s.port, req, 50, NULL, &expected); /* < 640 KB/s: 14 s or more */
    if (!(expected > 8000000 && got == expected)) {
        fprintf(stderr, "a steady client read %zu of %zu bytes\n", got, expected);
        check_failures++;
    }
    long long before = hx_stat(s.port, "timeouts");
    CHECK(before == 0); /* the steady client was never dropped */

    /* A client that takes nothing for longer than --timeout-ms is dropped:
     * it reads on only once the server counted the timeout, and finds the
     * answer cut short. */
    stall st = {s.port, before};
    got = read_batch(s.port, req, 0, &st, &expected);
    if (!(expected > 8000000 && got < expected)) {
        fprintf(stderr, "a stalled client read %zu of %zu bytes\n", got, expected);
        check_failures++;
    }
    CHECK(hx_stat(s.port, "timeouts") == before + 1);
    CHECK(sv_stop(&s) == 0);
    free(req);
    free(body);
}

/* ------------------------------------------------------------------ fd_limit */

/* Opens n connections and sends GET / on each; counts 200s and 503s (the
 * 200 connections stay open until the end). Every one must be answered. */
static void flood(unsigned port, int n, int *ok, int *refused, const char *refusal) {
    sv_conn *c = calloc((size_t)n, sizeof *c);
    *ok = *refused = 0;
    for (int i = 0; i < n; i++) {
        sv_response r;
        if (sv_connect(&c[i], port) != 0) {
            fprintf(stderr, "connection %d: connect failed\n", i);
            check_failures++;
            continue;
        }
        struct timeval tv = {10, 0};
        setsockopt(c[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (sv_exchange(&c[i], "GET", "/", NULL, &r) != 0) {
            fprintf(stderr, "connection %d: no answer within 10 s\n", i);
            check_failures++;
        } else if (r.status == 200) {
            (*ok)++;
        } else if (r.status == 503 && r.body && strstr(r.body, refusal) != NULL) {
            (*refused)++;
        } else {
            fprintf(stderr, "connection %d: %d %s\n", i, r.status, r.body ? r.body : "");
            check_failures++;
        }
        sv_response_free(&r);
    }
    for (int i = 0; i < n; i++)
        sv_close(&c[i]);
    free(c);
}

static int count_open_fds(pid_t pid) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static void hx_case_fd_limit(void) {
    HX_PATH(path, "fd.vwi");
    vw_index *ix = hx_make_index(path, 300, DIM, 51);
    CHECK(ix != NULL);
    vw_index_free(ix);
    /* ulimit -n 40: max-connections fits in what is left. */
    sv_server s;
    hx_limits forty = {40, 0};
    if (hx_serve(&s, path, hx_file("fd.log"), NULL, &forty) != 0) {
        check_failures++;
        return;
    }
    char *log = hx_slurp(hx_file("fd.log"), NULL);
    const char *mc = log ? strstr(log, "max_connections=") : NULL;
    long max_conn = mc ? strtol(mc + 16, NULL, 10) : -1;
    CHECK(max_conn > 0 && max_conn <= 40 - 8);
    free(log);
    int ok = 0, refused = 0;
    flood(s.port, 60, &ok, &refused, "too many connections");
    CHECK(ok == max_conn && refused == 60 - max_conn);
    CHECK(sv_stop(&s) == 0);

    /* The limit lowered under a running server: accept(2) fails with
     * EMFILE, and the clients still get their 503 at once. */
    if (hx_serve(&s, path, hx_file("fd2.log"), NULL, NULL) != 0) {
        check_failures++;
        return;
    }
    int open_now = count_open_fds(s.pid);
    struct rlimit low = {(rlim_t)open_now + 3, (rlim_t)open_now + 3};
    CHECK(prlimit(s.pid, RLIMIT_NOFILE, &low, NULL) == 0);
    flood(s.port, 20, &ok, &refused, "out of file descriptors");
    CHECK(ok >= 1 && refused >= 10 && ok + refused == 20);
    CHECK(sv_stop(&s) == 0);
}

int main(int argc, char **argv) {
    static const hx_case cases[] = {{"mmap_overwrite", hx_case_mmap_overwrite},
                                    {"log_pipe", hx_case_log_pipe},
                                    {"work_budget", hx_case_work_budget},
                                    {"slow_reader", hx_case_slow_reader},
                                    {"fd_limit", hx_case_fd_limit}};
    return hx_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
