/* filter.c - the filter language: Qdrant's JSON shape parsed into a tree.
 *
 *   filter    := {"must": C, "should": C, "must_not": C}   (each optional;
 *                C is one condition or an array of them)
 *   condition := {"key": K, "match": {"value": V}}        V string, number, bool
 *              | {"key": K, "match": {"any": [V, ...]}}   strings or numbers
 *              | {"key": K, "range": {"gt"|"gte"|"lt"|"lte": number, ...}}
 *              | {"is_empty": {"key": K}}
 *              | {"has_id": [label, ...]}
 *              | filter                                  (a nested group)
 *
 * Every error names the place in the text as a path ("filter.must[1].
 * range.gte: expected a number, got a string"), so the HTTP layer can hand
 * it back as it is. The tree keeps the parsed text alive: keys and string
 * values point into it. */
#include "attrs.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 200

typedef struct fparse {
    vw_filter *f;
    const vw_json *j;
} fparse;

static vw_status ferr(const char *path, const char *fmt, const char *a, const char *b) {
    char msg[160];
    snprintf(msg, sizeof msg, fmt, a, b);
    return vw_fail(VW_ERR_INVALID_ARG, "%s: %s", path, msg);
}

static vw_status want(const char *path, const vw_jnode *n, vw_jtype t, const char *expected) {
    bool ok = n->type == t || (t == VW_JTRUE && n->type == VW_JFALSE);
    return ok ? VW_OK : ferr(path, "expected %s, got %s", expected, vw_json_type_name(n->type));
}

/* Paths longer than the buffer are cut (the start says where it is). */
static void sub(char *out, const char *path, const char *member) {
    if (snprintf(out, PATH_MAX_LEN, "%s.%s", path, member) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = 0;
}

static void item(char *out, const char *path, uint32_t i) {
    if (snprintf(out, PATH_MAX_LEN, "%s[%u]", path, i) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = 0;
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap)
        return true;
    uint32_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static vw_status new_cond(fparse *fp, vw_cond_kind kind, uint32_t *out) {
    if (!grow((void **)&fp->f->conds, &fp->f->cap, fp->f->n + 1, sizeof(vw_cond)))
        return vw_fail(VW_ERR_NOMEM, "filter conditions");
    *out = fp->f->n++;
    fp->f->conds[*out] = (vw_cond){.kind = kind, .lo = -INFINITY, .hi = INFINITY};
    return VW_OK;
}

static vw_status read_group(fparse *fp, const vw_jnode *obj, const char *path, uint32_t *out);

/* One value of match: a string, a number or (value only) a boolean. */
static vw_status read_value(const vw_jnode *n, const char *path, bool allow_bool, vw_fval *v) {
    if (n->type == VW_JSTR) {
        *v = (vw_fval){.type = VW_AV_STR, .str = n->str, .len = n->len};
    } else if (n->type == VW_JNUM) {
        *v = (vw_fval){.type = VW_AV_NUM, .num = n->num};
    } else if (allow_bool && (n->type == VW_JTRUE || n->type == VW_JFALSE)) {
        *v = (vw_fval){.type = VW_AV_BOOL, .b = n->type == VW_JTRUE};
    } else {
        return ferr(path, "expected %s, got %s",
                    allow_bool ? "a string, a number or a boolean" : "a string or a number",
                    vw_json_type_name(n->type));
    }
    return VW_OK;
}

static vw_status read_match(fparse *fp, const vw_jnode *m, const char *path, vw_cond *c) {
    vw_status st = want(path, m, VW_JOBJ, "an object");
    if (st != VW_OK)
        return st;
    if (m->count != 1)
        return ferr(path, "expected exactly one of \"value\" or \"any\"%s%s", "", "");
    const vw_jnode *v = vw_json_at(fp->j, m->child);
    char p[PATH_MAX_LEN];
    sub(p, path, v->key);
    bool any = strcmp(v->key, "any") == 0;
    if (!any && strcmp(v->key, "value") != 0)
        return ferr(p, "unknown member \"%s\" (expected \"value\" or \"any\")%s", v->key, "");
    uint32_t n = any ? v->count : 1;
    if (any && (st = want(p, v, VW_JARR, "an array")) != VW_OK)
        return st;
    c->vals = calloc(n ? n : 1, sizeof *c->vals);
    if (!c->vals)
        return vw_fail(VW_ERR_NOMEM, "filter values");
    c->nvals = n;
    c->val0 = fp->f->total_vals;
    fp->f->total_vals += n;
    const vw_jnode *e = any ? vw_json_at(fp->j, v->child) : v;
    for (uint32_t i = 0; i < n; i++, e = vw_json_at(fp->j, e->next)) {
        char ip[PATH_MAX_LEN];
        if (any)
            item(ip, p, i);
        if ((st = read_value(e, any ? ip : p, !any, &c->vals[i])) != VW_OK)
            return st;
    }
    return VW_OK;
}

static vw_status read_range(const vw_json *j, const vw_jnode *r, const char *path, vw_cond *c) {
    vw_status st = want(path, r, VW_JOBJ, "an object");
    if (st != VW_OK)
        return st;
    if (r->count == 0)
        return ferr(path, "expected at least one of gt, gte, lt, lte%s%s", "", "");
    for (const vw_jnode *b = vw_json_at(j, r->child); b; b = vw_json_at(j, b->next)) {
        char p[PATH_MAX_LEN];
        sub(p, path, b->key);
        bool gt = strcmp(b->key, "gt") == 0, gte = strcmp(b->key, "gte") == 0;
        bool lt = strcmp(b->key, "lt") == 0, lte = strcmp(b->key, "lte") == 0;
        if (!gt && !gte && !lt && !lte)
            return ferr(p, "unknown member \"%s\" (expected gt, gte, lt or lte)%s", b->key, "");
        if ((st = want(p, b, VW_JNUM, "a number")) != VW_OK)
            return st;
        /* open bounds become the nearest closed ones: one comparison later */
        double v = gt ? nextafter(b->num, INFINITY) : lt ? nextafter(b->num, -INFINITY) : b->num;
        if (gt || gte)
            c->lo = fmax(c->lo, v);
        else
            c->hi = fmin(c->hi, v);
    }
    return VW_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static vw_status read_has_id(const vw_json *j, const vw_jnode *h, const char *path, vw_cond *c) {
    vw_status st = want(path, h, VW_JARR, "an array");
    if (st != VW_OK)
        return st;
    c->ids = malloc((h->count ? h->count : 1) * sizeof *c->ids);
    if (!c->ids)
        return vw_fail(VW_ERR_NOMEM, "has_id of %u labels", h->count);
    uint32_t i = 0;
    for (const vw_jnode *e = vw_json_at(j, h->child); e; e = vw_json_at(j, e->next), i++) {
        char p[PATH_MAX_LEN];
        item(p, path, i);
        if (e->type != VW_JNUM || e->num < 0 || e->num != floor(e->num) ||
            e->num > 9007199254740992.0)
            return ferr(p, "expected a label (an integer from 0 to 2^53), got %s%s",
                        vw_json_type_name(e->type), "");
        c->ids[i] = (uint64_t)e->num;
    }
    c->nids = i;
    qsort(c->ids, c->nids, sizeof *c->ids, cmp_u64);
    return VW_OK;
}

static vw_status read_key(const vw_jnode *k, const char *path, const char **out) {
    vw_status st = want(path, k, VW_JSTR, "a string");
    if (st != VW_OK)
        return st;
    if (k->len == 0 || k->len > VW_ATTR_MAX_KEY || strlen(k->str) != k->len)
        return ferr(path, "a key is 1 to 128 bytes without NUL%s%s", "", "");
    *out = k->str;
    return VW_OK;
}

/* {"key": K, "match"|"range": ...} */
static vw_status read_field_cond(fparse *fp, const vw_jnode *obj, const char *path, uint32_t *out) {
    const vw_jnode *k = vw_json_member(fp->j, obj, "key");
    const vw_jnode *m = vw_json_member(fp->j, obj, "match");
    const vw_jnode *r = vw_json_member(fp->j, obj, "range");
    for (const vw_jnode *x = vw_json_at(fp->j, obj->child); x; x = vw_json_at(fp->j, x->next))
        if (x != k && x != m && x != r) {
            char p[PATH_MAX_LEN];
            sub(p, path, x->key);
            return ferr(p, "unknown member \"%s\" of a field condition%s", x->key, "");
        }
    if (!m == !r)
        return ferr(path,
                    "a condition with \"key\" needs exactly one of \"match\" or \"range\"%s%s", "",
                    "");
    vw_status st = new_cond(fp, m ? VW_C_MATCH : VW_C_RANGE, out);
    if (st != VW_OK)
        return st;
    vw_cond *c = &fp->f->conds[*out];
    char p[PATH_MAX_LEN];
    sub(p, path, "key");
    if ((st = read_key(k, p, &c->key)) != VW_OK)
        return st;
    sub(p, path, m ? "match" : "range");
    return m ? read_match(fp, m, p, c) : read_range(fp->j, r, p, c);
}

static vw_status read_special(fparse *fp, const vw_jnode *x, const char *path, uint32_t *out) {
    char p[PATH_MAX_LEN];
    sub(p, path, x->key);
    bool empty = strcmp(x->key, "is_empty") == 0;
    vw_status st = new_cond(fp, empty ? VW_C_EMPTY : VW_C_HAS_ID, out);
    if (st != VW_OK)
        return st;
    vw_cond *c = &fp->f->conds[*out];
    if (!empty)
        return read_has_id(fp->j, x, p, c);
    if ((st = want(p, x, VW_JOBJ, "an object")) != VW_OK)
        return st;
    const vw_jnode *k = vw_json_member(fp->j, x, "key");
    if (!k || x->count != 1)
        return ferr(p, "expected {\"key\": ...}%s%s", "", "");
    char kp[PATH_MAX_LEN];
    sub(kp, p, "key");
    return read_key(k, kp, &c->key);
}

static vw_status read_cond(fparse *fp, const vw_jnode *n, const char *path, uint32_t *out) {
    vw_status st = want(path, n, VW_JOBJ, "an object");
    if (st != VW_OK)
        return st;
    if (vw_json_member(fp->j, n, "key"))
        return read_field_cond(fp, n, path, out);
    const vw_jnode *x = vw_json_at(fp->j, n->child);
    if (n->count == 1 && (strcmp(x->key, "is_empty") == 0 || strcmp(x->key, "has_id") == 0))
        return read_special(fp, x, path, out);
    if (n->count == 0)
        return ferr(path, "empty condition%s%s", "", "");
    return read_group(fp, n, path, out);
}

/* One of must / should / must_not: a condition or an array of them. */
static vw_status read_list(fparse *fp, const vw_jnode *l, const char *path, uint32_t group,
                           int which) {
    uint32_t n = l->type == VW_JARR ? l->count : 1;
    uint32_t first = fp->f->nkids;
    if (!grow((void **)&fp->f->kids, &fp->f->capkids, first + n, sizeof(uint32_t)))
        return vw_fail(VW_ERR_NOMEM, "filter conditions");
    fp->f->nkids += n;
    const vw_jnode *e = l->type == VW_JARR ? vw_json_at(fp->j, l->child) : l;
    for (uint32_t i = 0; i < n; i++, e = vw_json_at(fp->j, e->next)) {
        char p[PATH_MAX_LEN];
        if (l->type == VW_JARR)
            item(p, path, i);
        else
            snprintf(p, sizeof p, "%s", path);
        uint32_t c;
        vw_status st = read_cond(fp, e, p, &c);
        if (st != VW_OK)
            return st;
        fp->f->kids[first + i] = c;
    }
    fp->f->conds[group].kids[which] = first;
    fp->f->conds[group].nkids[which] = n;
    return VW_OK;
}

static vw_status read_group(fparse *fp, const vw_jnode *obj, const char *path, uint32_t *out) {
    static const char *const names[3] = {"must", "should", "must_not"};
    unsigned seen = 0;
    vw_status st = want(path, obj, VW_JOBJ, "an object");
    if (st == VW_OK)
        st = new_cond(fp, VW_C_GROUP, out);
    for (const vw_jnode *x = vw_json_at(fp->j, obj->child); x && st == VW_OK;
         x = vw_json_at(fp->j, x->next)) {
        char p[PATH_MAX_LEN];
        sub(p, path, x->key);
        int which = -1;
        for (int w = 0; w < 3; w++)
            if (strcmp(x->key, names[w]) == 0)
                which = w;
        if (which < 0)
            return ferr(p, "unknown member \"%s\" (expected must, should or must_not)%s", x->key,
                        "");
        if (seen & 1u << which)
            return ferr(p, "given twice%s%s", "", "");
        seen |= 1u << which;
        st = read_list(fp, x, p, *out, which);
    }
    return st;
}

vw_status vw_filter_parse(const char *json, size_t len, vw_filter **out) {
    vw_clear_detail();
    if (!json || !out)
        return vw_fail(VW_ERR_NULL_ARG, "json or out is NULL");
    *out = NULL;
    vw_filter *f = calloc(1, sizeof *f);
    vw_json *j = calloc(1, sizeof *j);
    if (!f || !j) {
        free(f);
        free(j);
        return vw_fail(VW_ERR_NOMEM, "filter");
    }
    f->dom = j;
    vw_status st = vw_json_parse(json, len, "filter", j);
    if (st == VW_OK) {
        fparse fp = {f, j};
        uint32_t root;
        st = read_group(&fp, &j->nodes[0], "filter", &root);
    }
    if (st != VW_OK) {
        vw_filter_free(f);
        return st;
    }
    *out = f;
    return VW_OK;
}

void vw_filter_free(vw_filter *f) {
    if (!f)
        return;
    for (uint32_t i = 0; i < f->n; i++) {
        free(f->conds[i].vals);
        free(f->conds[i].ids);
    }
    free(f->conds);
    free(f->kids);
    if (f->dom)
        vw_json_free(f->dom);
    free(f->dom);
    free(f);
}
