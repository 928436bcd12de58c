/* Threads: a 2- and 4-thread batch build gives a usable graph; concurrent
 * searches from 4 threads return exactly what serial searches return; a
 * batch search equals one-by-one searches; searches racing an insert stay
 * correct. Run under ThreadSanitizer in CI. */
#include "testutil.h"

#include <pthread.h>

#define N   3000
#define DIM 32
#define NQ  200
#define K   10

static vw_index *ix;
static float *queries;
static uint64_t serial[NQ][K];

typedef struct job {
    int first;
    int mismatches;
} job;

static void *search_all(void *p) {
    job *j = p;
    for (int r = 0; r < NQ; r++) {
        int i = (r + j->first) % NQ;
        uint64_t got[K];
        uint32_t found = 0;
        if (vw_index_search(ix, queries + i * DIM, K, 32, NULL, NULL, got, NULL, &found) != VW_OK ||
            found != K || memcmp(got, serial[i], sizeof got) != 0)
            j->mismatches++;
    }
    return NULL;
}

static double recall(vw_index *x, const float *base) {
    uint64_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t got[K], want[K];
        double wd[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(x, queries + i * DIM, K, 32, NULL, NULL, got, NULL, &found));
        tu_brute_force(VW_METRIC_L2, base, N, DIM, queries + i * DIM, K, NULL, NULL, want, wd);
        hits += tu_overlap(got, found, want, K);
    }
    return (double)hits / (NQ * K);
}

static void *insert_more(void *p) {
    const float *extra = p;
    for (int i = 0; i < 200; i++)
        if (vw_index_add(ix, extra + i * DIM, 100000 + i) != VW_OK)
            check_failures++;
    return NULL;
}

int main(void) {
    float *base = tu_gaussian(N, DIM, 21);
    queries = tu_gaussian(NQ, DIM, 22);
    uint64_t *labels = tu_iota(N);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 50;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 4, NULL, NULL));
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == N);

    for (int i = 0; i < NQ; i++) {
        uint32_t found = 0;
        CHECK_OK(
            vw_index_search(ix, queries + i * DIM, K, 32, NULL, NULL, serial[i], NULL, &found));
    }
    /* A 4-thread build must give a graph as good as a serial one. (Exact
     * answers cannot be required even at ef = n: HNSW pruning can leave a
     * node with no in-links, and which one depends on the interleaving.) */
    vw_index *one = NULL;
    CHECK_OK(vw_index_create(&p, &one));
    CHECK_OK(vw_index_add_batch(one, base, labels, N, 1, NULL, NULL));
    double r4 = recall(ix, base), r1 = recall(one, base);
    printf("recall@10 at ef=32: 4-thread build %.4f, 1-thread build %.4f\n", r4, r1);
    CHECK(r4 >= r1 - 0.02);
    vw_index_free(one);

    pthread_t t[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){i * 50, 0};
        pthread_create(&t[i], NULL, search_all, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].mismatches == 0);
    }

    uint64_t *batch = malloc(NQ * K * sizeof *batch);
    uint32_t *found = malloc(NQ * sizeof *found);
    CHECK_OK(vw_index_search_batch(ix, queries, NQ, K, 32, NULL, NULL, 4, batch, NULL, found));
    for (int i = 0; i < NQ; i++)
        CHECK(found[i] == K && memcmp(batch + i * K, serial[i], sizeof serial[i]) == 0);

    /* searches while another thread inserts: every search must succeed */
    float *extra = tu_gaussian(200, DIM, 23);
    pthread_t writer;
    pthread_create(&writer, NULL, insert_more, extra);
    for (int r = 0; r < 300; r++) {
        uint64_t got[K];
        uint32_t f = 0;
        CHECK_OK(vw_index_search(ix, queries + (r % NQ) * DIM, K, 32, NULL, NULL, got, NULL, &f));
        CHECK(f == K);
    }
    pthread_join(writer, NULL);
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == N + 200);

    vw_index_free(ix);
    free(base);
    free(queries);
    free(labels);
    free(batch);
    free(found);
    free(extra);
    return tu_result("test_core_concurrency");
}
