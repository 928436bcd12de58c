/* removal.h - removed nodes, free slots and the purge (remove.c). */
#ifndef VW_REMOVAL_H
#define VW_REMOVAL_H

#include "vwhnsw.h"

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------ slot lists */

/* A growable array of node ids (remove.c: removed nodes, free slots). */
typedef struct vw_ids {
    uint32_t *ids;
    uint64_t n, cap;
} vw_ids;

vw_status vw_ids_push(vw_ids *v, uint32_t id);
void vw_ids_free(vw_ids *v);

/* Slots unlinked by one purge, reusable once every search that began before
 * the purge finished has ended (epoch `epoch` or later). */
typedef struct vw_limbo {
    vw_ids ids;
    uint64_t *epochs; /* per batch: the epoch that frees it */
    uint64_t *ends;   /* per batch: end of its ids in `ids` */
    uint64_t batches, cap;
} vw_limbo;

/* A purge pass (remove.c), done a slice at a time by successive writes. */
struct vw_repair;
typedef struct vw_purge {
    bool active;
    uint64_t cursor;        /* next node whose lists the pass repairs */
    vw_ids set;             /* the removed nodes the pass unlinks */
    struct vw_repair *work; /* its buffers */
} vw_purge;

/* remove.c */
/* Sets the state of slot id and its dead bit (writers only). */
void vw_state_set(vw_index *ix, uint32_t id, uint8_t state);
/* The slot the next new node takes: a reusable one if any, else the next
 * unused id (the caller reserved room). Nothing changes until
 * vw_slot_take(id) commits the choice. */
uint32_t vw_slot_peek(const vw_index *ix);
void vw_slot_take(vw_index *ix, uint32_t id);
/* Marks a live node removed: dead at once, unlinked by the next purge. The
 * caller reserved room in ix->pending. */
void vw_node_retire(vw_index *ix, uint32_t id);
/* Moves limbo slots whose searches are over to the free list, and returns
 * how many slots are free now. */
uint64_t vw_slots_reclaim(vw_index *ix);
vw_status vw_ids_reserve(vw_ids *v, uint64_t n);
/* Unlinks every removed node now (writer lock held, no batch running). */
vw_status vw_purge_locked(vw_index *ix);
/* After a write of `writes` elements: goes on with the pass under way, or
 * starts one when enough removed nodes have piled up, for a budget
 * proportional to `writes`. */
void vw_purge_if_due(vw_index *ix, uint64_t writes);
/* After a write that inserted `added` nodes (writer lock held, a batch's
 * workers done): links in again any live node a search from the entry point
 * cannot reach, once the nodes inserted since the last flood are enough to
 * make its cost a small share of theirs (remove.c). */
void vw_reconnect_after_batch(vw_index *ix, uint64_t added);
/* Removed nodes not yet unlinked (pending and in the pass under way). */
uint64_t vw_removed_count(const vw_index *ix);
/* Moves every limbo slot to the free list now (no search can run). */
void vw_limbo_drain(vw_index *ix);
void vw_removal_free(vw_index *ix);
/* Sets up the removal state of a loaded index from its node states
 * (0 live, 1 removed, 2 free); `states` may be NULL (all live). */
vw_status vw_removal_load(vw_index *ix, const uint8_t *states);
/* Node state of id for saving: 0 live, 1 removed (still linked, waiting for
 * a purge), 2 free (limbo slots too: their data may be stale). */
uint8_t vw_node_state(const vw_index *ix, uint32_t id);

#endif /* VW_REMOVAL_H */
