/* Compaction while searching: an index that loses most of its labels
 * renumbers its live nodes into fewer slots by itself, while two threads
 * search it without pause. Checked:
 *   - every search succeeds, and no search returns a label whose removal
 *     returned before it began (nor a label twice);
 *   - the slots shrink to about the live count (compaction ran, more than
 *     once), and every live label still gives back its own vector and is
 *     its own nearest neighbour;
 *   - recall against exact search stays that of a fresh build;
 *   - inserts, upserts, a save and both loads work on the compacted index.
 * With float32 rows and with i8 codes (float32 kept, so vectors compare
 * exactly). Run under ThreadSanitizer in CI (label concurrency): the swap of
 * the arrays must be invisible to searches except as a short wait. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define N        4000
#define DIM      16
#define K        10
#define SEARCHES 2
#define NQ       100

static vw_index *ix;
static float *vecs;
static atomic_uint_fast64_t clock_now;
static atomic_uint_fast64_t removed_at[N]; /* 0: not removed */
static atomic_int writer_done;

typedef struct searcher {
    uint64_t seed;
    uint64_t searches, violations, failures;
} searcher;

static void *search_loop(void *p) {
    searcher *sr = p;
    tu_rng r;
    tu_seed(&r, sr->seed);
    while (!atomic_load(&writer_done)) {
        uint64_t began = atomic_load(&clock_now), own = tu_next(&r) % N;
        uint64_t got[K];
        float d[K];
        uint32_t found = 0;
        vw_status st = vw_index_search(ix, vecs + own * DIM, K, 32, NULL, NULL, got, d, &found);
        sr->failures += st != VW_OK || found == 0;
        for (uint32_t i = 0; i < found; i++) {
            uint64_t at = got[i] < N ? atomic_load(&removed_at[got[i]]) : 0;
            sr->violations += (at != 0 && at <= began) || got[i] >= N;
            for (uint32_t j = 0; j < i; j++)
                sr->violations += got[j] == got[i];
        }
        sr->searches++;
    }
    return NULL;
}

static int is_live(uint64_t label, void *ctx) {
    (void)ctx;
    return label < N && atomic_load(&removed_at[label]) == 0;
}

static double recall_of(vw_index *x, const float *q) {
    uint64_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t got[K], want[K];
        double wd[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(x, q + i * DIM, K, 64, NULL, NULL, got, NULL, &found));
        uint32_t nw =
            tu_brute_force(VW_METRIC_L2, vecs, N, DIM, q + i * DIM, K, is_live, NULL, want, wd);
        hits += tu_overlap(got, found, want, nw);
    }
    return (double)hits / (NQ * K);
}

static uint32_t run_flags; /* the vw_params flags of this run */

/* A stored vector is the one given, or, without float32 rows, its decoded
 * codes refined by the 4-bit residual: within a small fraction of a step. */
static bool same_vector(const float *a, const float *b) {
    if (!(run_flags & VW_PARAMS_NO_FLOAT32))
        return memcmp(a, b, DIM * sizeof *a) == 0;
    for (int i = 0; i < DIM; i++)
        if (fabsf(a[i] - b[i]) > 0.01f)
            return false;
    return true;
}

/* Every live label gives back its vector and finds itself first. */
static void labels_intact(vw_index *x) {
    uint64_t bad = 0;
    for (uint64_t l = 0; l < N; l++) {
        float v[DIM];
        if (!is_live(l, NULL)) {
            bad += vw_index_get_vector(x, l, v) != VW_ERR_NOT_FOUND;
            continue;
        }
        uint64_t got[1];
        uint32_t found = 0;
        bad += vw_index_get_vector(x, l, v) != VW_OK || !same_vector(v, vecs + l * DIM);
        bad += vw_index_search(x, vecs + l * DIM, 1, 64, NULL, NULL, got, NULL, &found) != VW_OK ||
               found != 1 || got[0] != l;
    }
    CHECK(bad == 0);
}

static vw_index *fresh_build(vw_storage storage) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    p.storage = storage;
    p.flags = run_flags;
    vw_index *f = NULL;
    CHECK_OK(vw_index_create(&p, &f));
    float *v = malloc((size_t)N * DIM * sizeof *v);
    uint64_t *l = malloc(N * sizeof *l), n = 0;
    for (uint64_t i = 0; i < N; i++)
        if (is_live(i, NULL)) {
            memcpy(v + n * DIM, vecs + i * DIM, DIM * sizeof *v);
            l[n++] = i;
        }
    /* one batch: it also trains the i8 codec */
    CHECK_OK(vw_index_add_batch(f, v, l, n, 1, NULL, NULL));
    free(v);
    free(l);
    return f;
}

static void after_compaction(vw_storage storage, const float *q) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    printf("after removals: count %llu, slots %llu, free %llu, removed %llu, capacity %llu\n",
           (unsigned long long)s.count, (unsigned long long)s.slots,
           (unsigned long long)s.free_slots, (unsigned long long)s.removed,
           (unsigned long long)s.capacity);
    /* Without compaction the slots would stay at N. A compaction drops
     * every empty slot; what is empty now came after the last one, which
     * ran when a quarter was empty. */
    CHECK(s.slots < N / 2);
    CHECK(s.slots == s.count + s.removed + s.free_slots);
    CHECK(s.free_slots + s.removed < s.slots / 2);
    labels_intact(ix);
    vw_index *f = fresh_build(storage);
    double rc = recall_of(ix, q), rf = recall_of(f, q);
    printf("recall@10 ef=64: compacted %.4f, fresh build %.4f\n", rc, rf);
    CHECK(rc >= rf - 0.02);
    vw_index_free(f);
}

/* The compacted index takes writes, saves and loads like any other. */
static void carries_on(void) {
    for (uint64_t l = 0; l < 200; l++) {
        if (is_live(l, NULL))
            continue;
        CHECK_OK(vw_index_add(ix, vecs + l * DIM, l));
        atomic_store(&removed_at[l], 0);
    }
    for (uint64_t l = N - 100; l < N; l++)
        if (is_live(l, NULL))
            CHECK_OK(vw_index_upsert(ix, vecs + l * DIM, l));
    labels_intact(ix);
    char dir[64], path[128];
    CHECK(tu_tempdir(dir, "vw_compact") == 0);
    snprintf(path, sizeof path, "%s/compacted.vwi", dir);
    /* the residual run also writes packed lists (format version 4) */
    CHECK_OK(vw_index_save_ex(ix, path, (run_flags & VW_PARAMS_RESIDUAL) ? VW_SAVE_PACK_LINKS : 0));
    for (unsigned mode = VW_LOAD_DEFAULT; mode <= VW_LOAD_MMAP; mode++) {
        vw_index *back = NULL;
        CHECK_OK(vw_index_load(path, mode, &back));
        if (back)
            labels_intact(back);
        vw_index_free(back);
    }
    unlink(path);
    rmdir(dir);
}

static void run(vw_storage storage, uint32_t flags) {
    printf("storage %s%s\n", vw_storage_name(storage),
           flags & VW_PARAMS_RESIDUAL ? " without float32, 4-bit residual" : "");
    run_flags = flags;
    atomic_store(&clock_now, 1);
    atomic_store(&writer_done, 0);
    for (int i = 0; i < N; i++)
        atomic_store(&removed_at[i], 0);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    p.storage = storage;
    p.flags = flags;
    uint64_t *labels = tu_iota(N);
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, vecs, labels, N, 2, NULL, NULL));
    float *q = tu_gaussian(NQ, DIM, 8);

    searcher sr[SEARCHES];
    pthread_t t[SEARCHES];
    for (int i = 0; i < SEARCHES; i++) {
        sr[i] = (searcher){.seed = 200 + i};
        pthread_create(&t[i], NULL, search_loop, &sr[i]);
    }
    /* Remove 70 % in a random order, one call at a time. */
    uint64_t *order = tu_iota(N);
    tu_rng r;
    tu_seed(&r, 11);
    for (uint64_t i = N - 1; i > 0; i--) {
        uint64_t j = tu_next(&r) % (i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (uint64_t i = 0; i < N * 7 / 10; i++) {
        CHECK_OK(vw_index_remove(ix, order[i]));
        atomic_store(&removed_at[order[i]], atomic_fetch_add(&clock_now, 1) + 1);
    }
    atomic_store(&writer_done, 1);
    uint64_t searches = 0;
    for (int i = 0; i < SEARCHES; i++) {
        pthread_join(t[i], NULL);
        CHECK(sr[i].violations == 0);
        CHECK(sr[i].failures == 0);
        searches += sr[i].searches;
    }
    printf("%llu searches beside %d removals\n", (unsigned long long)searches, N * 7 / 10);
    after_compaction(storage, q);
    carries_on();
    vw_index_free(ix);
    free(labels);
    free(order);
    free(q);
}

int main(void) {
    vecs = tu_gaussian(N, DIM, 5);
    run(VW_STORAGE_F32, 0);
    run(VW_STORAGE_I8, 0);
    run(VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL);
    free(vecs);
    return tu_result("test_live_compact");
}
