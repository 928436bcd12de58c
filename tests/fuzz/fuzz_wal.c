/* libFuzzer target over the write log's reader (vw_store_open's replay).
 *
 * Each input becomes DIR/wal.log beside a small store snapshot (dim 3, 40
 * nodes, tagged with a store id), as it is and with the snapshot's store id
 * put into a version-2 header and its header and record CRCs recomputed (so
 * mutations get past the binding and the checksums to the record checks and
 * to replaying), and the store is opened. It must open or fail with a status, never crash; an
 * opened store must take a write (with attributes too) and answer a search. Seeds:
 * tests/fuzz/seeds/fuzz_wal (small logs written by the store itself: log*.bin of version 1,
 * log_v2_*.bin of version 2, log_v3_*.bin of version 3 with attribute records). */
#include "bytes.h"
#include "crc32c.h"
#include "vwhnsw.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIM 3

static char dir[64], snapshot[96], log_path[96], pristine[96];
static uint8_t store_id[16]; /* the pristine snapshot's */

/* At exit: the scratch directory and whatever the store left in it, so
 * that runs do not pile up directories in /dev/shm. */
static void cleanup(void) {
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[384];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "%s/fuzz_wal.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    snprintf(snapshot, sizeof snapshot, "%s/index.vwi", dir);
    snprintf(log_path, sizeof log_path, "%s/wal.log", dir);
    snprintf(pristine, sizeof pristine, "%s/pristine.vwi", dir);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 4;
    vw_index *ix = NULL;
    if (vw_index_create(&p, &ix) != VW_OK)
        abort();
    for (uint64_t i = 0; i < 40; i++) {
        float v[DIM] = {(float)i, (float)(i % 7), 1.0f};
        vw_index_add(ix, v, i);
    }
    if (vw_index_save(ix, pristine) != VW_OK)
        abort();
    vw_index_free(ix);
    /* a store made from it: its snapshot is tagged, its log names the id */
    vw_store *s = NULL;
    if (vw_store_open(dir, pristine, &s) != VW_OK)
        abort();
    vw_store_close(s);
    FILE *f = fopen(log_path, "rb");
    uint8_t h[64];
    if (!f || fread(h, 1, sizeof h, f) != sizeof h)
        abort();
    fclose(f);
    memcpy(store_id, h + 32, sizeof store_id);
    unlink(pristine);
    if (rename(snapshot, pristine) != 0)
        abort();
}

/* The store id of a version-2 or -3 header, then header and record CRCs as lib/FORMAT.md ("The
 * write log") computes them, wherever the mutated lengths still fit. */
static void fix_crcs(uint8_t *f, size_t size) {
    if (size < 64)
        return;
    if (get32(f + 12) >= 2)
        memcpy(f + 32, store_id, sizeof store_id);
    put32(f + 24, 0);
    put32(f + 24, vw_crc32c(0, f, 64));
    for (size_t off = 64; off + 32 <= size;) {
        uint64_t len = get64(f + off + 24);
        if (len > size - off - 32)
            return;
        put32(f + off + 4, vw_crc32c(0, f + off + 8, 24 + (size_t)len));
        off += 32 + ((len + 7) & ~(uint64_t)7);
    }
}

static void open_once(const uint8_t *data, size_t size) {
    FILE *f = fopen(log_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    /* replaying changes the snapshot's index only in memory, but a
     * snapshot below would not: start from the same file every time */
    unlink(snapshot);
    if (link(pristine, snapshot) != 0)
        abort();
    vw_store *s = NULL;
    if (vw_store_open(dir, NULL, &s) != VW_OK) {
        if (s)
            abort(); /* a failed open must not hand out a store */
        return;
    }
    float v[DIM] = {0.5f, 0.25f, 1.0f};
    uint64_t label = 7, got[3];
    uint32_t found;
    const char *attrs = "{\"c\":\"x\"}";
    vw_store_upsert(s, v, &label, 1);
    vw_store_upsert_with_attributes(s, v, &label, 1, &attrs, NULL);
    vw_store_remove(s, 3);
    vw_status st = vw_index_search(vw_store_index(s), v, 3, 8, NULL, NULL, got, NULL, &found);
    if (st != VW_OK && st != VW_ERR_EMPTY_INDEX)
        abort();
    vw_store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0])
        setup();
    if (size > (1u << 16))
        return 0;
    open_once(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    fix_crcs(fixed, size);
    open_once(fixed, size);
    free(fixed);
    return 0;
}
