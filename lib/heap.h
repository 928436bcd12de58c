/* heap.h - binary heaps of (distance, id) candidates, the one heap of the
 * project: the beam search's and the exact search's (exact.c).
 *
 * One implementation over one array type, with the order as a parameter:
 * a min-heap (nearest on top) for the candidates still to expand and a
 * max-heap (farthest on top) for the best results so far, whose top is the
 * bound a new candidate must beat; the exact search's max-heap also orders
 * equal distances by id. The caller reserves capacity; pushes never
 * allocate, so the hot loop has no failure path. Inline because they run
 * once per visited node. */
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

/* An order of a heap: non-zero when a belongs above b. Passed as a
 * constant to the inline functions below, which the compiler inlines with
 * it, so each order costs what a hand-written heap would. */
typedef int (*vw_heap_order)(vw_cand a, vw_cand b);

/* The search's orders: by distance alone, the cheapest test in its hot loop
 * (which of two equally distant nodes wins does not matter there). */
static inline int vw_nearer(vw_cand a, vw_cand b) {
    return a.dist < b.dist;
}
static inline int vw_farther(vw_cand a, vw_cand b) {
    return a.dist > b.dist;
}
/* The exact search's max-heap: equal distances put the larger id on top,
 * so the smaller one is kept, whatever order rows arrive in. */
static inline int vw_farther_or_later(vw_cand a, vw_cand b) {
    return a.dist > b.dist || (a.dist == b.dist && a.id > b.id);
}

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

static inline __attribute__((always_inline)) void vw_heap_push(vw_heap *h, vw_cand c,
                                                               vw_heap_order above) {
    VW_ASSERT(h->size < h->cap);
    vw_cand *a = h->items;
    uint32_t i = h->size++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!above(c, a[parent]))
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = c;
}

static inline __attribute__((always_inline)) vw_cand vw_heap_pop(vw_heap *h, vw_heap_order above) {
    VW_ASSERT(h->size > 0);
    vw_cand *a = h->items;
    vw_cand top = a[0];
    vw_cand last = a[--h->size];
    uint32_t n = h->size, i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && above(a[child + 1], a[child]))
            child++;
        if (!above(a[child], last))
            break;
        a[i] = a[child];
        i = child;
    }
    if (n > 0)
        a[i] = last;
    return top;
}

/* The two heaps of a search. */
static inline void vw_heap_push_min(vw_heap *h, vw_cand c) {
    vw_heap_push(h, c, vw_nearer);
}
static inline vw_cand vw_heap_pop_min(vw_heap *h) {
    return vw_heap_pop(h, vw_nearer);
}
static inline void vw_heap_push_max(vw_heap *h, vw_cand c) {
    vw_heap_push(h, c, vw_farther);
}
static inline vw_cand vw_heap_pop_max(vw_heap *h) {
    return vw_heap_pop(h, vw_farther);
}

#endif /* VW_HEAP_H */
