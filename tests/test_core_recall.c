/* Recall@10 of the graph on the two kinds of data the library must handle,
 * for every metric, built with one and with two threads, unfiltered and with
 * a filter keeping half the labels (recall then measured against the
 * filtered brute force).
 *
 *   clustered: 256 standard-normal centres in 128-d, points = centre +
 *              N(0, 1) noise, normalized; 20,000 points, M=16, efC=100;
 *              recall >= 0.95 at ef=64.
 *   gaussian:  20,000 i.i.d. Gaussian directions, M=16, efC=100; the
 *              hardest case for any graph index (hnswlib: 0.59 at ef=100,
 *              0.99 at ef=800), so >= 0.55 at ef=100 and >= 0.97 at ef=800.
 *
 * Usage: test_core_recall clustered|gaussian */
#include "testutil.h"

#define N   20000
#define NQ  200
#define DIM 128
#define K   10

static int keep_even(uint64_t label, void *ctx) {
    (void)ctx;
    return (label & 1) == 0;
}

typedef struct truth {
    uint64_t all[NQ][K];
    uint64_t even[NQ][K];
} truth;

static void ground_truth(vw_metric m, const float *base, const float *q, truth *t) {
    double d[K];
    for (int i = 0; i < NQ; i++) {
        tu_brute_force(m, base, N, DIM, q + (size_t)i * DIM, K, NULL, NULL, t->all[i], d);
        tu_brute_force(m, base, N, DIM, q + (size_t)i * DIM, K, keep_even, NULL, t->even[i], d);
    }
}

static double recall(vw_index *ix, const float *q, const truth *t, uint32_t ef, int filtered) {
    uint64_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t labels[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, q + (size_t)i * DIM, K, ef, filtered ? keep_even : NULL, NULL,
                                 labels, NULL, &found));
        CHECK(found == K);
        for (uint32_t j = 0; j < found && filtered; j++)
            CHECK(keep_even(labels[j], NULL));
        hits += tu_overlap(labels, found, filtered ? t->even[i] : t->all[i], K);
    }
    return (double)hits / (NQ * K);
}

typedef struct target {
    uint32_t ef;
    double min_recall;
} target;

static void run(const char *data, const float *base, const float *q, const target *targets,
                int ntargets) {
    static truth t;
    uint64_t *labels = tu_iota(N);
    for (int m = VW_METRIC_L2; m <= VW_METRIC_COSINE; m++) {
        ground_truth((vw_metric)m, base, q, &t);
        for (unsigned threads = 1; threads <= 2; threads++) {
            vw_params p;
            vw_params_default(&p, DIM);
            p.metric = (vw_metric)m;
            p.M = 16;
            p.ef_construction = 100;
            vw_index *ix = NULL;
            CHECK_OK(vw_index_create(&p, &ix));
            CHECK_OK(vw_index_add_batch(ix, base, labels, N, threads, NULL, NULL));
            for (int i = 0; i < ntargets; i++)
                for (int filtered = 0; filtered <= 1; filtered++) {
                    double r = recall(ix, q, &t, targets[i].ef, filtered);
                    printf("%s metric=%s threads=%u filter=%s ef=%u recall@10=%.4f (need %.2f)\n",
                           data, vw_metric_name((vw_metric)m), threads, filtered ? "half" : "none",
                           targets[i].ef, r, targets[i].min_recall);
                    CHECK(r >= targets[i].min_recall);
                }
            vw_index_free(ix);
        }
    }
    free(labels);
}

int main(int argc, char **argv) {
    const char *data = argc > 1 ? argv[1] : "clustered";
    if (strcmp(data, "clustered") == 0) {
        float *base = tu_clustered(N, DIM, 256, 1.0, 7, 8);
        float *q = tu_clustered(NQ, DIM, 256, 1.0, 7, 9);
        const target targets[] = {{64, 0.95}};
        run(data, base, q, targets, 1);
        free(base);
        free(q);
    } else if (strcmp(data, "gaussian") == 0) {
        float *base = tu_gaussian(N, DIM, 11);
        float *q = tu_gaussian(NQ, DIM, 12);
        const target targets[] = {{100, 0.55}, {800, 0.97}};
        run(data, base, q, targets, 2);
        free(base);
        free(q);
    } else {
        fprintf(stderr, "usage: test_core_recall clustered|gaussian\n");
        return 2;
    }
    return tu_result("test_core_recall");
}
