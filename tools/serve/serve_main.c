/*
 * vw-serve - the HTTP/1.1 search API over an index file.
 *
 *   GET  /              health: {"status":"ok","count":N,"dim":D}
 *   GET  /stats         index and server statistics
 *   POST /search        {"query_vector":[...],"k":10,"ef_search":64}
 *                       -> {"indices":[...],"distances":[...]}
 *   POST /search/batch  {"query_vectors":[[...],...],"k":10}
 *                       -> {"results":[{"indices":..,"distances":..},...]}
 *
 * This file reads the options, loads the index and hands over to server.c.
 */
#include "server.h"

#include "vwhnsw.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_RESERVE 64u /* descriptors kept for the listener, epoll, logs, the index */

static void usage(FILE *out) {
    fprintf(
        out,
        "Usage: vw-serve -x INDEX [options]\n"
        "Serves k-nearest-neighbour search over an index file with HTTP/1.1 and JSON.\n"
        "\n"
        "  -x, --index PATH         index file written by vw-build (required)\n"
        "      --host ADDR          address to listen on (default 127.0.0.1)\n"
        "  -p, --port N             TCP port, 0 = any free port (default 8000)\n"
        "      --ef N               default ef_search, 1..%u (default 64)\n"
        "  -t, --threads N          search worker threads, 1..1024 (default: online CPUs)\n"
        "      --mmap               map the index file instead of reading it into memory\n"
        "      --max-body BYTES     largest request body, else 413 (default 1048576)\n"
        "      --timeout-ms MS      a request must arrive within MS (else 408), idle\n"
        "                           keep-alive connections close after MS (default 10000)\n"
        "      --max-connections N  open connections; more are answered 503 and closed\n"
        "                           (default 1024)\n"
        "      --queue N            searches waiting for a worker; more get 503 (default 1024)\n"
        "      --normalize          normalize every query to unit length before searching an\n"
        "                           l2 or ip index (what the seed did); cosine indexes always do\n"
        "  -h, --help               show this help\n"
        "  -V, --version            show the version\n"
        "\n"
        "Endpoints: GET /, GET /stats, POST /search, POST /search/batch.\n"
        "SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.\n",
        VW_MAX_EF);
}

/* Parses a whole decimal string within [lo, hi]. */
static int parse_uint(const char *opt, const char *text, unsigned long long lo,
                      unsigned long long hi, unsigned long long *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || *end != '\0' || errno != 0 ||
        v < lo || v > hi) {
        fprintf(stderr, "vw-serve: %s must be an integer in %llu..%llu, got '%s'\n", opt, lo, hi,
                text);
        return -1;
    }
    *out = v;
    return 0;
}

typedef struct options {
    serve_config cfg;
    int mmap;
    int max_connections_given;
} options;

enum {
    OPT_HOST = 256,
    OPT_EF,
    OPT_MMAP,
    OPT_MAX_BODY,
    OPT_TIMEOUT,
    OPT_MAX_CONN,
    OPT_QUEUE,
    OPT_NORMALIZE
};

/* Returns 0 to run, 1 on a usage error, -1 after --help/--version (exit 0). */
static int parse_options(int argc, char **argv, options *o) {
    static const struct option longs[] = {
        {"index", required_argument, NULL, 'x'},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, 'p'},
        {"ef", required_argument, NULL, OPT_EF},
        {"threads", required_argument, NULL, 't'},
        {"mmap", no_argument, NULL, OPT_MMAP},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"normalize", no_argument, NULL, OPT_NORMALIZE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    serve_config *c = &o->cfg;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->host = "127.0.0.1";
    c->port = 8000;
    c->ef = 64;
    c->threads = cpus > 0 ? (unsigned)(cpus > 1024 ? 1024 : cpus) : 1;
    c->max_body = 1u << 20;
    c->timeout_ms = 10000;
    c->max_connections = 1024;
    c->queue_depth = 1024;
    unsigned long long v = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "x:p:t:hV", longs, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'x':
            c->index_path = optarg;
            break;
        case OPT_HOST:
            c->host = optarg;
            break;
        case 'p':
            bad = parse_uint("--port", optarg, 0, 65535, &v);
            c->port = (unsigned)v;
            break;
        case OPT_EF:
            bad = parse_uint("--ef", optarg, 1, VW_MAX_EF, &v);
            c->ef = (uint32_t)v;
            break;
        case 't':
            bad = parse_uint("--threads", optarg, 1, 1024, &v);
            c->threads = (unsigned)v;
            break;
        case OPT_MMAP:
            o->mmap = 1;
            break;
        case OPT_MAX_BODY:
            bad = parse_uint("--max-body", optarg, 1, 1ull << 30, &v);
            c->max_body = v;
            break;
        case OPT_TIMEOUT:
            bad = parse_uint("--timeout-ms", optarg, 1, 3600000, &v);
            c->timeout_ms = (unsigned)v;
            break;
        case OPT_MAX_CONN:
            bad = parse_uint("--max-connections", optarg, 1, 1000000, &v);
            c->max_connections = (unsigned)v;
            o->max_connections_given = 1;
            break;
        case OPT_QUEUE:
            bad = parse_uint("--queue", optarg, 1, 1000000, &v);
            c->queue_depth = (unsigned)v;
            break;
        case OPT_NORMALIZE:
            c->normalize = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("vw-serve (libvwhnsw) %s\n", vw_version());
            return -1;
        default:
            fprintf(stderr, "Try 'vw-serve --help'.\n");
            return 1;
        }
        if (bad)
            return 1;
    }
    if (optind < argc) {
        fprintf(stderr, "vw-serve: unexpected argument '%s'\nTry 'vw-serve --help'.\n",
                argv[optind]);
        return 1;
    }
    if (c->index_path == NULL) {
        fprintf(stderr, "vw-serve: an index is required (-x INDEX)\nTry 'vw-serve --help'.\n");
        return 1;
    }
    return 0;
}

/* Each connection needs a descriptor: raise the soft limit as far as allowed
 * and make --max-connections fit in it. */
static int fit_descriptor_limit(options *o) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = (rlim_t)o->cfg.max_connections + FD_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return 0;
    unsigned fit = rl.rlim_cur > FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 1;
    if (o->max_connections_given) {
        fprintf(stderr,
                "vw-serve: --max-connections %u needs %llu file descriptors; the limit is %llu "
                "(raise it with ulimit -n, or ask for at most %u)\n",
                o->cfg.max_connections, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
                fit);
        return -1;
    }
    o->cfg.max_connections = fit;
    return 0;
}

static vw_index *load_index(const options *o, uint64_t *file_bytes) {
    struct stat sb;
    if (stat(o->cfg.index_path, &sb) != 0) {
        fprintf(stderr, "vw-serve: %s: %s\n", o->cfg.index_path, strerror(errno));
        return NULL;
    }
    *file_bytes = (uint64_t)sb.st_size;
    vw_index *index = NULL;
    vw_status st =
        vw_index_load(o->cfg.index_path, o->mmap ? VW_LOAD_MMAP : VW_LOAD_DEFAULT, &index);
    if (st != VW_OK) {
        const char *detail = vw_last_error_detail();
        fprintf(stderr, "vw-serve: %s: %s%s%s\n", o->cfg.index_path, vw_strerror(st),
                detail[0] ? ": " : "", detail);
        return NULL;
    }
    return index;
}

int main(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    int pr = parse_options(argc, argv, &o);
    if (pr != 0)
        return pr < 0 ? 0 : 2;
    if (vw_simd_env_status() != VW_OK) {
        fprintf(stderr, "vw-serve: VW_SIMD=%s: %s\n", getenv("VW_SIMD") ? getenv("VW_SIMD") : "",
                vw_strerror(vw_simd_env_status()));
        return 1;
    }
    if (fit_descriptor_limit(&o) != 0)
        return 1;

    /* Blocked in every thread (workers inherit the mask); they arrive
     * through the event loop's signalfd instead. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    vw_index *index = load_index(&o, &o.cfg.index_file_bytes);
    if (index == NULL)
        return 1;
    vw_stats info;
    if (vw_index_stats(index, &info) == VW_OK && info.metric == VW_METRIC_COSINE)
        o.cfg.normalize = 0; /* the index normalizes cosine queries itself */
    int rc = serve_run(index, &o.cfg, &stop);
    vw_index_free(index);
    return rc;
}
