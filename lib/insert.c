/* Insertion (Malkov & Yashunin 2018, Algorithms 1 and 4, as hnswlib does it).
 *
 * An insert happens in two steps. `vw_node_place` runs under the index write
 * lock on one thread: it claims the next internal id, copies the vector and
 * allocates the upper lists for the level drawn for it. `link`
 * then connects the node: greedy descent to its level, a beam search of
 * width ef_construction in each layer below, the neighbour heuristic to
 * choose M links, and back-links whose overflow is pruned by the same
 * heuristic. Batch threads run `link` concurrently; they never hold two node
 * locks at once (so they cannot deadlock), and the global mutex guards the
 * entry point and top level.
 *
 * The level of a node is drawn from a hash of (seed, id) rather than a
 * shared generator, so the graph a single thread builds depends only on the
 * seed and the input order. */
#include "vw_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned draw_level(const vw_index *ix, uint64_t id) {
    const uint64_t golden = 0x9e3779b97f4a7c15ULL; /* splitmix64's increment */
    uint64_t h = vw_mix64((ix->seed ^ vw_mix64(id + golden)) + golden);
    double u = (double)((h >> 11) + 1) * 0x1.0p-53; /* uniform in (0, 1] */
    double level = floor(-log(u) * ix->level_mult);
    return level >= VW_MAX_LEVEL - 1 ? VW_MAX_LEVEL - 1 : (unsigned)level;
}

/* ------------------------------------------------------------------ validation */

static vw_status check_vector(const vw_index *ix, const float *v) {
    double norm2;
    vw_status st = vw_check_vector(v, ix->dim, &norm2);
    if (st != VW_OK)
        return st;
    if (ix->metric == VW_METRIC_COSINE && norm2 == 0)
        return vw_fail(VW_ERR_ZERO_VECTOR, "cosine metric cannot store the zero vector");
    /* a cosine row is stored normalized, always within any kind's range */
    return ix->metric == VW_METRIC_COSINE ? VW_OK : vw_check_storable(ix, v);
}

/* The label of row i of a batch: the caller's, or with labels == NULL the
 * next free id, count + i (see vw_index_add_batch). */
static uint64_t batch_label(const uint64_t *labels, uint64_t first, uint64_t i) {
    return labels ? labels[i] : first + i;
}

/* Checks every vector and label of a batch before anything changes. */
static vw_status check_batch(vw_index *ix, const float *vecs, const uint64_t *labels, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        uint64_t label = batch_label(labels, ix->count, i);
        vw_status st = check_vector(ix, vecs + i * ix->dim);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "vector %llu (label %llu): %s", (unsigned long long)i,
                           (unsigned long long)label, why);
        }
        if (vw_labelmap_find(&ix->map, ix->labels, label) != VW_NO_NODE)
            return vw_fail(VW_ERR_DUPLICATE_LABEL, "label %llu (vector %llu) already present",
                           (unsigned long long)label, (unsigned long long)i);
    }
    return VW_OK;
}

/* ------------------------------------------------------------------ place */

/* Allocations that can fail come first; the node becomes part of the index
 * only when all of them succeeded. */
vw_status vw_node_place(vw_index *ix, const float *v, uint64_t label, unsigned level, float *tmp,
                        uint32_t *out_id) {
    VW_ASSERT(ix->count < ix->capacity); /* prepare() reserved the room */
    uint32_t id = (uint32_t)ix->count;
    uint32_t *upper = NULL;
    if (level > 0) {
        size_t words = (size_t)level * (1 + ix->M);
        upper = calloc(words, sizeof *upper);
        if (!upper)
            return vw_fail(VW_ERR_NOMEM, "upper links of node %u", id);
        ix->upper_bytes += words * sizeof *upper;
    }
    if (ix->metric == VW_METRIC_COSINE) {
        memcpy(tmp, v, (size_t)ix->dim * sizeof *tmp);
        vw_normalize(tmp, ix->dim); /* checked non-zero and finite already */
        v = tmp;
    }
    vw_store(ix, id, v);
    ix->labels[id] = label;
    vw_status st = vw_labelmap_insert(&ix->map, ix->labels, id, ix->capacity);
    if (st != VW_OK) {
        free(upper); /* nothing else is visible before count grows */
        if (upper)
            ix->upper_bytes -= (size_t)level * (1 + ix->M) * sizeof *upper;
        return st;
    }
    ix->upper[id] = upper;
    ix->levels[id] = (uint8_t)level;
    vw_links0(ix, id)[0] = 0;
    ix->count++;
    *out_id = id;
    return VW_OK;
}

/* ------------------------------------------------------------------ heuristic */

static int by_distance(const void *a, const void *b) {
    const vw_cand *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Algorithm 4 without extension or kept pruned links: walking candidates
 * nearest first, keep one only if it is closer to the base than to every
 * neighbour kept so far, so links spread in direction instead of bunching
 * in one cluster. `c` is sorted ascending; the kept ones are compacted to
 * its front and their number returned. */
static uint32_t select_neighbours(const vw_index *ix, vw_scratch *s, vw_cand *c, uint32_t n,
                                  uint32_t max) {
    if (n <= max)
        return n;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n && kept < max; i++) {
        vw_query v = vw_prepare_node(ix, c[i].id, s->nbuf);
        bool good = true;
        for (uint32_t j = 0; j < kept && good; j++)
            good = vw_qdist(ix, &v, c[j].id) >= c[i].dist;
        if (good)
            c[kept++] = c[i];
    }
    VW_ASSERT(kept <= max);
    return kept;
}

/* ------------------------------------------------------------------ link */

/* Adds `id` to the list of `nb` at `level`, pruning with the heuristic when
 * the list is full. */
static void add_backlink(vw_index *ix, vw_scratch *s, uint32_t nb, uint32_t id, unsigned level) {
    uint32_t max = vw_list_max(ix, level);
    vw_node_lock_take(ix, nb);
    uint32_t *list = vw_links(ix, nb, level);
    uint32_t len = list[0];
    VW_ASSERT(len <= max);
    bool present = false;
    for (uint32_t i = 1; i <= len && !present; i++)
        present = list[i] == id;
    if (present) {
        /* nb chose id itself while id was being linked */
    } else if (len < max) {
        list[1 + len] = id;
        list[0] = len + 1;
    } else {
        vw_query base = vw_prepare_node(ix, nb, s->nbuf);
        vw_cand *c = s->sel; /* the caller's selection lives in s->cand's storage */
        VW_ASSERT(len + 1 <= s->sel_cap);
        for (uint32_t i = 0; i < len; i++)
            c[i] = (vw_cand){vw_qdist(ix, &base, list[1 + i]), list[1 + i]};
        c[len] = (vw_cand){vw_qdist(ix, &base, id), id};
        qsort(c, len + 1, sizeof *c, by_distance);
        uint32_t kept = select_neighbours(ix, s, c, len + 1, max);
        for (uint32_t i = 0; i < kept; i++)
            list[1 + i] = c[i].id;
        list[0] = kept;
    }
    VW_ASSERT(list[0] <= max);
    vw_node_lock_drop(ix, nb);
}

/* Writes the list of `id` in one layer from the results of the layer search
 * and returns the nearest result, the entry point for the next layer down.
 * The list is private until back-links make `id` reachable (see link_node). */
static uint32_t choose_links(vw_index *ix, vw_scratch *s, uint32_t id, unsigned level) {
    /* Move the results (a max-heap) out nearest first, into the candidate
     * heap's storage, which the layer search is done with. */
    uint32_t n = 0;
    vw_cand *sorted = s->cand.items;
    while (s->result.size > 0) {
        vw_cand c = vw_heap_pop_max(&s->result);
        if (c.id != id)
            sorted[n++] = c;
    }
    for (uint32_t i = 0; i < n / 2; i++) {
        vw_cand t = sorted[i];
        sorted[i] = sorted[n - 1 - i];
        sorted[n - 1 - i] = t;
    }
    uint32_t next = n > 0 ? sorted[0].id : id;
    uint32_t kept = select_neighbours(ix, s, sorted, n, ix->M);
    VW_ASSERT(kept <= vw_list_max(ix, level));

    vw_node_lock_take(ix, id);
    uint32_t *list = vw_links(ix, id, level);
    for (uint32_t i = 0; i < kept; i++)
        list[1 + i] = sorted[i].id;
    list[0] = kept;
    vw_node_lock_drop(ix, id);
    return next;
}

/* Links every neighbour in the list of `id` at `level` back to `id`. The
 * list is copied under the lock: once `id` is reachable, other inserts may
 * add themselves to it (they already link to `id`, which add_backlink sees). */
static void link_back(vw_index *ix, vw_scratch *s, uint32_t id, unsigned level) {
    uint32_t copy[1 + 2 * VW_MAX_M];
    vw_node_lock_take(ix, id);
    const uint32_t *list = vw_links(ix, id, level);
    VW_ASSERT(list[0] <= vw_list_max(ix, level));
    memcpy(copy, list, (size_t)(list[0] + 1) * sizeof *copy);
    vw_node_lock_drop(ix, id);
    for (uint32_t i = 1; i <= copy[0]; i++)
        add_backlink(ix, s, copy[i], id, level);
}

static vw_status link_node(vw_index *ix, vw_scratch *s, uint32_t id) {
    int level = ix->levels[id];
    pthread_mutex_lock(&ix->global);
    uint32_t ep = ix->entry;
    int top = ix->max_level;
    if (ep == VW_NO_NODE) {
        ix->entry = id;
        ix->max_level = level;
        pthread_mutex_unlock(&ix->global);
        return VW_OK;
    }
    /* A node that raises the top level keeps the global lock until linked,
     * so no other insert starts from an entry point that is not connected
     * yet (rare: about one node in M^top). */
    bool raises_top = level > top;
    if (!raises_top)
        pthread_mutex_unlock(&ix->global);

    /* pbuf, not nbuf: the neighbour selection below decodes into nbuf */
    vw_query q = vw_prepare_node(ix, id, s->pbuf);
    uint32_t cur = vw_greedy_descend(ix, &q, ep, top, level, true);
    /* All of the node's own lists are written before any back-link makes it
     * reachable. Otherwise another insert could descend through it to a
     * layer where its list is still empty, link to it alone from there, and
     * leave a node whose only in-link is later pruned away. */
    int bottom = level < top ? level : top;
    vw_status st = VW_OK;
    for (int l = bottom; l >= 0 && st == VW_OK; l--) {
        vw_layer_query lq = {&q, ix->ef_construction, (unsigned)l, true, NULL, NULL};
        st = vw_search_layer(ix, s, &lq, cur);
        if (st == VW_OK)
            cur = choose_links(ix, s, id, (unsigned)l);
    }
    for (int l = bottom; l >= 0 && st == VW_OK; l--)
        link_back(ix, s, id, (unsigned)l);
    if (raises_top) {
        if (st == VW_OK) {
            ix->entry = id;
            ix->max_level = level;
        }
        pthread_mutex_unlock(&ix->global);
    }
    return st;
}

/* ------------------------------------------------------------------ public */

static vw_status prepare(vw_index *ix, uint64_t extra, vw_scratch **s) {
    if (ix->readonly)
        return vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP");
    if (ix->count + extra > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "%llu + %llu elements above %u",
                       (unsigned long long)ix->count, (unsigned long long)extra, VW_MAX_ELEMENTS);
    vw_status st = vw_index_ensure_locks(ix);
    if (st == VW_OK)
        st = vw_index_reserve(ix, ix->count + extra);
    if (st != VW_OK)
        return st;
    *s = vw_scratch_acquire(ix);
    if (!*s)
        return vw_fail(VW_ERR_NOMEM, "insert scratch");
    st = vw_scratch_fit(*s, ix->capacity, ix->ef_construction, ix->dim);
    if (st != VW_OK) {
        vw_scratch_release(ix, *s);
        return st;
    }
    return VW_OK;
}

vw_status vw_index_add(vw_index *ix, const float *vector, uint64_t label) {
    vw_clear_detail();
    if (!ix || !vector)
        return vw_fail(VW_ERR_NULL_ARG, "index or vector is NULL");
    vw_status st = vw_lock_write(ix);
    if (st != VW_OK)
        return st;
    st = check_vector(ix, vector);
    if (st == VW_OK && vw_labelmap_find(&ix->map, ix->labels, label) != VW_NO_NODE)
        st = vw_fail(VW_ERR_DUPLICATE_LABEL, "label %llu already present",
                     (unsigned long long)label);
    vw_scratch *s = NULL;
    if (st == VW_OK)
        st = prepare(ix, 1, &s);
    if (st == VW_OK && ix->storage == VW_STORAGE_I8 && !ix->i8.trained)
        st = vw_fail(VW_ERR_INVALID_ARG, "an i8 index is trained by vw_index_train or by its first "
                                         "vw_index_add_batch before single inserts");
    uint32_t id;
    if (st == VW_OK)
        st = vw_node_place(ix, vector, label, draw_level(ix, ix->count), s->qbuf, &id);
    if (st == VW_OK)
        st = link_node(ix, s, id);
    vw_scratch_release(ix, s);
    vw_unlock(ix);
    return st;
}

vw_status vw_index_train(vw_index *ix, const float *vectors, uint64_t n) {
    vw_clear_detail();
    if (!ix || (n > 0 && !vectors))
        return vw_fail(VW_ERR_NULL_ARG, "index or vectors is NULL");
    vw_status st = vw_lock_write(ix);
    if (st != VW_OK)
        return st;
    if (ix->storage != VW_STORAGE_I8)
        st = VW_OK;
    else if (ix->readonly)
        st = vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP");
    else if (ix->count > 0 || (ix->i8.trained && !ix->i8.hi))
        st = vw_fail(VW_ERR_INVALID_ARG, "the i8 codec is trained before any insert (and a "
                                         "loaded index's codec is fixed)");
    else if (n == 0)
        st = vw_fail(VW_ERR_INVALID_ARG, "training needs at least one vector");
    else {
        for (uint64_t i = 0; i < n && st == VW_OK; i++) {
            st = check_vector(ix, vectors + i * ix->dim);
            if (st != VW_OK) {
                char why[160];
                snprintf(why, sizeof why, "%s", vw_last_error_detail());
                st = vw_fail(st, "training vector %llu: %s", (unsigned long long)i, why);
            }
        }
        if (st == VW_OK)
            st = vw_storage_train(ix, vectors, n);
    }
    vw_unlock(ix);
    return st;
}

/* ------------------------------------------------------------------ batch */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Labels given by the caller may repeat within the batch; the next ids
 * (labels == NULL) cannot. */
static vw_status check_batch_unique(const uint64_t *labels, uint64_t n) {
    if (n < 2 || !labels)
        return VW_OK;
    uint64_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return vw_fail(VW_ERR_NOMEM, "label check of %llu labels", (unsigned long long)n);
    memcpy(sorted, labels, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    vw_status st = VW_OK;
    for (uint64_t i = 1; i < n && st == VW_OK; i++)
        if (sorted[i] == sorted[i - 1])
            st = vw_fail(VW_ERR_DUPLICATE_LABEL, "label %llu appears twice in the batch",
                         (unsigned long long)sorted[i]);
    free(sorted);
    return st;
}

typedef struct batch_insert {
    vw_index *ix;
    const float *vecs;
    const uint64_t *labels; /* NULL: row i gets first_label + i */
    uint64_t first_label;
    uint64_t n;
    uint64_t next; /* next batch row to place; guarded by place_lock */
    pthread_mutex_t place_lock;
    atomic_uint_fast64_t done;
    atomic_int status;
    vw_progress_fn progress;
    void *progress_ctx;
    uint64_t step, reported; /* used by worker 0 only */
} batch_insert;

static void fail_batch(batch_insert *b, vw_status st) {
    int expected = VW_OK;
    atomic_compare_exchange_strong(&b->status, &expected, (int)st);
}

/* Runs on the calling thread only (worker 0), so a callback never races with
 * itself and may use thread-local state of the caller's. */
static void report_progress(batch_insert *b) {
    uint64_t done = atomic_load(&b->done);
    if (!b->progress || done < b->reported + b->step)
        return;
    b->reported = done;
    if (b->progress(done, b->n, b->progress_ctx) != 0)
        fail_batch(b, vw_fail(VW_ERR_CANCELLED, "cancelled after %llu of %llu",
                              (unsigned long long)done, (unsigned long long)b->n));
}

/* Rows are placed one at a time under place_lock (ids, label map and count
 * are shared) and linked in parallel; placing lazily means a cancelled or
 * failed batch leaves only fully linked nodes behind. */
static void insert_worker(void *p, unsigned worker) {
    batch_insert *b = p;
    vw_index *ix = b->ix;
    vw_scratch *s = vw_scratch_acquire(ix);
    vw_status st = s ? vw_scratch_fit(s, ix->capacity, ix->ef_construction, ix->dim)
                     : vw_fail(VW_ERR_NOMEM, "insert scratch");
    while (st == VW_OK && atomic_load(&b->status) == VW_OK) {
        pthread_mutex_lock(&b->place_lock);
        uint64_t row = b->next;
        uint32_t id = VW_NO_NODE;
        if (row < b->n) {
            b->next++;
            st = vw_node_place(ix, b->vecs + row * ix->dim,
                               batch_label(b->labels, b->first_label, row),
                               draw_level(ix, ix->count), s->qbuf, &id);
        }
        pthread_mutex_unlock(&b->place_lock);
        if (row >= b->n || st != VW_OK)
            break;
        st = link_node(ix, s, id);
        if (st == VW_OK) {
            atomic_fetch_add(&b->done, 1);
            if (worker == 0)
                report_progress(b);
        }
    }
    if (st != VW_OK)
        fail_batch(b, st);
    vw_scratch_release(ix, s);
}

static vw_status run_batch(vw_index *ix, const float *vecs, const uint64_t *labels, uint64_t n,
                           unsigned threads, vw_progress_fn progress, void *ctx) {
    batch_insert b = {.ix = ix,
                      .vecs = vecs,
                      .labels = labels,
                      .first_label = ix->count,
                      .n = n,
                      .progress = progress,
                      .progress_ctx = ctx,
                      .step = n / 1000 > 256 ? n / 1000 : 256};
    atomic_init(&b.done, 0);
    atomic_init(&b.status, VW_OK);
    pthread_mutex_init(&b.place_lock, NULL);
    vw_status st = vw_parallel(threads, insert_worker, &b);
    pthread_mutex_destroy(&b.place_lock);
    if (st == VW_OK)
        st = (vw_status)atomic_load(&b.status);
    /* the final report, after every thread has finished */
    if (st == VW_OK && progress && b.reported < n && progress(n, n, ctx) != 0)
        st = vw_fail(VW_ERR_CANCELLED, "cancelled at the end of the batch");
    return st;
}

vw_status vw_index_add_batch(vw_index *ix, const float *vectors, const uint64_t *labels, uint64_t n,
                             unsigned threads, vw_progress_fn progress, void *progress_ctx) {
    vw_clear_detail();
    if (!ix || (n > 0 && !vectors))
        return vw_fail(VW_ERR_NULL_ARG, "index or vectors is NULL");
    if (n == 0)
        return VW_OK;
    if (threads == 0)
        threads = vw_default_threads();
    if (threads > n)
        threads = (unsigned)n;
    vw_status st = vw_lock_write(ix);
    if (st != VW_OK)
        return st;
    st = ix->readonly ? vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP")
                      : check_batch(ix, vectors, labels, n);
    if (st == VW_OK)
        st = check_batch_unique(labels, n);
    bool trains = st == VW_OK && ix->storage == VW_STORAGE_I8 && !ix->i8.trained;
    if (trains)
        st = vw_storage_train(ix, vectors, n);
    vw_scratch *s = NULL;
    if (st == VW_OK)
        st = prepare(ix, n, &s);
    vw_scratch_release(ix, s); /* prepare's scratch goes back to the pool for a worker */
    if (st == VW_OK)
        st = run_batch(ix, vectors, labels, n, threads, progress, progress_ctx);
    if (st != VW_OK && trains && ix->count == 0)
        vw_storage_free(ix); /* a batch that left nothing behind leaves no codec either */
    vw_unlock(ix);
    return st;
}
