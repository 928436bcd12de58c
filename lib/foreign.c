/*
 * foreign.c - other engines' index files: detection, vw_index_import, the
 * bounds-checked file reader the engine readers share, and the importer that
 * turns a foreign graph into an index.
 *
 * The engine readers (foreign_faiss.c, foreign_hnswlib.c) validate their
 * file's layout and hand over a vw_foreign: parameters, node levels, the
 * entry point, and callbacks reading one node's vector, label and lists.
 * The importer then does what is common to every engine. It places the
 * nodes through the same helper as an insert (so an imported index is
 * indistinguishable from a built one), keeping the file's node order, so a
 * search visits nodes in the same order as the source engine and ties fall
 * the same way as often as possible. It copies each list, checks the rules
 * every graph of ours obeys (a neighbour on layer l reaches layer l, lists
 * fit their slots, labels are unique, vectors are finite), and renumbers
 * past dead nodes (hnswlib's deleted marks): a list that pointed to a dead
 * node gets that node's live neighbours on the same layer instead, as many
 * as fit, so that routing through it still works.
 */
#include "foreign.h"
#include "graph_check.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the file reader */

vw_status vw_src_open(vw_src *s, const char *path) {
    *s = (vw_src){.path = path, .fd = -1};
    vw_status st = vw_open_regular(path, path, &s->fd, &s->size); /* never blocks on a FIFO */
    if (st != VW_OK)
        return st;
    s->owns_fd = true;
    s->buf_cap = (size_t)1 << 20;
    s->buf = malloc(s->buf_cap);
    if (!s->buf)
        return vw_fail(VW_ERR_NOMEM, "read buffer");
    return VW_OK;
}

vw_status vw_src_view(const vw_src *from, size_t buf_cap, vw_src *view) {
    *view = (vw_src){.path = from->path, .fd = from->fd, .size = from->size, .buf_cap = buf_cap};
    view->buf = malloc(buf_cap);
    return view->buf ? VW_OK : vw_fail(VW_ERR_NOMEM, "read buffer");
}

void vw_src_close(vw_src *s) {
    if (s->owns_fd && s->fd >= 0)
        close(s->fd);
    free(s->buf);
    s->buf = NULL;
    s->fd = -1;
}

vw_status vw_src_need(const vw_src *s, uint64_t off, uint64_t len, const char *what) {
    if (off <= s->size && len <= s->size - off)
        return VW_OK;
    return vw_fail(VW_ERR_TRUNCATED, "%s at offset %llu needs %llu bytes, the file has %llu", what,
                   (unsigned long long)off, (unsigned long long)len, (unsigned long long)s->size);
}

vw_status vw_src_read(vw_src *s, uint64_t off, void *dst, size_t len, const char *what) {
    vw_status st = vw_src_need(s, off, len, what);
    if (st != VW_OK)
        return st;
    if (off >= s->buf_off && off - s->buf_off <= s->buf_len &&
        len <= s->buf_len - (off - s->buf_off)) {
        memcpy(dst, s->buf + (off - s->buf_off), len);
        return VW_OK;
    }
    if (len >= s->buf_cap / 2) /* large: straight into place */
        return vw_pread_full(s->fd, dst, len, off, s->path);
    size_t fill = s->size - off < s->buf_cap ? (size_t)(s->size - off) : s->buf_cap;
    s->buf_len = 0;
    st = vw_pread_full(s->fd, s->buf, fill, off, s->path);
    if (st != VW_OK)
        return st;
    s->buf_off = off;
    s->buf_len = fill;
    memcpy(dst, s->buf, len);
    return VW_OK;
}

vw_status vw_src_floats(vw_src *s, uint64_t off, float *out, uint32_t n, const char *what) {
    vw_status st = vw_src_read(s, off, out, (size_t)n * sizeof *out, what);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &out[i], 4);
        w = __builtin_bswap32(w);
        memcpy(&out[i], &w, 4);
    }
#endif
    return st;
}

static vw_status src_le(vw_src *s, uint64_t *pos, unsigned n, const char *what, uint64_t *out) {
    unsigned char b[8];
    vw_status st = vw_src_read(s, *pos, b, n, what);
    if (st != VW_OK)
        return st;
    *pos += n;
    *out = vw_le(b, n);
    return VW_OK;
}

vw_status vw_src_u8(vw_src *s, uint64_t *pos, const char *what, uint8_t *out) {
    uint64_t v = 0;
    vw_status st = src_le(s, pos, 1, what, &v);
    *out = (uint8_t)v;
    return st;
}

vw_status vw_src_u32(vw_src *s, uint64_t *pos, const char *what, uint32_t *out) {
    uint64_t v = 0;
    vw_status st = src_le(s, pos, 4, what, &v);
    *out = (uint32_t)v;
    return st;
}

vw_status vw_src_i32(vw_src *s, uint64_t *pos, const char *what, int32_t *out) {
    uint32_t v = 0;
    vw_status st = vw_src_u32(s, pos, what, &v);
    *out = (int32_t)v;
    return st;
}

vw_status vw_src_u64(vw_src *s, uint64_t *pos, const char *what, uint64_t *out) {
    return src_le(s, pos, 8, what, out);
}

vw_status vw_src_i64(vw_src *s, uint64_t *pos, const char *what, int64_t *out) {
    uint64_t v = 0;
    vw_status st = src_le(s, pos, 8, what, &v);
    *out = (int64_t)v;
    return st;
}

/* ------------------------------------------------------------------ detection */

static const unsigned char vwhnsw_magic[8] = {0x89, 'V', 'W', 'H', 'N', 'S', 'W', '\n'};

/* Every Faiss index starts with a fourcc of printable characters, and every
 * index fourcc begins with 'I' ("IHNf", "IxMp", "IwFl", ...). */
static bool faiss_like(const unsigned char *h, size_t len) {
    if (len < 4 || h[0] != 'I')
        return false;
    for (int i = 1; i < 4; i++)
        if (h[i] < 0x20 || h[i] > 0x7e)
            return false;
    return true;
}

/* hnswlib has no magic, but its first fields are tied together:
 * offsetLevel0 = 0, offsetData = 4 + 4 * maxM0, and the element size is
 * the label offset + 8. Random data does not satisfy that. */
static bool hnswlib_like(const unsigned char *h, size_t len) {
    if (len < 72)
        return false;
    uint64_t level0 = vw_le(h, 8), size_elem = vw_le(h + 24, 8);
    uint64_t label_off = vw_le(h + 32, 8), data_off = vw_le(h + 40, 8);
    uint64_t max_m0 = vw_le(h + 64, 8);
    return level0 == 0 && max_m0 > 0 && max_m0 < (1u << 16) && data_off == 4 + 4 * max_m0 &&
           label_off > data_off && size_elem == label_off + 8;
}

vw_index_format vw_foreign_sniff(const unsigned char *head, size_t len) {
    if (len >= sizeof vwhnsw_magic && memcmp(head, vwhnsw_magic, sizeof vwhnsw_magic) == 0)
        return VW_INDEX_FORMAT_VWHNSW;
    if (faiss_like(head, len))
        return VW_INDEX_FORMAT_FAISS;
    if (hnswlib_like(head, len))
        return VW_INDEX_FORMAT_HNSWLIB;
    return VW_INDEX_FORMAT_UNKNOWN;
}

const char *vw_index_format_name(vw_index_format format) {
    switch (format) {
    case VW_INDEX_FORMAT_VWHNSW:
        return "vwhnsw";
    case VW_INDEX_FORMAT_FAISS:
        return "faiss";
    case VW_INDEX_FORMAT_HNSWLIB:
        return "hnswlib";
    case VW_INDEX_FORMAT_UNKNOWN:
        break;
    }
    return NULL;
}

static vw_status detect_open(vw_src *s, vw_index_format *out) {
    unsigned char head[72];
    size_t have = s->size < sizeof head ? (size_t)s->size : sizeof head;
    vw_status st = vw_src_read(s, 0, head, have, "header");
    *out = st == VW_OK ? vw_foreign_sniff(head, have) : VW_INDEX_FORMAT_UNKNOWN;
    return st;
}

vw_status vw_index_detect(const char *path, vw_index_format *out) {
    vw_clear_detail();
    if (!path || !out)
        return vw_fail(VW_ERR_NULL_ARG, "path or out is NULL");
    *out = VW_INDEX_FORMAT_UNKNOWN;
    vw_src s;
    vw_status st = vw_src_open(&s, path);
    if (st == VW_OK)
        st = detect_open(&s, out);
    vw_src_close(&s);
    return st;
}

/* ------------------------------------------------------------------ vw_index_import */

void vw_import_options_default(vw_import_options *o) {
    if (o)
        *o = (vw_import_options){.format = VW_INDEX_FORMAT_UNKNOWN, .seed = 100};
}

static vw_status check_options(const vw_import_options *o) {
    if (o->format < VW_INDEX_FORMAT_UNKNOWN || o->format > VW_INDEX_FORMAT_HNSWLIB)
        return vw_fail(VW_ERR_INVALID_ARG, "unknown index format %d", (int)o->format);
    if (o->has_metric && !vw_metric_name(o->metric))
        return vw_fail(VW_ERR_INVALID_ARG, "unknown metric %d", (int)o->metric);
    return VW_OK;
}

/* A vwhnsw file through the import call: loaded as it is, its metric
 * checked if the caller named one. */
static vw_status import_own(const char *path, const vw_import_options *o, vw_index **out) {
    vw_status st = vw_index_load(path, VW_LOAD_DEFAULT, out);
    if (st != VW_OK || !o->has_metric || (*out)->metric == o->metric)
        return st;
    vw_metric has = (*out)->metric;
    vw_index_free(*out);
    *out = NULL;
    return vw_fail(VW_ERR_INVALID_ARG, "the index's metric is %s, not %s", vw_metric_name(has),
                   vw_metric_name(o->metric));
}

static vw_status import_open(vw_src *s, const char *path, const vw_import_options *o,
                             vw_index **out) {
    vw_index_format format = o->format;
    vw_status st = VW_OK;
    if (format == VW_INDEX_FORMAT_UNKNOWN && (st = detect_open(s, &format)) != VW_OK)
        return st;
    switch (format) {
    case VW_INDEX_FORMAT_VWHNSW:
        return import_own(path, o, out);
    case VW_INDEX_FORMAT_FAISS:
        return vw_import_faiss(s, o, out);
    case VW_INDEX_FORMAT_HNSWLIB:
        return vw_import_hnswlib(s, o, out);
    case VW_INDEX_FORMAT_UNKNOWN:
        break;
    }
    return vw_fail(VW_ERR_FORMAT, "not an index file of vwhnsw, Faiss or hnswlib");
}

vw_status vw_index_import(const char *path, const vw_import_options *options, vw_index **out) {
    vw_clear_detail();
    if (!path || !out)
        return vw_fail(VW_ERR_NULL_ARG, "path or out is NULL");
    *out = NULL;
    vw_import_options o;
    vw_import_options_default(&o);
    if (options)
        o = *options;
    vw_status st = check_options(&o);
    if (st != VW_OK)
        return st;
    vw_src s;
    st = vw_src_open(&s, path);
    if (st == VW_OK)
        st = import_open(&s, path, &o, out);
    vw_src_close(&s);
    return st;
}

/* ------------------------------------------------------------------ the importer */

vw_status vw_foreign_fit_m(uint64_t slots0, uint64_t slots_upper, vw_params *params) {
    uint64_t m = (slots0 + 1) / 2;
    if (slots_upper > m)
        m = slots_upper;
    if (m > VW_MAX_M)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "lists of %llu ids on layer 0 and %llu above need M = %llu, above %u",
                       (unsigned long long)slots0, (unsigned long long)slots_upper,
                       (unsigned long long)m, VW_MAX_M);
    params->M = m < 2 ? 2 : (uint32_t)m;
    return VW_OK;
}

typedef struct importer {
    const vw_foreign *f;
    vw_index *ix;
    uint32_t *new_id; /* NULL when no node is dead; else VW_NO_NODE for dead ones */
    float *row, *tmp; /* a vector, and scratch for its normalized copy */
    uint32_t ids[2 * VW_MAX_M], dead_ids[2 * VW_MAX_M];
} importer;

static uint32_t id_of(const importer *im, uint64_t node) {
    return im->new_id ? im->new_id[node] : (uint32_t)node;
}

/* Dense ids for the live nodes; the entry point moves to the first live
 * node of the highest level if it was dead. Returns the live count. */
static uint64_t renumber(importer *im, uint32_t *entry, int32_t *max_level) {
    const vw_foreign *f = im->f;
    uint64_t live = 0;
    int best = -1;
    for (uint64_t i = 0; i < f->n; i++) {
        if (f->dead[i]) {
            im->new_id[i] = VW_NO_NODE;
            continue;
        }
        im->new_id[i] = (uint32_t)live++;
        if ((int)f->levels[i] > best) {
            best = f->levels[i];
            *entry = (uint32_t)i;
        }
    }
    if (f->n > 0 && !f->dead[f->entry])
        *entry = f->entry;
    *max_level = live ? f->levels[*entry] : -1;
    return live;
}

static vw_status check_row(const importer *im, uint64_t node) {
    const vw_foreign *f = im->f;
    double norm2;
    vw_status st = vw_check_vector(im->row, f->params.dim, &norm2);
    if (st == VW_OK && f->params.metric == VW_METRIC_COSINE && norm2 == 0)
        st = VW_ERR_ZERO_VECTOR;
    if (st == VW_OK)
        return VW_OK;
    return vw_fail(VW_ERR_UNSUPPORTED, "vector of element %llu %s", (unsigned long long)node,
                   st == VW_ERR_ZERO_VECTOR ? "is zero, which the cosine metric cannot normalize"
                                            : "holds NaN, infinity or values too large");
}

static vw_status place_node(importer *im, uint64_t node) {
    const vw_foreign *f = im->f;
    uint64_t label;
    vw_status st = f->vector(f->ctx, node, im->row);
    if (st == VW_OK)
        st = check_row(im, node);
    if (st == VW_OK)
        st = f->label(f->ctx, node, &label);
    if (st != VW_OK)
        return st;
    uint32_t other = vw_labelmap_find(&im->ix->map, im->ix->labels, label);
    if (other != VW_NO_NODE)
        return vw_fail(f->dup_label, "label %llu is used by two elements (the second is %llu)",
                       (unsigned long long)label, (unsigned long long)node);
    uint32_t id;
    return vw_node_place(im->ix, im->row, label, f->levels[node], im->tmp, &id);
}

static bool listed(const uint32_t *list, uint32_t id) {
    for (uint32_t i = 1; i <= list[0]; i++)
        if (list[i] == id)
            return true;
    return false;
}

/* Fills the remaining slots of `list` (of node `self`) with the live
 * neighbours the dead nodes in dead_ids had on this layer. */
static vw_status bridge(importer *im, uint32_t ndead, unsigned level, uint32_t self, uint32_t *list,
                        uint32_t cap) {
    const vw_foreign *f = im->f;
    for (uint32_t d = 0; d < ndead && list[0] < cap; d++) {
        uint32_t count;
        vw_status st = f->list(f->ctx, im->dead_ids[d], level, im->ids, &count);
        if (st == VW_OK) /* the reader's bound: a dead node's list is never kept whole */
            st = vw_graph_check_list("element lists", im->dead_ids[d], level, im->ids, count,
                                     2 * VW_MAX_M, f->n, f->levels);
        if (st != VW_OK)
            return st;
        for (uint32_t j = 0; j < count && list[0] < cap; j++) {
            uint32_t to = id_of(im, im->ids[j]);
            if (to != VW_NO_NODE && to != self && !listed(list, to))
                list[++list[0]] = to;
        }
    }
    return VW_OK;
}

static vw_status copy_list(importer *im, uint64_t node, unsigned level) {
    const vw_foreign *f = im->f;
    uint32_t count, cap = level == 0 ? 2 * f->params.M : f->params.M, ndead = 0;
    vw_status st = f->list(f->ctx, node, level, im->ids, &count);
    if (st == VW_OK)
        st =
            vw_graph_check_list("element lists", node, level, im->ids, count, cap, f->n, f->levels);
    if (st != VW_OK)
        return st;
    uint32_t self = id_of(im, node);
    uint32_t *list = vw_links(im->ix, self, level);
    list[0] = 0;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t nb = im->ids[j];
        if (id_of(im, nb) == VW_NO_NODE)
            im->dead_ids[ndead++] = nb;
        else
            list[++list[0]] = id_of(im, nb);
    }
    return ndead ? bridge(im, ndead, level, self, list, cap) : VW_OK;
}

static vw_status import_nodes(importer *im) {
    const vw_foreign *f = im->f;
    for (uint64_t i = 0; i < f->n; i++) {
        if (id_of(im, i) == VW_NO_NODE)
            continue;
        vw_status st = place_node(im, i);
        for (unsigned l = 0; st == VW_OK && l <= f->levels[i]; l++)
            st = copy_list(im, i, l);
        if (st != VW_OK)
            return st;
    }
    return VW_OK;
}

/* What an index of ours can hold (levels, elements), then the rules of
 * every graph of ours (graph_check.c): the entry point on the highest level. */
static vw_status check_shape(const vw_foreign *f) {
    if (f->n > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_UNSUPPORTED, "%llu elements, more than an index holds (%u)",
                       (unsigned long long)f->n, VW_MAX_ELEMENTS);
    if (f->n == 0)
        return VW_OK;
    for (uint64_t i = 0; i < f->n; i++)
        if (f->levels[i] > VW_MAX_LEVEL)
            return vw_fail(VW_ERR_UNSUPPORTED, "element %llu is on layer %u, above %u",
                           (unsigned long long)i, f->levels[i], VW_MAX_LEVEL);
    return vw_graph_check_levels("element levels", f->levels, f->n, NULL, 0, f->entry,
                                 f->max_level);
}

static vw_status build(importer *im) {
    const vw_foreign *f = im->f;
    vw_status st = check_shape(f);
    if (st != VW_OK)
        return st;
    uint32_t entry = f->entry;
    int32_t max_level = f->max_level;
    uint64_t live = f->n;
    if (f->dead) {
        im->new_id = malloc(f->n * sizeof *im->new_id);
        if (!im->new_id)
            return vw_fail(VW_ERR_NOMEM, "renumbering of %llu elements", (unsigned long long)f->n);
        live = renumber(im, &entry, &max_level);
    }
    im->row = malloc((size_t)f->params.dim * sizeof *im->row);
    im->tmp = malloc((size_t)f->params.dim * sizeof *im->tmp);
    if (!im->row || !im->tmp)
        return vw_fail(VW_ERR_NOMEM, "vector buffers");
    st = vw_index_alloc(&f->params, &im->ix);
    if (st == VW_OK)
        st = vw_index_reserve(im->ix, live);
    if (st == VW_OK)
        st = import_nodes(im);
    if (st == VW_OK && live > 0)
        vw_top_set(im->ix, id_of(im, entry), max_level);
    if (st == VW_OK)
        vw_index_publish(im->ix); /* the counts vw_index_stats reads */
    return st;
}

vw_status vw_foreign_build(const vw_foreign *f, vw_index **out) {
    importer im = {.f = f};
    vw_status st = build(&im);
    free(im.new_id);
    free(im.row);
    free(im.tmp);
    if (st != VW_OK) {
        vw_index_free(im.ix);
        return st;
    }
    vw_index_handed_over(im.ix);
    *out = im.ix;
    return VW_OK;
}
