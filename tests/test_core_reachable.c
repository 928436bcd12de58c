/* After a multi-threaded build every node must be reachable from the entry
 * point: searching for each stored vector with ef = n finds that vector.
 * Small graphs with many threads make insert races likely (a node linked
 * in a layer above before its own lower lists exist), so each thread count
 * builds many of them. Run under ThreadSanitizer in CI too. */
#include "testutil.h"

#define N      400
#define DIM    16
#define BUILDS 25

static int unreachable_after_build(const float *base, const uint64_t *labels, unsigned threads,
                                   uint64_t seed) {
    vw_params p;
    vw_params_default(&p, DIM);
    /* M=16: with very small M (4) heuristic pruning alone can orphan a
     * node now and then, whatever the thread count; here a serial build
     * never does, so any loss is a concurrency bug. */
    p.M = 16;
    p.ef_construction = 40;
    p.seed = seed;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, threads, NULL, NULL));
    int missing = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t got;
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, base + i * DIM, 1, N, NULL, NULL, &got, NULL, &found));
        missing += found != 1 || got != i;
    }
    vw_index_free(ix);
    return missing;
}

int main(void) {
    uint64_t *labels = tu_iota(N);
    for (unsigned threads = 1; threads <= 4; threads *= 2) {
        int total = 0;
        for (int b = 0; b < BUILDS; b++) {
            float *base = tu_gaussian(N, DIM, 1000 + b);
            total += unreachable_after_build(base, labels, threads, 50 + b);
            free(base);
        }
        printf("%u thread(s): %d unreachable nodes over %d builds of %d\n", threads, total, BUILDS,
               N);
        CHECK(total == 0);
    }
    free(labels);
    return tu_result("test_core_reachable");
}
