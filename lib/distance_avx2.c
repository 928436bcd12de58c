/* AVX2 + FMA kernels; this file alone is compiled with -mavx2 -mfma and is
 * only called after CPUID said both are present.
 *
 * As in the AVX-512 file, a distance runs the same operations alone or in a
 * batch of four (two accumulators over alternating 8-float chunks, a masked
 * tail, one horizontal sum), so batch and single results are bit-identical. */
#include "kernels_isa.h"
#include "vw_internal.h"

#include <immintrin.h>

#define L2_STEP(acc, q, v)                                                                         \
    do {                                                                                           \
        __m256 d_ = _mm256_sub_ps(v, q);                                                           \
        acc = _mm256_fmadd_ps(d_, d_, acc);                                                        \
    } while (0)
#define DOT_STEP(acc, q, v) acc = _mm256_fmadd_ps(v, q, acc)

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i tail_mask(size_t rest) {
    /* lanes 0..rest-1 set: compare lane index against rest */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rest), idx);
}

#define DEFINE_KERNELS(NAME, STEP)                                                                 \
    static inline float NAME##_one(const float *q, const float *v, size_t dim) {                   \
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                                 \
        size_t i = 0;                                                                              \
        for (; i + 16 <= dim; i += 16) {                                                           \
            STEP(a0, _mm256_loadu_ps(q + i), _mm256_loadu_ps(v + i));                              \
            STEP(a1, _mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(v + i + 8));                      \
        }                                                                                          \
        if (i + 8 <= dim) {                                                                        \
            STEP(a0, _mm256_loadu_ps(q + i), _mm256_loadu_ps(v + i));                              \
            i += 8;                                                                                \
        }                                                                                          \
        if (i < dim) {                                                                             \
            __m256i m = tail_mask(dim - i);                                                        \
            STEP(a1, _mm256_maskload_ps(q + i, m), _mm256_maskload_ps(v + i, m));                  \
        }                                                                                          \
        return hsum256(_mm256_add_ps(a0, a1));                                                     \
    }                                                                                              \
    static inline void NAME##_four(const float *q, const float *const v[4], size_t dim,            \
                                   float out[4]) {                                                 \
        __m256 a[4][2];                                                                            \
        for (int k = 0; k < 4; k++)                                                                \
            a[k][0] = a[k][1] = _mm256_setzero_ps();                                               \
        size_t i = 0;                                                                              \
        for (; i + 16 <= dim; i += 16) {                                                           \
            __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);                   \
            for (int k = 0; k < 4; k++) {                                                          \
                STEP(a[k][0], q0, _mm256_loadu_ps(v[k] + i));                                      \
                STEP(a[k][1], q1, _mm256_loadu_ps(v[k] + i + 8));                                  \
            }                                                                                      \
        }                                                                                          \
        if (i + 8 <= dim) {                                                                        \
            __m256 q0 = _mm256_loadu_ps(q + i);                                                    \
            for (int k = 0; k < 4; k++)                                                            \
                STEP(a[k][0], q0, _mm256_loadu_ps(v[k] + i));                                      \
            i += 8;                                                                                \
        }                                                                                          \
        if (i < dim) {                                                                             \
            __m256i m = tail_mask(dim - i);                                                        \
            __m256 q0 = _mm256_maskload_ps(q + i, m);                                              \
            for (int k = 0; k < 4; k++)                                                            \
                STEP(a[k][1], q0, _mm256_maskload_ps(v[k] + i, m));                                \
        }                                                                                          \
        for (int k = 0; k < 4; k++)                                                                \
            out[k] = hsum256(_mm256_add_ps(a[k][0], a[k][1]));                                     \
    }

DEFINE_KERNELS(l2, L2_STEP)
DEFINE_KERNELS(dot, DOT_STEP)

#define VW_LEVEL avx2
#include "distance_public.h"
