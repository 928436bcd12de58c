/* vw-serve's write API end to end, with --data:
 *   - POST /vectors inserts and replaces; GET /vectors/{id} returns the
 *     vector written, a search finds it; DELETE removes it (404 after, and
 *     no search returns it); errors are 404/405/422 as documented, every
 *     body or path id that fails validation a 422 with FastAPI's detail;
 *   - the index is the write log's: SIGHUP is ignored (logged) and POST
 *     /admin/reload refused (409), and the writes stay served;
 *   - POST /snapshot writes DIR/index.vwi and empties the log; /stats shows
 *     the write counters;
 *   - a clean stop and a restart keep everything; a second server on the
 *     same directory refuses to start; --mmap with --data is a usage error;
 *   - a read-only server answers GET /vectors/{id} and refuses writes (403).
 * Usage: test_serve_writes <vw-serve binary> <scratch directory> */
#include "test_serve_util.h"

#define DIM 8

static const char *binary;
static char dir[256], data_dir[300], seed_path[300], log_path[300];

static int request(unsigned port, const char *method, const char *path, const char *body,
                   sv_response *r) {
    sv_conn c;
    if (sv_connect(&c, port) != 0)
        return -1;
    int rc = sv_exchange(&c, method, path, body, r);
    sv_close(&c);
    return rc == 0 ? r->status : -1;
}

/* Status of a request; the body is dropped. */
static int status_of(unsigned port, const char *method, const char *path, const char *body) {
    sv_response r;
    int st = request(port, method, path, body, &r);
    sv_response_free(&r);
    return st;
}

static int body_has(unsigned port, const char *method, const char *path, const char *body,
                    int status, const char *part) {
    sv_response r;
    int st = request(port, method, path, body, &r);
    int ok = st == status && r.body && strstr(r.body, part) != NULL;
    if (!ok)
        fprintf(stderr, "%s %s: %d %s (wanted %d with '%s')\n", method, path, st,
                r.body ? r.body : "", status, part);
    sv_response_free(&r);
    return ok;
}

/* The label a search for q returns first, or UINT64_MAX. */
static uint64_t nearest(unsigned port, const float *q) {
    char *body = sv_query_body(q, DIM, 1);
    sv_response r;
    uint64_t label = UINT64_MAX;
    float d;
    if (request(port, "POST", "/search", body, &r) == 200)
        sv_parse_result(r.body, &label, &d, 1, NULL);
    sv_response_free(&r);
    free(body);
    return label;
}

static int start(sv_server *s, int with_data) {
    const char *extra[] = {"--data", data_dir, "-t", "2", "--admin", NULL};
    return sv_start(s, binary, seed_path, log_path, with_data ? extra : NULL);
}

static void writes_and_errors(unsigned port) {
    const char *up = "{\"ids\":[900000,900001],\"vectors\":[[9,9,9,9,9,9,9,9],[8,8,8,8,8,8,8,8]]}";
    CHECK(body_has(port, "POST", "/vectors", up, 200, "{\"upserted\":2}"));
    CHECK(body_has(port, "GET", "/vectors/900001", NULL, 200,
                   "{\"id\":900001,\"vector\":[8,8,8,8,8,8,8,8],\"attributes\":null}"));
    float q[DIM] = {9, 9, 9, 9, 9, 9, 9, 9};
    CHECK(nearest(port, q) == 900000);
    /* replace: 900000 moves */
    CHECK(status_of(port, "POST", "/vectors",
                    "{\"ids\":[900000],\"vectors\":[[-9,-9,-9,-9,-9,-9,-9,-9]]}") == 200);
    CHECK(body_has(port, "GET", "/vectors/900000", NULL, 200, "[-9,-9,-9,-9,-9,-9,-9,-9]"));
    CHECK(nearest(port, q) == 900001);
    /* delete */
    CHECK(body_has(port, "DELETE", "/vectors/900001", NULL, 200, "{\"deleted\":900001}"));
    CHECK(body_has(port, "DELETE", "/vectors/900001", NULL, 404, "not found"));
    CHECK(status_of(port, "GET", "/vectors/900001", NULL) == 404);
    CHECK(nearest(port, q) != 900001);
    /* errors */
    CHECK(body_has(port, "POST", "/vectors", "{\"ids\":[1]}", 422,
                   "\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"vectors\"]"));
    CHECK(body_has(port, "POST", "/vectors", "{\"ids\":[1],", 422, "\"type\":\"json_invalid\""));
    CHECK(body_has(port, "POST", "/vectors", "{\"ids\":[\"1\"],\"vectors\":[[1,1,1,1,1,1,1,1]]}",
                   422, "\"loc\":[\"body\",\"ids\",0]"));
    CHECK(body_has(port, "POST", "/vectors", "{\"ids\":[1],\"vectors\":[[1,2]]}", 422,
                   "dimension is 8"));
    CHECK(body_has(port, "POST", "/vectors",
                   "{\"ids\":[2,2],\"vectors\":[[1,1,1,1,1,1,1,1],[1,1,1,1,1,1,1,1]]}", 422,
                   "appears twice"));
    CHECK(body_has(port, "GET", "/vectors/abc", NULL, 422,
                   "\"type\":\"int_parsing\",\"loc\":[\"path\",\"id\"]"));
    CHECK(status_of(port, "DELETE", "/vectors/-1", NULL) == 422);
    CHECK(status_of(port, "PUT", "/vectors/1", "{}") == 405);
    CHECK(status_of(port, "GET", "/vectors", NULL) == 405);
}

static void snapshot_and_stats(unsigned port) {
    char wal[400];
    snprintf(wal, sizeof wal, "%s/wal.log", data_dir);
    struct stat before, after;
    CHECK(stat(wal, &before) == 0 && before.st_size > 64);
    CHECK(body_has(port, "POST", "/snapshot", "", 200, "\"snapshot\":\"written\""));
    CHECK(stat(wal, &after) == 0 && after.st_size == 64);
    CHECK(body_has(port, "GET", "/stats", NULL, 200, "\"read_only\":false"));
    CHECK(body_has(port, "GET", "/stats", NULL, 200, "\"snapshots\":1"));
    CHECK(body_has(port, "GET", "/stats", NULL, 200, "\"removed\":"));
    /* /metrics counts the write routes under their own names */
    CHECK(body_has(port, "GET", "/metrics", NULL, 200,
                   "vw_http_requests_total{route=\"/vectors\",code=\"200\"} 2"));
    CHECK(body_has(port, "GET", "/metrics", NULL, 200,
                   "vw_http_requests_total{route=\"/vectors/{id}\",code=\"404\"} 2"));
    CHECK(body_has(port, "GET", "/metrics", NULL, 200,
                   "vw_http_requests_total{route=\"/vectors/{id}\",code=\"422\"} 2"));
    CHECK(body_has(port, "GET", "/metrics", NULL, 200,
                   "vw_http_requests_total{route=\"/snapshot\",code=\"200\"} 1"));
}

static int log_has(const char *needle) {
    FILE *f = fopen(log_path, "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* The store owns the index: no file is ever loaded over it. */
static void reloads_refused(sv_server *s) {
    CHECK(body_has(s->port, "POST", "/admin/reload", "", 409, "the write log's (--data)"));
    CHECK(kill(s->pid, SIGHUP) == 0);
    int logged = 0;
    for (int i = 0; i < 200 && !logged; i++) {
        logged = log_has("SIGHUP ignored: the index is the write log's");
        if (!logged)
            sv_sleep_ms(10);
    }
    CHECK(logged);
    CHECK(body_has(s->port, "GET", "/vectors/900000", NULL, 200, "[-9,-9,-9,-9,-9,-9,-9,-9]"));
    CHECK(body_has(s->port, "GET", "/stats", NULL, 200, "\"index_reloads\":0"));
}

static void refusals(void) {
    /* the directory is held by the running server */
    const char *argv_lock[] = {binary, "--data", data_dir, "--port", "0", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execv(binary, (char *const *)argv_lock);
        _exit(127);
    }
    CHECK(sv_wait_exit(pid, 20000) == 1);
    const char *argv_mmap[] = {binary, "--data", data_dir, "--mmap", NULL};
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execv(binary, (char *const *)argv_mmap);
        _exit(127);
    }
    CHECK(sv_wait_exit(pid, 20000) == 2);
}

static void read_only(void) {
    sv_server s;
    if (start(&s, 0) != 0) {
        check_failures++;
        return;
    }
    CHECK(body_has(s.port, "GET", "/vectors/1003", NULL, 200, "{\"id\":1003,\"vector\":["));
    CHECK(status_of(s.port, "GET", "/vectors/900000", NULL) == 404);
    CHECK(body_has(s.port, "POST", "/vectors", "{\"ids\":[1],\"vectors\":[[1,1,1,1,1,1,1,1]]}", 403,
                   "read-only"));
    CHECK(status_of(s.port, "DELETE", "/vectors/1003", NULL) == 403);
    CHECK(status_of(s.port, "POST", "/snapshot", "") == 403);
    CHECK(body_has(s.port, "GET", "/stats", NULL, 200, "\"read_only\":true"));
    CHECK(sv_stop(&s) == 0);
}

int main(int argc, char **argv) {
    int bad = sv_scratch_args(argc, argv, "writes", &binary, dir, sizeof dir);
    if (bad)
        return bad;
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(seed_path, sizeof seed_path, "%s/seed.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
    vw_index_free(sv_make_index(seed_path, 300, DIM, VW_METRIC_L2));
    sv_server s;
    if (start(&s, 1) != 0)
        return 1;
    writes_and_errors(s.port);
    snapshot_and_stats(s.port);
    reloads_refused(&s);
    CHECK(status_of(s.port, "POST", "/vectors",
                    "{\"ids\":[900002],\"vectors\":[[7,7,7,7,7,7,7,7]]}") == 200);
    refusals();
    CHECK(sv_stop(&s) == 0);
    /* restarted: everything is there (the shutdown wrote a snapshot) */
    if (start(&s, 1) == 0) {
        CHECK(body_has(s.port, "GET", "/vectors/900002", NULL, 200, "[7,7,7,7,7,7,7,7]"));
        CHECK(body_has(s.port, "GET", "/vectors/900000", NULL, 200, "[-9,-9,-9,-9,-9,-9,-9,-9]"));
        CHECK(status_of(s.port, "GET", "/vectors/900001", NULL) == 404);
        CHECK(body_has(s.port, "GET", "/stats", NULL, 200, "\"replayed_records\":0"));
        CHECK(sv_stop(&s) == 0);
    } else {
        check_failures++;
    }
    read_only();
    printf("test_serve_writes: %s\n", check_failures ? "FAILED" : "all checks passed");
    if (check_failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_failures ? 1 : 0;
}
