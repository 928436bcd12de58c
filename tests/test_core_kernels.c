/* Every kernel variant this CPU supports agrees with the scalar one.
 *
 * The error is measured relative to sum |a_i * b_i| (for L2, sum (a_i-b_i)^2,
 * the value itself): that is the scale of the rounding error of any
 * summation order, while the result of a dot product can cancel to near
 * zero and make a plain relative error meaningless. */
#include "codec_f16.h"
#include "kernels_isa.h"
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
                check_failures++;
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

/* binary16 conversion: every finite half survives f16 -> f32 -> f16, and
 * float32 values round to nearest, ties to even, as vcvtps2ph does. */
static void check_f16_codec(void) {
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00u) == 0x7c00u)
            continue; /* infinities and NaNs */
        float f = vw_f16_to_f32((uint16_t)h);
        CHECK(vw_f32_to_f16(f) == h);
    }
    CHECK(vw_f16_to_f32(0x3c00) == 1.0f && vw_f16_to_f32(0xc000) == -2.0f);
    CHECK(vw_f16_to_f32(0x0001) == 0x1p-24f && vw_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(vw_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);            /* tie to even: down */
    CHECK(vw_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);        /* tie to even: up */
    CHECK(vw_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01); /* above the tie */
    CHECK(vw_f32_to_f16(65519.0f) == 0x7bff && vw_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(vw_f32_to_f16(0x1p-25f) == 0 && vw_f32_to_f16(0x1.8p-25f) == 1); /* subnormal ties */
    CHECK(vw_f32_to_f16(-0.0f) == 0x8000);
}

static void fill_f16(tu_rng *r, uint16_t *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        v[i] = vw_f32_to_f16((float)(tu_uniform(r) * 4 - 2));
}

/* The compact kernels of a level against the scalar ones: f16 and the
 * float-by-code dot within rounding, the integer distance exactly (also
 * the VNNI variant), and every batch bit-identical to its single kernel. */
static void check_compact(vw_simd_level level) {
    const vw_kernels *ref = vw_kernels_for(VW_SIMD_SCALAR);
    const vw_kernels *k = vw_kernels_for(level);
    tu_rng r;
    tu_seed(&r, 99 + level);
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        size_t n = lengths[li];
        enum { ROWS = 9 };
        float *q = malloc(n * sizeof *q);
        uint16_t *h = malloc(ROWS * n * sizeof *h);
        uint8_t *c = malloc(ROWS * n + 1), *a = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            q[i] = (float)(tu_uniform(&r) * 4 - 2);
            a[i] = (uint8_t)(tu_next(&r) & 255);
        }
        fill_f16(&r, h, ROWS * n);
        for (size_t i = 0; i < ROWS * n; i++)
            c[i] = (uint8_t)(i % 7 == 0 ? 255 * (tu_next(&r) & 1) : tu_next(&r) & 255);
        double sl2 = 0, sdot = 0, sdot8 = 0;
        for (size_t i = 0; i < n; i++) {
            double x = vw_f16_to_f32(h[i]);
            sl2 += (q[i] - x) * (q[i] - x);
            sdot += fabs(q[i] * x);
            sdot8 += fabs(q[i] * c[i]);
        }
        float l2 = k->l2_f16(q, h, n), l2ref = ref->l2_f16(q, h, n);
        float dot = k->dot_f16(q, h, n), dotref = ref->dot_f16(q, h, n);
        float d8 = k->dot_u8(q, c, n), d8ref = ref->dot_u8(q, c, n);
        if (!(fabs(l2 - l2ref) <= 1e-5 * sl2) || !(fabs(dot - dotref) <= 1e-5 * sdot) ||
            !(fabs(d8 - d8ref) <= 1e-5 * sdot8)) {
            fprintf(stderr, "%s n=%zu: f16 l2 %g vs %g, f16 dot %g vs %g, u8 dot %g vs %g\n",
                    vw_simd_name(level), n, l2, l2ref, dot, dotref, d8, d8ref);
            check_failures++;
        }
        for (size_t row = 0; row < ROWS; row++)
            CHECK(k->l2_u8(a, c + row * n, n) == ref->l2_u8(a, c + row * n, n));
#ifdef VW_HAVE_SIMD
        if (level == VW_SIMD_AVX512 && vw_cpu_has_vnni())
            for (size_t row = 0; row < ROWS; row++)
                CHECK(vw_l2_u8_vnni(a, c + row * n, n) == vw_l2_u8_avx512(a, c + row * n, n));
#endif
        uint32_t ids[ROWS] = {3, 0, 8, 7, 7, 1, 2, 5, 4};
        for (uint32_t m = 0; m <= ROWS; m++) {
            float fl2[ROWS], fdot[ROWS], f8[ROWS];
            uint32_t u8[ROWS];
            k->l2_f16_batch(q, h, n, ids, m, fl2);
            k->dot_f16_batch(q, h, n, ids, m, fdot);
            k->dot_u8_batch(q, c, n, ids, m, f8);
            k->l2_u8_batch(a, c, n, ids, m, u8);
            for (uint32_t i = 0; i < m; i++) {
                CHECK(fl2[i] == k->l2_f16(q, h + ids[i] * n, n));
                CHECK(fdot[i] == k->dot_f16(q, h + ids[i] * n, n));
                CHECK(f8[i] == k->dot_u8(q, c + ids[i] * n, n));
                CHECK(u8[i] == k->l2_u8(a, c + ids[i] * n, n));
            }
        }
        free(q);
        free(h);
        free(c);
        free(a);
    }
    /* the largest integer distance: 4096 components differing by 255 */
    uint8_t *zero = calloc(VW_MAX_DIM, 1), *full = malloc(VW_MAX_DIM);
    memset(full, 255, VW_MAX_DIM);
    CHECK(k->l2_u8(zero, full, VW_MAX_DIM) == 255u * 255u * VW_MAX_DIM);
    free(zero);
    free(full);
}

/* The refined i8 decode (4-bit residual) of a level gives the scalar
 * kernel's bits, for every length (odd ones end in half a residual byte)
 * and every nibble and code value. */
static void check_decode_i8r(vw_simd_level level) {
    const vw_kernels *ref = vw_kernels_for(VW_SIMD_SCALAR);
    const vw_kernels *k = vw_kernels_for(level);
    tu_rng r;
    tu_seed(&r, 7 + level);
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        size_t n = lengths[li];
        float *offset = malloc(n * sizeof *offset), *out = malloc(n * sizeof *out);
        float *want = malloc(n * sizeof *want);
        uint8_t *code = malloc(n), *resid = malloc((n + 1) / 2);
        for (size_t i = 0; i < n; i++) {
            offset[i] = (float)(tu_uniform(&r) * 6 - 3);
            code[i] = (uint8_t)(i % 5 == 0 ? 255 * (tu_next(&r) & 1) : tu_next(&r) & 255);
        }
        for (size_t i = 0; i < (n + 1) / 2; i++)
            resid[i] = (uint8_t)(tu_next(&r) & 255);
        float step = (float)(0.001 + tu_uniform(&r) * 0.05), part = step / 15;
        ref->decode_i8r(offset, step, part, code, resid, n, want);
        k->decode_i8r(offset, step, part, code, resid, n, out);
        CHECK(memcmp(out, want, n * sizeof *out) == 0);
        for (size_t i = 0; i < n; i++) { /* and the scalar kernel is the documented formula */
            int nib = (int)((resid[i / 2] >> (4 * (i % 2))) & 15) - 8;
            float v = offset[i] + step * (float)code[i];
            CHECK(want[i] == v + part * (float)nib);
        }
        free(offset);
        free(out);
        free(want);
        free(code);
        free(resid);
    }
}

int main(void) {
    int tested = 0;
    check_f16_codec();
    for (int l = VW_SIMD_SCALAR; l <= VW_SIMD_AVX512; l++) {
        if (!vw_simd_supported((vw_simd_level)l)) {
            printf("%s: not supported here, skipped\n", vw_simd_name((vw_simd_level)l));
            continue;
        }
        check_level((vw_simd_level)l);
        check_batch((vw_simd_level)l);
        check_compact((vw_simd_level)l);
        check_decode_i8r((vw_simd_level)l);
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
