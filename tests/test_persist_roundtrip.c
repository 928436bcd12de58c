/* Round trip through the index file: for each metric and dims 1, 3, 128,
 * 1000, plus an empty index and a one-element index, an index loaded in
 * either mode answers every query with the same labels and bit-identical
 * distances, reports the same stats and vectors, and saves to a
 * byte-identical file. A read-mode index accepts inserts afterwards; an
 * mmap-mode index refuses them with VW_ERR_READONLY. */
#include "testutil.h"

#include <stdbool.h>

#include <unistd.h>

#define NQ 24
#define K  10
#define EF 48

static char dir[64];

static char *path_in_dir(const char *name) {
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static bool same_file(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *x = tu_slurp(a, &la), *y = tu_slurp(b, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Labels far from the ids, so a mix-up of the two would show. */
static uint64_t label_of(uint64_t i) {
    return 0x9e3779b97f4a7c15ULL * (i + 1) ^ 0x5555;
}

static vw_index *build(vw_metric metric, uint32_t dim, uint64_t n, uint64_t seed) {
    vw_params p;
    vw_params_default(&p, dim);
    p.metric = metric;
    p.M = 6; /* small M: several layers even with few elements */
    p.ef_construction = 32;
    p.seed = seed;
    p.capacity = 16;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    if (!ix || n == 0)
        return ix;
    float *x = tu_gaussian(n, dim, seed);
    uint64_t *labels = malloc(n * sizeof *labels);
    for (uint64_t i = 0; i < n; i++)
        labels[i] = label_of(i);
    CHECK_OK(vw_index_add_batch(ix, x, labels, n, 1, NULL, NULL));
    free(x);
    free(labels);
    return ix;
}

static void check_same_stats(const vw_index *a, const vw_index *b) {
    vw_stats sa, sb;
    CHECK_OK(vw_index_stats(a, &sa));
    CHECK_OK(vw_index_stats(b, &sb));
    CHECK(sa.count == sb.count);
    CHECK(sa.dim == sb.dim);
    CHECK(sa.metric == sb.metric);
    CHECK(sa.M == sb.M);
    CHECK(sa.ef_construction == sb.ef_construction);
    CHECK(sa.seed == sb.seed);
    CHECK(sa.max_level == sb.max_level);
}

static void check_same_answers(const vw_index *a, const vw_index *b, uint32_t dim, uint64_t n) {
    float *q = tu_gaussian(NQ, dim, 777);
    for (int i = 0; i < NQ; i++) {
        uint64_t la[K], lb[K];
        float da[K], db[K];
        uint32_t fa = 0, fb = 0;
        vw_status sa = vw_index_search(a, q + (size_t)i * dim, K, EF, NULL, NULL, la, da, &fa);
        vw_status sb = vw_index_search(b, q + (size_t)i * dim, K, EF, NULL, NULL, lb, db, &fb);
        CHECK(sa == sb);
        CHECK(sa == (n ? VW_OK : VW_ERR_EMPTY_INDEX));
        if (sa != VW_OK || sb != VW_OK)
            continue;
        CHECK(fa == fb);
        CHECK(fa == (n < K ? n : K));
        CHECK(memcmp(la, lb, fa * sizeof *la) == 0);
        CHECK(memcmp(da, db, fa * sizeof *da) == 0); /* bit-identical distances */
    }
    free(q);
    float *va = malloc(dim * sizeof *va), *vb = malloc(dim * sizeof *vb);
    for (uint64_t i = 0; i < n; i += 1 + n / 16) {
        CHECK_OK(vw_index_get_vector(a, label_of(i), va));
        CHECK_OK(vw_index_get_vector(b, label_of(i), vb));
        CHECK(memcmp(va, vb, dim * sizeof *va) == 0);
    }
    free(va);
    free(vb);
}

/* After a read-mode load the index is an ordinary one: it takes inserts,
 * finds them, and still rejects a duplicate label from the file. */
static void check_insert_after_load(vw_index *ix, uint32_t dim, uint64_t n) {
    float *v = tu_gaussian(3, dim, 4242);
    for (int i = 0; i < 3; i++)
        CHECK_OK(vw_index_add(ix, v + (size_t)i * dim, 1000000 + (uint64_t)i));
    if (n > 0)
        CHECK_ST(vw_index_add(ix, v, label_of(0)), VW_ERR_DUPLICATE_LABEL);
    /* The new vector is found at distance ~0 (in dim 1 others may tie with it). */
    uint64_t l[K];
    float d[K];
    uint32_t found = 0;
    CHECK_OK(vw_index_search(ix, v + dim, 1, EF, NULL, NULL, l, d, &found));
    CHECK(found == 1 && fabsf(d[0]) < 1e-5f);
    float *back = malloc(dim * sizeof *back);
    CHECK_OK(vw_index_get_vector(ix, 1000001, back));
    free(back);
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == n + 3);
    free(v);
}

static void round_trip(vw_metric metric, uint32_t dim, uint64_t n) {
    char name[64];
    snprintf(name, sizeof name, "%s_%u_%llu.vwi", vw_metric_name(metric), dim,
             (unsigned long long)n);
    char *orig = path_in_dir(name);
    char *again = path_in_dir("again.vwi");
    vw_index *ix = build(metric, dim, n, 1000 + dim + n);
    if (!ix)
        return;
    CHECK_OK(vw_index_save(ix, orig));
    static const unsigned modes[] = {VW_LOAD_DEFAULT, VW_LOAD_MMAP, VW_LOAD_NO_VERIFY,
                                     VW_LOAD_MMAP | VW_LOAD_NO_VERIFY};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        vw_index *loaded = NULL;
        CHECK_OK(vw_index_load(orig, modes[m], &loaded));
        if (!loaded) {
            fprintf(stderr, "  (%s dim %u n %llu mode %u)\n", vw_metric_name(metric), dim,
                    (unsigned long long)n, modes[m]);
            continue;
        }
        check_same_stats(ix, loaded);
        check_same_answers(ix, loaded, dim, n);
        vw_stats s;
        CHECK_OK(vw_index_stats(loaded, &s));
        CHECK(!!s.mmapped == !!(modes[m] & VW_LOAD_MMAP));
        CHECK_OK(vw_index_save(loaded, again));
        CHECK(same_file(orig, again));
        if (modes[m] & VW_LOAD_MMAP) {
            float *v = tu_gaussian(1, dim, 99);
            CHECK_ST(vw_index_add(loaded, v, 123456789), VW_ERR_READONLY);
            free(v);
        } else {
            check_insert_after_load(loaded, dim, n);
        }
        vw_index_free(loaded);
    }
    /* Saving over an existing file replaces it. */
    CHECK_OK(vw_index_save(ix, again));
    CHECK(same_file(orig, again));
    unlink(orig);
    unlink(again);
    vw_index_free(ix);
}

int main(void) {
    /* tmpfs when there is one: the saves fsync, and tests need no disk */
    snprintf(dir, sizeof dir, "%s/vw_persist_rt_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    static const uint32_t dims[] = {1, 3, 128, 1000};
    for (int m = VW_METRIC_L2; m <= VW_METRIC_COSINE; m++)
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
            round_trip((vw_metric)m, dims[d], dims[d] == 1000 ? 120 : 300);
    round_trip(VW_METRIC_L2, 16, 0); /* empty */
    round_trip(VW_METRIC_IP, 16, 1); /* one element */
    round_trip(VW_METRIC_COSINE, 2, 2);
    rmdir(dir);
    return tu_result("test_persist_roundtrip");
}
