/* heap.h - binary heaps of (distance, id) candidates for the beam search.
 *
 * Two orders over one array type: a min-heap (nearest on top) for the
 * candidates still to expand and a max-heap (farthest on top) for the best
 * results so far, whose top is the bound a new candidate must beat. The
 * caller reserves capacity; pushes never allocate, so the hot loop has no
 * failure path. Inline because they run once per visited node. */
#ifndef VW_HEAP_H
#define VW_HEAP_H

#include "vw_assert.h"
#include "vwhnsw.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct vw_cand {
    float dist;
    uint32_t id;
} vw_cand;

typedef struct vw_heap {
    vw_cand *items;
    uint32_t size;
    uint32_t cap;
} vw_heap;

vw_status vw_fail(vw_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline vw_status vw_heap_reserve(vw_heap *h, uint32_t cap) {
    if (cap <= h->cap)
        return VW_OK;
    vw_cand *items = realloc(h->items, (size_t)cap * sizeof *items);
    if (!items)
        return vw_fail(VW_ERR_NOMEM, "search heap of %u entries", cap);
    h->items = items;
    h->cap = cap;
    return VW_OK;
}

static inline void vw_heap_push_min(vw_heap *h, vw_cand c) {
    VW_ASSERT(h->size < h->cap);
    vw_cand *a = h->items;
    uint32_t i = h->size++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (a[parent].dist <= c.dist)
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = c;
}

static inline vw_cand vw_heap_pop_min(vw_heap *h) {
    VW_ASSERT(h->size > 0);
    vw_cand *a = h->items;
    vw_cand top = a[0];
    vw_cand last = a[--h->size];
    uint32_t n = h->size, i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && a[child + 1].dist < a[child].dist)
            child++;
        if (last.dist <= a[child].dist)
            break;
        a[i] = a[child];
        i = child;
    }
    if (n > 0)
        a[i] = last;
    return top;
}

static inline void vw_heap_push_max(vw_heap *h, vw_cand c) {
    VW_ASSERT(h->size < h->cap);
    vw_cand *a = h->items;
    uint32_t i = h->size++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (a[parent].dist >= c.dist)
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = c;
}

static inline vw_cand vw_heap_pop_max(vw_heap *h) {
    VW_ASSERT(h->size > 0);
    vw_cand *a = h->items;
    vw_cand top = a[0];
    vw_cand last = a[--h->size];
    uint32_t n = h->size, i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && a[child + 1].dist > a[child].dist)
            child++;
        if (last.dist >= a[child].dist)
            break;
        a[i] = a[child];
        i = child;
    }
    if (n > 0)
        a[i] = last;
    return top;
}

#endif /* VW_HEAP_H */
