/* vw-serve --data against a damaged data directory: a matrix of damages to
 * the write log and the snapshot. A store is written over HTTP (three
 * upserts, a snapshot, one more upsert, a second snapshot, then a delete
 * and two upserts that only the log holds) and killed with SIGKILL; each
 * case starts from a copy of that directory, damages it, and starts the
 * server again. Each case must end one of two ways:
 *   - refused: the server exits before listening, and its message names
 *     what is wrong (and, where a way exists, how to recover);
 *   - recovered: every acknowledged write is there (GET /vectors/{id}),
 *     but for the one case where the damage is indistinguishable from a
 *     crash in the middle of a write (a torn last record), whose write
 *     alone is missing.
 * Usage: test_serve_damage <vw-serve binary> <scratch directory> */
#include "test_serve_util.h"

#define DIM 8

static const char *binary;
static char dir[256], data[300], seed[300], log_path[300], pristine[300], twin[300], old_snap[300];

/* The writes, in order: id, version (-1: delete). */
typedef struct step {
    uint64_t id;
    int version;
} step;
static const step writes[] = {{1, 1},     {2, 1}, {3, 1}, {0, 0} /* snapshot */, {4, 1}, {0, 0},
                              {1000, -1}, {5, 1}, {6, 1}};
#define WRITES ((int)(sizeof writes / sizeof *writes))

static void vec_of(uint64_t id, int version, float *v) {
    for (int d = 0; d < DIM; d++)
        v[d] =
            (float)((int)((id * 7 + (uint64_t)version * 3 + (uint64_t)d * 5) % 200) - 100) / 64.0f;
}

static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static int start(sv_server *s, const char *data_dir) {
    const char *extra[] = {"--data", data_dir, "--snapshot-interval", "0", "-t", "1", NULL};
    return sv_start(s, binary, seed, log_path, extra);
}

static int post(unsigned port, const char *method, const char *path, const char *body) {
    sv_response r;
    int status = sv_roundtrip(port, method, path, body, &r) == 0 ? r.status : -1;
    sv_response_free(&r);
    return status;
}

/* Runs the writes against a new store in `where`, then kills the server;
 * `old` (if not NULL) gets a copy of the first snapshot. */
static void write_store(const char *where, const char *old) {
    sv_server s;
    CHECK(start(&s, where) == 0);
    for (int i = 0; i < WRITES; i++) {
        const step *w = &writes[i];
        char path[64], body[512];
        int status;
        if (w->id == 0) {
            status = post(s.port, "POST", "/snapshot", "");
            if (old && i == 3)
                CHECK(sh("cp '%s/index.vwi' '%s'", where, old) == 0);
        } else if (w->version < 0) {
            snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)w->id);
            status = post(s.port, "DELETE", path, NULL);
        } else {
            float v[DIM];
            vec_of(w->id, w->version, v);
            int n = snprintf(body, sizeof body, "{\"ids\":[%llu],\"vectors\":[[",
                             (unsigned long long)w->id);
            for (int d = 0; d < DIM; d++)
                n += snprintf(body + n, sizeof body - (size_t)n, "%s%.9g", d ? "," : "", v[d]);
            snprintf(body + n, sizeof body - (size_t)n, "]]}");
            status = post(s.port, "POST", "/vectors", body);
        }
        CHECK(status == 200);
    }
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
}

/* ------------------------------------------------------------------ damages */

static char file_log[340], file_snap[340];

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len);
    if (f)
        fclose(f);
}

/* The log's records: 72 bytes for an upsert of one vector, 40 for a delete;
 * after the first snapshot the log holds the delete and two upserts. */
#define UPSERT_BYTES (32 + 8 + 4 * DIM)
#define DELETE_BYTES (32 + 8)

static void edit_log(size_t keep_before, size_t skip, size_t cut_end, size_t flip) {
    size_t len;
    unsigned char *b = slurp(file_log, &len);
    CHECK(b && len == 64 + DELETE_BYTES + 2 * UPSERT_BYTES);
    if (!b)
        return;
    if (flip)
        b[flip] ^= 0x20;
    memmove(b + keep_before, b + keep_before + skip, len - keep_before - skip);
    spit(file_log, b, len - skip - cut_end);
    free(b);
}

static void torn_last(void) {
    edit_log(0, 0, UPSERT_BYTES / 2, 0);
}
static void garbage_after(void) {
    size_t len;
    unsigned char *b = slurp(file_log, &len);
    unsigned char *g = b ? realloc(b, len + 100) : NULL;
    CHECK(g != NULL);
    if (!g)
        return;
    for (int i = 0; i < 100; i++)
        g[len + (size_t)i] = (unsigned char)(i * 37 + 11);
    spit(file_log, g, len + 100);
    free(g);
}
static void flip_middle(void) {
    edit_log(0, 0, 0, 64 + DELETE_BYTES + 40);
}
static void cut_second_to_last(void) {
    edit_log(64 + DELETE_BYTES, UPSERT_BYTES, 0, 0);
}
static void flip_header(void) {
    edit_log(0, 0, 0, 40);
}
static void empty_log(void) {
    spit(file_log, (const unsigned char *)"", 0);
}
static void no_log(void) {
    CHECK(unlink(file_log) == 0);
}
static void foreign_log(void) {
    CHECK(sh("cp '%s/wal.log' '%s'", twin, file_log) == 0);
}
static void no_snapshot(void) {
    CHECK(unlink(file_snap) == 0);
}
static void older_snapshot(void) {
    CHECK(sh("cp '%s' '%s'", old_snap, file_snap) == 0);
}
static void seed_as_snapshot(void) {
    CHECK(sh("cp '%s' '%s'", seed, file_snap) == 0);
}
static void flip_snapshot(void) {
    size_t len;
    unsigned char *b = slurp(file_snap, &len);
    CHECK(b && len > 2000);
    if (!b)
        return;
    b[len / 2] ^= 0x01;
    spit(file_snap, b, len);
    free(b);
}
static void truncated_snapshot(void) {
    CHECK(truncate(file_snap, 1000) == 0);
}
static void stale_temporaries(void) {
    CHECK(sh("cp '%s' '%s.tmp.4242.0'", file_snap, file_snap) == 0);
    CHECK(sh("cp '%s' '%s.tmp.77.3'", file_log, file_log) == 0);
}
static void intact(void) {}

typedef struct damage {
    const char *name;
    void (*apply)(void);
    const char *refusal; /* what the message says, NULL: recovered */
    uint64_t lost;       /* recovered without this id's last write (0: none) */
} damage;

static const damage matrix[] = {
    {"intact", intact, NULL, 0},
    {"log: last record torn", torn_last, NULL, 6},
    {"log: garbage after the last record", garbage_after, NULL, 0},
    {"log: a bit flipped in a middle record", flip_middle, "intact records after it", 0},
    {"log: second-to-last record cut out", cut_second_to_last, "missing before it", 0},
    {"log: a bit flipped in the header", flip_header, "header damaged", 0},
    {"log: emptied", empty_log, "shorter than a header", 0},
    {"log: deleted", no_log, "wal.log is missing", 0},
    {"log: another store's", foreign_log, "belongs to another store", 0},
    {"snapshot: deleted", no_snapshot, "index.vwi is missing", 0},
    {"snapshot: an older copy", older_snapshot, "are missing", 0},
    {"snapshot: the initial index", seed_as_snapshot, "no store's snapshot", 0},
    {"snapshot: a bit flipped", flip_snapshot, "Put back a good copy", 0},
    {"snapshot: truncated", truncated_snapshot, "Put back a good copy", 0},
    {"stale temporaries", stale_temporaries, NULL, 0},
};

/* ------------------------------------------------------------------ checks */

/* What the writes acknowledged leave an id with: a version, 0 for a seed
 * label untouched, -1 for absent. */
static int expected(uint64_t id, uint64_t lost) {
    int v = id >= 1000 ? 0 : -1;
    for (int i = 0; i < WRITES; i++)
        if (writes[i].id == id && id != lost)
            v = writes[i].version;
    return v;
}

static int holds(unsigned port, uint64_t id, int version) {
    char path[64];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id);
    sv_response r;
    if (sv_roundtrip(port, "GET", path, NULL, &r) != 0)
        return 0;
    int ok = version < 0 ? r.status == 404 : r.status == 200;
    if (ok && version > 0) {
        const char *p = strchr(r.body, '[');
        float got[DIM], want[DIM];
        vec_of(id, version, want);
        for (int d = 0; d < DIM && p; d++)
            got[d] = strtof(p + 1, (char **)&p);
        ok = p && memcmp(got, want, sizeof got) == 0;
    }
    sv_response_free(&r);
    return ok;
}

/* The server's last words, for the test's output. */
static void print_refusal(const char *name) {
    size_t len;
    unsigned char *b = slurp(log_path, &len);
    if (b) {
        b[len] = 0;
        while (len > 0 && b[len - 1] == '\n')
            b[--len] = 0;
        const char *last = strrchr((const char *)b, '\n');
        printf("%-40s refused: %s\n", name, last ? last + 1 : (const char *)b);
    }
    free(b);
}

static int log_says(const char *what) {
    size_t len;
    unsigned char *b = slurp(log_path, &len);
    int found = b && (b[len] = 0, strstr((const char *)b, what) != NULL);
    free(b);
    return found;
}

static void run_case(const damage *d) {
    CHECK(sh("rm -rf '%s'%s", data, "") == 0);
    CHECK(sh("cp -a '%s' '%s'", pristine, data) == 0);
    d->apply();
    sv_server s;
    int started = start(&s, data) == 0;
    if (d->refusal) {
        int ok = !started && log_says(d->refusal);
        if (!ok)
            fprintf(stderr, "%s: %s, want a refusal naming \"%s\"\n", d->name,
                    started ? "started" : "refused otherwise", d->refusal);
        CHECK(ok);
        if (started)
            sv_stop(&s);
        else
            print_refusal(d->name);
        return;
    }
    CHECK(started);
    if (!started)
        return;
    static const uint64_t ids[] = {1, 2, 3, 4, 5, 6, 1000, 1001};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        int ok = holds(s.port, ids[i], expected(ids[i], d->lost));
        if (!ok)
            fprintf(stderr, "%s: id %llu is not as acknowledged\n", d->name,
                    (unsigned long long)ids[i]);
        CHECK(ok);
    }
    CHECK(sv_stop(&s) == 0);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.4242.0", file_snap);
    CHECK(access(tmp, F_OK) != 0); /* a killed snapshot's temporary, removed at start */
    printf("%-40s recovered%s\n", d->name, d->lost ? " but for the torn record's write" : "");
}

int main(int argc, char **argv) {
    int bad = sv_scratch_args(argc, argv, "damage", &binary, dir, sizeof dir);
    if (bad)
        return bad;
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(seed, sizeof seed, "%s/seed.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
    snprintf(pristine, sizeof pristine, "%s/pristine", dir);
    snprintf(twin, sizeof twin, "%s/twin", dir);
    snprintf(old_snap, sizeof old_snap, "%s/old.vwi", dir);
    snprintf(file_log, sizeof file_log, "%s/wal.log", data);
    snprintf(file_snap, sizeof file_snap, "%s/index.vwi", data);
    vw_index_free(sv_make_index(seed, 200, DIM, VW_METRIC_L2));
    write_store(pristine, old_snap);
    write_store(twin, NULL); /* the same writes, from the same file: another store */
    int cases = (int)(sizeof matrix / sizeof *matrix);
    for (int i = 0; i < cases; i++)
        run_case(&matrix[i]);
    printf("%d damages to the log and the snapshot: each refused with its reason or recovered; "
           "%s\n",
           cases, check_failures ? "FAILED" : "all checks passed");
    if (check_failures == 0 && sh("rm -rf '%s'%s", dir, "") != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_failures ? 1 : 0;
}
