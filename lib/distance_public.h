/* distance_public.h - the entry points every SIMD kernel file exports, built
 * from its static l2_one/l2_four/dot_one/dot_four bodies. Included at the
 * end of distance_avx2.c and distance_avx512.c with VW_LEVEL set to the
 * suffix, so both levels expose the same functions in the same way. */
#ifndef VW_LEVEL
#error "define VW_LEVEL (avx2 or avx512) before including distance_public.h"
#endif

#define VW_CAT_(a, b) a##b
#define VW_CAT(a, b)  VW_CAT_(a, b)
#define VW_FN(name)   VW_CAT(name, VW_LEVEL)

float VW_FN(vw_l2sq_)(const float *a, const float *b, size_t dim) {
    return l2_one(b, a, dim);
}

float VW_FN(vw_dot_)(const float *a, const float *b, size_t dim) {
    return dot_one(b, a, dim);
}

float VW_FN(vw_ipdist_)(const float *a, const float *b, size_t dim) {
    return 1.0f - dot_one(b, a, dim);
}

/* Groups of four share each load of the query; the rest go one by one. */
void VW_FN(vw_l2sq_batch_)(const float *q, const float *base, size_t dim, const uint32_t *ids,
                           uint32_t n, float *out) {
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *v[4];
        for (int k = 0; k < 4; k++)
            v[k] = base + (size_t)ids[i + k] * dim;
        l2_four(q, v, dim, out + i);
    }
    for (; i < n; i++)
        out[i] = l2_one(q, base + (size_t)ids[i] * dim, dim);
}

void VW_FN(vw_ipdist_batch_)(const float *q, const float *base, size_t dim, const uint32_t *ids,
                             uint32_t n, float *out) {
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *v[4];
        for (int k = 0; k < 4; k++)
            v[k] = base + (size_t)ids[i + k] * dim;
        dot_four(q, v, dim, out + i);
        for (int k = 0; k < 4; k++)
            out[i + k] = 1.0f - out[i + k];
    }
    for (; i < n; i++)
        out[i] = 1.0f - dot_one(q, base + (size_t)ids[i] * dim, dim);
}

#undef VW_FN
#undef VW_CAT
#undef VW_CAT_
