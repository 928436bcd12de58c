/* storage.h - how rows are stored and compared (storage.c); included by
 * vw_internal.h after struct vw_index, which its inline functions read. */
#ifndef VW_STORAGE_H
#define VW_STORAGE_H

#include "vw_internal.h"

/* ------------------------------------------------------------------ vector storage
 *
 * All access to stored vectors goes through these functions (storage.c), so
 * that the graph code never depends on how rows are encoded. */

/* The row searches walk for node id (code_size bytes). */
static inline const unsigned char *vw_code(const vw_index *ix, uint32_t id) {
    return ix->codes + (size_t)id * ix->code_size;
}

/* The float32 row of node id, or NULL when the index keeps none. */
static inline const float *vw_exact(const vw_index *ix, uint32_t id) {
    if (ix->storage == VW_STORAGE_F32)
        return (const float *)(const void *)vw_code(ix, id);
    return ix->exact ? ix->exact + (size_t)id * ix->dim : NULL;
}

/* The residual row of node id, or NULL when the index keeps none. */
static inline const uint8_t *vw_resid(const vw_index *ix, uint32_t id) {
    return ix->resid ? ix->resid + (size_t)id * ix->resid_size : NULL;
}

/* A query made ready for distances to stored rows: f32 and f16 rows take
 * the float32 query; i8 rows take its codes (L2, cosine) or the float32
 * query plus aux = <query, offsets> (inner product). */
typedef struct vw_query {
    const void *p;
    float aux;
} vw_query;

/* Bytes per row of the codes array for a storage kind and dimension. */
size_t vw_code_size(vw_storage storage, uint32_t dim);
/* Checks that v (already normalized for cosine) can be stored: f16 rows
 * cannot hold components beyond +-65504. */
vw_status vw_check_storable(const vw_index *ix, const float *v);
/* Trains the i8 codec from n rows (normalized one by one for cosine). */
vw_status vw_storage_train(vw_index *ix, const float *v, uint64_t n);
/* Writes node id's row(s) from v (normalized for cosine already). */
void vw_store_row(vw_index *ix, uint32_t id, const float *v);
/* Node id as float32: the exact row, or the decoded codes. */
void vw_fetch(const vw_index *ix, uint32_t id, float *out);
/* Prepares query q (dim floats, normalized for cosine) into buf (at least
 * dim floats of room). */
vw_query vw_prepare_query(const vw_index *ix, const float *q, float *buf);
/* Prepares stored node id as a query, using buf (dim floats) if needed. */
vw_query vw_prepare_node(const vw_index *ix, uint32_t id, float *buf);
/* Distance from a prepared query to node id, and to n nodes at once. */
float vw_qdist(const vw_index *ix, const vw_query *q, uint32_t id);
void vw_qdist_batch(const vw_index *ix, const vw_query *q, const uint32_t *ids, uint32_t n,
                    float *out);
/* True if searches re-score candidates with float32 or decoded rows. */
bool vw_rescores(const vw_index *ix);
/* Distance between float32 query q and node id for the final order: exact
 * with float32 rows, else from the decoded row (buf: dim floats). */
float vw_final_dist(const vw_index *ix, const float *q, uint32_t id, float *buf);
/* Heap bytes of the codec (stats). */
uint64_t vw_storage_codec_bytes(const vw_index *ix);
void vw_storage_free(vw_index *ix);

#endif /* VW_STORAGE_H */
