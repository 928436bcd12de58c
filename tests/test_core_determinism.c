/* The same seed, data and order on one thread build the same graph: every
 * query gets the same labels and distances, and the stats agree. A
 * different seed draws different levels (so the check above is not vacuous).
 * Adding one at a time, or in batches without labels, builds the same graph. */
#include "testutil.h"

#define N   4000
#define DIM 32
#define NQ  100

static vw_index *build(const float *base, const uint64_t *labels, uint64_t seed) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 40;
    p.seed = seed;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 1, NULL, NULL));
    return ix;
}

/* ef=16 keeps the search approximate, so graph differences show in results */
static int same_answers(vw_index *a, vw_index *b, const float *q) {
    int same = 1;
    for (int i = 0; i < NQ; i++) {
        uint64_t la[10], lb[10];
        float da[10], db[10];
        uint32_t fa = 0, fb = 0;
        CHECK_OK(vw_index_search(a, q + i * DIM, 10, 16, NULL, NULL, la, da, &fa));
        CHECK_OK(vw_index_search(b, q + i * DIM, 10, 16, NULL, NULL, lb, db, &fb));
        same &= fa == fb && memcmp(la, lb, fa * sizeof *la) == 0 &&
                memcmp(da, db, fa * sizeof *da) == 0;
    }
    return same;
}

int main(void) {
    float *base = tu_gaussian(N, DIM, 5);
    float *q = tu_gaussian(NQ, DIM, 6);
    uint64_t *labels = tu_iota(N);
    vw_index *a = build(base, labels, 123), *b = build(base, labels, 123);
    vw_index *c = build(base, labels, 124);
    CHECK(same_answers(a, b, q));
    vw_stats sa, sb, sc;
    CHECK_OK(vw_index_stats(a, &sa));
    CHECK_OK(vw_index_stats(b, &sb));
    CHECK_OK(vw_index_stats(c, &sc));
    CHECK(sa.max_level == sb.max_level && sa.memory_bytes == sb.memory_bytes);
    /* another seed gives another graph: some answer or the shape differs */
    CHECK(!same_answers(a, c, q) || sa.memory_bytes != sc.memory_bytes);
    /* one-at-a-time adds give the same graph as a one-thread batch */
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 40;
    p.seed = 123;
    p.capacity = 10; /* forces several growths on the way */
    vw_index *d = NULL;
    CHECK_OK(vw_index_create(&p, &d));
    for (uint64_t i = 0; i < N; i++)
        CHECK_OK(vw_index_add(d, base + i * DIM, i));
    CHECK(same_answers(a, d, q));
    /* batches without labels, one after another, continue the row numbers:
     * the same graph as one batch labelled 0..N-1 */
    vw_index *e = NULL;
    CHECK_OK(vw_index_create(&p, &e));
    const uint64_t parts[] = {1, 999, 1500, N - 2500};
    for (uint64_t i = 0, row = 0; i < 4; row += parts[i], i++)
        CHECK_OK(vw_index_add_batch(e, base + row * DIM, NULL, parts[i], 1, NULL, NULL));
    CHECK(same_answers(a, e, q));
    vw_index_free(e);
    vw_index_free(a);
    vw_index_free(b);
    vw_index_free(c);
    vw_index_free(d);
    free(base);
    free(q);
    free(labels);
    return tu_result("test_core_determinism");
}
