/* vw_index_add_batch with labels == NULL: the vectors get the next ids,
 * count .. count+n-1, whatever came before; a batch whose next ids are
 * already taken (by explicitly labelled inserts) is refused whole. */
#include "testutil.h"

#define DIM 8

static uint64_t count_of(const vw_index *ix) {
    vw_stats st;
    CHECK_OK(vw_index_stats(ix, &st));
    return st.count;
}

/* The stored vector of `label` equals row `row` of base. */
static int holds(const vw_index *ix, uint64_t label, const float *base, uint64_t row) {
    float v[DIM];
    return vw_index_get_vector(ix, label, v) == VW_OK && memcmp(v, base + row * DIM, sizeof v) == 0;
}

int main(void) {
    float *base = tu_gaussian(40, DIM, 11);
    vw_params p;
    vw_params_default(&p, DIM);
    p.capacity = 4; /* the batches below grow it */
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));

    CHECK_OK(vw_index_add_batch(ix, base, NULL, 3, 2, NULL, NULL));
    CHECK_OK(vw_index_add_batch(ix, base + 3 * DIM, NULL, 7, 2, NULL, NULL));
    CHECK(count_of(ix) == 10);
    for (uint64_t i = 0; i < 10; i++)
        CHECK(holds(ix, i, base, i));
    float v[DIM];
    CHECK_ST(vw_index_get_vector(ix, 10, v), VW_ERR_NOT_FOUND);

    /* an explicit label far ahead, then next ids that do not reach it */
    CHECK_OK(vw_index_add(ix, base + 10 * DIM, 15));
    CHECK_OK(vw_index_add_batch(ix, base + 11 * DIM, NULL, 4, 1, NULL, NULL));
    CHECK(holds(ix, 15, base, 10));
    for (uint64_t label = 11; label < 15; label++)
        CHECK(holds(ix, label, base, label));

    /* count is 15 and label 15 is taken: a batch of next ids would reuse it */
    CHECK_ST(vw_index_add_batch(ix, base + 15 * DIM, NULL, 5, 2, NULL, NULL),
             VW_ERR_DUPLICATE_LABEL);
    CHECK(strstr(vw_last_error_detail(), "label 15") != NULL);
    CHECK(count_of(ix) == 15);

    /* a bad vector names its row and the label it would have had */
    float bad[2 * DIM];
    memcpy(bad, base, sizeof bad);
    bad[DIM + 3] = NAN;
    vw_index *fresh = NULL;
    CHECK_OK(vw_index_create(&p, &fresh));
    CHECK_OK(vw_index_add_batch(fresh, base, NULL, 5, 1, NULL, NULL));
    CHECK_ST(vw_index_add_batch(fresh, bad, NULL, 2, 1, NULL, NULL), VW_ERR_NONFINITE);
    CHECK(strstr(vw_last_error_detail(), "vector 1 (label 6)") != NULL);
    CHECK(count_of(fresh) == 5);

    /* NULL vectors are still refused, and an empty batch is a no-op */
    CHECK_ST(vw_index_add_batch(fresh, NULL, NULL, 2, 1, NULL, NULL), VW_ERR_NULL_ARG);
    CHECK_OK(vw_index_add_batch(fresh, NULL, NULL, 0, 1, NULL, NULL));

    vw_index_free(fresh);
    vw_index_free(ix);
    free(base);
    return tu_result("test_core_next_ids");
}
