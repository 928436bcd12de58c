/* The integer squared distance with AVX-512 VNNI: vpdpwssd squares the
 * 16-bit differences, adds them in pairs and accumulates in one instruction
 * (vpmaddwd + vpaddd in the plain AVX-512 kernel). Compiled with
 * -mavx512f -mavx512bw -mavx512vnni; used by the avx512 level only when
 * CPUID reports AVX512_VNNI. Exact, so it returns what every level does. */
#include "vw_internal.h"

#include <immintrin.h>

static inline __m512i wide32(const uint8_t *p) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

uint32_t vw_l2_u8_vnni(const uint8_t *a, const uint8_t *b, size_t dim) {
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        __m512i d0 = _mm512_sub_epi16(wide32(a + i), wide32(b + i));
        __m512i d1 = _mm512_sub_epi16(wide32(a + i + 32), wide32(b + i + 32));
        a0 = _mm512_dpwssd_epi32(a0, d0, d0);
        a1 = _mm512_dpwssd_epi32(a1, d1, d1);
    }
    if (i + 32 <= dim) {
        __m512i d0 = _mm512_sub_epi16(wide32(a + i), wide32(b + i));
        a0 = _mm512_dpwssd_epi32(a0, d0, d0);
        i += 32;
    }
    uint32_t s = (uint32_t)_mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
    for (; i < dim; i++) {
        int32_t d = (int32_t)a[i] - (int32_t)b[i];
        s += (uint32_t)(d * d);
    }
    return s;
}

void vw_l2_u8_batch_vnni(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                         uint32_t n, uint32_t *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = vw_l2_u8_vnni(q, base + (size_t)ids[i] * dim, dim);
}
