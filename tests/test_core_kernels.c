/* Every kernel variant this CPU supports agrees with the scalar one.
 *
 * The error is measured relative to sum |a_i * b_i| (for L2, sum (a_i-b_i)^2,
 * the value itself): that is the scale of the rounding error of any
 * summation order, while the result of a dot product can cancel to near
 * zero and make a plain relative error meaningless. */
#include "testutil.h"
#include "vw_internal.h"

static const size_t lengths[] = {1, 7, 15, 16, 17, 31, 127, 128, 129, 1000};

static void check_level(vw_simd_level level) {
    const vw_kernels *ref = vw_kernels_for(VW_SIMD_SCALAR);
    const vw_kernels *k = vw_kernels_for(level);
    tu_rng r;
    tu_seed(&r, 42 + level);
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        size_t n = lengths[li];
        for (int trial = 0; trial < 20; trial++) {
            /* odd offsets: the kernels must not assume aligned rows */
            float *buf = malloc((2 * n + 3) * sizeof *buf);
            float *a = buf + 1, *b = buf + n + 2;
            double scale_l2 = 0, scale_dot = 0;
            for (size_t i = 0; i < n; i++) {
                a[i] = (float)(tu_uniform(&r) * 4 - 2);
                b[i] = (float)(tu_uniform(&r) * 4 - 2);
                scale_l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
                scale_dot += fabs((double)a[i] * b[i]);
            }
            float l2 = k->l2sq(a, b, n), l2ref = ref->l2sq(a, b, n);
            float dot = k->dot(a, b, n), dotref = ref->dot(a, b, n);
            float ip = k->ipdist(a, b, n), ipref = ref->ipdist(a, b, n);
            if (!(fabs(l2 - l2ref) <= 1e-5 * scale_l2) ||
                !(fabs(dot - dotref) <= 1e-5 * scale_dot) ||
                !(fabs(ip - ipref) <= 1e-5 * (scale_dot + 1))) {
                fprintf(stderr, "%s n=%zu: l2 %g vs %g, dot %g vs %g, ip %g vs %g\n",
                        vw_simd_name(level), n, l2, l2ref, dot, dotref, ip, ipref);
                tu_failures++;
            }
            free(buf);
        }
    }
}

/* The batch kernels give bit-identical results to the single ones, for
 * every batch size around the groups of four. */
static void check_batch(vw_simd_level level) {
    const vw_kernels *k = vw_kernels_for(level);
    tu_rng r;
    tu_seed(&r, 7 + level);
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        size_t dim = lengths[li];
        enum { ROWS = 11 };
        float *base = malloc(ROWS * dim * sizeof *base), *q = malloc(dim * sizeof *q);
        for (size_t i = 0; i < ROWS * dim; i++)
            base[i] = (float)(tu_uniform(&r) * 2 - 1);
        for (size_t i = 0; i < dim; i++)
            q[i] = (float)(tu_uniform(&r) * 2 - 1);
        uint32_t ids[ROWS] = {3, 0, 10, 7, 7, 1, 9, 2, 5, 4, 6};
        for (uint32_t n = 0; n <= ROWS; n++) {
            float l2[ROWS], ip[ROWS];
            k->l2sq_batch(q, base, dim, ids, n, l2);
            k->ipdist_batch(q, base, dim, ids, n, ip);
            for (uint32_t i = 0; i < n; i++) {
                const float *v = base + ids[i] * dim;
                CHECK(l2[i] == k->l2sq(q, v, dim));
                CHECK(ip[i] == k->ipdist(q, v, dim));
            }
        }
        free(base);
        free(q);
    }
}

int main(void) {
    int tested = 0;
    for (int l = VW_SIMD_SCALAR; l <= VW_SIMD_AVX512; l++) {
        if (!vw_simd_supported((vw_simd_level)l)) {
            printf("%s: not supported here, skipped\n", vw_simd_name((vw_simd_level)l));
            continue;
        }
        check_level((vw_simd_level)l);
        check_batch((vw_simd_level)l);
        printf("%s: checked\n", vw_simd_name((vw_simd_level)l));
        tested++;
    }
    CHECK(tested >= 1);
    /* The public kernels use the active level and agree with it. */
    float a[3] = {1, 2, 3}, b[3] = {4, 6, 8};
    CHECK(vw_distance_l2sq(a, b, 3) == 9 + 16 + 25);
    CHECK(vw_distance_dot(a, b, 3) == 4 + 12 + 24);
    CHECK(vw_simd_supported(vw_simd_active()));
    return tu_result("test_core_kernels");
}
