/* The durable store: snapshot + write log.
 *   - writes survive closing and reopening (the log is replayed), and a
 *     snapshot empties the log without losing anything;
 *   - a log cut at every byte of its last record reopens with exactly the
 *     records before it (the torn one dropped whole); a flipped bit in the
 *     last record drops it; damage with intact records after it, a damaged
 *     header or a log of another dimension refuse to open;
 *   - replaying an old log over a newer snapshot (a crash between the
 *     snapshot's rename and the log's truncation) changes nothing;
 *   - bad writes are refused before they reach the log; a second process
 *     cannot open the directory;
 *   - eight writer threads and a snapshot thread beside a searcher: every
 *     acknowledged write is there after reopening (run under TSan in CI). */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIM 8

static char dir[64], initial[128], log_path[128];

static void vec_for(uint64_t label, uint64_t version, float *v) {
    tu_rng r;
    tu_seed(&r, label * 1000003 + version);
    for (int i = 0; i < DIM; i++)
        v[i] = (float)tu_normal(&r);
}

static vw_store *open_ok(void) {
    vw_store *s = NULL;
    CHECK_OK(vw_store_open(dir, initial, &s));
    return s;
}

/* label present with the vector of `version`, or absent when version < 0 */
static int holds(vw_store *s, uint64_t label, int64_t version) {
    float got[DIM], want[DIM];
    vw_status st = vw_index_get_vector(vw_store_index(s), label, got);
    if (version < 0)
        return st == VW_ERR_NOT_FOUND;
    vec_for(label, (uint64_t)version, want);
    return st == VW_OK && memcmp(got, want, sizeof got) == 0;
}

static void make_initial(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    for (uint64_t l = 0; l < 50; l++) {
        float v[DIM];
        vec_for(l, 0, v);
        CHECK_OK(vw_index_add(ix, v, l));
    }
    CHECK_OK(vw_index_save(ix, initial));
    vw_index_free(ix);
}

static size_t log_size(void) {
    struct stat sb;
    return stat(log_path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

static void upsert_one(vw_store *s, uint64_t label, uint64_t version) {
    float v[DIM];
    vec_for(label, version, v);
    CHECK_OK(vw_store_upsert(s, v, &label, 1));
}

static void reopen_and_snapshot(void) {
    vw_store *s = open_ok();
    upsert_one(s, 3, 1);  /* replace */
    upsert_one(s, 77, 1); /* new */
    CHECK_OK(vw_store_remove(s, 5));
    CHECK_ST(vw_store_remove(s, 5), VW_ERR_NOT_FOUND);
    vw_store_close(s);
    s = open_ok();
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(st.replayed_records == 4 && st.dropped_bytes == 0);
    CHECK(holds(s, 3, 1) && holds(s, 77, 1) && holds(s, 5, -1) && holds(s, 4, 0));
    vw_store *second = NULL;
    CHECK_ST(vw_store_open(dir, initial, &second), VW_ERR_IO); /* the directory is held */
    CHECK_OK(vw_store_snapshot(s));
    CHECK(log_size() == 64);
    vw_store_close(s);
    s = open_ok();
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(st.replayed_records == 0);
    CHECK(holds(s, 3, 1) && holds(s, 77, 1) && holds(s, 5, -1));
    vw_store_close(s);
}

static void refused_writes(void) {
    vw_store *s = open_ok();
    size_t before = log_size();
    float v[2 * DIM];
    vec_for(1, 9, v);
    vec_for(2, 9, v + DIM);
    uint64_t twice[2] = {8, 8};
    CHECK_ST(vw_store_upsert(s, v, twice, 2), VW_ERR_DUPLICATE_LABEL);
    v[3] = NAN;
    uint64_t one = 9;
    CHECK_ST(vw_store_upsert(s, v, &one, 1), VW_ERR_NONFINITE);
    CHECK_ST(vw_store_upsert(s, v, &one, 0), VW_ERR_INVALID_ARG);
    CHECK(log_size() == before);
    vw_store_close(s);
    char empty_dir[128];
    snprintf(empty_dir, sizeof empty_dir, "%s/none", dir);
    CHECK_ST(vw_store_open(empty_dir, NULL, &s), VW_ERR_NOT_FOUND);
}

static void write_log(const unsigned char *buf, size_t len) {
    FILE *f = fopen(log_path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len);
    if (f)
        fclose(f);
}

/* Three records on an empty log; returns the log and where the last starts. */
static unsigned char *three_records(size_t *len, size_t *last) {
    vw_store *s = open_ok();
    CHECK_OK(vw_store_snapshot(s));
    upsert_one(s, 100, 1);
    CHECK_OK(vw_store_remove(s, 6));
    *last = log_size();
    upsert_one(s, 101, 1);
    vw_store_close(s);
    return tu_slurp(log_path, len);
}

static void torn_and_damaged_logs(void) {
    size_t len, last;
    unsigned char *full = three_records(&len, &last);
    CHECK(full && last > 64 && len > last);
    for (size_t cut = last; full && cut < len; cut++) {
        write_log(full, cut);
        vw_store *s = open_ok();
        vw_store_stats st;
        CHECK_OK(vw_store_get_stats(s, &st));
        CHECK(st.replayed_records == 2 && st.dropped_bytes == cut - last);
        CHECK(holds(s, 100, 1) && holds(s, 6, -1) && holds(s, 101, -1));
        vw_store_close(s);
        CHECK(log_size() == last); /* cut back to the last whole record */
    }
    unsigned char *bad = malloc(len);
    memcpy(bad, full, len);
    bad[len - 5] ^= 0x10; /* in the last record's payload */
    write_log(bad, len);
    vw_store *s = open_ok();
    CHECK(s && holds(s, 100, 1) && holds(s, 101, -1));
    vw_store_close(s);
    memcpy(bad, full, len);
    bad[70] ^= 0x01; /* in the first record, two intact ones after it */
    write_log(bad, len);
    CHECK_ST(vw_store_open(dir, initial, &s), VW_ERR_CORRUPT);
    memcpy(bad, full, len);
    bad[17] ^= 0x01; /* the header's dimension */
    write_log(bad, len);
    CHECK_ST(vw_store_open(dir, initial, &s), VW_ERR_CORRUPT);
    /* an old log replayed over a newer snapshot: nothing changes */
    write_log(full, len);
    s = open_ok();
    CHECK_OK(vw_store_snapshot(s));
    vw_store_close(s);
    write_log(full, len);
    s = open_ok();
    CHECK(s && holds(s, 100, 1) && holds(s, 6, -1) && holds(s, 101, 1));
    vw_store_close(s);
    free(bad);
    free(full);
}

/* ------------------------------------------------------------------ threads */

#define WRITERS 8
#define EACH    40

typedef struct writer_arg {
    vw_store *s;
    int id;
} writer_arg;

static void *writer(void *p) {
    writer_arg *a = p;
    for (uint64_t i = 0; i < EACH; i++) {
        uint64_t label = 10000 + (uint64_t)a->id * EACH + i;
        upsert_one(a->s, label, 2);
        if (i % 5 == 4)
            CHECK_OK(vw_store_remove(a->s, label - 1));
    }
    return NULL;
}

static atomic_int stop;

static void *searcher(void *p) {
    vw_store *s = p;
    float q[DIM];
    vec_for(1, 1, q);
    while (!atomic_load(&stop)) {
        uint64_t got[5];
        uint32_t found;
        CHECK_OK(vw_index_search(vw_store_index(s), q, 5, 16, NULL, NULL, got, NULL, &found));
        vw_store_stats st;
        CHECK_OK(vw_store_get_stats(s, &st));
    }
    return NULL;
}

static void *snapshotter(void *p) {
    for (int i = 0; i < 3; i++) {
        usleep(2000);
        CHECK_OK(vw_store_snapshot(p));
    }
    return NULL;
}

static void concurrent_writers(void) {
    vw_store *s = open_ok();
    if (!s)
        return;
    pthread_t w[WRITERS], r, snap;
    writer_arg args[WRITERS];
    pthread_create(&r, NULL, searcher, s);
    pthread_create(&snap, NULL, snapshotter, s);
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (writer_arg){s, i};
        pthread_create(&w[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(snap, NULL);
    atomic_store(&stop, 1);
    pthread_join(r, NULL);
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    printf("%d writers: %llu writes in %llu log syncs\n", WRITERS, (unsigned long long)st.writes,
           (unsigned long long)st.commits);
    vw_store_close(s);
    s = open_ok();
    for (int t = 0; t < WRITERS && s; t++)
        for (uint64_t i = 0; i < EACH; i++) {
            uint64_t label = 10000 + (uint64_t)t * EACH + i;
            CHECK(holds(s, label, i % 5 == 3 ? -1 : 2));
        }
    vw_store_close(s);
}

int main(void) {
    if (tu_tempdir(dir, "vw_store") != 0)
        return 1;
    snprintf(initial, sizeof initial, "%s/initial.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/wal.log", dir);
    make_initial();
    reopen_and_snapshot();
    refused_writes();
    torn_and_damaged_logs();
    concurrent_writers();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_result("test_store");
}
