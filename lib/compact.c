/* Compaction: giving back the slots that removals freed, while searches run.
 *
 * A purge leaves a removed node's slot empty for a later insert to reuse.
 * When the index shrinks instead (a large deletion, or upserts that append
 * while the slots they retire wait for searches), the live nodes stay
 * spread over every slot the index ever had: a search then reads its rows
 * and lists from up to twice the pages of a fresh build, and runs 15-25 %
 * slower (bench/RESULTS.md, "The live index": 0.80 of a fresh
 * build's QPS with half of a 100,000-vector Gaussian set removed, 0.96
 * after renumbering).
 *
 * vw_index_reorder renumbers in place, with 9 bytes per node of spare
 * memory, but ids change under any search running meanwhile, so it holds
 * searches off. Compaction trades memory for that: it writes a renumbered
 * copy of the nodes (breadth-first order, as reorder) into new arrays
 * while searches go on reading the old ones, which nothing changes
 * meanwhile (the caller holds the writer lock). Live nodes and removed
 * nodes not yet unlinked are copied (the latter still dead, still in
 * ix->pending for the next pass: a compaction never waits for a purge);
 * free slots, reusable or in limbo, are not. Only the swap of the arrays
 * takes the storage lock, so searches wait for a few pointer stores, not
 * for the copy. No search can hold an old id afterwards (every search
 * holds the storage lock for reading while it runs), so the old arrays,
 * limbo included, are released at once.
 *
 * The index does it by itself at the end of the purge pass that leaves a
 * quarter or more of its slots empty (vw_compact_if_due). Writers wait
 * while it runs (bench/RESULTS.md, "The live index", has the time it takes), and
 * it needs the memory of a second copy of the kept nodes until the swap;
 * the removals that freed the slots cost far more (about half an insert
 * each). When the memory cannot be had, the index stays as it is and
 * works on. Small indexes are left alone: their arrays fit in the caches
 * however spread they are. */
#include "attrs.h"
#include "vw_internal.h"

#include <stdlib.h>
#include <string.h>

/* Below this many slots an index is never compacted by itself. */
#define COMPACT_MIN_SLOTS 1024u
/* ... nor while fewer than 1 / COMPACT_FRACTION of its slots are empty. */
#define COMPACT_FRACTION 4u

/* The per-node arrays of the compacted index, built beside the old ones. */
typedef struct arrays {
    unsigned char *codes;
    float *exact;
    uint8_t *resid;
    uint32_t *links0;
    size_t codes_len, exact_len, resid_len, links0_len;
    uint8_t *levels;
    uint64_t *labels;
    uint32_t **upper;
    _Atomic uint64_t *dead;
    uint8_t *state;
    uint64_t upper_bytes;
    uint64_t n; /* nodes copied so far (their upper lists are owned here) */
    vw_labelmap map;
} arrays;

static void arrays_free(arrays *a) {
    if (a->upper)
        for (uint64_t i = 0; i < a->n; i++)
            free(a->upper[i]);
    free(a->upper);
    vw_big_free(a->codes, a->codes_len);
    vw_big_free(a->exact, a->exact_len);
    vw_big_free(a->resid, a->resid_len);
    vw_big_free(a->links0, a->links0_len);
    free(a->levels);
    free(a->labels);
    free((void *)a->dead);
    free(a->state);
    vw_labelmap_free(&a->map);
    memset(a, 0, sizeof *a);
}

/* New arrays for `cap` nodes, all live (dead bits and states zero). */
static bool arrays_alloc(const vw_index *ix, arrays *a, uint64_t cap) {
    size_t list0 = (size_t)(1 + ix->M0) * sizeof(uint32_t);
    vw_labelmap_init(&a->map);
    return vw_big_realloc((void **)&a->codes, &a->codes_len, cap * ix->code_size) &&
           (!ix->exact ||
            vw_big_realloc((void **)&a->exact, &a->exact_len, cap * ix->dim * sizeof(float))) &&
           (!ix->resid ||
            vw_big_realloc((void **)&a->resid, &a->resid_len, cap * ix->resid_size)) &&
           vw_big_realloc((void **)&a->links0, &a->links0_len, cap * list0) &&
           (a->levels = malloc(cap)) != NULL &&
           (a->labels = malloc(cap * sizeof *a->labels)) != NULL &&
           (a->upper = calloc(cap, sizeof *a->upper)) != NULL &&
           (a->dead = calloc((cap + 63) / 64, sizeof *a->dead)) != NULL &&
           (a->state = calloc(cap, 1)) != NULL;
}

/* Copies list `from` (ids in the old numbering) to `to`, renumbered. Lists
 * of live and removed nodes name no free slot (a purge pass takes those out
 * before it frees them); one ranked past the kept nodes would be a free
 * slot, and is dropped rather than carried over. */
static void copy_list(const uint32_t *from, uint32_t *to, uint32_t max, const uint32_t *rank,
                      uint64_t kept_nodes) {
    uint32_t n = from[0] < max ? from[0] : max, kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rank[from[1 + i]];
        if (r < kept_nodes)
            to[1 + kept++] = r;
    }
    to[0] = kept;
}

/* Node old's row, level, label, state and lists to slot j of a, whose
 * first `kept` slots are taken. */
static bool copy_node(const vw_index *ix, arrays *a, uint32_t old, uint64_t j, const uint32_t *rank,
                      uint64_t kept) {
    memcpy(a->codes + j * ix->code_size, vw_code(ix, old), ix->code_size);
    if (ix->exact)
        memcpy(a->exact + j * ix->dim, ix->exact + (size_t)old * ix->dim, ix->dim * sizeof(float));
    if (ix->resid)
        memcpy(a->resid + j * ix->resid_size, vw_resid(ix, old), ix->resid_size);
    a->levels[j] = ix->levels[old];
    a->labels[j] = ix->labels[old];
    if (vw_state(ix, old) == VW_NODE_REMOVED) { /* still linked: the next pass unlinks it */
        a->state[j] = VW_NODE_REMOVED;
        a->dead[j >> 6] |= (uint64_t)1 << (j & 63);
    }
    copy_list(vw_links0(ix, old), a->links0 + j * (1 + ix->M0), ix->M0, rank, kept);
    unsigned levels = ix->levels[old];
    a->n = j + 1;
    if (levels == 0)
        return true;
    size_t words = (size_t)levels * (1 + ix->M);
    a->upper[j] = malloc(words * sizeof(uint32_t));
    if (!a->upper[j])
        return false;
    for (unsigned l = 1; l <= levels; l++)
        copy_list(vw_links_upper(ix, old, l), a->upper[j] + (size_t)(l - 1) * (1 + ix->M), ix->M,
                  rank, kept);
    a->upper_bytes += words * sizeof(uint32_t);
    return true;
}

/* Puts the new arrays in (the first `kept` slots taken), the old ones into
 * a (for the caller to free). Searches wait for this, and only this. */
static vw_status swap_in(vw_index *ix, arrays *a, uint64_t kept, uint32_t entry,
                         const uint32_t *rank) {
    vw_status st = vw_lock_write(ix);
    if (st != VW_OK)
        return st;
    VW_SWAP(unsigned char *, ix->codes, a->codes);
    VW_SWAP(float *, ix->exact, a->exact);
    VW_SWAP(uint8_t *, ix->resid, a->resid);
    VW_SWAP(uint32_t *, ix->links0, a->links0);
    VW_SWAP(size_t, ix->codes_len, a->codes_len);
    VW_SWAP(size_t, ix->exact_len, a->exact_len);
    VW_SWAP(size_t, ix->resid_len, a->resid_len);
    VW_SWAP(size_t, ix->links0_len, a->links0_len);
    VW_SWAP(uint8_t *, ix->levels, a->levels);
    VW_SWAP(uint64_t *, ix->labels, a->labels);
    VW_SWAP(uint32_t **, ix->upper, a->upper);
    VW_SWAP(_Atomic uint64_t *, ix->dead, a->dead);
    VW_SWAP(uint8_t *, ix->state, a->state);
    VW_SWAP(uint64_t, ix->upper_bytes, a->upper_bytes);
    VW_SWAP(vw_labelmap, ix->map, a->map);
    a->n = ix->count; /* every old slot's upper lists go */
    vw_attrs_on_renumber(ix, rank, a->n);
    ix->count = kept;
    ix->capacity = kept ? kept : 1;
    vw_top_set(ix, entry, vw_top_get(ix).level);
    /* Every empty slot, waiting for searches or not, is gone; the removed
     * nodes waiting for the next pass are renumbered with the rest. */
    ix->free_ids.n = 0;
    ix->limbo.ids.n = 0;
    ix->limbo.batches = 0;
    for (uint64_t i = 0; i < ix->pending.n; i++)
        ix->pending.ids[i] = rank[ix->pending.ids[i]];
    vw_unlock(ix);
    return VW_OK;
}

/* The caller holds the writer lock; no purge pass is under way, so every
 * slot is live, removed (still linked, in ix->pending) or free. */
static vw_status compact_locked(vw_index *ix) {
    VW_ASSERT_SOLE_WRITER(ix);
    uint64_t n = ix->count, kept = ix->live + ix->pending.n;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    uint32_t *rank = malloc((n ? n : 1) * sizeof *rank);
    arrays a = {0};
    vw_status st = VW_OK;
    VW_ASSERT(!ix->purge.active && kept <= n);
    if (!order || !rank || !arrays_alloc(ix, &a, kept ? kept : 1))
        st = vw_fail(VW_ERR_NOMEM, "compaction of %llu nodes", (unsigned long long)kept);
    if (st == VW_OK) {
        vw_bfs_order(ix, order, rank);
        for (uint64_t j = 0; j < kept && st == VW_OK; j++)
            if (!copy_node(ix, &a, order[j], j, rank, kept))
                st = vw_fail(VW_ERR_NOMEM, "upper lists of a compacted index");
    }
    if (st == VW_OK) /* live nodes only: removed ones left the map when removed */
        st = vw_labelmap_build_permuted(&a.map, ix->labels, rank, ix->state, n, ix->live,
                                        kept ? kept : 1);
    if (st == VW_OK) {
        uint32_t entry = vw_top_get(ix).entry;
        VW_ASSERT(entry == VW_NO_NODE ? kept == 0 : rank[entry] < kept);
        st = swap_in(ix, &a, kept, entry == VW_NO_NODE ? VW_NO_NODE : rank[entry], rank);
    }
    arrays_free(&a); /* the old arrays after a swap, the new ones after a failure */
    free(order);
    free(rank);
    return st;
}

void vw_compact_if_due(vw_index *ix) {
    VW_ASSERT_SOLE_WRITER(ix);
    uint64_t empty = ix->free_ids.n + ix->limbo.ids.n;
    if (ix->readonly || ix->purge.active || ix->count < COMPACT_MIN_SLOTS ||
        empty < ix->count / COMPACT_FRACTION)
        return;
    (void)compact_locked(ix); /* out of memory: the index stays as it is */
}
