/* codec_i8.h - the i8 codec (codec_i8.c); codec_f16.h has the f16 one. */
#ifndef VW_CODEC_I8_H
#define VW_CODEC_I8_H

#include "vwhnsw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ codecs */

/* The i8 codec (codec_i8.c): value i of a row is offset[i] + step * code. */
typedef struct vw_codec_i8 {
    float *offset; /* dim values; NULL until trained */
    float step;
    bool trained;
    bool owned; /* offset is a heap block (not in a mapped file) */
    /* While training may still widen the codec (trained here, nothing
     * encoded yet): the per-dimension maxima seen, and whether every value
     * seen was an integer. NULL once fixed (after an insert, or loaded). */
    float *hi;
    bool integers;
} vw_codec_i8;

/* Per-dimension min/max of n rows of dim floats (each normalized first if
 * asked), then the codec: one step for all dimensions, the largest range /
 * 255, or 1 when every value is an integer and every range fits in 256
 * values. A codec trained before (and not fixed) widens to cover the new
 * rows as well: training on a file's chunks one after another gives the
 * codec training on the whole file gives. */
vw_status vw_i8_train(vw_codec_i8 *c, uint32_t dim, const float *v, uint64_t n, bool normalize,
                      bool residual);
/* Checks trained parameters (from a file or training) so that decoded rows
 * are finite and no distance between them can overflow (with a 4-bit
 * residual added, when `residual`). */
vw_status vw_i8_check(const float *offset, float step, uint32_t dim, bool residual);
/* Ends training: the codec no longer widens (called before the first encode). */
void vw_i8_fix(vw_codec_i8 *c);
void vw_i8_encode(const vw_codec_i8 *c, uint32_t dim, const float *v, uint8_t *out);
void vw_i8_decode(const vw_codec_i8 *c, uint32_t dim, const uint8_t *code, float *out);
/* The 4-bit residual (VW_PARAMS_RESIDUAL): bytes per row and the residual
 * of v given its codes; the refined decode is the decode_i8r kernel. */
size_t vw_i8_residual_size(uint32_t dim);
/* The value of one residual step: step / 15. */
float vw_i8_residual_part(const vw_codec_i8 *c);
void vw_i8_encode_residual(const vw_codec_i8 *c, uint32_t dim, const float *v, const uint8_t *code,
                           uint8_t *out);

#endif /* VW_CODEC_I8_H */
