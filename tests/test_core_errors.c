/* Every error status the core can return is provoked, and after each one the
 * index is unchanged (same count, same answers) and still usable. */
#include "testutil.h"

#define DIM 16
#define N   500

static vw_index *ix;
static float *base;
static uint64_t ref_labels[10];
static float ref_dists[10];

static void expect_unchanged(uint64_t count) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == count);
    uint64_t labels[10];
    float dists[10];
    uint32_t found = 0;
    CHECK_OK(vw_index_search(ix, base, 10, 50, NULL, NULL, labels, dists, &found));
    CHECK(found == 10);
    CHECK(memcmp(labels, ref_labels, sizeof labels) == 0);
    CHECK(memcmp(dists, ref_dists, sizeof dists) == 0);
}

/* A progress callback that calls back into the index it is building: the
 * library refuses that with a status instead of deadlocking or corrupting
 * its lock (the callback runs on the caller's thread, which holds it). */
static vw_status reentrant_status = VW_OK;
/* Stats never wait for the writer, so they work from inside a batch;
 * anything that takes the writer lock is refused with a status. */
static int reenter(uint64_t done, uint64_t total, void *ctx) {
    (void)done;
    (void)total;
    vw_stats st;
    float v[DIM];
    if (vw_index_stats((const vw_index *)ctx, &st) != VW_OK)
        reentrant_status = VW_ERR_IO; /* not what the check below wants */
    else
        reentrant_status = vw_index_get_vector((const vw_index *)ctx, 0, v);
    return 0;
}

static int count_calls(uint64_t done, uint64_t total, void *ctx) {
    (void)done;
    (void)total;
    return ++*(int *)ctx >= 1; /* cancel at the first report */
}

static void params_errors(void) {
    vw_params p;
    vw_index *bad = (vw_index *)1;
    vw_params_default(&p, 0);
    CHECK_ST(vw_index_create(&p, &bad), VW_ERR_DIMENSION);
    CHECK(bad == NULL);
    vw_params_default(&p, VW_MAX_DIM + 1);
    CHECK_ST(vw_index_create(&p, &bad), VW_ERR_DIMENSION);
    vw_params_default(&p, 4);
    p.M = 1;
    CHECK_ST(vw_index_create(&p, &bad), VW_ERR_INVALID_ARG);
    p.M = 16;
    p.ef_construction = 0;
    CHECK_ST(vw_index_create(&p, &bad), VW_ERR_INVALID_ARG);
    p.ef_construction = 10;
    p.metric = (vw_metric)7;
    CHECK_ST(vw_index_create(&p, &bad), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_create(NULL, &bad), VW_ERR_NULL_ARG);
    p.metric = VW_METRIC_L2;
    CHECK_ST(vw_index_create(&p, NULL), VW_ERR_NULL_ARG);
    vw_metric m;
    CHECK_ST(vw_metric_parse("hamming", &m), VW_ERR_INVALID_ARG);
    CHECK_OK(vw_metric_parse("Cosine", &m));
    CHECK(m == VW_METRIC_COSINE);
    CHECK(strlen(vw_last_error_detail()) == 0);
}

static void empty_index_errors(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.metric = VW_METRIC_COSINE;
    vw_index *e = NULL;
    CHECK_OK(vw_index_create(&p, &e));
    uint64_t l[1];
    uint32_t found = 7;
    float q[DIM] = {1};
    CHECK_ST(vw_index_search(e, q, 1, 10, NULL, NULL, l, NULL, &found), VW_ERR_EMPTY_INDEX);
    CHECK(found == 0);
    float zero[DIM] = {0};
    CHECK_ST(vw_index_add(e, zero, 1), VW_ERR_ZERO_VECTOR);
    CHECK_OK(vw_index_add(e, q, 1));
    CHECK_ST(vw_index_search(e, zero, 1, 10, NULL, NULL, l, NULL, &found), VW_ERR_ZERO_VECTOR);
    /* fewer elements than k: found < k */
    uint64_t l5[5];
    CHECK_OK(vw_index_search(e, q, 5, 10, NULL, NULL, l5, NULL, &found));
    CHECK(found == 1 && l5[0] == 1);
    /* a cosine query is normalized first, so a huge one has a direction
     * like any other (its squared norm is past float's range, not double's);
     * exact search agrees. */
    float huge[DIM] = {3e38f, 3e38f};
    CHECK_OK(vw_index_add(e, (float[DIM]){1, 1}, 2));
    CHECK_OK(vw_index_search(e, huge, 1, 10, NULL, NULL, l, NULL, &found));
    CHECK(found == 1 && l[0] == 2);
    const float rows[2 * DIM] = {[0] = 1, [DIM] = 1, [DIM + 1] = 1};
    CHECK_OK(vw_exact_search(rows, 2, huge, 1, DIM, VW_METRIC_COSINE, 1, 1, l, NULL, NULL, NULL));
    CHECK(l[0] == 1);
    vw_index_free(e);
    vw_index_free(NULL);
}

int main(void) {
    params_errors();
    empty_index_errors();

    base = tu_gaussian(N + 1, DIM, 3);
    uint64_t *labels = tu_iota(N + 1);
    vw_params p;
    vw_params_default(&p, DIM);
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 2, NULL, NULL));
    uint32_t found;
    CHECK_OK(vw_index_search(ix, base, 10, 50, NULL, NULL, ref_labels, ref_dists, &found));

    float bad[DIM];
    memcpy(bad, base, sizeof bad);
    bad[3] = NAN;
    CHECK_ST(vw_index_add(ix, bad, 9999), VW_ERR_NONFINITE);
    bad[3] = INFINITY;
    CHECK_ST(vw_index_add(ix, bad, 9999), VW_ERR_NONFINITE);
    CHECK_ST(vw_index_add(ix, base, 5), VW_ERR_DUPLICATE_LABEL);
    CHECK_ST(vw_index_add(NULL, base, 5), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_add(ix, NULL, 5), VW_ERR_NULL_ARG);
    expect_unchanged(N);

    /* a batch with one bad row, or a label clash, inserts nothing */
    float *two = malloc(2 * DIM * sizeof *two);
    memcpy(two, base + N * DIM, DIM * sizeof *two);
    memcpy(two + DIM, bad, DIM * sizeof *two);
    uint64_t fresh[2] = {N, N + 1};
    CHECK_ST(vw_index_add_batch(ix, two, fresh, 2, 2, NULL, NULL), VW_ERR_NONFINITE);
    memcpy(two + DIM, base, DIM * sizeof *two);
    uint64_t clash[2] = {N, 0};
    CHECK_ST(vw_index_add_batch(ix, two, clash, 2, 2, NULL, NULL), VW_ERR_DUPLICATE_LABEL);
    uint64_t twice[2] = {N + 5, N + 5};
    CHECK_ST(vw_index_add_batch(ix, two, twice, 2, 2, NULL, NULL), VW_ERR_DUPLICATE_LABEL);
    CHECK_ST(vw_index_add_batch(ix, NULL, fresh, 2, 2, NULL, NULL), VW_ERR_NULL_ARG);
    expect_unchanged(N);

    uint64_t out[10];
    float q[DIM];
    memcpy(q, base, sizeof q);
    CHECK_ST(vw_index_search(ix, q, 0, 10, NULL, NULL, out, NULL, &found), VW_ERR_K);
    CHECK_ST(vw_index_search(ix, q, VW_MAX_K + 1, 10, NULL, NULL, out, NULL, &found), VW_ERR_K);
    CHECK_ST(vw_index_search(ix, q, 10, 0, NULL, NULL, out, NULL, &found), VW_ERR_EF);
    CHECK_ST(vw_index_search(ix, bad, 10, 10, NULL, NULL, out, NULL, &found), VW_ERR_NONFINITE);
    CHECK_ST(vw_index_search(ix, NULL, 10, 10, NULL, NULL, out, NULL, &found), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_search(ix, q, 10, 10, NULL, NULL, NULL, NULL, &found), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_search(ix, q, 10, 10, NULL, NULL, out, NULL, NULL), VW_ERR_NULL_ARG);
    float qs[2 * DIM];
    memcpy(qs, q, sizeof q);
    memcpy(qs + DIM, bad, sizeof bad);
    uint64_t bout[20];
    CHECK_ST(vw_index_search_batch(ix, qs, 2, 10, 10, NULL, NULL, 2, bout, NULL, NULL),
             VW_ERR_NONFINITE);
    CHECK(strstr(vw_last_error_detail(), "query 1") != NULL);
    float got[DIM];
    CHECK_ST(vw_index_get_vector(ix, 123456, got), VW_ERR_NOT_FOUND);
    CHECK_OK(vw_index_get_vector(ix, 7, got));
    CHECK(memcmp(got, base + 7 * DIM, sizeof got) == 0);
    expect_unchanged(N);

    /* cancelling through the progress callback keeps what was linked */
    int calls = 0;
    float *more = tu_gaussian(600, DIM, 4);
    uint64_t *more_labels = malloc(600 * sizeof *more_labels);
    for (int i = 0; i < 600; i++)
        more_labels[i] = 10000 + i;
    CHECK_ST(vw_index_add_batch(ix, more, more_labels, 600, 1, count_calls, &calls),
             VW_ERR_CANCELLED);
    CHECK(calls == 1);
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count > N && s.count < N + 600);
    for (int i = 0; i < 600; i++) {
        vw_status st = vw_index_get_vector(ix, more_labels[i], got);
        CHECK(st == ((uint64_t)i < s.count - N ? VW_OK : VW_ERR_NOT_FOUND));
    }

    /* huge but finite components: distances would overflow, so refused */
    float huge[DIM];
    for (int i = 0; i < DIM; i++)
        huge[i] = (i & 1) ? -2e19f : 2e19f;
    CHECK_ST(vw_index_add(ix, huge, 77777), VW_ERR_NONFINITE);
    CHECK_ST(vw_index_search(ix, huge, 10, 10, NULL, NULL, out, NULL, &found), VW_ERR_NONFINITE);

    float *few = tu_gaussian(300, DIM, 9);
    uint64_t *few_labels = malloc(300 * sizeof *few_labels);
    for (int i = 0; i < 300; i++)
        few_labels[i] = 50000 + i;
    CHECK_OK(vw_index_add_batch(ix, few, few_labels, 300, 2, reenter, ix));
    CHECK(reentrant_status == VW_ERR_INVALID_ARG);
    CHECK(vw_index_get_vector(ix, 50299, got) == VW_OK);
    free(few);
    free(few_labels);

    for (int st = 0; st < VW_STATUS_COUNT_; st++)
        CHECK(vw_strerror((vw_status)st) && strlen(vw_strerror((vw_status)st)) > 0);
    CHECK(strcmp(vw_strerror((vw_status)999), "unknown status") == 0);

    vw_index_free(ix);
    free(base);
    free(labels);
    free(two);
    free(more);
    free(more_labels);
    return tu_result("test_core_errors");
}
