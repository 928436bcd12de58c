/* The i8 codec: 8-bit scalar quantization with a per-dimension offset and
 * one step shared by all dimensions.
 *
 * Component i of a vector is stored as the code c = round((x - offset[i]) /
 * step), clamped to 0..255, and decodes to offset[i] + step * c. Training
 * takes per-dimension minimum and maximum over a sample; offset[i] is the
 * minimum and step the largest range divided by 255. Sharing the step is
 * what makes the squared distance between two code rows an exact integer,
 * step^2 * sum (a_i - b_i)^2 (the offsets cancel), which the integer
 * kernels compute with vpmaddwd / VNNI. A per-dimension step (Faiss's
 * QT_8bit) would weight each term and force float arithmetic; measured by
 * brute force (bench/codec_study.py, bench/RESULTS.md), it found 0.01-0.02
 * more of the true top 10 without re-ranking on data with unequal
 * dimensions, and the same with re-ranking, which is the default.
 *
 * When every training value is an integer and every dimension's range spans
 * at most 256 values (uint8 descriptors such as SIFT), the step is 1 and the
 * offsets integers: codes are then the values themselves, lossless.
 *
 * A vector outside the trained range is clamped: the codes saturate at 0 or
 * 255. The float32 copy (when kept) is untouched, so re-ranking still gives
 * its exact distance; only the graph walk sees the clamped codes.
 *
 * The 4-bit residual (VW_PARAMS_RESIDUAL) stores what a code left out, in
 * fifteenths of a step: r = round((x - decoded) / (step / 15)), clamped to
 * -8..7 and kept as r + 8 in a nibble (component 2j in the low nibble of
 * byte j, 2j + 1 in the high one). Inside the trained range |x - decoded| <=
 * step / 2, so |r| <= 7.5 and the refined value is within step / 30 of x:
 * the precision of 12-bit codes for an eighth of the bytes of float32.
 * Fifteenths, not sixteenths, keep the rounding inside the nibble. The
 * refined decode is a dispatched kernel (decode_i8r, distance_compact_*.c):
 * the re-rank decodes a few dozen rows per search. */
#include "vw_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

vw_status vw_i8_check(const float *offset, float step, uint32_t dim, bool residual) {
    /* A subnormal step has no finite reciprocal: encoding would multiply by
     * infinity and turn a zero difference into NaN. */
    if (!isnormal(step) || !(step > 0))
        return vw_fail(VW_ERR_CORRUPT, "i8 codec: step %g is not a positive normal number",
                       (double)step);
    double norm2 = 0;
    for (uint32_t i = 0; i < dim; i++) {
        if (!isfinite(offset[i]))
            return vw_fail(VW_ERR_CORRUPT, "i8 codec: offset %u is not finite", i);
        /* the largest decoded magnitude in this dimension; a residual
         * reaches 8/15 of a step beyond either end */
        double m = fabs((double)offset[i]) + (residual ? 256.0 : 255.0) * step;
        norm2 += m * m;
    }
    if (norm2 > VW_MAX_NORM2)
        return vw_fail(VW_ERR_NONFINITE, "i8 codec: decoded vectors could reach squared norm %.3g",
                       norm2);
    return VW_OK;
}

static bool is_integer(float x) {
    return x == floorf(x);
}

/* Widens lo/hi (and clears *integers) over n rows; each row normalized
 * first into `row` when it is not NULL. */
static void sample_range(const float *v, uint64_t n, uint32_t dim, float *row, float *lo, float *hi,
                         bool *integers) {
    for (uint64_t r = 0; r < n; r++) {
        const float *x = v + r * dim;
        if (row) { /* one row at a time: no copy of the sample */
            memcpy(row, x, (size_t)dim * sizeof *row);
            vw_normalize(row, dim); /* checked non-zero and finite by the caller */
            x = row;
        }
        for (uint32_t i = 0; i < dim; i++) {
            lo[i] = x[i] < lo[i] ? x[i] : lo[i];
            hi[i] = x[i] > hi[i] ? x[i] : hi[i];
            *integers = *integers && is_integer(x[i]);
        }
    }
}

/* A sample of one vector (or of copies of one) gives every dimension a
 * zero range: a codec that can store that vector and clamps every other
 * one onto a corner of it. Refused rather than trained in silence. */
static bool all_equal(const float *lo, const float *hi, uint32_t dim) {
    for (uint32_t i = 0; i < dim; i++)
        if (hi[i] > lo[i])
            return false;
    return true;
}

/* The step for the ranges hi - lo: see the top of this file. */
static float choose_step(const float *lo, const float *hi, uint32_t dim, bool integers) {
    double range = 0;
    for (uint32_t i = 0; i < dim; i++)
        range = (double)hi[i] - lo[i] > range ? (double)hi[i] - lo[i] : range;
    if (integers && range <= 255)
        return 1.0f; /* lossless */
    if (!(range > 0))
        return 1.0f; /* all equal: any step decodes them */
    /* Ranges below 255 * FLT_MIN would give a subnormal step; the smallest
     * normal one loses nothing that float32 distances could tell apart. */
    double step = range / 255.0;
    return step < FLT_MIN ? FLT_MIN : (float)step;
}

vw_status vw_i8_train(vw_codec_i8 *c, uint32_t dim, const float *v, uint64_t n, bool normalize,
                      bool residual) {
    if (n == 0)
        return vw_fail(VW_ERR_INVALID_ARG, "i8 training needs at least one vector");
    bool widen = c->trained && c->hi != NULL;
    float *lo = malloc((size_t)dim * sizeof *lo), *hi = malloc((size_t)dim * sizeof *hi);
    float *row = normalize ? malloc((size_t)dim * sizeof *row) : NULL;
    if (!lo || !hi || (normalize && !row)) {
        free(lo);
        free(hi);
        free(row);
        return vw_fail(VW_ERR_NOMEM, "i8 training buffers");
    }
    for (uint32_t i = 0; i < dim; i++) {
        lo[i] = widen ? c->offset[i] : INFINITY;
        hi[i] = widen ? c->hi[i] : -INFINITY;
    }
    bool integers = widen ? c->integers : true;
    sample_range(v, n, dim, row, lo, hi, &integers);
    free(row);
    float step = choose_step(lo, hi, dim, integers);
    vw_status st = all_equal(lo, hi, dim)
                       ? vw_fail(VW_ERR_INVALID_ARG,
                                 "i8 training on %llu vector(s) that are all the same: every "
                                 "vector not equal to it would be stored as its nearest copy; "
                                 "train on a sample of the data (vw_index_train) or use f16",
                                 (unsigned long long)n)
                       : vw_i8_check(lo, step, dim, residual);
    if (st != VW_OK) {
        free(lo);
        free(hi);
        return st;
    }
    if (c->owned)
        free(c->offset);
    free(c->hi);
    *c = (vw_codec_i8){lo, step, true, true, hi, integers};
    return VW_OK;
}

void vw_i8_fix(vw_codec_i8 *c) {
    free(c->hi);
    c->hi = NULL;
}

void vw_i8_encode(const vw_codec_i8 *c, uint32_t dim, const float *v, uint8_t *out) {
    float inv = 1.0f / c->step;
    for (uint32_t i = 0; i < dim; i++) {
        float t = (v[i] - c->offset[i]) * inv; /* inv is exactly 1 for step 1 */
        t = floorf(t + 0.5f);
        out[i] = (uint8_t)(t > 255 ? 255 : t >= 0 ? t : 0); /* NaN (never expected) gives 0 */
    }
}

void vw_i8_decode(const vw_codec_i8 *c, uint32_t dim, const uint8_t *code, float *out) {
    for (uint32_t i = 0; i < dim; i++)
        out[i] = c->offset[i] + c->step * (float)code[i];
}

/* Fifteenths of a step: see the top of the file. */
#define RESIDUAL_PARTS 15.0f

size_t vw_i8_residual_size(uint32_t dim) {
    return ((size_t)dim + 1) / 2;
}

void vw_i8_encode_residual(const vw_codec_i8 *c, uint32_t dim, const float *v, const uint8_t *code,
                           uint8_t *out) {
    float inv = RESIDUAL_PARTS / c->step;
    memset(out, 0, vw_i8_residual_size(dim));
    for (uint32_t i = 0; i < dim; i++) {
        float decoded = c->offset[i] + c->step * (float)code[i];
        float t = floorf((v[i] - decoded) * inv + 0.5f);
        t = t > 7 ? 7 : t >= -8 ? t : -8; /* NaN (never expected) gives -8 */
        out[i / 2] |= (uint8_t)((unsigned)(t + 8) << (4 * (i & 1)));
    }
}

float vw_i8_residual_part(const vw_codec_i8 *c) {
    return c->step / RESIDUAL_PARTS;
}
