/* Churn on one thread: removals, upserts and re-inserts keep the index
 * correct, reuse slots, and keep recall where a fresh build on the same
 * vectors has it, round after round.
 *
 *   - a removed label is never returned (not even for its own vector),
 *     get_vector says VW_ERR_NOT_FOUND, a second removal too;
 *   - stats count live labels, removed nodes and free slots; after a purge
 *     new inserts take the freed slots instead of growing the arrays;
 *   - an upsert replaces the vector (get_vector returns the new one, a
 *     search for it finds the label once); a large upsert batch unlinks
 *     the nodes it replaced before it returns;
 *   - recall@10 after each round of churn is within 0.02 of a fresh build
 *     over the same live vectors (ground truth over those), and it does
 *     not decay over five rounds;
 *   - removing everything gives VW_ERR_EMPTY_INDEX; the index fills again;
 *   - vw_index_reorder after churn drops the free slots.
 * All of it for each storage kind: float32, and the compact kinds (whose
 * purges repair lists with code distances), with and without float32 rows. */
#include "testutil.h"

#define N      6000
#define DIM    32
#define NQ     200
#define K      10
#define ROUNDS 5

static vw_index *ix;
static float *cur;   /* current vector of each label */
static int *alive;   /* label present */
static uint64_t cap; /* labels the tables hold */
static tu_rng rng;
static vw_storage storage; /* of the index under test */
static uint32_t flags;

static vw_params params(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 12;
    p.ef_construction = 80;
    p.capacity = N;
    p.storage = storage;
    p.flags = flags;
    return p;
}

static float *fresh_vectors(uint64_t n, uint64_t seed) {
    return tu_clustered(n, DIM, 48, 1.0, 1234, seed);
}

static int keep_alive(uint64_t label, void *ctx) {
    (void)ctx;
    return label < cap && alive[label];
}

static uint64_t live_count(void) {
    uint64_t n = 0;
    for (uint64_t i = 0; i < cap; i++)
        n += alive[i] != 0;
    return n;
}

static void remove_label(uint64_t label) {
    CHECK_OK(vw_index_remove(ix, label));
    alive[label] = 0;
    CHECK_ST(vw_index_remove(ix, label), VW_ERR_NOT_FOUND);
    float got[DIM];
    CHECK_ST(vw_index_get_vector(ix, label, got), VW_ERR_NOT_FOUND);
    /* the label's own vector: the best match if it were still there */
    uint64_t out[K];
    uint32_t found = 0;
    vw_status st = vw_index_search(ix, cur + label * DIM, K, 64, NULL, NULL, out, NULL, &found);
    CHECK(st == VW_OK || (st == VW_ERR_EMPTY_INDEX && live_count() == 0));
    for (uint32_t i = 0; i < found; i++)
        CHECK(out[i] != label && keep_alive(out[i], NULL));
}

static uint64_t pick_alive(void) {
    for (;;) {
        uint64_t l = tu_next(&rng) % cap;
        if (alive[l])
            return l;
    }
}

static double recall_of(vw_index *x, const float *q, uint32_t ef) {
    uint64_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t got[K], want[K];
        double wd[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(x, q + i * DIM, K, ef, NULL, NULL, got, NULL, &found));
        for (uint32_t j = 0; j < found; j++)
            CHECK(keep_alive(got[j], NULL));
        uint32_t nw =
            tu_brute_force(VW_METRIC_L2, cur, cap, DIM, q + i * DIM, K, keep_alive, NULL, want, wd);
        hits += tu_overlap(got, found, want, nw);
    }
    return (double)hits / (NQ * K);
}

/* The same live vectors and labels, built from scratch. */
static vw_index *fresh_build(void) {
    vw_params p = params();
    vw_index *f = NULL;
    CHECK_OK(vw_index_create(&p, &f));
    float *v = malloc(cap * DIM * sizeof *v);
    uint64_t *l = malloc(cap * sizeof *l), n = 0;
    for (uint64_t i = 0; i < cap; i++)
        if (alive[i]) {
            memcpy(v + n * DIM, cur + i * DIM, DIM * sizeof *v);
            l[n++] = i;
        }
    CHECK_OK(vw_index_add_batch(f, v, l, n, 1, NULL, NULL));
    free(v);
    free(l);
    return f;
}

/* One round: remove 30 %, add as many new labels, upsert 30 % (a batch and
 * single calls), then compare recall with a fresh build. */
static void churn_round(int round, const float *q) {
    uint64_t n = live_count(), nrem = n * 3 / 10;
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    uint64_t slots_at_start = s.slots;
    for (uint64_t i = 0; i < nrem; i++)
        remove_label(pick_alive());
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == n - nrem);
    CHECK(s.slots == s.count + s.removed + s.free_slots);
    /* A purge pass that left a quarter of the slots empty compacted the
     * index: fewer slots than there were labels before. */
    CHECK(s.slots < n && s.slots < slots_at_start);
    CHECK(s.capacity >= s.slots);

    /* New labels: after a purge (no search running) they take the free
     * slots first, and only then new ones. */
    CHECK_OK(vw_index_purge(ix));
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.removed == 0 && s.slots == s.count + s.free_slots);
    uint64_t slots_before = s.slots, free_before = s.free_slots, first = cap;
    float *add = fresh_vectors(nrem, 500 + round);
    uint64_t *labels = malloc(nrem * sizeof *labels);
    for (uint64_t i = 0; i < nrem; i++) {
        labels[i] = first + i;
        memcpy(cur + labels[i] * DIM, add + i * DIM, DIM * sizeof(float));
        alive[labels[i]] = 1;
    }
    CHECK_OK(vw_index_add_batch(ix, add, labels, nrem, 2, NULL, NULL));
    cap += nrem;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.slots == slots_before + (nrem > free_before ? nrem - free_before : 0));

    /* Upserts: a batch on two threads, then one at a time. */
    uint64_t nup = n * 3 / 10, half = nup / 2;
    float *up = fresh_vectors(nup, 900 + round);
    uint64_t *ul = malloc(nup * sizeof *ul);
    for (uint64_t i = 0; i < nup; i++) {
        uint64_t l;
        do
            l = pick_alive();
        while (alive[l] == 2); /* distinct labels in one batch */
        alive[l] = 2;
        ul[i] = l;
    }
    for (uint64_t i = 0; i < nup; i++) {
        alive[ul[i]] = 1;
        memcpy(cur + ul[i] * DIM, up + i * DIM, DIM * sizeof(float));
    }
    CHECK_OK(vw_index_upsert_batch(ix, up, ul, half, 2, NULL, NULL));
    /* The batch retired far more than a purge's threshold: it pays for
     * their unlinking itself, instead of leaving them in the graph. */
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.removed == 0);
    for (uint64_t i = half; i < nup; i++)
        CHECK_OK(vw_index_upsert(ix, up + i * DIM, ul[i]));
    float got[DIM];
    CHECK_OK(vw_index_get_vector(ix, ul[0], got));
    CHECK(flags & VW_PARAMS_NO_FLOAT32 || memcmp(got, up, sizeof got) == 0);
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == live_count());

    vw_index *f = fresh_build();
    double rc = recall_of(ix, q, 32), rf = recall_of(f, q, 32);
    printf("round %d: recall@10 ef=32 after churn %.4f, fresh build %.4f (slots %llu, "
           "removed %llu, free %llu)\n",
           round, rc, rf, (unsigned long long)s.slots, (unsigned long long)s.removed,
           (unsigned long long)s.free_slots);
    CHECK(rc >= rf - 0.02);
    vw_index_free(f);
    free(add);
    free(up);
    free(labels);
    free(ul);
}

static void duplicate_rules(void) {
    uint64_t l = pick_alive();
    CHECK_ST(vw_index_add(ix, cur + l * DIM, l), VW_ERR_DUPLICATE_LABEL);
    float two[2 * DIM];
    memcpy(two, cur + l * DIM, sizeof two / 2);
    memcpy(two + DIM, cur + l * DIM, sizeof two / 2);
    uint64_t ls[2] = {l, l};
    CHECK_ST(vw_index_upsert_batch(ix, two, ls, 2, 1, NULL, NULL), VW_ERR_DUPLICATE_LABEL);
    float bad[DIM] = {0};
    bad[3] = NAN;
    CHECK_ST(vw_index_upsert(ix, bad, l), VW_ERR_NONFINITE);
    CHECK_ST(vw_index_remove(NULL, l), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_purge(NULL), VW_ERR_NULL_ARG);
}

/* Remove everything: empty; then it fills again, and reorder compacts. */
static void empty_and_refill(const float *q) {
    for (uint64_t i = 0; i < cap; i++)
        if (alive[i])
            remove_label(i);
    uint64_t out[K];
    uint32_t found = 7;
    CHECK_ST(vw_index_search(ix, q, K, 32, NULL, NULL, out, NULL, &found), VW_ERR_EMPTY_INDEX);
    CHECK(found == 0);
    CHECK_OK(vw_index_purge(ix));
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == 0 && s.removed == 0 && s.max_level == -1);
    CHECK_ST(vw_index_search(ix, q, K, 32, NULL, NULL, out, NULL, &found), VW_ERR_EMPTY_INDEX);
    for (uint64_t i = 0; i < 100; i++) {
        alive[i] = 1;
        CHECK_OK(vw_index_add(ix, cur + i * DIM, i));
    }
    CHECK_OK(vw_index_search(ix, cur, K, 32, NULL, NULL, out, NULL, &found));
    CHECK(found == K && out[0] == 0);
    CHECK_OK(vw_index_reorder(ix));
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == 100 && s.slots == 100 && s.free_slots == 0);
    CHECK(recall_of(ix, q, 64) >= 0.99);
}

static void run(vw_storage kind, uint32_t kind_flags, int rounds) {
    storage = kind;
    flags = kind_flags;
    printf("storage %s%s\n", vw_storage_name(kind), kind_flags ? " without float32" : "");
    tu_seed(&rng, 77);
    uint64_t most = (uint64_t)N * 4;
    cur = calloc(most * DIM, sizeof *cur);
    alive = calloc(most, sizeof *alive);
    float *base = fresh_vectors(N, 1);
    memcpy(cur, base, (size_t)N * DIM * sizeof *cur);
    for (int i = 0; i < N; i++)
        alive[i] = 1;
    cap = N;
    float *q = fresh_vectors(NQ, 2);
    vw_params p = params();
    CHECK_OK(vw_index_create(&p, &ix));
    uint64_t *labels = tu_iota(N);
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 2, NULL, NULL));
    printf("built: recall@10 ef=32 %.4f\n", recall_of(ix, q, 32));

    duplicate_rules();
    for (int r = 0; r < rounds; r++)
        churn_round(r, q);
    empty_and_refill(q);

    vw_index_free(ix);
    free(base);
    free(q);
    free(labels);
    free(cur);
    free(alive);
}

int main(void) {
    run(VW_STORAGE_F32, 0, ROUNDS);
    run(VW_STORAGE_F16, 0, 2);
    run(VW_STORAGE_I8, 0, 2);
    run(VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32, 2);
    return tu_result("test_live_churn");
}
