/* persist_check.c - what an index file's graph and rows must satisfy before a search
 * may use them, in both load modes. */
#include "graph_check.h"
#include "persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ graph checks (both modes) */

static bool is_free(const loader *ld, uint64_t id) {
    return ld->node_states && ld->node_states[id] == STATE_FREE;
}

/* Node states: 0 live, 1 removed, 2 free; counts the free slots. */
static vw_status check_states(loader *ld) {
    ld->nfree = 0;
    for (uint64_t i = 0; i < ld->count; i++) {
        if (ld->node_states[i] > STATE_FREE)
            return vw_fail(VW_ERR_CORRUPT, "node states: node %llu has state %u",
                           (unsigned long long)i, ld->node_states[i]);
        ld->nfree += ld->node_states[i] == STATE_FREE;
    }
    return VW_OK;
}

/* The node states come first (version 3): the other checks depend on which
 * slots are free. Both modes read them into a buffer of their own, so what
 * is checked is what the index is built from. */
vw_status vw_load_states(loader *ld) {
    if (!ld->states)
        return VW_OK;
    if (!(ld->node_states = malloc(ld->count > 0 ? (size_t)ld->count : 1)))
        return vw_fail(VW_ERR_NOMEM, "node states");
    vw_status st =
        vw_load_section(ld, &ld->sec[SEC_STATES], ld->node_states, section_name[SEC_STATES]);
    return st == VW_OK ? check_states(ld) : st;
}

/* The levels and the entry point (graph_check.c: as imported graphs), and
 * the levels must account for the upper-links section exactly. */
vw_status vw_load_check_levels(const loader *ld, const uint8_t *levels) {
    vw_status st = vw_graph_check_levels("levels", levels, ld->count, ld->node_states, STATE_FREE,
                                         ld->entry, ld->max_level);
    if (st != VW_OK)
        return st;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ld->count; i++)
        sum += levels[i];
    if (sum * (1 + ld->params.M) != ld->upper_words)
        return vw_fail(VW_ERR_CORRUPT, "upper links: section size does not match the levels");
    return VW_OK;
}

/* Version 3: a free slot has an empty list and no list names one. */
static vw_status check_free_refs(const loader *ld, const char *sec, uint64_t node, unsigned layer,
                                 const uint32_t *list) {
    if (is_free(ld, node) && list[0] != 0)
        return vw_fail(VW_ERR_CORRUPT, "%s: free slot %llu has %u neighbours", sec,
                       (unsigned long long)node, list[0]);
    for (uint32_t j = 0; j < list[0]; j++)
        if (is_free(ld, list[1 + j]))
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u neighbour %u is a free slot",
                           sec, (unsigned long long)node, layer, list[1 + j]);
    return VW_OK;
}

vw_status vw_load_check_free_links0(const loader *ld, const uint32_t *links0) {
    uint32_t row = 1 + 2 * ld->params.M;
    for (uint64_t i = 0; i < ld->count && ld->nfree > 0; i++) {
        vw_status st = check_free_refs(ld, "links0", i, 0, links0 + i * row);
        if (st != VW_OK)
            return st;
    }
    return VW_OK;
}

/* One list: count <= cap, ids < n, unused slots zero. Branch-free over
 * 32-bit words so that it vectorizes: over links0 this is most of the time
 * of an mmap load. */
static bool slots_ok(const uint32_t *list, uint32_t cap, uint32_t n) {
    uint32_t c = list[0];
    uint32_t bad = c > cap;
    for (uint32_t j = 0; j < cap; j++) {
        uint32_t limit = j < c ? n : 1; /* unused slots: only 0 passes */
        bad |= list[1 + j] >= limit;
    }
    return !bad;
}

/* An upper-layer list also needs every neighbour to reach its layer. */
static bool upper_ok(const uint32_t *list, uint32_t cap, uint32_t n, const uint8_t *levels,
                     unsigned layer) {
    if (!slots_ok(list, cap, n))
        return false;
    for (uint32_t j = 0; j < list[0]; j++)
        if (levels[list[1 + j]] < layer)
            return false;
    return true;
}

/* Says precisely what is wrong with a list that failed slots_ok/upper_ok:
 * what graph_check.c finds in any graph, or a stale id in an unused slot. */
static vw_status list_error(const char *sec, uint64_t node, unsigned layer, const uint32_t *list,
                            uint32_t cap, uint64_t n, const uint8_t *levels) {
    vw_status st = vw_graph_check_list(sec, node, layer, list + 1, list[0], cap, n, levels);
    if (st != VW_OK)
        return st;
    for (uint32_t j = list[0]; j < cap; j++)
        if (list[1 + j] != 0)
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u unused slot %u not zero", sec,
                           (unsigned long long)node, layer, j);
    return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u invalid", sec, (unsigned long long)node,
                   layer);
}

/* links0 is most of an mmap load's work (260 MB at 1M x M=32), so it is
 * checked on all CPUs in chunks taken from a counter. Each worker stops at
 * its first bad list; the smallest bad node is reported, as a serial scan
 * would. */
#define LINKS0_CHUNK 16384u

typedef struct links0_scan {
    const uint32_t *links0;
    uint64_t count;
    uint32_t cap;
    atomic_uint_fast64_t next_chunk;
    atomic_uint_fast64_t first_bad; /* count when none */
} links0_scan;

static void links0_worker(void *p, unsigned worker) {
    links0_scan *sc = p;
    (void)worker;
    for (;;) {
        uint64_t from = atomic_fetch_add(&sc->next_chunk, 1) * LINKS0_CHUNK;
        if (from >= sc->count || from > atomic_load(&sc->first_bad))
            return;
        uint64_t to = from + LINKS0_CHUNK < sc->count ? from + LINKS0_CHUNK : sc->count;
        for (uint64_t i = from; i < to; i++)
            if (!slots_ok(sc->links0 + i * (1 + sc->cap), sc->cap, (uint32_t)sc->count)) {
                uint_fast64_t seen = atomic_load(&sc->first_bad);
                while (i < seen && !atomic_compare_exchange_weak(&sc->first_bad, &seen, i))
                    ;
                return;
            }
    }
}

vw_status vw_load_check_links0(const loader *ld, const uint32_t *links0, const uint8_t *levels) {
    links0_scan sc = {.links0 = links0, .count = ld->count, .cap = 2 * ld->params.M};
    atomic_init(&sc.next_chunk, 0);
    atomic_init(&sc.first_bad, ld->count);
    unsigned threads = ld->count >= 8 * LINKS0_CHUNK ? vw_default_threads() : 1;
    if (threads > 8)
        threads = 8;
    vw_status st = vw_parallel(threads, links0_worker, &sc);
    if (st != VW_OK)
        return st;
    uint64_t bad = atomic_load(&sc.first_bad);
    if (bad == ld->count)
        return VW_OK;
    return list_error("links0", bad, 0, links0 + bad * (1 + sc.cap), sc.cap, ld->count, levels);
}

/* Version 4 packed layer-0 lists: `count, ids...` back to back, each as
 * long as its count. One parser serves both load modes: read mode feeds it
 * the section in chunks and has it unpack each list into the fixed rows of
 * links0 (unused slots zeroed); mmap mode feeds it the mapped section and
 * has it note where each list starts (at[id], in words). It checks the
 * counts and that the lists fill the section exactly; the ids are checked
 * afterwards, as those of a fixed section are. */
typedef struct unpacker {
    uint32_t *links0; /* fixed rows to fill, or NULL */
    uint32_t *at;     /* where each list starts, or NULL */
    uint32_t cap;     /* 2M */
    uint64_t count;   /* nodes */
    uint64_t node;    /* the list being read */
    uint64_t word;    /* words read so far */
    uint32_t pos;     /* the list's next word: 0 is the count */
    uint32_t left;    /* ids still to come */
    vw_status error;  /* the first malformed list */
} unpacker;

static void unpack_words(unpacker *u, const uint32_t *w, size_t n) {
    for (size_t i = 0; i < n && u->error == VW_OK; i++, u->word++) {
        if (u->node >= u->count) {
            u->error = vw_fail(VW_ERR_CORRUPT, "links0: packed lists run past %llu nodes",
                               (unsigned long long)u->count);
            return;
        }
        uint32_t *list = u->links0 ? u->links0 + u->node * (1 + (size_t)u->cap) : NULL;
        if (u->pos == 0) {
            if (w[i] > u->cap) {
                u->error =
                    vw_fail(VW_ERR_CORRUPT, "links0: node %llu layer 0 has %u neighbours, max %u",
                            (unsigned long long)u->node, w[i], u->cap);
                return;
            }
            if (u->at)
                u->at[u->node] = (uint32_t)u->word; /* the caller keeps words below 2^32 */
            if (list) {
                list[0] = w[i];
                memset(list + 1 + w[i], 0, (size_t)(u->cap - w[i]) * sizeof *list);
            }
            u->left = w[i];
            u->pos = 1;
        } else {
            if (list)
                list[u->pos] = w[i];
            u->pos++;
            u->left--;
        }
        if (u->left == 0) {
            u->node++;
            u->pos = 0;
        }
    }
}

/* After the last word: the first malformed list, or a section that ended
 * before the last list did. */
static vw_status unpack_end(const unpacker *u) {
    if (u->error != VW_OK)
        return u->error; /* its detail is the latest recorded */
    if (u->node < u->count)
        return vw_fail(VW_ERR_CORRUPT, "links0: packed lists end inside node %llu of %llu",
                       (unsigned long long)u->node, (unsigned long long)u->count);
    return VW_OK;
}

/* Read mode: the section in chunks, each checksummed while in cache; a
 * checksum mismatch is reported before a malformed list, as in the fixed
 * layout. */
static vw_status unpack_links0(const loader *ld, uint32_t *links0) {
    const section *s = &ld->sec[SEC_LINKS0];
    uint32_t *buf = malloc(READ_CHUNK);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "read buffer");
    unpacker u = {.links0 = links0, .cap = 2 * ld->params.M, .count = ld->count};
    uint32_t crc = 0;
    vw_status st = VW_OK;
    for (uint64_t done = 0; done < s->length && st == VW_OK;) {
        size_t chunk = s->length - done < READ_CHUNK ? (size_t)(s->length - done) : READ_CHUNK;
        st = vw_load_read_at(ld, buf, chunk, s->offset + done);
        if (st == VW_OK && ld->verify)
            crc = vw_crc32c(crc, buf, chunk);
        if (st == VW_OK)
            unpack_words(&u, buf, chunk / sizeof *buf);
        done += chunk;
    }
    free(buf);
    if (st != VW_OK)
        return st;
    if (ld->verify && crc != s->crc)
        return vw_load_crc_mismatch(section_name[SEC_LINKS0]);
    return unpack_end(&u);
}

/* The layer-0 lists into links0 (fixed rows), from either layout, checked. */
vw_status vw_load_links0(const loader *ld, uint32_t *links0, const uint8_t *levels) {
    vw_status st = ld->packed ? unpack_links0(ld, links0)
                              : vw_load_section(ld, &ld->sec[SEC_LINKS0], links0, "links0");
    if (st == VW_OK)
        st = vw_load_check_links0(ld, links0, levels);
    return st == VW_OK ? vw_load_check_free_links0(ld, links0) : st;
}

/* Rows first..first+n-1 (v points at row `first`) must be what an insert
 * would have accepted, so that no distance can be NaN or overflow. */
vw_status vw_load_check_vectors(const loader *ld, const float *v, const char *sec, uint64_t first,
                                uint64_t n) {
    uint32_t dim = ld->params.dim;
    for (uint64_t i = 0; i < n; i++)
        if (vw_check_vector(v + i * dim, dim, NULL) != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(VW_ERR_CORRUPT, "%s: row %llu: %s", sec, (unsigned long long)(first + i),
                           why);
        }
    return VW_OK;
}

/* The same for the rows searches walk: float32 rows are checked as above,
 * binary16 ones for infinities and NaNs (every finite half is in range),
 * i8 codes need nothing (every byte decodes within the checked codec). */
vw_status vw_load_check_codes(const loader *ld, const unsigned char *codes, uint64_t first,
                              uint64_t n) {
    if (ld->params.storage == VW_STORAGE_F32)
        return vw_load_check_vectors(ld, (const float *)(const void *)codes, "vectors", first, n);
    if (ld->params.storage == VW_STORAGE_I8)
        return VW_OK;
    uint32_t dim = ld->params.dim;
    const uint16_t *h = (const uint16_t *)(const void *)codes;
    for (uint64_t i = 0; i < n * dim; i++)
        if ((h[i] & 0x7c00u) == 0x7c00u)
            return vw_fail(VW_ERR_CORRUPT, "vectors: row %llu component %llu is not finite",
                           (unsigned long long)(first + i / dim), (unsigned long long)(i % dim));
    return VW_OK;
}

/* Checks rows first..first+n-1 of a row section (vectors or float32). */
vw_status vw_load_check_rows(const loader *ld, int sec, const unsigned char *rows, uint64_t first,
                             uint64_t n) {
    if (sec == SEC_FLOAT32)
        return vw_load_check_vectors(ld, (const float *)(const void *)rows, "float32", first, n);
    return vw_load_check_codes(ld, rows, first, n);
}

/* The upper-links section: for each node in id order, levels[id] lists of
 * 1 + M words (layer 1 first). */
vw_status vw_load_check_upper(const loader *ld, const uint32_t *upper, const uint8_t *levels) {
    uint32_t cap = ld->params.M;
    for (uint64_t i = 0; i < ld->count; i++)
        for (unsigned layer = 1; layer <= levels[i]; layer++) {
            if (!upper_ok(upper, cap, (uint32_t)ld->count, levels, layer))
                return list_error("upper links", i, layer, upper, cap, ld->count, levels);
            vw_status st = ld->nfree ? check_free_refs(ld, "upper links", i, layer, upper) : VW_OK;
            if (st != VW_OK)
                return st;
            upper += 1 + cap;
        }
    return VW_OK;
}

/* Labels of free slots are zero; those of live nodes are distinct (removed
 * nodes keep theirs, which a live node may hold again). */
vw_status vw_load_label_map(vw_index *ix, const loader *ld) {
    for (uint64_t i = 0; i < ld->count && ld->nfree > 0; i++)
        if (is_free(ld, i) && ix->labels[i] != 0)
            return vw_fail(VW_ERR_CORRUPT, "labels: free slot %llu has label %llu",
                           (unsigned long long)i, (unsigned long long)ix->labels[i]);
    return vw_labelmap_build(&ix->map, ix->labels, ld->node_states, ld->count);
}

/* Mapped packed lists are searched in place: the parser notes where each
 * list starts, then each is checked as vw_load_check_links0 and vw_load_check_free_links0
 * check fixed rows (ids < n, free slots empty and never named). */
vw_status vw_load_index_packed(const loader *ld, const uint32_t *words, uint32_t *at) {
    unpacker u = {.at = at, .cap = 2 * ld->params.M, .count = ld->count};
    unpack_words(&u, words, ld->sec[SEC_LINKS0].length / sizeof *words);
    vw_status st = unpack_end(&u);
    for (uint64_t i = 0; i < ld->count && st == VW_OK; i++) {
        const uint32_t *list = words + at[i];
        st = vw_graph_check_list("links0", i, 0, list + 1, list[0], 2 * ld->params.M, ld->count,
                                 NULL);
        if (st == VW_OK)
            st = check_free_refs(ld, "links0", i, 0, list);
    }
    return st;
}
