/* Vector storage: how rows are encoded, and distances from a query to them.
 *
 * An index walks its graph on `codes`: float32 rows (f32), binary16 rows
 * (f16) or uint8 codes (i8, codec_i8.c). Compact kinds may also keep the
 * float32 rows in `exact`, a separate array (and file section) that is read
 * only to re-rank the best candidates of a search, so an mmap-loaded index
 * touches those pages only for the few rows it re-ranks.
 *
 * Distances on codes:
 *   f16: the float32 query against each row, converted on the fly;
 *   i8, L2: the query is quantized with the index's codec and the integer
 *        sum of squared code differences, times step^2, is the distance;
 *   i8, cosine: vectors are unit length, so 1 - <a,b> = |a - b|^2 / 2: the
 *        same integer kernel, times step^2 / 2;
 *   i8, inner product: the float32 query dot the codes, times step, plus
 *        <query, offsets>: 1 - <q, offset + step * c>.
 * An i8 index without float32 may keep a 4-bit residual per component
 * (`resid`, codec_i8.c): the re-rank and vw_fetch decode with it, the graph
 * walk never reads it.
 * A stored node used as a query (inserts compare nodes with each other) is
 * decoded to float32 for f16 and i8 inner product, and used as it is for
 * i8 L2 and cosine. Every function here is what the graph code calls: it
 * never looks at the rows itself. */
#include "codec_f16.h"
#include "vw_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t vw_code_size(vw_storage storage, uint32_t dim) {
    switch (storage) {
    case VW_STORAGE_F16:
        return (size_t)dim * sizeof(uint16_t);
    case VW_STORAGE_I8:
        return dim;
    default:
        return (size_t)dim * sizeof(float);
    }
}

/* Without float32 rows an f16 row is all that is kept: a vector whose every
 * component is below f16's smallest subnormal (about 6e-8) would be stored
 * as the zero vector, so it is refused rather than lost. */
vw_status vw_check_storable(const vw_index *ix, const float *v) {
    if (ix->storage != VW_STORAGE_F16)
        return VW_OK;
    bool nonzero = false, kept = false;
    for (uint32_t i = 0; i < ix->dim; i++) {
        if (fabsf(v[i]) > VW_F16_MAX)
            return vw_fail(VW_ERR_NONFINITE, "component %u (%g) is beyond the f16 range +-65504", i,
                           (double)v[i]);
        nonzero = nonzero || v[i] != 0;
        kept = kept || (vw_f32_to_f16(v[i]) & 0x7fffu) != 0;
    }
    if (nonzero && !kept && (ix->flags & VW_PARAMS_NO_FLOAT32))
        return vw_fail(VW_ERR_INVALID_ARG,
                       "every component is below f16's smallest value (6e-8): the vector would "
                       "be stored as zero; keep the float32 rows or scale the vectors");
    return VW_OK;
}

vw_status vw_storage_train(vw_index *ix, const float *v, uint64_t n) {
    return vw_i8_train(&ix->i8, ix->dim, v, n, ix->metric == VW_METRIC_COSINE, ix->resid_size != 0);
}

void vw_store_row(vw_index *ix, uint32_t id, const float *v) {
    unsigned char *row = ix->codes + (size_t)id * ix->code_size;
    switch (ix->storage) {
    case VW_STORAGE_F32:
        memcpy(row, v, ix->code_size);
        return;
    case VW_STORAGE_F16: {
        uint16_t *h = (uint16_t *)(void *)row;
        for (uint32_t i = 0; i < ix->dim; i++)
            h[i] = vw_f32_to_f16(v[i]);
        break;
    }
    case VW_STORAGE_I8:
        if (ix->i8.hi)
            vw_i8_fix(&ix->i8); /* rows encoded from now on: the codec may not change */
        vw_i8_encode(&ix->i8, ix->dim, v, row);
        if (ix->resid)
            vw_i8_encode_residual(&ix->i8, ix->dim, v, row,
                                  ix->resid + (size_t)id * ix->resid_size);
        break;
    }
    if (ix->exact)
        memcpy(ix->exact + (size_t)id * ix->dim, v, (size_t)ix->dim * sizeof(float));
}

static void decode(const vw_index *ix, uint32_t id, float *out) {
    const unsigned char *row = vw_code(ix, id);
    if (ix->storage == VW_STORAGE_F16) {
        const uint16_t *h = (const uint16_t *)(const void *)row;
        for (uint32_t i = 0; i < ix->dim; i++)
            out[i] = vw_f16_to_f32(h[i]);
    } else if (ix->resid) {
        ix->kernels->decode_i8r(ix->i8.offset, ix->i8.step, vw_i8_residual_part(&ix->i8), row,
                                vw_resid(ix, id), ix->dim, out);
    } else {
        vw_i8_decode(&ix->i8, ix->dim, row, out);
    }
}

void vw_fetch(const vw_index *ix, uint32_t id, float *out) {
    const float *x = vw_exact(ix, id);
    if (x)
        memcpy(out, x, (size_t)ix->dim * sizeof *out);
    else
        decode(ix, id, out);
}

/* <q, offsets>: the constant part of an i8 inner product. */
static float offset_dot(const vw_index *ix, const float *q) {
    return ix->kernels->dot(q, ix->i8.offset, ix->dim);
}

vw_query vw_prepare_query(const vw_index *ix, const float *q, float *buf) {
    if (ix->storage != VW_STORAGE_I8)
        return (vw_query){q, 0};
    if (ix->metric == VW_METRIC_IP)
        return (vw_query){q, offset_dot(ix, q)};
    vw_i8_encode(&ix->i8, ix->dim, q, (uint8_t *)(void *)buf);
    return (vw_query){buf, 0};
}

vw_query vw_prepare_node(const vw_index *ix, uint32_t id, float *buf) {
    switch (ix->storage) {
    case VW_STORAGE_F32:
        return (vw_query){vw_code(ix, id), 0};
    case VW_STORAGE_F16:
        decode(ix, id, buf);
        return (vw_query){buf, 0};
    case VW_STORAGE_I8:
        break;
    }
    if (ix->metric != VW_METRIC_IP)
        return (vw_query){vw_code(ix, id), 0};
    decode(ix, id, buf);
    return (vw_query){buf, offset_dot(ix, buf)};
}

/* The factor turning an integer code distance into the metric's distance. */
static float i8_scale(const vw_index *ix) {
    float s2 = ix->i8.step * ix->i8.step;
    return ix->metric == VW_METRIC_COSINE ? s2 * 0.5f : s2;
}

float vw_qdist(const vw_index *ix, const vw_query *q, uint32_t id) {
    const vw_kernels *k = ix->kernels;
    const unsigned char *row = vw_code(ix, id);
    switch (ix->storage) {
    case VW_STORAGE_F32:
        return ix->dist(q->p, (const float *)(const void *)row, ix->dim);
    case VW_STORAGE_F16: {
        const uint16_t *h = (const uint16_t *)(const void *)row;
        return ix->metric == VW_METRIC_L2 ? k->l2_f16(q->p, h, ix->dim)
                                          : 1.0f - k->dot_f16(q->p, h, ix->dim);
    }
    case VW_STORAGE_I8:
        break;
    }
    if (ix->metric == VW_METRIC_IP)
        return 1.0f - (q->aux + ix->i8.step * k->dot_u8(q->p, row, ix->dim));
    return i8_scale(ix) * (float)k->l2_u8(q->p, row, ix->dim);
}

void vw_qdist_batch(const vw_index *ix, const vw_query *q, const uint32_t *ids, uint32_t n,
                    float *out) {
    const vw_kernels *k = ix->kernels;
    switch (ix->storage) {
    case VW_STORAGE_F32:
        ix->dist_batch(q->p, (const float *)(const void *)ix->codes, ix->dim, ids, n, out);
        return;
    case VW_STORAGE_F16: {
        const uint16_t *base = (const uint16_t *)(const void *)ix->codes;
        if (ix->metric == VW_METRIC_L2) {
            k->l2_f16_batch(q->p, base, ix->dim, ids, n, out);
            return;
        }
        k->dot_f16_batch(q->p, base, ix->dim, ids, n, out);
        for (uint32_t i = 0; i < n; i++)
            out[i] = 1.0f - out[i];
        return;
    }
    case VW_STORAGE_I8:
        break;
    }
    if (ix->metric == VW_METRIC_IP) {
        k->dot_u8_batch(q->p, ix->codes, ix->dim, ids, n, out);
        for (uint32_t i = 0; i < n; i++)
            out[i] = 1.0f - (q->aux + ix->i8.step * out[i]);
        return;
    }
    uint32_t raw[2 * VW_MAX_M];
    float scale = i8_scale(ix);
    for (uint32_t done = 0; done < n;) {
        uint32_t chunk = n - done < 2 * VW_MAX_M ? n - done : 2 * VW_MAX_M;
        k->l2_u8_batch(q->p, ix->codes, ix->dim, ids + done, chunk, raw);
        for (uint32_t i = 0; i < chunk; i++)
            out[done + i] = scale * (float)raw[i];
        done += chunk;
    }
}

bool vw_rescores(const vw_index *ix) {
    /* f16 without float32: its code distance already is the float32 query
     * against the decoded row, so there is nothing better to re-score with */
    if (ix->storage == VW_STORAGE_F32)
        return false;
    return ix->exact != NULL || ix->storage == VW_STORAGE_I8;
}

float vw_final_dist(const vw_index *ix, const float *q, uint32_t id, float *buf) {
    const float *x = vw_exact(ix, id);
    if (!x) {
        decode(ix, id, buf);
        x = buf;
    }
    return ix->dist(q, x, ix->dim);
}

uint64_t vw_storage_codec_bytes(const vw_index *ix) {
    return ix->i8.owned ? (uint64_t)ix->dim * sizeof(float) : 0;
}

void vw_storage_free(vw_index *ix) {
    if (ix->i8.owned)
        free(ix->i8.offset);
    free(ix->i8.hi);
    ix->i8 = (vw_codec_i8){0};
}
