/* filter_eval.c - a parsed filter tested against one element.
 *
 * A filter names fields and values as text; a store numbers them. Before a
 * search, the filter is bound to the store (vw_bound_make): each key becomes
 * a field number and each string value an interned id, or VW_NO_ID when
 * the store has never seen it (then nothing can match it). Testing an
 * element is then integer comparisons over its few attributes.
 *
 * Semantics (Qdrant's): must = all of, should = at least one of (when
 * given), must_not = none of; match value/any holds when the field's value,
 * or any item of an array field, equals the value / one of the values;
 * range holds for a number field inside the bounds; is_empty holds when the
 * field is absent, null or []; has_id when the label is listed. */
#include "attrs.h"

#include <stdlib.h>
#include <string.h>

vw_status vw_bound_make(const vw_filter *f, const vw_attrs *a, vw_bound *out) {
    *out = (vw_bound){.f = f, .a = a};
    out->field = malloc((f->n ? f->n : 1) * sizeof *out->field);
    out->sid = malloc((f->total_vals ? f->total_vals : 1) * sizeof *out->sid);
    if (!out->field || !out->sid) {
        vw_bound_free(out);
        return vw_fail(VW_ERR_NOMEM, "filter of %u conditions", f->n);
    }
    for (uint32_t i = 0; i < f->n; i++) {
        const vw_cond *c = &f->conds[i];
        out->field[i] = a && c->key ? vw_strtab_find(&a->names, c->key, strlen(c->key)) : VW_NO_ID;
        for (uint32_t v = 0; v < c->nvals; v++) {
            const vw_fval *x = &c->vals[v];
            out->sid[c->val0 + v] =
                a && x->type == VW_AV_STR ? vw_strtab_find(&a->values, x->str, x->len) : VW_NO_ID;
        }
    }
    return VW_OK;
}

void vw_bound_free(vw_bound *b) {
    free(b->field);
    free(b->sid);
    *b = (vw_bound){0};
}

static const vw_aval *value_of(const vw_arec *r, uint32_t field) {
    if (!r || field == VW_NO_ID)
        return NULL;
    for (uint32_t i = 0; i < r->nval; i++)
        if (r->vals[i].field == field)
            return &r->vals[i];
    return NULL;
}

static bool equals(const vw_aval *v, const vw_fval *x, uint32_t sid) {
    switch (x->type) {
    case VW_AV_STR:
        if (sid == VW_NO_ID)
            return false;
        if (v->type == VW_AV_STR)
            return v->u.sid == sid;
        if (v->type == VW_AV_STRS)
            for (uint32_t i = 0; i < v->n; i++)
                if (v->u.sids[i] == sid)
                    return true;
        return false;
    case VW_AV_NUM:
        return v->type == VW_AV_NUM && v->u.num == x->num;
    default:
        return v->type == VW_AV_BOOL && v->u.b == x->b;
    }
}

static bool has_id(const vw_cond *c, uint64_t label) {
    uint32_t lo = 0, hi = c->nids;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->ids[mid] < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nids && c->ids[lo] == label;
}

static bool eval(const vw_bound *b, uint32_t ci, const vw_arec *r, uint64_t label);

static bool eval_group(const vw_bound *b, const vw_cond *c, const vw_arec *r, uint64_t label) {
    const uint32_t *kids = b->f->kids;
    for (uint32_t i = 0; i < c->nkids[VW_MUST]; i++)
        if (!eval(b, kids[c->kids[VW_MUST] + i], r, label))
            return false;
    for (uint32_t i = 0; i < c->nkids[VW_MUST_NOT]; i++)
        if (eval(b, kids[c->kids[VW_MUST_NOT] + i], r, label))
            return false;
    if (c->nkids[VW_SHOULD] == 0)
        return true;
    for (uint32_t i = 0; i < c->nkids[VW_SHOULD]; i++)
        if (eval(b, kids[c->kids[VW_SHOULD] + i], r, label))
            return true;
    return false;
}

static bool eval(const vw_bound *b, uint32_t ci, const vw_arec *r, uint64_t label) {
    const vw_cond *c = &b->f->conds[ci];
    const vw_aval *v;
    switch (c->kind) {
    case VW_C_GROUP:
        return eval_group(b, c, r, label);
    case VW_C_HAS_ID:
        return has_id(c, label);
    case VW_C_EMPTY:
        v = value_of(r, b->field[ci]);
        return !v || v->type == VW_AV_NULL || (v->type == VW_AV_STRS && v->n == 0);
    case VW_C_RANGE:
        v = value_of(r, b->field[ci]);
        return v && v->type == VW_AV_NUM && v->u.num >= c->lo && v->u.num <= c->hi;
    case VW_C_MATCH:
        if (!(v = value_of(r, b->field[ci])))
            return false;
        for (uint32_t i = 0; i < c->nvals; i++)
            if (equals(v, &c->vals[i], b->sid[c->val0 + i]))
                return true;
        return false;
    }
    return false;
}

bool vw_bound_eval(const vw_bound *b, const vw_arec *r, uint64_t label) {
    return eval(b, 0, r, label);
}
