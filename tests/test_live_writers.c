/* Searching under writes, small: the shape of bench/live.sh (one thread
 * writing as fast as it can, one thread searching) on clustered vectors,
 * for a fixed number of writes rather than a time. Of each 4 writes, 2
 * upsert a present label with a new vector, 1 removes a present label and
 * 1 adds a removed label back. Checked:
 *   - no search fails or returns fewer than k results, and none returns a
 *     label twice; no write fails;
 *   - afterwards, recall@10 at ef=64 against exact ground truth over the
 *     vectors the index then holds is within 0.02 of a fresh build of the
 *     same vectors.
 * Label concurrency: CI runs it under ThreadSanitizer, and under ASan with
 * everything else. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define N      4000
#define EXTRA  2000
#define DIM    32
#define NQ     100
#define K      10
#define WRITES 10000

static vw_index *ix;
static float *base, *extra, *queries, *cur; /* cur: each label's vector now */
static uint8_t alive[N];
static atomic_int done;

typedef struct search_stats {
    uint64_t searches, failures, duplicates;
} search_stats;

static void *search_loop(void *p) {
    search_stats *st = p;
    for (uint64_t i = 0; !atomic_load(&done); i++) {
        uint64_t got[K];
        uint32_t found = 0;
        vw_status s =
            vw_index_search(ix, queries + (i % NQ) * DIM, K, 64, NULL, NULL, got, NULL, &found);
        st->failures += s != VW_OK || found != K;
        for (uint32_t a = 0; a < found; a++)
            for (uint32_t b = 0; b < a; b++)
                st->duplicates += got[a] == got[b];
        st->searches++;
    }
    return NULL;
}

static uint64_t pick(tu_rng *r, uint8_t want) {
    for (;;) {
        uint64_t l = tu_next(r) % N;
        if (alive[l] == want)
            return l;
    }
}

/* WRITES writes in the 2 : 1 : 1 mix; returns how many failed. */
static uint64_t write_storm(void) {
    tu_rng r;
    tu_seed(&r, 5);
    uint64_t failed = 0, removed = 0;
    for (uint64_t op = 0; op < WRITES; op++) {
        bool readd = op % 4 == 3 && removed > 0;
        uint64_t l = pick(&r, readd ? 0 : 1);
        const float *v = extra + (op % EXTRA) * DIM;
        vw_status s;
        if (op % 4 == 2) {
            s = vw_index_remove(ix, l);
            alive[l] = 0;
            removed++;
        } else {
            s = vw_index_upsert(ix, v, l);
            memcpy(cur + l * DIM, v, DIM * sizeof *v);
            removed -= !alive[l];
            alive[l] = 1;
        }
        failed += s != VW_OK;
    }
    return failed;
}

static int keep_alive(uint64_t label, void *ctx) {
    (void)ctx;
    return alive[label];
}

static double recall_of(vw_index *x) {
    uint64_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t got[K], want[K];
        double wd[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(x, queries + i * DIM, K, 64, NULL, NULL, got, NULL, &found));
        uint32_t nw = tu_brute_force(VW_METRIC_L2, cur, N, DIM, queries + i * DIM, K, keep_alive,
                                     NULL, want, wd);
        hits += tu_overlap(got, found, want, nw);
    }
    return (double)hits / (NQ * K);
}

static vw_index *build(const float *v, const uint64_t *labels, uint64_t n) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 12;
    p.ef_construction = 80;
    vw_index *x = NULL;
    CHECK_OK(vw_index_create(&p, &x));
    CHECK_OK(vw_index_add_batch(x, v, labels, n, 2, NULL, NULL));
    return x;
}

static vw_index *fresh_build(void) {
    float *v = malloc((size_t)N * DIM * sizeof *v);
    uint64_t *l = malloc(N * sizeof *l), n = 0;
    for (uint64_t i = 0; i < N; i++)
        if (alive[i]) {
            memcpy(v + n * DIM, cur + i * DIM, DIM * sizeof *v);
            l[n++] = i;
        }
    vw_index *f = build(v, l, n);
    free(v);
    free(l);
    return f;
}

int main(void) {
    base = tu_clustered(N, DIM, 40, 1.0, 77, 1);
    extra = tu_clustered(EXTRA, DIM, 40, 1.0, 77, 2);
    queries = tu_clustered(NQ, DIM, 40, 1.0, 77, 3);
    cur = malloc((size_t)N * DIM * sizeof *cur);
    memcpy(cur, base, (size_t)N * DIM * sizeof *cur);
    memset(alive, 1, sizeof alive);
    uint64_t *labels = tu_iota(N);
    ix = build(base, labels, N);

    search_stats st = {0};
    pthread_t t;
    pthread_create(&t, NULL, search_loop, &st);
    uint64_t write_failures = write_storm();
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    printf("%d writes beside %llu searches: %llu failed writes, %llu failed searches, %llu "
           "duplicate labels\n",
           WRITES, (unsigned long long)st.searches, (unsigned long long)write_failures,
           (unsigned long long)st.failures, (unsigned long long)st.duplicates);
    CHECK(write_failures == 0 && st.failures == 0 && st.duplicates == 0 && st.searches > 0);

    vw_index *f = fresh_build();
    double rc = recall_of(ix), rf = recall_of(f);
    printf("recall@10 ef=64 after the writes %.4f, fresh build of the same vectors %.4f\n", rc, rf);
    CHECK(rc >= rf - 0.02);
    vw_index_free(f);
    vw_index_free(ix);
    free(base);
    free(extra);
    free(queries);
    free(cur);
    free(labels);
    return tu_result("test_live_writers");
}
