/* Label -> internal id map: open addressing with linear probing.
 *
 * Slots store id + 1 and the label itself is read from the index's labels
 * array, so the map costs 4 bytes a slot (8 MB for 1M elements at load
 * factor 1/2) instead of 16. */
#include "vw_internal.h"

#include <stdlib.h>

static uint64_t mix64(uint64_t x) {
    /* splitmix64 finalizer: spreads sequential labels over all slots */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void place(uint32_t *slots, uint64_t mask, const uint64_t *labels, uint32_t id) {
    uint64_t i = mix64(labels[id]) & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = id + 1;
}

vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t count, uint64_t n) {
    uint64_t want = 16;
    while (want < 2 * n)
        want <<= 1;
    if (m->slots && want <= m->mask + 1)
        return VW_OK;
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

uint32_t vw_labelmap_find(const vw_labelmap *m, const uint64_t *labels, uint64_t label) {
    if (!m->slots)
        return VW_NO_NODE;
    uint64_t i = mix64(label) & m->mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return VW_NO_NODE;
        if (labels[s - 1] == label)
            return s - 1;
        i = (i + 1) & m->mask;
    }
}

void vw_labelmap_insert(vw_labelmap *m, const uint64_t *labels, uint32_t id) {
    place(m->slots, m->mask, labels, id);
    m->used++;
}

void vw_labelmap_free(vw_labelmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->used = 0;
}

uint64_t vw_labelmap_bytes(const vw_labelmap *m) {
    return m->slots ? (m->mask + 1) * sizeof *m->slots : 0;
}
