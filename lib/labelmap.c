/* Label -> internal id map.
 *
 * Most indexes are labelled 0..n-1 (vw-build does so), and the map has three
 * modes to keep that case cheap:
 *
 *   identity  labels[id] == id: lookups are one comparison, no memory, and a
 *             loader accepts a million labels after one pass.
 *   inverse   the labels are 0..n-1 in another order, as after
 *             vw_index_reorder: an array inv[label] = id, 4 bytes a node,
 *             built in one pass (a hash table for 1M labels took most of a
 *             1M index's mmap load time).
 *   hash      anything else: open addressing with linear probing. Slots store
 *             id + 1 (0 is empty) and the label itself is read from the
 *             index's labels array, so a slot costs 4 bytes (8 MB for 1M
 *             elements at load factor 1/2) instead of 16.
 *
 * A label that breaks the identity or inverse pattern turns the map into a
 * hash table. */
#include "vw_internal.h"

#include <stdlib.h>

static void place(uint32_t *slots, uint64_t mask, uint64_t label, uint32_t id) {
    uint64_t i = vw_mix64(label) & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = id + 1;
}

static uint64_t slots_for(uint64_t n) {
    uint64_t want = 16;
    while (want < 2 * n)
        want <<= 1;
    return want;
}

/* A hash table with room for n, holding ids 0..count-1 (labels in `labels`). */
static vw_status rehash(vw_labelmap *m, const uint64_t *labels, uint64_t count, uint64_t n) {
    uint64_t want = slots_for(n);
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu slots", (unsigned long long)want);
    for (uint64_t id = 0; id < count; id++)
        place(slots, want - 1, labels[id], (uint32_t)id);
    free(m->slots);
    m->slots = slots;
    m->mask = want - 1;
    m->mode = VW_MAP_HASH;
    return VW_OK;
}

/* Grows the inverse array to n entries. */
static vw_status grow_inverse(vw_labelmap *m, uint64_t n) {
    if (n <= m->inv_cap)
        return VW_OK;
    uint32_t *inv = realloc(m->slots, n * sizeof *inv);
    if (!inv)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu entries", (unsigned long long)n);
    m->slots = inv;
    m->inv_cap = n;
    return VW_OK;
}

void vw_labelmap_init(vw_labelmap *m) {
    *m = (vw_labelmap){.mode = VW_MAP_IDENTITY};
}

vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t count, uint64_t n) {
    switch (m->mode) {
    case VW_MAP_IDENTITY:
        return VW_OK;
    case VW_MAP_INVERSE:
        return grow_inverse(m, n);
    case VW_MAP_HASH:
        break;
    }
    if (slots_for(n) <= m->mask + 1)
        return VW_OK;
    return rehash(m, labels, count, n);
}

uint32_t vw_labelmap_find(const vw_labelmap *m, const uint64_t *labels, uint64_t label) {
    switch (m->mode) {
    case VW_MAP_IDENTITY:
        return label < m->used ? (uint32_t)label : VW_NO_NODE;
    case VW_MAP_INVERSE:
        return label < m->used ? m->slots[label] : VW_NO_NODE;
    case VW_MAP_HASH:
        break;
    }
    uint64_t i = vw_mix64(label) & m->mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return VW_NO_NODE;
        if (labels[s - 1] == label)
            return s - 1;
        i = (i + 1) & m->mask;
    }
}

vw_status vw_labelmap_insert(vw_labelmap *m, const uint64_t *labels, uint32_t id,
                             uint64_t capacity) {
    VW_ASSERT(id == m->used); /* ids arrive in order, each once */
    uint64_t label = labels[id];
    if (m->mode == VW_MAP_IDENTITY && label == id && id == m->used) {
        m->used++;
        return VW_OK;
    }
    if (m->mode == VW_MAP_INVERSE && label == m->used) {
        vw_status st = grow_inverse(m, capacity > label ? capacity : label + 1);
        if (st != VW_OK)
            return st;
        m->slots[label] = id;
        m->used++;
        return VW_OK;
    }
    if (m->mode != VW_MAP_HASH) {
        /* the map holds ids 0..used-1, all but the new one */
        uint64_t room = capacity > id ? capacity : (uint64_t)id + 1;
        vw_labelmap fresh;
        vw_labelmap_init(&fresh);
        vw_status st = rehash(&fresh, labels, m->used, room);
        if (st != VW_OK)
            return st;
        free(m->slots);
        fresh.used = m->used;
        *m = fresh;
    }
    place(m->slots, m->mask, label, id);
    m->used++;
    return VW_OK;
}

/* Tries the inverse mode for labels placed at ids rank[i] (i itself when
 * rank is NULL): true if the labels are a permutation of 0..n-1. */
static bool try_inverse(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank, uint64_t n,
                        uint64_t capacity) {
    uint32_t *inv = malloc((capacity > n ? capacity : n) * sizeof *inv);
    if (!inv)
        return false; /* the hash table, smaller per label than nothing, is tried next */
    for (uint64_t i = 0; i < n; i++)
        inv[i] = VW_NO_NODE;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = labels[i];
        if (l >= n || inv[l] != VW_NO_NODE) {
            free(inv);
            return false;
        }
        inv[l] = rank ? rank[i] : (uint32_t)i;
    }
    *m = (vw_labelmap){
        .mode = VW_MAP_INVERSE, .slots = inv, .inv_cap = capacity > n ? capacity : n, .used = n};
    return true;
}

/* Builds the map for labels[i] stored at id rank[i] (at i when rank is
 * NULL), with room for `capacity`. Repeated labels are looked for only when
 * rank is NULL: a permutation of a valid index cannot create them. */
static vw_status build(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank, uint64_t n,
                       uint64_t capacity) {
    vw_labelmap_free(m);
    uint64_t i = 0;
    while (i < n && labels[i] == (rank ? rank[i] : i))
        i++;
    m->used = n;
    if (i == n)
        return VW_OK; /* labels equal their ids: identity, unique by construction */
    if (try_inverse(m, labels, rank, n, capacity))
        return VW_OK;
    uint64_t want = slots_for(capacity > n ? capacity : n);
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu slots", (unsigned long long)want);
    *m = (vw_labelmap){.mode = VW_MAP_HASH, .slots = slots, .mask = want - 1, .used = n};
    for (i = 0; i < n; i++) {
        if (!rank) {
            uint32_t other = vw_labelmap_find(m, labels, labels[i]);
            if (other != VW_NO_NODE)
                return vw_fail(VW_ERR_CORRUPT, "labels: label %llu appears at ids %u and %llu",
                               (unsigned long long)labels[i], other, (unsigned long long)i);
        }
        place(slots, m->mask, labels[i], rank ? rank[i] : (uint32_t)i);
    }
    return VW_OK;
}

vw_status vw_labelmap_build(vw_labelmap *m, const uint64_t *labels, uint64_t n) {
    return build(m, labels, NULL, n, n);
}

vw_status vw_labelmap_build_permuted(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank,
                                     uint64_t n, uint64_t capacity) {
    return build(m, labels, rank, n, capacity);
}

void vw_labelmap_free(vw_labelmap *m) {
    free(m->slots);
    vw_labelmap_init(m);
}

uint64_t vw_labelmap_bytes(const vw_labelmap *m) {
    switch (m->mode) {
    case VW_MAP_IDENTITY:
        return 0;
    case VW_MAP_INVERSE:
        return m->inv_cap * sizeof *m->slots;
    case VW_MAP_HASH:
        break;
    }
    return (m->mask + 1) * sizeof *m->slots;
}
