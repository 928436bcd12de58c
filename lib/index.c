/* Index lifetime, parameters, storage growth, statistics and lookups. */
#include "attrs.h"
#include "vw_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

const char *vw_metric_name(vw_metric metric) {
    switch (metric) {
    case VW_METRIC_L2:
        return "l2";
    case VW_METRIC_IP:
        return "ip";
    case VW_METRIC_COSINE:
        return "cosine";
    }
    return NULL;
}

vw_status vw_metric_parse(const char *name, vw_metric *out) {
    vw_clear_detail();
    if (!name || !out)
        return vw_fail(VW_ERR_NULL_ARG, "name or out is NULL");
    for (int m = VW_METRIC_L2; m <= VW_METRIC_COSINE; m++)
        if (strcasecmp(name, vw_metric_name((vw_metric)m)) == 0) {
            *out = (vw_metric)m;
            return VW_OK;
        }
    return vw_fail(VW_ERR_INVALID_ARG, "unknown metric '%s' (expected l2, ip or cosine)", name);
}

const char *vw_storage_name(vw_storage storage) {
    switch (storage) {
    case VW_STORAGE_F32:
        return "f32";
    case VW_STORAGE_F16:
        return "f16";
    case VW_STORAGE_I8:
        return "i8";
    }
    return NULL;
}

vw_status vw_storage_parse(const char *name, vw_storage *out) {
    vw_clear_detail();
    if (!name || !out)
        return vw_fail(VW_ERR_NULL_ARG, "name or out is NULL");
    for (int s = VW_STORAGE_F32; s <= VW_STORAGE_I8; s++)
        if (strcasecmp(name, vw_storage_name((vw_storage)s)) == 0) {
            *out = (vw_storage)s;
            return VW_OK;
        }
    return vw_fail(VW_ERR_INVALID_ARG, "unknown storage kind '%s' (expected f32, f16 or i8)", name);
}

void vw_params_default(vw_params *params, uint32_t dim) {
    if (!params)
        return;
    *params = (vw_params){.dim = dim,
                          .metric = VW_METRIC_L2,
                          .M = 16,
                          .ef_construction = 200,
                          .capacity = 1024,
                          .seed = 100,
                          .storage = VW_STORAGE_F32,
                          .flags = 0};
}

static vw_status check_params(const vw_params *p) {
    if (p->dim == 0 || p->dim > VW_MAX_DIM)
        return vw_fail(VW_ERR_DIMENSION, "dim %u outside 1..%u", p->dim, VW_MAX_DIM);
    if (!vw_metric_name(p->metric))
        return vw_fail(VW_ERR_INVALID_ARG, "unknown metric %d", (int)p->metric);
    if (p->M < 2 || p->M > VW_MAX_M)
        return vw_fail(VW_ERR_INVALID_ARG, "M %u outside 2..%u", p->M, VW_MAX_M);
    if (p->ef_construction == 0 || p->ef_construction > VW_MAX_EF)
        return vw_fail(VW_ERR_INVALID_ARG, "ef_construction %u outside 1..%u", p->ef_construction,
                       VW_MAX_EF);
    if (p->capacity > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "capacity %llu above %u", (unsigned long long)p->capacity,
                       VW_MAX_ELEMENTS);
    if (!vw_storage_name(p->storage))
        return vw_fail(VW_ERR_INVALID_ARG, "unknown storage kind %d", (int)p->storage);
    if (p->flags & ~(uint32_t)(VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL))
        return vw_fail(VW_ERR_INVALID_ARG, "unknown flags 0x%x", p->flags);
    if ((p->flags & VW_PARAMS_NO_FLOAT32) && p->storage == VW_STORAGE_F32)
        return vw_fail(VW_ERR_INVALID_ARG, "VW_PARAMS_NO_FLOAT32 needs a compact storage kind");
    /* with float32 kept the re-rank is exact already: a residual would only cost */
    if ((p->flags & VW_PARAMS_RESIDUAL) &&
        (p->storage != VW_STORAGE_I8 || !(p->flags & VW_PARAMS_NO_FLOAT32)))
        return vw_fail(VW_ERR_INVALID_ARG,
                       "VW_PARAMS_RESIDUAL needs i8 storage with VW_PARAMS_NO_FLOAT32");
    return VW_OK;
}

static vw_status init_writer(vw_index *ix) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return vw_fail(VW_ERR_NOMEM, "mutex attributes");
    /* Error-checking: a callback that calls back into the index gets
     * EDEADLK (a status) instead of hanging. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    int rc = pthread_mutex_init(&ix->writer, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc == 0 ? VW_OK : vw_fail(VW_ERR_NOMEM, "writer mutex");
}

static vw_status init_locks(vw_index *ix) {
    pthread_rwlockattr_t attr;
    if (pthread_rwlockattr_init(&attr) != 0)
        return vw_fail(VW_ERR_NOMEM, "rwlock attributes");
    /* Writer preference: a steady stream of searches must not starve a
     * growth forever (glibc's default prefers readers). */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&ix->rw, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return vw_fail(VW_ERR_NOMEM, "index rwlock");
    vw_status st = init_writer(ix);
    if (st != VW_OK) {
        pthread_rwlock_destroy(&ix->rw);
        return st;
    }
    if (pthread_mutex_init(&ix->global, NULL) != 0) {
        pthread_mutex_destroy(&ix->writer);
        pthread_rwlock_destroy(&ix->rw);
        return vw_fail(VW_ERR_NOMEM, "index mutex");
    }
    if (pthread_mutex_init(&ix->pool_lock, NULL) != 0) {
        pthread_mutex_destroy(&ix->global);
        pthread_mutex_destroy(&ix->writer);
        pthread_rwlock_destroy(&ix->rw);
        return vw_fail(VW_ERR_NOMEM, "pool mutex");
    }
    return VW_OK;
}

static vw_status lock_failed(int rc) {
    return vw_fail(VW_ERR_INVALID_ARG, "index lock: %s (a callback calling back into the index?)",
                   rc == EDEADLK ? "already held by this thread" : "cannot be taken");
}

vw_status vw_writer_lock(const vw_index *ix) {
    int rc = pthread_mutex_lock(&((vw_index *)ix)->writer);
    if (rc != 0)
        return lock_failed(rc);
    vw_lock_note(ix, VW_HELD_WRITER, true);
    return VW_OK;
}

void vw_writer_unlock(const vw_index *ix) {
    VW_ASSERT(vw_holds_any(ix, VW_HELD_WRITER));
    vw_lock_note(ix, VW_HELD_WRITER, false);
    pthread_mutex_unlock(&((vw_index *)ix)->writer);
}

/* rw is not recursive: a second read lock of one thread can deadlock
 * behind a waiting growth (writer preference). */
vw_status vw_lock_read(const vw_index *ix) {
    VW_ASSERT(!vw_holds_any(ix, VW_HELD_READ | VW_HELD_STORAGE));
    int rc = pthread_rwlock_rdlock(&((vw_index *)ix)->rw);
    if (rc != 0)
        return lock_failed(rc);
    vw_lock_note(ix, VW_HELD_READ, true);
    return VW_OK;
}

/* Only writers move the arrays: writer -> rw is the order (vw_locks.h). */
vw_status vw_lock_write(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    VW_ASSERT(!vw_holds_any(ix, VW_HELD_READ | VW_HELD_STORAGE));
    int rc = pthread_rwlock_wrlock(&ix->rw);
    if (rc != 0)
        return lock_failed(rc);
    vw_lock_note(ix, VW_HELD_STORAGE, true);
    return VW_OK;
}

void vw_unlock(const vw_index *ix) {
    VW_ASSERT(vw_holds_any(ix, VW_HELD_READ | VW_HELD_STORAGE));
    vw_lock_note(ix, VW_HELD_READ | VW_HELD_STORAGE, false);
    pthread_rwlock_unlock(&((vw_index *)ix)->rw);
}

static vw_dist_fn metric_distance(vw_metric m, const vw_kernels *k) {
    return m == VW_METRIC_L2 ? k->l2sq : k->ipdist;
}

vw_status vw_index_alloc(const vw_params *p, vw_index **out) {
    if (!p || !out)
        return vw_fail(VW_ERR_NULL_ARG, "params or out is NULL");
    vw_status st = check_params(p);
    if (st != VW_OK)
        return st;
    vw_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return vw_fail(VW_ERR_NOMEM, "index struct");
    ix->dim = p->dim;
    ix->metric = p->metric;
    ix->M = p->M;
    ix->M0 = 2 * p->M;
    ix->ef_construction = p->ef_construction;
    ix->seed = p->seed;
    ix->storage = p->storage;
    ix->flags = p->flags;
    ix->code_size = vw_code_size(p->storage, p->dim);
    ix->resid_size = (p->flags & VW_PARAMS_RESIDUAL) ? vw_i8_residual_size(p->dim) : 0;
    ix->level_mult = 1.0 / log((double)p->M);
    vw_top_set(ix, VW_NO_NODE, -1);
    atomic_init(&ix->epoch, 1);
    vw_labelmap_init(&ix->map);
    ix->kernels = vw_kernels_active();
    ix->dist = metric_distance(p->metric, ix->kernels);
    ix->dist_batch =
        p->metric == VW_METRIC_L2 ? ix->kernels->l2sq_batch : ix->kernels->ipdist_batch;
    st = init_locks(ix);
    if (st != VW_OK) {
        free(ix);
        return st;
    }
    vw_lock_note(ix, VW_HELD_OWNER, true); /* until vw_index_handed_over */
    *out = ix;
    return VW_OK;
}

vw_status vw_index_create(const vw_params *params, vw_index **out) {
    vw_clear_detail();
    if (!out)
        return vw_fail(VW_ERR_NULL_ARG, "out is NULL");
    *out = NULL;
    vw_index *ix;
    vw_status st = vw_index_alloc(params, &ix);
    if (st != VW_OK)
        return st;
    st = vw_index_reserve(ix, params->capacity);
    if (st != VW_OK) {
        vw_index_free(ix);
        return st;
    }
    vw_index_publish(ix);
    vw_index_handed_over(ix);
    *out = ix;
    return VW_OK;
}

/* realloc that leaves *p untouched on failure, so a failed growth keeps the
 * index whole (arrays already grown are merely larger than needed). */
static bool grow_array(void **p, size_t elem, uint64_t cap) {
    void *q = realloc(*p, (size_t)cap * elem);
    if (!q)
        return false;
    *p = q;
    return true;
}

/* Compact kinds keep float32 rows unless told not to. */
static bool keeps_float32(const vw_index *ix) {
    return ix->storage != VW_STORAGE_F32 && !(ix->flags & VW_PARAMS_NO_FLOAT32);
}

static size_t links0_bytes(const vw_index *ix) {
    return (size_t)(1 + ix->M0) * sizeof(uint32_t);
}

/* grow_array for arrays whose new part must read as zero. */
static bool grow_zeroed(void **p, size_t elem, uint64_t old, uint64_t cap) {
    if (!grow_array(p, elem, cap))
        return false;
    memset((char *)*p + old * elem, 0, (size_t)(cap - old) * elem);
    return true;
}

static vw_status grow_storage(vw_index *ix, uint64_t cap) {
    uint64_t words = (ix->capacity + 63) / 64, new_words = (cap + 63) / 64;
    bool ok = vw_big_realloc((void **)&ix->codes, &ix->codes_len, cap * ix->code_size) &&
              (!keeps_float32(ix) || vw_big_realloc((void **)&ix->exact, &ix->exact_len,
                                                    cap * ix->dim * sizeof(float))) &&
              (!ix->resid_size ||
               vw_big_realloc((void **)&ix->resid, &ix->resid_len, cap * ix->resid_size)) &&
              vw_big_realloc((void **)&ix->links0, &ix->links0_len, cap * links0_bytes(ix)) &&
              grow_array((void **)&ix->levels, sizeof *ix->levels, cap) &&
              grow_array((void **)&ix->labels, sizeof *ix->labels, cap) &&
              grow_array((void **)&ix->upper, sizeof *ix->upper, cap) &&
              grow_zeroed((void **)&ix->dead, sizeof *ix->dead, words, new_words) &&
              grow_zeroed((void **)&ix->state, sizeof *ix->state, ix->capacity, cap);
    if (!ok)
        return vw_fail(VW_ERR_NOMEM, "storage for %llu elements", (unsigned long long)cap);
    vw_status st = vw_labelmap_reserve(&ix->map, ix->labels, cap);
    if (st != VW_OK)
        return st;
    ix->capacity = cap;
    return VW_OK;
}

vw_status vw_index_reserve(vw_index *ix, uint64_t need) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    if (need <= ix->capacity)
        return VW_OK;
    if (ix->readonly)
        return vw_fail(VW_ERR_READONLY, "index is memory-mapped");
    if (need > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "%llu elements above %u", (unsigned long long)need,
                       VW_MAX_ELEMENTS);
    uint64_t cap = ix->capacity + ix->capacity / 2;
    if (cap < need)
        cap = need;
    if (cap > VW_MAX_ELEMENTS)
        cap = VW_MAX_ELEMENTS;
    /* The arrays may move: the one moment searches must wait for a writer. */
    vw_status st = vw_lock_write(ix);
    if (st != VW_OK)
        return st;
    st = grow_storage(ix, cap);
    vw_unlock(ix);
    return st;
}

vw_status vw_index_ensure_locks(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    if (ix->node_locks)
        return VW_OK;
    pthread_mutex_t *locks = malloc(VW_NODE_LOCKS * sizeof *locks);
    if (!locks)
        return vw_fail(VW_ERR_NOMEM, "node locks");
    for (unsigned i = 0; i < VW_NODE_LOCKS; i++)
        pthread_mutex_init(&locks[i], NULL);
    ix->node_locks = locks;
    return VW_OK;
}

static void free_storage(vw_index *ix) {
    free((void *)ix->dead);
    free(ix->state);
    vw_removal_free(ix);
    if (ix->map_base) {
        /* vectors, lists and labels live in the mapping; only the per-node
         * pointer table was allocated */
        munmap(ix->map_base, ix->map_len);
        if (ix->links0_len) /* lists unpacked from the file; otherwise they are mapped */
            vw_big_free(ix->links0, ix->links0_len);
        free(ix->links0_at);
        free(ix->upper);
        free(ix->levels); /* a copy: see persist.c, copy_levels */
        vw_storage_free(ix);
        return;
    }
    vw_storage_free(ix);
    if (ix->upper)
        for (uint64_t i = 0; i < ix->count; i++)
            free(ix->upper[i]);
    free(ix->upper);
    vw_big_free(ix->codes, ix->codes_len);
    vw_big_free(ix->exact, ix->exact_len);
    vw_big_free(ix->resid, ix->resid_len);
    vw_big_free(ix->links0, ix->links0_len);
    free(ix->levels);
    free(ix->labels);
}

void vw_index_free(vw_index *ix) {
    if (!ix)
        return;
    vw_lock_forget(ix);
    free_storage(ix);
    vw_labelmap_free(&ix->map);
    vw_attrs_free(ix->attrs);
    vw_scratch_free(ix->pool);
    if (ix->node_locks) {
        for (unsigned i = 0; i < VW_NODE_LOCKS; i++)
            pthread_mutex_destroy(&ix->node_locks[i]);
        free(ix->node_locks);
    }
    pthread_mutex_destroy(&ix->pool_lock);
    pthread_mutex_destroy(&ix->global);
    pthread_mutex_destroy(&ix->writer);
    pthread_rwlock_destroy(&ix->rw);
    free(ix);
}

static uint64_t memory_bytes(const vw_index *ix) {
    /* upper pointer table and the removal bookkeeping, also when mapped */
    uint64_t per_node = sizeof(uint32_t *) + sizeof *ix->state + sizeof(uint8_t); /* levels */
    if (!ix->map_base)
        per_node += sizeof(uint64_t); /* labels */
    uint64_t bytes = sizeof *ix + ix->codes_len + ix->exact_len + ix->resid_len + ix->links0_len +
                     ix->capacity * per_node + (ix->capacity + 63) / 64 * 8 + ix->upper_bytes +
                     vw_labelmap_bytes(&ix->map) + vw_storage_codec_bytes(ix) +
                     vw_attrs_bytes(ix->attrs) +
                     (ix->pending.cap + ix->purge.set.cap + ix->limbo.ids.cap + ix->free_ids.cap) *
                         sizeof(uint32_t);
    if (ix->node_locks)
        bytes += VW_NODE_LOCKS * sizeof(pthread_mutex_t);
    if (ix->links0_at)
        bytes += ix->capacity * sizeof *ix->links0_at;
    return bytes;
}

void vw_index_publish(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    vw_counters *c = &ix->counters;
    uint64_t free_slots = ix->free_ids.n + ix->limbo.ids.n;
    atomic_store_explicit(&c->slots, ix->count, memory_order_relaxed);
    atomic_store_explicit(&c->live, ix->live, memory_order_relaxed);
    atomic_store_explicit(&c->removed, vw_removed_count(ix), memory_order_relaxed);
    atomic_store_explicit(&c->free, free_slots, memory_order_relaxed);
    atomic_store_explicit(&c->capacity, ix->capacity, memory_order_relaxed);
    atomic_store_explicit(&c->memory, memory_bytes(ix), memory_order_relaxed);
}

/* Stats never wait for a writer (a server answers them between writes):
 * each value is one a writer published, read without a lock. */
vw_status vw_index_stats(const vw_index *ix, vw_stats *out) {
    vw_clear_detail();
    if (!ix || !out)
        return vw_fail(VW_ERR_NULL_ARG, "index or out is NULL");
    vw_counters *c = &((vw_index *)ix)->counters;
    *out = (vw_stats){.count = atomic_load_explicit(&c->live, memory_order_relaxed),
                      .capacity = atomic_load_explicit(&c->capacity, memory_order_relaxed),
                      .dim = ix->dim,
                      .metric = ix->metric,
                      .M = ix->M,
                      .ef_construction = ix->ef_construction,
                      .seed = ix->seed,
                      .max_level = vw_top_get(ix).level,
                      .memory_bytes = atomic_load_explicit(&c->memory, memory_order_relaxed),
                      .mapped_bytes = ix->map_base ? ix->map_len : 0,
                      .mmapped = ix->map_base != NULL,
                      .storage = ix->storage,
                      .float32_kept = !(ix->flags & VW_PARAMS_NO_FLOAT32),
                      .exact_distances = !(ix->flags & VW_PARAMS_NO_FLOAT32),
                      .bytes_per_vector =
                          (uint32_t)(ix->code_size + ix->resid_size +
                                     (keeps_float32(ix) ? ix->dim * sizeof(float) : 0)),
                      .code_bytes = (uint32_t)ix->code_size,
                      .residual_bits = ix->resid_size ? 4 : 0,
                      .removed = atomic_load_explicit(&c->removed, memory_order_relaxed),
                      .free_slots = atomic_load_explicit(&c->free, memory_order_relaxed),
                      .slots = atomic_load_explicit(&c->slots, memory_order_relaxed)};
    return VW_OK;
}

/* Under the writer lock: the label map belongs to writers. */
vw_status vw_index_get_vector(const vw_index *ix, uint64_t label, float *out) {
    vw_clear_detail();
    if (!ix || !out)
        return vw_fail(VW_ERR_NULL_ARG, "index or out is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    uint32_t id = vw_labelmap_find(&ix->map, ix->labels, label);
    if (id != VW_NO_NODE)
        vw_fetch(ix, id, out);
    vw_writer_unlock(ix);
    if (id == VW_NO_NODE)
        return vw_fail(VW_ERR_NOT_FOUND, "label %llu", (unsigned long long)label);
    return VW_OK;
}

/* Under the writer lock, like vw_index_get_vector. A slot holds a present
 * label when the map sends that label back to the slot: the map names live
 * nodes only, whatever state removed and free slots are in. */
vw_status vw_index_labels(const vw_index *ix, uint64_t *out, uint64_t capacity, uint64_t *n) {
    vw_clear_detail();
    if (!ix || !n || (capacity > 0 && !out))
        return vw_fail(VW_ERR_NULL_ARG, "index, out or n is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    uint64_t live = ix->live;
    if (live > capacity) {
        vw_writer_unlock(ix);
        *n = live;
        return vw_fail(VW_ERR_INVALID_ARG, "room for %llu labels, %llu needed",
                       (unsigned long long)capacity, (unsigned long long)live);
    }
    uint64_t got = 0;
    for (uint64_t id = 0; id < ix->count && got < live; id++) {
        uint64_t label = ix->labels[id];
        if (vw_labelmap_find(&ix->map, ix->labels, label) == id)
            out[got++] = label;
    }
    vw_writer_unlock(ix);
    *n = got;
    return VW_OK;
}
