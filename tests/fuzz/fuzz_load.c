/* libFuzzer target over vw_index_load.
 *
 * Each input is loaded as it is (checksums on), then again with its header
 * and section CRCs recomputed, in read and mmap mode, so that mutations get
 * past the checksums to the structural checks. An index that loads must
 * answer searches (and, in read mode, take an insert, a removal, a purge
 * and an upsert) without fault.
 *
 * Seeds: tests/fuzz/seeds/fuzz_load/ (written by `test_persist_seeds
 * <dir>`: every storage kind, with and without float32 rows, with removed
 * elements and free slots, attributes). Inputs go through a memfd: no disk
 * traffic. A loaded index also answers a filtered search over the seeds'
 * attribute names, which walks the rebuilt per-field indexes. */
#include "bytes.h"
#include "crc32c.h"
#include "fuzz_util.h"
#include "vwhnsw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the CRCs wherever the (possibly mutated) header lets us find
 * them inside the buffer; offsets as in lib/FORMAT.md. */
static void fix_crcs(uint8_t *f, size_t size) {
    if (size < 80)
        return;
    uint32_t hs = get32(f + 16);
    if (hs < 24 || hs > size)
        return;
    uint32_t n = get32(f + 72);
    for (uint64_t s = 0; s < n && 80 + 32 * (s + 1) <= hs; s++) {
        uint8_t *e = f + 80 + 32 * s;
        uint64_t off = get64(e + 8), len = get64(e + 16);
        if (off <= size && len <= size - off)
            put32(e + 24, vw_crc32c(0, f + off, len));
    }
    uint8_t zero[4] = {0};
    uint32_t c = vw_crc32c(0, f, 20);
    c = vw_crc32c(c, zero, 4);
    put32(f + 20, vw_crc32c(c, f + 24, hs - 24));
}

static void exercise(vw_index *ix, int read_mode) {
    vw_stats s;
    if (vw_index_stats(ix, &s) != VW_OK)
        abort();
    float *q = fuzz_query(s.dim);
    if (!q)
        return;
    uint64_t labels[4];
    float dists[4];
    uint32_t found;
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = 8;
    o.rerank = 3; /* compact kinds re-rank: below k, clamped to it */
    vw_status st = vw_index_search_ex(ix, q, 4, &o, labels, dists, &found);
    if (st != VW_OK && !(st == VW_ERR_EMPTY_INDEX && s.count == 0))
        abort(); /* a validated index must be searchable */
    static const char filter[] =
        "{\"should\":[{\"key\":\"c\",\"match\":{\"any\":[\"red\",\"blue\"]}},"
        "{\"key\":\"p\",\"range\":{\"gt\":0}},{\"is_empty\":{\"key\":\"t\"}}],"
        "\"must_not\":[{\"key\":\"s\",\"match\":{\"value\":false}}]}";
    vw_filter *f = NULL;
    if (vw_filter_parse(filter, sizeof filter - 1, &f) != VW_OK)
        abort();
    o.where = f;
    st = vw_index_search_ex(ix, q, 4, &o, labels, dists, &found);
    if (st != VW_OK && !(st == VW_ERR_EMPTY_INDEX && s.count == 0))
        abort();
    o.where = NULL;
    vw_filter_free(f);
    if (read_mode) {
        q[0] += 0.5f;
        vw_index_add(ix, q, UINT64_MAX - 1); /* may be refused (e.g. zero vector), never crash */
        vw_index_search(ix, q, 4, 8, NULL, NULL, labels, dists, &found);
        /* removals, a purge (which walks every list) and an upsert */
        if (found > 0)
            vw_index_remove(ix, labels[0]);
        vw_index_purge(ix);
        vw_index_upsert(ix, q, UINT64_MAX - 1);
        vw_index_search(ix, q, 4, 8, NULL, NULL, labels, dists, &found);
    }
    free(q);
}

static void load(const char *path, unsigned flags) {
    vw_index *ix = NULL;
    if (vw_index_load(path, flags, &ix) == VW_OK) {
        exercise(ix, !(flags & VW_LOAD_MMAP));
        vw_index_free(ix);
    } else if (ix) {
        abort(); /* a failed load must not hand out an index */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20))
        return 0;
    const char *path = fuzz_memfd_put(data, size);
    if (path)
        load(path, VW_LOAD_DEFAULT);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    fix_crcs(fixed, size);
    if ((path = fuzz_memfd_put(fixed, size)) != NULL) {
        load(path, VW_LOAD_DEFAULT);
        load(path, VW_LOAD_MMAP);
    }
    free(fixed);
    return 0;
}
