/* graph.h - building and walking the graph: insert.c, search.c, reorder.c,
 * compact.c; included by vw_internal.h after struct vw_index. */
#ifndef VW_GRAPH_H
#define VW_GRAPH_H

#include "vw_internal.h"

/* search.c */
typedef struct vw_layer_query {
    const vw_query *q;
    uint32_t ef;
    unsigned level;
    bool locked;         /* take node locks when reading lists (during batch inserts) */
    bool skip_dead;      /* dead nodes are traversed but not kept as results */
    vw_filter_fn filter; /* layer 0 of a public search only */
    void *filter_ctx;
    const struct vw_where *where; /* an attribute filter (attrs.h); layer 0 only */
} vw_layer_query;

/* Greedy descent with beam 1 from `ep` through layers top..stop+1; returns the closest node. */
uint32_t vw_greedy_descend(const vw_index *ix, const vw_query *q, uint32_t ep, int top, int stop,
                           bool locked);
/* Beam search in one layer from `ep`; leaves up to ef results in s->result (max-heap). */
vw_status vw_search_layer(const vw_index *ix, vw_scratch *s, const vw_layer_query *lq, uint32_t ep);

/* insert.c */
/* Places a live node in the next slot (a free one, else id = count):
 * stores the vector in the index's storage kind (normalized for the cosine
 * metric, in `tmp`, dim floats of scratch; the caller checked it with
 * vw_check_vector, and that the label is new), sets its label and the given
 * level, gives it empty lists. The caller owns the index or holds the writer
 * lock, and reserved room (vw_index_reserve). An import fills the lists
 * through vw_links (inserts place and link through insert.c's own path). */
vw_status vw_node_place(vw_index *ix, const float *v, uint64_t label, unsigned level, float *tmp,
                        uint32_t *out_id);

/* Algorithm 4 of the paper (the neighbour heuristic) over candidates sorted
 * by distance to `base`'s vector: keeps at most `max`, compacted to the
 * front; returns how many. */
uint32_t vw_select_neighbours(const vw_index *ix, vw_scratch *s, vw_cand *c, uint32_t n,
                              uint32_t max);
/* Sorts candidates nearest first (ties: smaller id first). */
void vw_cand_sort(vw_cand *c, uint32_t n);
/* VW_ERR_DUPLICATE_LABEL if a label appears twice among n. */
vw_status vw_check_unique_labels(const uint64_t *labels, uint64_t n);
/* Whether `ix` can store v as it is given: everything an insert or upsert
 * checks of a vector (finite, a norm distances can hold or, for cosine, one
 * it can normalize, the storage kind's range). Reads only what never changes
 * after creation (dim, metric, storage), so it needs no lock; the store
 * calls it before it logs a write, so that a logged write can be applied. */
vw_status vw_check_insertable(const vw_index *ix, const float *v);
/* Adds `id` to the list of `nb` at `level`, pruning with the heuristic when
 * the list is full (node lock of nb taken; uses s->sel). */
void vw_add_backlink(vw_index *ix, vw_scratch *s, uint32_t nb, uint32_t id, unsigned level);
/* The layer-0 neighbours an insert of node id's vector would choose (an
 * ef_construction search from the entry point, then the heuristic), at most
 * max (<= M0) of them, then the nearest of the others until there are
 * `fill`, into out; live nodes only, and with `only` (a byte per node) only
 * nodes marked there. Returns how many (0 if id is the entry point or
 * nothing was found); *diverse (if not NULL) gets how many of them, at the
 * front, the heuristic chose. With `own`, the live members of id's list are
 * candidates too. Single writer, no batch; s fits ef_construction. */
uint32_t vw_choose_again(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only, bool own,
                         uint32_t max, uint32_t fill, uint32_t *out, uint32_t *diverse);
/* Links the layer-0 neighbours an insert of node id's vector would choose
 * back to id (which must be in the graph); the node locks must exist.
 * With `only` (a byte per node), only nodes marked there are chosen.
 * Writes them to `chosen` (room for VW_MAX_M), nearest first, and returns
 * how many: the heuristic may have pruned id from every list again, and the
 * caller can insist. */
uint32_t vw_relink(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only, uint32_t *chosen);

/* reorder.c */
/* Breadth-first numbering of the nodes (see reorder.c): order[new] = old,
 * rank[old] = new, each of ix->count entries; free slots rank last. */
void vw_bfs_order(const vw_index *ix, uint32_t *order, uint32_t *rank);

/* compact.c */
/* When a quarter of the slots are empty and no purge pass is under way:
 * renumbers the nodes into new arrays without the empty slots while
 * searches go on (only the swap holds them off). Writer lock held, no
 * batch running; called at the end of a purge pass. Out of memory, the
 * index stays as it is. */
void vw_compact_if_due(vw_index *ix);

#endif /* VW_GRAPH_H */
