/* kernels_isa.h - the kernels of each level by name, for distance*.c (which fill
 * vw_kernels with them) and the kernel tests; everything else calls
 * through vw_kernels (kernels.h). */
#ifndef VW_KERNELS_ISA_H
#define VW_KERNELS_ISA_H

#include "kernels.h"

float vw_l2sq_scalar(const float *a, const float *b, size_t dim);
float vw_dot_scalar(const float *a, const float *b, size_t dim);
float vw_ipdist_scalar(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
void vw_ipdist_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                            uint32_t n, float *out);

/* The compact kernels of one level: vw_<kernel>_<level>. */
#define VW_DECLARE_COMPACT_KERNELS(L)                                                              \
    float vw_l2_f16_##L(const float *q, const uint16_t *v, size_t dim);                            \
    float vw_dot_f16_##L(const float *q, const uint16_t *v, size_t dim);                           \
    void vw_l2_f16_batch_##L(const float *q, const uint16_t *base, size_t dim,                     \
                             const uint32_t *ids, uint32_t n, float *out);                         \
    void vw_dot_f16_batch_##L(const float *q, const uint16_t *base, size_t dim,                    \
                              const uint32_t *ids, uint32_t n, float *out);                        \
    uint32_t vw_l2_u8_##L(const uint8_t *a, const uint8_t *b, size_t dim);                         \
    void vw_l2_u8_batch_##L(const uint8_t *q, const uint8_t *base, size_t dim,                     \
                            const uint32_t *ids, uint32_t n, uint32_t *out);                       \
    float vw_dot_u8_##L(const float *q, const uint8_t *c, size_t dim);                             \
    void vw_dot_u8_batch_##L(const float *q, const uint8_t *base, size_t dim, const uint32_t *ids, \
                             uint32_t n, float *out);                                              \
    void vw_decode_i8r_##L(const float *offset, float step, float part, const uint8_t *code,       \
                           const uint8_t *resid, size_t dim, float *out);

VW_DECLARE_COMPACT_KERNELS(scalar)
#ifdef VW_HAVE_SIMD
VW_DECLARE_COMPACT_KERNELS(avx2)
VW_DECLARE_COMPACT_KERNELS(avx512)
/* AVX-512 VNNI (vpdpwssd) variants of the integer kernels, used by the
 * avx512 level when the CPU has VNNI. */
uint32_t vw_l2_u8_vnni(const uint8_t *a, const uint8_t *b, size_t dim);
void vw_l2_u8_batch_vnni(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                         uint32_t n, uint32_t *out);
int vw_cpu_has_vnni(void);
float vw_l2sq_avx2(const float *a, const float *b, size_t dim);
float vw_dot_avx2(const float *a, const float *b, size_t dim);
float vw_ipdist_avx2(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_avx2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                        uint32_t n, float *out);
void vw_ipdist_batch_avx2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
float vw_l2sq_avx512(const float *a, const float *b, size_t dim);
float vw_dot_avx512(const float *a, const float *b, size_t dim);
float vw_ipdist_avx512(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_avx512(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
void vw_ipdist_batch_avx512(const float *q, const float *base, size_t dim, const uint32_t *ids,
                            uint32_t n, float *out);
#endif

#endif /* VW_KERNELS_ISA_H */
