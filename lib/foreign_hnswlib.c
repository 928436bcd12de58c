/*
 * foreign_hnswlib.c - reads a file written by hnswlib's saveIndex (Python
 * save_index), HierarchicalNSW<float> in the l2, ip or cosine space
 * (FOREIGN.md has the layout).
 *
 * The file is hnswlib's memory written out: a 96-byte header, then one
 * fixed-size block per element (level-0 list: a count and maxM0 slots; the
 * vector; the label), then for each element a byte size and its upper-layer
 * lists. The header's fields are tied together (offsets inside a block,
 * block size, counts against the capacity), and the element levels exist
 * only as the sizes of the upper lists, so the whole file is walked once
 * before anything is built: sizes against the file length, levels against
 * the top level, deleted marks, and the file ending right after the last
 * list. Neighbour ids are checked as each list is read.
 *
 * Slots past a list's count hold stale ids in hnswlib (left from longer
 * lists), so only the first `count` are read. The space is not in the file:
 * the caller names it. Deleted elements (bit 0 of the byte after a level-0
 * count) are left out; see foreign.c for how their lists are bridged.
 */
#include "foreign.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 96u

typedef struct hnsw_file {
    vw_src *src;
    vw_src blocks, upper, random; /* level-0 blocks and upper lists in node order; any */
    uint64_t max_elements, n, block, label_off, data_off;
    uint64_t max_m, max_m0, ef_construction;
    int32_t max_level;
    uint32_t entry, dim;
    uint8_t *levels, *dead;
    uint64_t *upper_off; /* file offset of each element's upper lists */
    uint64_t ndead;
} hnsw_file;

static vw_status corrupt_header(const char *what) {
    return vw_fail(VW_ERR_CORRUPT, "hnswlib: header: %s", what);
}

/* The block layout: offsetLevel0 = 0, the vector right after maxM0 + 1
 * words, the label after the vector, 8 bytes of label ending the block. */
static vw_status check_layout(hnsw_file *hf, const unsigned char *h) {
    uint64_t level0 = vw_le(h, 8);
    hf->max_elements = vw_le(h + 8, 8);
    hf->n = vw_le(h + 16, 8);
    hf->block = vw_le(h + 24, 8);
    hf->label_off = vw_le(h + 32, 8);
    hf->data_off = vw_le(h + 40, 8);
    hf->max_m = vw_le(h + 56, 8);
    hf->max_m0 = vw_le(h + 64, 8);
    if (level0 != 0)
        return corrupt_header("offsetLevel0 is not 0");
    if (hf->max_m0 == 0 || hf->max_m0 > 0xffff || hf->max_m == 0 || hf->max_m > 0xffff)
        return corrupt_header("maxM or maxM0 outside 1..65535");
    if (hf->data_off != 4 + 4 * hf->max_m0)
        return corrupt_header("offsetData does not follow the level-0 list");
    if (hf->label_off <= hf->data_off || hf->block != hf->label_off + 8)
        return corrupt_header("label offset and element size do not fit the vector");
    uint64_t bytes = hf->label_off - hf->data_off;
    if (bytes % 4 != 0 || bytes / 4 > VW_MAX_DIM)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "hnswlib: vectors of %llu bytes are not float32 of 1..%u dimensions",
                       (unsigned long long)bytes, VW_MAX_DIM);
    hf->dim = (uint32_t)(bytes / 4);
    return VW_OK;
}

static vw_status check_counts(hnsw_file *hf, const unsigned char *h) {
    hf->max_level = (int32_t)vw_le(h + 48, 4);
    hf->entry = (uint32_t)vw_le(h + 52, 4);
    hf->ef_construction = vw_le(h + 88, 8);
    if (hf->n > hf->max_elements)
        return corrupt_header("more elements than its capacity");
    if (hf->n > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_UNSUPPORTED, "hnswlib: %llu elements, more than an index holds (%u)",
                       (unsigned long long)hf->n, VW_MAX_ELEMENTS);
    bool empty = hf->n == 0;
    if (empty ? hf->max_level != -1 || hf->entry != UINT32_MAX
              : hf->max_level < 0 || hf->entry >= hf->n)
        return vw_fail(VW_ERR_CORRUPT,
                       "hnswlib: entry point %u / max level %d invalid for %llu "
                       "elements",
                       hf->entry, hf->max_level, (unsigned long long)hf->n);
    if (hf->max_level > (int32_t)VW_MAX_LEVEL)
        return vw_fail(VW_ERR_UNSUPPORTED, "hnswlib: top layer %d above %u", hf->max_level,
                       VW_MAX_LEVEL);
    if (hf->ef_construction == 0)
        return corrupt_header("ef_construction is 0");
    return vw_src_need(hf->src, HEADER_BYTES, hf->n * hf->block, "hnswlib: element blocks");
}

static vw_status read_header(hnsw_file *hf) {
    unsigned char h[HEADER_BYTES];
    vw_status st = vw_src_read(hf->src, 0, h, sizeof h, "hnswlib: header");
    if (st == VW_OK)
        st = check_layout(hf, h);
    if (st == VW_OK)
        st = check_counts(hf, h);
    return st;
}

static uint64_t block_at(const hnsw_file *hf, uint64_t node) {
    return HEADER_BYTES + node * hf->block;
}

/* The level-0 list word: count in the low 16 bits, the deleted mark in
 * bit 0 of the third byte, the rest zero. */
static vw_status read_marks(hnsw_file *hf) {
    for (uint64_t i = 0; i < hf->n; i++) {
        unsigned char w[4];
        vw_status st = vw_src_read(&hf->blocks, block_at(hf, i), w, 4, "hnswlib: element header");
        if (st != VW_OK)
            return st;
        if ((w[2] & ~1u) != 0 || w[3] != 0)
            return vw_fail(VW_ERR_CORRUPT, "hnswlib: element %llu: unknown flags 0x%02x%02x",
                           (unsigned long long)i, w[3], w[2]);
        hf->dead[i] = w[2] & 1u;
        hf->ndead += hf->dead[i];
    }
    return VW_OK;
}

/* Each element's upper lists: a byte size, a whole number of lists of
 * 1 + maxM words, as many as the element's top layer. */
static vw_status read_levels(hnsw_file *hf) {
    uint64_t pos = block_at(hf, hf->n), list_bytes = 4 + 4 * hf->max_m;
    for (uint64_t i = 0; i < hf->n; i++) {
        uint32_t size;
        vw_status st = vw_src_u32(&hf->upper, &pos, "hnswlib: upper list size", &size);
        if (st != VW_OK)
            return st;
        if (size % list_bytes != 0 || size / list_bytes > (uint64_t)hf->max_level)
            return vw_fail(VW_ERR_CORRUPT,
                           "hnswlib: element %llu: upper lists of %u bytes at "
                           "offset %llu (lists of %llu bytes, top layer %d)",
                           (unsigned long long)i, size, (unsigned long long)(pos - 4),
                           (unsigned long long)list_bytes, hf->max_level);
        if ((st = vw_src_need(hf->src, pos, size, "hnswlib: upper lists")) != VW_OK)
            return st;
        hf->levels[i] = (uint8_t)(size / list_bytes);
        hf->upper_off[i] = pos;
        pos += size;
    }
    if (pos != hf->src->size)
        return vw_fail(VW_ERR_CORRUPT, "hnswlib: %llu bytes follow the last list at offset %llu",
                       (unsigned long long)(hf->src->size - pos), (unsigned long long)pos);
    return VW_OK;
}

static vw_status read_file(hnsw_file *hf) {
    vw_status st = read_header(hf);
    if (st != VW_OK)
        return st;
    /* n blocks are in the file, so these are bounded by its size */
    hf->levels = malloc(hf->n ? hf->n : 1);
    hf->dead = malloc(hf->n ? hf->n : 1);
    hf->upper_off = malloc((hf->n ? hf->n : 1) * sizeof *hf->upper_off);
    if (!hf->levels || !hf->dead || !hf->upper_off)
        return vw_fail(VW_ERR_NOMEM, "hnswlib: tables of %llu elements", (unsigned long long)hf->n);
    if ((st = vw_src_view(hf->src, 1u << 20, &hf->blocks)) != VW_OK ||
        (st = vw_src_view(hf->src, 1u << 20, &hf->upper)) != VW_OK ||
        (st = vw_src_view(hf->src, 1u << 12, &hf->random)) != VW_OK)
        return st;
    if ((st = read_marks(hf)) != VW_OK)
        return st;
    return read_levels(hf);
}

/* ------------------------------------------------------------------ node access */

static vw_status node_vector(void *ctx, uint64_t node, float *out) {
    hnsw_file *hf = ctx; /* asked for live elements only, in order */
    return vw_src_floats(&hf->blocks, block_at(hf, node) + hf->data_off, out, hf->dim,
                         "hnswlib: vector");
}

static vw_status node_label(void *ctx, uint64_t node, uint64_t *out) {
    hnsw_file *hf = ctx;
    uint64_t pos = block_at(hf, node) + hf->label_off;
    return vw_src_u64(&hf->blocks, &pos, "hnswlib: label", out);
}

/* A list: a word whose low 16 bits count the ids that follow (the high 16
 * bits hold the level-0 flags, zero above), then the ids. */
static vw_status node_list(void *ctx, uint64_t node, unsigned level, uint32_t *ids,
                           uint32_t *count) {
    hnsw_file *hf = ctx;
    vw_src *view = hf->dead[node] ? &hf->random : level == 0 ? &hf->blocks : &hf->upper;
    uint64_t at = level == 0 ? block_at(hf, node)
                             : hf->upper_off[node] + (uint64_t)(level - 1) * (4 + 4 * hf->max_m);
    uint64_t cap = level == 0 ? hf->max_m0 : hf->max_m;
    uint32_t word;
    vw_status st = vw_src_u32(view, &at, "hnswlib: list count", &word);
    if (st != VW_OK)
        return st;
    uint32_t c = word & 0xffff;
    if (c > cap || (level > 0 && word >> 16 != 0))
        return vw_fail(VW_ERR_CORRUPT,
                       "hnswlib: element %llu layer %u: list word 0x%08x at offset "
                       "%llu (at most %llu ids)",
                       (unsigned long long)node, level, word, (unsigned long long)(at - 4),
                       (unsigned long long)cap);
    for (uint32_t j = 0; j < c; j++) {
        if ((st = vw_src_u32(view, &at, "hnswlib: list", &ids[j])) != VW_OK)
            return st;
        if (ids[j] >= hf->n)
            return vw_fail(VW_ERR_CORRUPT,
                           "hnswlib: element %llu layer %u: neighbour %u >= "
                           "count %llu (offset %llu)",
                           (unsigned long long)node, level, ids[j], (unsigned long long)hf->n,
                           (unsigned long long)(at - 4));
    }
    *count = c;
    return VW_OK;
}

/* ------------------------------------------------------------------ import */

static vw_status build(hnsw_file *hf, const vw_import_options *o, vw_index **out) {
    vw_foreign f = {.n = hf->n,
                    .levels = hf->levels,
                    .dead = hf->ndead ? hf->dead : NULL,
                    .entry = hf->n ? hf->entry : VW_NO_NODE,
                    .max_level = hf->max_level,
                    .dup_label = VW_ERR_CORRUPT,
                    .ctx = hf,
                    .vector = node_vector,
                    .label = node_label,
                    .list = node_list};
    vw_params_default(&f.params, hf->dim);
    f.params.metric = o->metric;
    f.params.seed = o->seed;
    f.params.capacity = 0;
    f.params.ef_construction =
        hf->ef_construction > VW_MAX_EF ? VW_MAX_EF : (uint32_t)hf->ef_construction;
    vw_status st = vw_foreign_fit_m(hf->max_m0, hf->max_level > 0 ? hf->max_m : 0, &f.params);
    return st == VW_OK ? vw_foreign_build(&f, out) : st;
}

vw_status vw_import_hnswlib(vw_src *src, const vw_import_options *o, vw_index **out) {
    if (!o->has_metric)
        return vw_fail(VW_ERR_INVALID_ARG, "an hnswlib file does not record its space: give the "
                                           "metric it was built with (l2, ip or cosine)");
    hnsw_file hf = {.src = src, .blocks.fd = -1, .upper.fd = -1, .random.fd = -1};
    vw_status st = read_file(&hf);
    if (st == VW_OK)
        st = build(&hf, o, out);
    vw_src_close(&hf.blocks);
    vw_src_close(&hf.upper);
    vw_src_close(&hf.random);
    free(hf.levels);
    free(hf.dead);
    free(hf.upper_off);
    return st;
}
