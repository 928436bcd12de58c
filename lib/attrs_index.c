/* attrs_index.c - typed values of a record, and the per-field indexes the
 * planner counts and enumerates with.
 *
 *   keyword / boolean  value -> posting list of records (exact live count)
 *   number             field -> sorted (value, record) array + short tail
 *   every field        how many records hold it non-empty (is_empty)
 *
 * Removal is lazy: a changed record's old entries stay in the lists, which
 * the planner may therefore over-count (it tests every candidate against
 * the whole filter, so a stale entry costs a test, never a wrong result).
 * A posting is cleaned when stale entries outnumber live ones, a numeric
 * index whenever its tail is merged. All of it runs under the store's
 * write lock. */
#include "attrs.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static vw_status fields_fit(vw_attrs *a) {
    if (a->names.n <= a->capfields)
        return VW_OK;
    uint32_t cap = a->capfields ? a->capfields * 2 : 16;
    while (cap < a->names.n)
        cap *= 2;
    vw_field *f = realloc(a->fields, (size_t)cap * sizeof *f);
    if (!f)
        return vw_fail(VW_ERR_NOMEM, "%u attribute fields", cap);
    memset(f + a->capfields, 0, (size_t)(cap - a->capfields) * sizeof *f);
    a->fields = f;
    a->capfields = cap;
    return VW_OK;
}

static uint8_t value_type(vw_jtype t) {
    switch (t) {
    case VW_JTRUE:
    case VW_JFALSE:
        return VW_AV_BOOL;
    case VW_JNUM:
        return VW_AV_NUM;
    case VW_JSTR:
        return VW_AV_STR;
    case VW_JARR:
        return VW_AV_STRS;
    default:
        return VW_AV_NULL;
    }
}

static vw_status intern_one(vw_attrs *a, const vw_json *j, const vw_jnode *m, vw_aval *v,
                            uint32_t **items) {
    vw_status st = vw_strtab_intern(&a->names, m->key, strlen(m->key), &v->field);
    v->type = value_type(m->type);
    if (v->type == VW_AV_NUM)
        v->u.num = m->num;
    else if (v->type == VW_AV_BOOL)
        v->u.b = m->type == VW_JTRUE;
    else if (v->type == VW_AV_STR && st == VW_OK)
        st = vw_strtab_intern(&a->values, m->str, m->len, &v->u.sid);
    if (v->type != VW_AV_STRS)
        return st;
    v->u.sids = *items;
    v->n = m->count;
    uint32_t i = 0;
    for (const vw_jnode *e = vw_json_at(j, m->child); e && st == VW_OK; e = vw_json_at(j, e->next))
        st = vw_strtab_intern(&a->values, e->str, e->len, &v->u.sids[i++]);
    *items += m->count;
    return st;
}

vw_status vw_attrs_intern_values(vw_attrs *a, vw_parsed_attrs *p, vw_arec *r) {
    const vw_json *j = p->dom;
    const vw_jnode *root = &j->nodes[0];
    size_t items = 0;
    for (const vw_jnode *m = vw_json_at(j, root->child); m; m = vw_json_at(j, m->next))
        items += m->type == VW_JARR ? m->count : 0;
    size_t bytes = root->count * sizeof(vw_aval) + items * sizeof(uint32_t) + p->json_len + 1;
    vw_aval *vals = malloc(bytes);
    if (!vals)
        return vw_fail(VW_ERR_NOMEM, "attributes block of %zu bytes", bytes);
    uint32_t *next = (uint32_t *)(void *)(vals + root->count);
    char *text = (char *)(next + items);
    vw_status st = VW_OK;
    uint32_t n = 0;
    for (const vw_jnode *m = vw_json_at(j, root->child); m && st == VW_OK;
         m = vw_json_at(j, m->next)) {
        vals[n] = (vw_aval){0};
        st = intern_one(a, j, m, &vals[n++], &next);
    }
    if (st == VW_OK)
        st = fields_fit(a);
    if (st != VW_OK) {
        free(vals);
        return st;
    }
    for (uint32_t i = 1; i < n; i++) /* by field: a filter finds its field in order */
        for (uint32_t k = i; k > 0 && vals[k - 1].field > vals[k].field; k--)
            VW_SWAP(vw_aval, vals[k - 1], vals[k]);
    memcpy(text, p->json, p->json_len + 1);
    r->vals = vals;
    r->nval = n;
    r->json = text;
    r->json_len = p->json_len;
    a->block_bytes += r->json_len + (uint64_t)n * sizeof(vw_aval);
    a->with_attrs++;
    return VW_OK;
}

/* ------------------------------------------------------------------ postings */

const vw_posting *vw_attrs_posting(const vw_attrs *a, uint64_t key) {
    uint32_t p = vw_u64map_get(&a->kw, key);
    return p == VW_NO_ID ? NULL : &a->posts[p];
}

static vw_status posting_add(vw_attrs *a, uint64_t key, uint32_t rid) {
    uint32_t p = vw_u64map_get(&a->kw, key);
    if (p == VW_NO_ID) {
        if (a->nposts == a->capposts) {
            uint32_t cap = a->capposts ? a->capposts * 2 : 64;
            vw_posting *np = realloc(a->posts, (size_t)cap * sizeof *np);
            if (!np)
                return vw_fail(VW_ERR_NOMEM, "%u postings", cap);
            a->posts = np;
            a->capposts = cap;
        }
        vw_status st = vw_u64map_reserve(&a->kw, 1);
        if (st != VW_OK)
            return st;
        p = a->nposts++;
        a->posts[p] = (vw_posting){0};
        vw_u64map_put(&a->kw, key, p);
    }
    vw_posting *ps = &a->posts[p];
    if (ps->n == ps->cap) {
        uint32_t cap = ps->cap ? ps->cap + ps->cap / 2 + 4 : 4;
        uint32_t *r = realloc(ps->rids, (size_t)cap * sizeof *r);
        if (!r)
            return vw_fail(VW_ERR_NOMEM, "posting of %u records", cap);
        ps->rids = r;
        ps->cap = cap;
    }
    ps->rids[ps->n++] = rid;
    ps->live++;
    return VW_OK;
}

/* Whether record rid holds keyword key now (a posting entry is live). */
static bool holds_key(const vw_attrs *a, uint32_t rid, uint64_t key) {
    const vw_arec *r = &a->recs[rid];
    for (uint32_t i = 0; i < r->nval; i++) {
        const vw_aval *v = &r->vals[i];
        if (v->type == VW_AV_STR && vw_kw_key(v->field, false, v->u.sid) == key)
            return true;
        if (v->type == VW_AV_BOOL && vw_kw_key(v->field, true, v->u.b) == key)
            return true;
        for (uint32_t k = 0; v->type == VW_AV_STRS && k < v->n; k++)
            if (vw_kw_key(v->field, false, v->u.sids[k]) == key)
                return true;
    }
    return false;
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static void posting_drop(vw_attrs *a, uint64_t key) {
    uint32_t p = vw_u64map_get(&a->kw, key);
    if (p == VW_NO_ID)
        return;
    vw_posting *ps = &a->posts[p];
    ps->live--;
    if (ps->n <= 2 * ps->live + 16)
        return;
    /* Sorted, so that a record listed twice (its slot reused) stays once. */
    qsort(ps->rids, ps->n, sizeof *ps->rids, cmp_u32);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < ps->n; i++)
        if ((kept == 0 || ps->rids[kept - 1] != ps->rids[i]) && holds_key(a, ps->rids[i], key))
            ps->rids[kept++] = ps->rids[i];
    ps->n = kept;
}

/* ------------------------------------------------------------------ numbers */

static int cmp_nument(const void *x, const void *y) {
    const vw_nument *a = x, *b = y;
    return a->v < b->v ? -1 : a->v > b->v ? 1 : (a->rid > b->rid) - (a->rid < b->rid);
}

static bool holds_num(const vw_attrs *a, uint32_t field, vw_nument e) {
    const vw_arec *r = &a->recs[e.rid];
    for (uint32_t i = 0; i < r->nval; i++)
        if (r->vals[i].field == field)
            return r->vals[i].type == VW_AV_NUM && r->vals[i].u.num == e.v;
    return false;
}

/* Sorts the tail into the main array, dropping stale and repeated entries. */
static vw_status num_merge(vw_attrs *a, uint32_t field) {
    vw_numidx *x = &a->fields[field].num;
    qsort(x->tail, x->ntail, sizeof *x->tail, cmp_nument);
    uint64_t cap = x->nmain + x->ntail;
    vw_nument *m = malloc((cap ? cap : 1) * sizeof *m);
    if (!m)
        return vw_fail(VW_ERR_NOMEM, "numeric index of %llu entries", (unsigned long long)cap);
    uint64_t i = 0, t = 0, n = 0;
    while (i < x->nmain || t < x->ntail) {
        bool from_main =
            t >= x->ntail || (i < x->nmain && cmp_nument(&x->main[i], &x->tail[t]) <= 0);
        vw_nument e = from_main ? x->main[i++] : x->tail[t++];
        if ((n == 0 || cmp_nument(&m[n - 1], &e) != 0) && holds_num(a, field, e))
            m[n++] = e;
    }
    free(x->main);
    x->main = m;
    x->nmain = n;
    x->capmain = cap;
    x->ntail = 0;
    return VW_OK;
}

static vw_status num_add(vw_attrs *a, uint32_t field, double v, uint32_t rid) {
    vw_numidx *x = &a->fields[field].num;
    if (x->ntail == x->captail) {
        uint64_t cap = x->captail ? x->captail * 2 : 64;
        vw_nument *t = realloc(x->tail, cap * sizeof *t);
        if (!t)
            return vw_fail(VW_ERR_NOMEM, "numeric index tail");
        x->tail = t;
        x->captail = cap;
    }
    x->tail[x->ntail++] = (vw_nument){v, rid};
    return x->ntail > 64 && x->ntail > x->nmain / 8 ? num_merge(a, field) : VW_OK;
}

uint64_t vw_numidx_count(const vw_numidx *x, double lo, double hi, uint64_t *b, uint64_t *e) {
    uint64_t l = 0, h = x->nmain;
    while (l < h) { /* first entry >= lo */
        uint64_t mid = l + (h - l) / 2;
        if (x->main[mid].v < lo)
            l = mid + 1;
        else
            h = mid;
    }
    *b = l;
    h = x->nmain;
    while (l < h) { /* first entry > hi */
        uint64_t mid = l + (h - l) / 2;
        if (x->main[mid].v <= hi)
            l = mid + 1;
        else
            h = mid;
    }
    *e = l;
    uint64_t n = *e - *b;
    for (uint64_t i = 0; i < x->ntail; i++)
        n += x->tail[i].v >= lo && x->tail[i].v <= hi;
    return n;
}

/* ------------------------------------------------------------------ record in, record out */

static bool nonempty(const vw_aval *v) {
    return v->type != VW_AV_NULL && !(v->type == VW_AV_STRS && v->n == 0);
}

vw_status vw_attrs_index_add(vw_attrs *a, uint32_t rid) {
    const vw_arec *r = &a->recs[rid];
    vw_status st = VW_OK;
    for (uint32_t i = 0; i < r->nval && st == VW_OK; i++) {
        const vw_aval *v = &r->vals[i];
        a->fields[v->field].nonempty += nonempty(v);
        if (v->type == VW_AV_STR)
            st = posting_add(a, vw_kw_key(v->field, false, v->u.sid), rid);
        else if (v->type == VW_AV_BOOL)
            st = posting_add(a, vw_kw_key(v->field, true, v->u.b), rid);
        else if (v->type == VW_AV_NUM)
            st = num_add(a, v->field, v->u.num, rid);
        for (uint32_t k = 0; v->type == VW_AV_STRS && k < v->n && st == VW_OK; k++) {
            bool seen = false; /* an item repeated in the array is listed once */
            for (uint32_t p = 0; p < k && !seen; p++)
                seen = v->u.sids[p] == v->u.sids[k];
            if (!seen)
                st = posting_add(a, vw_kw_key(v->field, false, v->u.sids[k]), rid);
        }
    }
    return st;
}

void vw_attrs_index_drop(vw_attrs *a, uint32_t rid) {
    vw_arec *r = &a->recs[rid];
    /* hide the record from holds_key/holds_num while its postings shrink */
    uint32_t nval = r->nval;
    r->nval = 0;
    for (uint32_t i = 0; i < nval; i++) {
        const vw_aval *v = &r->vals[i];
        a->fields[v->field].nonempty -= nonempty(v);
        if (v->type == VW_AV_STR)
            posting_drop(a, vw_kw_key(v->field, false, v->u.sid));
        else if (v->type == VW_AV_BOOL)
            posting_drop(a, vw_kw_key(v->field, true, v->u.b));
        for (uint32_t k = 0; v->type == VW_AV_STRS && k < v->n; k++) {
            bool seen = false;
            for (uint32_t p = 0; p < k && !seen; p++)
                seen = v->u.sids[p] == v->u.sids[k];
            if (!seen)
                posting_drop(a, vw_kw_key(v->field, false, v->u.sids[k]));
        }
    }
    r->nval = nval;
}
