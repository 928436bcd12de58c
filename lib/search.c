/* Search: greedy descent through the upper layers, then a beam search of
 * width ef in layer 0 (Malkov & Yashunin 2018, Algorithms 2 and 5).
 *
 * Searches take no lock on lists: writers may rewrite a list while a search
 * reads it, so every list word is read with an atomic load (vw_list_*; on
 * x86 an ordinary load that the compiler keeps in order). A list read that
 * way may mix old and new ids, which is harmless: each id was a valid link
 * at some moment during the search, and epoch.c keeps its slot from being
 * reused until the search ends. Nodes marked dead (removed, or an upsert's
 * node not yet visible) are traversed, since they still bridge parts of the
 * graph, but never kept as results.
 *
 * The threads of a batch insert use the same layer search with `locked`
 * set: they copy each list under its node lock, so that a list another
 * thread is pruning is seen whole.
 *
 * Searches do not trust the lists they read: an mmap-loaded index reads
 * them from a file that someone may overwrite while it is mapped, and the
 * load-time checks cannot see that. A count above the list's capacity is
 * cut to it, a neighbour id at or past the capacity (the count, for a
 * mapped index) is skipped, and on the upper layers a neighbour must reach
 * the layer by the levels the index holds in memory. So every read stays
 * inside the arrays, whatever the file holds; it costs one well-predicted
 * compare per neighbour. */
#include "attrs.h"
#include "count.h"
#include "vw_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A copy of a list taken under its node lock (batch inserts). */
static const uint32_t *copy_locked(const vw_index *ix, uint32_t id, unsigned level, uint32_t *copy,
                                   uint32_t *len) {
    vw_node_lock_take(ix, id);
    *len = vw_list_copy(vw_links(ix, id, level), vw_list_max(ix, level), copy + 1);
    vw_node_lock_drop(ix, id);
    return copy;
}

/* Returns the list to scan, in place or copied, and its length (read once). */
static inline const uint32_t *read_list(const vw_index *ix, uint32_t id, unsigned level,
                                        bool locked, uint32_t *copy, uint32_t *len) {
    if (locked)
        return copy_locked(ix, id, level, copy, len);
    const uint32_t *list = vw_links(ix, id, level);
    uint32_t n = vw_list_len(list), cap = vw_list_max(ix, level);
    *len = n <= cap ? n : cap;
    VW_COUNT_ADD(hops, 1);
    VW_COUNT_ADD(link_bytes, 4 * (1 + *len));
    return list;
}

/* The counting build's tally of n walk distances (count.h). */
static inline void count_distances(const vw_index *ix, uint32_t n) {
    VW_COUNT_ADD(distances, n);
    VW_COUNT_ADD(vec_bytes, (uint64_t)n * ix->code_size);
    (void)ix;
    (void)n;
}

/* Ids a search may visit: below the capacity, which cannot change while it
 * holds the storage lock or the writer lock (inserts, which place nodes
 * while others link, read only lists they wrote themselves). Called on
 * entry of both walks, so it checks what they need: one of those locks
 * (`locked`: an insert's walk, which takes node locks, under writer). */
static uint32_t id_limit(const vw_index *ix, bool locked) {
    VW_ASSERT(vw_holds(ix, VW_HELD_READ) || vw_holds(ix, VW_HELD_WRITER));
    VW_ASSERT(!locked || vw_holds(ix, VW_HELD_WRITER));
    return locked ? VW_NO_NODE : (uint32_t)ix->capacity;
}

/* One greedy step on `level`: the nearest of cur's neighbours if nearer
 * than cur_d (then true, with *cur and *cur_d moved to it). The list's
 * distances are one batch call (bit-identical to single ones), which took a
 * sixth of a search's instructions as one call per neighbour. */
static bool greedy_step(const vw_index *ix, const vw_query *q, int level, bool locked,
                        uint32_t limit, uint32_t *cur, float *cur_d) {
    uint32_t copy[1 + 2 * VW_MAX_M];
    uint32_t ids[2 * VW_MAX_M];
    float d[2 * VW_MAX_M];
    uint32_t len, n = 0;
    const uint32_t *list = read_list(ix, *cur, (unsigned)level, locked, copy, &len);
    for (uint32_t i = 0; i < len; i++) {
        uint32_t nb = vw_list_at(list, i);
        if (nb < limit && ix->levels[nb] >= level)
            ids[n++] = nb;
    }
    if (n == 0)
        return false;
    vw_qdist_batch(ix, q, ids, n, d);
    count_distances(ix, n);
    bool moved = false;
    for (uint32_t i = 0; i < n; i++)
        if (d[i] < *cur_d) {
            *cur_d = d[i];
            *cur = ids[i];
            moved = true;
        }
    return moved;
}

uint32_t vw_greedy_descend(const vw_index *ix, const vw_query *q, uint32_t ep, int top, int stop,
                           bool locked) {
    uint32_t limit = id_limit(ix, locked);
    uint32_t cur = ep;
    float cur_d = vw_qdist(ix, q, cur);
    count_distances(ix, 1);
    for (int level = top; level > stop; level--)
        while (greedy_step(ix, q, level, locked, limit, &cur, &cur_d))
            ;
    return cur;
}

static inline void prefetch_vector(const vw_index *ix, uint32_t id) {
    const char *p = (const char *)vw_code(ix, id);
    size_t bytes = ix->code_size;
    /* the first lines of each vector; the hardware prefetcher follows on */
    for (size_t off = 0; off < bytes && off < 256; off += 64)
        __builtin_prefetch(p + off, 0, 3);
}

/* Whether a reached node may be a result: not dead, and kept by the filter.
 * One test when neither applies, the common case. */
static bool keep_checked(const vw_index *ix, const vw_layer_query *lq, uint32_t id) {
    if (lq->skip_dead && vw_is_dead(ix, id))
        return false;
    if (lq->where)
        return vw_where_keep(lq->where, id);
    return !lq->filter || lq->filter(ix->labels[id], lq->filter_ctx);
}

static inline bool keep(const vw_index *ix, const vw_layer_query *lq, bool checks, uint32_t id) {
    return !checks || keep_checked(ix, lq, id);
}

/* Adds a discovered node to the candidates and, if it passes the filter, to
 * the results (evicting the farthest beyond ef). Returns the new bound. */
static inline float admit(const vw_index *ix, vw_scratch *s, const vw_layer_query *lq, bool checks,
                          vw_cand c, float bound) {
    vw_heap_push_min(&s->cand, c);
    VW_COUNT_ADD(heap_push, 1);
    if (!keep(ix, lq, checks, c.id))
        return bound;
    vw_heap_push_max(&s->result, c);
    VW_COUNT_ADD(heap_push, 1);
    if (s->result.size > lq->ef) {
        vw_heap_pop_max(&s->result);
        VW_COUNT_ADD(heap_pop, 1);
    }
    return s->result.size >= lq->ef ? s->result.items[0].dist : INFINITY;
}

/* A filtered walk tests each node it admits against the filter, which
 * reads the node's record and values: three dependent loads per node at
 * unrelated places. Their table entries were prefetched with the vectors;
 * here the records and values of the nodes this batch may admit start
 * loading together, so their misses overlap. */
static void warm_admitted(const vw_scratch *s, const vw_layer_query *lq, const uint32_t *fresh,
                          const float *dists, uint32_t n, float bound) {
    uint32_t ids[2 * VW_MAX_M];
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (dists[i] < bound || s->result.size < lq->ef)
            ids[m++] = fresh[i];
    vw_where_warm(lq->where, ids, m);
}

/* The layer search, compiled twice: `where` is a constant in each copy, so
 * that the unfiltered walk carries none of the filtered one's work. */
static inline __attribute__((always_inline)) vw_status layer_walk(const vw_index *ix, vw_scratch *s,
                                                                  const vw_layer_query *lq,
                                                                  uint32_t ep, const bool where) {
    uint32_t copy[1 + 2 * VW_MAX_M];
    uint32_t fresh[2 * VW_MAX_M];
    float dists[2 * VW_MAX_M];
    const bool checks = lq->skip_dead || lq->filter || lq->where;
    uint32_t limit = id_limit(ix, lq->locked);
    vw_visited_reset(s);
    s->cand.size = 0;
    s->result.size = 0;

    vw_visit(s, ep);
    count_distances(ix, 1);
    float bound = admit(ix, s, lq, checks, (vw_cand){vw_qdist(ix, lq->q, ep), ep}, INFINITY);
    while (s->cand.size > 0) {
        vw_cand c = s->cand.items[0];
        if (c.dist > bound)
            break; /* every remaining candidate is farther than the ef-th result */
        vw_heap_pop_min(&s->cand);
        VW_COUNT_ADD(heap_pop, 1);
        uint32_t len;
        const uint32_t *list = read_list(ix, c.id, lq->level, lq->locked, copy, &len);
        /* First pass: pick the unvisited neighbours and start their loads;
         * second pass: compute distances once the lines are on their way. */
        uint32_t n = 0;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t nb = vw_list_at_relaxed(list, i);
            /* (Public searches run this on layer 0 only, which every node
             * has: the id bound is the whole check.) */
            VW_COUNT_ADD(visit_ops, 1);
            if (nb >= limit || !vw_visit(s, nb))
                continue;
            fresh[n++] = nb;
            prefetch_vector(ix, nb);
            if (where)
                vw_where_prefetch(lq->where, nb);
        }
        vw_list_acquire(); /* before the vectors of `fresh` are read */
        if (s->cand.size + n > s->cand.cap) {
            vw_status st = vw_heap_reserve(&s->cand, 2 * (s->cand.size + n));
            /* An insert cannot back out once its node is placed: without
             * room to queue more candidates it links to the best found so
             * far, which is what a smaller ef would have given. */
            if (st != VW_OK)
                return lq->locked ? VW_OK : st;
        }
        vw_qdist_batch(ix, lq->q, fresh, n, dists);
        count_distances(ix, n);
        VW_COUNT_ADD(fresh, n);
        if (where)
            warm_admitted(s, lq, fresh, dists, n, bound);
        for (uint32_t i = 0; i < n; i++)
            if (dists[i] < bound || s->result.size < lq->ef)
                bound = admit(ix, s, lq, checks, (vw_cand){dists[i], fresh[i]}, bound);
    }
    return VW_OK;
}

vw_status vw_search_layer(const vw_index *ix, vw_scratch *s, const vw_layer_query *lq,
                          uint32_t ep) {
    return lq->where ? layer_walk(ix, s, lq, ep, true) : layer_walk(ix, s, lq, ep, false);
}

/* ------------------------------------------------------------------ public search */

static vw_status check_query(const vw_index *ix, const float *q, uint32_t k, uint32_t ef) {
    if (k == 0 || k > VW_MAX_K)
        return vw_fail(VW_ERR_K, "k=%u outside 1..%u", k, VW_MAX_K);
    if (ef == 0 || ef > VW_MAX_EF)
        return vw_fail(VW_ERR_EF, "ef=%u outside 1..%u", ef, VW_MAX_EF);
    if (ix->metric != VW_METRIC_COSINE)
        return vw_check_vector(q, ix->dim, NULL);
    /* normalized before the walk, so only its direction must exist */
    vw_status st = vw_check_direction(q, ix->dim);
    return st == VW_ERR_ZERO_VECTOR ? vw_fail(st, "cosine query is the zero vector") : st;
}

/* Writes the k nearest of n results sorted nearest first, each label once:
 * an upsert running beside the search replaces a label's node by a new one,
 * and the search may have met both while each looked live. */
static uint32_t unique_results(const vw_index *ix, const vw_cand *sorted, uint32_t n, uint32_t k,
                               uint64_t *labels, float *dists) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n && kept < k; i++) {
        uint64_t label = ix->labels[sorted[i].id];
        bool twice = false;
        for (uint32_t j = 0; j < kept && !twice; j++)
            twice = labels[j] == label;
        if (twice)
            continue;
        labels[kept] = label;
        if (dists)
            dists[kept] = sorted[i].dist;
        kept++;
    }
    return kept;
}

/* The layer search's results (a max-heap), nearest first, in the candidate
 * heap's storage (the layer search is done with it; cap >= size). */
static const vw_cand *sorted_results(vw_scratch *s, uint32_t *n) {
    vw_cand *sorted = s->cand.items;
    *n = s->result.size;
    VW_COUNT_ADD(heap_pop, *n);
    for (uint32_t i = *n; i-- > 0;)
        sorted[i] = vw_heap_pop_max(&s->result);
    return sorted;
}

/* Re-rank depth: the option, or max(VW_RERANK_FACTOR * k, 32) by default
 * (bench/codec_study.py: 2k of the nearest by i8 code distance held every
 * true top-10 neighbour on all four data sets; 4k leaves room for data less
 * kind to the codec), within [k, beam]. */
static uint32_t rerank_depth(const vw_search_options *o, uint32_t k, uint32_t beam) {
    uint32_t r = o->rerank;
    if (r == 0)
        r = VW_RERANK_FACTOR * k > 32 ? VW_RERANK_FACTOR * k : 32;
    if (r < k)
        r = k;
    return r < beam ? r : beam;
}

/* Compact storage: the `depth` best results by code distance are re-scored
 * with the float32 rows (or, without them, the decoded rows against the
 * exact query) and sorted into s->sel; returns how many. */
static uint32_t rescore(const vw_index *ix, vw_scratch *s, const float *q, uint32_t depth) {
    VW_COUNT_ADD(heap_pop, s->result.size > depth ? s->result.size - depth : 0);
    while (s->result.size > depth)
        vw_heap_pop_max(&s->result);
    uint32_t n = s->result.size;
    vw_cand *c = s->sel;
    memcpy(c, s->result.items, (size_t)n * sizeof *c);
    s->result.size = 0;
    if (ix->exact) /* start every row's first lines loading before the first distance */
        for (uint32_t i = 0; i < n; i++) {
            const char *p = (const char *)vw_exact(ix, c[i].id);
            for (size_t off = 0; off < (size_t)ix->dim * sizeof(float) && off < 256; off += 64)
                __builtin_prefetch(p + off, 0, 0);
        }
    if (ix->resid)
        for (uint32_t i = 0; i < n; i++)
            __builtin_prefetch(vw_resid(ix, c[i].id), 0, 0);
    for (uint32_t i = 0; i < n; i++)
        c[i].dist = vw_final_dist(ix, q, c[i].id, s->nbuf);
    VW_COUNT_ADD(rerank, n);
    VW_COUNT_ADD(rerank_bytes,
                 (uint64_t)n * (ix->exact ? ix->dim * sizeof(float)
                                          : ix->code_size + (ix->resid ? ix->resid_size : 0)));
    vw_cand_sort(c, n);
    return n;
}

/* The walk: descent, layer-0 beam, re-rank, with the query normalized.
 * The planner calls it too, with its filter. */
vw_status vw_search_walk(const vw_index *ix, vw_scratch *s, vw_top top, const float *q, uint32_t k,
                         const vw_search_options *o, const vw_where *where, uint64_t *out_labels,
                         float *out_distances, uint32_t *found) {
    VW_ASSERT(vw_holds(ix, VW_HELD_READ) && atomic_load(&s->epoch) != 0);
    uint32_t beam = o->ef > k ? o->ef : k;
    vw_status st = vw_scratch_fit(s, ix->capacity, beam, ix->dim);
    if (st != VW_OK)
        return st;
    vw_query pq = vw_prepare_query(ix, q, s->pbuf);
    VW_COUNT_ADD(searches, 1);
    uint32_t ep = vw_greedy_descend(ix, &pq, top.entry, top.level, 0, false);
    bool skip_dead = atomic_load_explicit(&((vw_index *)ix)->ndead, memory_order_acquire) != 0;
    vw_layer_query lq = {&pq, beam, 0, false, skip_dead, o->filter, o->filter_ctx, where};
    st = vw_search_layer(ix, s, &lq, ep);
    if (st != VW_OK)
        return st;
    uint32_t n;
    const vw_cand *sorted;
    if (vw_rescores(ix)) {
        n = rescore(ix, s, q, rerank_depth(o, k, beam));
        sorted = s->sel;
    } else {
        sorted = sorted_results(s, &n);
    }
    *found = unique_results(ix, sorted, n, k, out_labels, out_distances);
    return VW_OK;
}

/* Search with the storage lock held, the epoch entered and the arguments
 * checked. The visited set covers the capacity: inserts may add ids past
 * any count read now, but not past the capacity while the lock is held.
 * An attribute filter goes to the planner (planner.c); without one the
 * search costs one test more than before filters existed. */
static vw_status search_locked(const vw_index *ix, vw_scratch *s, vw_top top, const float *query,
                               uint32_t k, const vw_search_options *o, uint64_t *out_labels,
                               float *out_distances, uint32_t *found) {
    uint32_t beam = o->ef > k ? o->ef : k;
    vw_status st = vw_scratch_fit(s, ix->capacity, beam, ix->dim);
    if (st != VW_OK)
        return st;
    const float *q = query;
    if (ix->metric == VW_METRIC_COSINE) {
        memcpy(s->qbuf, query, (size_t)ix->dim * sizeof *s->qbuf);
        st = vw_normalize(s->qbuf, ix->dim);
        if (st != VW_OK)
            return st;
        q = s->qbuf;
    }
    if (o->where)
        return vw_filtered_search(ix, s, top, q, k, o, out_labels, out_distances, found);
    return vw_search_walk(ix, s, top, q, k, o, NULL, out_labels, out_distances, found);
}

/* An index with no element: never filled, or every element removed. */
static bool is_empty(const vw_index *ix, vw_top top) {
    vw_index *mix = (vw_index *)ix;
    return top.entry == VW_NO_NODE ||
           atomic_load_explicit(&mix->counters.live, memory_order_relaxed) == 0;
}

void vw_search_options_default(vw_search_options *o) {
    if (o)
        *o = (vw_search_options){
            .ef = 64, .rerank = 0, .filter = NULL, .filter_ctx = NULL, .where = NULL};
}

vw_status vw_index_search_ex(const vw_index *ix, const float *query, uint32_t k,
                             const vw_search_options *options, uint64_t *out_labels,
                             float *out_distances, uint32_t *found) {
    vw_clear_detail();
    if (!ix || !query || !out_labels || !found)
        return vw_fail(VW_ERR_NULL_ARG, "index, query, out_labels or found is NULL");
    *found = 0;
    vw_search_options o;
    vw_search_options_default(&o);
    if (options)
        o = *options;
    vw_status st = check_query(ix, query, k, o.ef);
    if (st != VW_OK)
        return st;
    st = vw_lock_read(ix);
    if (st != VW_OK)
        return st;
    vw_scratch *s = vw_scratch_acquire(ix);
    if (!s) {
        vw_unlock(ix);
        return vw_fail(VW_ERR_NOMEM, "search scratch");
    }
    /* Everything the search reads (entry point, lists, dead marks) comes
     * after the epoch fence. */
    vw_epoch_enter(ix, s);
    vw_top top = vw_top_get(ix);
    if (is_empty(ix, top))
        st = vw_fail(VW_ERR_EMPTY_INDEX, "search on an empty index");
    else
        st = search_locked(ix, s, top, query, k, &o, out_labels, out_distances, found);
    vw_epoch_exit(s);
    vw_scratch_release(ix, s);
    vw_unlock(ix);
    return st;
}

vw_status vw_index_search(const vw_index *ix, const float *query, uint32_t k, uint32_t ef,
                          vw_filter_fn filter, void *filter_ctx, uint64_t *out_labels,
                          float *out_distances, uint32_t *found) {
    vw_search_options o = {.ef = ef, .rerank = 0, .filter = filter, .filter_ctx = filter_ctx};
    return vw_index_search_ex(ix, query, k, &o, out_labels, out_distances, found);
}

/* ------------------------------------------------------------------ batch search */

typedef struct batch_search {
    const vw_index *ix;
    const float *queries;
    uint64_t nq;
    uint32_t k;
    vw_search_options opts;
    uint64_t *labels;
    float *dists;
    uint32_t *found;
    atomic_uint_fast64_t next;
    atomic_int status;
    char detail[200]; /* of the first failure, which may be on another thread */
} batch_search;

static void batch_worker(void *p, unsigned worker) {
    batch_search *b = p;
    (void)worker;
    for (;;) {
        uint64_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->nq || atomic_load(&b->status) != VW_OK)
            return;
        uint64_t *labels = b->labels + i * b->k;
        float *dists = b->dists ? b->dists + i * b->k : NULL;
        uint32_t found = 0;
        vw_status st = vw_index_search_ex(b->ix, b->queries + i * b->ix->dim, b->k, &b->opts,
                                          labels, dists, &found);
        if (st != VW_OK) {
            int expected = VW_OK;
            if (atomic_compare_exchange_strong(&b->status, &expected, (int)st))
                snprintf(b->detail, sizeof b->detail, "query %llu: %s", (unsigned long long)i,
                         vw_last_error_detail());
            return;
        }
        for (uint32_t j = found; j < b->k; j++) {
            labels[j] = UINT64_MAX;
            if (dists)
                dists[j] = INFINITY;
        }
        if (b->found)
            b->found[i] = found;
    }
}

vw_status vw_index_search_batch(const vw_index *ix, const float *queries, uint64_t nq, uint32_t k,
                                uint32_t ef, vw_filter_fn filter, void *filter_ctx,
                                unsigned threads, uint64_t *out_labels, float *out_distances,
                                uint32_t *found) {
    vw_search_options o = {.ef = ef, .rerank = 0, .filter = filter, .filter_ctx = filter_ctx};
    return vw_index_search_batch_ex(ix, queries, nq, k, &o, threads, out_labels, out_distances,
                                    found);
}

vw_status vw_index_search_batch_ex(const vw_index *ix, const float *queries, uint64_t nq,
                                   uint32_t k, const vw_search_options *options, unsigned threads,
                                   uint64_t *out_labels, float *out_distances, uint32_t *found) {
    vw_clear_detail();
    if (!ix || !queries || !out_labels)
        return vw_fail(VW_ERR_NULL_ARG, "index, queries or out_labels is NULL");
    vw_search_options o;
    vw_search_options_default(&o);
    if (options)
        o = *options;
    for (uint64_t i = 0; i < nq; i++) {
        vw_status st = check_query(ix, queries + i * ix->dim, k, o.ef);
        if (st != VW_OK) {
            char why[200];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "query %llu: %s", (unsigned long long)i, why);
        }
    }
    if (nq == 0)
        return VW_OK;
    if (threads == 0)
        threads = vw_default_threads();
    if (threads > nq)
        threads = (unsigned)nq;
    batch_search b = {.ix = ix,
                      .queries = queries,
                      .nq = nq,
                      .k = k,
                      .opts = o,
                      .labels = out_labels,
                      .dists = out_distances,
                      .found = found};
    atomic_init(&b.next, 0);
    atomic_init(&b.status, VW_OK);
    vw_status st = vw_parallel(threads, batch_worker, &b);
    if (st != VW_OK)
        return st;
    st = (vw_status)atomic_load(&b.status);
    return st == VW_OK ? VW_OK : vw_fail(st, "%s", b.detail);
}
