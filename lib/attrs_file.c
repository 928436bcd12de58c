/* attrs_file.c - the attributes section (10) of the index file.
 *
 *   u64 records, then per record (ascending label):
 *   u64 label, u32 text length L (1..VW_MAX_ATTR_BYTES), L bytes of JSON
 *
 * Only elements with attributes are listed. The loader parses every text
 * with the checks vw_index_set_attributes applies, so a damaged section is
 * VW_ERR_CORRUPT naming the record and the file offset, never a crash. */
#include "attrs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_label(const void *x, const void *y) {
    uint64_t a = (*(const vw_arec *const *)x)->label, b = (*(const vw_arec *const *)y)->label;
    return (a > b) - (a < b);
}

vw_status vw_attrs_serialize(const vw_index *ix, unsigned char **out, size_t *len) {
    const vw_attrs *a = ix->attrs;
    uint64_t n = 0, bytes = 8;
    for (uint32_t i = 0; a && i < a->nrec; i++)
        if (a->recs[i].json) {
            n++;
            bytes += 12 + a->recs[i].json_len;
        }
    const vw_arec **order = malloc((n ? n : 1) * sizeof *order);
    unsigned char *p = malloc(bytes);
    if (!order || !p) {
        free(order);
        free(p);
        return vw_fail(VW_ERR_NOMEM, "attributes section of %llu bytes", (unsigned long long)bytes);
    }
    n = 0;
    for (uint32_t i = 0; a && i < a->nrec; i++)
        if (a->recs[i].json)
            order[n++] = &a->recs[i];
    qsort(order, n, sizeof *order, cmp_label); /* deterministic bytes */
    memcpy(p, &n, 8);
    size_t at = 8;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t l = order[i]->json_len;
        memcpy(p + at, &order[i]->label, 8);
        memcpy(p + at + 8, &l, 4);
        memcpy(p + at + 12, order[i]->json, l);
        at += 12 + l;
    }
    free(order);
    *out = p;
    *len = at;
    return VW_OK;
}

/* Whether the index has attributes to save (the section is written then). */
bool vw_attrs_present(const vw_index *ix) {
    return ix->attrs && ix->attrs->with_attrs > 0;
}

static vw_status load_one(vw_index *ix, const unsigned char *p, uint64_t label, uint32_t l,
                          uint64_t i, uint64_t off, uint64_t *prev) {
    if (i > 0 && label <= *prev)
        return vw_fail(VW_ERR_CORRUPT,
                       "attributes section: record %llu (offset %llu): labels "
                       "not ascending",
                       (unsigned long long)i, (unsigned long long)off);
    *prev = label;
    if (vw_labelmap_find(&ix->map, ix->labels, label) == VW_NO_NODE)
        return vw_fail(VW_ERR_CORRUPT,
                       "attributes section: record %llu (offset %llu): label "
                       "%llu is not in the index",
                       (unsigned long long)i, (unsigned long long)off, (unsigned long long)label);
    vw_parsed_attrs pa;
    vw_status st = vw_attrs_parse((const char *)p, l, &pa);
    if (st != VW_OK || !pa.json) {
        char why[200];
        snprintf(why, sizeof why, "%s", st != VW_OK ? vw_last_error_detail() : "null");
        vw_parsed_attrs_free(&pa);
        return vw_fail(VW_ERR_CORRUPT, "attributes section: record %llu (offset %llu): %s",
                       (unsigned long long)i, (unsigned long long)off, why);
    }
    st = vw_attrs_assign(ix->attrs, label, &pa);
    vw_parsed_attrs_free(&pa);
    return st;
}

vw_status vw_attrs_deserialize(vw_index *ix, const unsigned char *p, size_t len,
                               uint64_t file_offset) {
    uint64_t n, prev = 0;
    if (len < 8)
        return vw_fail(VW_ERR_CORRUPT, "attributes section: %zu bytes, less than its count", len);
    memcpy(&n, p, 8);
    if (n > ix->live || n > (len - 8) / 13)
        return vw_fail(VW_ERR_CORRUPT, "attributes section: %llu records do not fit",
                       (unsigned long long)n);
    vw_status st = ix->attrs ? VW_OK : vw_attrs_activate(ix);
    size_t at = 8;
    for (uint64_t i = 0; i < n && st == VW_OK; i++) {
        uint64_t label;
        uint32_t l;
        if (len - at < 12)
            return vw_fail(VW_ERR_CORRUPT, "attributes section: record %llu is cut",
                           (unsigned long long)i);
        memcpy(&label, p + at, 8);
        memcpy(&l, p + at + 8, 4);
        if (l == 0 || l > VW_MAX_ATTR_BYTES || l > len - at - 12)
            return vw_fail(VW_ERR_CORRUPT,
                           "attributes section: record %llu (offset %llu): text "
                           "length %u out of range",
                           (unsigned long long)i, (unsigned long long)(file_offset + at), l);
        st = load_one(ix, p + at + 12, label, l, i, file_offset + at, &prev);
        at += 12 + l;
    }
    if (st == VW_OK && at != len)
        st = vw_fail(VW_ERR_CORRUPT, "attributes section: %zu bytes after the last record",
                     len - at);
    return st;
}
