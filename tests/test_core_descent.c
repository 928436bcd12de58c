/* The greedy descent that skips nodes it has already scored ends on the
 * same node as the descent that scores every neighbour (search.c,
 * greedy_step): a skipped node can never be nearer than the current one.
 * Each query's layer-0 search runs on the same scratch in between, so a
 * descent that trusted a visited set left over from the last search would
 * skip nodes it never scored and end elsewhere. Small M makes many layers,
 * so the descent has long paths to get wrong; f32 and i8 storage both. */
#include "testutil.h"
#include "vw_internal.h"

#define DIM     16
#define N       6000
#define QUERIES 400

/* Descends for each query with and without the scratch; returns how many
 * queries ended on different nodes. */
static uint32_t mismatches(const vw_index *ix, const float *queries) {
    uint32_t bad = 0;
    CHECK_OK(vw_lock_read(ix));
    vw_scratch *s = vw_scratch_acquire(ix);
    CHECK(s != NULL);
    if (!s) {
        vw_unlock(ix);
        return QUERIES;
    }
    CHECK_OK(vw_scratch_fit(s, ix->capacity, 64, ix->dim));
    vw_epoch_enter(ix, s);
    vw_top top = vw_top_get(ix);
    CHECK(top.level >= 3);
    for (uint32_t i = 0; i < QUERIES; i++) {
        vw_query q = vw_prepare_query(ix, queries + (size_t)i * DIM, s->pbuf);
        uint32_t all = vw_greedy_descend(ix, NULL, &q, top.entry, top.level, 0, false);
        uint32_t skip = vw_greedy_descend(ix, s, &q, top.entry, top.level, 0, false);
        bad += all != skip;
        vw_layer_query lq = {&q, 64, 0, false, false, NULL, NULL, NULL};
        CHECK_OK(vw_search_layer(ix, s, &lq, skip)); /* leaves the visited set dirty */
    }
    vw_epoch_exit(s);
    vw_scratch_release(ix, s);
    vw_unlock(ix);
    return bad;
}

static void check_kind(vw_storage storage) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 4;
    p.ef_construction = 40;
    p.storage = storage;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    if (!ix)
        return;
    float *base = tu_clustered(N, DIM, 20, 0.3, 11, 13);
    float *queries = tu_gaussian(QUERIES, DIM, 12);
    uint64_t *labels = tu_iota(N);
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 1, NULL, NULL));
    uint32_t bad = mismatches(ix, queries);
    if (bad)
        fprintf(stderr, "storage %d: %u of %u descents ended elsewhere\n", (int)storage, bad,
                QUERIES);
    CHECK(bad == 0);
    free(base);
    free(queries);
    free(labels);
    vw_index_free(ix);
}

int main(void) {
    check_kind(VW_STORAGE_F32);
    check_kind(VW_STORAGE_I8);
    return tu_result("test_core_descent");
}
