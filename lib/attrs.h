/* attrs.h - per-element attributes, filters and the filtered-search planner,
 * shared inside lib/ (attrs.c, attrs_index.c, filter.c, filter_eval.c,
 * planner.c, attrs_file.c).
 *
 * An index gets an attribute store (ix->attrs) the first time an element is
 * given attributes, or when a file with an attributes section is loaded.
 * From then on the store holds one record per live element, with or
 * without attributes, that knows the element's label and its node (slot):
 * the planner needs both ways, label -> record when the graph walk meets a
 * node, record -> node when it scans the matching elements exactly, and
 * readers may not use the index's label map (writers change it unlocked).
 * The store's lock is taken for reading by filtered searches and for
 * writing by the writers that change records; the node of a record is an
 * atomic word, which place_at may set while searches read it.
 */
#ifndef VW_ATTRS_H
#define VW_ATTRS_H

#include "vw_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits of one element's attributes (documented in vwhnsw.h). */
#define VW_ATTR_MAX_FIELDS 64u
#define VW_ATTR_MAX_KEY    128u
#define VW_ATTR_MAX_STRING 1024u
#define VW_ATTR_MAX_ITEMS  256u

#define VW_NO_ID UINT32_MAX

/* ------------------------------------------------------------------ maps */

/* Open addressing from a 64-bit key to a 32-bit value, linear probing,
 * deletion by backward shift (no tombstones). */
typedef struct vw_u64map {
    uint64_t *keys;
    uint32_t *vals; /* VW_NO_ID = empty slot */
    uint64_t mask, used;
} vw_u64map;

vw_status vw_u64map_reserve(vw_u64map *m, uint64_t n);
uint32_t vw_u64map_get(const vw_u64map *m, uint64_t key);
/* The key must be absent and room reserved. */
void vw_u64map_put(vw_u64map *m, uint64_t key, uint32_t val);
void vw_u64map_del(vw_u64map *m, uint64_t key);
void vw_u64map_free(vw_u64map *m);

/* Interned strings: each distinct string gets a dense id, forever. */
typedef struct vw_strtab {
    char **strs;
    uint32_t *lens;
    uint32_t n, cap;
    uint32_t *slots; /* id + 1, 0 = empty */
    uint64_t mask;
    uint64_t bytes;
} vw_strtab;

uint32_t vw_strtab_find(const vw_strtab *t, const char *s, size_t len);
vw_status vw_strtab_intern(vw_strtab *t, const char *s, size_t len, uint32_t *id);
void vw_strtab_free(vw_strtab *t);

/* ------------------------------------------------------------------ records */

enum { VW_AV_NULL, VW_AV_BOOL, VW_AV_NUM, VW_AV_STR, VW_AV_STRS };

/* One attribute of a record: its field, its type and value. */
typedef struct vw_aval {
    uint32_t field;
    uint8_t type;
    uint32_t n; /* VW_AV_STRS: items */
    union {
        double num;
        uint32_t sid;   /* VW_AV_STR */
        uint32_t *sids; /* VW_AV_STRS */
        bool b;
    } u;
} vw_aval;

/* The node table's entry of a node: a copy of its record's values, so that
 * the walk's per-node test reads the entry (prefetched with the node's
 * vector) and the values, where the label map took the node's label, a
 * hashed probe, the record and then the values, each a cache miss.
 *
 * An entry is kept only for its record's current node (record.node):
 * written by the writer under the store's lock (an upsert's move of a
 * record to its new node, which is not yet reachable, without it), and
 * refreshed whenever the record's values change, which also happens only
 * under the lock. A search holds the lock for reading throughout, so the
 * values an entry points to live as long as it. A node without an entry
 * (rid VW_NO_ID: an upsert's old node, a removed node, a node past the
 * table) is looked up through the label map, as every node was before. */
typedef struct vw_node_attrs {
    const struct vw_aval *vals;
    uint32_t nval;
    _Atomic uint32_t rid; /* written last: VW_NO_ID = no entry */
} vw_node_attrs;

typedef struct vw_arec {
    uint64_t label;
    _Atomic uint32_t node; /* the element's slot; VW_NO_NODE while free */
    uint32_t nval;
    vw_aval *vals; /* sorted by field; one block with the sids and the JSON */
    char *json;    /* canonical JSON text, NULL without attributes */
    uint32_t json_len;
} vw_arec;

/* ------------------------------------------------------------------ per-field indexes */

/* Records that hold one keyword (or boolean) value of one field. Removed
 * records stay listed until the list is cleaned; `live` counts the others
 * exactly, so the planner's counts are exact for keywords. */
typedef struct vw_posting {
    uint32_t *rids;
    uint32_t n, cap, live;
} vw_posting;

typedef struct vw_nument {
    double v;
    uint32_t rid;
} vw_nument;

/* A numeric field: a sorted array and an unsorted tail that a write merges
 * into it once it grows past an eighth of it, so counts are two binary
 * searches and a short scan. Entries of changed records stay until the
 * next merge drops them. */
typedef struct vw_numidx {
    vw_nument *main, *tail;
    uint64_t nmain, ntail, capmain, captail;
} vw_numidx;

typedef struct vw_field {
    uint64_t nonempty; /* records where the field is present, not null, not [] */
    vw_numidx num;
} vw_field;

struct vw_attrs {
    pthread_rwlock_t lock;
    vw_arec *recs;
    uint32_t nrec, caprec;
    vw_ids free_rids;
    vw_u64map by_label;
    vw_strtab names;  /* field names: the id is the field number */
    vw_strtab values; /* string values */
    vw_field *fields; /* by field number */
    uint32_t capfields;
    vw_u64map kw; /* keyword key -> posting number */
    vw_posting *posts;
    uint32_t nposts, capposts;
    uint64_t with_attrs; /* records holding attributes */
    uint64_t block_bytes;
    vw_node_attrs *nodes; /* by node: see vw_node_attrs */
    uint64_t node_cap;
};
typedef struct vw_attrs vw_attrs;

/* The key of a keyword posting: a field's string or boolean value. */
static inline uint64_t vw_kw_key(uint32_t field, bool boolean, uint32_t value) {
    return (uint64_t)field << 33 | (uint64_t)boolean << 32 | value;
}

static inline uint32_t vw_rec_node(const vw_arec *r) {
    return atomic_load_explicit(&((vw_arec *)r)->node, memory_order_acquire);
}

/* Node id's entry of the node table (store lock held), or NULL when it has
 * none: then only the label map (vw_attrs_find) can tell its record. */
static inline const vw_node_attrs *vw_attrs_of_node(const vw_attrs *a, uint32_t id) {
    if (id >= a->node_cap)
        return NULL;
    const vw_node_attrs *e = &a->nodes[id];
    return atomic_load_explicit(&((vw_node_attrs *)e)->rid, memory_order_acquire) == VW_NO_ID ? NULL
                                                                                              : e;
}

/* attrs.c: the store and its records */
vw_status vw_attrs_create(vw_attrs **out);
void vw_attrs_free(vw_attrs *a);
uint64_t vw_attrs_bytes(const vw_attrs *a);
/* The record of a label, or NULL. Store lock held (either mode). */
const vw_arec *vw_attrs_find(const vw_attrs *a, uint64_t label);
/* Makes sure that n more records fit without allocating. Writer only. */
vw_status vw_attrs_reserve(vw_attrs *a, uint64_t n);
/* Parses and checks one element's attributes into a detached block
 * (nothing interned yet): *vals, *nval, *json. len 0 or "null" gives none. */
typedef struct vw_parsed_attrs {
    char *json;
    uint32_t json_len;
    void *dom; /* the parsed text, kept until the values are interned */
} vw_parsed_attrs;
vw_status vw_attrs_parse(const char *json, size_t len, vw_parsed_attrs *out);
void vw_parsed_attrs_free(vw_parsed_attrs *p);

/* Hooks of the index's writers (writer lock held). */
void vw_attrs_on_place(vw_index *ix, uint64_t label, uint32_t id);
void vw_attrs_on_remove(vw_index *ix, uint64_t label);
/* Slots renumbered: node x becomes rank[x] (searches are held off). */
void vw_attrs_on_renumber(vw_index *ix, const uint32_t *rank, uint64_t n);
/* Creates ix->attrs with a record for every live element. */
vw_status vw_attrs_activate(vw_index *ix);
/* Replaces the attributes of a live element's record (parsed: NULL = none). */
vw_status vw_attrs_assign(vw_attrs *a, uint64_t label, vw_parsed_attrs *parsed);

/* attrs_index.c: the per-field indexes */
vw_status vw_attrs_index_add(vw_attrs *a, uint32_t rid);
void vw_attrs_index_drop(vw_attrs *a, uint32_t rid);
/* Entries of field f's numeric index with lo <= v <= hi (bounds given as
 * inclusive doubles: the caller nudges open ones), main part [*b, *e) and
 * the tail counted, for estimates; stale entries included. */
uint64_t vw_numidx_count(const vw_numidx *x, double lo, double hi, uint64_t *b, uint64_t *e);
const vw_posting *vw_attrs_posting(const vw_attrs *a, uint64_t key);
vw_status vw_attrs_intern_values(vw_attrs *a, vw_parsed_attrs *p, vw_arec *r);

/* ------------------------------------------------------------------ filters */

typedef enum vw_cond_kind {
    VW_C_GROUP, /* must / should / must_not lists of conditions */
    VW_C_MATCH, /* match value or match any: vals */
    VW_C_RANGE, /* range: lo..hi */
    VW_C_EMPTY, /* is_empty */
    VW_C_HAS_ID /* has_id: ids (sorted) */
} vw_cond_kind;

typedef struct vw_fval {
    uint8_t type; /* VW_AV_BOOL, VW_AV_NUM, VW_AV_STR */
    double num;
    bool b;
    const char *str;
    size_t len;
} vw_fval;

typedef struct vw_cond {
    vw_cond_kind kind;
    const char *key;
    vw_fval *vals;
    uint32_t nvals, val0;
    double lo, hi; /* inclusive bounds after nudging open ones */
    uint64_t *ids;
    uint32_t nids;
    uint32_t kids[3], nkids[3]; /* GROUP: must, should, must_not in filter->kids */
} vw_cond;

enum { VW_MUST, VW_SHOULD, VW_MUST_NOT };

struct vw_filter {
    vw_cond *conds; /* conds[0] is the root group */
    uint32_t n, cap;
    uint32_t *kids;
    uint32_t nkids, capkids;
    uint32_t total_vals; /* values of all conditions; vw_cond.val0 numbers them */
    void *dom;           /* the parsed text, whose strings the conditions point to */
};

/* A filter bound to a store for one search: field numbers and value ids
 * (VW_NO_ID where the store has never seen the name or value). */
typedef struct vw_bound {
    const vw_filter *f;
    const vw_attrs *a; /* NULL: the index has no attributes */
    uint32_t *field;   /* per condition */
    uint32_t *sid;     /* per value, numbered by vw_cond.val0 */
} vw_bound;

vw_status vw_bound_make(const vw_filter *f, const vw_attrs *a, vw_bound *out);
void vw_bound_free(vw_bound *b);
/* Whether the element (record r, NULL when it has none; label) passes. */
bool vw_bound_eval(const vw_bound *b, const vw_arec *r, uint64_t label);

/* What a filtered walk keeps: the bound filter and the caller's own filter
 * function, if any. */
typedef struct vw_where {
    const vw_index *ix;
    const vw_bound *b;
    vw_filter_fn user;
    void *user_ctx;
    bool label; /* the test needs the node's label (has_id, user) */
} vw_where;

/* planner.c: whether node id passes (store lock held). */
bool vw_where_keep(const vw_where *w, uint32_t id);

/* Starts loading node id's entry of the node table, which vw_where_warm
 * reads (the walk calls it as it picks the unvisited neighbours). */
static inline void vw_where_prefetch(const vw_where *w, uint32_t id) {
    const vw_attrs *a = w->b->a;
    if (a && id < a->node_cap)
        __builtin_prefetch(&a->nodes[id], 0, 1);
}

/* Starts loading the values of the n nodes (whose entries
 * vw_where_prefetch asked for), so that their misses overlap instead of
 * following one another node by node. */
void vw_where_warm(const vw_where *w, const uint32_t *ids, uint32_t n);

/* planner.c: the filtered search (storage lock held, epoch entered). */
vw_status vw_filtered_search(const vw_index *ix, vw_scratch *s, vw_top top, const float *q,
                             uint32_t k, const vw_search_options *o, uint64_t *out_labels,
                             float *out_distances, uint32_t *found);
/* search.c: the walk, which the planner calls with its filter (where; NULL
 * for none). */
vw_status vw_search_walk(const vw_index *ix, vw_scratch *s, vw_top top, const float *q, uint32_t k,
                         const vw_search_options *o, const vw_where *where, uint64_t *out_labels,
                         float *out_distances, uint32_t *found);

/* attrs_file.c: the attributes section of the index file. */
bool vw_attrs_present(const vw_index *ix);
vw_status vw_attrs_serialize(const vw_index *ix, unsigned char **out, size_t *len);
vw_status vw_attrs_deserialize(vw_index *ix, const unsigned char *p, size_t len,
                               uint64_t file_offset);

#endif /* VW_ATTRS_H */
