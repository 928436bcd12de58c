/* After a build every node must be reachable from the entry point:
 * searching for each stored vector with ef = n finds that vector.
 *
 * Two ways lose a node. Parallel inserts race (a node linked in a layer
 * above before its own lower lists exist), so small graphs with several
 * threads are built many times; and the pruning heuristic alone drops a
 * node from every list that named it now and then, most often with a very
 * small M: on Gaussian vectors that are not normalized, M=4 lost about four
 * nodes per serial build of 400 before batches ended with a reachability
 * pass (vw_reconnect_after_batch). Builds that arrive in pieces (batches of
 * ten, or one insert at a time, as a streamed vw-build or a server's writes
 * do) end as reachable once vw_index_purge has checked the last pieces:
 * they are built that way too. Run under
 * ThreadSanitizer in CI too. */
#include "testutil.h"

#include <stdbool.h>

#define N      400
#define DIM    16
#define BUILDS 25

/* chunk: the nodes per vw_index_add_batch call, 0 = one vw_index_add each */
static int unreachable_after_build(const float *base, const uint64_t *labels, unsigned M,
                                   unsigned threads, unsigned chunk, uint64_t seed) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = M;
    p.ef_construction = 40;
    p.seed = seed;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    for (uint64_t at = 0; at < N;) {
        uint64_t n = chunk == 0 ? 1 : (N - at < chunk ? N - at : chunk);
        if (chunk == 0)
            CHECK_OK(vw_index_add(ix, base + at * DIM, labels[at]));
        else
            CHECK_OK(vw_index_add_batch(ix, base + at * DIM, labels + at, n, threads, NULL, NULL));
        at += n;
    }
    if (chunk != N)
        CHECK_OK(vw_index_purge(ix));
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

/* Standard normal components, not normalized: norms vary, as real data's do. */
static float *raw_gaussian(uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *x = malloc((size_t)N * DIM * sizeof *x);
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        x[i] = (float)tu_normal(&r);
    return x;
}

static void builds(const uint64_t *labels, unsigned M, unsigned threads, unsigned chunk,
                   bool normalized) {
    int total = 0;
    for (int b = 0; b < BUILDS; b++) {
        float *base = normalized ? tu_gaussian(N, DIM, 1000 + b) : raw_gaussian(1000 + b);
        total += unreachable_after_build(base, labels, M, threads, chunk, 50 + b);
        free(base);
    }
    printf("M=%u, %u thread(s), %u per call, %s: %d unreachable nodes over %d builds of %d\n", M,
           threads, chunk, normalized ? "normalized" : "raw", total, BUILDS, N);
    CHECK(total == 0);
}

int main(void) {
    uint64_t *labels = tu_iota(N);
    for (unsigned threads = 1; threads <= 4; threads *= 2)
        builds(labels, 16, threads, N, true);
    builds(labels, 4, 1, N, false);
    builds(labels, 4, 2, N, false);
    builds(labels, 4, 1, 10, false); /* streamed in batches */
    builds(labels, 4, 2, 10, false);
    builds(labels, 4, 1, 0, false); /* one insert at a time */
    free(labels);
    return tu_result("test_core_reachable");
}
