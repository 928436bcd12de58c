/* With ef >= n the beam search visits every reachable node, so on a few
 * thousand vectors the answer must be exactly the brute-force top-k, for
 * every metric, including distances. */
#include "testutil.h"

#define N   3000
#define DIM 24
#define K   10

int main(void) {
    float *base = tu_gaussian(N, DIM, 1);
    float *q = tu_gaussian(50, DIM, 2);
    uint64_t *labels = tu_iota(N);
    for (int m = VW_METRIC_L2; m <= VW_METRIC_COSINE; m++) {
        vw_params p;
        vw_params_default(&p, DIM);
        p.metric = (vw_metric)m;
        p.M = 8;
        p.ef_construction = 64;
        vw_index *ix = NULL;
        CHECK_OK(vw_index_create(&p, &ix));
        CHECK_OK(vw_index_add_batch(ix, base, labels, N, 1, NULL, NULL));
        for (int i = 0; i < 50; i++) {
            uint64_t want[K], got[K];
            double wd[K];
            float gd[K];
            uint32_t found = 0;
            tu_brute_force((vw_metric)m, base, N, DIM, q + i * DIM, K, NULL, NULL, want, wd);
            CHECK_OK(vw_index_search(ix, q + i * DIM, K, N, NULL, NULL, got, gd, &found));
            CHECK(found == K);
            for (int j = 0; j < K; j++) {
                /* labels may swap only between equal distances */
                if (got[j] != want[j] && fabs(wd[j] - gd[j]) > 1e-5) {
                    fprintf(stderr, "metric %s query %d rank %d: got %llu (%g) want %llu (%g)\n",
                            vw_metric_name((vw_metric)m), i, j, (unsigned long long)got[j], gd[j],
                            (unsigned long long)want[j], wd[j]);
                    check_failures++;
                }
                CHECK(fabs(wd[j] - gd[j]) <= 1e-5 * (1 + fabs(wd[j])));
                CHECK(j == 0 || gd[j - 1] <= gd[j]);
            }
        }
        vw_index_free(ix);
    }
    free(base);
    free(q);
    free(labels);
    return tu_result("test_core_exact");
}
