/* Bulk loads into POST /vectors end to end (application/x-ndjson and
 * application/x-npy, streamed into the write log in batches):
 *   - 20,000 NDJSON records (more than two batches) and an npy body with
 *     ?start= are all there afterwards, with their vectors; an id twice in
 *     one body ends with its later vector; the connection stays usable;
 *   - NDJSON lines with "attributes" (more than a batch): each id holds its
 *     line's (null or absent: none) and filters find them; a bad object is
 *     a 422 naming the record and the member;
 *   - a bad record part-way is a 422 whose "written" says how many leading
 *     records are durable: exactly those are there, none after;
 *   - a body that stops arriving is a 408 with "written"; over
 *     --max-write-body a 413; npy without ?start=, of the wrong width or
 *     length a 422; a read-only server 403;
 *   - kill -9 in the middle of a bulk load: after the restart the records
 *     there are a prefix of the body (whole batches), each with its vector,
 *     and every record seen durable before the kill is there;
 *   - Python's http.client (which writes the whole body before reading)
 *     gets the 413 and its detail, thanks to the lingering close.
 * Usage: test_serve_bulk <vw-serve binary> <scratch directory> <python3> <client.py> */
#include "test_serve_util.h"

#define DIM 8

static const char *binary, *python, *client_py;
static char dir[256], data_dir[300], seed_path[300], log_path[300];

/* Record i: id 5000000 + i, components exact in binary and in JSON. */
static uint64_t id_of(size_t i) {
    return 5000000u + i;
}

static size_t record(char *out, size_t cap, size_t i, unsigned salt) {
    size_t n =
        (size_t)snprintf(out, cap, "{\"id\":%llu,\"vector\":[", (unsigned long long)id_of(i));
    for (int d = 0; d < DIM; d++)
        n += (size_t)snprintf(out + n, cap - n, "%s%g", d ? "," : "",
                              (double)((i * 7 + (size_t)d + salt) % 97) / 8.0);
    n += (size_t)snprintf(out + n, cap - n, "]}");
    return n;
}

/* Records [from, to) as NDJSON, each line ending in '\n'. */
static char *ndjson(size_t from, size_t to, unsigned salt, size_t *len) {
    size_t cap = (to - from) * 128 + 1;
    char *b = malloc(cap);
    size_t n = 0;
    for (size_t i = from; b && i < to; i++) {
        n += record(b + n, cap - n, i, salt);
        b[n++] = '\n';
    }
    if (b)
        b[n] = '\0';
    *len = n;
    return b;
}

static int start(sv_server *s, const char *const *more) {
    const char *extra[16] = {"--data", data_dir, "-t", "2", "--timeout-ms", "1500"};
    int n = 6;
    for (int i = 0; more && more[i] && n < 15; i++)
        extra[n++] = more[i];
    extra[n] = NULL;
    return sv_start(s, binary, seed_path, log_path, extra);
}

static int send_head(sv_conn *c, const char *type, const char *target, size_t len) {
    char head[256];
    int n =
        snprintf(head, sizeof head,
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                 target, type, len);
    return sv_send(c, head, (size_t)n);
}

/* One bulk request on c; the response in *r. */
static int bulk(sv_conn *c, const char *type, const char *target, const char *body, size_t len,
                sv_response *r) {
    if (send_head(c, type, target, len) != 0 || sv_send(c, body, len) != 0)
        return -1;
    return sv_read_response(c, r);
}

/* Whether record i is there with the vector of `salt` (1), absent (0), or
 * there with another vector (-1). */
static int has_record(sv_conn *c, size_t i, unsigned salt) {
    char path[64], want[256];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id_of(i));
    sv_response r;
    if (sv_exchange(c, "GET", path, NULL, &r) != 0)
        return -2;
    size_t n = record(want, sizeof want, i, salt) - 1; /* GET adds the attributes */
    snprintf(want + n, sizeof want - n, ",\"attributes\":null}");
    int st = r.status;
    int same = r.body && strcmp(r.body, want) == 0;
    sv_response_free(&r);
    return st == 404 ? 0 : st == 200 && same ? 1 : -1;
}

static void ndjson_loads(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t len;
    char *body = ndjson(0, 20000, 0, &len);
    sv_response r;
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", body, len, &r) == 0 && r.status == 200 &&
          strcmp(r.body, "{\"upserted\":20000}") == 0);
    sv_response_free(&r);
    free(body);
    for (size_t i = 0; i < 20000; i += 997)
        CHECK(has_record(&c, i, 0) == 1);
    CHECK(has_record(&c, 19999, 0) == 1);
    /* the same id twice in one body: the later line wins; blank lines skipped */
    char twice[600];
    size_t n = record(twice, sizeof twice, 3, 5);
    n += (size_t)snprintf(twice + n, sizeof twice - n, "\r\n\n  \n");
    n += record(twice + n, sizeof twice - n, 3, 9);
    CHECK(bulk(&c, "application/x-ndjson; charset=utf-8", "/vectors", twice, n, &r) == 0 &&
          r.status == 200 && strcmp(r.body, "{\"upserted\":2}") == 0);
    sv_response_free(&r);
    CHECK(has_record(&c, 3, 9) == 1);
    sv_close(&c);
}

/* Line i of an NDJSON body with attributes: {"k":"<i>"} when i % 3, none
 * (member absent) when i % 3 == 0, null for the last. */
static char *ndjson_with_attrs(size_t n, size_t *len) {
    char *b = malloc(n * 96 + 1);
    size_t at = 0;
    for (size_t i = 0; b && i < n; i++) {
        at += (size_t)snprintf(b + at, 96, "{\"id\":%zu,\"vector\":[%zu,1,1,1,1,1,1,1]",
                               7000000 + i, i % 500);
        if (i == n - 1)
            at += (size_t)snprintf(b + at, 96, ",\"attributes\":null");
        else if (i % 3)
            at += (size_t)snprintf(b + at, 96, ",\"attributes\":{\"k\":\"%zu\"}", i);
        at += (size_t)snprintf(b + at, 96, "}\n");
    }
    *len = at;
    return b;
}

/* The attributes part of GET /vectors/{id}, or "" if absent. */
static void attributes_of(sv_conn *c, uint64_t id, char *out, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id);
    sv_response r;
    out[0] = '\0';
    if (sv_exchange(c, "GET", path, NULL, &r) == 0 && r.status == 200 && r.body) {
        const char *a = strstr(r.body, "\"attributes\":");
        snprintf(out, cap, "%s", a ? a + 13 : "");
    }
    sv_response_free(&r);
}

/* NDJSON lines with attributes (more than one batch): each id holds its
 * line's; a bad object is a 422 naming the record and the member, with
 * the lines before it durable. */
static void ndjson_attributes(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t len;
    char *body = ndjson_with_attrs(10000, &len), got[128];
    sv_response r;
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", body, len, &r) == 0 && r.status == 200 &&
          strcmp(r.body, "{\"upserted\":10000}") == 0);
    sv_response_free(&r);
    free(body);
    attributes_of(&c, 7000000 + 8200, got, sizeof got); /* the second batch */
    CHECK(strcmp(got, "{\"k\":\"8200\"}}") == 0);
    attributes_of(&c, 7000000 + 1, got, sizeof got);
    CHECK(strcmp(got, "{\"k\":\"1\"}}") == 0);
    attributes_of(&c, 7000000 + 3, got, sizeof got);
    CHECK(strcmp(got, "null}") == 0);
    attributes_of(&c, 7000000 + 9999, got, sizeof got);
    CHECK(strcmp(got, "null}") == 0);
    CHECK(sv_exchange(&c, "POST", "/search",
                      "{\"query_vector\":[0,1,1,1,1,1,1,1],\"k\":3,\"filter\":{\"must\":[{\"key\":"
                      "\"k\",\"match\":{\"value\":\"4001\"}}]}}",
                      &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "\"indices\":[7004001]") != NULL);
    sv_response_free(&r);
    const char *bad = "{\"id\":7100000,\"vector\":[1,1,1,1,1,1,1,1],\"attributes\":{\"a\":1}}\n"
                      "{\"id\":7100001,\"vector\":[1,1,1,1,1,1,1,1],\"attributes\":{\"a\":{}}}\n";
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", bad, strlen(bad), &r) == 0 &&
          r.status == 422 && strstr(r.body, "record 2: attributes.a") != NULL &&
          strstr(r.body, "\"written\":1") != NULL);
    sv_response_free(&r);
    attributes_of(&c, 7100000, got, sizeof got);
    CHECK(strcmp(got, "{\"a\":1}}") == 0);
    attributes_of(&c, 7100001, got, sizeof got);
    CHECK(got[0] == '\0'); /* absent */
    sv_close(&c);
}

/* A bad record at index 12000: the 12,000 before it are durable, no more. */
static void failure_part_way(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t a, b;
    char *head = ndjson(30000, 42000, 1, &a);
    char *tail = ndjson(42001, 43000, 1, &b);
    const char *bad = "{\"id\":1,\"vector\":[1,2,3]}\n";
    size_t len = a + strlen(bad) + b;
    char *body = malloc(len + 1);
    memcpy(body, head, a);
    memcpy(body + a, bad, strlen(bad));
    memcpy(body + a + strlen(bad), tail, b);
    sv_response r;
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", body, len, &r) == 0 && r.status == 422);
    CHECK(r.body && strstr(r.body, "record 12001: vector has 3 components"));
    CHECK(r.body && strstr(r.body, "\"written\":12000,\"durable\":{\"first_records\":12000}"));
    sv_response_free(&r);
    sv_close(&c);
    CHECK(sv_connect(&c, port) == 0);
    CHECK(has_record(&c, 30000, 1) == 1 && has_record(&c, 41999, 1) == 1);
    CHECK(has_record(&c, 42001, 1) == 0 && has_record(&c, 42999, 1) == 0);
    /* an unknown member is refused, not ignored */
    const char *extra = "{\"id\":7,\"vector\":[1,1,1,1,1,1,1,1],\"payload\":1}\n";
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", extra, strlen(extra), &r) == 0 &&
          r.status == 422 && strstr(r.body, "extra_forbidden"));
    sv_response_free(&r);
    sv_close(&c);
    free(head);
    free(tail);
    free(body);
}

/* A .npy body: header, then rows x DIM float32. */
/* Row r holds record base + r's vector (salt 2). */
static char *npy(size_t base, size_t rows, int width, size_t *len) {
    char dict[128];
    int dn =
        snprintf(dict, sizeof dict,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %d), }", rows, width);
    size_t hlen = 10 + (size_t)dn + 1;
    size_t pad = (64 - hlen % 64) % 64;
    size_t header = hlen + pad;
    *len = header + rows * (size_t)width * 4;
    char *b = malloc(*len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (char)((header - 10) & 0xff);
    b[9] = (char)((header - 10) >> 8);
    memcpy(b + 10, dict, (size_t)dn);
    memset(b + 10 + dn, ' ', pad);
    b[header - 1] = '\n';
    float *v = (float *)(b + header);
    for (size_t i = 0; i < rows; i++)
        for (int d = 0; d < width; d++)
            v[i * (size_t)width + (size_t)d] =
                (float)(((base + i) * 7 + (size_t)d + 2) % 97) / 8.0f;
    return b;
}

static void npy_loads(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t len;
    char *body = npy(60000, 10000, DIM, &len);
    sv_response r;
    CHECK(bulk(&c, "application/x-npy", "/vectors?start=5060000", body, len, &r) == 0 &&
          r.status == 200 && strcmp(r.body, "{\"upserted\":10000}") == 0);
    sv_response_free(&r);
    CHECK(has_record(&c, 60000, 2) == 1 && has_record(&c, 69999, 2) == 1);
    CHECK(bulk(&c, "application/x-npy", "/vectors", body, len, &r) == 0 && r.status == 422 &&
          strstr(r.body, "needs ?start=ID"));
    sv_response_free(&r);
    sv_close(&c);
    CHECK(sv_connect(&c, port) == 0);
    CHECK(bulk(&c, "application/x-npy", "/vectors?start=1", body, len - 4, &r) == 0 &&
          r.status == 422 && strstr(r.body, "rows x dim x 4"));
    sv_response_free(&r);
    sv_close(&c);
    free(body);
    CHECK(sv_connect(&c, port) == 0);
    body = npy(0, 10, DIM + 1, &len);
    CHECK(bulk(&c, "application/x-npy", "/vectors?start=1", body, len, &r) == 0 &&
          r.status == 422 && strstr(r.body, "the index dimension is 8"));
    sv_response_free(&r);
    sv_close(&c);
    free(body);
}

/* A body that stops arriving: 408 with what is durable. */
static void stalled(unsigned port) {
    sv_conn c;
    CHECK(sv_connect(&c, port) == 0);
    size_t len;
    char *body = ndjson(80000, 89000, 3, &len);
    CHECK(send_head(&c, "application/x-ndjson", "/vectors", len + 100000) == 0 &&
          sv_send(&c, body, len) == 0);
    sv_response r;
    CHECK(sv_read_response(&c, &r) == 0 && r.status == 408);
    CHECK(r.body && strstr(r.body, "\"written\":9000"));
    sv_response_free(&r);
    sv_close(&c);
    free(body);
}

static void limits(void) {
    sv_server s;
    const char *more[] = {"--max-write-body", "1000", NULL};
    if (start(&s, more) != 0) {
        check_failures++;
        return;
    }
    size_t len;
    char *body = ndjson(0, 100, 0, &len);
    sv_conn c;
    sv_response r;
    CHECK(sv_connect(&c, s.port) == 0);
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", body, len, &r) == 0 && r.status == 413 &&
          strstr(r.body, "larger than --max-write-body (1000 bytes)"));
    sv_response_free(&r);
    sv_close(&c);
    CHECK(sv_stop(&s) == 0);
    /* read-only */
    const char *ro[] = {NULL};
    if (sv_start(&s, binary, seed_path, log_path, ro) != 0) {
        check_failures++;
        free(body);
        return;
    }
    CHECK(sv_connect(&c, s.port) == 0);
    CHECK(bulk(&c, "application/x-ndjson", "/vectors", body, len, &r) == 0 && r.status == 403);
    sv_response_free(&r);
    sv_close(&c);
    CHECK(sv_stop(&s) == 0);
    free(body);
}

/* SIGKILL while a bulk load streams in. */
static void killed_mid_load(void) {
    sv_server s;
    if (start(&s, NULL) != 0) {
        check_failures++;
        return;
    }
    const size_t total = 60000, sent = 30000;
    size_t len, whole;
    char *body = ndjson(100000, 100000 + total, 4, &whole);
    char *part = ndjson(100000, 100000 + sent, 4, &len);
    sv_conn c, probe;
    CHECK(sv_connect(&c, s.port) == 0 && sv_connect(&probe, s.port) == 0);
    CHECK(send_head(&c, "application/x-ndjson", "/vectors", whole) == 0 &&
          sv_send(&c, part, len) == 0);
    /* wait until two batches are durable: record 2 x BULK_BATCH - 1 is served */
    int seen = 0;
    for (int i = 0; i < 3000 && !seen; i++) {
        seen = has_record(&probe, 100000 + 2 * 8192 - 1, 4) == 1;
        if (!seen)
            sv_sleep_ms(10);
    }
    CHECK(seen);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    sv_close(&c);
    sv_close(&probe);
    if (start(&s, NULL) != 0) {
        check_failures++;
        free(body);
        free(part);
        return;
    }
    CHECK(sv_connect(&c, s.port) == 0);
    size_t present = 0, gaps = 0, wrong = 0;
    for (size_t i = 0; i < sent; i++) {
        int h = has_record(&c, 100000 + i, 4);
        if (h == 1 && present == i)
            present++;
        else if (h == 1)
            gaps++; /* present after an absent one: not a prefix */
        else if (h != 0)
            wrong++;
    }
    sv_close(&c);
    CHECK(present >= 2 * 8192 && gaps == 0 && wrong == 0);
    CHECK(present % 8192 == 0); /* whole batches */
    fprintf(stderr, "kill -9: %zu of %zu records sent were durable, a prefix\n", present, sent);
    CHECK(sv_stop(&s) == 0);
    free(body);
    free(part);
}

/* Python's http.client writes the whole 3 MiB body before reading. */
static void python_sees_413(unsigned port) {
    char cmd[1200], out[320];
    snprintf(out, sizeof out, "%s/python.out", dir);
    snprintf(cmd, sizeof cmd, "%s %s %u > %s 2>&1", python, client_py, port, out);
    int rc = system(cmd);
    FILE *f = fopen(out, "r");
    char line[1024] = "";
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    if (rc != 0 || strncmp(line, "413 ", 4) != 0 || !strstr(line, "--max-body")) {
        fprintf(stderr, "python http.client: rc %d: %s\n", rc, line);
        check_failures++;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s <vw-serve> <scratch dir> <python3> <client.py>\n", argv[0]);
        return 2;
    }
    binary = argv[1];
    python = argv[3];
    client_py = argv[4];
    mkdir(argv[2], 0755);
    snprintf(dir, sizeof dir, "%s/bulk.XXXXXX", argv[2]);
    if (!mkdtemp(dir))
        return 1;
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(seed_path, sizeof seed_path, "%s/seed.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
    vw_index_free(sv_make_index(seed_path, 300, DIM, VW_METRIC_L2));
    sv_server s;
    if (start(&s, NULL) != 0)
        return 1;
    ndjson_loads(s.port);
    ndjson_attributes(s.port);
    failure_part_way(s.port);
    npy_loads(s.port);
    stalled(s.port);
    python_sees_413(s.port);
    CHECK(sv_stop(&s) == 0);
    limits();
    killed_mid_load();
    printf("test_serve_bulk: %s\n", check_failures ? "FAILED" : "all checks passed");
    if (check_failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_failures ? 1 : 0;
}
