/*
 * foreign_faiss.c - reads an IndexHNSWFlat written by faiss.write_index,
 * bare or inside an IndexIDMap / IndexIDMap2 (FOREIGN.md has the layout).
 *
 * A Faiss file is a tree of objects, each a fourcc then its fields, with
 * std::vector fields stored as a 64-bit element count then the elements. For
 * HNSWFlat the graph comes first (levels, per-node offsets into one flat
 * neighbour array, the array itself padded with -1), then the vectors, then
 * for an IDMap the ids. The whole file is validated before the importer
 * asks for any node: every vector's count against the element count and the
 * bytes left, the offsets against the levels and the per-level slot counts
 * (cum_nneighbor_per_level), the entry point, and that nothing follows.
 * Neighbour ids are checked as each list is read.
 *
 * Faiss numbers levels from 1 (levels[i] = top layer + 1) and gives each
 * layer its own slot count; here layer l of node i is
 * neighbors[offsets[i] + cum[l] .. offsets[i] + cum[l+1]), ending at the
 * first -1. Faiss's inner-product graph is built on -<a,b>, which orders
 * nodes exactly as our 1 - <a,b> does, so the graph is used as it is.
 */
#include "foreign.h"

#include <stdlib.h>
#include <string.h>

#define FAISS_MAX_LEVELS 1024u /* far above any real file (M = 2 gives 30) */

enum { FAISS_METRIC_IP = 0, FAISS_METRIC_L2 = 1 };

typedef struct faiss_header {
    int32_t d;
    int64_t ntotal;
    int32_t metric;
} faiss_header;

typedef struct faiss_file {
    vw_src *src;
    vw_src vec, nbr, ids; /* views walking the vectors, neighbours and ids in node order */
    faiss_header h;
    uint32_t ncum;
    uint32_t *cum; /* ncum cumulative slot counts */
    uint8_t *levels;
    uint64_t *offsets; /* n + 1 */
    uint64_t nbr_off, vec_off, ids_off;
    bool idmap;
    int32_t entry, max_level, ef_construction;
} faiss_file;

static bool fourcc_is(const char *got, const char *want) {
    return memcmp(got, want, 4) == 0;
}

static vw_status read_fourcc(faiss_file *ff, uint64_t *pos, char out[5]) {
    vw_status st = vw_src_read(ff->src, *pos, out, 4, "fourcc");
    *pos += 4;
    out[4] = '\0';
    for (int i = 0; i < 4; i++)
        if (out[i] < 0x20 || out[i] > 0x7e)
            out[i] = '?'; /* printable in messages */
    return st;
}

/* The header every Faiss index has after its fourcc. */
static vw_status read_header(faiss_file *ff, uint64_t *pos, faiss_header *h) {
    int64_t dummy;
    uint8_t trained;
    vw_status st;
    if ((st = vw_src_i32(ff->src, pos, "header d", &h->d)) != VW_OK ||
        (st = vw_src_i64(ff->src, pos, "header ntotal", &h->ntotal)) != VW_OK ||
        (st = vw_src_i64(ff->src, pos, "header", &dummy)) != VW_OK ||
        (st = vw_src_i64(ff->src, pos, "header", &dummy)) != VW_OK ||
        (st = vw_src_u8(ff->src, pos, "header is_trained", &trained)) != VW_OK ||
        (st = vw_src_i32(ff->src, pos, "header metric_type", &h->metric)) != VW_OK)
        return st;
    if (trained > 1)
        return vw_fail(VW_ERR_CORRUPT, "faiss: is_trained is %u, not a boolean", trained);
    if (h->metric != FAISS_METRIC_L2 && h->metric != FAISS_METRIC_IP)
        return vw_fail(h->metric < 0 ? VW_ERR_CORRUPT : VW_ERR_UNSUPPORTED,
                       "faiss: metric_type %d; only L2 (1) and inner product (0) are supported",
                       h->metric);
    if (h->d <= 0 || h->ntotal < 0)
        return vw_fail(VW_ERR_CORRUPT, "faiss: header has d = %d, ntotal = %lld", h->d,
                       (long long)h->ntotal);
    if ((uint32_t)h->d > VW_MAX_DIM)
        return vw_fail(VW_ERR_UNSUPPORTED, "faiss: dimension %d above %u", h->d, VW_MAX_DIM);
    if ((uint64_t)h->ntotal > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_UNSUPPORTED, "faiss: %lld vectors, more than an index holds (%u)",
                       (long long)h->ntotal, VW_MAX_ELEMENTS);
    return VW_OK;
}

static bool same_header(const faiss_header *a, const faiss_header *b) {
    return a->d == b->d && a->ntotal == b->ntotal && a->metric == b->metric;
}

/* A std::vector's element count, which must be `want` and fit in the file. */
static vw_status vector_count(faiss_file *ff, uint64_t *pos, uint64_t want, unsigned elem,
                              const char *what) {
    uint64_t count;
    uint64_t at = *pos;
    vw_status st = vw_src_u64(ff->src, pos, what, &count);
    if (st != VW_OK)
        return st;
    if (count != want)
        return vw_fail(VW_ERR_CORRUPT, "faiss: %s at offset %llu has %llu elements, expected %llu",
                       what, (unsigned long long)at, (unsigned long long)count,
                       (unsigned long long)want);
    if (want > UINT64_MAX / elem)
        return vw_fail(VW_ERR_TRUNCATED, "faiss: %s of %llu elements cannot fit in the file", what,
                       (unsigned long long)want);
    return vw_src_need(ff->src, *pos, want * elem, what);
}

/* assign_probas (level draw probabilities, unused here) and the cumulative
 * slot counts per level. */
static vw_status read_slots(faiss_file *ff, uint64_t *pos) {
    uint64_t nprobas, at = *pos;
    vw_status st = vw_src_u64(ff->src, pos, "hnsw.assign_probas", &nprobas);
    if (st != VW_OK)
        return st;
    if (nprobas >= FAISS_MAX_LEVELS)
        return vw_fail(VW_ERR_CORRUPT, "faiss: hnsw.assign_probas at offset %llu has %llu levels",
                       (unsigned long long)at, (unsigned long long)nprobas);
    if ((st = vw_src_need(ff->src, *pos, nprobas * 8, "hnsw.assign_probas")) != VW_OK)
        return st;
    *pos += nprobas * 8;
    ff->ncum = (uint32_t)nprobas + 1;
    if ((st = vector_count(ff, pos, ff->ncum, 4, "hnsw.cum_nneighbor_per_level")) != VW_OK)
        return st;
    ff->cum = malloc(ff->ncum * sizeof *ff->cum);
    if (!ff->cum)
        return vw_fail(VW_ERR_NOMEM, "faiss: slot counts");
    for (uint32_t l = 0; l < ff->ncum; l++) {
        int32_t c;
        if ((st = vw_src_i32(ff->src, pos, "hnsw.cum_nneighbor_per_level", &c)) != VW_OK)
            return st;
        if ((l == 0 && c != 0) || c < 0 || (l > 0 && (uint32_t)c < ff->cum[l - 1]))
            return vw_fail(VW_ERR_CORRUPT,
                           "faiss: cum_nneighbor_per_level[%u] = %d does not start at 0 and grow",
                           l, c);
        ff->cum[l] = (uint32_t)c;
    }
    return VW_OK;
}

/* levels[i] is node i's top layer + 1, in 1..ncum-1. */
static vw_status read_levels(faiss_file *ff, uint64_t *pos) {
    uint64_t n = (uint64_t)ff->h.ntotal;
    vw_status st = vector_count(ff, pos, n, 4, "hnsw.levels");
    if (st != VW_OK)
        return st;
    ff->levels = malloc(n ? n : 1);
    if (!ff->levels)
        return vw_fail(VW_ERR_NOMEM, "faiss: levels of %llu elements", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        int32_t v;
        if ((st = vw_src_i32(ff->src, pos, "hnsw.levels", &v)) != VW_OK)
            return st;
        if (v < 1 || (uint32_t)v >= ff->ncum)
            return vw_fail(VW_ERR_CORRUPT, "faiss: levels[%llu] = %d outside 1..%u",
                           (unsigned long long)i, v, ff->ncum - 1);
        if ((uint32_t)v - 1 > VW_MAX_LEVEL)
            return vw_fail(VW_ERR_UNSUPPORTED, "faiss: element %llu is on layer %d, above %u",
                           (unsigned long long)i, v - 1, VW_MAX_LEVEL);
        ff->levels[i] = (uint8_t)(v - 1);
    }
    return VW_OK;
}

/* offsets[i+1] - offsets[i] must be the slots of node i's levels. */
static vw_status read_offsets(faiss_file *ff, uint64_t *pos) {
    uint64_t n = (uint64_t)ff->h.ntotal;
    vw_status st = vector_count(ff, pos, n + 1, 8, "hnsw.offsets");
    if (st != VW_OK)
        return st;
    ff->offsets = malloc((n + 1) * sizeof *ff->offsets);
    if (!ff->offsets)
        return vw_fail(VW_ERR_NOMEM, "faiss: offsets of %llu elements", (unsigned long long)n);
    uint64_t expect = 0;
    for (uint64_t i = 0; i <= n; i++) {
        if ((st = vw_src_u64(ff->src, pos, "hnsw.offsets", &ff->offsets[i])) != VW_OK)
            return st;
        if (ff->offsets[i] != expect)
            return vw_fail(VW_ERR_CORRUPT, "faiss: offsets[%llu] = %llu, expected %llu",
                           (unsigned long long)i, (unsigned long long)ff->offsets[i],
                           (unsigned long long)expect);
        if (i < n)
            expect += ff->cum[ff->levels[i] + 1];
    }
    return VW_OK;
}

/* Entry point and top level: -1 and -1 for an empty index. The rest of the
 * agreement with the levels is the importer's check. */
static vw_status read_entry(faiss_file *ff, uint64_t *pos) {
    int32_t ef_search, upper_beam;
    vw_status st;
    if ((st = vw_src_i32(ff->src, pos, "hnsw.entry_point", &ff->entry)) != VW_OK ||
        (st = vw_src_i32(ff->src, pos, "hnsw.max_level", &ff->max_level)) != VW_OK ||
        (st = vw_src_i32(ff->src, pos, "hnsw.efConstruction", &ff->ef_construction)) != VW_OK ||
        (st = vw_src_i32(ff->src, pos, "hnsw.efSearch", &ef_search)) != VW_OK ||
        (st = vw_src_i32(ff->src, pos, "hnsw.upper_beam", &upper_beam)) != VW_OK)
        return st;
    bool empty = ff->h.ntotal == 0;
    if (empty ? ff->entry != -1 || ff->max_level != -1
              : ff->entry < 0 || ff->entry >= ff->h.ntotal || ff->max_level < 0)
        return vw_fail(VW_ERR_CORRUPT,
                       "faiss: entry point %d / max level %d invalid for %lld "
                       "elements",
                       ff->entry, ff->max_level, (long long)ff->h.ntotal);
    if (ff->ef_construction <= 0)
        return vw_fail(VW_ERR_CORRUPT, "faiss: efConstruction %d", ff->ef_construction);
    return VW_OK;
}

static vw_status read_graph(faiss_file *ff, uint64_t *pos) {
    vw_status st;
    if ((st = read_slots(ff, pos)) != VW_OK || (st = read_levels(ff, pos)) != VW_OK ||
        (st = read_offsets(ff, pos)) != VW_OK)
        return st;
    uint64_t total = ff->offsets[ff->h.ntotal];
    if ((st = vector_count(ff, pos, total, 4, "hnsw.neighbors")) != VW_OK)
        return st;
    ff->nbr_off = *pos;
    *pos += total * 4;
    return read_entry(ff, pos);
}

/* The flat storage: its own fourcc and header, then ntotal * d floats. */
static vw_status read_storage(faiss_file *ff, uint64_t *pos) {
    char fourcc[5];
    vw_status st = read_fourcc(ff, pos, fourcc);
    if (st != VW_OK)
        return st;
    if (fourcc_is(fourcc, "null"))
        return vw_fail(VW_ERR_UNSUPPORTED, "faiss: the file holds the graph without its vectors "
                                           "(written with IO_FLAG_SKIP_STORAGE)");
    const char *want = ff->h.metric == FAISS_METRIC_L2 ? "IxF2" : "IxFI";
    if (!fourcc_is(fourcc, want))
        return vw_fail(VW_ERR_UNSUPPORTED, "faiss: storage '%s' where an IndexHNSWFlat has '%s'",
                       fourcc, want);
    faiss_header sh;
    if ((st = read_header(ff, pos, &sh)) != VW_OK)
        return st;
    if (!same_header(&sh, &ff->h))
        return vw_fail(VW_ERR_CORRUPT,
                       "faiss: storage header (d %d, ntotal %lld) differs from the "
                       "index's (d %d, ntotal %lld)",
                       sh.d, (long long)sh.ntotal, ff->h.d, (long long)ff->h.ntotal);
    uint64_t floats = (uint64_t)ff->h.ntotal * (uint64_t)ff->h.d; /* < 2^31 * 2^12 */
    if ((st = vector_count(ff, pos, floats, 4, "storage codes")) != VW_OK)
        return st;
    ff->vec_off = *pos;
    *pos += floats * 4;
    return VW_OK;
}

static vw_status read_hnsw_flat(faiss_file *ff, uint64_t *pos) {
    vw_status st = read_header(ff, pos, &ff->h);
    if (st == VW_OK)
        st = read_graph(ff, pos);
    if (st == VW_OK)
        st = read_storage(ff, pos);
    return st;
}

static vw_status unsupported_type(const char *fourcc) {
    static const char *const hnsw_kinds[] = {"IHNp", "IHNs", "IHN2", "IHNc",
                                             "IHc2", "IHfP", "IH00"};
    for (size_t i = 0; i < sizeof hnsw_kinds / sizeof hnsw_kinds[0]; i++)
        if (fourcc_is(fourcc, hnsw_kinds[i]))
            return vw_fail(VW_ERR_UNSUPPORTED,
                           "faiss: HNSW index '%s' stores its vectors "
                           "compressed; only IndexHNSWFlat can be opened",
                           fourcc);
    return vw_fail(VW_ERR_UNSUPPORTED,
                   "faiss: index type '%s'; only IndexHNSWFlat (bare or in "
                   "IndexIDMap/IndexIDMap2) can be opened",
                   fourcc);
}

/* The object tree: IHNf, or IxMp/IxM2 around one, and nothing after it. */
static vw_status read_file(faiss_file *ff) {
    uint64_t pos = 0;
    char fourcc[5];
    vw_status st = read_fourcc(ff, &pos, fourcc);
    if (st != VW_OK)
        return st;
    faiss_header outer;
    ff->idmap = fourcc_is(fourcc, "IxMp") || fourcc_is(fourcc, "IxM2");
    if (ff->idmap) {
        if ((st = read_header(ff, &pos, &outer)) != VW_OK ||
            (st = read_fourcc(ff, &pos, fourcc)) != VW_OK)
            return st;
    }
    if (!fourcc_is(fourcc, "IHNf"))
        return unsupported_type(fourcc);
    if ((st = read_hnsw_flat(ff, &pos)) != VW_OK)
        return st;
    if (ff->idmap) {
        if (!same_header(&outer, &ff->h))
            return vw_fail(VW_ERR_CORRUPT, "faiss: IDMap header differs from its index's");
        if ((st = vector_count(ff, &pos, (uint64_t)ff->h.ntotal, 8, "id_map")) != VW_OK)
            return st;
        ff->ids_off = pos;
        pos += (uint64_t)ff->h.ntotal * 8;
    }
    if (pos != ff->src->size)
        return vw_fail(VW_ERR_CORRUPT, "faiss: %llu bytes follow the index at offset %llu",
                       (unsigned long long)(ff->src->size - pos), (unsigned long long)pos);
    return VW_OK;
}

/* ------------------------------------------------------------------ node access */

static vw_status node_vector(void *ctx, uint64_t node, float *out) {
    faiss_file *ff = ctx;
    uint64_t row = (uint64_t)ff->h.d * sizeof(float);
    return vw_src_floats(&ff->vec, ff->vec_off + node * row, out, (uint32_t)ff->h.d, "vectors");
}

static vw_status node_label(void *ctx, uint64_t node, uint64_t *out) {
    faiss_file *ff = ctx;
    if (!ff->idmap) {
        *out = node;
        return VW_OK;
    }
    uint64_t pos = ff->ids_off + node * 8;
    int64_t id;
    vw_status st = vw_src_i64(&ff->ids, &pos, "id_map", &id);
    if (st == VW_OK && id < 0)
        return vw_fail(VW_ERR_UNSUPPORTED, "faiss: id_map[%llu] = %lld; labels are unsigned",
                       (unsigned long long)node, (long long)id);
    *out = (uint64_t)id;
    return st;
}

/* Ids up to the first -1; the slots after it must all be -1 too. */
static vw_status node_list(void *ctx, uint64_t node, unsigned level, uint32_t *ids,
                           uint32_t *count) {
    faiss_file *ff = ctx;
    uint32_t slots = ff->cum[level + 1] - ff->cum[level]; /* <= 2 * VW_MAX_M: M was fitted */
    uint64_t at = ff->nbr_off + 4 * (ff->offsets[node] + ff->cum[level]);
    unsigned char raw[4 * 2 * VW_MAX_M];
    vw_status st = vw_src_read(&ff->nbr, at, raw, (size_t)slots * 4, "hnsw.neighbors");
    if (st != VW_OK)
        return st;
    uint32_t n = 0;
    for (uint32_t j = 0; j < slots; j++) {
        int32_t id = (int32_t)((uint32_t)raw[4 * j] | (uint32_t)raw[4 * j + 1] << 8 |
                               (uint32_t)raw[4 * j + 2] << 16 | (uint32_t)raw[4 * j + 3] << 24);
        bool ended = n < j;
        if (id == -1 ? false : ended || id < 0 || id >= ff->h.ntotal)
            return vw_fail(VW_ERR_CORRUPT,
                           "faiss: element %llu layer %u slot %u: neighbour %d %s "
                           "(offset %llu)",
                           (unsigned long long)node, level, j, id,
                           ended ? "after the -1 that ends the list" : "out of range",
                           (unsigned long long)(at + 4 * j));
        if (id != -1)
            ids[n++] = (uint32_t)id;
    }
    *count = n;
    return VW_OK;
}

/* ------------------------------------------------------------------ import */

/* The importer's parameters: slots of layer 0 and of the widest upper layer
 * in use decide M. */
static vw_status params_of(const faiss_file *ff, const vw_import_options *o, vw_params *p) {
    vw_metric metric = ff->h.metric == FAISS_METRIC_L2 ? VW_METRIC_L2 : VW_METRIC_IP;
    if (o->has_metric && o->metric != metric)
        return vw_fail(VW_ERR_INVALID_ARG, "the Faiss index's metric is %s, not %s",
                       vw_metric_name(metric), vw_metric_name(o->metric));
    vw_params_default(p, (uint32_t)ff->h.d);
    p->metric = metric;
    p->seed = o->seed;
    p->capacity = 0;
    p->ef_construction =
        (uint32_t)ff->ef_construction > VW_MAX_EF ? VW_MAX_EF : (uint32_t)ff->ef_construction;
    uint64_t upper = 0;
    for (int32_t l = 1; l <= ff->max_level && (uint32_t)l + 1 < ff->ncum; l++)
        if (ff->cum[l + 1] - ff->cum[l] > upper)
            upper = ff->cum[l + 1] - ff->cum[l];
    return vw_foreign_fit_m(ff->ncum > 1 ? ff->cum[1] : 0, upper, p);
}

static vw_status build(faiss_file *ff, const vw_import_options *o, vw_index **out) {
    vw_foreign f = {.n = (uint64_t)ff->h.ntotal,
                    .levels = ff->levels,
                    .entry = ff->h.ntotal ? (uint32_t)ff->entry : VW_NO_NODE,
                    .max_level = ff->max_level,
                    .dup_label = VW_ERR_UNSUPPORTED,
                    .ctx = ff,
                    .vector = node_vector,
                    .label = node_label,
                    .list = node_list};
    vw_status st = params_of(ff, o, &f.params);
    if (st == VW_OK && (st = vw_src_view(ff->src, 1u << 20, &ff->vec)) == VW_OK &&
        (st = vw_src_view(ff->src, 1u << 20, &ff->nbr)) == VW_OK &&
        (st = vw_src_view(ff->src, 1u << 16, &ff->ids)) == VW_OK)
        st = vw_foreign_build(&f, out);
    return st;
}

vw_status vw_import_faiss(vw_src *src, const vw_import_options *o, vw_index **out) {
    faiss_file ff = {.src = src, .vec.fd = -1, .nbr.fd = -1, .ids.fd = -1};
    vw_status st = read_file(&ff);
    if (st == VW_OK)
        st = build(&ff, o, out);
    vw_src_close(&ff.vec);
    vw_src_close(&ff.nbr);
    vw_src_close(&ff.ids);
    free(ff.cum);
    free(ff.levels);
    free(ff.offsets);
    return st;
}
