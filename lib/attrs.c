/* attrs.c - per-element attributes: the store, its records and the public
 * calls that set and read them (see attrs.h for the design).
 *
 * An element's attributes arrive as a JSON object, are checked against the
 * documented limits (vwhnsw.h, VW_MAX_ATTR_BYTES) before any lock is taken,
 * and are kept twice: as canonical JSON text (what vw_index_get_attributes
 * returns and the file stores) and as typed values with interned strings
 * (what filters test and the per-field indexes list). */
#include "attrs.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ parsing */

static vw_status check_string(const vw_jnode *v, const char *key, const char *what) {
    if (v->len > VW_ATTR_MAX_STRING)
        return vw_fail(VW_ERR_INVALID_ARG, "attributes.%s: %s of %zu bytes, the limit is %u", key,
                       what, v->len, VW_ATTR_MAX_STRING);
    return VW_OK;
}

static vw_status check_value(const vw_json *j, const vw_jnode *v) {
    vw_status st = VW_OK;
    if (v->type == VW_JSTR)
        return check_string(v, v->key, "a string");
    if (v->type == VW_JOBJ)
        return vw_fail(VW_ERR_INVALID_ARG,
                       "attributes.%s: nested objects are not supported (use a flat object)",
                       v->key);
    if (v->type != VW_JARR)
        return VW_OK;
    if (v->count > VW_ATTR_MAX_ITEMS)
        return vw_fail(VW_ERR_INVALID_ARG, "attributes.%s: %u items, the limit is %u", v->key,
                       v->count, VW_ATTR_MAX_ITEMS);
    uint32_t i = 0;
    for (const vw_jnode *e = vw_json_at(j, v->child); e && st == VW_OK;
         e = vw_json_at(j, e->next), i++) {
        if (e->type != VW_JSTR)
            return vw_fail(VW_ERR_INVALID_ARG,
                           "attributes.%s[%u]: arrays hold strings only, got %s", v->key, i,
                           vw_json_type_name(e->type));
        st = check_string(e, v->key, "a string");
    }
    return st;
}

static vw_status check_members(const vw_json *j, const vw_jnode *root) {
    if (root->count > VW_ATTR_MAX_FIELDS)
        return vw_fail(VW_ERR_INVALID_ARG, "attributes: %u members, the limit is %u", root->count,
                       VW_ATTR_MAX_FIELDS);
    for (const vw_jnode *m = vw_json_at(j, root->child); m; m = vw_json_at(j, m->next)) {
        size_t klen = strlen(m->key);
        if (klen == 0 || klen > VW_ATTR_MAX_KEY)
            return vw_fail(VW_ERR_INVALID_ARG, "attributes: a member name is 1 to %u bytes",
                           VW_ATTR_MAX_KEY);
        for (const vw_jnode *o = vw_json_at(j, root->child); o != m; o = vw_json_at(j, o->next))
            if (strcmp(o->key, m->key) == 0)
                return vw_fail(VW_ERR_INVALID_ARG, "attributes.%s: given twice", m->key);
        vw_status st = check_value(j, m);
        if (st != VW_OK)
            return st;
    }
    return VW_OK;
}

/* The canonical text: members in the given order, no spaces. It is never
 * longer than 6 times the input plus a little (escapes), the buffer's size. */
static size_t canonical(const vw_json *j, const vw_jnode *root, char *buf) {
    size_t at = 0;
    buf[at++] = '{';
    for (const vw_jnode *m = vw_json_at(j, root->child); m; m = vw_json_at(j, m->next)) {
        if (at > 1)
            buf[at++] = ',';
        at = vw_json_put_string(buf, at, m->key, strlen(m->key));
        buf[at++] = ':';
        if (m->type == VW_JSTR) {
            at = vw_json_put_string(buf, at, m->str, m->len);
        } else if (m->type == VW_JNUM) {
            at = vw_json_put_number(buf, at, m->num);
        } else if (m->type == VW_JARR) {
            buf[at++] = '[';
            for (const vw_jnode *e = vw_json_at(j, m->child); e; e = vw_json_at(j, e->next)) {
                if (e != vw_json_at(j, m->child))
                    buf[at++] = ',';
                at = vw_json_put_string(buf, at, e->str, e->len);
            }
            buf[at++] = ']';
        } else {
            const char *w = m->type == VW_JTRUE ? "true" : m->type == VW_JFALSE ? "false" : "null";
            memcpy(buf + at, w, strlen(w));
            at += strlen(w);
        }
    }
    buf[at++] = '}';
    buf[at] = 0;
    return at;
}

vw_status vw_attrs_parse(const char *json, size_t len, vw_parsed_attrs *out) {
    *out = (vw_parsed_attrs){0};
    if (len > VW_MAX_ATTR_BYTES)
        return vw_fail(VW_ERR_INVALID_ARG, "attributes: %zu bytes, the limit is %u", len,
                       VW_MAX_ATTR_BYTES);
    vw_json *j = calloc(1, sizeof *j);
    if (!j)
        return vw_fail(VW_ERR_NOMEM, "attributes");
    vw_status st = vw_json_parse(json, len, "attributes", j);
    if (st == VW_OK && j->nodes[0].type == VW_JNULL) {
        vw_json_free(j);
        free(j);
        return VW_OK; /* "null": no attributes */
    }
    if (st == VW_OK && j->nodes[0].type != VW_JOBJ)
        st = vw_fail(VW_ERR_INVALID_ARG, "attributes: expected an object, got %s",
                     vw_json_type_name(j->nodes[0].type));
    if (st == VW_OK)
        st = check_members(j, &j->nodes[0]);
    char *buf = st == VW_OK ? malloc(6 * len + 16) : NULL;
    if (st == VW_OK && !buf)
        st = vw_fail(VW_ERR_NOMEM, "attributes text");
    if (st != VW_OK) {
        vw_json_free(j);
        free(j);
        return st;
    }
    out->json_len = (uint32_t)canonical(j, &j->nodes[0], buf);
    out->json = buf;
    out->dom = j;
    return VW_OK;
}

void vw_parsed_attrs_free(vw_parsed_attrs *p) {
    if (p->dom)
        vw_json_free(p->dom);
    free(p->dom);
    free(p->json);
    *p = (vw_parsed_attrs){0};
}

/* ------------------------------------------------------------------ the store */

vw_status vw_attrs_create(vw_attrs **out) {
    vw_attrs *a = calloc(1, sizeof *a);
    if (!a || pthread_rwlock_init(&a->lock, NULL) != 0) {
        free(a);
        return vw_fail(VW_ERR_NOMEM, "attribute store");
    }
    *out = a;
    return VW_OK;
}

static void rec_clear(vw_attrs *a, uint32_t rid) {
    vw_arec *r = &a->recs[rid];
    if (!r->json)
        return;
    vw_attrs_index_drop(a, rid);
    a->block_bytes -= r->json_len + (uint64_t)r->nval * sizeof(vw_aval);
    a->with_attrs--;
    free(r->vals);
    r->vals = NULL;
    r->nval = 0;
    r->json = NULL;
    r->json_len = 0;
}

void vw_attrs_free(vw_attrs *a) {
    if (!a)
        return;
    for (uint32_t i = 0; i < a->nrec; i++)
        free(a->recs[i].vals);
    for (uint32_t i = 0; i < a->nposts; i++)
        free(a->posts[i].rids);
    for (uint32_t i = 0; i < a->names.n; i++) {
        free(a->fields[i].num.main);
        free(a->fields[i].num.tail);
    }
    free(a->fields);
    free(a->posts);
    free(a->recs);
    free(a->nodes);
    vw_ids_free(&a->free_rids);
    vw_u64map_free(&a->by_label);
    vw_u64map_free(&a->kw);
    vw_strtab_free(&a->names);
    vw_strtab_free(&a->values);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

uint64_t vw_attrs_bytes(const vw_attrs *a) {
    if (!a)
        return 0;
    uint64_t b = sizeof *a + (uint64_t)a->caprec * sizeof(vw_arec) + a->block_bytes +
                 a->node_cap * sizeof *a->nodes;
    b += (a->by_label.vals ? a->by_label.mask + 1 : 0) * 12;
    b += (a->kw.vals ? a->kw.mask + 1 : 0) * 12 + a->names.bytes + a->values.bytes;
    for (uint32_t i = 0; i < a->nposts; i++)
        b += (uint64_t)a->posts[i].cap * 4;
    for (uint32_t i = 0; i < a->names.n; i++)
        b += (a->fields[i].num.capmain + a->fields[i].num.captail) * sizeof(vw_nument);
    return b;
}

const vw_arec *vw_attrs_find(const vw_attrs *a, uint64_t label) {
    uint32_t rid = vw_u64map_get(&a->by_label, label);
    return rid == VW_NO_ID ? NULL : &a->recs[rid];
}

/* Growth moves the records and the label table, which searches read: under
 * the store's lock, taken here only when something must move. */
vw_status vw_attrs_reserve(vw_attrs *a, uint64_t n) {
    uint64_t need = a->nrec + (n > a->free_rids.n ? n - a->free_rids.n : 0);
    bool recs = need > a->caprec,
         map = (a->by_label.used + n) * 2 > (a->by_label.mask + 1) || !a->by_label.vals;
    if (!recs && !map)
        return VW_OK;
    if (need > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CAPACITY, "attribute records");
    pthread_rwlock_wrlock(&a->lock);
    vw_status st = vw_u64map_reserve(&a->by_label, n);
    if (st == VW_OK && recs) {
        uint64_t cap = a->caprec ? a->caprec : 64;
        while (cap < need)
            cap += cap / 2;
        vw_arec *r = realloc(a->recs, cap * sizeof *r);
        if (r) {
            a->recs = r;
            a->caprec = (uint32_t)cap;
        } else {
            st = vw_fail(VW_ERR_NOMEM, "%llu attribute records", (unsigned long long)cap);
        }
    }
    pthread_rwlock_unlock(&a->lock);
    return st;
}

/* Makes the node table cover nodes 0..n-1 (under the store's lock, since
 * searches read it). Without memory the table stays as it is: nodes past
 * it are found through the label map, which is slower, not wrong. */
static void node_fit(vw_attrs *a, uint64_t n) {
    if (n <= a->node_cap)
        return;
    uint64_t cap = a->node_cap + a->node_cap / 2;
    cap = cap > n ? cap : n;
    pthread_rwlock_wrlock(&a->lock);
    vw_node_attrs *t = realloc(a->nodes, cap * sizeof *t);
    if (t) {
        for (uint64_t i = a->node_cap; i < cap; i++) {
            t[i].vals = NULL;
            t[i].nval = 0;
            atomic_init(&t[i].rid, VW_NO_ID);
        }
        a->nodes = t;
        a->node_cap = cap;
    }
    pthread_rwlock_unlock(&a->lock);
}

/* Node `node`'s entry becomes record rid's values (rid VW_NO_ID: none).
 * The rid goes last, so a reader that sees it sees the values. */
static void node_set(vw_attrs *a, uint32_t node, uint32_t rid) {
    if (node >= a->node_cap)
        return;
    vw_node_attrs *e = &a->nodes[node];
    atomic_store_explicit(&e->rid, VW_NO_ID, memory_order_relaxed);
    if (rid == VW_NO_ID)
        return;
    e->vals = a->recs[rid].vals;
    e->nval = a->recs[rid].nval;
    atomic_store_explicit(&e->rid, rid, memory_order_release);
}

/* A record for a label that has none (room reserved). Store lock held. */
static uint32_t rec_new(vw_attrs *a, uint64_t label, uint32_t node) {
    uint32_t rid = a->free_rids.n ? a->free_rids.ids[--a->free_rids.n] : a->nrec++;
    vw_arec *r = &a->recs[rid];
    r->label = label;
    atomic_init(&r->node, node);
    r->nval = 0;
    r->vals = NULL;
    r->json = NULL;
    r->json_len = 0;
    node_set(a, node, rid);
    vw_u64map_put(&a->by_label, label, rid);
    return rid;
}

vw_status vw_attrs_activate(vw_index *ix) {
    vw_attrs *a = NULL;
    vw_status st = vw_attrs_create(&a);
    if (st == VW_OK)
        st = vw_attrs_reserve(a, ix->live ? ix->live : 1);
    if (st == VW_OK)
        node_fit(a, ix->count);
    if (st == VW_OK && (st = vw_ids_reserve(&a->free_rids, 1)) == VW_OK) {
        for (uint64_t id = 0; id < ix->count; id++)
            if (vw_state(ix, (uint32_t)id) == VW_NODE_LIVE)
                rec_new(a, ix->labels[id], (uint32_t)id);
    }
    if (st != VW_OK) {
        vw_attrs_free(a);
        return st;
    }
    ix->attrs = a;
    return VW_OK;
}

void vw_attrs_on_place(vw_index *ix, uint64_t label, uint32_t id) {
    vw_attrs *a = ix->attrs;
    if (!a)
        return;
    node_fit(a, (uint64_t)id + 1);
    uint32_t rid = vw_u64map_get(&a->by_label, label);
    if (rid != VW_NO_ID) { /* an upsert: same attributes, new node */
        node_set(a, vw_rec_node(&a->recs[rid]), VW_NO_ID);
        node_set(a, id, rid);
        atomic_store_explicit(&a->recs[rid].node, id, memory_order_release);
        return;
    }
    pthread_rwlock_wrlock(&a->lock);
    rec_new(a, label, id); /* room reserved by place_at's vw_attrs_reserve */
    pthread_rwlock_unlock(&a->lock);
}

void vw_attrs_on_remove(vw_index *ix, uint64_t label) {
    vw_attrs *a = ix->attrs;
    if (!a)
        return;
    uint32_t rid = vw_u64map_get(&a->by_label, label);
    if (rid == VW_NO_ID || vw_ids_reserve(&a->free_rids, a->free_rids.n + 1) != VW_OK)
        return; /* without room on the free list the record is only cleared */
    pthread_rwlock_wrlock(&a->lock);
    node_set(a, vw_rec_node(&a->recs[rid]), VW_NO_ID);
    rec_clear(a, rid);
    vw_u64map_del(&a->by_label, label);
    atomic_store_explicit(&a->recs[rid].node, VW_NO_NODE, memory_order_relaxed);
    a->free_rids.ids[a->free_rids.n++] = rid;
    pthread_rwlock_unlock(&a->lock);
}

void vw_attrs_on_renumber(vw_index *ix, const uint32_t *rank, uint64_t n) {
    vw_attrs *a = ix->attrs;
    if (!a)
        return;
    for (uint64_t i = 0; i < a->node_cap; i++)
        node_set(a, (uint32_t)i, VW_NO_ID);
    for (uint32_t i = 0; i < a->nrec; i++) {
        uint32_t node = atomic_load_explicit(&a->recs[i].node, memory_order_relaxed);
        if (node < n) {
            atomic_store_explicit(&a->recs[i].node, rank[node], memory_order_relaxed);
            node_set(a, rank[node], i);
        }
    }
}

vw_status vw_attrs_assign(vw_attrs *a, uint64_t label, vw_parsed_attrs *parsed) {
    uint32_t rid = vw_u64map_get(&a->by_label, label);
    if (rid == VW_NO_ID)
        return vw_fail(VW_ERR_NOT_FOUND, "label %llu has no record", (unsigned long long)label);
    pthread_rwlock_wrlock(&a->lock);
    rec_clear(a, rid);
    vw_status st = VW_OK;
    if (parsed && parsed->json) {
        st = vw_attrs_intern_values(a, parsed, &a->recs[rid]);
        if (st == VW_OK)
            st = vw_attrs_index_add(a, rid);
        if (st != VW_OK)
            rec_clear(a, rid);
    }
    node_set(a, vw_rec_node(&a->recs[rid]), rid);
    pthread_rwlock_unlock(&a->lock);
    return st;
}

/* ------------------------------------------------------------------ public */

vw_status vw_index_set_attributes(vw_index *ix, uint64_t label, const char *json, size_t len) {
    vw_clear_detail();
    if (!ix || (!json && len))
        return vw_fail(VW_ERR_NULL_ARG, "index or json is NULL");
    vw_parsed_attrs p = {0};
    vw_status st = json && len ? vw_attrs_parse(json, len, &p) : VW_OK;
    if (st != VW_OK)
        return st;
    if ((st = vw_writer_lock(ix)) != VW_OK) {
        vw_parsed_attrs_free(&p);
        return st;
    }
    if (ix->readonly)
        st = vw_fail(VW_ERR_READONLY, "index was loaded with VW_LOAD_MMAP");
    else if (vw_labelmap_find(&ix->map, ix->labels, label) == VW_NO_NODE)
        st = vw_fail(VW_ERR_NOT_FOUND, "label %llu", (unsigned long long)label);
    else if (!ix->attrs && p.json)
        st = vw_attrs_activate(ix);
    if (st == VW_OK && ix->attrs)
        st = vw_attrs_assign(ix->attrs, label, &p);
    vw_index_publish(ix);
    vw_writer_unlock(ix);
    vw_parsed_attrs_free(&p);
    return st;
}

vw_status vw_attributes_check(const char *json, size_t len) {
    vw_clear_detail();
    if (!json && len)
        return vw_fail(VW_ERR_NULL_ARG, "json is NULL");
    vw_parsed_attrs p = {0};
    vw_status st = len ? vw_attrs_parse(json, len, &p) : VW_OK;
    vw_parsed_attrs_free(&p);
    return st;
}

vw_status vw_index_get_attributes(const vw_index *ix, uint64_t label, char *out, size_t cap,
                                  size_t *len) {
    vw_clear_detail();
    if (!ix || !len || (!out && cap))
        return vw_fail(VW_ERR_NULL_ARG, "index, out or len is NULL");
    vw_status st = vw_writer_lock(ix);
    if (st != VW_OK)
        return st;
    const vw_arec *r = NULL;
    *len = 0;
    if (vw_labelmap_find(&ix->map, ix->labels, label) == VW_NO_NODE)
        st = vw_fail(VW_ERR_NOT_FOUND, "label %llu", (unsigned long long)label);
    else if (ix->attrs && (r = vw_attrs_find(ix->attrs, label)) && r->json)
        *len = r->json_len;
    if (st == VW_OK && *len + 1 > cap)
        st = vw_fail(VW_ERR_INVALID_ARG, "attributes of label %llu need %zu bytes, got %zu",
                     (unsigned long long)label, *len + 1, cap);
    else if (st == VW_OK) {
        if (*len)
            memcpy(out, r->json, *len);
        out[*len] = 0;
    }
    vw_writer_unlock(ix);
    return st;
}
