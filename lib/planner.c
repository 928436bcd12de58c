/* planner.c - filtered search: count, choose, then scan exactly or walk.
 *
 * Every filtered search is exact in what it returns (each result is tested
 * against the whole filter); what the planner chooses is how to find the
 * best matches fast. Two ways:
 *
 *   scan  test and measure every candidate the per-field indexes give (the
 *         smallest posting or numeric slice among the must conditions, or
 *         the union of the should ones) and keep the k nearest: exact, and
 *         costs about one distance per candidate, G;
 *   walk  the HNSW walk keeps only matching nodes as results but goes on
 *         through the others, with the beam b = max(ef, k): it has to
 *         reach about b / p nodes to meet b matches, for an estimated
 *         matching fraction p, and measures about M new neighbours of
 *         each, each about the cost of a scanned candidate (WALK_FACTOR,
 *         measured), so C = b M / p.
 *
 * The rule: scan when G <= b M / p, otherwise walk. The counts come from
 * the indexes, never from a scan: exact for keywords and booleans, exact
 * up to changed-but-not-yet-merged entries for numbers; must multiplies
 * fractions (independence), should adds them, must_not takes complements.
 * A filter no index can enumerate (only must_not or is_empty conditions)
 * has G = all elements. With G = pN the rule reads p^2 <= b M / N: with
 * b = 64 and M = 32 the scan wins below about 14 % matching at 100,000
 * elements and below about 4.5 % at 1,000,000 (bench/RESULTS.md measures
 * both ways at each selectivity). The scan prefetches its candidates' rows
 * a few ahead, since the indexes list them in record order, not row order.
 *
 * The walk's beam is not widened as p falls. A filtered walk of beam b
 * already reaches b / p nodes, and keeps the b nearest matches of them: a
 * beam-b search of the matching subset, which is smaller and so no harder
 * than the whole index at ef b; measured, its recall at ef b is at or
 * above the unfiltered recall at ef b (seed100k at 50 %: 0.583 against
 * 0.417 at ef 64), and hnswlib's filter functor, the same walk, reaches
 * 0.95 at 10 % with the ef it needs unfiltered or less on all three sets.
 * A beam widened to b / sqrt(p), tried first, bought recall at the price
 * raising ef buys it (seed100k, 50 %, in one run: widened 0.966 at 219
 * QPS; not widened 0.927 at 304 and 0.986 at 152), but it entered the
 * walk's cost too
 * and made the rule scan 10,000 candidates where a walk of beam 16 found
 * the exact top 10 2-3x faster (clustered 100k, 10-13 % matching).
 *
 * How others decide, read before writing this: Qdrant estimates the
 * cardinality from its payload indexes and scans the matching points below
 * a fixed threshold (full_scan_threshold, in kilobytes of vectors), walking
 * the HNSW graph with the filter above it; Redis's VSIM FILTER walks with
 * the filter and stops after FILTER-EF candidates (a fixed effort, default
 * a multiple of COUNT); ACORN widens each step to the neighbours'
 * neighbours when a neighbour fails the predicate. Ours scales the
 * threshold with the beam, M and the index size instead of a constant, and
 * lets the walk's effort grow as 1 / p (it goes on until b matches are in
 * its beam) instead of fixing it. */
#include "attrs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct est {
    double n;     /* estimated matches */
    uint64_t gen; /* candidates the indexes can list (upper bound) */
    bool has_gen; /* false: only all elements will do */
} est;

typedef struct planner {
    const vw_bound *b;
    const vw_attrs *a; /* NULL: no attributes */
    double N;          /* live elements */
} planner;

static est estimate(const planner *p, uint32_t ci);

static est est_match(const planner *p, uint32_t ci) {
    const vw_cond *c = &p->b->f->conds[ci];
    uint32_t field = p->b->field[ci];
    est e = {0, 0, true};
    if (field == VW_NO_ID)
        return e; /* a field no element has: nothing matches */
    for (uint32_t i = 0; i < c->nvals; i++) {
        const vw_fval *v = &c->vals[i];
        uint64_t b, end;
        if (v->type == VW_AV_NUM) {
            uint64_t n = vw_numidx_count(&p->a->fields[field].num, v->num, v->num, &b, &end);
            e.gen += n;
            e.n += (double)n;
            continue;
        }
        uint32_t val = v->type == VW_AV_STR ? p->b->sid[c->val0 + i] : v->b;
        if (val == VW_NO_ID)
            continue;
        const vw_posting *ps = vw_attrs_posting(p->a, vw_kw_key(field, v->type == VW_AV_BOOL, val));
        if (ps) {
            e.gen += ps->n;
            e.n += ps->live;
        }
    }
    return e;
}

static est est_group(const planner *p, const vw_cond *c) {
    const uint32_t *kids = p->b->f->kids;
    double frac = 1;
    est e = {0, UINT64_MAX, false};
    for (uint32_t i = 0; i < c->nkids[VW_MUST]; i++) {
        est k = estimate(p, kids[c->kids[VW_MUST] + i]);
        frac *= k.n / p->N;
        if (k.has_gen && k.gen < e.gen) {
            e.gen = k.gen;
            e.has_gen = true;
        }
    }
    for (uint32_t i = 0; i < c->nkids[VW_MUST_NOT]; i++)
        frac *= 1 - estimate(p, kids[c->kids[VW_MUST_NOT] + i]).n / p->N;
    if (c->nkids[VW_SHOULD]) {
        est s = {0, 0, true};
        for (uint32_t i = 0; i < c->nkids[VW_SHOULD]; i++) {
            est k = estimate(p, kids[c->kids[VW_SHOULD] + i]);
            s.n += k.n;
            s.gen += k.gen;
            s.has_gen &= k.has_gen;
        }
        frac *= fmin(1, s.n / p->N);
        if (s.has_gen && s.gen < e.gen) {
            e.gen = s.gen;
            e.has_gen = true;
        }
    }
    e.n = fmax(0, fmin(1, frac)) * p->N;
    return e;
}

static est estimate(const planner *p, uint32_t ci) {
    const vw_cond *c = &p->b->f->conds[ci];
    uint32_t field = p->b->field[ci];
    uint64_t b, e;
    switch (c->kind) {
    case VW_C_GROUP:
        return est_group(p, c);
    case VW_C_HAS_ID:
        return (est){fmin(c->nids, p->N), c->nids, p->a != NULL};
    case VW_C_EMPTY:
        return (est){field == VW_NO_ID ? p->N
                                       : fmax(0, p->N - (double)p->a->fields[field].nonempty),
                     0, false};
    case VW_C_RANGE:
        if (field == VW_NO_ID || c->lo > c->hi)
            return (est){0, 0, true};
        uint64_t n = vw_numidx_count(&p->a->fields[field].num, c->lo, c->hi, &b, &e);
        return (est){(double)n, n, true};
    case VW_C_MATCH:
        return est_match(p, ci);
    }
    return (est){p->N, 0, false};
}

/* ------------------------------------------------------------------ candidates */

typedef struct rids {
    uint32_t *v;
    uint64_t n, cap;
    bool failed;
} rids;

static void push(rids *r, uint32_t rid) {
    if (r->n == r->cap) {
        uint64_t cap = r->cap ? r->cap * 2 : 256;
        uint32_t *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->failed = true;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = rid;
}

static void collect(const planner *p, uint32_t ci, rids *out);

static void collect_numbers(const vw_numidx *x, double lo, double hi, rids *out) {
    uint64_t b, e;
    vw_numidx_count(x, lo, hi, &b, &e);
    for (uint64_t i = b; i < e; i++)
        push(out, x->main[i].rid);
    for (uint64_t i = 0; i < x->ntail; i++)
        if (x->tail[i].v >= lo && x->tail[i].v <= hi)
            push(out, x->tail[i].rid);
}

static void collect_match(const planner *p, uint32_t ci, rids *out) {
    const vw_cond *c = &p->b->f->conds[ci];
    uint32_t field = p->b->field[ci];
    for (uint32_t i = 0; i < c->nvals && field != VW_NO_ID; i++) {
        const vw_fval *v = &c->vals[i];
        if (v->type == VW_AV_NUM) {
            collect_numbers(&p->a->fields[field].num, v->num, v->num, out);
            continue;
        }
        uint32_t val = v->type == VW_AV_STR ? p->b->sid[c->val0 + i] : v->b;
        const vw_posting *ps =
            val == VW_NO_ID ? NULL
                            : vw_attrs_posting(p->a, vw_kw_key(field, v->type == VW_AV_BOOL, val));
        for (uint32_t k = 0; ps && k < ps->n; k++)
            push(out, ps->rids[k]);
    }
}

/* The group's generator, as est_group chose it. */
static void collect_group(const planner *p, const vw_cond *c, rids *out) {
    const uint32_t *kids = p->b->f->kids;
    uint64_t best = UINT64_MAX;
    uint32_t pick = VW_NO_ID;
    for (uint32_t i = 0; i < c->nkids[VW_MUST]; i++) {
        est k = estimate(p, kids[c->kids[VW_MUST] + i]);
        if (k.has_gen && k.gen < best) {
            best = k.gen;
            pick = kids[c->kids[VW_MUST] + i];
        }
    }
    uint64_t should = 0;
    bool all = c->nkids[VW_SHOULD] > 0;
    for (uint32_t i = 0; i < c->nkids[VW_SHOULD] && all; i++) {
        est k = estimate(p, kids[c->kids[VW_SHOULD] + i]);
        should += k.gen;
        all = k.has_gen;
    }
    if (all && should < best)
        for (uint32_t i = 0; i < c->nkids[VW_SHOULD]; i++)
            collect(p, kids[c->kids[VW_SHOULD] + i], out);
    else if (pick != VW_NO_ID)
        collect(p, pick, out);
}

static void collect(const planner *p, uint32_t ci, rids *out) {
    const vw_cond *c = &p->b->f->conds[ci];
    uint32_t field = p->b->field[ci];
    switch (c->kind) {
    case VW_C_GROUP:
        collect_group(p, c, out);
        return;
    case VW_C_HAS_ID:
        for (uint32_t i = 0; i < c->nids; i++) {
            uint32_t rid = vw_u64map_get(&p->a->by_label, c->ids[i]);
            if (rid != VW_NO_ID)
                push(out, rid);
        }
        return;
    case VW_C_RANGE:
        if (field != VW_NO_ID)
            collect_numbers(&p->a->fields[field].num, c->lo, c->hi, out);
        return;
    case VW_C_MATCH:
        collect_match(p, ci, out);
        return;
    case VW_C_EMPTY:
        return; /* never chosen: it has no generator */
    }
}

/* ------------------------------------------------------------------ the two ways */

typedef vw_where keep_ctx;

static bool passes(const keep_ctx *kc, uint64_t label) {
    const vw_arec *r = kc->b->a ? vw_attrs_find(kc->b->a, label) : NULL;
    return vw_bound_eval(kc->b, r, label) && (!kc->user || kc->user(label, kc->user_ctx));
}

/* The walk's test: the node table gives the node's values in one load;
 * a node without an entry goes through the label map, as every node did
 * before the table. The label is read only when the filter needs it. */
bool vw_where_keep(const vw_where *w, uint32_t id) {
    const vw_node_attrs *e = w->b->a ? vw_attrs_of_node(w->b->a, id) : NULL;
    if (!e)
        return passes(w, w->ix->labels[id]);
    vw_arec view;
    view.label = w->label ? w->ix->labels[id] : 0;
    view.nval = e->nval;
    view.vals = (vw_aval *)e->vals;
    return vw_bound_eval(w->b, &view, view.label) && (!w->user || w->user(view.label, w->user_ctx));
}

void vw_where_warm(const vw_where *w, const uint32_t *ids, uint32_t n) {
    const vw_attrs *a = w->b->a;
    if (!a)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const vw_node_attrs *e = vw_attrs_of_node(a, ids[i]);
        if (e && e->vals)
            __builtin_prefetch(e->vals, 0, 1);
    }
}

/* Whether the filter tests labels: has_id anywhere (vw_where.label). */
static bool tests_labels(const vw_filter *f) {
    for (uint32_t i = 0; i < f->n; i++)
        if (f->conds[i].kind == VW_C_HAS_ID)
            return true;
    return false;
}

/* Measures node id if it passes and keeps the k nearest in s->result. */
static void consider(const vw_index *ix, vw_scratch *s, const keep_ctx *kc, const float *q,
                     uint32_t k, uint32_t id, const vw_arec *r) {
    uint64_t label = ix->labels[id];
    if (vw_is_dead(ix, id) || !vw_visit(s, id))
        return;
    if (r ? !(r->label == label && vw_bound_eval(kc->b, r, label) &&
              (!kc->user || kc->user(label, kc->user_ctx)))
          : !passes(kc, label))
        return;
    vw_cand c = {vw_final_dist(ix, q, id, s->nbuf), id};
    if (s->result.size == k && c.dist >= s->result.items[0].dist)
        return;
    vw_heap_push_max(&s->result, c);
    if (s->result.size > k)
        vw_heap_pop_max(&s->result);
}

/* Starts loading what measuring candidate `rid` will read: its record's
 * values, its label and its row. Candidates come in record order (or, for
 * a numeric range, in value order), neither the records' nor the rows'
 * order, so without this every one waits for memory several times. */
static void prefetch_candidate(const vw_index *ix, const vw_arec *recs, uint32_t rid,
                               uint64_t slots) {
    const vw_arec *rec = &recs[rid];
    uint32_t node = vw_rec_node(rec);
    if (node >= slots || node >= ix->capacity)
        return;
    __builtin_prefetch(rec->vals, 0, 0);
    __builtin_prefetch(&ix->labels[node], 0, 0);
    const float *row = vw_exact(ix, node);
    const char *at = row ? (const char *)row : (const char *)vw_code(ix, node);
    size_t bytes = row ? (size_t)ix->dim * sizeof(float) : ix->code_size;
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(at + off, 0, 0);
}

/* The scan's prefetch distances, in candidates: records first (reading one
 * gives the row and values to fetch), then rows, each far enough ahead to
 * cover a memory latency (~100 ns) with one distance (~20-60 ns) each. */
enum { SCAN_AHEAD_REC = 16, SCAN_AHEAD_ROW = 8 };

/* Measures the listed candidates, prefetching two ways ahead. */
static void scan_listed(const vw_index *ix, vw_scratch *s, const planner *p, const keep_ctx *kc,
                        const float *q, uint32_t k, const rids *r, uint64_t slots) {
    const vw_arec *recs = p->a->recs;
    for (uint64_t i = 0; i < r->n; i++) {
        if (i + SCAN_AHEAD_REC < r->n)
            __builtin_prefetch(&recs[r->v[i + SCAN_AHEAD_REC]], 0, 0);
        if (i + SCAN_AHEAD_ROW < r->n)
            prefetch_candidate(ix, recs, r->v[i + SCAN_AHEAD_ROW], slots);
        const vw_arec *rec = &recs[r->v[i]];
        uint32_t node = vw_rec_node(rec);
        if (node < slots && node < ix->capacity)
            consider(ix, s, kc, q, k, node, rec);
    }
}

/* The scan: candidates from the indexes (all slots when has_gen is false;
 * none when the index has no attributes, as then no index can list any). */
static vw_status scan(const vw_index *ix, vw_scratch *s, const planner *p, const keep_ctx *kc,
                      const float *q, uint32_t k, bool has_gen) {
    vw_status st = vw_heap_reserve(&s->result, k + 1);
    if (st != VW_OK)
        return st;
    vw_visited_reset(s);
    s->result.size = 0;
    uint64_t slots = atomic_load_explicit(&((vw_index *)ix)->counters.slots, memory_order_acquire);
    if (!has_gen) {
        for (uint64_t id = 0; id < slots && id < ix->capacity; id++)
            consider(ix, s, kc, q, k, (uint32_t)id, NULL);
        return VW_OK;
    }
    rids r = {0};
    collect(p, 0, &r);
    if (!r.failed && r.n) /* none listed: p->a may be NULL (no attributes) */
        scan_listed(ix, s, p, kc, q, k, &r, slots);
    free(r.v);
    return r.failed ? vw_fail(VW_ERR_NOMEM, "filter candidates") : VW_OK;
}

static void write_results(const vw_index *ix, vw_scratch *s, uint64_t *labels, float *dists,
                          uint32_t *found) {
    uint32_t n = s->result.size;
    for (uint32_t i = n; i-- > 0;) {
        vw_cand c = vw_heap_pop_max(&s->result);
        labels[i] = ix->labels[c.id];
        if (dists)
            dists[i] = c.dist;
    }
    *found = n;
}

/* ------------------------------------------------------------------ the plan */

typedef struct plan {
    vw_filter_path path;
    est e;
    uint32_t beam;
} plan;

/* What one of the walk's distances costs in scanned candidates, measured
 * (bench/RESULTS.md "Filtered search", seed100k, clustered 100k, gaussian
 * 20k): a scanned candidate, whose record, values, label and row sit at
 * unrelated places, costs 70-210 ns even prefetched; a walk's distance,
 * with its heap and visited-set work, 100-150 ns. About the same. (A
 * first estimate from instruction counts said 2; with it the scan of a
 * half-matching filter ran 1.4x slower than the walk it replaced.) */
#define WALK_FACTOR 1.0

static plan choose(const vw_index *ix, const planner *p, uint32_t k, uint32_t ef) {
    plan pl = {.beam = ef > k ? ef : k};
    pl.e = estimate(p, 0);
    double frac = fmax(pl.e.n, 1) / fmax(p->N, 1);
    if (frac > 1)
        frac = 1;
    double walk_cost = WALK_FACTOR * pl.beam * ix->M / frac;
    double g = pl.e.has_gen ? (double)pl.e.gen : p->N;
    pl.path = pl.e.n <= 0 && pl.e.has_gen ? VW_FILTER_PATH_SCAN
              : g <= walk_cost            ? VW_FILTER_PATH_SCAN
                                          : VW_FILTER_PATH_WALK;
    return pl;
}

/* Binds a filter to the index's attributes and holds their read lock: what
 * every planned call does first. The caller holds rw (read) or writer, so
 * ix->attrs cannot change under it. planner_close undoes it. */
static vw_status planner_open(const vw_index *ix, const vw_filter *f, vw_bound *b, planner *p) {
    vw_status st = vw_bound_make(f, ix->attrs, b);
    if (st != VW_OK)
        return st;
    if (ix->attrs)
        pthread_rwlock_rdlock((pthread_rwlock_t *)&ix->attrs->lock);
    *p = (planner){
        b, ix->attrs,
        (double)atomic_load_explicit(&((vw_index *)ix)->counters.live, memory_order_relaxed)};
    return VW_OK;
}

static void planner_close(const planner *p, vw_bound *b) {
    if (p->a)
        pthread_rwlock_unlock((pthread_rwlock_t *)&p->a->lock);
    vw_bound_free(b);
}

vw_status vw_filtered_search(const vw_index *ix, vw_scratch *s, vw_top top, const float *q,
                             uint32_t k, const vw_search_options *o, uint64_t *out_labels,
                             float *out_distances, uint32_t *found) {
    vw_bound b;
    planner p;
    vw_status st = planner_open(ix, o->where, &b, &p);
    if (st != VW_OK)
        return st;
    keep_ctx kc = {ix, &b, o->filter, o->filter_ctx, o->filter || tests_labels(o->where)};
    plan pl = choose(ix, &p, k, o->ef);
    if (pl.path == VW_FILTER_PATH_SCAN) {
        st = scan(ix, s, &p, &kc, q, k, pl.e.has_gen);
        if (st == VW_OK)
            write_results(ix, s, out_labels, out_distances, found);
    } else {
        vw_search_options w = *o;
        w.ef = pl.beam;
        w.filter = NULL;
        w.where = NULL;
        st = vw_search_walk(ix, s, top, q, k, &w, &kc, out_labels, out_distances, found);
    }
    planner_close(&p, &b);
    return st;
}

vw_status vw_index_filter_plan(const vw_index *ix, const vw_filter *filter, uint32_t k, uint32_t ef,
                               vw_filter_plan *out) {
    vw_clear_detail();
    if (!ix || !filter || !out)
        return vw_fail(VW_ERR_NULL_ARG, "index, filter or out is NULL");
    vw_status st = vw_lock_read(ix);
    if (st != VW_OK)
        return st;
    vw_bound b;
    planner p;
    st = planner_open(ix, filter, &b, &p);
    if (st == VW_OK) {
        plan pl = choose(ix, &p, k ? k : 1, ef ? ef : 1);
        *out = (vw_filter_plan){.path = pl.path,
                                .estimate = (uint64_t)llround(pl.e.n),
                                .candidates = pl.e.has_gen && p.a ? pl.e.gen : (uint64_t)p.N,
                                .elements = (uint64_t)p.N,
                                .ef = pl.path == VW_FILTER_PATH_WALK ? pl.beam : 0};
        planner_close(&p, &b);
    }
    vw_unlock(ix);
    return st;
}

/* ------------------------------------------------------------------ listing */

static int cmp_rid(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int cmp_label(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

typedef struct lister {
    const vw_index *ix;
    const vw_bound *b;
    uint64_t *out, cap, n;
} lister;

static void list_one(lister *l, uint32_t id, const vw_arec *r) {
    uint64_t label = l->ix->labels[id];
    if (vw_is_dead(l->ix, id) || (r && r->label != label))
        return;
    if (!r && l->b->a)
        r = vw_attrs_find(l->b->a, label);
    if (!vw_bound_eval(l->b, r, label))
        return;
    if (l->n < l->cap)
        l->out[l->n] = label;
    l->n++;
}

/* Every live element once: from the indexes' candidates (deduplicated by
 * sorting their records) or from all slots. */
static vw_status list_all(lister *l, const planner *p, bool has_gen) {
    uint64_t slots =
        atomic_load_explicit(&((vw_index *)l->ix)->counters.slots, memory_order_acquire);
    if (slots > l->ix->capacity)
        slots = l->ix->capacity;
    if (!has_gen) {
        for (uint64_t id = 0; id < slots; id++)
            list_one(l, (uint32_t)id, NULL);
        return VW_OK;
    }
    rids r = {0};
    collect(p, 0, &r);
    if (r.failed) {
        free(r.v);
        return vw_fail(VW_ERR_NOMEM, "filter candidates");
    }
    qsort(r.v, r.n, sizeof *r.v, cmp_rid); /* a record may be listed twice */
    for (uint64_t i = 0; i < r.n; i++) {
        const vw_arec *rec = &p->a->recs[r.v[i]];
        uint32_t node = vw_rec_node(rec);
        if ((i == 0 || r.v[i - 1] != r.v[i]) && node < slots)
            list_one(l, node, rec);
    }
    free(r.v);
    return VW_OK;
}

vw_status vw_index_filter_labels(const vw_index *ix, const vw_filter *filter, uint64_t *out,
                                 uint64_t cap, uint64_t *count) {
    vw_clear_detail();
    if (!ix || !filter || !count || (!out && cap))
        return vw_fail(VW_ERR_NULL_ARG, "index, filter, out or count is NULL");
    vw_status st = vw_lock_read(ix);
    if (st != VW_OK)
        return st;
    vw_bound b;
    planner p;
    st = planner_open(ix, filter, &b, &p);
    if (st == VW_OK) {
        lister l = {ix, &b, out, cap, 0};
        st = list_all(&l, &p, estimate(&p, 0).has_gen);
        planner_close(&p, &b);
        if (cap && l.n) /* out may be NULL when cap is 0 (a count only) */
            qsort(out, l.n < cap ? l.n : cap, sizeof *out, cmp_label);
        *count = l.n;
    }
    vw_unlock(ix);
    return st;
}
