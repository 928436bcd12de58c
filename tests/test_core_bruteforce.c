/* vw_exact_search, the brute-force ground truth: the same answer as a
 * reference computed here (on small-integer vectors, whose distances float
 * arithmetic gets exactly), ties to the smaller row, the same answer on any
 * number of threads, cosine as an index sees it, padding when n < k, and
 * its refusals. */
#include "testutil.h"

#define N   2000
#define DIM 16
#define NQ  70 /* three blocks of queries, the last one partial */
#define K   12

/* Coordinates in -3..3: every L2 and dot product is an exact integer, and
 * many distances tie. */
static float *small_ints(uint64_t n, uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *v = malloc(n * DIM * sizeof *v);
    for (uint64_t i = 0; i < n * DIM; i++)
        v[i] = (float)(int)(tu_next(&r) % 7) - 3.0f;
    return v;
}

/* Checks one query's answer against tu_brute_force (ties to the smaller row). */
static void check_query(vw_metric m, const float *base, const float *q, const uint64_t *ids,
                        const float *dists) {
    uint64_t want[K];
    double want_d[K];
    uint32_t found = tu_brute_force(m, base, N, DIM, q, K, NULL, NULL, want, want_d);
    CHECK(found == K);
    for (uint32_t i = 0; i < K; i++) {
        CHECK(ids[i] == want[i]);
        CHECK(dists[i] == (float)want_d[i]);
    }
}

static void test_against_reference(void) {
    float *base = small_ints(N, 1), *q = small_ints(NQ, 2);
    uint64_t *ids = malloc(NQ * K * sizeof *ids), *ids3 = malloc(NQ * K * sizeof *ids3);
    float *d = malloc(NQ * K * sizeof *d), *d3 = malloc(NQ * K * sizeof *d3);
    vw_metric metrics[] = {VW_METRIC_L2, VW_METRIC_IP};
    for (int mi = 0; mi < 2; mi++) {
        CHECK_OK(vw_exact_search(base, N, q, NQ, DIM, metrics[mi], K, 1, ids, d, NULL, NULL));
        for (uint32_t i = 0; i < NQ; i++)
            check_query(metrics[mi], base, q + i * DIM, ids + i * K, d + i * K);
        CHECK_OK(vw_exact_search(base, N, q, NQ, DIM, metrics[mi], K, 3, ids3, d3, NULL, NULL));
        CHECK(memcmp(ids, ids3, NQ * K * sizeof *ids) == 0);
        CHECK(memcmp(d, d3, NQ * K * sizeof *d) == 0);
    }
    free(base), free(q), free(ids), free(ids3), free(d), free(d3);
}

/* Cosine normalizes on the way: the same as IP over vectors normalized by
 * vw_normalize, which is what an index stores; the inputs stay as they were. */
static void test_cosine(void) {
    float *base = tu_gaussian(N, DIM, 3), *q = tu_gaussian(NQ, DIM, 4);
    for (uint64_t i = 0; i < N * DIM; i++)
        base[i] *= 3.0f;
    float *unit = malloc(N * DIM * sizeof *unit), *uq = malloc(NQ * DIM * sizeof *uq);
    memcpy(unit, base, N * DIM * sizeof *unit);
    memcpy(uq, q, NQ * DIM * sizeof *uq);
    for (uint64_t i = 0; i < N; i++)
        CHECK_OK(vw_normalize(unit + i * DIM, DIM));
    for (uint64_t i = 0; i < NQ; i++)
        CHECK_OK(vw_normalize(uq + i * DIM, DIM));
    float first = base[0];
    uint64_t ids[NQ * K], ids_ip[NQ * K];
    float d[NQ * K], d_ip[NQ * K];
    CHECK_OK(vw_exact_search(base, N, q, NQ, DIM, VW_METRIC_COSINE, K, 2, ids, d, NULL, NULL));
    CHECK_OK(vw_exact_search(unit, N, uq, NQ, DIM, VW_METRIC_IP, K, 2, ids_ip, d_ip, NULL, NULL));
    CHECK(memcmp(ids, ids_ip, sizeof ids) == 0 && memcmp(d, d_ip, sizeof d) == 0);
    CHECK(base[0] == first);
    free(base), free(q), free(unit), free(uq);
}

static int cancel_at_once(uint64_t done, uint64_t total, void *ctx) {
    (void)done, (void)total;
    ++*(int *)ctx;
    return 1;
}

static void test_edges_and_errors(void) {
    float base[3 * DIM] = {0}, q[DIM] = {0};
    base[0] = 1, base[DIM] = 2, base[2 * DIM] = 1; /* rows 0 and 2 tie */
    uint64_t ids[5];
    float d[5];
    CHECK_OK(vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_L2, 5, 0, ids, d, NULL, NULL));
    CHECK(ids[0] == 0 && ids[1] == 2 && ids[2] == 1 && d[0] == 1 && d[2] == 4);
    CHECK(ids[3] == UINT64_MAX && ids[4] == UINT64_MAX && isinf(d[3]) && isinf(d[4]));
    CHECK_OK(vw_exact_search(base, 3, q, 0, DIM, VW_METRIC_L2, 5, 0, ids, NULL, NULL, NULL));

    CHECK_ST(vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_COSINE, 1, 0, ids, d, NULL, NULL),
             VW_ERR_ZERO_VECTOR); /* the query is zero */
    base[DIM + 3] = NAN;
    CHECK_ST(vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_L2, 1, 0, ids, d, NULL, NULL),
             VW_ERR_NONFINITE);
    CHECK(strstr(vw_last_error_detail(), "base row 1") != NULL);
    base[DIM + 3] = 0;
    CHECK_ST(vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_L2, 0, 0, ids, d, NULL, NULL), VW_ERR_K);
    CHECK_ST(vw_exact_search(base, 3, q, 1, 0, VW_METRIC_L2, 1, 0, ids, d, NULL, NULL),
             VW_ERR_DIMENSION);
    CHECK_ST(vw_exact_search(NULL, 3, q, 1, DIM, VW_METRIC_L2, 1, 0, ids, d, NULL, NULL),
             VW_ERR_NULL_ARG);
    CHECK_ST(vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_L2, 1, 0, NULL, d, NULL, NULL),
             VW_ERR_NULL_ARG);
    int calls = 0;
    CHECK_ST(
        vw_exact_search(base, 3, q, 1, DIM, VW_METRIC_L2, 1, 1, ids, d, cancel_at_once, &calls),
        VW_ERR_CANCELLED);
    CHECK(calls == 1);
}

int main(void) {
    test_against_reference();
    test_cosine();
    test_edges_and_errors();
    return tu_result("test_core_bruteforce");
}
