/* kernels.h - the distance kernels of every SIMD level, picked once (distance.c),
 * and the check every stored vector and query passes. */
#ifndef VW_KERNELS_H
#define VW_KERNELS_H

#include "vwhnsw.h"

#include <float.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ kernels */

typedef float (*vw_dist_fn)(const float *a, const float *b, size_t dim);
/* Distances from q to the rows ids[0..n) of base, into out; one indirect call
 * per expanded node instead of one per neighbour, and bit-identical to the
 * single kernel of the same level. */
typedef void (*vw_dist_batch_fn)(const float *q, const float *base, size_t dim, const uint32_t *ids,
                                 uint32_t n, float *out);

/* Compact rows. f16: a float32 query against binary16 rows (F16C
 * conversion, FMA). u8: the integer squared distance between two code rows
 * (exact, so every level gives the same value), and the float32 query dot
 * uint8 codes (the inner-product metric). Batches as above. */
typedef float (*vw_f16_fn)(const float *q, const uint16_t *v, size_t dim);
typedef void (*vw_f16_batch_fn)(const float *q, const uint16_t *base, size_t dim,
                                const uint32_t *ids, uint32_t n, float *out);
typedef uint32_t (*vw_u8_fn)(const uint8_t *a, const uint8_t *b, size_t dim);
typedef void (*vw_u8_batch_fn)(const uint8_t *q, const uint8_t *base, size_t dim,
                               const uint32_t *ids, uint32_t n, uint32_t *out);
typedef float (*vw_u8f_fn)(const float *q, const uint8_t *c, size_t dim);
typedef void (*vw_u8f_batch_fn)(const float *q, const uint8_t *base, size_t dim,
                                const uint32_t *ids, uint32_t n, float *out);

/* An i8 row refined by its 4-bit residual (codec_i8.c), decoded for the
 * re-rank: out[i] = (offset[i] + step * code[i]) + part * (nibble_i - 8),
 * every product and sum rounded on its own (no FMA), so that every level
 * gives the scalar kernel's bits. */
typedef void (*vw_i8r_decode_fn)(const float *offset, float step, float part, const uint8_t *code,
                                 const uint8_t *resid, size_t dim, float *out);

typedef struct vw_kernels {
    vw_dist_fn l2sq;
    vw_dist_fn dot;
    vw_dist_fn ipdist; /* 1 - dot: the distance of the IP and cosine metrics */
    vw_dist_batch_fn l2sq_batch;
    vw_dist_batch_fn ipdist_batch;
    vw_f16_fn l2_f16;
    vw_f16_fn dot_f16;
    vw_f16_batch_fn l2_f16_batch;
    vw_f16_batch_fn dot_f16_batch;
    vw_u8_fn l2_u8;
    vw_u8_batch_fn l2_u8_batch;
    vw_u8f_fn dot_u8;
    vw_u8f_batch_fn dot_u8_batch;
    vw_i8r_decode_fn decode_i8r;
} vw_kernels;

/* The kernels for one level; the level must be supported (vw_simd_supported). */
const vw_kernels *vw_kernels_for(vw_simd_level level);
/* The kernels picked once at first use (CPUID, overridden by VW_SIMD). */
const vw_kernels *vw_kernels_active(void);

/* Checks a stored vector or query: every component finite and the squared
 * norm small enough that no distance can overflow; else VW_ERR_NONFINITE
 * with a detail. On success *norm2 (if not NULL) is the squared norm,
 * summed in double. */
vw_status vw_check_vector(const float *v, uint32_t dim, double *norm2);
/* A cosine vector (row or query) is normalized before any distance, so its
 * size does not matter: VW_OK for any finite vector that is not zero,
 * VW_ERR_NONFINITE or VW_ERR_ZERO_VECTOR otherwise (distance.c). */
vw_status vw_check_direction(const float *v, uint32_t dim);

/* Largest squared norm a stored vector or query may have (see distance.c). */
#define VW_MAX_NORM2 ((double)FLT_MAX / 4)

#endif /* VW_KERNELS_H */
