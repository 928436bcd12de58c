/*
 * vw_internal.h - structures shared inside lib/ only. Tools never include it.
 *
 * Storage layout of an index (the same arrays are written to and mapped from
 * the index file, see FORMAT.md):
 *
 *   codes[id * code_size]      the rows searches walk: float32 (f32 storage),
 *                              binary16 (f16) or uint8 codes (i8), normalized
 *                              for the cosine metric before encoding
 *   exact[id * dim]            float32 rows of a compact index that keeps them
 *                              (re-ranking); NULL otherwise. For f32 storage
 *                              the codes are the exact rows.
 *   resid[id * ceil(dim/2)]    4-bit residuals refining i8 codes for the re-rank
 *                              (VW_PARAMS_RESIDUAL, i8 without float32 only)
 *   links0[id * (1 + M0)]      layer 0: a count followed by up to M0 = 2*M ids
 *   levels[id]                 top layer of each node (0..VW_MAX_LEVEL)
 *   labels[id]                 caller's label of each node
 *   upper[id]                  NULL for level-0 nodes, otherwise levels[id]
 *                              blocks of (1 + M) uint32: count + ids for
 *                              layer 1, then layer 2, ...
 *   dead[id / 64]              bit set: removed, free or not yet visible
 *
 * Internal ids are dense 0..count-1 ("slots"). A slot holds a live node, a
 * removed node that is still linked (waiting for the next purge), or nothing
 * (free, reused by a later insert); remove.c explains the life cycle. Every
 * list is a count followed by ids, so a reader needs no other bookkeeping.
 *
 * Lists change while searches read them, so every access to a list word from
 * code that can run beside a writer goes through vw_list_* below (atomic
 * word loads and stores; the count is stored last). Vectors, levels, labels
 * and upper blocks are written only before a node becomes reachable, or
 * after every search that could still reach its slot has ended (epoch.c).
 *
 * Locks: vw_locks.h lists every lock, what it guards, the order they nest
 * in and the debug-build checks of it.
 */
#ifndef VW_INTERNAL_H
#define VW_STORE_TAG_BYTES 32u /* the store section of an index file (store.c) */
#define VW_INTERNAL_H

#include "heap.h"
#include "vw_assert.h"
#include "vw_locks.h"
#include "vwhnsw.h"

#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VW_MAX_LEVEL 64u
#define VW_SWAP(type, a, b)                                                                        \
    do {                                                                                           \
        type t_ = (a);                                                                             \
        (a) = (b);                                                                                 \
        (b) = t_;                                                                                  \
    } while (0)
#define VW_NO_NODE UINT32_MAX

/* ------------------------------------------------------------------ status */

/* Records a printf-style detail for vw_last_error_detail() and returns st,
 * so failures read as `return vw_fail(VW_ERR_DIMENSION, "expected %u", d);` */
vw_status vw_fail(vw_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the detail at the start of a public call. */
void vw_clear_detail(void);

/* ------------------------------------------------------------------ kernels */

typedef float (*vw_dist_fn)(const float *a, const float *b, size_t dim);
/* Distances from q to the rows ids[0..n) of base, into out; one indirect call
 * per expanded node instead of one per neighbour, and bit-identical to the
 * single kernel of the same level. */
typedef void (*vw_dist_batch_fn)(const float *q, const float *base, size_t dim, const uint32_t *ids,
                                 uint32_t n, float *out);

/* Compact rows. f16: a float32 query against binary16 rows (F16C
 * conversion, FMA). u8: the integer squared distance between two code rows
 * (exact, so every level gives the same value), and the float32 query dot
 * uint8 codes (the inner-product metric). Batches as above. */
typedef float (*vw_f16_fn)(const float *q, const uint16_t *v, size_t dim);
typedef void (*vw_f16_batch_fn)(const float *q, const uint16_t *base, size_t dim,
                                const uint32_t *ids, uint32_t n, float *out);
typedef uint32_t (*vw_u8_fn)(const uint8_t *a, const uint8_t *b, size_t dim);
typedef void (*vw_u8_batch_fn)(const uint8_t *q, const uint8_t *base, size_t dim,
                               const uint32_t *ids, uint32_t n, uint32_t *out);
typedef float (*vw_u8f_fn)(const float *q, const uint8_t *c, size_t dim);
typedef void (*vw_u8f_batch_fn)(const float *q, const uint8_t *base, size_t dim,
                                const uint32_t *ids, uint32_t n, float *out);

/* An i8 row refined by its 4-bit residual (codec_i8.c), decoded for the
 * re-rank: out[i] = (offset[i] + step * code[i]) + part * (nibble_i - 8),
 * every product and sum rounded on its own (no FMA), so that every level
 * gives the scalar kernel's bits. */
typedef void (*vw_i8r_decode_fn)(const float *offset, float step, float part, const uint8_t *code,
                                 const uint8_t *resid, size_t dim, float *out);

typedef struct vw_kernels {
    vw_dist_fn l2sq;
    vw_dist_fn dot;
    vw_dist_fn ipdist; /* 1 - dot: the distance of the IP and cosine metrics */
    vw_dist_batch_fn l2sq_batch;
    vw_dist_batch_fn ipdist_batch;
    vw_f16_fn l2_f16;
    vw_f16_fn dot_f16;
    vw_f16_batch_fn l2_f16_batch;
    vw_f16_batch_fn dot_f16_batch;
    vw_u8_fn l2_u8;
    vw_u8_batch_fn l2_u8_batch;
    vw_u8f_fn dot_u8;
    vw_u8f_batch_fn dot_u8_batch;
    vw_i8r_decode_fn decode_i8r;
} vw_kernels;

/* The kernels for one level; the level must be supported (vw_simd_supported). */
const vw_kernels *vw_kernels_for(vw_simd_level level);
/* The kernels picked once at first use (CPUID, overridden by VW_SIMD). */
const vw_kernels *vw_kernels_active(void);

float vw_l2sq_scalar(const float *a, const float *b, size_t dim);
float vw_dot_scalar(const float *a, const float *b, size_t dim);
float vw_ipdist_scalar(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
void vw_ipdist_batch_scalar(const float *q, const float *base, size_t dim, const uint32_t *ids,
                            uint32_t n, float *out);

/* The compact kernels of one level: vw_<kernel>_<level>. */
#define VW_DECLARE_COMPACT_KERNELS(L)                                                              \
    float vw_l2_f16_##L(const float *q, const uint16_t *v, size_t dim);                            \
    float vw_dot_f16_##L(const float *q, const uint16_t *v, size_t dim);                           \
    void vw_l2_f16_batch_##L(const float *q, const uint16_t *base, size_t dim,                     \
                             const uint32_t *ids, uint32_t n, float *out);                         \
    void vw_dot_f16_batch_##L(const float *q, const uint16_t *base, size_t dim,                    \
                              const uint32_t *ids, uint32_t n, float *out);                        \
    uint32_t vw_l2_u8_##L(const uint8_t *a, const uint8_t *b, size_t dim);                         \
    void vw_l2_u8_batch_##L(const uint8_t *q, const uint8_t *base, size_t dim,                     \
                            const uint32_t *ids, uint32_t n, uint32_t *out);                       \
    float vw_dot_u8_##L(const float *q, const uint8_t *c, size_t dim);                             \
    void vw_dot_u8_batch_##L(const float *q, const uint8_t *base, size_t dim, const uint32_t *ids, \
                             uint32_t n, float *out);                                              \
    void vw_decode_i8r_##L(const float *offset, float step, float part, const uint8_t *code,       \
                           const uint8_t *resid, size_t dim, float *out);

VW_DECLARE_COMPACT_KERNELS(scalar)
#ifdef VW_HAVE_SIMD
VW_DECLARE_COMPACT_KERNELS(avx2)
VW_DECLARE_COMPACT_KERNELS(avx512)
/* AVX-512 VNNI (vpdpwssd) variants of the integer kernels, used by the
 * avx512 level when the CPU has VNNI. */
uint32_t vw_l2_u8_vnni(const uint8_t *a, const uint8_t *b, size_t dim);
void vw_l2_u8_batch_vnni(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                         uint32_t n, uint32_t *out);
int vw_cpu_has_vnni(void);
float vw_l2sq_avx2(const float *a, const float *b, size_t dim);
float vw_dot_avx2(const float *a, const float *b, size_t dim);
float vw_ipdist_avx2(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_avx2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                        uint32_t n, float *out);
void vw_ipdist_batch_avx2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
float vw_l2sq_avx512(const float *a, const float *b, size_t dim);
float vw_dot_avx512(const float *a, const float *b, size_t dim);
float vw_ipdist_avx512(const float *a, const float *b, size_t dim);
void vw_l2sq_batch_avx512(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          uint32_t n, float *out);
void vw_ipdist_batch_avx512(const float *q, const float *base, size_t dim, const uint32_t *ids,
                            uint32_t n, float *out);
#endif

/* Checks a stored vector or query: every component finite and the squared
 * norm small enough that no distance can overflow; else VW_ERR_NONFINITE
 * with a detail. On success *norm2 (if not NULL) is the squared norm,
 * summed in double. */
vw_status vw_check_vector(const float *v, uint32_t dim, double *norm2);

/* ------------------------------------------------------------------ label map */

/* Label -> internal id of the live node holding it (labelmap.c): the
 * identity while labels[id] == id, an inverse array while the labels are
 * small integers (0..n-1 in any order, with holes once some are removed), a
 * hash table otherwise. Only writers use it (under the writer lock), or the
 * loader, which owns the index. */
typedef enum vw_map_mode { VW_MAP_IDENTITY, VW_MAP_INVERSE, VW_MAP_HASH } vw_map_mode;

typedef struct vw_labelmap {
    vw_map_mode mode;
    uint32_t *slots;  /* inverse: id of each label, VW_NO_NODE if absent; hash: id + 1, 0 = empty */
    uint64_t inv_cap; /* inverse: entries allocated */
    uint64_t mask;    /* hash: slot count - 1 (a power of two) */
    uint64_t used;    /* identity: labels 0..used-1; inverse: labels < used may be
                       * present; hash: labels in the map */
} vw_labelmap;

void vw_labelmap_init(vw_labelmap *m);
/* Makes room for n labels (hash: at load factor <= 1/2). */
vw_status vw_labelmap_reserve(vw_labelmap *m, const uint64_t *labels, uint64_t n);
/* VW_NO_NODE if absent. */
uint32_t vw_labelmap_find(const vw_labelmap *m, const uint64_t *labels, uint64_t label);
/* Adds id, whose label labels[id] is absent from the map. May change mode,
 * sized for `capacity` labels; VW_ERR_NOMEM then, with the map unchanged. */
vw_status vw_labelmap_insert(vw_labelmap *m, const uint64_t *labels, uint32_t id,
                             uint64_t capacity);
/* Points a present label at another id (labels[id] == label). */
vw_status vw_labelmap_set(vw_labelmap *m, const uint64_t *labels, uint64_t label, uint32_t id,
                          uint64_t capacity);
/* Removes a present label. VW_ERR_NOMEM (map unchanged) if the identity
 * mode must become an inverse array first. */
vw_status vw_labelmap_remove(vw_labelmap *m, const uint64_t *labels, uint64_t label,
                             uint64_t capacity);
/* Rebuilds the map from labels[0..n) of the ids whose byte in `skip` is 0
 * (skip may be NULL: every id); VW_ERR_CORRUPT on a repeated label. */
vw_status vw_labelmap_build(vw_labelmap *m, const uint64_t *labels, const uint8_t *skip,
                            uint64_t n);
/* Builds the map of an index about to be renumbered: labels[i] (unique)
 * will sit at id rank[i] for the `live` ids i among n that are mapped:
 * those whose byte in `skip` is 0, or without skip, those with
 * rank[i] < live. Room for `capacity` labels. */
vw_status vw_labelmap_build_permuted(vw_labelmap *m, const uint64_t *labels, const uint32_t *rank,
                                     const uint8_t *skip, uint64_t n, uint64_t live,
                                     uint64_t capacity);
void vw_labelmap_free(vw_labelmap *m);
uint64_t vw_labelmap_bytes(const vw_labelmap *m);

/* ------------------------------------------------------------------ scratch */

/* Per-search buffers. The visited set is a bitset (1M nodes: 128 KB, which
 * stays in L2 beside the vectors a search streams through, where an array
 * of 16-bit epochs took 2 MB); `touched` lists its non-zero words so that
 * clearing it costs the words a search touched, not the index size. */
typedef struct vw_scratch {
    uint64_t *visited;
    uint32_t *touched;
    uint64_t visited_words; /* capacity of both, in words */
    uint64_t ntouched;
    vw_heap cand;   /* min-heap: nearest candidate first */
    vw_heap result; /* max-heap: farthest kept result first */
    vw_cand *sel;   /* neighbour-selection buffer (inserts), re-rank candidates (searches) */
    uint32_t sel_cap;
    float *qbuf; /* normalized copy of a cosine query */
    float *pbuf; /* the query prepared for the codes (vw_prepare_query) */
    float *nbuf; /* a stored node decoded or prepared as a query; re-rank rows */
    struct vw_scratch *next;
    /* epoch.c: the global epoch when the search using this buffer began, 0
     * while no search uses it; on a line of its own, since writers read it */
    _Alignas(64) _Atomic uint64_t epoch;
    struct vw_scratch *all_next; /* every buffer ever made (immutable once published) */
} vw_scratch;

/* ------------------------------------------------------------------ slot lists */

/* A growable array of node ids (remove.c: removed nodes, free slots). */
typedef struct vw_ids {
    uint32_t *ids;
    uint64_t n, cap;
} vw_ids;

vw_status vw_ids_push(vw_ids *v, uint32_t id);
void vw_ids_free(vw_ids *v);

/* Slots unlinked by one purge, reusable once every search that began before
 * the purge finished has ended (epoch `epoch` or later). */
typedef struct vw_limbo {
    vw_ids ids;
    uint64_t *epochs; /* per batch: the epoch that frees it */
    uint64_t *ends;   /* per batch: end of its ids in `ids` */
    uint64_t batches, cap;
} vw_limbo;

/* A purge pass (remove.c), done a slice at a time by successive writes. */
struct vw_repair;
typedef struct vw_purge {
    bool active;
    uint64_t cursor;        /* next node whose lists the pass repairs */
    vw_ids set;             /* the removed nodes the pass unlinks */
    struct vw_repair *work; /* its buffers */
} vw_purge;
/* ------------------------------------------------------------------ codecs */

/* The i8 codec (codec_i8.c): value i of a row is offset[i] + step * code. */
typedef struct vw_codec_i8 {
    float *offset; /* dim values; NULL until trained */
    float step;
    bool trained;
    bool owned; /* offset is a heap block (not in a mapped file) */
    /* While training may still widen the codec (trained here, nothing
     * encoded yet): the per-dimension maxima seen, and whether every value
     * seen was an integer. NULL once fixed (after an insert, or loaded). */
    float *hi;
    bool integers;
} vw_codec_i8;

/* Per-dimension min/max of n rows of dim floats (each normalized first if
 * asked), then the codec: one step for all dimensions, the largest range /
 * 255, or 1 when every value is an integer and every range fits in 256
 * values. A codec trained before (and not fixed) widens to cover the new
 * rows as well: training on a file's chunks one after another gives the
 * codec training on the whole file gives. */
vw_status vw_i8_train(vw_codec_i8 *c, uint32_t dim, const float *v, uint64_t n, bool normalize,
                      bool residual);
/* Checks trained parameters (from a file or training) so that decoded rows
 * are finite and no distance between them can overflow (with a 4-bit
 * residual added, when `residual`). */
vw_status vw_i8_check(const float *offset, float step, uint32_t dim, bool residual);
/* Ends training: the codec no longer widens (called before the first encode). */
void vw_i8_fix(vw_codec_i8 *c);
void vw_i8_encode(const vw_codec_i8 *c, uint32_t dim, const float *v, uint8_t *out);
void vw_i8_decode(const vw_codec_i8 *c, uint32_t dim, const uint8_t *code, float *out);
/* The 4-bit residual (VW_PARAMS_RESIDUAL): bytes per row and the residual
 * of v given its codes; the refined decode is the decode_i8r kernel. */
size_t vw_i8_residual_size(uint32_t dim);
/* The value of one residual step: step / 15. */
float vw_i8_residual_part(const vw_codec_i8 *c);
void vw_i8_encode_residual(const vw_codec_i8 *c, uint32_t dim, const float *v, const uint8_t *code,
                           uint8_t *out);

/* ------------------------------------------------------------------ index */

/* Values stats reads without the writer lock, published by writers. */
typedef struct vw_counters {
    _Atomic uint64_t slots;   /* ids in use (count) */
    _Atomic uint64_t live;    /* labels present */
    _Atomic uint64_t removed; /* removed nodes still in the graph */
    _Atomic uint64_t free;    /* empty slots (reusable or waiting for searches) */
    _Atomic uint64_t capacity;
    _Atomic uint64_t memory;
} vw_counters;

struct vw_index {
    /* parameters, fixed at creation */
    uint32_t dim;
    vw_metric metric;
    uint32_t M;
    uint32_t M0; /* 2 * M: layer-0 list size */
    uint32_t ef_construction;
    uint64_t seed;
    double level_mult; /* 1 / ln(M) */

    /* storage: see the top of this file */
    vw_storage storage;
    uint32_t flags;   /* VW_PARAMS_* */
    size_t code_size; /* bytes per row of codes */
    vw_codec_i8 i8;   /* the i8 codec (storage.c) */
    uint64_t count;   /* slots in use; written by writers only */
    uint64_t capacity;
    unsigned char *codes;
    float *exact;
    uint8_t *resid; /* 4-bit residuals (VW_PARAMS_RESIDUAL), resid_size bytes per row */
    uint32_t *links0;
    /* mapping lengths (memory.c); 0 when mmap-loaded (links0: but for
     * lists unpacked from a packed file) */
    size_t codes_len, exact_len, resid_len, links0_len;
    size_t resid_size;
    bool pack_links; /* vw_index_save writes packed layer-0 lists (loaded from such a file) */
    /* A durable store's binding of its snapshot to its log (store.c), kept
     * opaque here: vw_index_save writes it as an optional section, the
     * loader reads it back (lib/FORMAT.md, "The store section"). */
    bool has_store_tag;
    unsigned char store_tag[VW_STORE_TAG_BYTES];
    /* mmap-loaded packed lists: where node id's list starts, in words from
     * links0 (which points into the mapping); NULL for fixed rows */
    uint32_t *links0_at;
    uint8_t *levels;
    uint64_t *labels;
    uint32_t **upper;
    uint64_t upper_bytes; /* heap bytes held by upper lists (stats) */
    uint64_t draws;       /* levels drawn so far: the next insert draws number `draws` */

    /* Entry point (low 32 bits) and top level + 1 (high 32 bits) in one
     * word, so that a search reads a consistent pair; see vw_top_*. */
    _Atomic uint64_t top;

    /* removal (remove.c) */
    _Atomic uint64_t *dead; /* capacity bits: removed, free or hidden nodes */
    _Atomic uint64_t ndead; /* removed + hidden nodes a search can reach; 0 = no check */
    uint8_t *state;         /* capacity bytes, VW_NODE_*; writers only (atomic bytes, as
                             * the threads of a batch read each other's) */
    vw_ids pending;         /* removed, still linked; unlinked by the next purge pass */
    vw_purge purge;         /* the pass under way, if any */
    vw_limbo limbo;         /* unlinked, waiting for older searches */
    vw_ids free_ids;        /* reusable slots */
    uint64_t live;          /* labels present (writer's copy; stats reads counters) */

    vw_labelmap map;
    struct vw_attrs *attrs; /* attributes (attrs.h); NULL until an element has some */
    vw_dist_fn dist;        /* float32 distance: l2sq for L2, 1 - dot for IP/cosine */
    vw_dist_batch_fn dist_batch;
    const vw_kernels *kernels;

    /* the locks: what each guards and how they nest is in vw_locks.h */
    pthread_mutex_t writer;
    pthread_rwlock_t rw;
    pthread_mutex_t global;
    pthread_mutex_t *node_locks; /* VW_NODE_LOCKS stripes, allocated on first insert */

    pthread_mutex_t pool_lock;
    vw_scratch *pool;
    _Atomic(vw_scratch *) all_scratch; /* epoch.c walks it */
    _Atomic uint64_t epoch;            /* global epoch, from 1 */

    vw_counters counters;

    /* mmap-loaded: storage points into the mapping (but for levels, a heap
     * copy) and the index is read-only */
    void *map_base;
    size_t map_len;
    bool readonly;
};

#define VW_NODE_LOCKS 4096u

/* The stripe guarding the link lists of node id. A thread never holds two
 * at once: that is what keeps concurrent inserts free of deadlocks (two
 * nodes may share a stripe, and two threads could take the same pair in
 * opposite orders). Builds with assertions count the stripes each thread
 * holds and check it. */
static inline pthread_mutex_t *vw_node_lock(const vw_index *ix, uint32_t id) {
    return &ix->node_locks[id % VW_NODE_LOCKS];
}

/* Defined (assert.c) and counted only with VW_ASSERTIONS. */
extern _Thread_local unsigned vw_node_locks_held;

static inline void vw_node_lock_take(const vw_index *ix, uint32_t id) {
#ifdef VW_ASSERTIONS
    VW_ASSERT(vw_node_locks_held == 0);
    vw_node_locks_held++;
#endif
    pthread_mutex_lock(vw_node_lock(ix, id));
}

static inline void vw_node_lock_drop(const vw_index *ix, uint32_t id) {
#ifdef VW_ASSERTIONS
    VW_ASSERT(vw_node_locks_held == 1);
    vw_node_locks_held--;
#endif
    pthread_mutex_unlock(vw_node_lock(ix, id));
}

/* Most ids the layer-`level` list of a node may hold. */
static inline uint32_t vw_list_max(const vw_index *ix, unsigned level) {
    return level == 0 ? ix->M0 : ix->M;
}

/* The splitmix64 finalizer: a bijection that spreads nearby inputs (labels,
 * node ids) over all 64 bits. */
static inline uint64_t vw_mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint32_t *vw_links0(const vw_index *ix, uint32_t id) {
    if (ix->links0_at) /* packed lists of a mapped file, used in place */
        return ix->links0 + ix->links0_at[id];
    return ix->links0 + (size_t)id * (1 + ix->M0);
}

/* Layer `level` >= 1 list of node id. */
static inline uint32_t *vw_links_upper(const vw_index *ix, uint32_t id, unsigned level) {
    return ix->upper[id] + (size_t)(level - 1) * (1 + ix->M);
}

static inline uint32_t *vw_links(const vw_index *ix, uint32_t id, unsigned level) {
    return level == 0 ? vw_links0(ix, id) : vw_links_upper(ix, id, level);
}

/* List words. A reader that loads the count and then ids i < count sees ids
 * that were in the list at some moment after it began (writers store the
 * ids, then the count, all with release; readers load with acquire, which
 * also makes the named node's vector visible). Stale words past the count
 * are never read by a reader that saw that count. */
static inline uint32_t vw_list_len(const uint32_t *list) {
    return __atomic_load_n(&list[0], __ATOMIC_ACQUIRE);
}

static inline uint32_t vw_list_at(const uint32_t *list, uint32_t i) {
    return __atomic_load_n(&list[1 + i], __ATOMIC_ACQUIRE);
}

/* For a loop that loads many ids and only then reads their nodes (the
 * layer-0 search): relaxed loads, then one vw_list_acquire() before the
 * nodes are read, which synchronizes with the release stores the same way
 * (C11 7.17.4) without ordering every load of the loop. ThreadSanitizer does
 * not model fences, so under it the loads themselves are acquire. */
#if defined(__SANITIZE_THREAD__)
#define VW_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VW_TSAN 1
#endif
#endif

static inline uint32_t vw_list_at_relaxed(const uint32_t *list, uint32_t i) {
#ifdef VW_TSAN
    return __atomic_load_n(&list[1 + i], __ATOMIC_ACQUIRE);
#else
    return __atomic_load_n(&list[1 + i], __ATOMIC_RELAXED);
#endif
}

static inline void vw_list_acquire(void) {
#ifndef VW_TSAN
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

static inline void vw_list_put(uint32_t *list, uint32_t i, uint32_t id) {
    __atomic_store_n(&list[1 + i], id, __ATOMIC_RELEASE);
}

static inline void vw_list_set_len(uint32_t *list, uint32_t n) {
    __atomic_store_n(&list[0], n, __ATOMIC_RELEASE);
}

/* Copies a list that may be changing; returns its length (<= cap). */
static inline uint32_t vw_list_copy(const uint32_t *list, uint32_t cap, uint32_t *out) {
    uint32_t n = vw_list_len(list);
    if (n > cap)
        n = cap;
    for (uint32_t i = 0; i < n; i++)
        out[i] = vw_list_at(list, i);
    return n;
}

/* Replaces a list: ids first, the count last. */
static inline void vw_list_store(uint32_t *list, const uint32_t *ids, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        vw_list_put(list, i, ids[i]);
    vw_list_set_len(list, n);
}

/* ------------------------------------------------------------------ vector storage
 *
 * All access to stored vectors goes through these functions (storage.c), so
 * that the graph code never depends on how rows are encoded. */

/* The row searches walk for node id (code_size bytes). */
static inline const unsigned char *vw_code(const vw_index *ix, uint32_t id) {
    return ix->codes + (size_t)id * ix->code_size;
}

/* The float32 row of node id, or NULL when the index keeps none. */
static inline const float *vw_exact(const vw_index *ix, uint32_t id) {
    if (ix->storage == VW_STORAGE_F32)
        return (const float *)(const void *)vw_code(ix, id);
    return ix->exact ? ix->exact + (size_t)id * ix->dim : NULL;
}

/* The residual row of node id, or NULL when the index keeps none. */
static inline const uint8_t *vw_resid(const vw_index *ix, uint32_t id) {
    return ix->resid ? ix->resid + (size_t)id * ix->resid_size : NULL;
}

/* A query made ready for distances to stored rows: f32 and f16 rows take
 * the float32 query; i8 rows take its codes (L2, cosine) or the float32
 * query plus aux = <query, offsets> (inner product). */
typedef struct vw_query {
    const void *p;
    float aux;
} vw_query;

/* Bytes per row of the codes array for a storage kind and dimension. */
size_t vw_code_size(vw_storage storage, uint32_t dim);
/* Checks that v (already normalized for cosine) can be stored: f16 rows
 * cannot hold components beyond +-65504. */
vw_status vw_check_storable(const vw_index *ix, const float *v);
/* Trains the i8 codec from n rows (normalized one by one for cosine). */
vw_status vw_storage_train(vw_index *ix, const float *v, uint64_t n);
/* Writes node id's row(s) from v (normalized for cosine already). */
void vw_store_row(vw_index *ix, uint32_t id, const float *v);
/* Node id as float32: the exact row, or the decoded codes. */
void vw_fetch(const vw_index *ix, uint32_t id, float *out);
/* Prepares query q (dim floats, normalized for cosine) into buf (at least
 * dim floats of room). */
vw_query vw_prepare_query(const vw_index *ix, const float *q, float *buf);
/* Prepares stored node id as a query, using buf (dim floats) if needed. */
vw_query vw_prepare_node(const vw_index *ix, uint32_t id, float *buf);
/* Distance from a prepared query to node id, and to n nodes at once. */
float vw_qdist(const vw_index *ix, const vw_query *q, uint32_t id);
void vw_qdist_batch(const vw_index *ix, const vw_query *q, const uint32_t *ids, uint32_t n,
                    float *out);
/* True if searches re-score candidates with float32 or decoded rows. */
bool vw_rescores(const vw_index *ix);
/* Distance between float32 query q and node id for the final order: exact
 * with float32 rows, else from the decoded row (buf: dim floats). */
float vw_final_dist(const vw_index *ix, const float *q, uint32_t id, float *buf);
/* Heap bytes of the codec (stats). */
uint64_t vw_storage_codec_bytes(const vw_index *ix);
void vw_storage_free(vw_index *ix);

/* Entry point and top level (-1 and VW_NO_NODE when the graph is empty). */
typedef struct vw_top {
    uint32_t entry;
    int32_t level;
} vw_top;

static inline vw_top vw_top_get(const vw_index *ix) {
    uint64_t w = atomic_load_explicit(&((vw_index *)ix)->top, memory_order_acquire);
    return (vw_top){(uint32_t)w, (int32_t)(w >> 32) - 1};
}

static inline void vw_top_set(vw_index *ix, uint32_t entry, int32_t level) {
    uint64_t w = (uint64_t)(uint32_t)(level + 1) << 32 | entry;
    atomic_store_explicit(&ix->top, w, memory_order_release);
}

/* Slot states (ix->state). Dead = anything but live. */
enum {
    VW_NODE_LIVE = 0,    /* a label's current node */
    VW_NODE_REMOVED = 1, /* removed, still linked: unlinked by the next purge */
    VW_NODE_FREE = 2,    /* unlinked: reusable, or waiting for older searches (limbo) */
    VW_NODE_HIDDEN = 3   /* an upsert's new node while it is being linked */
};

static inline uint8_t vw_state(const vw_index *ix, uint32_t id) {
    return __atomic_load_n(&ix->state[id], __ATOMIC_RELAXED);
}

/* Whether node id is dead: removed (still linked), free, or an upsert's new
 * node not yet visible. Searches traverse dead nodes but never return them. */
static inline bool vw_is_dead(const vw_index *ix, uint32_t id) {
    uint64_t w = atomic_load_explicit(&ix->dead[id >> 6], memory_order_relaxed);
    return (w >> (id & 63)) & 1;
}

/* The writer lock (one mutating call at a time). Taking it from a thread
 * that already holds it (a progress callback calling back into the index)
 * fails with a status instead of deadlocking. */
vw_status vw_writer_lock(const vw_index *ix);
void vw_writer_unlock(const vw_index *ix);
/* The storage lock: searches hold it for reading (vw_lock_read), growth
 * and renumbering for writing. Re-entry from a callback is a status. */
vw_status vw_lock_read(const vw_index *ix);
vw_status vw_lock_write(vw_index *ix);
void vw_unlock(const vw_index *ix);

/* index.c */
/* Allocates an index with parameters checked and no storage; used by create and load. */
vw_status vw_index_alloc(const vw_params *p, vw_index **out);
/* Makes room for `need` slots in all per-node arrays. A growth takes the
 * storage lock for writing while the arrays move (searches wait). */
vw_status vw_index_reserve(vw_index *ix, uint64_t need);
vw_status vw_index_ensure_locks(vw_index *ix);
/* Stores the values vw_index_stats reports (writers call it when done). */
void vw_index_publish(vw_index *ix);

/* memory.c: huge-page backed arrays. *len is the mapping's length, kept by
 * the caller; grows *p to at least `bytes` (false and unchanged on failure). */
bool vw_big_realloc(void **p, size_t *len, size_t bytes);
void vw_big_free(void *p, size_t len);

/* scratch.c */
vw_scratch *vw_scratch_acquire(const vw_index *ix);
void vw_scratch_release(const vw_index *ix, vw_scratch *s);
vw_status vw_scratch_fit(vw_scratch *s, uint64_t nodes, uint32_t ef, uint32_t dim);
/* Largest squared norm a stored vector or query may have (see distance.c). */
#define VW_MAX_NORM2 ((double)FLT_MAX / 4)
void vw_scratch_free(vw_scratch *s);
/* Empties the visited set. */
void vw_visited_reset(vw_scratch *s);

/* Marks id visited; true if it was not yet. */
static inline bool vw_visit(vw_scratch *s, uint32_t id) {
    VW_ASSERT((id >> 6) < s->visited_words);
    uint64_t *word = &s->visited[id >> 6];
    uint64_t bit = (uint64_t)1 << (id & 63);
    if (*word & bit)
        return false;
    if (*word == 0)
        s->touched[s->ntouched++] = id >> 6;
    *word |= bit;
    return true;
}

/* epoch.c: reclamation. A search brackets its reads with enter/exit on its
 * scratch; a writer that has unlinked nodes calls vw_epoch_advance and may
 * reuse their slots once vw_epoch_passed says no search from before is left. */
void vw_epoch_enter(const vw_index *ix, vw_scratch *s);
void vw_epoch_exit(vw_scratch *s);
uint64_t vw_epoch_advance(vw_index *ix);
bool vw_epoch_passed(const vw_index *ix, uint64_t epoch);
/* insert.c */
/* Places a live node in the next slot (a free one, else id = count):
 * stores the vector in the index's storage kind (normalized for the cosine
 * metric, in `tmp`, dim floats of scratch; the caller checked it with
 * vw_check_vector, and that the label is new), sets its label and the given
 * level, gives it empty lists. The caller owns the index or holds the writer
 * lock, and reserved room (vw_index_reserve). An import fills the lists
 * through vw_links (inserts place and link through insert.c's own path). */
vw_status vw_node_place(vw_index *ix, const float *v, uint64_t label, unsigned level, float *tmp,
                        uint32_t *out_id);

/* search.c */
typedef struct vw_layer_query {
    const vw_query *q;
    uint32_t ef;
    unsigned level;
    bool locked;         /* take node locks when reading lists (during batch inserts) */
    bool skip_dead;      /* dead nodes are traversed but not kept as results */
    vw_filter_fn filter; /* layer 0 of a public search only */
    void *filter_ctx;
} vw_layer_query;

/* Greedy descent with beam 1 from `ep` through layers top..stop+1; returns the closest node. */
uint32_t vw_greedy_descend(const vw_index *ix, const vw_query *q, uint32_t ep, int top, int stop,
                           bool locked);
/* Beam search in one layer from `ep`; leaves up to ef results in s->result (max-heap). */
vw_status vw_search_layer(const vw_index *ix, vw_scratch *s, const vw_layer_query *lq, uint32_t ep);

/* insert.c */
/* Algorithm 4 of the paper (the neighbour heuristic) over candidates sorted
 * by distance to `base`'s vector: keeps at most `max`, compacted to the
 * front; returns how many. */
uint32_t vw_select_neighbours(const vw_index *ix, vw_scratch *s, vw_cand *c, uint32_t n,
                              uint32_t max);
/* Sorts candidates nearest first (ties: smaller id first). */
void vw_cand_sort(vw_cand *c, uint32_t n);
/* VW_ERR_DUPLICATE_LABEL if a label appears twice among n. */
vw_status vw_check_unique_labels(const uint64_t *labels, uint64_t n);
/* Whether `ix` can store v as it is given: everything an insert or upsert
 * checks of a vector (finite, a norm distances can hold or, for cosine, one
 * it can normalize, the storage kind's range). Reads only what never changes
 * after creation (dim, metric, storage), so it needs no lock; the store
 * calls it before it logs a write, so that a logged write can be applied. */
vw_status vw_check_insertable(const vw_index *ix, const float *v);
/* Adds `id` to the list of `nb` at `level`, pruning with the heuristic when
 * the list is full (node lock of nb taken; uses s->sel). */
void vw_add_backlink(vw_index *ix, vw_scratch *s, uint32_t nb, uint32_t id, unsigned level);
/* The layer-0 neighbours an insert of node id's vector would choose (an
 * ef_construction search from the entry point, then the heuristic), at most
 * max (<= M0) of them, then the nearest of the others until there are
 * `fill`, into out; live nodes only, and with `only` (a byte per node) only
 * nodes marked there. Returns how many (0 if id is the entry point or
 * nothing was found); *diverse (if not NULL) gets how many of them, at the
 * front, the heuristic chose. With `own`, the live members of id's list are
 * candidates too. Single writer, no batch; s fits ef_construction. */
uint32_t vw_choose_again(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only, bool own,
                         uint32_t max, uint32_t fill, uint32_t *out, uint32_t *diverse);
/* Links the layer-0 neighbours an insert of node id's vector would choose
 * back to id (which must be in the graph); the node locks must exist.
 * With `only` (a byte per node), only nodes marked there are chosen.
 * Returns the nearest of them (VW_NO_NODE if none): the heuristic may
 * have pruned id from every list again, and the caller can insist. */
uint32_t vw_relink(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only);

/* remove.c */
/* Sets the state of slot id and its dead bit (writers only). */
void vw_state_set(vw_index *ix, uint32_t id, uint8_t state);
/* The slot the next new node takes: a reusable one if any, else the next
 * unused id (the caller reserved room). Nothing changes until
 * vw_slot_take(id) commits the choice. */
uint32_t vw_slot_peek(const vw_index *ix);
void vw_slot_take(vw_index *ix, uint32_t id);
/* Marks a live node removed: dead at once, unlinked by the next purge. The
 * caller reserved room in ix->pending. */
void vw_node_retire(vw_index *ix, uint32_t id);
/* Moves limbo slots whose searches are over to the free list, and returns
 * how many slots are free now. */
uint64_t vw_slots_reclaim(vw_index *ix);
vw_status vw_ids_reserve(vw_ids *v, uint64_t n);
/* Unlinks every removed node now (writer lock held, no batch running). */
vw_status vw_purge_locked(vw_index *ix);
/* After a write of `writes` elements: goes on with the pass under way, or
 * starts one when enough removed nodes have piled up, for a budget
 * proportional to `writes`. */
void vw_purge_if_due(vw_index *ix, uint64_t writes);
/* Removed nodes not yet unlinked (pending and in the pass under way). */
uint64_t vw_removed_count(const vw_index *ix);
/* Moves every limbo slot to the free list now (no search can run). */
void vw_limbo_drain(vw_index *ix);
void vw_removal_free(vw_index *ix);
/* Sets up the removal state of a loaded index from its node states
 * (0 live, 1 removed, 2 free); `states` may be NULL (all live). */
vw_status vw_removal_load(vw_index *ix, const uint8_t *states);
/* Node state of id for saving: 0 live, 1 removed (still linked, waiting for
 * a purge), 2 free (limbo slots too: their data may be stale). */
uint8_t vw_node_state(const vw_index *ix, uint32_t id);

/* reorder.c */
/* Breadth-first numbering of the nodes (see reorder.c): order[new] = old,
 * rank[old] = new, each of ix->count entries; free slots rank last. */
void vw_bfs_order(const vw_index *ix, uint32_t *order, uint32_t *rank);

/* compact.c */
/* When a quarter of the slots are empty and no purge pass is under way:
 * renumbers the nodes into new arrays without the empty slots while
 * searches go on (only the swap holds them off). Writer lock held, no
 * batch running; called at the end of a purge pass. Out of memory, the
 * index stays as it is. */
void vw_compact_if_due(vw_index *ix);

/* persist.c */
/* Test hook: when set, called after the temporary file is complete and
 * before the rename; a non-OK status aborts the save like a failure there. */
extern vw_status (*vw_persist_before_rename_hook)(const char *tmp_path);

/* threads.c */
/* Runs fn(ctx, worker) on `threads` threads (the caller's included) and waits. */
vw_status vw_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx);
unsigned vw_default_threads(void);

#endif /* VW_INTERNAL_H */
