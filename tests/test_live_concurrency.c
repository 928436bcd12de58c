/* Writes racing searches: one writer removes, upserts (alone and in
 * two-thread batches), inserts and purges while three threads search,
 * read stats and fetch vectors. Slots are freed and reused all along.
 * Checked on every search:
 *   - a label whose removal returned before the search began is never in
 *     its results (removed labels are never added back here);
 *   - no label appears twice in one result, and results are sorted;
 *   - every search succeeds.
 * Once with float32 rows, once with i8 codes (searches re-rank with the
 * float32 section, purges repair with code distances). Run under
 * ThreadSanitizer in CI (label concurrency): it must find no race between
 * the lock-free list reads, slot reuse and the writer. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

#define N        2000
#define DIM      16
#define K        10
#define SEARCHES 3
#define ROUNDS   40

static vw_index *ix;
static float *vecs; /* N + ROUNDS * 50 rows: the vectors the writer uses */
static atomic_uint_fast64_t clock_now;
static atomic_uint_fast64_t removed_at[N]; /* 0: not removed */
static atomic_int writer_done;

typedef struct searcher {
    uint64_t seed;
    uint64_t searches, violations, duplicates, failures;
} searcher;

static void check_result(searcher *sr, const uint64_t *got, const float *d, uint32_t found,
                         uint64_t began) {
    for (uint32_t i = 0; i < found; i++) {
        uint64_t l = got[i];
        if (l < N / 2) {
            uint64_t at = atomic_load(&removed_at[l]);
            sr->violations += at != 0 && at <= began;
        }
        for (uint32_t j = 0; j < i; j++)
            sr->duplicates += got[j] == l;
        sr->failures += i > 0 && d[i] < d[i - 1];
    }
}

static void *search_loop(void *p) {
    searcher *sr = p;
    tu_rng r;
    tu_seed(&r, sr->seed);
    float q[DIM];
    while (!atomic_load(&writer_done)) {
        for (int j = 0; j < DIM; j++)
            q[j] = (float)tu_normal(&r);
        uint64_t began = atomic_load(&clock_now);
        uint64_t got[K];
        float d[K];
        uint32_t found = 0;
        vw_status st = vw_index_search(ix, q, K, 32, NULL, NULL, got, d, &found);
        sr->failures += st != VW_OK || found == 0;
        check_result(sr, got, d, found, began);
        sr->searches++;
        if (sr->searches % 64 == 0) {
            vw_stats s;
            float v[DIM];
            sr->failures += vw_index_stats(ix, &s) != VW_OK || s.count == 0;
            vw_status g = vw_index_get_vector(ix, tu_next(&r) % N, v);
            sr->failures += g != VW_OK && g != VW_ERR_NOT_FOUND;
        }
    }
    return NULL;
}

/* One round of writes: 25 removals, 20 single upserts, a 2-thread batch
 * upsert of 20, 10 new labels, and now and then an explicit purge. */
static void write_round(int round, uint64_t *order, uint64_t *next_new) {
    for (int i = 0; i < 25; i++) {
        uint64_t l = order[round * 25 + i];
        CHECK_OK(vw_index_remove(ix, l));
        atomic_store(&removed_at[l], atomic_fetch_add(&clock_now, 1) + 1);
    }
    const float *fresh = vecs + (size_t)(N + round * 50) * DIM;
    for (int i = 0; i < 20; i++)
        CHECK_OK(vw_index_upsert(ix, fresh + i * DIM, N / 2 + (round * 41 + i * 7) % (N / 2)));
    uint64_t labels[20];
    for (int i = 0; i < 20; i++)
        labels[i] = N / 2 + (round * 13 + i * 11) % (N / 2);
    CHECK_OK(vw_index_upsert_batch(ix, fresh + 20 * DIM, labels, 20, 2, NULL, NULL));
    for (int i = 0; i < 10; i++)
        CHECK_OK(vw_index_add(ix, fresh + (40 + i) * DIM, (*next_new)++));
    if (round % 8 == 7)
        CHECK_OK(vw_index_purge(ix));
}

static void run(vw_storage storage) {
    printf("storage %s\n", vw_storage_name(storage));
    atomic_store(&clock_now, 1);
    atomic_store(&writer_done, 0);
    for (int i = 0; i < N; i++)
        atomic_store(&removed_at[i], 0);
    vecs = tu_gaussian(N + ROUNDS * 50, DIM, 3);
    uint64_t *labels = tu_iota(N);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 40;
    p.storage = storage;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, vecs, labels, N, 2, NULL, NULL));

    /* the removable labels (the first half) in a random order */
    uint64_t *order = tu_iota(N / 2);
    tu_rng r;
    tu_seed(&r, 9);
    for (uint64_t i = N / 2 - 1; i > 0; i--) {
        uint64_t j = tu_next(&r) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    searcher sr[SEARCHES];
    pthread_t t[SEARCHES];
    for (int i = 0; i < SEARCHES; i++) {
        sr[i] = (searcher){.seed = 100 + i};
        pthread_create(&t[i], NULL, search_loop, &sr[i]);
    }
    uint64_t next_new = 1000000;
    for (int round = 0; round < ROUNDS; round++)
        write_round(round, order, &next_new);
    atomic_store(&writer_done, 1);
    uint64_t searches = 0;
    for (int i = 0; i < SEARCHES; i++) {
        pthread_join(t[i], NULL);
        CHECK(sr[i].violations == 0);
        CHECK(sr[i].duplicates == 0);
        CHECK(sr[i].failures == 0);
        searches += sr[i].searches;
    }
    printf("%llu searches beside %d rounds of writes\n", (unsigned long long)searches, ROUNDS);
    CHECK(searches > 0);

    CHECK_OK(vw_index_purge(ix));
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == N - ROUNDS * 25 + ROUNDS * 10);
    CHECK(s.removed == 0);
    CHECK(s.slots < N + ROUNDS * 50); /* slots were reused */
    float v[DIM];
    for (int i = 0; i < ROUNDS * 25; i++)
        CHECK_ST(vw_index_get_vector(ix, order[i], v), VW_ERR_NOT_FOUND);
    vw_index_free(ix);
    free(vecs);
    free(labels);
    free(order);
}

int main(void) {
    run(VW_STORAGE_F32);
    run(VW_STORAGE_I8);
    return tu_result("test_live_concurrency");
}
