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

/* Another store directory with the same initial index. */
static store_dir other_dir(const store_dir *d) {
    store_dir o = *d;
    snprintf(o.dir, sizeof o.dir, "%s/s%d", root, case_no++);
    snprintf(o.log, sizeof o.log, "%s/wal.log", o.dir);
    snprintf(o.snap, sizeof o.snap, "%s/index.vwi", o.dir);
    return o;
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

/* ------------------------------------------------------------------ faults 3 and 4 */

static void copy_file(const char *from, const char *to) {
    size_t len;
    unsigned char *buf = tu_slurp(from, &len);
    CHECK(buf != NULL);
    if (buf)
        put_file(to, buf, len);
    free(buf);
}

/* Opening fails with VW_ERR_CORRUPT and a detail naming `what`. */
static void refused(const store_dir *d, const char *what) {
    vw_store *s = NULL;
    CHECK_ST(vw_store_open(d->dir, d->initial, &s), VW_ERR_CORRUPT);
    CHECK(strstr(vw_last_error_detail(), what) != NULL);
    vw_store_close(s);
}

/* Write 1 and a snapshot, then write 2, then the process ends. */
static store_dir written_twice(void) {
    store_dir d = new_store(VW_STORAGE_F32, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    upsert_one(s, 100, 1);
    CHECK_OK(vw_store_snapshot(s));
    upsert_one(s, 101, 1);
    vw_store_close(s);
    return d;
}

/* Fault 3: a lost snapshot is refused with what to do, never rebuilt from
 * the initial index (which lost write 1 while keeping write 2). */
static void missing_snapshot_is_refused(void) {
    store_dir d = written_twice();
    CHECK(unlink(d.snap) == 0);
    refused(&d, "index.vwi is missing");
    CHECK(strstr(vw_last_error_detail(), "Put this store's index.vwi back") != NULL);
    CHECK(file_size(d.snap) == 0 && file_size(d.log) > 64); /* nothing was touched */
}

/* A lost log beside a store's snapshot: the writes since the snapshot would
 * be lost; refused, with how to start from the snapshot alone, which works. */
static void missing_log_is_refused(void) {
    store_dir d = written_twice();
    put_file(d.log, (const unsigned char *)"", 0); /* emptied, as by a damaged disk */
    refused(&d, "shorter than a header");
    CHECK(unlink(d.log) == 0);
    refused(&d, "wal.log is missing");
    CHECK(strstr(vw_last_error_detail(), "start a new store from it") != NULL);
    store_dir fresh = other_dir(&d);
    snprintf(fresh.initial, sizeof fresh.initial, "%s", d.snap);
    vw_store *s = open_ok(&fresh);
    CHECK(s && present(s, 100) && !present(s, 101));
    vw_store_close(s);
}

/* Fault 4b: a log copied from another store of the same dimension and
 * metric, begun from the same initial file, is not replayed. */
static void foreign_log_is_refused(void) {
    store_dir a = written_twice(), b = other_dir(&a);
    vw_store *s = open_ok(&b);
    upsert_one(s, 300, 1);
    vw_store_close(s);
    copy_file(a.log, b.log);
    refused(&b, "belongs to another store");
}

/* An older copy of the snapshot under a newer log: the writes between them
 * are missing. */
static void older_snapshot_is_refused(void) {
    store_dir d = written_twice();
    char old[200];
    snprintf(old, sizeof old, "%s.old", d.snap);
    copy_file(d.snap, old);
    vw_store *s = open_ok(&d);
    CHECK_OK(vw_store_snapshot(s));
    upsert_one(s, 102, 1);
    vw_store_close(s);
    copy_file(old, d.snap);
    refused(&d, "are missing");
}

/* Fault 4a: a whole record cut out before the last one is damage; the
 * last, intact, acknowledged record is not dropped as a torn tail. */
static void gap_before_last_record_is_refused(void) {
    store_dir d = new_store(VW_STORAGE_F32, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    for (uint64_t i = 0; i < 20; i++)
        upsert_one(s, 400 + i, 1);
    vw_store_close(s);
    size_t len;
    unsigned char *log = tu_slurp(d.log, &len);
    CHECK(log && len == 64 + 20 * REC_BYTES);
    if (!log)
        return;
    for (int cut = 19; cut >= 5; cut -= 14) { /* the second-to-last, then the fifth */
        unsigned char *gap = malloc(len);
        size_t at = 64 + (size_t)(cut - 1) * REC_BYTES;
        memcpy(gap, log, at);
        memcpy(gap + at, log + at + REC_BYTES, len - at - REC_BYTES);
        put_file(d.log, gap, len - REC_BYTES);
        free(gap);
        refused(&d, "records are missing before it");
    }
    put_file(d.log, log, len - REC_BYTES / 2); /* a torn last record is still a torn tail */
    s = open_ok(&d);
    CHECK(s && present(s, 418) && !present(s, 419));
    vw_store_close(s);
    free(log);
}

/* A store written by version 0.2.0 (untagged snapshot, version-1 log) opens
 * with every write and is tagged from then on. */
static void version1_store_is_upgraded(void) {
    store_dir d = new_store(VW_STORAGE_F32, VW_METRIC_L2, 0);
    vw_store *s = open_ok(&d);
    upsert_one(s, 500, 1);
    CHECK_OK(vw_store_remove(s, 2));
    vw_store_close(s);
    size_t len;
    unsigned char *log = tu_slurp(d.log, &len);
    CHECK(log && len > 64);
    if (!log)
        return;
    uint32_t one = 1, zero = 0;
    memcpy(log + 12, &one, 4); /* version 1: no store id, no base */
    memset(log + 28, 0, 36);
    memcpy(log + 24, &zero, 4);
    uint32_t crc = vw_crc32c(0, log, 64);
    memcpy(log + 24, &crc, 4);
    put_file(d.log, log, len);
    free(log);
    copy_file(d.initial, d.snap); /* an untagged snapshot */
    s = open_ok(&d);
    CHECK(s && present(s, 500) && !present(s, 2));
    upsert_one(s, 501, 1);
    vw_store_close(s);
    CHECK(unlink(d.log) == 0); /* tagged now: a lost log is noticed */
    refused(&d, "wal.log is missing");
}

/* ------------------------------------------------------------------ fault 2 */

/* Temporaries a killed snapshot left are removed at the next start; files
 * that only look alike are not. */
static void stale_temporaries_are_removed(void) {
    store_dir d = written_twice();
    char stale[3][200], other[200];
    snprintf(stale[0], sizeof stale[0], "%s.tmp.12345.0", d.snap);
    snprintf(stale[1], sizeof stale[1], "%s.tmp.999.17", d.snap);
    snprintf(stale[2], sizeof stale[2], "%s.tmp.4242.3", d.log);
    snprintf(other, sizeof other, "%s.tmp.notes", d.snap);
    for (int i = 0; i < 3; i++)
        copy_file(d.snap, stale[i]);
    copy_file(d.snap, other);
    vw_store *s = open_ok(&d);
    for (int i = 0; i < 3; i++)
        CHECK(access(stale[i], F_OK) != 0);
    CHECK(access(other, F_OK) == 0);
    CHECK(s && present(s, 100) && present(s, 101));
    vw_store_close(s);
}

/* ------------------------------------------------------------------ compact kinds */

/* i8 codes trained on one vector (or copies of one) would store every
 * other vector as a corner of it: refused, in training and as a store's
 * start (whose first write would train it). */
static void i8_training_on_one_vector_is_refused(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.storage = VW_STORAGE_I8;
    p.flags = VW_PARAMS_NO_FLOAT32;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float v[2 * DIM];
    vec_for(1, 1, v);
    memcpy(v + DIM, v, sizeof(float) * DIM);
    CHECK_ST(vw_index_train(ix, v, 1), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_train(ix, v, 2), VW_ERR_INVALID_ARG); /* two copies */
    uint64_t label = 1;
    CHECK_ST(vw_index_add_batch(ix, v, &label, 1, 1, NULL, NULL), VW_ERR_INVALID_ARG);
    store_dir d = new_store(VW_STORAGE_F32, VW_METRIC_L2, 0);
    CHECK_OK(vw_index_save(ix, d.initial)); /* an empty, untrained i8 index */
    vw_index_free(ix);
    vw_store *s = NULL;
    CHECK_ST(vw_store_open(d.dir, d.initial, &s), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "no trained codec") != NULL);
    d = new_store(VW_STORAGE_I8, VW_METRIC_L2, VW_PARAMS_NO_FLOAT32); /* trained on 20 */
    s = open_ok(&d);
    upsert_one(s, 50, 1);
    vw_store_close(s);
}

/* f16 without float32 keeps only the f16 row: a vector at the 1e-9 scale
 * would be stored as zero, so it is refused; with float32 kept it is not
 * lost and is taken. */
static void f16_underflow_without_float32_is_refused(void) {
    float tiny[DIM];
    vec_for(60, 1, tiny);
    for (int i = 0; i < DIM; i++)
        tiny[i] *= 1e-9f;
    uint64_t label = 60;
    store_dir d = new_store(VW_STORAGE_F16, VW_METRIC_L2, VW_PARAMS_NO_FLOAT32);
    vw_store *s = open_ok(&d);
    CHECK_ST(vw_store_upsert(s, tiny, &label, 1), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "stored as zero") != NULL);
    vw_store_close(s);
    d = new_store(VW_STORAGE_F16, VW_METRIC_L2, 0);
    s = open_ok(&d);
    CHECK_OK(vw_store_upsert(s, tiny, &label, 1));
    float got[DIM];
    CHECK_OK(vw_index_get_vector(vw_store_index(s), label, got));
    CHECK(memcmp(got, tiny, sizeof got) == 0);
    vw_store_close(s);
}

/* ------------------------------------------------------------------ main */

int main(void) {
    if (tu_tempdir(root, "vw_store_faults") != 0)
        return 1;
    f16_out_of_range_is_refused_before_the_log();
    unappliable_logged_record_is_skipped();
    large_norms_are_reported_or_normalized();
    missing_snapshot_is_refused();
    missing_log_is_refused();
    foreign_log_is_refused();
    older_snapshot_is_refused();
    gap_before_last_record_is_refused();
    version1_store_is_upgraded();
    stale_temporaries_are_removed();
    i8_training_on_one_vector_is_refused();
    f16_underflow_without_float32_is_refused();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return tu_result("test_store_faults");
}
