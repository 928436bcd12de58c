/* AVX-512F kernels; compiled with -mavx512f -mfma and only called after
 * CPUID reported AVX-512F.
 *
 * Each distance runs the same sequence of operations whether it is computed
 * alone or as one of four in a batch: two accumulators over alternating
 * 16-float chunks, a masked tail (AVX-512 masks make the remainder one more
 * step, not a loop), then one horizontal sum. So batch and single results are
 * bit-identical, and a search reports the same distance for a node however
 * it reached it. The batch form loads each query chunk once for four
 * vectors and keeps four independent dependency chains in flight. */
#include "kernels_isa.h"
#include "vw_internal.h"

#include <immintrin.h>

#define L2_STEP(acc, q, v)                                                                         \
    do {                                                                                           \
        __m512 d_ = _mm512_sub_ps(v, q);                                                           \
        acc = _mm512_fmadd_ps(d_, d_, acc);                                                        \
    } while (0)
#define DOT_STEP(acc, q, v) acc = _mm512_fmadd_ps(v, q, acc)

static inline __mmask16 tail_mask(size_t rest) {
    return (__mmask16)((1u << rest) - 1);
}

/* One kernel body for a single vector and one for four, per step kind. */
#define DEFINE_KERNELS(NAME, STEP)                                                                 \
    static inline float NAME##_one(const float *q, const float *v, size_t dim) {                   \
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();                                 \
        size_t i = 0;                                                                              \
        for (; i + 32 <= dim; i += 32) {                                                           \
            STEP(a0, _mm512_loadu_ps(q + i), _mm512_loadu_ps(v + i));                              \
            STEP(a1, _mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(v + i + 16));                    \
        }                                                                                          \
        if (i + 16 <= dim) {                                                                       \
            STEP(a0, _mm512_loadu_ps(q + i), _mm512_loadu_ps(v + i));                              \
            i += 16;                                                                               \
        }                                                                                          \
        if (i < dim) {                                                                             \
            __mmask16 m = tail_mask(dim - i);                                                      \
            STEP(a1, _mm512_maskz_loadu_ps(m, q + i), _mm512_maskz_loadu_ps(m, v + i));            \
        }                                                                                          \
        return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));                                        \
    }                                                                                              \
    static inline void NAME##_four(const float *q, const float *const v[4], size_t dim,            \
                                   float out[4]) {                                                 \
        __m512 a[4][2];                                                                            \
        for (int k = 0; k < 4; k++)                                                                \
            a[k][0] = a[k][1] = _mm512_setzero_ps();                                               \
        size_t i = 0;                                                                              \
        for (; i + 32 <= dim; i += 32) {                                                           \
            __m512 q0 = _mm512_loadu_ps(q + i), q1 = _mm512_loadu_ps(q + i + 16);                  \
            for (int k = 0; k < 4; k++) {                                                          \
                STEP(a[k][0], q0, _mm512_loadu_ps(v[k] + i));                                      \
                STEP(a[k][1], q1, _mm512_loadu_ps(v[k] + i + 16));                                 \
            }                                                                                      \
        }                                                                                          \
        if (i + 16 <= dim) {                                                                       \
            __m512 q0 = _mm512_loadu_ps(q + i);                                                    \
            for (int k = 0; k < 4; k++)                                                            \
                STEP(a[k][0], q0, _mm512_loadu_ps(v[k] + i));                                      \
            i += 16;                                                                               \
        }                                                                                          \
        if (i < dim) {                                                                             \
            __mmask16 m = tail_mask(dim - i);                                                      \
            __m512 q0 = _mm512_maskz_loadu_ps(m, q + i);                                           \
            for (int k = 0; k < 4; k++)                                                            \
                STEP(a[k][1], q0, _mm512_maskz_loadu_ps(m, v[k] + i));                             \
        }                                                                                          \
        for (int k = 0; k < 4; k++)                                                                \
            out[k] = _mm512_reduce_add_ps(_mm512_add_ps(a[k][0], a[k][1]));                        \
    }

DEFINE_KERNELS(l2, L2_STEP)
DEFINE_KERNELS(dot, DOT_STEP)

#define VW_LEVEL avx512
#include "distance_public.h"
