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

#include "codec_i8.h"
#include "heap.h"
#include "kernels.h"
#include "labelmap.h"
#include "removal.h"
#include "scratch.h"
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
    uint64_t unflooded;     /* nodes inserted since the last reachability flood */
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

/* persist.c */
/* Test hook: when set, called after the temporary file is complete and
 * before the rename; a non-OK status aborts the save like a failure there. */
extern vw_status (*vw_persist_before_rename_hook)(const char *tmp_path);

/* threads.c */
/* Runs fn(ctx, worker) on `threads` threads (the caller's included) and waits. */
vw_status vw_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx);
unsigned vw_default_threads(void);

/* After struct vw_index, whose fields their inline functions read; rows
 * before the graph code, which compares them. */
#include "storage.h"

#include "graph.h"

#endif /* VW_INTERNAL_H */
