/* attrs_map.c - the attribute store's two hash tables: 64-bit key -> 32-bit
 * value (labels -> records, keyword values -> postings) and interned
 * strings (field names, string values). Open addressing with linear
 * probing at load factor <= 1/2; keys are spread with vw_mix64. */
#include "attrs.h"

#include <stdlib.h>
#include <string.h>

static vw_status rehash(vw_u64map *m, uint64_t slots) {
    vw_u64map n = {.mask = slots - 1};
    n.keys = malloc(slots * sizeof *n.keys);
    n.vals = malloc(slots * sizeof *n.vals);
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return vw_fail(VW_ERR_NOMEM, "hash table of %llu slots", (unsigned long long)slots);
    }
    memset(n.vals, 0xff, slots * sizeof *n.vals);
    for (uint64_t i = 0; m->vals && i <= m->mask; i++)
        if (m->vals[i] != VW_NO_ID)
            vw_u64map_put(&n, m->keys[i], m->vals[i]);
    vw_u64map_free(m);
    *m = n;
    return VW_OK;
}

vw_status vw_u64map_reserve(vw_u64map *m, uint64_t n) {
    uint64_t need = m->used + n, slots = m->vals ? m->mask + 1 : 0;
    if (need * 2 <= slots)
        return VW_OK;
    uint64_t s = 16;
    while (s < need * 2)
        s *= 2;
    return rehash(m, s);
}

uint32_t vw_u64map_get(const vw_u64map *m, uint64_t key) {
    if (!m->vals)
        return VW_NO_ID;
    for (uint64_t i = vw_mix64(key) & m->mask;; i = (i + 1) & m->mask) {
        if (m->vals[i] == VW_NO_ID)
            return VW_NO_ID;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

void vw_u64map_put(vw_u64map *m, uint64_t key, uint32_t val) {
    VW_ASSERT(m->vals && (m->used + 1) * 2 <= m->mask + 1);
    uint64_t i = vw_mix64(key) & m->mask;
    while (m->vals[i] != VW_NO_ID)
        i = (i + 1) & m->mask;
    m->keys[i] = key;
    m->vals[i] = val;
    m->used++;
}

/* Backward-shift deletion: later members of the probe run move up, so a
 * lookup never stops early at the hole. */
void vw_u64map_del(vw_u64map *m, uint64_t key) {
    if (!m->vals)
        return;
    uint64_t i = vw_mix64(key) & m->mask;
    while (m->vals[i] != VW_NO_ID && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (m->vals[i] == VW_NO_ID)
        return;
    for (uint64_t j = (i + 1) & m->mask; m->vals[j] != VW_NO_ID; j = (j + 1) & m->mask) {
        uint64_t home = vw_mix64(m->keys[j]) & m->mask;
        /* j may move to i only if its home is not in (i, j] (cyclically) */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->vals[i] = VW_NO_ID;
    m->used--;
}

void vw_u64map_free(vw_u64map *m) {
    free(m->keys);
    free(m->vals);
    *m = (vw_u64map){0};
}

/* ------------------------------------------------------------------ strings */

static uint64_t str_hash(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return vw_mix64(h);
}

uint32_t vw_strtab_find(const vw_strtab *t, const char *s, size_t len) {
    if (!t->slots)
        return VW_NO_ID;
    for (uint64_t i = str_hash(s, len) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t id = t->slots[i];
        if (id == 0)
            return VW_NO_ID;
        id--;
        if (t->lens[id] == len && memcmp(t->strs[id], s, len) == 0)
            return id;
    }
}

static vw_status strtab_grow(vw_strtab *t) {
    uint64_t slots = t->slots ? (t->mask + 1) * 2 : 64;
    uint32_t *ns = calloc(slots, sizeof *ns);
    uint32_t cap = t->cap ? t->cap * 2 : 32;
    char **strs = realloc(t->strs, (size_t)cap * sizeof *strs);
    if (strs)
        t->strs = strs;
    uint32_t *lens = strs ? realloc(t->lens, (size_t)cap * sizeof *lens) : NULL;
    if (lens)
        t->lens = lens;
    if (!ns || !strs || !lens) {
        free(ns);
        return vw_fail(VW_ERR_NOMEM, "string table of %u strings", cap);
    }
    t->cap = cap;
    for (uint32_t id = 0; id < t->n; id++) {
        uint64_t i = str_hash(t->strs[id], t->lens[id]) & (slots - 1);
        while (ns[i])
            i = (i + 1) & (slots - 1);
        ns[i] = id + 1;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = slots - 1;
    return VW_OK;
}

vw_status vw_strtab_intern(vw_strtab *t, const char *s, size_t len, uint32_t *id) {
    if ((*id = vw_strtab_find(t, s, len)) != VW_NO_ID)
        return VW_OK;
    if (t->n == t->cap || (uint64_t)(t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0)) {
        vw_status st = strtab_grow(t);
        if (st != VW_OK)
            return st;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return vw_fail(VW_ERR_NOMEM, "string of %zu bytes", len);
    memcpy(copy, s, len);
    copy[len] = 0;
    uint64_t i = str_hash(s, len) & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = t->n + 1;
    t->strs[t->n] = copy;
    t->lens[t->n] = (uint32_t)len;
    t->bytes += len + 1 + sizeof(char *) + sizeof(uint32_t) + 2 * sizeof(uint32_t);
    *id = t->n++;
    return VW_OK;
}

void vw_strtab_free(vw_strtab *t) {
    for (uint32_t i = 0; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->lens);
    free(t->slots);
    *t = (vw_strtab){0};
}
