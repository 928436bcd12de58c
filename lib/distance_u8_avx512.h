/* distance_u8_avx512.h - the body of the AVX-512 integer squared distance,
 * shared by distance_compact_avx512.c (vpmaddwd + vpaddd) and
 * distance_compact_vnni.c (vpdpwssd), which are compiled with different
 * flags. ACC(acc, d) adds the pairwise squares of the 16-bit lanes of d to
 * the 32-bit lanes of acc. Exact: every level returns the same value. */
#ifndef VW_DISTANCE_U8_AVX512_H
#define VW_DISTANCE_U8_AVX512_H

#include <immintrin.h>
#include <stdint.h>

static inline __m512i vw_wide32(const uint8_t *p) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

#define VW_DEFINE_L2_U8_AVX512(NAME, ACC)                                                          \
    uint32_t NAME(const uint8_t *a, const uint8_t *b, size_t dim) {                                \
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();                          \
        size_t i = 0;                                                                              \
        for (; i + 64 <= dim; i += 64) {                                                           \
            __m512i d0 = _mm512_sub_epi16(vw_wide32(a + i), vw_wide32(b + i));                     \
            __m512i d1 = _mm512_sub_epi16(vw_wide32(a + i + 32), vw_wide32(b + i + 32));           \
            a0 = ACC(a0, d0);                                                                      \
            a1 = ACC(a1, d1);                                                                      \
        }                                                                                          \
        if (i + 32 <= dim) {                                                                       \
            __m512i d0 = _mm512_sub_epi16(vw_wide32(a + i), vw_wide32(b + i));                     \
            a0 = ACC(a0, d0);                                                                      \
            i += 32;                                                                               \
        }                                                                                          \
        uint32_t s = (uint32_t)_mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));                  \
        for (; i < dim; i++) {                                                                     \
            int32_t d = (int32_t)a[i] - (int32_t)b[i];                                             \
            s += (uint32_t)(d * d);                                                                \
        }                                                                                          \
        return s;                                                                                  \
    }

#endif /* VW_DISTANCE_U8_AVX512_H */
