/* Compact storage kinds (f16, i8, with and without float32 rows) on every
 * metric: recall against brute force, exact distances when float32 is kept,
 * the same answers after save and load in both modes, inserts after a
 * read-mode load, i8 training rules, clamping, lossless integer data, and
 * the parameter checks. */
#include "testutil.h"

#include <stdbool.h>
#include <unistd.h>

#define DIM 37 /* not a multiple of any SIMD width: every kernel runs its tail */
#define N   3000
#define NQ  40
#define K   10

static char dir[64];

typedef struct kind {
    vw_storage storage;
    uint32_t flags;
} kind;

static float *make_data(vw_metric m, uint64_t n, uint64_t seed) {
    float *x = tu_clustered(n, DIM, 30, 0.6, 5, seed);
    if (m == VW_METRIC_IP) /* unequal norms, which inner product is about */
        for (uint64_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < DIM; j++)
                x[i * DIM + j] *= (float)(0.5 + (double)(i % 7) / 4);
    return x;
}

static vw_index *build(kind k, vw_metric m, const float *x, uint64_t n) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.metric = m;
    p.M = 12;
    p.ef_construction = 100;
    p.storage = k.storage;
    p.flags = k.flags;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    uint64_t *labels = tu_iota(n);
    if (ix)
        CHECK_OK(vw_index_add_batch(ix, x, labels, n, 2, NULL, NULL));
    free(labels);
    return ix;
}

/* The distance a float32 index reports between q and a stored row. */
static float exact_distance(vw_metric m, const float *q, const float *x) {
    if (m == VW_METRIC_L2)
        return vw_distance_l2sq(q, x, DIM);
    float qn[DIM];
    memcpy(qn, q, sizeof qn);
    if (m == VW_METRIC_COSINE)
        vw_normalize(qn, DIM);
    return 1.0f - vw_distance_dot(qn, x, DIM);
}

/* Recall and distances of NQ searches; returns recall@K. */
static double check_answers(const vw_index *ix, kind k, vw_metric m, const float *x,
                            const float *q) {
    uint32_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        uint64_t l[K], truth[K];
        float d[K];
        double td[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, q + i * DIM, K, 80, NULL, NULL, l, d, &found));
        CHECK(found == K);
        tu_brute_force(m, x, N, DIM, q + i * DIM, K, NULL, NULL, truth, td);
        hits += tu_overlap(l, found, truth, K);
        for (uint32_t j = 0; j < found; j++) {
            float stored[DIM];
            CHECK_OK(vw_index_get_vector(ix, l[j], stored));
            float want = exact_distance(m, q + i * DIM, stored);
            if (!(k.flags & VW_PARAMS_NO_FLOAT32))
                CHECK(d[j] == want); /* re-ranked with the float32 rows: exact */
            else
                CHECK(fabs(d[j] - tu_distance(m, x + l[j] * DIM, q + i * DIM, DIM)) <=
                      0.05 * (1 + fabs(want)));
            if (j > 0)
                CHECK(d[j] >= d[j - 1]);
        }
    }
    return (double)hits / (NQ * K);
}

static void same_answers(const vw_index *a, const vw_index *b, const float *q) {
    for (int i = 0; i < NQ; i++) {
        uint64_t la[K], lb[K];
        float da[K], db[K];
        uint32_t fa = 0, fb = 0;
        CHECK_OK(vw_index_search(a, q + i * DIM, K, 50, NULL, NULL, la, da, &fa));
        CHECK_OK(vw_index_search(b, q + i * DIM, K, 50, NULL, NULL, lb, db, &fb));
        CHECK(fa == fb && memcmp(la, lb, fa * sizeof *la) == 0 &&
              memcmp(da, db, fa * sizeof *da) == 0);
    }
}

static void check_stats(const vw_index *ix, kind k) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    uint32_t code = k.storage == VW_STORAGE_F16 ? 2 * DIM : DIM;
    bool kept = !(k.flags & VW_PARAMS_NO_FLOAT32);
    CHECK(s.storage == k.storage && s.code_bytes == code);
    CHECK(s.float32_kept == kept && s.exact_distances == kept);
    uint32_t resid = (k.flags & VW_PARAMS_RESIDUAL) ? (DIM + 1) / 2 : 0;
    CHECK(s.bytes_per_vector == code + (kept ? 4 * DIM : 0) + resid);
    CHECK(s.residual_bits == (resid ? 4u : 0u));
}

static void one_kind(kind k, vw_metric m) {
    printf("%s%s%s %s\n", vw_storage_name(k.storage),
           k.flags & VW_PARAMS_NO_FLOAT32 ? " without float32" : "",
           k.flags & VW_PARAMS_RESIDUAL ? ", 4-bit residual" : "", vw_metric_name(m));
    float *x = make_data(m, N + 1, 11), *q = make_data(m, NQ, 12);
    vw_index *ix = build(k, m, x, N);
    if (!ix)
        return;
    check_stats(ix, k);
    double recall = check_answers(ix, k, m, x, q);
    printf("  recall@%d %.3f\n", K, recall);
    CHECK(recall >= ((k.flags & VW_PARAMS_NO_FLOAT32) ? 0.85 : 0.95));
    /* renumbering moves code rows, float32 rows and labels together */
    CHECK_OK(vw_index_reorder(ix));
    CHECK(check_answers(ix, k, m, x, q) == recall);
    char path[128];
    snprintf(path, sizeof path, "%s/index.vwi", dir);
    /* packed layer-0 lists (format version 4) for some kinds, in both load modes */
    bool pack = k.storage == VW_STORAGE_F16 || (k.flags & VW_PARAMS_RESIDUAL);
    CHECK_OK(vw_index_save_ex(ix, path, pack ? VW_SAVE_PACK_LINKS : VW_SAVE_DEFAULT));
    vw_index *rd = NULL, *mm = NULL;
    CHECK_OK(vw_index_load(path, VW_LOAD_DEFAULT, &rd));
    CHECK_OK(vw_index_load(path, VW_LOAD_MMAP, &mm));
    if (rd && mm) {
        check_stats(mm, k);
        same_answers(ix, rd, q);
        same_answers(ix, mm, q);
        /* inserts after a read-mode load; the mapped index is read-only */
        const float *extra = x + (size_t)N * DIM;
        CHECK_OK(vw_index_add(rd, extra, 1000000));
        CHECK_ST(vw_index_add(mm, extra, 1000000), VW_ERR_READONLY);
        uint64_t l[K];
        float d[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(rd, extra, K, 80, NULL, NULL, l, d, &found));
        CHECK(found == K);
        if (m != VW_METRIC_IP) /* under inner product a row need not be its own nearest */
            CHECK(l[0] == 1000000);
        float back[DIM];
        CHECK_OK(vw_index_get_vector(rd, 1000000, back));
    }
    vw_index_free(rd);
    vw_index_free(mm);
    vw_index_free(ix);
    unlink(path);
    free(x);
    free(q);
}

/* i8 trains before the first insert, from vw_index_train (in one call or
 * several, which widen the codec) or the first batch; single inserts need a
 * trained codec; values beyond the trained range are clamped in the codes,
 * and the float32 rows still give their exact distance. */
static void i8_training(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.storage = VW_STORAGE_I8;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = make_data(VW_METRIC_L2, 200, 21);
    CHECK_ST(vw_index_add(ix, x, 1), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_train(ix, x, 0), VW_ERR_INVALID_ARG);
    CHECK_OK(vw_index_train(ix, x, 200));
    CHECK_OK(vw_index_train(ix, x, 200)); /* again: the same ranges */
    for (uint64_t i = 0; i < 200; i++)
        CHECK_OK(vw_index_add(ix, x + i * DIM, i));
    CHECK_ST(vw_index_train(ix, x, 200), VW_ERR_INVALID_ARG); /* rows are encoded now */
    float far[DIM];
    for (uint32_t j = 0; j < DIM; j++)
        far[j] = 50.0f * (j % 2 ? 1 : -1); /* far outside every trained range */
    CHECK_OK(vw_index_add(ix, far, 777));
    uint64_t l[3];
    float d[3];
    uint32_t found = 0;
    CHECK_OK(vw_index_search(ix, far, 3, 50, NULL, NULL, l, d, &found));
    CHECK(found == 3 && l[0] == 777 && d[0] == 0.0f);
    vw_index_free(ix);

    /* a failed first batch leaves the index untrained */
    CHECK_OK(vw_index_create(&p, &ix));
    x[5] = NAN;
    uint64_t *labels = tu_iota(200);
    CHECK_ST(vw_index_add_batch(ix, x, labels, 200, 1, NULL, NULL), VW_ERR_NONFINITE);
    CHECK_ST(vw_index_add(ix, x + DIM, 1), VW_ERR_INVALID_ARG);
    vw_index_free(ix);
    free(labels);
    free(x);

    /* training in pieces gives the codec of training on all rows at once:
     * the same codes, so the same approximate distances without float32 */
    x = make_data(VW_METRIC_L2, 200, 22);
    p.flags = VW_PARAMS_NO_FLOAT32;
    vw_index *whole = NULL, *pieces = NULL;
    CHECK_OK(vw_index_create(&p, &whole));
    CHECK_OK(vw_index_create(&p, &pieces));
    CHECK_OK(vw_index_train(whole, x, 200));
    CHECK_OK(vw_index_train(pieces, x + 120 * DIM, 80));
    CHECK_OK(vw_index_train(pieces, x, 120));
    CHECK_OK(vw_index_add_batch(whole, x, NULL, 200, 1, NULL, NULL));
    CHECK_OK(vw_index_add_batch(pieces, x, NULL, 200, 1, NULL, NULL));
    uint64_t lw[5], lp[5];
    float dw[5], dp[5];
    uint32_t fw = 0, fp = 0;
    CHECK_OK(vw_index_search(whole, x + 7 * DIM, 5, 64, NULL, NULL, lw, dw, &fw));
    CHECK_OK(vw_index_search(pieces, x + 7 * DIM, 5, 64, NULL, NULL, lp, dp, &fp));
    CHECK(fw == 5 && fp == 5 && memcmp(lw, lp, sizeof lw) == 0 && memcmp(dw, dp, sizeof dw) == 0);
    /* the first 120 rows alone give a narrower codec, hence other codes */
    vw_index *part = NULL;
    CHECK_OK(vw_index_create(&p, &part));
    CHECK_OK(vw_index_train(part, x, 120));
    CHECK_OK(vw_index_add_batch(part, x, NULL, 200, 1, NULL, NULL));
    CHECK_OK(vw_index_search(part, x + 7 * DIM, 5, 64, NULL, NULL, lp, dp, &fp));
    CHECK(memcmp(dw, dp, sizeof dw) != 0);
    vw_index_free(part);
    vw_index_free(whole);
    vw_index_free(pieces);
    free(x);
    p.flags = 0;

    /* ranges so narrow that range / 255 is subnormal still give a codec
     * that encodes without NaN: every row searchable, its own nearest */
    x = malloc(50 * DIM * sizeof *x);
    CHECK(x != NULL);
    for (uint64_t i = 0; i < 50 * (uint64_t)DIM; i++)
        x[i] = i % DIM ? 1.0f : (float)(i / DIM % 2) * 2e-39f; /* dimension 0 spans 2e-39 */
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_train(ix, x, 50));
    CHECK_OK(vw_index_add_batch(ix, x, NULL, 50, 1, NULL, NULL));
    CHECK_OK(vw_index_search(ix, x, 3, 50, NULL, NULL, l, d, &found));
    CHECK(found == 3 && d[0] == 0.0f);
    vw_index_free(ix);
    free(x);

    /* training has no effect on the other kinds */
    p.storage = VW_STORAGE_F16;
    CHECK_OK(vw_index_create(&p, &ix));
    float one[DIM] = {1};
    CHECK_OK(vw_index_train(ix, one, 1));
    CHECK_OK(vw_index_add(ix, one, 1));
    vw_index_free(ix);
}

/* Integers of at most 256 values per dimension (uint8 descriptors) are
 * stored exactly: decoded rows and distances are the exact ones, even
 * without float32 rows. */
static void i8_lossless(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.storage = VW_STORAGE_I8;
    p.flags = VW_PARAMS_NO_FLOAT32;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    tu_rng r;
    tu_seed(&r, 3);
    enum { n = 500 };
    float *x = malloc((size_t)n * DIM * sizeof *x);
    for (size_t i = 0; i < (size_t)n * DIM; i++)
        x[i] = (float)(10 + tu_next(&r) % 256); /* 10..265: offset 10, step 1 */
    uint64_t *labels = tu_iota(n);
    CHECK_OK(vw_index_add_batch(ix, x, labels, n, 1, NULL, NULL));
    for (uint64_t i = 0; i < n; i += 37) {
        float back[DIM];
        CHECK_OK(vw_index_get_vector(ix, i, back));
        CHECK(memcmp(back, x + i * DIM, sizeof back) == 0);
        uint64_t l[K];
        float d[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, x + i * DIM, K, 64, NULL, NULL, l, d, &found));
        CHECK(found == K && l[0] == i && d[0] == 0.0f);
        for (uint32_t j = 0; j < found; j++)
            CHECK(d[j] == (float)tu_distance(VW_METRIC_L2, x + l[j] * DIM, x + i * DIM, DIM));
    }
    vw_index_free(ix);
    free(x);
    free(labels);
}

/* The 4-bit residual: decoded rows and returned distances much nearer the
 * float32 ones than the 8-bit codes alone give (fifteen times nearer in
 * theory; seven is asked), on the same graph (one build thread: the graph
 * walk never reads the residual, so both indexes are the same graph), and
 * at least the recall. */
static void residual_precision(void) {
    float *x = make_data(VW_METRIC_L2, N, 41), *q = make_data(VW_METRIC_L2, NQ, 42);
    vw_index *ix[2] = {NULL, NULL};
    double row_err[2] = {0, 0}, dist_err[2] = {0, 0};
    uint32_t hits[2] = {0, 0};
    for (int r = 0; r < 2; r++) {
        vw_params p;
        vw_params_default(&p, DIM);
        p.M = 12;
        p.storage = VW_STORAGE_I8;
        p.flags = VW_PARAMS_NO_FLOAT32 | (r ? VW_PARAMS_RESIDUAL : 0);
        CHECK_OK(vw_index_create(&p, &ix[r]));
        if (!ix[r])
            continue;
        uint64_t *labels = tu_iota(N);
        CHECK_OK(vw_index_add_batch(ix[r], x, labels, N, 1, NULL, NULL));
        free(labels);
        for (uint64_t i = 0; i < N; i += 7) {
            float back[DIM];
            CHECK_OK(vw_index_get_vector(ix[r], i, back));
            for (uint32_t j = 0; j < DIM; j++)
                row_err[r] = fmax(row_err[r], fabs(back[j] - x[i * DIM + j]));
        }
        for (int i = 0; i < NQ; i++) {
            uint64_t l[K], truth[K];
            float d[K];
            double td[K];
            uint32_t found = 0;
            CHECK_OK(vw_index_search(ix[r], q + i * DIM, K, 80, NULL, NULL, l, d, &found));
            tu_brute_force(VW_METRIC_L2, x, N, DIM, q + i * DIM, K, NULL, NULL, truth, td);
            hits[r] += tu_overlap(l, found, truth, K);
            for (uint32_t j = 0; j < found; j++)
                dist_err[r] =
                    fmax(dist_err[r],
                         fabs(d[j] - tu_distance(VW_METRIC_L2, x + l[j] * DIM, q + i * DIM, DIM)));
        }
    }
    printf("residual: largest component error %.2e -> %.2e, distance error %.2e -> %.2e, "
           "recall %.3f -> %.3f\n",
           row_err[0], row_err[1], dist_err[0], dist_err[1], hits[0] / (double)(NQ * K),
           hits[1] / (double)(NQ * K));
    CHECK(row_err[1] > 0 && row_err[1] * 7 <= row_err[0]);
    CHECK(dist_err[1] * 7 <= dist_err[0]);
    CHECK(hits[1] >= hits[0]);
    vw_index_free(ix[0]);
    vw_index_free(ix[1]);
    free(x);
    free(q);
}

static void bad_params(void) {
    vw_params p;
    vw_params_default(&p, 8);
    CHECK(p.storage == VW_STORAGE_F32 && p.flags == 0);
    vw_index *ix = NULL;
    p.flags = VW_PARAMS_NO_FLOAT32;
    CHECK_ST(vw_index_create(&p, &ix), VW_ERR_INVALID_ARG); /* f32 always keeps float32 */
    p.storage = (vw_storage)7;
    CHECK_ST(vw_index_create(&p, &ix), VW_ERR_INVALID_ARG);
    p.storage = VW_STORAGE_I8;
    p.flags = 1u << 5;
    CHECK_ST(vw_index_create(&p, &ix), VW_ERR_INVALID_ARG);
    p.flags = VW_PARAMS_RESIDUAL; /* the residual refines i8 codes where no float32 is kept */
    CHECK_ST(vw_index_create(&p, &ix), VW_ERR_INVALID_ARG);
    p.storage = VW_STORAGE_F16;
    p.flags = VW_PARAMS_RESIDUAL | VW_PARAMS_NO_FLOAT32;
    CHECK_ST(vw_index_create(&p, &ix), VW_ERR_INVALID_ARG);
    p.storage = VW_STORAGE_I8;
    vw_storage s;
    CHECK_OK(vw_storage_parse("I8", &s));
    CHECK(s == VW_STORAGE_I8 && strcmp(vw_storage_name(VW_STORAGE_F16), "f16") == 0);
    CHECK_ST(vw_storage_parse("f64", &s), VW_ERR_INVALID_ARG);
    CHECK(vw_storage_name((vw_storage)9) == NULL);

    /* f16 rows cannot hold more than 65504; cosine rows are normalized first */
    vw_params_default(&p, 4);
    p.storage = VW_STORAGE_F16;
    CHECK_OK(vw_index_create(&p, &ix));
    float big[4] = {70000.0f, 1, 2, 3};
    CHECK_ST(vw_index_add(ix, big, 1), VW_ERR_NONFINITE);
    vw_index_free(ix);
    p.metric = VW_METRIC_COSINE;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add(ix, big, 1));
    vw_index_free(ix);
}

/* The re-rank depth option: any value works, and k..ef bounds it. */
static void rerank_option(void) {
    kind k = {VW_STORAGE_I8, 0};
    float *x = make_data(VW_METRIC_L2, N, 31), *q = make_data(VW_METRIC_L2, NQ, 32);
    vw_index *ix = build(k, VW_METRIC_L2, x, N);
    vw_search_options o;
    vw_search_options_default(&o);
    CHECK(o.ef == 64 && o.rerank == 0 && o.filter == NULL);
    static const uint32_t depths[] = {1, K, 25, 64, 1000};
    uint64_t l[K], l0[K];
    float d[K], d0[K];
    uint32_t found = 0, found0 = 0;
    CHECK_OK(vw_index_search_ex(ix, q, K, NULL, l0, d0, &found0));
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        o.rerank = depths[i];
        CHECK_OK(vw_index_search_ex(ix, q, K, &o, l, d, &found));
        CHECK(found == K && found0 == K);
        if (depths[i] >= 4 * K) /* the default depth is 4k: deeper finds as much */
            CHECK(d[K - 1] <= d0[K - 1]);
    }
    uint64_t *bl = malloc(NQ * K * sizeof *bl);
    o.rerank = 20;
    CHECK_OK(vw_index_search_batch_ex(ix, q, NQ, K, &o, 2, bl, NULL, NULL));
    CHECK_OK(vw_index_search_ex(ix, q + DIM, K, &o, l, d, &found));
    CHECK(memcmp(bl + K, l, sizeof l) == 0);
    free(bl);
    vw_index_free(ix);
    free(x);
    free(q);
}

int main(void) {
    if (tu_tempdir(dir, "vw_storage") != 0)
        return 1;
    static const kind kinds[] = {{VW_STORAGE_F16, 0},
                                 {VW_STORAGE_F16, VW_PARAMS_NO_FLOAT32},
                                 {VW_STORAGE_I8, 0},
                                 {VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32},
                                 {VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL}};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        for (int m = VW_METRIC_L2; m <= VW_METRIC_COSINE; m++)
            one_kind(kinds[k], (vw_metric)m);
    i8_training();
    i8_lossless();
    residual_precision();
    bad_params();
    rerank_option();
    rmdir(dir);
    return tu_result("test_core_storage");
}
