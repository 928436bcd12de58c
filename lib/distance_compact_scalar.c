/* Portable kernels for compact rows (f16, i8): the reference the SIMD
 * levels are tested against, and what -DVW_SIMD=OFF builds run. The f16 and
 * float-by-code kernels sum in eight accumulators like the float32 ones; the
 * integer kernel is exact, so every level must return the same value. */
#include "codec_f16.h"
#include "kernels_isa.h"
#include "vw_internal.h"

float vw_l2_f16_scalar(const float *q, const uint16_t *v, size_t dim) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++) {
            float d = q[i + j] - vw_f16_to_f32(v[i + j]);
            acc[j] += d * d;
        }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < dim; i++) {
        float d = q[i] - vw_f16_to_f32(v[i]);
        s += d * d;
    }
    return s;
}

float vw_dot_f16_scalar(const float *q, const uint16_t *v, size_t dim) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++)
            acc[j] += q[i + j] * vw_f16_to_f32(v[i + j]);
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < dim; i++)
        s += q[i] * vw_f16_to_f32(v[i]);
    return s;
}

uint32_t vw_l2_u8_scalar(const uint8_t *a, const uint8_t *b, size_t dim) {
    uint32_t s = 0;
    for (size_t i = 0; i < dim; i++) {
        int32_t d = (int32_t)a[i] - (int32_t)b[i];
        s += (uint32_t)(d * d);
    }
    return s;
}

float vw_dot_u8_scalar(const float *q, const uint8_t *c, size_t dim) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++)
            acc[j] += q[i + j] * (float)c[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < dim; i++)
        s += q[i] * (float)c[i];
    return s;
}

void vw_decode_i8r_scalar(const float *offset, float step, float part, const uint8_t *code,
                          const uint8_t *resid, size_t dim, float *out) {
    for (size_t i = 0; i < dim; i++) {
        int r = (int)((resid[i / 2] >> (4 * (i & 1))) & 15u) - 8;
        out[i] = offset[i] + step * (float)code[i] + part * (float)r;
    }
}

#define VW_LEVEL scalar
#include "distance_compact_batch.h"
