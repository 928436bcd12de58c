/* The integer squared distance with AVX-512 VNNI: vpdpwssd squares the
 * 16-bit differences, adds them in pairs and accumulates in one instruction
 * (vpmaddwd + vpaddd in the plain AVX-512 kernel). Compiled with
 * -mavx512f -mavx512bw -mavx512vnni; used by the avx512 level only when
 * CPUID reports AVX512_VNNI. Exact, so it returns what every level does. */
#include "distance_u8_avx512.h"
#include "kernels_isa.h"
#include "vw_internal.h"

#define VNNI_ACC(acc, d) _mm512_dpwssd_epi32(acc, d, d)
VW_DEFINE_L2_U8_AVX512(vw_l2_u8_vnni, VNNI_ACC)

void vw_l2_u8_batch_vnni(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                         uint32_t n, uint32_t *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = vw_l2_u8_vnni(q, base + (size_t)ids[i] * dim, dim);
}
