/* Per-search buffers, pooled on the index.
 *
 * A search needs a visited set over all nodes plus two heaps. Allocating
 * them per query would dominate small searches, and asking callers to pass
 * scratch makes the API awkward, so the index keeps a free list: a search
 * pops a buffer (or makes one), uses it, and pushes it back. The pool grows
 * to the number of threads that ever searched at once, and its buffers
 * live as long as the index (epoch.c reads their announcements). */
#include "vw_internal.h"

#include <stdlib.h>
#include <string.h>

vw_scratch *vw_scratch_acquire(const vw_index *ix) {
    vw_index *mix = (vw_index *)ix; /* the pool is the only mutable part of a search */
    VW_ASSERT(!vw_holds_any(ix, VW_HELD_POOL) && vw_node_locks_held == 0); /* a leaf */
    pthread_mutex_lock(&mix->pool_lock);
    vw_lock_note(ix, VW_HELD_POOL, true);
    vw_scratch *s = mix->pool;
    if (s)
        mix->pool = s->next;
    vw_lock_note(ix, VW_HELD_POOL, false);
    pthread_mutex_unlock(&mix->pool_lock);
    if (!s) {
        /* A whole number of cache lines of its own: the heap sizes change on
         * every step of a search, and two threads' scratch sharing a line
         * would make each core invalidate the other's on every push. */
        size_t bytes = (sizeof *s + 63) & ~(size_t)63;
        s = aligned_alloc(64, bytes);
        if (!s)
            return NULL;
        memset(s, 0, bytes);
        atomic_init(&s->epoch, 0);
        /* Published for epoch.c, which walks every buffer without a lock. */
        vw_scratch *head = atomic_load_explicit(&mix->all_scratch, memory_order_relaxed);
        do
            s->all_next = head;
        while (!atomic_compare_exchange_weak_explicit(&mix->all_scratch, &head, s,
                                                      memory_order_release, memory_order_relaxed));
    }
    return s;
}

void vw_scratch_release(const vw_index *ix, vw_scratch *s) {
    if (!s)
        return;
    vw_index *mix = (vw_index *)ix;
    VW_ASSERT(!vw_holds_any(ix, VW_HELD_POOL) && vw_node_locks_held == 0); /* a leaf */
    pthread_mutex_lock(&mix->pool_lock);
    vw_lock_note(ix, VW_HELD_POOL, true);
    s->next = mix->pool;
    mix->pool = s;
    vw_lock_note(ix, VW_HELD_POOL, false);
    pthread_mutex_unlock(&mix->pool_lock);
}

vw_status vw_scratch_fit(vw_scratch *s, uint64_t nodes, uint32_t ef, uint32_t dim) {
    uint64_t words = (nodes + 63) / 64;
    if (s->visited_words < words) {
        uint64_t cap = words + words / 4 + 1;
        uint64_t *v = calloc(cap, sizeof *v);
        uint32_t *t = malloc(cap * sizeof *t);
        if (!v || !t) {
            free(v);
            free(t);
            return vw_fail(VW_ERR_NOMEM, "visited set of %llu nodes", (unsigned long long)nodes);
        }
        free(s->visited);
        free(s->touched);
        s->visited = v;
        s->touched = t;
        s->visited_words = cap;
        s->ntouched = 0;
    }
    vw_status st = vw_heap_reserve(&s->result, ef + 1);
    if (st == VW_OK)
        st = vw_heap_reserve(&s->cand, 2 * ef + 2 * VW_MAX_M + 64);
    if (st != VW_OK)
        return st;
    if (s->sel_cap < ef + 2 * VW_MAX_M + 1) {
        uint32_t cap = ef + 2 * VW_MAX_M + 1;
        vw_cand *sel = realloc(s->sel, (size_t)cap * sizeof *sel);
        if (!sel)
            return vw_fail(VW_ERR_NOMEM, "selection buffer of %u entries", cap);
        s->sel = sel;
        s->sel_cap = cap;
    }
    if (!s->qbuf) {
        /* one block: the cosine query, the prepared query, a decoded node */
        s->qbuf = malloc(3 * (size_t)dim * sizeof *s->qbuf);
        if (!s->qbuf)
            return vw_fail(VW_ERR_NOMEM, "query buffers");
        s->pbuf = s->qbuf + dim;
        s->nbuf = s->qbuf + 2 * (size_t)dim;
    }
    return VW_OK;
}

void vw_visited_reset(vw_scratch *s) {
    for (uint64_t i = 0; i < s->ntouched; i++)
        s->visited[s->touched[i]] = 0;
    s->ntouched = 0;
}

void vw_scratch_free(vw_scratch *s) {
    while (s) {
        vw_scratch *next = s->next;
        free(s->visited);
        free(s->touched);
        free(s->cand.items);
        free(s->result.items);
        free(s->sel);
        free(s->qbuf);
        free(s);
        s = next;
    }
}
