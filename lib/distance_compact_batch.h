/* distance_compact_batch.h - the batch forms of the compact kernels of one
 * level: a loop over the single kernel, so a batch result is bit-identical
 * to the single one by construction. Included at the end of each
 * distance_compact_*.c with VW_LEVEL set to the level's suffix. (The rows
 * are 2 to 4 times smaller than float32 ones, so sharing query loads over
 * four rows, as the float32 batches do, buys little.) */
#ifndef VW_LEVEL
#error "define VW_LEVEL before including distance_compact_batch.h"
#endif

#define VW_CAT_(a, b) a##b
#define VW_CAT(a, b)  VW_CAT_(a, b)
#define VW_FN(name)   VW_CAT(name, VW_LEVEL)

void VW_FN(vw_l2_f16_batch_)(const float *q, const uint16_t *base, size_t dim, const uint32_t *ids,
                             uint32_t n, float *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = VW_FN(vw_l2_f16_)(q, base + (size_t)ids[i] * dim, dim);
}

void VW_FN(vw_dot_f16_batch_)(const float *q, const uint16_t *base, size_t dim, const uint32_t *ids,
                              uint32_t n, float *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = VW_FN(vw_dot_f16_)(q, base + (size_t)ids[i] * dim, dim);
}

/* A level may define its own (VW_OWN_L2_U8_BATCH): the graph walk's
 * kernel for i8 rows, where sharing the query over rows pays. */
#ifndef VW_OWN_L2_U8_BATCH
void VW_FN(vw_l2_u8_batch_)(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                            uint32_t n, uint32_t *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = VW_FN(vw_l2_u8_)(q, base + (size_t)ids[i] * dim, dim);
}
#endif

void VW_FN(vw_dot_u8_batch_)(const float *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                             uint32_t n, float *out) {
    for (uint32_t i = 0; i < n; i++)
        out[i] = VW_FN(vw_dot_u8_)(q, base + (size_t)ids[i] * dim, dim);
}

#undef VW_FN
#undef VW_CAT
#undef VW_CAT_
