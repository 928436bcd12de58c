/* vw-serve --data survives SIGKILL: 60 times, eight clients write (upsert
 * batches of one to three ids, deletes) and a ninth asks for snapshots,
 * the server is killed with SIGKILL at a random moment, and restarted.
 * After each restart, over HTTP:
 *   - every acknowledged write is there: each id holds the vector of its
 *     last acknowledged upsert, or is absent after an acknowledged delete;
 *   - a write in flight at the kill is all there or not at all: the ids of
 *     an unacknowledged batch hold either all their new vectors or all
 *     their old ones;
 *   - each id's attributes are those written with its vector (upserts
 *     carry attributes, three in four of them: the fourth writes null,
 *     which leaves the id without any), and filters on them answer: an
 *     exact match on one id's attribute finds that id alone, a boolean
 *     one returns only ids whose attributes hold it;
 * and after each kill, before the restart, a copy of the data directory
 * recovered by the library (vw_store_open) gives an index that saves and
 * loads again with every structural check and checksum;
 * and at the end, after a snapshot and a clean stop, the snapshot file
 * loads with every check and checksum (vw_index_load) and holds exactly the
 * expected labels, each reachable: found by a search for its own vector.
 * Each client owns its ids, so the order of its own requests is the order
 * the server applied them in.
 * The storage kind (f32 by default; f16 and i8, float32 kept, for the
 * compact kinds' write paths) and the number of cycles may be given. With
 * f16, each cycle first sends a vector beyond the f16 range: it must be
 * refused with 422 and the next write taken (it once stopped the store).
 * Usage: test_serve_durability <vw-serve binary> <scratch directory>
 *        [f32|f16|i8 [cycles]] */
#include "test_serve_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define DIM      8
#define CLIENTS  8
#define PER      24 /* ids per client */
#define FIRST_ID 100000u

static int CYCLES = 60;
static vw_storage storage = VW_STORAGE_F32;

typedef struct id_state {
    int64_t acked;   /* version of the last acknowledged write; -1 absent */
    int64_t pending; /* version of the write in flight; -1 a delete; NONE */
    int batch;       /* in-flight batch it belongs to (0: none) */
} id_state;

#define NONE INT64_MIN

static id_state ids[CLIENTS * PER];
static int64_t next_version = 1;
static atomic_uint_fast64_t acked_writes;
static uint64_t in_flight, in_flight_applied;
static atomic_int storm_over;
static unsigned port;
static const char *binary;
static char dir[256], data_dir[300], seed_path[300], log_path[300];

static void vec_of(uint64_t id, int64_t version, float *v) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + (uint64_t)version * 0xBF58476D1CE4E5B9ull;
    for (int i = 0; i < DIM; i++) {
        x ^= x >> 29;
        x *= 0x94D049BB133111EBull;
        v[i] = (float)((int)(x >> 40) % 2001 - 1000) / 64.0f; /* exact in JSON */
    }
}

/* The attributes written with version `version` of id (NULL: none), as
 * the server returns them (canonical JSON: no spaces, members in order). */
static const char *attrs_of(uint64_t id, int64_t version, char *buf, size_t cap) {
    if (version < 0 || version % 4 == 0)
        return NULL;
    snprintf(buf, cap, "{\"ver\":\"%llu:%lld\",\"m\":%lld,\"odd\":%s}", (unsigned long long)id,
             (long long)version, (long long)(version % 100), version % 2 ? "true" : "false");
    return buf;
}

/* ------------------------------------------------------------------ requests */

/* ,"attributes":[...] for the ids of an upsert body. */
static size_t attributes_member(char *b, size_t len, size_t cap, const uint64_t *id,
                                const int64_t *version, int n) {
    len += (size_t)snprintf(b + len, cap - len, ",\"attributes\":[");
    for (int i = 0; i < n; i++) {
        char a[128];
        const char *text = attrs_of(id[i], version[i], a, sizeof a);
        len += (size_t)snprintf(b + len, cap - len, "%s%s", i ? "," : "", text ? text : "null");
    }
    return len + (size_t)snprintf(b + len, cap - len, "]");
}

static char *upsert_body(const uint64_t *id, const int64_t *version, int n) {
    char *b = malloc(4096);
    size_t len = (size_t)snprintf(b, 4096, "{\"ids\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, 4096 - len, "%s%llu", i ? "," : "",
                                (unsigned long long)id[i]);
    len += (size_t)snprintf(b + len, 4096 - len, "],\"vectors\":[");
    for (int i = 0; i < n; i++) {
        float v[DIM];
        vec_of(id[i], version[i], v);
        for (int d = 0; d < DIM; d++)
            len +=
                (size_t)snprintf(b + len, 4096 - len, "%s%.9g", d ? "," : (i ? ",[" : "["), v[d]);
        len += (size_t)snprintf(b + len, 4096 - len, "]");
    }
    len += (size_t)snprintf(b + len, 4096 - len, "]");
    len = attributes_member(b, len, 4096, id, version, n);
    snprintf(b + len, 4096 - len, "}");
    return b;
}

/* One write of client c; false when the server is gone. */
static int write_once(sv_conn *conn, int c, uint64_t *rng, int *batch_no) {
    id_state *mine = ids + c * PER;
    int n = 1 + (int)(*rng % 3), del = (*rng >> 8) % 10 < 3, start = (int)((*rng >> 16) % PER);
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t id[3];
    int64_t version[3];
    char path[64], *body = NULL;
    n = del ? 1 : n;
    ++*batch_no;
    for (int i = 0; i < n; i++) {
        int k = (start + i * 7) % PER;
        id[i] = FIRST_ID + (uint64_t)(c * PER + k);
        version[i] = del ? -1 : next_version + c + (int64_t)(*batch_no) * CLIENTS * 4 + i;
        mine[k].pending = version[i];
        mine[k].batch = *batch_no;
    }
    if (del)
        snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id[0]);
    else
        body = upsert_body(id, version, n);
    sv_response r;
    int rc = sv_exchange(conn, del ? "DELETE" : "POST", del ? path : "/vectors", body, &r);
    free(body);
    if (rc != 0)
        return 0; /* killed: the writes stay pending */
    int ok = r.status == 200 || (del && r.status == 404);
    if (!ok)
        fprintf(stderr, "write got %d: %s\n", r.status, r.body);
    CHECK(ok);
    atomic_fetch_add(&acked_writes, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        id_state *s = &ids[id[i] - FIRST_ID];
        CHECK(!del || (r.status == 404) == (s->acked < 0));
        s->acked = version[i];
        s->pending = NONE;
        s->batch = 0;
    }
    sv_response_free(&r);
    return 1;
}

static void *client(void *arg) {
    int c = (int)(intptr_t)arg, batch_no = 0;
    uint64_t rng = 0x1234567ull * (uint64_t)(c + 1) + (uint64_t)next_version;
    sv_conn conn;
    if (sv_connect(&conn, port) != 0)
        return NULL;
    while (!atomic_load(&storm_over) && write_once(&conn, c, &rng, &batch_no))
        ;
    sv_close(&conn);
    return NULL;
}

static void *snapshotter(void *arg) {
    (void)arg;
    sv_conn conn;
    if (sv_connect(&conn, port) != 0)
        return NULL;
    while (!atomic_load(&storm_over)) {
        sv_response r;
        if (sv_exchange(&conn, "POST", "/snapshot", "", &r) != 0)
            break;
        CHECK(r.status == 200);
        sv_response_free(&r);
        sv_sleep_ms(25);
    }
    sv_close(&conn);
    return NULL;
}

/* f16: a component beyond +-65504 is refused before the log, and the
 * store goes on taking writes. */
static void refused_f16_write(void) {
    if (storage != VW_STORAGE_F16)
        return;
    sv_conn conn;
    CHECK(sv_connect(&conn, port) == 0);
    sv_response r;
    CHECK(sv_exchange(&conn, "POST", "/vectors",
                      "{\"ids\":[7],\"vectors\":[[65520,0,0,0,0,0,0,1]]}", &r) == 0);
    CHECK(r.status == 422 && strstr(r.body, "f16 range") != NULL);
    sv_response_free(&r);
    CHECK(sv_exchange(&conn, "POST", "/vectors", "{\"ids\":[8],\"vectors\":[[1,0,0,0,0,0,0,1]]}",
                      &r) == 0);
    CHECK(r.status == 200);
    sv_response_free(&r);
    sv_close(&conn);
}

/* The seed index of the storage kind (float32 kept, so the written vectors
 * come back exactly); an i8 codec trained to cover the written range. */
static void make_seed(void) {
    if (storage == VW_STORAGE_F32) {
        vw_index_free(sv_make_index(seed_path, 200, DIM, VW_METRIC_L2));
        return;
    }
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    p.storage = storage;
    vw_index *ix = NULL;
    float *data = sv_random_vectors(200, DIM), span[2 * DIM];
    uint64_t labels[200];
    for (int i = 0; i < DIM; i++) {
        span[i] = -16.0f;
        span[DIM + i] = 16.0f;
    }
    for (uint64_t i = 0; i < 200; i++)
        labels[i] = 1000 + i;
    CHECK(data && vw_index_create(&p, &ix) == VW_OK);
    if (storage == VW_STORAGE_I8)
        CHECK(vw_index_train(ix, span, 2) == VW_OK);
    CHECK(vw_index_add_batch(ix, data, labels, 200, 1, NULL, NULL) == VW_OK);
    CHECK(vw_index_save(ix, seed_path) == VW_OK);
    vw_index_free(ix);
    free(data);
}

/* ------------------------------------------------------------------ checks */

/* The version an id holds now (-1 absent), or NONE if it matches no write
 * the model allows. */
static int64_t observe(sv_conn *conn, uint64_t id, const id_state *s) {
    char path[64];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id);
    sv_response r;
    if (sv_exchange(conn, "GET", path, NULL, &r) != 0)
        return NONE;
    int64_t seen = NONE;
    if (r.status == 404) {
        seen = -1;
    } else if (r.status == 200) {
        const char *p = strchr(r.body, '[');
        float got[DIM];
        for (int d = 0; d < DIM && p; d++)
            got[d] = strtof(p + 1, (char **)&p);
        for (int k = 0; k < 2 && p; k++) {
            int64_t v = k == 0 ? s->acked : s->pending;
            float want[DIM];
            if (v < 0)
                continue;
            vec_of(id, v, want);
            if (memcmp(got, want, sizeof got) == 0)
                seen = v;
        }
    }
    if (seen >= 0) { /* the attributes of the same write */
        char a[128], want[160];
        const char *text = attrs_of(id, seen, a, sizeof a);
        snprintf(want, sizeof want, "\"attributes\":%s}", text ? text : "null");
        if (!strstr(r.body, want)) {
            fprintf(stderr, "id %llu: version %lld, wanted %s in %s\n", (unsigned long long)id,
                    (long long)seen, want, r.body);
            seen = NONE;
        }
    }
    sv_response_free(&r);
    return seen;
}

/* POST /search for id's vector of `version` with `filter`; the labels. */
static int filtered(sv_conn *conn, uint64_t id, int64_t version, int k, const char *filter,
                    uint64_t *labels) {
    float v[DIM];
    vec_of(id, version, v);
    char *q = sv_query_body(v, DIM, k), body[2048];
    snprintf(body, sizeof body, "%.*s,\"filter\":%s}", (int)strlen(q) - 1, q, filter);
    free(q);
    sv_response r;
    float dists[64];
    int n = -1;
    if (sv_exchange(conn, "POST", "/search", body, &r) == 0 && r.status == 200)
        n = sv_parse_result(r.body, labels, dists, 64, NULL);
    CHECK(n >= 0);
    sv_response_free(&r);
    return n;
}

/* After recovery, filters see the recovered attributes: one id's own
 * attribute finds that id alone; "odd" returns only ids that hold it. */
static void check_filters(sv_conn *conn, const int64_t *seen, int cycle) {
    uint64_t labels[64];
    for (int i = cycle % 8; i < CLIENTS * PER; i += 8) {
        uint64_t id = FIRST_ID + (uint64_t)i;
        char a[128], filter[256];
        if (!attrs_of(id, seen[i], a, sizeof a))
            continue;
        snprintf(filter, sizeof filter,
                 "{\"must\":[{\"key\":\"ver\",\"match\":{\"value\":\"%llu:%lld\"}}]}",
                 (unsigned long long)id, (long long)seen[i]);
        int n = filtered(conn, id, seen[i], 5, filter, labels);
        CHECK(n == 1 && labels[0] == id);
    }
    int n = filtered(conn, FIRST_ID, 1, 64,
                     "{\"must\":[{\"key\":\"odd\",\"match\":{\"value\":true}}]}", labels);
    for (int j = 0; j < n; j++) {
        uint64_t i = labels[j] - FIRST_ID;
        CHECK(labels[j] >= FIRST_ID && i < CLIENTS * PER && seen[i] >= 0 && seen[i] % 4 &&
              seen[i] % 2);
    }
}

/* After a restart: every id as acknowledged, or as its write in flight;
 * a batch in flight entirely one way. Then the model takes what is seen. */
static void verify(int cycle) {
    sv_conn conn;
    CHECK(sv_connect(&conn, port) == 0);
    int64_t seen[CLIENTS * PER];
    for (int i = 0; i < CLIENTS * PER; i++) {
        seen[i] = observe(&conn, FIRST_ID + (uint64_t)i, &ids[i]);
        int ok = seen[i] == ids[i].acked || (ids[i].pending != NONE && seen[i] == ids[i].pending);
        if (!ok)
            fprintf(stderr, "cycle %d: id %d holds %lld, acknowledged %lld, in flight %lld\n",
                    cycle, i, (long long)seen[i], (long long)ids[i].acked,
                    (long long)ids[i].pending);
        CHECK(ok);
    }
    for (int i = 0; i < CLIENTS * PER; i++)
        for (int j = 0; j < i; j++)
            if (ids[i].batch && ids[i].batch == ids[j].batch && i / PER == j / PER)
                CHECK((seen[i] == ids[i].pending) == (seen[j] == ids[j].pending));
    check_filters(&conn, seen, cycle);
    for (int i = 0; i < CLIENTS * PER; i++) {
        in_flight += ids[i].pending != NONE;
        in_flight_applied += ids[i].pending != NONE && seen[i] == ids[i].pending;
        ids[i] = (id_state){seen[i], NONE, 0};
    }
    sv_close(&conn);
}

static int start(sv_server *s) {
    const char *extra[] = {"--data", data_dir, "--snapshot-interval", "0", "-t", "2", NULL};
    if (sv_start(s, binary, seed_path, log_path, extra) != 0)
        return -1;
    port = s->port;
    return 0;
}

/* Recovers a copy of the data directory as the server will on restart, and
 * validates the result: saved, it loads with every check, in both modes. */
static void check_recovery(int cycle) {
    char copy[700], cmd[2200], path[760];
    snprintf(copy, sizeof copy, "%s/recovered", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", copy, data_dir, copy);
    CHECK(system(cmd) == 0);
    vw_store *st = NULL;
    vw_status rs = vw_store_open(copy, NULL, &st);
    if (rs != VW_OK)
        fprintf(stderr, "cycle %d: recovery: %s (%s)\n", cycle, vw_strerror(rs),
                vw_last_error_detail());
    CHECK(rs == VW_OK);
    if (!st)
        return;
    snprintf(path, sizeof path, "%s/check.vwi", copy);
    CHECK(vw_index_save(vw_store_index(st), path) == VW_OK);
    vw_store_close(st);
    static const unsigned modes[] = {VW_LOAD_DEFAULT, VW_LOAD_MMAP};
    for (int m = 0; m < 2; m++) {
        vw_index *ix = NULL;
        CHECK(vw_index_load(path, modes[m], &ix) == VW_OK);
        vw_index_free(ix);
    }
}

/* The final snapshot: loads with every check, holds exactly the model. */
static void check_snapshot(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/index.vwi", data_dir);
    vw_index *ix = NULL;
    CHECK(vw_index_load(path, VW_LOAD_DEFAULT, &ix) == VW_OK);
    if (!ix)
        return;
    vw_stats st;
    vw_index_stats(ix, &st);
    uint64_t live = 0;
    for (int i = 0; i < CLIENTS * PER; i++) {
        float v[DIM], want[DIM];
        vw_status gs = vw_index_get_vector(ix, FIRST_ID + (uint64_t)i, v);
        live += ids[i].acked >= 0;
        if (ids[i].acked < 0) {
            CHECK(gs == VW_ERR_NOT_FOUND);
            continue;
        }
        vec_of(FIRST_ID + (uint64_t)i, ids[i].acked, want);
        CHECK(gs == VW_OK && memcmp(v, want, sizeof v) == 0);
        char a[128], got_attrs[256];
        const char *text = attrs_of(FIRST_ID + (uint64_t)i, ids[i].acked, a, sizeof a);
        size_t alen = 0;
        CHECK(vw_index_get_attributes(ix, FIRST_ID + (uint64_t)i, got_attrs, sizeof got_attrs,
                                      &alen) == VW_OK &&
              strcmp(got_attrs, text ? text : "") == 0);
        /* A beam wider than the index walks every reachable node: this
         * checks that the vector is in the graph and reachable. (At a
         * fixed ef = 200, the 200 clustered points of the seed index fill
         * the beam before the far-flung written points are reached, and
         * the answer depends on the graph's shape, not on durability.) */
        uint64_t got = 0;
        uint32_t found = 0;
        uint32_t ef = (uint32_t)st.capacity + 1;
        CHECK(vw_index_search(ix, want, 1, ef, NULL, NULL, &got, NULL, &found) == VW_OK &&
              found == 1 && got == FIRST_ID + (uint64_t)i);
    }
    /* the seed index's 200, the written ids, and id 8 of refused_f16_write */
    CHECK(st.count == 200 + live + (storage == VW_STORAGE_F16));
    vw_index_free(ix);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5 || (argc > 3 && vw_storage_parse(argv[3], &storage) != VW_OK)) {
        fprintf(stderr, "usage: %s <vw-serve> <scratch dir> [f32|f16|i8 [cycles]]\n", argv[0]);
        return 2;
    }
    if (argc > 4)
        CYCLES = atoi(argv[4]);
    binary = argv[1];
    mkdir(argv[2], 0755);
    snprintf(dir, sizeof dir, "%s/durability.XXXXXX", argv[2]);
    if (!mkdtemp(dir))
        return 1;
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(seed_path, sizeof seed_path, "%s/seed.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
    make_seed();
    for (int i = 0; i < CLIENTS * PER; i++)
        ids[i] = (id_state){-1, NONE, 0};
    sv_server s;
    uint64_t rng = 0xD1B54A32D192ED03ull;
    for (int cycle = 0; cycle < CYCLES && check_failures == 0; cycle++) {
        if (start(&s) != 0) {
            check_failures++;
            break;
        }
        verify(cycle);
        refused_f16_write();
        atomic_store(&storm_over, 0);
        pthread_t t[CLIENTS + 1];
        for (int c = 0; c < CLIENTS; c++)
            pthread_create(&t[c], NULL, client, (void *)(intptr_t)c);
        pthread_create(&t[CLIENTS], NULL, snapshotter, NULL);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        sv_sleep_ms(10 + (unsigned)((rng >> 33) % 190)); /* a random moment of the storm */
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
        atomic_store(&storm_over, 1);
        for (int c = 0; c <= CLIENTS; c++)
            pthread_join(t[c], NULL);
        check_recovery(cycle);
        next_version += 1000000;
    }
    if (check_failures == 0 && start(&s) == 0) {
        verify(CYCLES);
        sv_conn conn;
        sv_response r;
        CHECK(sv_connect(&conn, port) == 0);
        CHECK(sv_exchange(&conn, "POST", "/snapshot", "", &r) == 0 && r.status == 200);
        sv_response_free(&r);
        sv_close(&conn);
        CHECK(sv_stop(&s) == 0);
        check_snapshot();
    }
    printf(
        "%s: %d SIGKILLs during %llu acknowledged writes; %llu writes in flight at a kill, %llu of "
        "them found applied; %s\n",
        vw_storage_name(storage), CYCLES, (unsigned long long)atomic_load(&acked_writes),
        (unsigned long long)in_flight, (unsigned long long)in_flight_applied,
        check_failures ? "FAILED" : "all checks passed");
    if (check_failures == 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_failures ? 1 : 0;
}
