/* fuzz_foreign.h - shared by the libFuzzer targets of the Faiss and hnswlib
 * readers (fuzz_faiss.c, fuzz_hnswlib.c): the input goes to a memfd (no
 * disk traffic) and is imported with its format given, so that mutations
 * that break detection still reach the reader, and again detected; an index
 * that imports must search, take an insert, reorder and search again
 * without fault. */
#ifndef VW_FUZZ_FOREIGN_H
#define VW_FUZZ_FOREIGN_H

#include "fuzz_util.h"
#include "vwhnsw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ff_search(const vw_index *ix, const vw_stats *s, const float *q) {
    uint64_t labels[4];
    float dists[4];
    uint32_t found;
    vw_status st = vw_index_search(ix, q, 4, 8, NULL, NULL, labels, dists, &found);
    if (st != VW_OK && !(st == VW_ERR_EMPTY_INDEX && s->count == 0))
        abort(); /* an imported index must be searchable */
}

static void ff_exercise(vw_index *ix) {
    vw_stats s;
    if (vw_index_stats(ix, &s) != VW_OK)
        abort();
    float *q = fuzz_query(s.dim);
    if (!q)
        return;
    ff_search(ix, &s, q);
    q[0] += 0.5f;
    vw_status st = vw_index_add(ix, q, UINT64_MAX - 1);
    if (st != VW_OK && st != VW_ERR_DUPLICATE_LABEL && st != VW_ERR_ZERO_VECTOR)
        abort();
    if (vw_index_reorder(ix) != VW_OK)
        abort();
    if (vw_index_stats(ix, &s) != VW_OK)
        abort();
    ff_search(ix, &s, q);
    free(q);
}

/* Imports the input as `format` (and detected), with `metric` given. */
static void ff_run(const uint8_t *data, size_t size, vw_index_format format, vw_metric metric) {
    const char *path = size <= (1u << 20) ? fuzz_memfd_put(data, size) : NULL;
    if (!path)
        return;
    for (int detect = 0; detect < 2; detect++) {
        vw_import_options o;
        vw_import_options_default(&o);
        o.format = detect ? VW_INDEX_FORMAT_UNKNOWN : format;
        o.has_metric = 1;
        o.metric = metric;
        vw_index *ix = NULL;
        if (vw_index_import(path, &o, &ix) == VW_OK) {
            ff_exercise(ix);
            vw_index_free(ix);
        } else if (ix) {
            abort(); /* a failed import must not hand out an index */
        }
    }
}

#endif /* VW_FUZZ_FOREIGN_H */
