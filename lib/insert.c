/* Insertion (Malkov & Yashunin 2018, Algorithms 1 and 4, as hnswlib does it).
 *
 * An insert happens in two steps. `place` runs on one thread at a time: it
 * checks nothing can fail later, claims a slot (a free one left by removals,
 * else the next id), stores the vector in the index's storage kind, draws
 * the level and allocates the upper lists. `link` then connects the node: greedy descent to its
 * level, a beam search of width ef_construction in each layer below, the neighbour heuristic to
 * choose M links, and back-links whose overflow is pruned by the same heuristic. Batch threads run
 * `link` concurrently; they never hold two node locks at once (so they cannot deadlock), and the
 * global mutex guards the entry point and top level.
 *
 * Searches run meanwhile without locks (search.c): every list word is
 * written with a release store, the count after the ids, and a node's own
 * data (vector, level, upper block, empty lists) is complete before the
 * first list names it.
 *
 * An upsert of a present label inserts a new node for the new vector and
 * removes the old one (remove.c). The new node stays hidden (dead: searched
 * through, never returned) while it is linked; then the old node is marked
 * removed and the new one made visible, in that order, so a concurrent
 * search never returns the label twice.
 *
 * The level of a node is drawn from a hash of (seed, n) for the n-th level
 * drawn by the index rather than from a shared generator, so the graph a
 * single thread builds depends only on the seed and the input order. */
#include "attrs.h"
#include "vw_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned draw_level(const vw_index *ix, uint64_t draw) {
    const uint64_t golden = 0x9e3779b97f4a7c15ULL; /* splitmix64's increment */
    uint64_t h = vw_mix64((ix->seed ^ vw_mix64(draw + golden)) + golden);
    double u = (double)((h >> 11) + 1) * 0x1.0p-53; /* uniform in (0, 1] */
    double level = floor(-log(u) * ix->level_mult);
    return level >= VW_MAX_LEVEL - 1 ? VW_MAX_LEVEL - 1 : (unsigned)level;
}

/* ------------------------------------------------------------------ validation */

/* A cosine row is stored normalized, so any finite vector that is not zero
 * can be, however large, and is then within every kind's range. */
static vw_status check_direction(const vw_index *ix, const float *v) {
    vw_status st = vw_check_direction(v, ix->dim);
    return st == VW_ERR_ZERO_VECTOR
               ? vw_fail(VW_ERR_ZERO_VECTOR, "cosine metric cannot store the zero vector")
               : st;
}

vw_status vw_check_insertable(const vw_index *ix, const float *v) {
    if (ix->metric == VW_METRIC_COSINE)
        return check_direction(ix, v);
    vw_status st = vw_check_vector(v, ix->dim, NULL);
    return st == VW_OK ? vw_check_storable(ix, v) : st;
}

/* The label of row i of a batch: the caller's, or with labels == NULL the
 * next id, first + i, where first is the live count before the batch (see
 * vw_index_add_batch). */
static uint64_t batch_label(const uint64_t *labels, uint64_t first, uint64_t i) {
    return labels ? labels[i] : first + i;
}

/* Checks every vector and label of a batch before anything changes. */
static vw_status check_batch(vw_index *ix, const float *vecs, const uint64_t *labels, uint64_t n,
                             bool upsert) {
    for (uint64_t i = 0; i < n; i++) {
        uint64_t label = batch_label(labels, ix->live, i);
        vw_status st = vw_check_insertable(ix, vecs + i * ix->dim);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "vector %llu (label %llu): %s", (unsigned long long)i,
                           (unsigned long long)label, why);
        }
        if (!upsert && vw_labelmap_find(&ix->map, ix->labels, label) != VW_NO_NODE)
            return vw_fail(VW_ERR_DUPLICATE_LABEL, "label %llu (vector %llu) already present",
                           (unsigned long long)label, (unsigned long long)i);
    }
    return VW_OK;
}

/* ------------------------------------------------------------------ place */

/* A placed node: its id, and for an upsert of a present label the node it
 * replaces (VW_NO_NODE otherwise). */
typedef struct placed {
    uint32_t id;
    uint32_t replaces;
} placed;

/* `tmp`: dim floats for the normalized copy of a cosine row. */
static void write_node(vw_index *ix, uint32_t id, const float *v, float *tmp, unsigned level,
                       uint32_t *upper) {
    if (ix->metric == VW_METRIC_COSINE) {
        memcpy(tmp, v, (size_t)ix->dim * sizeof *tmp);
        vw_normalize(tmp, ix->dim); /* checked non-zero and finite already */
        v = tmp;
    }
    vw_store_row(ix, id, v);
    ix->upper[id] = upper;
    ix->levels[id] = (uint8_t)level;
    vw_list_set_len(vw_links0(ix, id), 0);
}

/* Allocations that can fail come first; the node becomes part of the index
 * only when all of them succeeded. Single-threaded (batches serialize it). */
static vw_status place_at(vw_index *ix, const float *v, uint64_t label, unsigned level, bool upsert,
                          float *tmp, placed *out) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    uint32_t old = upsert ? vw_labelmap_find(&ix->map, ix->labels, label) : VW_NO_NODE;
    uint32_t id = vw_slot_peek(ix);
    vw_status st = ix->attrs ? vw_attrs_reserve(ix->attrs, 1) : VW_OK;
    if (st != VW_OK)
        return st;
    VW_ASSERT(id < ix->capacity); /* prepare() reserved the room */
    /* a free slot, or a never-used one (zeroed: it reads live) */
    VW_ASSERT(vw_state(ix, id) == (id < ix->count ? VW_NODE_FREE : VW_NODE_LIVE));
    uint32_t *upper = NULL;
    size_t words = (size_t)level * (1 + ix->M);
    if (level > 0 && !(upper = calloc(words, sizeof *upper)))
        return vw_fail(VW_ERR_NOMEM, "upper links of node %u", id);
    uint64_t keep_label = ix->labels[id]; /* the slot is unused: nobody reads it */
    ix->labels[id] = label;
    st = old != VW_NO_NODE ? vw_labelmap_set(&ix->map, ix->labels, label, id, ix->capacity)
                           : vw_labelmap_insert(&ix->map, ix->labels, id, ix->capacity);
    if (st != VW_OK) {
        ix->labels[id] = keep_label;
        free(upper);
        return st;
    }
    vw_slot_take(ix, id);
    ix->upper_bytes += words * sizeof *upper;
    write_node(ix, id, v, tmp, level, upper);
    /* Visible at once, or hidden until linked when it replaces a node. */
    vw_state_set(ix, id, old != VW_NO_NODE ? VW_NODE_HIDDEN : VW_NODE_LIVE);
    vw_attrs_on_place(ix, label, id);
    ix->live++; /* a replaced node's removal takes one off */
    *out = (placed){id, old};
    return VW_OK;
}

static vw_status place(vw_index *ix, const float *v, uint64_t label, bool upsert, float *tmp,
                       placed *out) {
    vw_status st = place_at(ix, v, label, draw_level(ix, ix->draws), upsert, tmp, out);
    ix->draws += st == VW_OK;
    return st;
}

vw_status vw_node_place(vw_index *ix, const float *v, uint64_t label, unsigned level, float *tmp,
                        uint32_t *out_id) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    placed p = {VW_NO_NODE, VW_NO_NODE};
    vw_status st = place_at(ix, v, label, level, false, tmp, &p);
    if (st == VW_OK) {
        ix->draws++;
        *out_id = p.id;
    }
    return st;
}

/* After linking: the replaced node goes (removed), then the new one shows. */
static void unhide(vw_index *ix, placed p) {
    if (p.replaces == VW_NO_NODE)
        return;
    vw_node_retire(ix, p.replaces);
    vw_state_set(ix, p.id, VW_NODE_LIVE);
}

/* ------------------------------------------------------------------ heuristic */

/* Candidates in (distance, id) order: a total order, so every sort gives
 * the same sequence. */
static inline bool cand_less(vw_cand a, vw_cand b) {
    return a.dist < b.dist || (a.dist == b.dist && a.id < b.id);
}

static void insertion_sort(vw_cand *c, uint32_t n) {
    for (uint32_t i = 1; i < n; i++) {
        vw_cand x = c[i];
        uint32_t j = i;
        for (; j > 0 && cand_less(x, c[j - 1]); j--)
            c[j] = c[j - 1];
        c[j] = x;
    }
}

/* Quicksort (median of three, the smaller side first so the stack stays
 * logarithmic) down to runs of 16, then insertion sort. Inline compares:
 * qsort's callback took a third of a purge's instructions. */
void vw_cand_sort(vw_cand *c, uint32_t n) {
    while (n > 16) {
        uint32_t mid = n / 2;
        if (cand_less(c[mid], c[0]))
            VW_SWAP(vw_cand, c[mid], c[0]);
        if (cand_less(c[n - 1], c[mid]))
            VW_SWAP(vw_cand, c[n - 1], c[mid]);
        if (cand_less(c[mid], c[0]))
            VW_SWAP(vw_cand, c[mid], c[0]);
        vw_cand pivot = c[mid];
        uint32_t i = 0, j = n - 1;
        for (;;) {
            while (cand_less(c[i], pivot))
                i++;
            while (cand_less(pivot, c[j]))
                j--;
            if (i >= j)
                break;
            VW_SWAP(vw_cand, c[i], c[j]);
            i++;
            j--;
        }
        /* [0, j] and [j + 1, n): recurse into the smaller, loop on the larger */
        if (j + 1 < n - j - 1) {
            vw_cand_sort(c, j + 1);
            c += j + 1;
            n -= j + 1;
        } else {
            vw_cand_sort(c + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(c, n);
}

/* Algorithm 4 without extension or kept pruned links: walking candidates
 * nearest first, keep one only if it is closer to the base than to every
 * neighbour kept so far, so links spread in direction instead of bunching
 * in one cluster. `c` is sorted ascending; the kept ones are compacted to
 * its front and their number returned. With `live_occluders`, a removed
 * node may be kept but never rules another out (see prune_with). */
static uint32_t select_core(const vw_index *ix, vw_scratch *s, vw_cand *c, uint32_t n, uint32_t max,
                            bool live_occluders) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n && kept < max; i++) {
        vw_query v = vw_prepare_node(ix, c[i].id, s->nbuf);
        bool good = true;
        for (uint32_t j = 0; j < kept && good; j++)
            good = (live_occluders && vw_state(ix, c[j].id) == VW_NODE_REMOVED) ||
                   vw_qdist(ix, &v, c[j].id) >= c[i].dist;
        if (good)
            c[kept++] = c[i];
    }
    VW_ASSERT(kept <= max);
    return kept;
}

uint32_t vw_select_neighbours(const vw_index *ix, vw_scratch *s, vw_cand *c, uint32_t n,
                              uint32_t max) {
    return n <= max ? n : select_core(ix, s, c, n, max, false);
}

/* ------------------------------------------------------------------ link */

/* Prunes the full list of nb (len ids) plus id with the heuristic.
 *
 * While removed nodes wait for a purge they stay in lists as bridges (the
 * purge replaces each with its own neighbours). The heuristic may keep
 * them, but they never rule a live node out: a live node dropped as
 * "covered" by a removed one could lose its last in-link that way, and
 * churn tests showed nodes cut off so. (Giving up a removed member first,
 * before any live one, kept nodes reachable as well, but lost the purge's
 * repair of that list: recall after replacing 30 % of a 100,000-vector Gaussian set fell 0.004
 * to 0.008 more below a fresh build's.) */
static void prune_with(vw_index *ix, vw_scratch *s, uint32_t nb, uint32_t *list, uint32_t len,
                       uint32_t id, uint32_t max) {
    vw_query base = vw_prepare_node(ix, nb, s->nbuf);
    vw_cand *c = s->sel; /* the caller's selection lives in s->cand's storage */
    VW_ASSERT(len + 1 <= s->sel_cap);
    for (uint32_t i = 0; i < len; i++) {
        uint32_t x = vw_list_at(list, i);
        c[i] = (vw_cand){vw_qdist(ix, &base, x), x};
    }
    c[len] = (vw_cand){vw_qdist(ix, &base, id), id};
    vw_cand_sort(c, len + 1);
    bool removed_anywhere = atomic_load_explicit(&ix->ndead, memory_order_relaxed) != 0;
    uint32_t kept = select_core(ix, s, c, len + 1, max, removed_anywhere);
    for (uint32_t i = 0; i < kept; i++)
        vw_list_put(list, i, c[i].id);
    vw_list_set_len(list, kept);
}

/* Adds `id` to the list of `nb` at `level`: in a free place, else pruning
 * with the heuristic. Takes nb's node lock; uses s->sel. */
void vw_add_backlink(vw_index *ix, vw_scratch *s, uint32_t nb, uint32_t id, unsigned level) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    uint32_t max = vw_list_max(ix, level);
    vw_node_lock_take(ix, nb);
    uint32_t *list = vw_links(ix, nb, level);
    uint32_t len = vw_list_len(list);
    VW_ASSERT(len <= max);
    bool present = false;
    for (uint32_t i = 0; i < len && !present; i++)
        present = vw_list_at(list, i) == id;
    if (present) {
        /* nb chose id itself while id was being linked */
    } else if (len < max) {
        vw_list_put(list, len, id);
        vw_list_set_len(list, len + 1);
    } else {
        prune_with(ix, s, nb, list, len, id, max);
    }
    VW_ASSERT(vw_list_len(list) <= max);
    vw_node_lock_drop(ix, nb);
}

/* Moves the layer search's results (a max-heap), but `self`, out nearest
 * first into the candidate heap's storage, which the search is done with;
 * returns how many. */
static uint32_t sorted_results(vw_scratch *s, uint32_t self) {
    uint32_t n = 0;
    vw_cand *sorted = s->cand.items;
    while (s->result.size > 0) {
        vw_cand c = vw_heap_pop_max(&s->result);
        if (c.id != self)
            sorted[n++] = c;
    }
    for (uint32_t i = 0; i < n / 2; i++) {
        vw_cand t = sorted[i];
        sorted[i] = sorted[n - 1 - i];
        sorted[n - 1 - i] = t;
    }
    return n;
}

/* Writes the list of `id` in one layer from the results of the layer search
 * and returns the nearest result, the entry point for the next layer down
 * (`from`, where this layer's search began, if it found nothing usable).
 * The list is private until back-links make `id` reachable (see link_node). */
static uint32_t choose_links(vw_index *ix, vw_scratch *s, uint32_t id, unsigned level,
                             uint32_t from) {
    vw_cand *sorted = s->cand.items;
    uint32_t n = sorted_results(s, id);
    uint32_t next = n > 0 ? sorted[0].id : from;
    uint32_t kept = vw_select_neighbours(ix, s, sorted, n, ix->M);
    VW_ASSERT(kept <= vw_list_max(ix, level));

    vw_node_lock_take(ix, id);
    uint32_t *list = vw_links(ix, id, level);
    for (uint32_t i = 0; i < kept; i++)
        vw_list_put(list, i, sorted[i].id);
    vw_list_set_len(list, kept);
    vw_node_lock_drop(ix, id);
    return next;
}

/* Links every neighbour in the list of `id` at `level` back to `id`. The
 * list is copied under the lock: once `id` is reachable, other inserts may
 * add themselves to it (they already link to `id`, which add_backlink sees). */
static void link_back(vw_index *ix, vw_scratch *s, uint32_t id, unsigned level) {
    uint32_t copy[2 * VW_MAX_M];
    vw_node_lock_take(ix, id);
    uint32_t n = vw_list_copy(vw_links(ix, id, level), vw_list_max(ix, level), copy);
    vw_node_lock_drop(ix, id);
    for (uint32_t i = 0; i < n; i++)
        vw_add_backlink(ix, s, copy[i], id, level);
}

/* global -> one stripe is the order (vw_locks.h): no stripe is held here. */
static void global_take(vw_index *ix) {
    VW_ASSERT(vw_node_locks_held == 0 && !vw_holds_any(ix, VW_HELD_GLOBAL));
    pthread_mutex_lock(&ix->global);
    vw_lock_note(ix, VW_HELD_GLOBAL, true);
}

static void global_drop(vw_index *ix) {
    vw_lock_note(ix, VW_HELD_GLOBAL, false);
    pthread_mutex_unlock(&ix->global);
}

static vw_status link_node(vw_index *ix, vw_scratch *s, uint32_t id) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    int level = ix->levels[id];
    global_take(ix);
    vw_top t = vw_top_get(ix);
    if (t.entry == VW_NO_NODE) {
        vw_top_set(ix, id, level);
        global_drop(ix);
        return VW_OK;
    }
    /* A node that raises the top level keeps the global lock until linked,
     * so no other insert starts from an entry point that is not connected
     * yet (rare: about one node in M^top). */
    bool raises_top = level > t.level;
    if (!raises_top)
        global_drop(ix);

    /* pbuf, not nbuf: the neighbour selection below decodes into nbuf */
    vw_query q = vw_prepare_node(ix, id, s->pbuf);
    uint32_t cur = vw_greedy_descend(ix, &q, t.entry, t.level, level, true);
    /* All of the node's own lists are written before any back-link makes it
     * reachable. Otherwise another insert could descend through it to a
     * layer where its list is still empty, link to it alone from there, and
     * leave a node whose only in-link is later pruned away. Removed nodes
     * are searched through but never chosen as links. */
    int bottom = level < t.level ? level : t.level;
    bool skip_dead = atomic_load_explicit(&ix->ndead, memory_order_relaxed) != 0;
    vw_status st = VW_OK;
    for (int l = bottom; l >= 0 && st == VW_OK; l--) {
        vw_layer_query lq = {&q,  ix->ef_construction, (unsigned)l, true, skip_dead, NULL, NULL,
                             NULL};
        st = vw_search_layer(ix, s, &lq, cur);
        if (st == VW_OK)
            cur = choose_links(ix, s, id, (unsigned)l, cur);
    }
    for (int l = bottom; l >= 0 && st == VW_OK; l--)
        link_back(ix, s, id, (unsigned)l);
    if (raises_top) {
        if (st == VW_OK)
            vw_top_set(ix, id, level);
        global_drop(ix);
    }
    return st;
}

/* Adds the live members of id's own layer-0 list that the search did not
 * return to its m results (room for M0 more: the candidate heap's storage
 * holds 2 ef + 2 VW_MAX_M + 64) and sorts them again; returns how many. A
 * search keeps only the ef_construction nearest, and on clustered data
 * the links between clusters are never among them: a list chosen again
 * from the results alone lost them, and after 60 s of mixed writes recall
 * at ef 32 was 0.013 below a fresh build's (0.007 above with them). */
static uint32_t add_own_list(const vw_index *ix, const vw_query *q, uint32_t id, vw_cand *sorted,
                             uint32_t m) {
    const uint32_t *list = vw_links0(ix, id);
    uint32_t len = vw_list_len(list), found = m;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t x = vw_list_at(list, i);
        bool have = vw_is_dead(ix, x);
        for (uint32_t j = 0; j < found && !have; j++)
            have = sorted[j].id == x;
        if (!have)
            sorted[m++] = (vw_cand){vw_qdist(ix, q, x), x};
    }
    vw_cand_sort(sorted, m);
    return m;
}

uint32_t vw_choose_again(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only, bool own,
                         uint32_t max, uint32_t fill, uint32_t *out, uint32_t *diverse) {
    VW_ASSERT_SOLE_WRITER(ix);
    vw_top t = vw_top_get(ix);
    if (t.entry == VW_NO_NODE || t.entry == id)
        return 0;
    vw_query q = vw_prepare_node(ix, id, s->pbuf);
    uint32_t cur = vw_greedy_descend(ix, &q, t.entry, t.level, 0, false);
    if (only && !only[cur])
        cur = t.entry; /* the descent ended among the nodes to avoid: they may
                        * link only among themselves, so the search could not
                        * leave them */
    vw_layer_query lq = {&q, ix->ef_construction, 0, false, true, NULL, NULL, NULL};
    if (vw_search_layer(ix, s, &lq, cur) != VW_OK)
        return 0;
    vw_cand *sorted = s->cand.items;
    uint32_t n = sorted_results(s, id), m = 0;
    for (uint32_t i = 0; i < n; i++) /* free slots are dead too, but not in ndead */
        if (!vw_is_dead(ix, sorted[i].id) && (!only || only[sorted[i].id]))
            sorted[m++] = sorted[i];
    if (own)
        m = add_own_list(ix, &q, id, sorted, m);
    /* the heuristic's choice, then the nearest of the others up to fill
     * (select_core overwrites the ones it drops: note them first) */
    uint32_t others[2 * VW_MAX_M], nothers = 0;
    fill = fill > max ? max : fill;
    for (uint32_t i = 0; i < m && nothers < fill; i++)
        others[nothers++] = sorted[i].id;
    uint32_t kept = vw_select_neighbours(ix, s, sorted, m, max);
    for (uint32_t i = 0; i < kept; i++)
        out[i] = sorted[i].id; /* the caller's back-links reuse the buffers */
    if (diverse)
        *diverse = kept;
    for (uint32_t i = 0; i < nothers && kept < fill; i++) {
        bool chosen = false;
        for (uint32_t j = 0; j < kept && !chosen; j++)
            chosen = out[j] == others[i];
        if (!chosen)
            out[kept++] = others[i];
    }
    return kept;
}

/* Gives a node already in the graph in-links on layer 0 again: the nodes
 * an insert of its vector would choose link back to it, as hnswlib's
 * repairConnectionsForUpdate does for an updated node. Purges call it for
 * live nodes a search from the entry point can no longer reach. Single
 * writer, no batch. */
uint32_t vw_relink(vw_index *ix, vw_scratch *s, uint32_t id, const uint8_t *only,
                   uint32_t *chosen) {
    VW_ASSERT_SOLE_WRITER(ix);
    uint32_t kept = vw_choose_again(ix, s, id, only, false, ix->M, 0, chosen, NULL);
    for (uint32_t i = 0; i < kept; i++)
        vw_add_backlink(ix, s, chosen[i], id, 0);
    return kept;
}

/* ------------------------------------------------------------------ public */

/* Room for n more nodes (free slots first, then growth), room to queue the
 * nodes an upsert replaces, and an insert scratch. */
static vw_status prepare(vw_index *ix, uint64_t n, bool upsert, vw_scratch **s) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    if (ix->readonly)
        return vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP");
    uint64_t reusable = vw_slots_reclaim(ix);
    uint64_t fresh = n > reusable ? n - reusable : 0;
    if (ix->count + fresh > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "%llu + %llu elements above %u",
                       (unsigned long long)ix->count, (unsigned long long)fresh, VW_MAX_ELEMENTS);
    vw_status st = vw_index_ensure_locks(ix);
    if (st == VW_OK)
        st = vw_index_reserve(ix, ix->count + fresh);
    if (st == VW_OK && upsert)
        st = vw_ids_reserve(&ix->pending, ix->pending.n + n);
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

/* The end of every successful write: unlink removed nodes if enough have
 * piled up, and publish the numbers stats reads. */
static void finish_write(vw_index *ix, uint64_t writes) {
    vw_purge_if_due(ix, writes);
    vw_index_publish(ix);
}

static vw_status insert_one(vw_index *ix, const float *vector, uint64_t label, bool upsert) {
    vw_clear_detail();
    if (!ix || !vector)
        return vw_fail(VW_ERR_NULL_ARG, "index or vector is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    st = vw_check_insertable(ix, vector);
    if (st == VW_OK && !upsert && vw_labelmap_find(&ix->map, ix->labels, label) != VW_NO_NODE)
        st = vw_fail(VW_ERR_DUPLICATE_LABEL, "label %llu already present",
                     (unsigned long long)label);
    vw_scratch *s = NULL;
    if (st == VW_OK)
        st = prepare(ix, 1, upsert, &s);
    if (st == VW_OK && ix->storage == VW_STORAGE_I8 && !ix->i8.trained)
        st = vw_fail(VW_ERR_INVALID_ARG, "an i8 index is trained by vw_index_train or by its first "
                                         "batch insert before single inserts");
    placed p;
    if (st == VW_OK)
        st = place(ix, vector, label, upsert, s->qbuf, &p);
    if (st == VW_OK)
        st = link_node(ix, s, p.id);
    if (st == VW_OK)
        unhide(ix, p);
    vw_scratch_release(ix, s);
    if (st == VW_OK) {
        vw_reconnect_after_batch(ix, 1);
        finish_write(ix, 1);
    }
    vw_writer_unlock(ix);
    return st;
}

vw_status vw_index_add(vw_index *ix, const float *vector, uint64_t label) {
    return insert_one(ix, vector, label, false);
}

vw_status vw_index_upsert(vw_index *ix, const float *vector, uint64_t label) {
    return insert_one(ix, vector, label, true);
}

vw_status vw_index_train(vw_index *ix, const float *vectors, uint64_t n) {
    vw_clear_detail();
    if (!ix || (n > 0 && !vectors))
        return vw_fail(VW_ERR_NULL_ARG, "index or vectors is NULL");
    vw_status st = vw_writer_lock(ix);
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
            st = vw_check_insertable(ix, vectors + i * ix->dim);
            if (st != VW_OK) {
                char why[160];
                snprintf(why, sizeof why, "%s", vw_last_error_detail());
                st = vw_fail(st, "training vector %llu: %s", (unsigned long long)i, why);
            }
        }
        if (st == VW_OK)
            st = vw_storage_train(ix, vectors, n);
    }
    vw_writer_unlock(ix);
    return st;
}

/* ------------------------------------------------------------------ batch */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

vw_status vw_check_unique_labels(const uint64_t *labels, uint64_t n) {
    if (n < 2 || !labels) /* the next ids (labels == NULL) cannot repeat */
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
    bool upsert;
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
    unsigned noted = vw_lock_note_worker(ix); /* the caller holds writer for us */
    vw_scratch *s = vw_scratch_acquire(ix);
    vw_status st = s ? vw_scratch_fit(s, ix->capacity, ix->ef_construction, ix->dim)
                     : vw_fail(VW_ERR_NOMEM, "insert scratch");
    while (st == VW_OK && atomic_load(&b->status) == VW_OK) {
        pthread_mutex_lock(&b->place_lock);
        uint64_t row = b->next;
        placed pl;
        if (row < b->n) {
            b->next++;
            st = place(ix, b->vecs + row * ix->dim, batch_label(b->labels, b->first_label, row),
                       b->upsert, s->qbuf, &pl);
        }
        pthread_mutex_unlock(&b->place_lock);
        if (row >= b->n || st != VW_OK)
            break;
        st = link_node(ix, s, pl.id);
        if (st == VW_OK && pl.replaces != VW_NO_NODE) {
            pthread_mutex_lock(&b->place_lock); /* the removal queue is shared */
            unhide(ix, pl);
            pthread_mutex_unlock(&b->place_lock);
        }
        if (st == VW_OK) {
            atomic_fetch_add(&b->done, 1);
            if (worker == 0)
                report_progress(b);
        }
    }
    if (st != VW_OK)
        fail_batch(b, st);
    vw_scratch_release(ix, s);
    vw_lock_note(ix, noted, false);
}

static vw_status run_batch(vw_index *ix, const float *vecs, const uint64_t *labels, uint64_t n,
                           bool upsert, unsigned threads, vw_progress_fn progress, void *ctx) {
    batch_insert b = {.ix = ix,
                      .vecs = vecs,
                      .labels = labels,
                      .first_label = ix->live,
                      .n = n,
                      .upsert = upsert,
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

static vw_status insert_batch(vw_index *ix, const float *vectors, const uint64_t *labels,
                              uint64_t n, bool upsert, unsigned threads, vw_progress_fn progress,
                              void *progress_ctx) {
    vw_clear_detail();
    if (!ix || (n > 0 && (!vectors || (upsert && !labels))))
        return vw_fail(VW_ERR_NULL_ARG,
                       upsert ? "index, vectors or labels is NULL" : "index or vectors is NULL");
    if (n == 0)
        return VW_OK;
    if (threads == 0)
        threads = vw_default_threads();
    if (threads > n)
        threads = (unsigned)n;
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    st = ix->readonly ? vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP")
                      : check_batch(ix, vectors, labels, n, upsert);
    if (st == VW_OK)
        st = vw_check_unique_labels(labels, n);
    bool trains = st == VW_OK && ix->storage == VW_STORAGE_I8 && !ix->i8.trained;
    if (trains)
        st = vw_storage_train(ix, vectors, n);
    vw_scratch *s = NULL;
    if (st == VW_OK)
        st = prepare(ix, n, upsert, &s);
    vw_scratch_release(ix, s); /* prepare's scratch goes back to the pool for a worker */
    if (st == VW_OK) {
        st = run_batch(ix, vectors, labels, n, upsert, threads, progress, progress_ctx);
        if (st == VW_OK)
            vw_reconnect_after_batch(ix, n);
        /* A cancelled or failed batch keeps what it inserted: publish that too. */
        finish_write(ix, n);
    }
    if (st != VW_OK && trains && ix->count == 0)
        vw_storage_free(ix); /* a batch that left nothing behind leaves no codec either */
    vw_writer_unlock(ix);
    return st;
}

vw_status vw_index_add_batch(vw_index *ix, const float *vectors, const uint64_t *labels, uint64_t n,
                             unsigned threads, vw_progress_fn progress, void *progress_ctx) {
    return insert_batch(ix, vectors, labels, n, false, threads, progress, progress_ctx);
}

vw_status vw_index_upsert_batch(vw_index *ix, const float *vectors, const uint64_t *labels,
                                uint64_t n, unsigned threads, vw_progress_fn progress,
                                void *progress_ctx) {
    return insert_batch(ix, vectors, labels, n, true, threads, progress, progress_ctx);
}
