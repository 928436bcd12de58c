/* Portable kernels. Eight independent accumulators break the dependency
 * chain of a single sum, so even baseline x86-64 (SSE2) code keeps several
 * additions in flight and the compiler can vectorize the body. */
#include "kernels_isa.h"
#include "vw_internal.h"

float vw_l2sq_scalar(const float *a, const float *b, size_t dim) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++) {
            float d = a[i + j] - b[i + j];
            acc[j] += d * d;
        }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < dim; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

float vw_dot_scalar(const float *a, const float *b, size_t dim) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

/* 1 - <a,b> in the same file so the dot kernel inlines into it. */
float vw_ipdist_scalar(const float *a, const float *b, size_t dim) {
    return 1.0f - vw_dot_scalar(a, b, dim);
}

void vw_l2sq_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = vw_l2sq_scalar(q, base + (size_t)ids[i] * dim, dim);
}

void vw_ipdist_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                            uint32_t n, float *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = vw_ipdist_scalar(q, base + (size_t)ids[i] * dim, dim);
}
