/* The durable store carries attributes (issue 27, the write side):
 *   - vw_store_upsert_with_attributes sets them in the same record as the
 *     vectors; they survive reopening (replay), a snapshot, and a filter
 *     over them answers after recovery;
 *   - an upsert replaces the whole element: without attributes it clears
 *     them (also after replay); a removal drops them; a re-added label
 *     starts empty;
 *   - a bad attribute text is refused before anything is logged, the whole
 *     call with it, naming the vector, its label and the member;
 *   - a log cut at every byte of its last (attributes) record reopens with
 *     the records before it; a record whose texts do not fill its payload
 *     is damage, never applied;
 *   - a version-2 log (written before the store carried attributes) still
 *     replays, its upserts keeping attributes as they did then, and is
 *     replaced by a version-3 log before anything is appended. */
#include "crc32c.h"
#include "testutil.h"

#include <sys/stat.h>

#define DIM 8

static char dir[64], initial[128], log_path[128];

static void vec_for(uint64_t label, uint64_t version, float *v) {
    tu_rng r;
    tu_seed(&r, label * 1000003 + version);
    for (int i = 0; i < DIM; i++)
        v[i] = (float)tu_normal(&r);
}

/* An index of 30 vectors, labels 0-29, without attributes. */
static vw_index *thirty_vectors(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    for (uint64_t l = 0; ix && l < 30; l++) {
        float v[DIM];
        vec_for(l, 0, v);
        CHECK_OK(vw_index_add(ix, v, l));
    }
    return ix;
}

/* The initial index: 30 vectors, label 1 with attributes {"c":"init"}. */
static void make_initial(void) {
    vw_index *ix = thirty_vectors();
    CHECK_OK(vw_index_set_attributes(ix, 1, "{\"c\":\"init\"}", 12));
    CHECK_OK(vw_index_save(ix, initial));
    vw_index_free(ix);
}

static void fresh(void) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -f '%s/index.vwi' '%s/wal.log'", dir, dir);
    CHECK(system(cmd) == 0);
}

static vw_store *open_ok(void) {
    vw_store *s = NULL;
    CHECK_OK(vw_store_open(dir, initial, &s));
    return s;
}

static size_t log_size(void) {
    struct stat sb;
    return stat(log_path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

/* The attributes of label as canonical JSON ("" without, "-" absent). */
static const char *attrs_of(vw_store *s, uint64_t label) {
    static char buf[VW_MAX_ATTR_BYTES * 6 + 16];
    size_t len;
    vw_status st = vw_index_get_attributes(vw_store_index(s), label, buf, sizeof buf, &len);
    return st == VW_OK ? buf : "-";
}

static vw_status put(vw_store *s, uint64_t label, uint64_t version, const char *attrs) {
    float v[DIM];
    vec_for(label, version, v);
    return vw_store_upsert_with_attributes(s, v, &label, 1, &attrs, NULL);
}

/* The labels a filter lets through, as a bit set of labels < 64. */
static uint64_t matching(vw_store *s, const char *filter) {
    vw_filter *f = NULL;
    CHECK_OK(vw_filter_parse(filter, strlen(filter), &f));
    vw_search_options o;
    vw_search_options_default(&o);
    o.where = f;
    float q[DIM] = {0};
    uint64_t labels[64], set = 0;
    uint32_t found = 0;
    CHECK_OK(vw_index_search_ex(vw_store_index(s), q, 64, &o, labels, NULL, &found));
    for (uint32_t i = 0; i < found; i++)
        set |= labels[i] < 64 ? (uint64_t)1 << labels[i] : 0;
    vw_filter_free(f);
    return set;
}

#define BIT(x) ((uint64_t)1 << (x))

/* The same checks before and after reopening and after a snapshot. */
static void check_written(vw_store *s) {
    CHECK(strcmp(attrs_of(s, 40), "{\"color\":\"red\",\"price\":12}") == 0);
    CHECK(strcmp(attrs_of(s, 41), "{\"color\":\"blue\",\"tags\":[\"a\",\"b\"]}") == 0);
    CHECK(strcmp(attrs_of(s, 42), "") == 0); /* NULL entry */
    CHECK(strcmp(attrs_of(s, 1), "") == 0);  /* cleared by a plain upsert */
    CHECK(strcmp(attrs_of(s, 2), "{\"color\":\"red\"}") == 0);
    CHECK(strcmp(attrs_of(s, 3), "-") == 0);         /* removed */
    CHECK(strcmp(attrs_of(s, 4), "") == 0);          /* removed and added again */
    CHECK(strcmp(attrs_of(s, 5), "{\"n\":2}") == 0); /* replaced */
    CHECK(matching(s, "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}") ==
          (BIT(40) | BIT(2)));
    CHECK(matching(s, "{\"must\":[{\"key\":\"n\",\"range\":{\"gte\":2}}]}") == BIT(5));
}

static void written_then_replayed_and_snapshot(void) {
    fresh();
    vw_store *s = open_ok();
    CHECK(strcmp(attrs_of(s, 1), "{\"c\":\"init\"}") == 0);
    float v[3 * DIM];
    uint64_t labels[3] = {40, 41, 42};
    for (int i = 0; i < 3; i++)
        vec_for(labels[i], 1, v + i * DIM);
    const char *texts[3] = {"{\"color\": \"red\", \"price\": 12}xx",
                            "{\"color\":\"blue\",\"tags\":[\"a\",\"b\"]}", NULL};
    size_t lens[3] = {29, strlen(texts[1]), 0};
    CHECK_OK(vw_store_upsert_with_attributes(s, v, labels, 3, texts, lens));
    vec_for(1, 1, v);
    uint64_t one = 1;
    CHECK_OK(vw_store_upsert(s, v, &one, 1)); /* replaces the point: attributes gone */
    CHECK_OK(put(s, 2, 1, "{\"color\":\"red\"}"));
    CHECK_OK(put(s, 3, 1, "{\"color\":\"red\"}"));
    CHECK_OK(vw_store_remove(s, 3));
    CHECK_OK(put(s, 4, 1, "{\"color\":\"red\"}"));
    CHECK_OK(vw_store_remove(s, 4));
    CHECK_OK(put(s, 4, 2, NULL));
    CHECK_OK(put(s, 5, 1, "{\"n\":1}"));
    CHECK_OK(put(s, 5, 1, "{\"n\":2}"));
    check_written(s);
    vw_store_close(s);
    s = open_ok(); /* replayed */
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(st.replayed_records == 10 && st.skipped_records == 0);
    check_written(s);
    CHECK_OK(vw_store_snapshot(s));
    vw_store_close(s);
    s = open_ok(); /* from the snapshot alone */
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(st.replayed_records == 0);
    check_written(s);
    vw_store_close(s);
}

/* A bad text anywhere in the call: nothing logged, nothing applied. */
static void bad_attributes_are_refused_before_the_log(void) {
    fresh();
    vw_store *s = open_ok();
    size_t before = log_size();
    static const struct {
        const char *text, *place;
    } bad[] = {
        {"{\"a\":{\"b\":1}}", "attributes.a"}, {"[1,2]", "expected an object"},
        {"{\"a\":[1]}", "attributes.a"},       {"{\"a\":1", "attributes"},
        {"{\"a\":1,\"a\":2}", "attributes.a"}, {"\"text\"", "expected an object"},
    };
    float v[2 * DIM];
    vec_for(50, 1, v);
    vec_for(51, 1, v + DIM);
    uint64_t labels[2] = {50, 51};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *texts[2] = {"{\"ok\":true}", bad[i].text};
        CHECK_ST(vw_store_upsert_with_attributes(s, v, labels, 2, texts, NULL), VW_ERR_INVALID_ARG);
        const char *d = vw_last_error_detail();
        CHECK(strstr(d, "vector 1 (label 51)") != NULL && strstr(d, bad[i].place) != NULL);
    }
    char big[VW_MAX_ATTR_BYTES + 16];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = 0;
    const char *texts[2] = {big, NULL};
    CHECK_ST(vw_store_upsert_with_attributes(s, v, labels, 2, texts, NULL), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "label 50") != NULL);
    CHECK(log_size() == before);
    CHECK(strcmp(attrs_of(s, 50), "-") == 0 && strcmp(attrs_of(s, 51), "-") == 0);
    CHECK_OK(put(s, 50, 1, "{\"ok\":true}")); /* still taking writes */
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(!st.failed);
    vw_store_close(s);
}

static void write_log(const unsigned char *buf, size_t len) {
    CHECK(tu_write_file(log_path, buf, len) == 0);
}

/* The CRC of the record at off (FORMAT.md: bytes 8 .. 32 + length). */
static void fix_record_crc(unsigned char *log, size_t off) {
    uint64_t len = tu_get64(log + off + 24);
    tu_put32(log + off + 4, vw_crc32c(0, log + off + 8, 24 + (size_t)len));
}

static void torn_and_damaged_attribute_records(void) {
    fresh();
    vw_store *s = open_ok();
    CHECK_OK(put(s, 60, 1, "{\"k\":\"first\"}"));
    size_t last = log_size();
    CHECK_OK(put(s, 61, 1, "{\"k\":\"second\",\"x\":[\"y\"]}"));
    vw_store_close(s);
    size_t len;
    unsigned char *full = tu_slurp(log_path, &len);
    CHECK(full && len > last && tu_get32(full + last + 8) == 3); /* type 3 */
    for (size_t cut = last; full && cut < len; cut++) {
        write_log(full, cut);
        s = open_ok();
        vw_store_stats st;
        CHECK_OK(vw_store_get_stats(s, &st));
        CHECK(st.replayed_records == 1 && st.dropped_bytes == cut - last);
        CHECK(strcmp(attrs_of(s, 60), "{\"k\":\"first\"}") == 0 &&
              strcmp(attrs_of(s, 61), "-") == 0);
        vw_store_close(s);
    }
    /* the last record's text length one too small, its CRC right: damage */
    unsigned char *bad = malloc(len);
    memcpy(bad, full, len);
    size_t lens_at = last + 32 + 8 + 4 * DIM;
    tu_put32(bad + lens_at, tu_get32(bad + lens_at) - 1);
    fix_record_crc(bad, last);
    write_log(bad, len);
    s = open_ok();
    CHECK(strcmp(attrs_of(s, 61), "-") == 0);
    vw_store_close(s);
    /* the same in the first record, an intact one after it: refused */
    memcpy(bad, full, len);
    lens_at = 64 + 32 + 8 + 4 * DIM;
    tu_put32(bad + lens_at, tu_get32(bad + lens_at) + 1);
    fix_record_crc(bad, 64);
    write_log(bad, len);
    CHECK_ST(vw_store_open(dir, initial, &s), VW_ERR_CORRUPT);
    /* a text the index refuses, logged anyway (CRC fixed): skipped */
    memcpy(bad, full, len);
    memcpy(bad + last + 32 + 8 + 4 * DIM + 4, "[", 1);
    fix_record_crc(bad, last);
    write_log(bad, len);
    s = open_ok();
    vw_store_stats st;
    CHECK_OK(vw_store_get_stats(s, &st));
    CHECK(st.skipped_records == 1 && strcmp(attrs_of(s, 61), "-") == 0);
    vw_store_close(s);
    free(bad);
    free(full);
}

/* A log of version 2: its header says 2; its type-1 records keep attributes. */
static void version2_log_replays(void) {
    fresh();
    vw_store *s = open_ok();
    float v[DIM];
    vec_for(1, 5, v);
    uint64_t one = 1;
    CHECK_OK(vw_store_upsert(s, v, &one, 1));
    CHECK_OK(vw_store_remove(s, 2));
    vw_store_close(s);
    size_t len;
    unsigned char *log = tu_slurp(log_path, &len);
    CHECK(log && len > 64 && tu_get32(log + 12) == 3);
    tu_put32(log + 12, 2);
    tu_put32(log + 24, 0);
    tu_put32(log + 24, vw_crc32c(0, log, 64));
    write_log(log, len);
    s = open_ok();
    float got[DIM];
    CHECK_OK(vw_index_get_vector(vw_store_index(s), 1, got));
    CHECK(memcmp(got, v, sizeof v) == 0);
    CHECK(strcmp(attrs_of(s, 1), "{\"c\":\"init\"}") == 0); /* kept, as version 2 did */
    CHECK(strcmp(attrs_of(s, 2), "-") == 0);
    free(log);
    log = tu_slurp(log_path, &len);
    CHECK(log && len == 64 && tu_get32(log + 12) == 3); /* snapshot taken, new log */
    free(log);
    CHECK_OK(put(s, 70, 1, "{\"c\":\"new\"}"));
    vw_store_close(s);
    s = open_ok();
    CHECK(strcmp(attrs_of(s, 1), "{\"c\":\"init\"}") == 0 && strcmp(attrs_of(s, 2), "-") == 0);
    CHECK(strcmp(attrs_of(s, 70), "{\"c\":\"new\"}") == 0);
    vw_store_close(s);
    /* a type-3 record in a version-2 log cannot be one: damage (torn tail) */
    log = tu_slurp(log_path, &len);
    CHECK(log && tu_get32(log + 64 + 8) == 3);
    tu_put32(log + 12, 2);
    tu_put32(log + 24, 0);
    tu_put32(log + 24, vw_crc32c(0, log, 64));
    write_log(log, len);
    s = open_ok();
    CHECK(strcmp(attrs_of(s, 70), "-") == 0);
    vw_store_close(s);
    free(log);
}

/* A store whose index has no attributes yet (a fresh server) answers a
 * filtered search with nothing, and then with what a write gave it. */
static void filter_before_any_attributes(void) {
    char plain[160], sub[160];
    snprintf(plain, sizeof plain, "%s/plain.vwi", dir);
    snprintf(sub, sizeof sub, "%s/plain", dir);
    vw_index *ix = thirty_vectors();
    CHECK_OK(vw_index_save(ix, plain));
    vw_index_free(ix);
    vw_store *s = NULL;
    CHECK_OK(vw_store_open(sub, plain, &s));
    if (!s)
        return;
    const char *red = "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}";
    CHECK(matching(s, red) == 0);
    CHECK_OK(put(s, 7, 1, "{\"color\":\"red\"}"));
    CHECK(matching(s, red) == BIT(7));
    vw_store_close(s);
}

int main(void) {
    if (tu_tempdir(dir, "vw_store_attrs") != 0)
        return 1;
    snprintf(initial, sizeof initial, "%s/initial.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/wal.log", dir);
    make_initial();
    written_then_replayed_and_snapshot();
    bad_attributes_are_refused_before_the_log();
    torn_and_damaged_attribute_records();
    version2_log_replays();
    filter_before_any_attributes();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_result("test_store_attrs");
}
