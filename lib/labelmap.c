/* Label -> internal id map.
 *
 * Most indexes are labelled 0..n-1 (vw-build does so), and the map has three
 * modes to keep that case cheap:
 *
 *   identity  labels[id] == id for every id < used: lookups are one
 *             comparison, no memory, and a loader accepts a million labels
 *             after one pass.
 *   inverse   the labels are small integers in any order, as after
 *             vw_index_reorder, or with holes once some are removed or
 *             their slots reused: an array inv[label] = id (VW_NO_NODE when
 *             absent), 4 bytes a label, built in one pass (a hash table for
 *             1M labels took most of a 1M index's mmap load time).
 *   hash      anything else: open addressing with linear probing. Slots store
 *             id + 1 (0 is empty) and the label itself is read from the
 *             index's labels array, so a slot costs 4 bytes (8 MB for 1M
 *             elements at load factor 1/2) instead of 16. Removal shifts
 *             the rest of the probe run back (no tombstones to rehash).
 *
 * A label that does not fit the identity or inverse pattern turns the map
 * into a hash table. The map only ever names live nodes: a removed node's
 * label leaves the map when it is removed, even though labels[id] keeps it
 * until the slot is reused. */
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

/* The (label, id) pairs of a map in identity or inverse mode, visited in
 * label order; the hash modes are rebuilt from these. */
static void hash_from_dense(const vw_labelmap *m, uint32_t *slots, uint64_t mask) {
    for (uint64_t label = 0; label < m->used; label++) {
        uint32_t id = m->mode == VW_MAP_IDENTITY ? (uint32_t)label : m->slots[label];
        if (id != VW_NO_NODE)
            place(slots, mask, label, id);
    }
}

/* The map as a hash table with room for n labels. */
static vw_status to_hash(vw_labelmap *m, const uint64_t *labels, uint64_t n) {
    uint64_t want = slots_for(n);
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu slots", (unsigned long long)want);
    uint64_t count = 0;
    if (m->mode == VW_MAP_HASH) {
        for (uint64_t i = 0; i <= m->mask; i++)
            if (m->slots[i] != 0) {
                place(slots, want - 1, labels[m->slots[i] - 1], m->slots[i] - 1);
                count++;
            }
    } else {
        hash_from_dense(m, slots, want - 1);
        for (uint64_t i = 0; i < want; i++)
            count += slots[i] != 0;
    }
    free(m->slots);
    *m = (vw_labelmap){.mode = VW_MAP_HASH, .slots = slots, .mask = want - 1, .used = count};
    return VW_OK;
}

/* Grows the inverse array to n entries (new ones absent). */
static vw_status grow_inverse(vw_labelmap *m, uint64_t n) {
    if (n <= m->inv_cap)
        return VW_OK;
    uint32_t *inv = realloc(m->slots, n * sizeof *inv);
    if (!inv)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu entries", (unsigned long long)n);
    for (uint64_t i = m->inv_cap; i < n; i++)
        inv[i] = VW_NO_NODE;
    m->slots = inv;
    m->inv_cap = n;
    return VW_OK;
}

/* Identity -> inverse, with room for `capacity` labels. */
static vw_status to_inverse(vw_labelmap *m, uint64_t capacity) {
    if (m->mode != VW_MAP_IDENTITY)
        return VW_OK;
    uint64_t cap = capacity > m->used ? capacity : m->used + 1;
    vw_labelmap inv = {.mode = VW_MAP_INVERSE, .used = m->used};
    vw_status st = grow_inverse(&inv, cap);
    if (st != VW_OK)
        return st;
    for (uint64_t i = 0; i < m->used; i++)
        inv.slots[i] = (uint32_t)i;
    *m = inv;
    return VW_OK;
}

void vw_labelmap_init(vw_labelmap *m) {
    *m = (vw_labelmap){.mode = VW_MAP_IDENTITY};
}

vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t n) {
    if (m->mode != VW_MAP_HASH || slots_for(n) <= m->mask + 1)
        return VW_OK;
    return to_hash(m, labels, n);
}

static uint64_t hash_slot(const vw_labelmap *m, const uint64_t *labels, uint64_t label) {
    uint64_t i = vw_mix64(label) & m->mask;
    while (m->slots[i] != 0 && labels[m->slots[i] - 1] != label)
        i = (i + 1) & m->mask;
    return i;
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
    uint32_t s = m->slots[hash_slot(m, labels, label)];
    return s == 0 ? VW_NO_NODE : s - 1;
}

/* Adds a label <= used (a hole, or the next label) to an inverse map. */
static vw_status inverse_insert(vw_labelmap *m, uint64_t label, uint32_t id, uint64_t capacity) {
    if (label >= m->inv_cap) {
        vw_status st = grow_inverse(m, label + 1 > capacity ? label + 1 : capacity);
        if (st != VW_OK)
            return st;
    }
    m->slots[label] = id;
    m->used += label == m->used;
    return VW_OK;
}

vw_status vw_labelmap_insert(vw_labelmap *m, const uint64_t *labels, uint32_t id,
                             uint64_t capacity) {
    VW_ASSERT(vw_labelmap_find(m, labels, labels[id]) == VW_NO_NODE); /* one node per label */
    uint64_t label = labels[id];
    if (m->mode == VW_MAP_IDENTITY && label == id && id == m->used) {
        m->used++;
        return VW_OK;
    }
    vw_status st = VW_OK;
    if (m->mode != VW_MAP_HASH && label <= m->used) {
        vw_labelmap before = *m;
        st = to_inverse(m, capacity);
        if (st == VW_OK)
            st = inverse_insert(m, label, id, capacity);
        if (st != VW_OK && before.mode == VW_MAP_IDENTITY && m->mode == VW_MAP_INVERSE) {
            free(m->slots); /* back to the identity map we started from */
            *m = before;
        }
        return st;
    }
    if (m->mode != VW_MAP_HASH) {
        /* the dense pairs plus the new one, in a table sized for `capacity` */
        uint64_t room = capacity > m->used + 1 ? capacity : m->used + 1;
        st = to_hash(m, labels, room);
        if (st != VW_OK)
            return st;
    }
    place(m->slots, m->mask, label, id);
    m->used++;
    return VW_OK;
}

vw_status vw_labelmap_set(vw_labelmap *m, const uint64_t *labels, uint64_t label, uint32_t id,
                          uint64_t capacity) {
    if (m->mode == VW_MAP_IDENTITY && label == id)
        return VW_OK;
    vw_status st = to_inverse(m, capacity);
    if (st != VW_OK)
        return st;
    if (m->mode == VW_MAP_INVERSE)
        m->slots[label] = id;
    else
        m->slots[hash_slot(m, labels, label)] = id + 1;
    return VW_OK;
}

/* Deletion from a linear-probing table: later entries of the probe run that
 * could have sat in the emptied slot move back into it, so lookups never
 * stop early at a hole. */
static void hash_remove(vw_labelmap *m, const uint64_t *labels, uint64_t i) {
    for (uint64_t j = i;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j] == 0)
            break;
        uint64_t home = vw_mix64(labels[m->slots[j] - 1]) & m->mask;
        /* the entry at j may move to i if its home is not in (i, j] */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = 0;
    m->used--;
}

vw_status vw_labelmap_remove(vw_labelmap *m, const uint64_t *labels, uint64_t label,
                             uint64_t capacity) {
    vw_status st = to_inverse(m, capacity);
    if (st != VW_OK)
        return st;
    if (m->mode == VW_MAP_INVERSE)
        m->slots[label] = VW_NO_NODE;
    else
        hash_remove(m, labels, hash_slot(m, labels, label));
    return VW_OK;
}

/* The ids a build maps: those not skipped, and with a rank below `live`
 * when renumbering (the others are being dropped). */
typedef struct build_src {
    const uint64_t *labels;
    const uint32_t *rank; /* NULL: ids stay */
    const uint8_t *skip;  /* NULL: none skipped */
    uint64_t n, live;
} build_src;

static bool included(const build_src *b, uint64_t i) {
    if (b->skip)
        return !b->skip[i];
    return !(b->rank && b->rank[i] >= b->live);
}

static uint32_t target(const build_src *b, uint64_t i) {
    return b->rank ? b->rank[i] : (uint32_t)i;
}

/* Tries the inverse mode: true if the labels are distinct and below `bound`. */
static bool try_inverse(vw_labelmap *m, const build_src *b, uint64_t bound, uint64_t capacity) {
    vw_labelmap inv = {.mode = VW_MAP_INVERSE};
    if (grow_inverse(&inv, capacity > bound ? capacity : bound) != VW_OK)
        return false; /* the hash table is tried next */
    uint64_t top = 0;
    for (uint64_t i = 0; i < b->n; i++) {
        if (!included(b, i))
            continue;
        uint64_t l = b->labels[i];
        if (l >= bound || inv.slots[l] != VW_NO_NODE) {
            free(inv.slots);
            return false;
        }
        inv.slots[l] = target(b, i);
        top = l + 1 > top ? l + 1 : top;
    }
    inv.used = top;
    *m = inv;
    return true;
}

static bool is_identity(const build_src *b) {
    if (b->live != b->n)
        return false;
    for (uint64_t i = 0; i < b->n; i++)
        if (!included(b, i) || b->labels[i] != target(b, i))
            return false;
    return true;
}

/* Builds the map with room for `capacity`. Repeated labels are looked for
 * only when ids stay: a permutation of a valid index cannot create them. */
static vw_status build(vw_labelmap *m, const build_src *b, uint64_t capacity) {
    vw_labelmap_free(m);
    if (is_identity(b)) {
        m->used = b->n;
        return VW_OK; /* labels equal their ids: identity, unique by construction */
    }
    /* Dense enough for an array: labels below about twice the live count. */
    if (try_inverse(m, b, 2 * b->live + 16, capacity))
        return VW_OK;
    uint64_t want = slots_for(capacity > b->live ? capacity : b->live);
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots)
        return vw_fail(VW_ERR_NOMEM, "label map of %llu slots", (unsigned long long)want);
    *m = (vw_labelmap){.mode = VW_MAP_HASH, .slots = slots, .mask = want - 1, .used = b->live};
    for (uint64_t i = 0; i < b->n; i++) {
        if (!included(b, i))
            continue;
        if (!b->rank) {
            uint32_t other = vw_labelmap_find(m, b->labels, b->labels[i]);
            if (other != VW_NO_NODE)
                return vw_fail(VW_ERR_CORRUPT, "labels: label %llu appears at ids %u and %llu",
                               (unsigned long long)b->labels[i], other, (unsigned long long)i);
        }
        place(slots, m->mask, b->labels[i], target(b, i));
    }
    return VW_OK;
}

vw_status vw_labelmap_build(vw_labelmap *m, const uint64_t *labels, const uint8_t *skip,
                            uint64_t n) {
    build_src b = {.labels = labels, .skip = skip, .n = n, .live = n};
    if (skip)
        for (uint64_t i = 0; i < n; i++)
            b.live -= skip[i] != 0;
    return build(m, &b, b.live);
}

vw_status vw_labelmap_build_permuted(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank,
                                     const uint8_t *skip, uint64_t n, uint64_t live,
                                     uint64_t capacity) {
    build_src b = {.labels = labels, .rank = rank, .skip = skip, .n = n, .live = live};
    return build(m, &b, capacity);
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
