/* labelmap.h - label -> internal id (labelmap.c). */
#ifndef VW_LABELMAP_H
#define VW_LABELMAP_H

#include "vwhnsw.h"

#include <stdint.h>

/* ------------------------------------------------------------------ label map */

/* Label -> internal id of the live node holding it (labelmap.c): the
 * identity while labels[id] == id, an inverse array while the labels are
 * small integers (0..n-1 in any order, with holes once some are removed), a
 * hash table otherwise. Only writers use it (under the writer lock), or the
 * loader, which owns the index. */
typedef enum vw_map_mode { VW_MAP_IDENTITY, VW_MAP_INVERSE, VW_MAP_HASH } vw_map_mode;

typedef struct vw_labelmap {
    vw_map_mode mode;
    uint32_t *slots;  /* inverse: id of each label, VW_NO_NODE if absent; hash: id + 1, 0 = empty */
    uint64_t inv_cap; /* inverse: entries allocated */
    uint64_t mask;    /* hash: slot count - 1 (a power of two) */
    uint64_t used;    /* identity: labels 0..used-1; inverse: labels < used may be
                       * present; hash: labels in the map */
} vw_labelmap;

void vw_labelmap_init(vw_labelmap *m);
/* Makes room for n labels (hash: at load factor <= 1/2). */
vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t n);
/* VW_NO_NODE if absent. */
uint32_t vw_labelmap_find(const vw_labelmap *m, const uint64_t *labels, uint64_t label);
/* Adds id, whose label labels[id] is absent from the map. May change mode,
 * sized for `capacity` labels; VW_ERR_NOMEM then, with the map unchanged. */
vw_status vw_labelmap_insert(vw_labelmap *m, const uint64_t *labels, uint32_t id,
                             uint64_t capacity);
/* Points a present label at another id (labels[id] == label). */
vw_status vw_labelmap_set(vw_labelmap *m, const uint64_t *labels, uint64_t label, uint32_t id,
                          uint64_t capacity);
/* Removes a present label. VW_ERR_NOMEM (map unchanged) if the identity
 * mode must become an inverse array first. */
vw_status vw_labelmap_remove(vw_labelmap *m, const uint64_t *labels, uint64_t label,
                             uint64_t capacity);
/* Rebuilds the map from labels[0..n) of the ids whose byte in `skip` is 0
 * (skip may be NULL: every id); VW_ERR_CORRUPT on a repeated label. */
vw_status vw_labelmap_build(vw_labelmap *m, const uint64_t *labels, const uint8_t *skip,
                            uint64_t n);
/* Builds the map of an index about to be renumbered: labels[i] (unique)
 * will sit at id rank[i] for the `live` ids i among n that are mapped:
 * those whose byte in `skip` is 0, or without skip, those with
 * rank[i] < live. Room for `capacity` labels. */
vw_status vw_labelmap_build_permuted(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank,
                                     const uint8_t *skip, uint64_t n, uint64_t live,
                                     uint64_t capacity);
void vw_labelmap_free(vw_labelmap *m);
uint64_t vw_labelmap_bytes(const vw_labelmap *m);

#endif /* VW_LABELMAP_H */
