/* scratch.h - per-search buffers (scratch.c) and the epochs searches announce
 * in them (epoch.c). */
#ifndef VW_SCRATCH_H
#define VW_SCRATCH_H

#include "heap.h"
#include "vw_assert.h"
#include "vwhnsw.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------ scratch */

/* Per-search buffers. The visited set is a bitset (1M nodes: 128 KB, which
 * stays in L2 beside the vectors a search streams through, where an array
 * of 16-bit epochs took 2 MB); `touched` lists its non-zero words so that
 * clearing it costs the words a search touched, not the index size. */
typedef struct vw_scratch {
    uint64_t *visited;
    uint32_t *touched;
    uint64_t visited_words; /* capacity of both, in words */
    uint64_t ntouched;
    vw_heap cand;   /* min-heap: nearest candidate first */
    vw_heap result; /* max-heap: farthest kept result first */
    vw_cand *sel;   /* neighbour-selection buffer (inserts), re-rank candidates (searches) */
    uint32_t sel_cap;
    float *qbuf; /* normalized copy of a cosine query */
    float *pbuf; /* the query prepared for the codes (vw_prepare_query) */
    float *nbuf; /* a stored node decoded or prepared as a query; re-rank rows */
    struct vw_scratch *next;
    /* epoch.c: the global epoch when the search using this buffer began, 0
     * while no search uses it; on a line of its own, since writers read it */
    _Alignas(64) _Atomic uint64_t epoch;
    struct vw_scratch *all_next; /* every buffer ever made (immutable once published) */
} vw_scratch;

/* scratch.c */
vw_scratch *vw_scratch_acquire(const vw_index *ix);
void vw_scratch_release(const vw_index *ix, vw_scratch *s);
vw_status vw_scratch_fit(vw_scratch *s, uint64_t nodes, uint32_t ef, uint32_t dim);
void vw_scratch_free(vw_scratch *s);
/* Empties the visited set. */
void vw_visited_reset(vw_scratch *s);

/* Marks id visited; true if it was not yet. */
static inline bool vw_visit(vw_scratch *s, uint32_t id) {
    VW_ASSERT((id >> 6) < s->visited_words);
    uint64_t *word = &s->visited[id >> 6];
    uint64_t bit = (uint64_t)1 << (id & 63);
    if (*word & bit)
        return false;
    if (*word == 0)
        s->touched[s->ntouched++] = id >> 6;
    *word |= bit;
    return true;
}

/* epoch.c: reclamation. A search brackets its reads with enter/exit on its
 * scratch; a writer that has unlinked nodes calls vw_epoch_advance and may
 * reuse their slots once vw_epoch_passed says no search from before is left. */
void vw_epoch_enter(const vw_index *ix, vw_scratch *s);
void vw_epoch_exit(vw_scratch *s);
uint64_t vw_epoch_advance(vw_index *ix);
bool vw_epoch_passed(const vw_index *ix, uint64_t epoch);

#endif /* VW_SCRATCH_H */
