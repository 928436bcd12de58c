/*
 * vw-serve - the HTTP/1.1 search API over an index file.
 *
 *   GET  /              health: {"status":"ok","count":N,"dim":D}
 *   GET  /stats         index and server statistics
 *   POST /search        {"query_vector":[...],"k":10,"ef_search":64}
 *                       -> {"indices":[...],"distances":[...]}
 *   POST /search/batch  {"query_vectors":[[...],...],"k":10}
 *                       -> {"results":[{"indices":..,"distances":..},...]}
 *   GET  /metrics       Prometheus text
 *   GET  /openapi.json  the OpenAPI 3.1 description of all of this
 *   POST /admin/reload  {"path": "new.vwi"} (optional): swap the index in
 *                       (with --admin, loopback clients only); SIGHUP too
 *   GET /vectors/{id}, and with --data DIR the write API (writes.c):
 *   POST /vectors, DELETE /vectors/{id}, POST /snapshot
 *
 * This file reads the options, loads the index (or opens the data
 * directory's store) and hands over to server.c.
 */
#include "server.h"

#include "api.h"
#include "auth.h"
#include "cli.h"
#include "fault.h"
#include "index_files.h"
#include "log.h"
#include "machine.h"
#include "vwhnsw.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Descriptors besides the connections: stdio, listener, epoll, eventfd,
 * signalfd, inotify, the spare for refusing connections, an index file
 * being loaded, and a margin. */
#define FD_RESERVE 16u

/* The end of --help: endpoints and signals. */
static void usage_signals(void) {
    printf("\n"
           "Endpoints: GET /, GET /stats, POST /search, POST /search/batch, GET /metrics,\n"
           "GET /openapi.json, GET /vectors/{id}; POST /admin/reload with --admin; with\n"
           "--data also POST /vectors, DELETE /vectors/{id}, POST /snapshot.\n"
           "SIGHUP: read --api-keys again (a file that is refused leaves the keys as they\n"
           "were), load the index file again and swap it in; searches in flight finish on\n"
           "the old one, and a file that does not load leaves the old one serving. With\n"
           "--data the index is the write log's: SIGHUP only re-reads the keys and POST\n"
           "/admin/reload is refused.\n"
           "SIGTERM or SIGINT: stop accepting, answer the requests in flight (a batch is\n"
           "cut short with 503), exit 0; while the index loads they end the process.\n"
           "SIGUSR1: write a snapshot (with --data).\n"
           "With --mmap, replace the index file by renaming a new file over it: the server\n"
           "keeps serving the old one. A file changed in place is loaded again (503 meanwhile).\n");
}

static void usage(void) {
    printf(
        "Usage: vw-serve -x INDEX [options]\n"
        "       vw-serve --data DIR [-x INDEX] [options]\n"
        "Serves k-nearest-neighbour search over an index file with HTTP/1.1 and JSON.\n"
        "\n"
        "  -x, --index PATH         index file written by vw-build, or a Faiss\n"
        "                           (faiss.write_index) or hnswlib (save_index) file;\n"
        "                           required unless --data names a directory that already\n"
        "                           holds an index\n"
        "      --metric NAME        the metric of an hnswlib file: l2, ip or cosine\n"
        "      --data DIR           take writes, durably: DIR keeps a snapshot of the index\n"
        "                           and a log of every acknowledged write; the first start\n"
        "                           copies INDEX there (a Faiss or hnswlib file is\n"
        "                           converted); later starts ignore -x\n"
        "      --write-threads N    workers for writes, 1..1024 (default 8)\n"
        "      --snapshot-interval S  seconds between snapshots while writes arrive, 0 = only\n"
        "                           on SIGUSR1, POST /snapshot or the log limit (default 300)\n"
        "      --snapshot-log-bytes B  snapshot when the log reaches B bytes, 0 = no limit\n"
        "                           (default 1073741824)\n"
        "      --max-write-body BYTES  largest bulk load, POST /vectors as application/x-ndjson\n"
        "                           or application/x-npy, else 413 (default 1073741824)\n"
        "      --host ADDR          address to listen on (default 127.0.0.1)\n"
        "  -p, --port N             TCP port, 0 = any free port (default 8000)\n"
        "      --ef N               default ef_search, 1..%u (default 64)\n"
        "  -t, --threads N          event loops and search workers, 0 = all CPUs (default 0)\n"
        "      --mmap               map the index file instead of reading it into memory\n"
        "      --max-body BYTES     largest request body, else 413 (default 1048576)\n"
        "      --timeout-ms MS      a request must arrive within MS (else 408), its searches\n"
        "                           stop after MS (503), a client that takes no bytes of its\n"
        "                           answer for MS and idle keep-alive connections are\n"
        "                           closed (default 10000)\n"
        "      --search-timeout-ms MS  a request's searches stop after MS instead (503)\n"
        "                           (default: --timeout-ms)\n"
        "      --max-connections N  open connections; more are answered 503 and closed\n"
        "                           (default 1024, lowered to fit the descriptor limit)\n"
        "      --queue N            searches waiting for a worker; more get 503 (default 1024)\n"
        "      --max-work N         search work one request may ask for, counted as\n"
        "                           queries x max(k, ef_search); more is 422 (default %u)\n"
        "      --normalize          normalize every query to unit length before searching an\n"
        "                           l2 or ip index (as the original Python service did);\n"
        "                           cosine indexes always do\n"
        "      --access-log FILE    one line per request to FILE (appended), or - for\n"
        "                           standard output (default: none)\n"
        "      --admin              answer POST /admin/reload (from loopback clients only,\n"
        "                           or with an admin key)\n"
        "      --api-keys FILE      require an API key (Authorization: Bearer KEY or\n"
        "                           X-API-Key: KEY) on every route but GET / and /metrics:\n"
        "                           one 'SCOPE KEY [NAME]' per line, SCOPE read, write\n"
        "                           (also upserts, deletes, snapshots) or admin (also\n"
        "                           reload); the file must be mode 600; SIGHUP re-reads it\n"
        "      --auth-all           require a read key for GET / and /metrics too\n"
        "  -h, --help               show this help\n"
        "  -V, --version            show the version\n",
        VW_MAX_EF, API_DEFAULT_MAX_WORK);
    usage_signals();
}

typedef struct options {
    serve_config cfg;
    const char *metric; /* --metric, for an hnswlib file */
    int mmap;
    int max_connections_given;
} options;

enum {
    OPT_HOST = 256,
    OPT_EF,
    OPT_MMAP,
    OPT_MAX_BODY,
    OPT_TIMEOUT,
    OPT_SEARCH_TIMEOUT,
    OPT_MAX_CONN,
    OPT_QUEUE,
    OPT_MAX_WORK,
    OPT_NORMALIZE,
    OPT_METRIC,
    OPT_ACCESS_LOG,
    OPT_ADMIN,
    OPT_DATA,
    OPT_WRITE_THREADS,
    OPT_SNAPSHOT_INTERVAL,
    OPT_SNAPSHOT_LOG_BYTES,
    OPT_API_KEYS,
    OPT_MAX_WRITE_BODY,
    OPT_AUTH_ALL
};

static const struct option longopts[] = {
    {"index", required_argument, NULL, 'x'},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, 'p'},
    {"ef", required_argument, NULL, OPT_EF},
    {"threads", required_argument, NULL, 't'},
    {"mmap", no_argument, NULL, OPT_MMAP},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"search-timeout-ms", required_argument, NULL, OPT_SEARCH_TIMEOUT},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"max-work", required_argument, NULL, OPT_MAX_WORK},
    {"normalize", no_argument, NULL, OPT_NORMALIZE},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"admin", no_argument, NULL, OPT_ADMIN},
    {"data", required_argument, NULL, OPT_DATA},
    {"write-threads", required_argument, NULL, OPT_WRITE_THREADS},
    {"snapshot-interval", required_argument, NULL, OPT_SNAPSHOT_INTERVAL},
    {"snapshot-log-bytes", required_argument, NULL, OPT_SNAPSHOT_LOG_BYTES},
    {"api-keys", required_argument, NULL, OPT_API_KEYS},
    {"max-write-body", required_argument, NULL, OPT_MAX_WRITE_BODY},
    {"auth-all", no_argument, NULL, OPT_AUTH_ALL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}};

/* The options of writes and of who may do what. Exits on --help,
 * --version and usage errors (status 2). */
static void parse_access_option(serve_config *c, int ch, char **argv) {
    switch (ch) {
    case OPT_ADMIN:
        c->admin = 1;
        break;
    case OPT_DATA:
        c->data_dir = optarg;
        break;
    case OPT_WRITE_THREADS:
        c->write_threads = tool_parse_u32("--write-threads", optarg, 1, 1024);
        break;
    case OPT_SNAPSHOT_INTERVAL:
        c->snapshot_interval_s = tool_parse_u32("--snapshot-interval", optarg, 0, 31536000);
        break;
    case OPT_SNAPSHOT_LOG_BYTES:
        c->snapshot_log_bytes = tool_parse_u64("--snapshot-log-bytes", optarg, 0, UINT64_MAX);
        break;
    case OPT_API_KEYS:
        c->api_keys = optarg;
        break;
    case OPT_MAX_WRITE_BODY:
        c->max_write_body = tool_parse_u64("--max-write-body", optarg, 1, (uint64_t)1 << 40);
        break;
    case OPT_AUTH_ALL:
        c->auth_all = 1;
        break;
    default:
        tool_other_option(ch, argv, usage);
    }
}

/* Exits on --help, --version and usage errors (status 2). */
static void parse_option(options *o, unsigned *threads, int ch, char **argv) {
    serve_config *c = &o->cfg;
    switch (ch) {
    case 'x':
        c->index_path = optarg;
        break;
    case OPT_HOST:
        c->host = optarg;
        break;
    case 'p':
        c->port = tool_parse_u32("--port", optarg, 0, 65535);
        break;
    case OPT_EF:
        c->ef = tool_parse_u32("--ef", optarg, 1, VW_MAX_EF);
        break;
    case 't':
        *threads = tool_parse_u32("--threads", optarg, 0, 1024);
        break;
    case OPT_MMAP:
        o->mmap = 1;
        break;
    case OPT_MAX_BODY:
        c->max_body = tool_parse_u64("--max-body", optarg, 1, 1u << 30);
        break;
    case OPT_TIMEOUT:
        c->timeout_ms = tool_parse_u32("--timeout-ms", optarg, 1, 3600000);
        break;
    case OPT_SEARCH_TIMEOUT:
        c->search_timeout_ms = tool_parse_u32("--search-timeout-ms", optarg, 1, 3600000);
        c->search_timeout_flag = "--search-timeout-ms";
        break;
    case OPT_MAX_CONN:
        c->max_connections = tool_parse_u32("--max-connections", optarg, 1, 1000000);
        o->max_connections_given = 1;
        break;
    case OPT_QUEUE:
        c->queue_depth = tool_parse_u32("--queue", optarg, 1, 1000000);
        break;
    case OPT_MAX_WORK:
        c->max_work = tool_parse_u64("--max-work", optarg, 1, UINT64_MAX / 2);
        break;
    case OPT_NORMALIZE:
        c->normalize = 1;
        break;
    case OPT_METRIC:
        o->metric = optarg;
        break;
    case OPT_ACCESS_LOG:
        c->access_log = optarg;
        break;
    default:
        parse_access_option(c, ch, argv);
    }
}

static void parse_options(int argc, char **argv, options *o) {
    o->cfg = (serve_config){.host = "127.0.0.1",
                            .port = 8000,
                            .ef = 64,
                            .max_body = 1u << 20,
                            .max_write_body = (uint64_t)1 << 30,
                            .timeout_ms = 10000,
                            .max_connections = 1024,
                            .queue_depth = 1024,
                            .max_work = API_DEFAULT_MAX_WORK,
                            .write_threads = 8,
                            .snapshot_interval_s = 300,
                            .snapshot_log_bytes = (uint64_t)1 << 30};
    unsigned threads = 0;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":x:p:t:hV", longopts, NULL)) != -1)
        parse_option(o, &threads, ch, argv);
    tool_no_operands(argc, argv);
    if (o->cfg.index_path == NULL && o->cfg.data_dir == NULL)
        tool_usage_error("an index is required (-x INDEX, or --data DIR)");
    if (o->cfg.data_dir && o->mmap)
        tool_usage_error("--mmap maps the index read-only; it cannot be used with --data");
    if (o->cfg.auth_all && o->cfg.api_keys == NULL)
        tool_usage_error("--auth-all needs --api-keys FILE");
    if (o->cfg.search_timeout_flag == NULL) {
        o->cfg.search_timeout_ms = o->cfg.timeout_ms;
        o->cfg.search_timeout_flag = "--timeout-ms";
    }
    unsigned cpus = tool_cpu_count();
    o->cfg.threads = threads ? threads : (cpus > 1024 ? 1024 : cpus);
}

/* Each connection needs a descriptor: raise the soft limit as far as allowed
 * and make --max-connections fit in it, so that the limit, not accept(2)
 * failing, decides who gets a 503. */
static void fit_descriptor_limit(options *o) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)o->cfg.max_connections + FD_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return;
    if (rl.rlim_cur <= FD_RESERVE)
        tool_die("the file descriptor limit (%llu) leaves no room for connections; raise it "
                 "(ulimit -n) above %u",
                 (unsigned long long)rl.rlim_cur, FD_RESERVE);
    unsigned fit = (unsigned)(rl.rlim_cur - FD_RESERVE);
    if (o->max_connections_given)
        tool_die("--max-connections %u needs %llu file descriptors but the limit is %llu; "
                 "raise it (ulimit -n) or ask for at most %u",
                 o->cfg.max_connections, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
                 fit);
    o->cfg.max_connections = fit;
}

/* The first start of a data directory from a Faiss or hnswlib file: the
 * file is converted (graph kept, as vw-build --from does) into a vwhnsw
 * file in the directory, which seeds the store and is then removed. The
 * path of the file to seed from (`path` itself for a vwhnsw file or when
 * the directory already holds a snapshot); exits when it cannot convert. */
static const char *seed_file(const options *o, char *tmp, size_t cap) {
    const serve_config *c = &o->cfg;
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    snprintf(tmp, cap, "%s/index.vwi", c->data_dir);
    if (c->index_path == NULL || access(tmp, F_OK) == 0 ||
        vw_index_detect(c->index_path, &format) != VW_OK || format == VW_INDEX_FORMAT_VWHNSW)
        return c->index_path;
    mkdir(c->data_dir, 0755); /* the store makes it too; the file goes in first */
    snprintf(tmp, cap, "%s/import.vwi", c->data_dir);
    serve_log("data %s: converting the %s file %s", c->data_dir, vw_index_format_name(format),
              c->index_path);
    vw_index *ix = tool_open_index(c->index_path, VW_LOAD_DEFAULT, o->metric);
    vw_status st = vw_index_save(ix, tmp);
    vw_index_free(ix);
    if (st != VW_OK)
        tool_die_status(st, tmp);
    return tmp;
}

/* The store of the data directory, opened and recovered, and its index to
 * serve. Exits with a message when it cannot be opened. */
static served_index *open_store(options *o) {
    serve_config *c = &o->cfg;
    char converted[4096];
    const char *seed = seed_file(o, converted, sizeof converted);
    vw_status st = vw_store_open(c->data_dir, seed, &c->store);
    if (seed != c->index_path)
        unlink(seed);
    if (st != VW_OK)
        tool_die_status(st, c->data_dir);
    vw_store_stats s;
    vw_store_get_stats(c->store, &s);
    serve_log("data %s: replayed %llu log records (%llu writes)%s%llu bytes", c->data_dir,
              (unsigned long long)s.replayed_records, (unsigned long long)s.replayed_writes,
              s.dropped_bytes ? ", dropped a torn tail of " : ", log ",
              (unsigned long long)(s.dropped_bytes ? s.dropped_bytes : s.log_bytes));
    if (s.skipped_records)
        serve_log("data %s: skipped %llu log records the index cannot take (refused to their "
                  "clients when written; the first: %s)",
                  c->data_dir, (unsigned long long)s.skipped_records, s.skipped_detail);
    static char snapshot[4096];
    snprintf(snapshot, sizeof snapshot, "%s/index.vwi", c->data_dir);
    c->index_path = snapshot; /* what logs and /stats name */
    served_index *x = NULL;
    char err[1024];
    if (served_index_borrow(vw_store_index(c->store), snapshot, &x, err, sizeof err) != 0)
        tool_die("%s", err);
    return x;
}

/* The index to serve: the data directory's store, or the index file. */
static served_index *open_index(options *o) {
    if (o->cfg.data_dir)
        return open_store(o);
    served_index *x = NULL;
    char err[1024];
    tool_check_metric(o->cfg.index_path, o->metric);
    if (served_index_load(o->cfg.index_path, o->cfg.load_flags, o->metric, &x, err, sizeof err) !=
        0)
        tool_die("%s", err);
    return x;
}

/* An access log that cannot be written is an error before the index is
 * loaded (which can take a while), not after. */
static void check_access_log(const char *path) {
    if (path == NULL || strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        tool_die("cannot open the access log %s: %s", path, strerror(errno));
    close(fd);
}

/* A key file that will be refused is an error before the index loads. */
static void check_api_keys(const char *path) {
    if (path == NULL)
        return;
    char err[600];
    auth_keys *k = auth_load(path, err, sizeof err);
    if (k == NULL)
        tool_die("%s", err);
    auth_free(k);
}

int main(int argc, char **argv) {
    tool_init("vw-serve");
    options o;
    memset(&o, 0, sizeof o);
    parse_options(argc, argv, &o);
    fit_descriptor_limit(&o);
    check_access_log(o.cfg.access_log);
    check_api_keys(o.cfg.api_keys);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (RLIMIT_FSIZE) makes a write to the log or a
     * snapshot fail with EFBIG, answered 500 and logged, instead of killing
     * the server. */
    signal(SIGXFSZ, SIG_IGN);
    /* A SIGHUP while the index loads waits for the signalfd: it must not
     * end the process, and asks for nothing the first load does not do. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    if (fault_guard_install() != 0)
        tool_die("cannot install the SIGBUS handler");

    /* SIGTERM and SIGINT keep their default action while the index loads,
     * however long that takes (and while a store replays its log): they end
     * the process. */
    o.cfg.load_flags = o.mmap ? VW_LOAD_MMAP : VW_LOAD_DEFAULT;
    o.cfg.metric = o.metric;
    served_index *index = open_index(&o);

    /* From here on they are blocked in every thread (the server's threads
     * inherit the mask) and arrive through the event loop's signalfd, with
     * SIGHUP (a reload) and SIGUSR1 (a snapshot). */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    int rc = serve_run(index, &o.cfg, &signals);
    vw_store_close(o.cfg.store);
    return rc;
}
