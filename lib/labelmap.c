/* Label -> internal id map.
 *
 * Most indexes are labelled 0..n-1 in insertion order (vw-build does so), and
 * for them the map is the identity: `dense` mode answers lookups with one
 * comparison, costs no memory, and lets a loader accept a million labels
 * after one pass instead of a million hash inserts. The first label that
 * breaks the pattern turns the map into an open-addressing table with
 * linear probing. Slots store id + 1 (0 is empty) and the label itself is
 * read from the index's labels array, so a slot costs 4 bytes (8 MB for 1M
 * elements at load factor 1/2) instead of 16. */
#include "vw_internal.h"

#include <stdlib.h>

static void place(uint32_t *slots, uint64_t mask, const uint64_t *labels, uint32_t id) {
    uint64_t i = vw_mix64(labels[id]) & mask;
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

/* Builds (or grows) the hash table for ids 0..count-1 with room for n. */
static vw_status rehash(vw_labelmap *m, const uint64_t *labels, uint64_t count, uint64_t n) {
    uint64_t want = slots_for(n);
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu slots", (unsigned long long)want);
    for (uint64_t id = 0; id < count; id++)
        place(slots, want - 1, labels, (uint32_t)id);
    free(m->slots);
    m->slots = slots;
    m->mask = want - 1;
    return VW_OK;
}

void vw_labelmap_init(vw_labelmap *m) {
    *m = (vw_labelmap){.dense = true};
}

vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t count, uint64_t n) {
    if (m->dense || slots_for(n) <= m->mask + 1)
        return VW_OK;
    return rehash(m, labels, count, n);
}

uint32_t vw_labelmap_find(const vw_labelmap *m, const uint64_t *labels, uint64_t label) {
    if (m->dense)
        return label < m->used ? (uint32_t)label : VW_NO_NODE;
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
    if (m->dense && labels[id] == id && id == m->used) {
        m->used++;
        return VW_OK;
    }
    if (m->dense) {
        vw_status st = rehash(m, labels, m->used, capacity > id ? capacity : (uint64_t)id + 1);
        if (st != VW_OK)
            return st;
        m->dense = false;
    }
    place(m->slots, m->mask, labels, id);
    m->used++;
    return VW_OK;
}

vw_status vw_labelmap_build(vw_labelmap *m, const uint64_t *labels, uint64_t n) {
    vw_labelmap_free(m);
    uint64_t i = 0;
    while (i < n && labels[i] == i)
        i++;
    m->used = i;
    if (i == n)
        return VW_OK; /* labels are 0..n-1: dense, and unique by construction */
    vw_status st = rehash(m, labels, i, n);
    if (st != VW_OK)
        return st;
    m->dense = false;
    for (; i < n; i++) {
        uint32_t other = vw_labelmap_find(m, labels, labels[i]);
        if (other != VW_NO_NODE)
            return vw_fail(VW_ERR_CORRUPT, "labels: label %llu appears at ids %u and %llu",
                           (unsigned long long)labels[i], other, (unsigned long long)i);
        place(m->slots, m->mask, labels, (uint32_t)i);
        m->used++;
    }
    return VW_OK;
}

void vw_labelmap_free(vw_labelmap *m) {
    free(m->slots);
    vw_labelmap_init(m);
}

uint64_t vw_labelmap_bytes(const vw_labelmap *m) {
    return m->slots ? (m->mask + 1) * sizeof *m->slots : 0;
}
