/* AVX-512 kernels for compact rows; compiled with -mavx512f -mavx512bw
 * -mfma and only called after CPUID reported AVX-512F and BW. The same
 * method as the AVX2 file, sixteen floats or thirty-two 16-bit lanes at a
 * time; tails go through a zero-padded buffer. The VNNI variant of the
 * integer kernel is in distance_compact_vnni.c. */
#include "distance_u8_avx512.h"
#include "kernels_isa.h"
#include "vw_internal.h"

#include <immintrin.h>
#include <string.h>

static inline __m512 halves(const uint16_t *v) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)v));
}

#define F16_L2_STEP(acc, q, x)                                                                     \
    do {                                                                                           \
        __m512 d_ = _mm512_sub_ps(q, x);                                                           \
        acc = _mm512_fmadd_ps(d_, d_, acc);                                                        \
    } while (0)
#define F16_DOT_STEP(acc, q, x) acc = _mm512_fmadd_ps(q, x, acc)

#define DEFINE_F16(NAME, STEP)                                                                     \
    float NAME(const float *q, const uint16_t *v, size_t dim) {                                    \
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();                                 \
        size_t i = 0;                                                                              \
        for (; i + 32 <= dim; i += 32) {                                                           \
            STEP(a0, _mm512_loadu_ps(q + i), halves(v + i));                                       \
            STEP(a1, _mm512_loadu_ps(q + i + 16), halves(v + i + 16));                             \
        }                                                                                          \
        if (i + 16 <= dim) {                                                                       \
            STEP(a0, _mm512_loadu_ps(q + i), halves(v + i));                                       \
            i += 16;                                                                               \
        }                                                                                          \
        if (i < dim) {                                                                             \
            uint16_t vt[16] = {0};                                                                 \
            float qt[16] = {0};                                                                    \
            memcpy(vt, v + i, (dim - i) * sizeof *vt);                                             \
            memcpy(qt, q + i, (dim - i) * sizeof *qt);                                             \
            STEP(a1, _mm512_loadu_ps(qt), halves(vt));                                             \
        }                                                                                          \
        return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));                                        \
    }

DEFINE_F16(vw_l2_f16_avx512, F16_L2_STEP)
DEFINE_F16(vw_dot_f16_avx512, F16_DOT_STEP)

#define MADD_ACC(acc, d) _mm512_add_epi32(acc, _mm512_madd_epi16(d, d))
VW_DEFINE_L2_U8_AVX512(vw_l2_u8_avx512, MADD_ACC)

static inline __m512 codes16(const uint8_t *p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)));
}

float vw_dot_u8_avx512(const float *q, const uint8_t *c, size_t dim) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), codes16(c + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), codes16(c + i + 16), a1);
    }
    if (i + 16 <= dim) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), codes16(c + i), a0);
        i += 16;
    }
    if (i < dim) {
        uint8_t ct[16] = {0};
        float qt[16] = {0};
        memcpy(ct, c + i, dim - i);
        memcpy(qt, q + i, (dim - i) * sizeof *qt);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qt), codes16(ct), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* Sixteen components at a time, as the AVX2 kernel does eight. */
void vw_decode_i8r_avx512(const float *offset, float step, float part, const uint8_t *code,
                          const uint8_t *resid, size_t dim, float *out) {
    const __m512 vs = _mm512_set1_ps(step), vp = _mm512_set1_ps(part);
    const __m512i shifts = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    const __m512i low = _mm512_set1_epi32(15), eight = _mm512_set1_epi32(8);
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(resid + i / 2));
        b = _mm_unpacklo_epi8(b, b);
        __m512i nib = _mm512_and_si512(_mm512_srlv_epi32(_mm512_cvtepu8_epi32(b), shifts), low);
        __m512 r = _mm512_cvtepi32_ps(_mm512_sub_epi32(nib, eight));
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(offset + i), _mm512_mul_ps(vs, codes16(code + i)));
        _mm512_storeu_ps(out + i, _mm512_add_ps(v, _mm512_mul_ps(vp, r)));
    }
    if (i < dim)
        vw_decode_i8r_scalar(offset + i, step, part, code + i, resid + i / 2, dim - i, out + i);
}

#define VW_LEVEL avx512
#include "distance_compact_batch.h"
