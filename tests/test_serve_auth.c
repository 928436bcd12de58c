/* vw-serve's API keys (--api-keys) end to end, every scope against every
 * route class and every status:
 *   - GET / and /metrics open, every other route 401 without a key (with
 *     WWW-Authenticate: Bearer and FastAPI's {"detail":"Not authenticated"}),
 *     401 with a key not in the file (error="invalid_token");
 *   - a read key searches, reads vectors, /stats and /openapi.json, and gets
 *     403 on the writes and the reload; a write key writes (Bearer and
 *     X-API-Key alike) and gets 403 on the reload; an admin key reloads
 *     (409 here: the index is the write log's, past the key check);
 *   - /openapi.json declares the schemes, GET / open ("security": []);
 *   - the key's name is in the access log, never the key;
 *   - SIGHUP reads the file again: a new key works, a removed one is 401; a
 *     file that became readable by others is refused and the keys stay;
 *   - --auth-all closes GET / and /metrics too;
 *   - a key file readable by others, or with a bad line, is refused at start;
 *     a server taking writes on a non-loopback address without keys warns;
 *   - small things: the 404's whole text, a POST /snapshot without
 *     Content-Length (an empty body, RFC 9112).
 * Usage: test_serve_auth <vw-serve binary> <scratch directory> */
#include "test_serve_util.h"

#define DIM 8

#define KEY_READ  "read-key-0123456789abcdef"
#define KEY_WRITE "write-key-0123456789abcdef"
#define KEY_ADMIN "admin-key-0123456789abcdef"
#define KEY_NEW   "new-read-key-0123456789ab"
#define BEARER(k) "Authorization: Bearer " k "\r\n"
#define XKEY(k)   "X-API-Key: " k "\r\n"

static const char *binary;
static char dir[256], data_dir[300], seed_path[300], log_path[300], keys_path[300],
    access_path[300];

static const char *const upsert = "{\"ids\":[900000],\"vectors\":[[9,9,9,9,9,9,9,9]]}";
static const char *const query = "{\"query_vector\":[1,1,1,1,1,1,1,1],\"k\":3}";

/* One request with extra headers on a fresh connection; its status. */
static int call(unsigned port, const char *method, const char *path, const char *body,
                const char *headers, sv_response *r) {
    memset(r, 0, sizeof *r);
    sv_conn c;
    if (sv_connect(&c, port) != 0)
        return -1;
    char *req = sv_format_request(method, path, body, headers);
    int rc = req && sv_send(&c, req, strlen(req)) == 0 ? sv_read_response(&c, r) : -1;
    free(req);
    sv_close(&c);
    return rc == 0 ? r->status : -1;
}

static int status_of(unsigned port, const char *method, const char *path, const char *body,
                     const char *headers) {
    sv_response r;
    int st = call(port, method, path, body, headers, &r);
    sv_response_free(&r);
    return st;
}

/* The status is `status` and the body holds `part` (and the header
 * `hname` is `hvalue` when given). */
static int answer_is(unsigned port, const char *method, const char *path, const char *body,
                     const char *headers, int status, const char *part, const char *hname,
                     const char *hvalue) {
    sv_response r;
    int st = call(port, method, path, body, headers, &r);
    char v[128];
    int ok = st == status && r.body && strstr(r.body, part) != NULL &&
             (hname == NULL || (sv_header(&r, hname, v, sizeof v) && strcmp(v, hvalue) == 0));
    if (!ok)
        fprintf(stderr, "%s %s: %d %s (wanted %d with '%s')\n", method, path, st,
                r.body ? r.body : "", status, part);
    sv_response_free(&r);
    return ok;
}

static int write_keys(const char *text, mode_t mode) {
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", keys_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    fclose(f);
    /* rename: the server never reads a half-written file */
    return chmod(tmp, mode) == 0 && rename(tmp, keys_path) == 0 ? 0 : -1;
}

static int file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Waits (up to 20 s) until the file holds `needle`. */
static int wait_file_has(const char *path, const char *needle) {
    for (int i = 0; i < 2000; i++) {
        if (file_has(path, needle))
            return 1;
        sv_sleep_ms(10);
    }
    return 0;
}

/* How many lines of the file hold `needle`. */
static int lines_with(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void without_key(unsigned port) {
    CHECK(status_of(port, "GET", "/", NULL, NULL) == 200);
    CHECK(status_of(port, "GET", "/metrics", NULL, NULL) == 200);
    CHECK(answer_is(port, "GET", "/stats", NULL, NULL, 401, "\"detail\":\"Not authenticated\"",
                    "WWW-Authenticate", "Bearer"));
    CHECK(answer_is(port, "POST", "/search", query, NULL, 401, "Not authenticated",
                    "WWW-Authenticate", "Bearer"));
    CHECK(status_of(port, "POST", "/search/batch", "{}", NULL) == 401);
    CHECK(status_of(port, "GET", "/openapi.json", NULL, NULL) == 401);
    CHECK(status_of(port, "GET", "/vectors/1001", NULL, NULL) == 401);
    CHECK(status_of(port, "POST", "/vectors", upsert, NULL) == 401);
    CHECK(status_of(port, "DELETE", "/vectors/1001", NULL, NULL) == 401);
    CHECK(status_of(port, "POST", "/snapshot", "", NULL) == 401);
    CHECK(status_of(port, "POST", "/admin/reload", "", NULL) == 401);
    /* an unknown key, a key one byte short, another scheme */
    CHECK(answer_is(port, "POST", "/search", query, BEARER("read-key-0123456789abcdeX"), 401,
                    "\"detail\":\"Invalid API key\"", "WWW-Authenticate",
                    "Bearer error=\"invalid_token\""));
    CHECK(status_of(port, "POST", "/search", query, XKEY("read-key-0123456789abcde")) == 401);
    CHECK(status_of(port, "GET", "/stats", NULL, "Authorization: Basic dTpw\r\n") == 401);
    /* routing comes first, as in FastAPI: an unknown path is a 404 */
    CHECK(status_of(port, "GET", "/nope", NULL, NULL) == 404);
}

static void read_scope(unsigned port) {
    const char *h = BEARER(KEY_READ);
    CHECK(status_of(port, "POST", "/search", query, h) == 200);
    CHECK(status_of(port, "POST", "/search", query, XKEY(KEY_READ)) == 200);
    CHECK(status_of(port, "GET", "/stats", NULL, h) == 200);
    CHECK(status_of(port, "GET", "/vectors/1001", NULL, h) == 200);
    CHECK(answer_is(port, "POST", "/vectors", upsert, h, 403,
                    "the API key 'reader' has the read scope; /vectors needs write", NULL, NULL));
    CHECK(status_of(port, "DELETE", "/vectors/1001", NULL, h) == 403);
    CHECK(status_of(port, "POST", "/snapshot", "", h) == 403);
    CHECK(status_of(port, "POST", "/admin/reload", "", h) == 403);
    sv_response r;
    CHECK(call(port, "GET", "/openapi.json", NULL, h, &r) == 200);
    CHECK(r.body && strstr(r.body, "\"securitySchemes\":{\"bearer\":{\"type\":\"http\","
                                   "\"scheme\":\"bearer\""));
    CHECK(r.body && strstr(r.body, "\"apiKey\":{\"type\":\"apiKey\",\"in\":\"header\","
                                   "\"name\":\"X-API-Key\"}"));
    CHECK(r.body && strstr(r.body, "\"/\":{\"get\":{\"operationId\":\"health\","));
    CHECK(r.body && strstr(r.body, "\"security\":[]"));
    CHECK(r.body && strstr(r.body, "\"x-scope\":\"write\""));
    sv_response_free(&r);
}

static void write_and_admin_scopes(unsigned port) {
    const char *w = BEARER(KEY_WRITE);
    CHECK(answer_is(port, "POST", "/vectors", upsert, w, 200, "{\"upserted\":1}", NULL, NULL));
    CHECK(status_of(port, "GET", "/vectors/900000", NULL, XKEY(KEY_WRITE)) == 200);
    CHECK(status_of(port, "DELETE", "/vectors/1001", NULL, XKEY(KEY_WRITE)) == 200);
    CHECK(status_of(port, "POST", "/search", query, w) == 200);
    CHECK(answer_is(port, "POST", "/admin/reload", "", w, 403, "needs admin", NULL, NULL));
    /* past the key: the reload rules of a server with --data */
    CHECK(status_of(port, "POST", "/admin/reload", "", BEARER(KEY_ADMIN)) == 409);
    CHECK(status_of(port, "POST", "/vectors", upsert, BEARER(KEY_ADMIN)) == 200);
    /* a POST without Content-Length has an empty body (RFC 9112 6.3) */
    CHECK(
        answer_is(port, "POST", "/snapshot", NULL, w, 200, "\"snapshot\":\"written\"", NULL, NULL));
    /* the 404's whole text, not its first 199 characters */
    CHECK(answer_is(port, "GET", "/nope", NULL, NULL, 404, "(and POST /admin/reload with --admin)",
                    NULL, NULL));
}

/* SIGHUP reads the file again; a file that is refused changes nothing. */
static void sighup(sv_server *s) {
    CHECK(write_keys("read " KEY_NEW " newcomer\nwrite " KEY_WRITE " writer\n", 0600) == 0);
    CHECK(kill(s->pid, SIGHUP) == 0);
    int took = 0;
    for (int i = 0; i < 2000 && !took; i++) { /* until the event loop has read it */
        took = status_of(s->port, "GET", "/stats", NULL, BEARER(KEY_NEW)) == 200;
        if (!took)
            sv_sleep_ms(10);
    }
    CHECK(took);
    CHECK(status_of(s->port, "GET", "/stats", NULL, BEARER(KEY_READ)) == 401);
    CHECK(write_keys("read " KEY_READ " reader\n", 0644) == 0);
    CHECK(kill(s->pid, SIGHUP) == 0);
    CHECK(wait_file_has(log_path, "the keys read before stay in force"));
    CHECK(status_of(s->port, "GET", "/stats", NULL, BEARER(KEY_NEW)) == 200);
    CHECK(status_of(s->port, "GET", "/stats", NULL, BEARER(KEY_READ)) == 401);
}

static pid_t run_quietly(const char *const *argv, const char *err_path) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDERR_FILENO);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void refused_files(void) {
    char err[320];
    snprintf(err, sizeof err, "%s/refused.log", dir);
    const char *argv[] = {binary, "-x", seed_path, "--port", "0", "--api-keys", keys_path, NULL};
    CHECK(write_keys("read " KEY_READ "\n", 0640) == 0);
    CHECK(sv_wait_exit(run_quietly(argv, err), 20000) == 1);
    CHECK(file_has(err, "is accessible to others; it must be a regular file that only its owner"));
    CHECK(write_keys("read " KEY_READ "\nsuper " KEY_WRITE "\n", 0600) == 0);
    CHECK(sv_wait_exit(run_quietly(argv, err), 20000) == 1);
    CHECK(file_has(err, ":2: the scope must be read, write or admin"));
    CHECK(write_keys("read short\n", 0600) == 0);
    CHECK(sv_wait_exit(run_quietly(argv, err), 20000) == 1);
    CHECK(file_has(err, ":1: a key is 16 to 255 printable characters"));
    const char *all[] = {binary, "-x", seed_path, "--auth-all", NULL};
    CHECK(sv_wait_exit(run_quietly(all, err), 20000) == 2);
}

static void auth_all(void) {
    CHECK(write_keys("read " KEY_READ " reader\n", 0600) == 0);
    sv_server s;
    const char *extra[] = {"--api-keys", keys_path, "--auth-all", NULL};
    if (sv_start(&s, binary, seed_path, log_path, extra) != 0) {
        check_failures++;
        return;
    }
    CHECK(status_of(s.port, "GET", "/", NULL, NULL) == 401);
    CHECK(status_of(s.port, "GET", "/metrics", NULL, NULL) == 401);
    CHECK(status_of(s.port, "GET", "/", NULL, BEARER(KEY_READ)) == 200);
    CHECK(status_of(s.port, "GET", "/metrics", NULL, XKEY(KEY_READ)) == 200);
    CHECK(status_of(s.port, "POST", "/vectors", upsert, BEARER(KEY_READ)) == 403);
    CHECK(!file_has(log_path, "warning: writes are open"));
    CHECK(sv_stop(&s) == 0);
}

/* Writes on every address without keys: a warning at start; with keys or
 * on loopback none. */
static void open_writes_warning(void) {
    char data2[320];
    snprintf(data2, sizeof data2, "%s/data2", dir);
    sv_server s;
    const char *extra[] = {"--data", data2, "--host", "0.0.0.0", NULL};
    if (sv_start(&s, binary, seed_path, log_path, extra) != 0) {
        check_failures++;
        return;
    }
    CHECK(file_has(log_path, "warning: writes are open to every client that can reach 0.0.0.0"));
    CHECK(sv_stop(&s) == 0);
    const char *keyed[] = {"--data", data2, "--host", "0.0.0.0", "--api-keys", keys_path, NULL};
    if (sv_start(&s, binary, seed_path, log_path, keyed) != 0) {
        check_failures++;
        return;
    }
    CHECK(!file_has(log_path, "warning: writes are open"));
    CHECK(sv_stop(&s) == 0);
}

int main(int argc, char **argv) {
    int bad = sv_scratch_args(argc, argv, "auth", &binary, dir, sizeof dir);
    if (bad)
        return bad;
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(seed_path, sizeof seed_path, "%s/seed.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
    snprintf(keys_path, sizeof keys_path, "%s/keys", dir);
    snprintf(access_path, sizeof access_path, "%s/access.log", dir);
    vw_index_free(sv_make_index(seed_path, 300, DIM, VW_METRIC_L2));
    CHECK(write_keys("# who may do what\n\nread " KEY_READ " reader\n"
                     "write\t" KEY_WRITE "\twriter\nadmin " KEY_ADMIN "\n",
                     0600) == 0);
    sv_server s;
    const char *extra[] = {"--data",    data_dir, "--admin", "--api-keys",
                           keys_path,   "--host", "0.0.0.0", "--access-log",
                           access_path, "-t",     "2",       NULL};
    if (sv_start(&s, binary, seed_path, log_path, extra) != 0)
        return 1;
    CHECK(file_has(log_path, "API keys: 3 from"));
    CHECK(!file_has(log_path, "warning: writes are open"));
    without_key(s.port);
    read_scope(s.port);
    write_and_admin_scopes(s.port);
    sighup(&s);
    CHECK(sv_stop(&s) == 0);
    /* the access log names the key (line number when unnamed), never the key */
    CHECK(lines_with(access_path, " POST /search 200 ") >= 3);
    CHECK(lines_with(access_path, " reader -") >= 3);
    CHECK(lines_with(access_path, "POST /admin/reload 409 ") == 1 &&
          lines_with(access_path, " line5 -") >= 2);
    CHECK(lines_with(access_path, "key-0123456789") == 0);
    refused_files();
    auth_all();
    open_writes_warning();
    printf("test_serve_auth: %s\n", check_failures ? "FAILED" : "all checks passed");
    if (check_failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_failures ? 1 : 0;
}
