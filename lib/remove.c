/* Removal: deleting from a graph that is being searched.
 *
 * HNSW links are directed and a node does not know who links to it, so a
 * node cannot be cut out of the graph the moment it is removed without
 * either keeping reverse links (Redis vector sets keep every link
 * bidirectional and relink a removed node's neighbours among themselves at
 * once, under a lock that stops searches) or reading every list. hnswlib
 * only marks nodes deleted and leaves them in the graph for good (its
 * replace_deleted reuses the slot and repairs the neighbourhood with
 * updatePoint / repairConnectionsForUpdate); usearch marks them and cleans
 * up in a separate compaction. We do what FreshDiskANN calls delete
 * consolidation, with searches running throughout:
 *
 *   1. vw_index_remove marks the node dead at once (a bit searches test
 *      before keeping a result) and takes its label out of the map. The
 *      node stays linked: searches still walk through it, so the graph
 *      keeps its connectivity and recall does not dip. Upserts retire the
 *      node they replace the same way.
 *
 *   2. When removed nodes reach a few percent of the index (or on
 *      vw_index_purge), one pass unlinks all of them: every live node p
 *      with removed neighbours in layer l replaces them with live
 *      neighbours of theirs, nearest to p first, preferring those the insert
 *      heuristic accepts (repair_list), and the new neighbours link back to
 *      p without lengthening their lists past M (give_backlink). Now and
 *      then a layer-0 list is re-selected whole by an insert-like search
 *      instead, so second-hand neighbours do not pile up. The pass works a
 *      slice of nodes per write call; nodes removed while it runs wait for
 *      the next pass, and their lists lose the links to the pass's nodes
 *      before those are retired (scrub_pending). Lists of live and pending
 *      nodes are the only place a removed id can be, so after the pass no
 *      reachable list names one. Live nodes a search from the entry point
 *      can no longer reach get in-links again from an insert-like search
 *      (vw_relink, reconnect). If the entry point was removed, the live node
 *      on the highest level becomes the entry (so the top level can drop).
 *      The pass costs one read of every list plus the repairs and
 *      re-selections, amortised over the removals it clears: about one
 *      insert per removal.
 *
 *   3. The unlinked slots go to limbo, tagged with a new epoch: searches
 *      that began before the pass may still hold their ids and read their
 *      vectors and lists, which stay untouched. Once no such search runs
 *      (epoch.c), the slots are freed (their upper lists released) and
 *      later inserts reuse them; until then inserts append.
 *
 * Slot states (ix->state, with a dead bit per slot for searches):
 *
 *   LIVE --remove/upsert--> REMOVED --purge--> FREE (limbo) --epoch--> FREE
 *     ^                                                                 |
 *     +------------- insert (HIDDEN while an upsert links it) <---------+
 *
 * ndead counts REMOVED and HIDDEN nodes, the dead nodes a new search can
 * reach; a search skips the dead-bit test when it is 0. Removing a node
 * sets its dead bit and ndead with sequentially consistent read-modify-
 * writes before the call returns, and a search reads both after its epoch
 * fence, so a search that starts after vw_index_remove returned never
 * returns the label. A purge stores ndead after its last list write and
 * searches load it with acquire: a search that sees fewer dead nodes also
 * sees the lists that no longer lead to them.
 *
 * Everything here runs under the writer lock with no batch insert running,
 * so lists change only through this file while it works; searches read
 * them meanwhile (see vw_list_* in vw_internal.h for why that is safe). */
#include "attrs.h"
#include "vw_internal.h"

#include <stdlib.h>
#include <string.h>

/* A purge pass starts once removed nodes reach 1/32 of the live ones (at
 * least PURGE_MIN), and repairs the lists of PURGE_SLICE nodes per element
 * a write call adds, replaces or removes: no single small write pays for a
 * whole pass, and a large batch (whose upserts may retire thousands of
 * nodes at once) pays for its own share instead of leaving them to be
 * traversed, dead, by every search until enough later writes come. */
#define PURGE_MIN     64u
#define PURGE_DIVISOR 32u
#define PURGE_SLICE   1024u

/* ------------------------------------------------------------------ id arrays */

vw_status vw_ids_reserve(vw_ids *v, uint64_t n) {
    if (n <= v->cap)
        return VW_OK;
    uint64_t cap = v->cap + v->cap / 2 > n ? v->cap + v->cap / 2 : n;
    uint32_t *ids = realloc(v->ids, cap * sizeof *ids);
    if (!ids)
        return vw_fail(VW_ERR_NOMEM, "list of %llu slots", (unsigned long long)cap);
    v->ids = ids;
    v->cap = cap;
    return VW_OK;
}

vw_status vw_ids_push(vw_ids *v, uint32_t id) {
    vw_status st = vw_ids_reserve(v, v->n + 1);
    if (st == VW_OK)
        v->ids[v->n++] = id;
    return st;
}

void vw_ids_free(vw_ids *v) {
    free(v->ids);
    *v = (vw_ids){0};
}

/* ------------------------------------------------------------------ states */

static bool counts_as_dead(uint8_t state) {
    return state == VW_NODE_REMOVED || state == VW_NODE_HIDDEN;
}

/* The life cycle drawn at the top of this file. A never-used slot reads
 * LIVE (zeroed) and becomes LIVE or HIDDEN when an insert takes it; the
 * maker of an index (a load) sets REMOVED and FREE on such slots directly;
 * a reorder turns the FREE slots it drops back to LIVE. */
static bool state_change_ok(const vw_index *ix, uint8_t from, uint8_t to) {
    switch (to) {
    case VW_NODE_LIVE:
        return from != VW_NODE_REMOVED; /* a removed node is only ever purged */
    case VW_NODE_HIDDEN:
        return from == VW_NODE_LIVE || from == VW_NODE_FREE;
    case VW_NODE_REMOVED:
        return from == VW_NODE_LIVE;
    case VW_NODE_FREE:
        return from == VW_NODE_REMOVED || (from == VW_NODE_LIVE && vw_holds_any(ix, VW_HELD_OWNER));
    }
    return false;
}

void vw_state_set(vw_index *ix, uint32_t id, uint8_t state) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    VW_ASSERT(id < ix->capacity);
    uint8_t old = vw_state(ix, id);
    VW_ASSERT(state_change_ok(ix, old, state));
    uint64_t bit = (uint64_t)1 << (id & 63);
    if (state != VW_NODE_LIVE)
        atomic_fetch_or(&ix->dead[id >> 6], bit);
    __atomic_store_n(&ix->state[id], state, __ATOMIC_RELAXED);
    if (counts_as_dead(state) && !counts_as_dead(old))
        atomic_fetch_add(&ix->ndead, 1);
    if (!counts_as_dead(state) && counts_as_dead(old))
        atomic_fetch_sub(&ix->ndead, 1);
    if (state == VW_NODE_LIVE)
        atomic_fetch_and(&ix->dead[id >> 6], ~bit);
    VW_ASSERT(vw_is_dead(ix, id) == (state != VW_NODE_LIVE));
}

uint8_t vw_node_state(const vw_index *ix, uint32_t id) {
    uint8_t s = vw_state(ix, id);
    return s == VW_NODE_FREE ? 2 : s == VW_NODE_REMOVED ? 1 : 0;
}

void vw_node_retire(vw_index *ix, uint32_t id) {
    VW_ASSERT(vw_state(ix, id) == VW_NODE_LIVE && ix->pending.n < ix->pending.cap);
    vw_state_set(ix, id, VW_NODE_REMOVED);
    ix->pending.ids[ix->pending.n++] = id; /* room reserved by the caller */
    ix->live--;
}

/* ------------------------------------------------------------------ slots */

uint32_t vw_slot_peek(const vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    if (ix->free_ids.n > 0)
        return ix->free_ids.ids[ix->free_ids.n - 1];
    return (uint32_t)ix->count;
}

void vw_slot_take(vw_index *ix, uint32_t id) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    if (ix->free_ids.n > 0 && ix->free_ids.ids[ix->free_ids.n - 1] == id)
        ix->free_ids.n--;
    else
        ix->count++;
}

/* A slot whose last reader has gone: its upper lists can be released. */
static void free_slot(vw_index *ix, uint32_t id) {
    if (ix->upper[id]) {
        ix->upper_bytes -= (uint64_t)ix->levels[id] * (1 + ix->M) * sizeof(uint32_t);
        free(ix->upper[id]);
        ix->upper[id] = NULL;
    }
    ix->levels[id] = 0;
    vw_list_set_len(vw_links0(ix, id), 0);
    VW_ASSERT(vw_state(ix, id) == VW_NODE_FREE && ix->free_ids.n < ix->free_ids.cap);
    ix->free_ids.ids[ix->free_ids.n++] = id; /* room reserved by the purge */
}

/* Frees the first `batches` batches of limbo. */
static void limbo_release(vw_index *ix, uint64_t batches) {
    vw_limbo *lb = &ix->limbo;
    if (batches == 0)
        return;
    uint64_t end = lb->ends[batches - 1];
    for (uint64_t i = 0; i < end; i++)
        free_slot(ix, lb->ids.ids[i]);
    memmove(lb->ids.ids, lb->ids.ids + end, (lb->ids.n - end) * sizeof *lb->ids.ids);
    lb->ids.n -= end;
    for (uint64_t b = batches; b < lb->batches; b++) {
        lb->epochs[b - batches] = lb->epochs[b];
        lb->ends[b - batches] = lb->ends[b] - end;
    }
    lb->batches -= batches;
}

uint64_t vw_slots_reclaim(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER);
    uint64_t done = 0;
    while (done < ix->limbo.batches && vw_epoch_passed(ix, ix->limbo.epochs[done]))
        done++;
    limbo_release(ix, done);
    return ix->free_ids.n;
}

void vw_limbo_drain(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER | VW_HELD_STORAGE); /* no search can run */
    limbo_release(ix, ix->limbo.batches);
}

/* ------------------------------------------------------------------ purge */

typedef struct vw_repair {
    vw_scratch *s;  /* visited set, to take each candidate once */
    uint8_t *indeg; /* layer-0 links from live nodes, saturating */
    uint8_t *seen;  /* reachable from the entry point (reconnect) */
    uint32_t *queue;
    uint32_t *cid; /* candidate ids */
    float *cdist;  /* their distances */
    vw_cand *cand;
    uint32_t cand_cap;
    uint32_t ids[2 * VW_MAX_M];
    uint32_t before[2 * VW_MAX_M];
    uint64_t seed, draws; /* for reselect_due */
} repair;

/* Adds the live ids of a list to the candidates (each once). */
static void gather(const vw_index *ix, repair *r, const uint32_t *list, uint32_t max, uint32_t *n) {
    uint32_t len = vw_list_len(list);
    for (uint32_t j = 0; j < len && j < max && *n < r->cand_cap; j++) {
        uint32_t y = vw_list_at(list, j);
        if (!vw_is_dead(ix, y) && vw_visit(r->s, y))
            r->cid[(*n)++] = y;
    }
}

/* The candidates with their distances to p, nearest first, in r->cand. */
static void rank_candidates(const vw_index *ix, repair *r, uint32_t p, uint32_t n) {
    vw_query q = vw_prepare_node(ix, p, r->s->pbuf);
    vw_qdist_batch(ix, &q, r->cid, n, r->cdist);
    for (uint32_t i = 0; i < n; i++)
        r->cand[i] = (vw_cand){r->cdist[i], r->cid[i]};
    vw_cand_sort(r->cand, n);
}

/* Whether candidate c (its distance to the list's owner in c.dist) is
 * nearer the owner than every neighbour in kept: the insert heuristic's test,
 * in the same units (the storage kind's distances). */
static bool diverse(const vw_index *ix, repair *r, const uint32_t *kept, uint32_t n, vw_cand c) {
    vw_query v = vw_prepare_node(ix, c.id, r->s->nbuf);
    for (uint32_t j = 0; j < n; j++)
        if (vw_qdist(ix, &v, kept[j]) < c.dist)
            return false;
    return true;
}

/* Links q back to p, a new layer-0 neighbour of q's, without lengthening
 * q's list once it holds M ids: then p takes the place of a removed member,
 * else of the farthest member that p covers (nearer p than q, as the insert
 * heuristic judges: q still reaches it through p), else, with or_farthest,
 * of the farthest member if p is nearer q than it; else q does not link
 * back.
 *
 * The repair takes each removed node's in-links over one for one, so
 * back-links that lengthened lists as an insert's do kept the removed
 * node's edges while the nodes went: after 30 % of a 100,000-vector Gaussian set removed the
 * lists averaged 57 ids against a fresh build's 51, and search speed
 * followed (0.85-0.89 of fresh even at equal recall). This way every list
 * keeps the length it had. Replacing only the farthest member cut the
 * bridges between clusters (recall after 60 s of mixed writes on clustered
 * data 0.980, against 0.988 before); replacing only covered members lost
 * 0.01 of recall on i.i.d. vectors, where p seldom covers anything. */
static void give_backlink(vw_index *ix, repair *r, uint32_t q, uint32_t p, bool or_farthest) {
    uint32_t *list = vw_links0(ix, q), len = vw_list_len(list), at = len;
    for (uint32_t i = 0; i < len; i++)
        if (vw_list_at(list, i) == p)
            return;
    if (len < ix->M) {
        vw_list_put(list, len, p);
        vw_list_set_len(list, len + 1);
        return;
    }
    vw_query base = vw_prepare_node(ix, q, r->s->nbuf);
    vw_query via = vw_prepare_node(ix, p, r->s->pbuf);
    float near = vw_qdist(ix, &base, p), far = near, far_covered = near;
    uint32_t covered = len;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t x = vw_list_at(list, i);
        if (vw_is_dead(ix, x)) {
            at = covered = i; /* not yet repaired: p is a better bridge than nothing */
            break;
        }
        float d = vw_qdist(ix, &base, x);
        if (d > far) {
            far = d;
            at = i;
        }
        if (d > far_covered && vw_qdist(ix, &via, x) < d) {
            far_covered = d;
            covered = i;
        }
    }
    at = covered < len ? covered : or_farthest ? at : len;
    if (at < len)
        vw_list_put(list, at, p);
}

static void link_back_to(vw_index *ix, repair *r, uint32_t p, unsigned l, uint32_t from,
                         uint32_t to, bool or_farthest) {
    for (uint32_t i = from; i < to; i++)
        if (l == 0)
            give_backlink(ix, r, r->ids[i], p, or_farthest);
        else
            vw_add_backlink(ix, r->s, r->ids[i], p, l); /* upper lists are few and short */
}

/* Whether a layer-0 list that lost `lost` members is re-selected whole: on
 * average once per M0/4 members lost. A draw, not a count per node, so no
 * state follows a node through compaction, reorder and save. */
static bool reselect_due(const vw_index *ix, repair *r, uint32_t lost) {
    uint32_t every = ix->M0 / 4 > 0 ? ix->M0 / 4 : 1;
    return vw_mix64(r->seed + ++r->draws) % every < lost;
}

/* Re-selects the layer-0 list of p as an insert of its vector would select
 * it (vw_choose_again), filled with the nearest others to the length it had
 * (at least M), and links the chosen nodes back. Without the filling,
 * lists on clustered data shrank to the heuristic's few (mean 24 against a
 * fresh build's 41 after replacing 30 %). The nodes the heuristic chose may
 * give up their farthest member for p, as a repair's may; the filling ones
 * only a member p covers: when all fifty-odd could, a re-selection pushed
 * out the long links between clusters, and after 60 s of mixed writes on
 * clustered data recall at ef 16 fell to 0.879 against a fresh build's
 * 0.934 (0.976 against 0.936 now, with the list's own members among the
 * candidates). Returns false, changing nothing, if nothing was found (p is
 * the entry point, or alone). */
static bool reselect(vw_index *ix, repair *r, uint32_t p, uint32_t len) {
    uint32_t want = len > ix->M ? len : ix->M;
    uint32_t diverse = 0;
    uint32_t n = vw_choose_again(ix, r->s, p, NULL, true, want, want, r->ids, &diverse);
    if (n == 0)
        return false;
    vw_list_store(vw_links0(ix, p), r->ids, n);
    link_back_to(ix, r, p, 0, 0, diverse, true);
    link_back_to(ix, r, p, 0, diverse, n, false);
    return true;
}

/* Repairs the layer-l list of live node p if it names removed nodes: p
 * keeps its live neighbours, and each removed one is replaced from the live
 * neighbours of the removed ones (FreshDiskANN's delete consolidation),
 * nearest to p first, those the insert heuristic accepts beside p's
 * neighbours (nearer p than any of them) before the others, until the list
 * is as long as before. The new neighbours link back to p, as an insert's
 * do: they may have lost in-links with the removed nodes (give_backlink).
 *
 * Second-hand neighbours are not as good as an insert's: with list lengths
 * kept as they were, recall fell 0.013-0.022 below a fresh build of the
 * same vectors after 30-50 % removed. So a layer-0 list is now and then
 * re-selected whole by an insert-like search (reselect_due), which brought
 * recall back to within 0.006 of fresh; it costs an insert's search per
 * M0/4 members lost, and halves the removal rate.
 *
 * Measured alternatives: re-selecting the whole list with the heuristic
 * over its own members shrinks lists that grew by back-links to their
 * diverse core, and recall at a fixed ef fell 0.01 to 0.04 below a fresh
 * build; two hops through every neighbour (as hnswlib's updatePoint takes)
 * made removals 17 times slower; a relaxed heuristic (DiskANN's alpha > 1)
 * cost 17% more links; without the back-links, a node in a hundred became
 * unreachable after a few rounds of churn; re-selected lists of only M
 * (an insert's own count) lost 0.04 of recall, and lists of up to M0 grew
 * to 62 ids and cost 13 % of search speed. */
static void repair_list(vw_index *ix, repair *r, uint32_t p, unsigned l) {
    uint32_t max = l == 0 ? ix->M0 : ix->M;
    uint32_t *list = vw_links(ix, p, l);
    uint32_t len = vw_list_copy(list, max, r->before), lost = 0;
    for (uint32_t i = 0; i < len; i++)
        lost += vw_is_dead(ix, r->before[i]);
    if (lost == 0)
        return; /* nothing removed here */
    if (l == 0 && reselect_due(ix, r, lost) && reselect(ix, r, p, len))
        return;
    uint32_t kept = 0, n = 0;
    vw_visited_reset(r->s);
    vw_visit(r->s, p);
    for (uint32_t i = 0; i < len; i++)
        if (!vw_is_dead(ix, r->before[i])) {
            r->ids[kept++] = r->before[i];
            vw_visit(r->s, r->before[i]);
        }
    uint32_t live = kept;
    for (uint32_t i = 0; i < len; i++)
        if (vw_is_dead(ix, r->before[i]))
            gather(ix, r, vw_links(ix, r->before[i], l), max, &n);
    rank_candidates(ix, r, p, n);
    for (uint32_t i = 0; i < n && kept < len; i++)
        if (diverse(ix, r, r->ids, kept, r->cand[i])) {
            r->ids[kept++] = r->cand[i].id;
            r->cand[i].id = VW_NO_NODE;
        }
    for (uint32_t i = 0; i < n && kept < len; i++)
        if (r->cand[i].id != VW_NO_NODE)
            r->ids[kept++] = r->cand[i].id;
    vw_list_store(list, r->ids, kept);
    link_back_to(ix, r, p, l, live, kept, true);
}

/* The live node on the highest level, or VW_NO_NODE. */
static uint32_t highest_live(const vw_index *ix) {
    uint32_t best = VW_NO_NODE;
    for (uint64_t i = 0; i < ix->count; i++)
        if (!vw_is_dead(ix, (uint32_t)i) &&
            (best == VW_NO_NODE || ix->levels[i] > ix->levels[best]))
            best = (uint32_t)i;
    return best;
}

static void replace_entry(vw_index *ix) {
    vw_top t = vw_top_get(ix);
    if (t.entry == VW_NO_NODE || !vw_is_dead(ix, t.entry))
        return;
    uint32_t e = highest_live(ix);
    vw_top_set(ix, e, e == VW_NO_NODE ? -1 : ix->levels[e]);
}

static void free_work(vw_index *ix, repair *r) {
    if (!r)
        return;
    free(r->cand);
    free(r->cid);
    free(r->cdist);
    free(r->indeg);
    free(r->seen);
    free(r->queue);
    vw_scratch_release(ix, r->s);
    free(r);
}

/* Every allocation a pass over `removed` nodes needs before it changes
 * anything: room to retire them and free their slots, candidate buffers,
 * a scratch, node locks (back-links take them). */
static vw_status reserve_pass(vw_index *ix, repair *r, uint64_t removed) {
    vw_limbo *lb = &ix->limbo;
    vw_status st = vw_ids_reserve(&lb->ids, lb->ids.n + removed);
    if (st == VW_OK)
        st = vw_ids_reserve(&ix->free_ids, ix->free_ids.n + lb->ids.n + removed);
    if (st == VW_OK && lb->batches == lb->cap) {
        uint64_t cap = lb->cap ? 2 * lb->cap : 8;
        uint64_t *e = realloc(lb->epochs, cap * sizeof *e);
        if (e)
            lb->epochs = e;
        uint64_t *f = e ? realloc(lb->ends, cap * sizeof *f) : NULL;
        if (f) {
            lb->ends = f;
            lb->cap = cap;
        } else {
            st = vw_fail(VW_ERR_NOMEM, "limbo of %llu batches", (unsigned long long)cap);
        }
    }
    /* a list of M0 ids, each with M0 neighbours */
    r->cand_cap = ix->M0 * (ix->M0 + 1);
    r->cand = st == VW_OK ? malloc((size_t)r->cand_cap * sizeof *r->cand) : NULL;
    r->cid = r->cand ? malloc((size_t)r->cand_cap * sizeof *r->cid) : NULL;
    r->cdist = r->cid ? malloc((size_t)r->cand_cap * sizeof *r->cdist) : NULL;
    if (st == VW_OK && !r->cdist)
        st = vw_fail(VW_ERR_NOMEM, "purge candidates");
    r->seed = vw_mix64(ix->count ^ (removed << 32)); /* repeatable runs */
    r->s = st == VW_OK ? vw_scratch_acquire(ix) : NULL;
    if (st == VW_OK && !r->s)
        st = vw_fail(VW_ERR_NOMEM, "purge scratch");
    return st == VW_OK ? vw_index_ensure_locks(ix) : st;
}

/* Counts the layer-0 in-links of every node from live nodes. */
static void count_links(const vw_index *ix, repair *r) {
    for (uint64_t p = 0; p < ix->count; p++) {
        if (vw_state(ix, (uint32_t)p) != VW_NODE_LIVE)
            continue;
        const uint32_t *list = vw_links0(ix, (uint32_t)p);
        uint32_t len = vw_list_len(list);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t y = vw_list_at(list, i);
            r->indeg[y] += r->indeg[y] < UINT8_MAX;
        }
    }
}

/* Marks (r->seen) every live node reachable from `from` through layer-0
 * lists of live nodes; r->queue is the work list. */
static void flood(const vw_index *ix, repair *r, uint32_t from) {
    uint64_t head = 0, tail = 0;
    r->seen[from] = 1;
    r->queue[tail++] = from;
    while (head < tail) {
        const uint32_t *list = vw_links0(ix, r->queue[head++]);
        uint32_t len = vw_list_len(list);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t y = vw_list_at(list, i);
            if (!r->seen[y] && vw_state(ix, y) == VW_NODE_LIVE) {
                r->seen[y] = 1;
                r->queue[tail++] = y;
            }
        }
    }
}

/* Puts id into the layer-0 list of nb, which the heuristic may have pruned
 * it from: in a free place, else in place of the member farthest from nb
 * that other live nodes also link to (no node loses its last in-link for
 * id). Returns whether nb links to id now. */
static bool insist(vw_index *ix, repair *r, uint32_t nb, uint32_t id) {
    uint32_t *list = vw_links0(ix, nb), len = vw_list_len(list), at = len;
    for (uint32_t i = 0; i < len; i++)
        if (vw_list_at(list, i) == id)
            return true; /* the back-link held */
    if (len < ix->M0) {
        vw_list_put(list, len, id);
        vw_list_set_len(list, len + 1);
    } else {
        float far = -1;
        vw_query base = vw_prepare_node(ix, nb, r->s->nbuf);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t x = vw_list_at(list, i);
            float d = vw_qdist(ix, &base, x);
            if (r->indeg[x] > 1 && d > far) {
                far = d;
                at = i;
            }
        }
        if (at == len)
            return false; /* every member hangs on this list alone: leave it */
        r->indeg[vw_list_at(list, at)]--;
        vw_list_put(list, at, id);
    }
    r->indeg[id] += r->indeg[id] < UINT8_MAX;
    return true;
}

/* One round of reconnect: floods from the entry point, then links in again
 * each live node the flood missed; returns how many it missed. Only a node
 * linked in again counts as reached: the nodes it reaches may then be
 * chosen as neighbours by the next relinks. The nearest chosen node is
 * asked first; with small lists every member of its list may hang on it
 * alone, and then the next one is. */
static uint64_t reconnect_round(vw_index *ix, repair *r, uint32_t entry) {
    memset(r->indeg, 0, ix->count);
    memset(r->seen, 0, ix->count);
    count_links(ix, r);
    flood(ix, r, entry);
    uint64_t missed = 0;
    for (uint64_t i = 0; i < ix->count; i++) {
        uint32_t id = (uint32_t)i;
        if (r->seen[i] || vw_state(ix, id) != VW_NODE_LIVE)
            continue;
        missed++;
        uint32_t chosen[VW_MAX_M];
        uint32_t kept = vw_relink(ix, r->s, id, r->seen, chosen);
        bool linked = false;
        for (uint32_t j = 0; j < kept && !linked; j++)
            linked = insist(ix, r, chosen[j], id);
        if (linked)
            flood(ix, r, id);
    }
    return missed;
}

/* Live nodes a search from the entry point cannot reach would never be
 * found again. HNSW graphs lose such nodes under churn: a removed node may
 * have been a node's only in-link, and the heuristic that prunes a full
 * list drops nodes it deems covered by a neighbour that does not link to
 * them. A flood from the entry point over the live lists (one read of
 * every list, as the repairs above) finds them; each is linked in again by
 * an insert-like search, with an in-link forced if the heuristic refused
 * every one, and what it reaches is flooded in turn, so a cut-off group
 * needs one relink. A relink's own back-links may prune a node linked in
 * just before (lists of M0 = 8 at M=4 did, in one build of ten), so rounds
 * repeat until one finds every node, at most four. Skipped when out of
 * memory: the next pass looks again. */
static void reconnect(vw_index *ix, repair *r) {
    uint32_t entry = vw_top_get(ix).entry;
    if (entry == VW_NO_NODE || !(r->indeg = calloc(ix->count, 1)) ||
        !(r->seen = calloc(ix->count, 1)) || !(r->queue = malloc(ix->count * sizeof *r->queue)) ||
        vw_scratch_fit(r->s, ix->capacity, ix->ef_construction, ix->dim) != VW_OK)
        return;
    for (int round = 0; round < 4; round++)
        if (reconnect_round(ix, r, entry) == 0)
            break;
    ix->unflooded = 0;
}

/* Inserts, in parallel or not, can leave a few nodes with no in-link: each
 * list that named such a node was pruned later by the heuristic (on the
 * 400-node graphs of test_core_reachable about one build in 600 lost one
 * with two threads, and one in a few with M=4). The flood that ends a purge
 * pass finds and relinks them. It costs one read of every list, so it runs
 * once the nodes inserted since the last flood reach a sixteenth of the
 * index: a first build's batch at its end, a build streamed in chunks or
 * one insert at a time every sixteenth of growth, which keeps its share of
 * the inserts' cost small and bounded. */
static void flood_now(vw_index *ix) {
    repair r = {0};
    r.s = vw_scratch_acquire(ix);
    if (r.s && vw_index_ensure_locks(ix) == VW_OK)
        reconnect(ix, &r); /* out of memory it does nothing: a purge looks again */
    free(r.indeg);
    free(r.seen);
    free(r.queue);
    vw_scratch_release(ix, r.s);
}

void vw_reconnect_after_batch(vw_index *ix, uint64_t added) {
    VW_ASSERT_SOLE_WRITER(ix);
    ix->unflooded += added;
    if (ix->unflooded >= 2 && ix->unflooded >= ix->count / 16 && !ix->purge.active)
        flood_now(ix); /* a pass under way ends with this same flood */
}

/* Nodes removed while the pass ran are still linked, and searches still
 * walk through them; their own lists may name nodes of the set, which are
 * now free. Those links go: a free slot must be unreachable before its
 * epoch is taken, or a search could reach it after it is reused. */
static void scrub_pending(vw_index *ix) {
    for (uint64_t i = 0; i < ix->pending.n; i++) {
        uint32_t x = ix->pending.ids[i];
        for (unsigned l = 0; l <= ix->levels[x]; l++) {
            uint32_t *list = vw_links(ix, x, l), ids[2 * VW_MAX_M], n = 0;
            uint32_t len = vw_list_copy(list, l == 0 ? ix->M0 : ix->M, ids);
            for (uint32_t j = 0; j < len; j++)
                if (vw_state(ix, ids[j]) != VW_NODE_FREE)
                    ids[n++] = ids[j];
            if (n < len)
                vw_list_store(list, ids, n);
        }
    }
}

/* Moves the pass's removed nodes, now unlinked, to limbo under a new epoch. */
static void retire_set(vw_index *ix) {
    vw_limbo *lb = &ix->limbo;
    vw_ids *set = &ix->purge.set;
    for (uint64_t i = 0; i < set->n; i++)
        vw_state_set(ix, set->ids[i], VW_NODE_FREE);
    scrub_pending(ix);
    uint64_t epoch = vw_epoch_advance(ix);
    /* limbo is in epoch order: vw_slots_reclaim frees a prefix of it */
    VW_ASSERT(lb->batches < lb->cap && (lb->batches == 0 || lb->epochs[lb->batches - 1] < epoch));
    for (uint64_t i = 0; i < set->n; i++)
        lb->ids.ids[lb->ids.n++] = set->ids[i];
    lb->epochs[lb->batches] = epoch;
    lb->ends[lb->batches] = lb->ids.n;
    lb->batches++;
    set->n = 0;
}

/* Starts a pass over the pending removed nodes (they become its set; later
 * removals wait for the next pass). */
static vw_status pass_start(vw_index *ix) {
    repair *r = calloc(1, sizeof *r);
    vw_status st = r ? reserve_pass(ix, r, ix->pending.n) : vw_fail(VW_ERR_NOMEM, "purge");
    if (st != VW_OK) {
        free_work(ix, r);
        return st;
    }
    vw_ids set = ix->purge.set;
    ix->purge.set = ix->pending;
    ix->pending = set; /* the pass's empty array, reused */
    ix->purge = (vw_purge){.active = true, .set = ix->purge.set, .work = r};
    return VW_OK;
}

/* The end of a pass: every list is repaired, so no live list names a node
 * of the set (nodes removed since may still be named: the next pass). */
static void pass_finish(vw_index *ix) {
    repair *r = ix->purge.work;
    replace_entry(ix);
    reconnect(ix, r);
    retire_set(ix);
    free_work(ix, r);
    ix->purge.work = NULL;
    ix->purge.active = false;
    vw_slots_reclaim(ix);
}

/* Repairs the lists of up to `nodes` nodes; finishes the pass at the end.
 * Between slices, writes may have added nodes and links: new links never
 * name a removed node (inserts and repairs skip dead ones), so lists
 * already repaired stay clean. */
static void pass_step(vw_index *ix, uint64_t nodes) {
    repair *r = ix->purge.work;
    if (vw_scratch_fit(r->s, ix->capacity, ix->ef_construction, ix->dim) != VW_OK)
        return; /* the arrays grew and no memory for the visited set: next time */
    uint64_t end = ix->purge.cursor + nodes < ix->count ? ix->purge.cursor + nodes : ix->count;
    for (uint64_t p = ix->purge.cursor; p < end; p++) {
        if (vw_is_dead(ix, (uint32_t)p))
            continue;
        for (unsigned l = 0; l <= ix->levels[p]; l++)
            repair_list(ix, r, (uint32_t)p, l);
    }
    ix->purge.cursor = end;
    if (end >= ix->count)
        pass_finish(ix);
}

vw_status vw_purge_locked(vw_index *ix) {
    VW_ASSERT_SOLE_WRITER(ix);
    for (int round = 0; round < 2; round++) { /* the pass under way, then the pending */
        if (!ix->purge.active && ix->pending.n > 0) {
            vw_status st = pass_start(ix);
            if (st != VW_OK)
                return st;
        }
        while (ix->purge.active)
            pass_step(ix, ix->count);
    }
    if (ix->unflooded > 0)
        flood_now(ix); /* the inserts since the last flood, checked now rather than later */
    vw_slots_reclaim(ix);
    return VW_OK;
}

void vw_purge_if_due(vw_index *ix, uint64_t writes) {
    VW_ASSERT_SOLE_WRITER(ix);
    uint64_t budget = writes < UINT64_MAX / PURGE_SLICE ? writes * PURGE_SLICE : UINT64_MAX;
    bool finished = false;
    while (budget > 0) {
        uint64_t due = ix->live / PURGE_DIVISOR > PURGE_MIN ? ix->live / PURGE_DIVISOR : PURGE_MIN;
        if (!ix->purge.active && ix->pending.n >= due && pass_start(ix) != VW_OK)
            return; /* out of memory: the removed nodes wait for the next try */
        if (!ix->purge.active)
            break;
        uint64_t left = ix->count - ix->purge.cursor, step = budget < left ? budget : left;
        uint64_t before = ix->purge.cursor;
        pass_step(ix, step);
        if (ix->purge.active && ix->purge.cursor == before)
            return; /* no memory for the visited set: the next write tries again */
        finished |= !ix->purge.active;
        budget -= step;
    }
    /* Once per pass, so that a compaction that cannot get its memory is
     * not tried again on every write. */
    if (finished)
        vw_compact_if_due(ix);
}

void vw_removal_free(vw_index *ix) {
    free_work(ix, ix->purge.work);
    vw_ids_free(&ix->purge.set);
    ix->purge = (vw_purge){0};
    vw_ids_free(&ix->pending);
    vw_ids_free(&ix->free_ids);
    vw_ids_free(&ix->limbo.ids);
    free(ix->limbo.epochs);
    free(ix->limbo.ends);
    ix->limbo = (vw_limbo){0};
}

uint64_t vw_removed_count(const vw_index *ix) {
    return ix->pending.n + ix->purge.set.n;
}

/* ------------------------------------------------------------------ public */

vw_status vw_index_remove(vw_index *ix, uint64_t label) {
    vw_clear_detail();
    if (!ix)
        return vw_fail(VW_ERR_NULL_ARG, "index is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    uint32_t id = vw_labelmap_find(&ix->map, ix->labels, label);
    if (ix->readonly)
        st = vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP");
    else if (id == VW_NO_NODE)
        st = vw_fail(VW_ERR_NOT_FOUND, "label %llu", (unsigned long long)label);
    if (st == VW_OK)
        st = vw_ids_reserve(&ix->pending, ix->pending.n + 1);
    if (st == VW_OK)
        st = vw_labelmap_remove(&ix->map, ix->labels, label, ix->capacity);
    if (st == VW_OK) {
        vw_attrs_on_remove(ix, label);
        vw_node_retire(ix, id);
        vw_purge_if_due(ix, 1);
        vw_index_publish(ix);
    }
    vw_writer_unlock(ix);
    return st;
}

vw_status vw_index_purge(vw_index *ix) {
    vw_clear_detail();
    if (!ix)
        return vw_fail(VW_ERR_NULL_ARG, "index is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    st = ix->readonly ? vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP")
                      : vw_purge_locked(ix);
    vw_index_publish(ix);
    vw_writer_unlock(ix);
    return st;
}

/* ------------------------------------------------------------------ loading */

vw_status vw_removal_load(vw_index *ix, const uint8_t *states) {
    VW_ASSERT_HOLDS(ix, VW_HELD_OWNER);
    ix->live = ix->count;
    if (!states)
        return VW_OK;
    for (uint64_t i = 0; i < ix->count; i++) {
        uint32_t id = (uint32_t)i;
        vw_status st = VW_OK;
        if (states[i] == 1)
            st = vw_ids_push(&ix->pending, id);
        else if (states[i] == 2)
            st = vw_ids_push(&ix->free_ids, id);
        if (st != VW_OK)
            return st;
        if (states[i] != 0) {
            vw_state_set(ix, id, states[i] == 1 ? VW_NODE_REMOVED : VW_NODE_FREE);
            ix->live--;
        }
    }
    /* free slots are taken from the end of the list: lowest ids first */
    for (uint64_t i = 0, j = ix->free_ids.n; i < j / 2; i++) {
        uint32_t t = ix->free_ids.ids[i];
        ix->free_ids.ids[i] = ix->free_ids.ids[j - 1 - i];
        ix->free_ids.ids[j - 1 - i] = t;
    }
    return VW_OK;
}
