/* Removals survive saving and loading.
 *   - An index holding removed nodes (still linked) and free slots is saved
 *     as format version 3; it loads in both modes with the same stats and
 *     the same answers (removed labels are never returned, mapped or not),
 *     and saving the loaded index reproduces the file byte for byte.
 *   - After loading, free slots are reused by inserts and removed nodes are
 *     unlinked by the next purge; an mmap-loaded index refuses every write.
 *   - Everything removed: the file loads as an empty index that fills again.
 *   - An index without removals is still written as version 2, and files
 *     written before removals existed (tests/data/format1.vwi, version 1;
 *     format2.vwi, version 2 with i8 codes) load, search, re-save, and take
 *     removals.
 * Usage: test_live_persist <tests/data/format1.vwi> <tests/data/format2.vwi> */
#include "testutil.h"

#include <unistd.h>

#define N   1500
#define DIM 16
#define NQ  100
/* removed from the N elements of churned_round_trip: fewer than a quarter,
 * so that the index keeps its empty slots (a quarter empty compacts it) */
#define REMOVED 300
#define K       10

static char dir[64];

static uint32_t file_version(const char *path) {
    size_t len;
    unsigned char *f = tu_slurp(path, &len);
    uint32_t v = 0;
    if (f && len >= 16)
        memcpy(&v, f + 12, 4);
    free(f);
    return v;
}

static int same_file(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *fa = tu_slurp(a, &la), *fb = tu_slurp(b, &lb);
    int same = fa && fb && la == lb && memcmp(fa, fb, la) == 0;
    free(fa);
    free(fb);
    return same;
}

static void path_of(char *out, const char *name) {
    snprintf(out, 256, "%s/%s", dir, name);
}

/* Both indexes give the same labels and distances for every query. */
static void same_answers(vw_index *a, vw_index *b, const float *q) {
    for (int i = 0; i < NQ; i++) {
        uint64_t la[K], lb[K];
        float da[K], db[K];
        uint32_t fa = 0, fb = 0;
        CHECK_OK(vw_index_search(a, q + i * DIM, K, 40, NULL, NULL, la, da, &fa));
        CHECK_OK(vw_index_search(b, q + i * DIM, K, 40, NULL, NULL, lb, db, &fb));
        CHECK(fa == fb && memcmp(la, lb, fa * sizeof *la) == 0 &&
              memcmp(da, db, fa * sizeof *da) == 0);
    }
}

static void same_stats(vw_index *a, vw_index *b) {
    vw_stats sa, sb;
    CHECK_OK(vw_index_stats(a, &sa));
    CHECK_OK(vw_index_stats(b, &sb));
    CHECK(sa.count == sb.count && sa.removed == sb.removed && sa.free_slots == sb.free_slots &&
          sa.slots == sb.slots && sa.max_level == sb.max_level);
}

static void never_returns(vw_index *ix, const float *base, const uint64_t *gone, int n) {
    for (int i = 0; i < n; i++) {
        uint64_t got[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, base + gone[i] * DIM, K, 64, NULL, NULL, got, NULL, &found));
        for (uint32_t j = 0; j < found; j++)
            CHECK(got[j] != gone[i]);
    }
}

static void readonly_refuses(vw_index *m, const float *v) {
    CHECK_ST(vw_index_remove(m, 1), VW_ERR_READONLY);
    CHECK_ST(vw_index_upsert(m, v, 1), VW_ERR_READONLY);
    CHECK_ST(vw_index_add(m, v, 999999), VW_ERR_READONLY);
    CHECK_ST(vw_index_purge(m), VW_ERR_READONLY);
}

static void churned_round_trip(void) {
    float *base = tu_gaussian(N, DIM, 41), *q = tu_gaussian(NQ, DIM, 42);
    uint64_t *labels = tu_iota(N), gone[REMOVED];
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 40;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 2, NULL, NULL));
    for (int i = 0; i < REMOVED; i++) {
        gone[i] = (uint64_t)i * 3 + 1;
        CHECK_OK(vw_index_remove(ix, gone[i]));
        if (i == REMOVED * 3 / 4 - 1)
            CHECK_OK(vw_index_purge(ix));
    }
    float *up = tu_gaussian(50, DIM, 43);
    for (int i = 0; i < 50; i++) /* takes 50 of the free slots */
        CHECK_OK(vw_index_upsert(ix, up + i * DIM, 3 * (uint64_t)i)); /* live labels */
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    /* some removed nodes are still linked, some slots free: both kinds go
     * to the file (purges run every few dozen removals) */
    CHECK(s.count == N - REMOVED && s.removed > 0 && s.free_slots > 0 && s.slots == N);

    char a[256], b[256];
    path_of(a, "churned.vwi");
    path_of(b, "again.vwi");
    CHECK_OK(vw_index_save(ix, a));
    CHECK(file_version(a) == 3);
    vw_index *r = NULL, *m = NULL;
    CHECK_OK(vw_index_load(a, VW_LOAD_DEFAULT, &r));
    CHECK_OK(vw_index_load(a, VW_LOAD_MMAP, &m));
    if (r && m) {
        same_stats(ix, r);
        same_stats(ix, m);
        same_answers(ix, r, q);
        same_answers(ix, m, q);
        never_returns(m, base, gone, REMOVED);
        readonly_refuses(m, up);
        CHECK_OK(vw_index_save(r, b));
        CHECK(same_file(a, b));
        /* the loaded index carries on: purge, then inserts reuse slots */
        CHECK_OK(vw_index_purge(r));
        CHECK_OK(vw_index_stats(r, &s));
        CHECK(s.removed == 0 && s.free_slots == REMOVED && s.slots == N);
        float *more = tu_gaussian(REMOVED, DIM, 44);
        uint64_t *ml = malloc(REMOVED * sizeof *ml);
        for (int i = 0; i < REMOVED; i++)
            ml[i] = 5000 + i;
        CHECK_OK(vw_index_add_batch(r, more, ml, REMOVED, 2, NULL, NULL));
        CHECK_OK(vw_index_stats(r, &s));
        CHECK(s.free_slots == 0 && s.slots == N && s.count == N);
        never_returns(r, base, gone, REMOVED);
        free(more);
        free(ml);
    }
    vw_index_free(r);
    vw_index_free(m);
    vw_index_free(ix);
    free(base);
    free(q);
    free(labels);
    free(up);
}

/* Every slot free: loads as empty (with its slots), and fills again. */
static void all_removed(void) {
    float *base = tu_gaussian(200, DIM, 45);
    uint64_t *labels = tu_iota(200);
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL, *back = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, 200, 1, NULL, NULL));
    for (uint64_t i = 0; i < 200; i++)
        CHECK_OK(vw_index_remove(ix, i));
    CHECK_OK(vw_index_purge(ix));
    char a[256];
    path_of(a, "empty.vwi");
    CHECK_OK(vw_index_save(ix, a));
    CHECK_OK(vw_index_load(a, VW_LOAD_DEFAULT, &back));
    uint64_t got[K];
    uint32_t found = 0;
    vw_stats s;
    if (back) {
        CHECK_OK(vw_index_stats(back, &s));
        CHECK(s.count == 0 && s.free_slots == 200 && s.max_level == -1);
        CHECK_ST(vw_index_search(back, base, K, 32, NULL, NULL, got, NULL, &found),
                 VW_ERR_EMPTY_INDEX);
        CHECK_OK(vw_index_add_batch(back, base, labels, 200, 1, NULL, NULL));
        CHECK_OK(vw_index_search(back, base + 7 * DIM, K, 64, NULL, NULL, got, NULL, &found));
        CHECK(found == K && got[0] == 7);
        CHECK_OK(vw_index_stats(back, &s));
        CHECK(s.slots == 200);
    }
    vw_index_free(back);
    vw_index_free(ix);
    free(base);
    free(labels);
}

/* Single removals on an index larger than one purge slice: passes run a
 * slice per call, and nodes removed while a pass runs must not keep links
 * to slots the pass frees. Every state saved between removals loads (the
 * loader rejects a link to a free slot) and answers without the labels. */
static void removals_during_passes(void) {
    enum { BIG = 6000, D = 16, GONE = 3000 };
    float *base = tu_gaussian(BIG, D, 3);
    uint64_t *labels = tu_iota(BIG);
    vw_params p;
    vw_params_default(&p, D);
    p.M = 8;
    p.ef_construction = 40;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, BIG, 1, NULL, NULL));
    char a[256];
    path_of(a, "passes.vwi");
    for (uint64_t i = 0; i < GONE && ix; i++) {
        CHECK_OK(vw_index_remove(ix, i * 7919 % BIG));
        if (i % 100 != 99)
            continue;
        vw_index *back = NULL;
        CHECK_OK(vw_index_save(ix, a));
        CHECK_OK(vw_index_load(a, VW_LOAD_DEFAULT, &back));
        if (!back)
            break;
        uint64_t got[K];
        uint32_t found = 0;
        uint64_t gone = (i - 50) * 7919 % BIG;
        CHECK_OK(vw_index_search(back, base + gone * D, K, 64, NULL, NULL, got, NULL, &found));
        for (uint32_t j = 0; j < found; j++)
            CHECK(got[j] != gone);
        vw_index_free(back);
    }
    vw_index_free(ix);
    free(base);
    free(labels);
}

/* A file from before removals (version 1: float32 only; version 2: here
 * with i8 codes and float32 rows), labels 0..99 of 8-d vectors: loads in
 * both modes, answers, re-saves (as version 2, byte for byte the same for a
 * version-2 file), and takes a removal (then it is written as version 3). */
static void old_file(const char *fixture, uint32_t version) {
    CHECK(file_version(fixture) == version);
    char a[256], b[256];
    path_of(a, "old.vwi");
    path_of(b, "old-removed.vwi");
    static const unsigned modes[] = {VW_LOAD_DEFAULT, VW_LOAD_MMAP};
    for (int m = 0; m < 2; m++) {
        vw_index *ix = NULL;
        CHECK_OK(vw_index_load(fixture, modes[m], &ix));
        if (!ix)
            return;
        vw_stats s;
        CHECK_OK(vw_index_stats(ix, &s));
        CHECK(s.count == 100 && s.dim == 8 && s.removed == 0 && s.free_slots == 0);
        for (uint64_t l = 0; l < 100; l++) {
            float v[8];
            uint64_t got;
            uint32_t found = 0;
            CHECK_OK(vw_index_get_vector(ix, l, v));
            CHECK_OK(vw_index_search(ix, v, 1, 100, NULL, NULL, &got, NULL, &found));
            CHECK(found == 1 && got == l);
        }
        CHECK_OK(vw_index_save(ix, a));
        CHECK(file_version(a) == 2);
        CHECK(version != 2 || same_file(fixture, a));
        if (m == 0) {
            CHECK_OK(vw_index_remove(ix, 5));
            CHECK_OK(vw_index_save(ix, b));
            CHECK(file_version(b) == 3);
        }
        vw_index_free(ix);
    }
    vw_index *back = NULL;
    CHECK_OK(vw_index_load(b, VW_LOAD_MMAP, &back));
    float v[8];
    if (back)
        CHECK_ST(vw_index_get_vector(back, 5, v), VW_ERR_NOT_FOUND);
    vw_index_free(back);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <tests/data/format1.vwi> <tests/data/format2.vwi>\n", argv[0]);
        return 2;
    }
    if (tu_tempdir(dir, "vw_live_persist") != 0)
        return 1;
    churned_round_trip();
    all_removed();
    removals_during_passes();
    old_file(argv[1], 1);
    old_file(argv[2], 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_result("test_live_persist");
}
