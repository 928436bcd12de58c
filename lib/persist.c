/* persist.c - vw_index_save: the index file written atomically (FORMAT.md;
 * persist.h has the layout shared with the loader). */
#include "persist.h"
#include "fileio.h"

#include <stdlib.h>
#include <string.h>

/* ================================================================== save */

/* Test hook (tests/test_persist_atomic.c): when set, called once the
 * temporary file is complete and synced, just before the rename; a status
 * other than VW_OK fails the save at that point. NULL in normal use. */
vw_status (*vw_persist_before_rename_hook)(const char *tmp_path);

#define WRITE_BUFFER ((size_t)1 << 20)

/* Buffered sequential writer that keeps the CRC of the current section. */
typedef struct writer {
    int fd;
    const char *path;
    unsigned char *buf;
    size_t used;
    uint64_t offset; /* logical position, buffered bytes included */
    uint32_t crc;
} writer;

static vw_status write_all(const writer *w, const void *data, size_t len, uint64_t off) {
    return vw_pwrite_full(w->fd, data, len, off, w->path);
}

static vw_status w_flush(writer *w) {
    vw_status st = write_all(w, w->buf, w->used, w->offset - w->used);
    w->used = 0;
    return st;
}

static vw_status w_put(writer *w, const void *data, size_t len) {
    w->crc = vw_crc32c(w->crc, data, len);
    if (w->used + len > WRITE_BUFFER) {
        vw_status st = w_flush(w);
        if (st != VW_OK)
            return st;
    }
    if (len >= WRITE_BUFFER) { /* big arrays go straight from the index */
        vw_status st = write_all(w, data, len, w->offset);
        w->offset += len;
        return st;
    }
    memcpy(w->buf + w->used, data, len);
    w->used += len;
    w->offset += len;
    return VW_OK;
}

/* Writes a large array in pieces so each piece's CRC is taken while cached. */
static vw_status w_put_array(writer *w, const void *data, uint64_t len) {
    const unsigned char *p = data;
    for (uint64_t done = 0; done < len;) {
        size_t chunk = len - done < 4 * WRITE_BUFFER ? (size_t)(len - done) : 4 * WRITE_BUFFER;
        vw_status st = w_put(w, p + done, chunk);
        if (st != VW_OK)
            return st;
        done += chunk;
    }
    return VW_OK;
}

static vw_status begin_section(writer *w, section *s, uint32_t id) {
    static const unsigned char zero[SECTION_ALIGN];
    vw_status st = w_put(w, zero, (size_t)(align_up(w->offset) - w->offset));
    *s = (section){.id = id, .offset = w->offset};
    w->crc = 0;
    return st;
}

static void end_section(const writer *w, section *s) {
    s->length = w->offset - s->offset;
    s->crc = w->crc;
}

/* A list as stored in the file: count, ids, zero in the unused slots
 * (memory may hold stale ids there). */
static vw_status put_list(writer *w, const uint32_t *list, uint32_t cap, uint32_t *row,
                          uint64_t node) {
    uint32_t c = list[0];
    if (c > cap)
        return vw_fail(VW_ERR_CORRUPT, "in-memory node %llu has %u links, max %u",
                       (unsigned long long)node, c, cap);
    memcpy(row, list, (1 + (size_t)c) * sizeof *row);
    memset(row + 1 + c, 0, (size_t)(cap - c) * sizeof *row);
    return w_put(w, row, (1 + (size_t)cap) * sizeof *row);
}

/* A packed layer-0 list (version 4): count and ids only. */
static vw_status put_packed_list(writer *w, const uint32_t *list, uint32_t cap, uint64_t node) {
    uint32_t c = list[0];
    if (c > cap)
        return vw_fail(VW_ERR_CORRUPT, "in-memory node %llu has %u links, max %u",
                       (unsigned long long)node, c, cap);
    return w_put(w, list, (1 + (size_t)c) * sizeof *list);
}

static bool slot_free(const vw_index *ix, uint64_t id) {
    return vw_node_state(ix, (uint32_t)id) == STATE_FREE;
}

/* Free slots are written empty: memory may still hold what a removed node
 * left (searches that began before the purge may read it). */
static vw_status put_links(writer *w, const vw_index *ix, section *sec, bool packed) {
    uint32_t *row = calloc(1 + (size_t)ix->M0, sizeof *row);
    if (!row)
        return vw_fail(VW_ERR_NOMEM, "row buffer");
    const uint32_t empty = 0;
    vw_status st = begin_section(w, &sec[SEC_LINKS0], SEC_LINKS0 + 1);
    for (uint64_t i = 0; i < ix->count && st == VW_OK; i++) {
        const uint32_t *list = slot_free(ix, i) ? &empty : vw_links0(ix, (uint32_t)i);
        st = packed ? put_packed_list(w, list, ix->M0, i) : put_list(w, list, ix->M0, row, i);
    }
    end_section(w, &sec[SEC_LINKS0]);
    sec[SEC_LINKS0].flags = packed ? SECTION_PACKED : 0;
    if (st == VW_OK)
        st = begin_section(w, &sec[SEC_UPPER], SEC_UPPER + 1);
    for (uint64_t i = 0; i < ix->count && st == VW_OK; i++)
        for (unsigned l = 1; !slot_free(ix, i) && l <= ix->levels[i] && st == VW_OK; l++)
            st = put_list(w, vw_links_upper(ix, (uint32_t)i, l), ix->M, row, i);
    end_section(w, &sec[SEC_UPPER]);
    free(row);
    return st;
}

/* A per-node array of `row` bytes per slot: runs of slots in use go out
 * straight from the index, free slots as zero rows. */
static vw_status put_rows_section(writer *w, const vw_index *ix, section *s, int sec,
                                  const void *data, size_t row) {
    const unsigned char *p = data;
    unsigned char *zero = calloc(1, row);
    vw_status st = zero ? begin_section(w, s, (uint32_t)sec + 1) : vw_fail(VW_ERR_NOMEM, "row");
    uint64_t run = 0;
    for (uint64_t i = 0; i < ix->count && st == VW_OK; i++) {
        if (!slot_free(ix, i))
            continue;
        st = w_put_array(w, p + run * row, (i - run) * row);
        if (st == VW_OK)
            st = w_put(w, zero, row);
        run = i + 1;
    }
    if (st == VW_OK)
        st = w_put_array(w, p + run * row, (ix->count - run) * row);
    end_section(w, s);
    free(zero);
    return st;
}

static vw_status put_states(writer *w, const vw_index *ix, section *s) {
    unsigned char chunk[4096];
    vw_status st = begin_section(w, s, SEC_STATES + 1);
    for (uint64_t i = 0; i < ix->count && st == VW_OK;) {
        size_t n = 0;
        for (; n < sizeof chunk && i < ix->count; n++, i++)
            chunk[n] = vw_node_state(ix, (uint32_t)i);
        st = w_put(w, chunk, n);
    }
    end_section(w, s);
    return st;
}

/* The attributes section (attrs_file.c has its layout). */
static vw_status put_attrs(writer *w, const vw_index *ix, section *s) {
    unsigned char *p;
    size_t len;
    vw_status st = vw_attrs_serialize(ix, &p, &len);
    if (st != VW_OK)
        return st;
    st = begin_section(w, s, SEC_ATTRS + 1);
    if (st == VW_OK)
        st = w_put(w, p, len);
    end_section(w, s);
    free(p);
    return st;
}

/* sec: the sections in file order. */
static void build_header(const vw_index *ix, const section *sec, uint32_t nsec, uint32_t version,
                         uint64_t file_size, unsigned char *h) {
    uint32_t hs = header_size_for(nsec);
    vw_top top = vw_top_get(ix);
    memset(h, 0, hs);
    memcpy(h + H_MAGIC, file_magic, sizeof file_magic);
    put32(h + H_BYTE_ORDER, BYTE_ORDER_MARK);
    put32(h + H_VERSION, version);
    put32(h + H_HEADER_SIZE, hs);
    put64(h + H_FILE_SIZE, file_size);
    put32(h + H_DIM, ix->dim);
    put32(h + H_METRIC, (uint32_t)ix->metric);
    put32(h + H_M, ix->M);
    put32(h + H_EF_CONSTRUCTION, ix->ef_construction);
    put64(h + H_SEED, ix->seed);
    put64(h + H_COUNT, ix->count);
    put32(h + H_MAX_LEVEL, (uint32_t)top.level);
    put32(h + H_ENTRY, top.entry);
    put32(h + H_SECTION_COUNT, nsec);
    for (uint32_t i = 0; i < nsec; i++) {
        unsigned char *e = h + FIXED_HEADER + (size_t)i * SECTION_ENTRY;
        put32(e + S_ID, sec[i].id);
        put32(e + S_FLAGS, sec[i].flags);
        put64(e + S_OFFSET, sec[i].offset);
        put64(e + S_LENGTH, sec[i].length);
        put32(e + S_CRC, sec[i].crc);
    }
    put32(h + H_HEADER_CRC, header_crc(h, hs));
}

/* The storage section: kind, flags, and the i8 codec when trained. */
static vw_status put_storage(writer *w, const vw_index *ix, section *sec) {
    unsigned char fixed[STORAGE_FIXED] = {0};
    bool i8 = ix->storage == VW_STORAGE_I8;
    put32(fixed + ST_KIND, (uint32_t)ix->storage);
    put32(fixed + ST_FLAGS, ix->flags);
    put32(fixed + ST_TRAINED, i8 && ix->i8.trained);
    if (i8 && ix->i8.trained)
        memcpy(fixed + ST_STEP, &ix->i8.step, sizeof ix->i8.step);
    vw_status st = begin_section(w, sec, SEC_STORAGE + 1);
    if (st == VW_OK)
        st = w_put(w, fixed, sizeof fixed);
    for (uint32_t i = 0; i < (i8 ? ix->dim : 0) && st == VW_OK; i++) {
        float o = ix->i8.trained ? ix->i8.offset[i] : 0.0f;
        st = w_put(w, &o, sizeof o);
    }
    end_section(w, sec);
    return st;
}

/* The store section: optional, so that any reader loads a store's snapshot
 * as an ordinary index. */
static vw_status put_store_tag(writer *w, const vw_index *ix, section *sec) {
    vw_status st = begin_section(w, sec, SECTION_STORE);
    if (st == VW_OK)
        st = w_put(w, ix->store_tag, sizeof ix->store_tag);
    end_section(w, sec);
    sec->flags = SECTION_OPTIONAL;
    return st;
}

/* Everything but the header goes out through the buffer; the header, which
 * needs the section CRCs, is written last over the zeros reserved for it.
 * The oldest version that can hold the index is written, so older readers
 * load what they can: version 5 for attributes, 4 for packed lists or
 * residuals, else 3 for
 * an index with removed nodes or free slots, else 2, byte for byte as
 * before those versions existed. */
static vw_status write_index(writer *w, const vw_index *ix, bool packed) {
    unsigned char header[448];
    section sec[SEC_KNOWN + 1];
    bool float32 = ix->storage != VW_STORAGE_F32 && !(ix->flags & VW_PARAMS_NO_FLOAT32);
    bool resid = ix->resid_size != 0;
    bool v4 = packed || resid;
    bool attrs = vw_attrs_present(ix);
    bool states = v4 || attrs || vw_removed_count(ix) + ix->limbo.ids.n + ix->free_ids.n > 0;
    uint32_t nsec = SEC_STORAGE + 1 + float32 + resid + states + attrs + ix->has_store_tag;
    uint32_t hs = header_size_for(nsec);
    _Static_assert(sizeof header >= FIXED_HEADER + (SEC_KNOWN + 1) * SECTION_ENTRY,
                   "header buffer");
    memset(header, 0, sizeof header);
    vw_status st = w_put(w, header, hs);
    if (st == VW_OK)
        st = put_rows_section(w, ix, &sec[SEC_VECTORS], SEC_VECTORS, ix->codes, ix->code_size);
    if (st == VW_OK)
        st = put_rows_section(w, ix, &sec[SEC_LEVELS], SEC_LEVELS, ix->levels, 1);
    if (st == VW_OK)
        st = put_links(w, ix, sec, packed);
    if (st == VW_OK)
        st = put_rows_section(w, ix, &sec[SEC_LABELS], SEC_LABELS, ix->labels, sizeof(uint64_t));
    if (st == VW_OK)
        st = put_storage(w, ix, &sec[SEC_STORAGE]);
    if (st == VW_OK && float32)
        st = put_rows_section(w, ix, &sec[SEC_FLOAT32], SEC_FLOAT32, ix->exact,
                              ix->dim * sizeof(float));
    /* the table lists the sections in file order: float32 and residual may be absent */
    if (st == VW_OK && resid)
        st = put_rows_section(w, ix, &sec[SEC_STORAGE + 1 + float32], SEC_RESID, ix->resid,
                              ix->resid_size);
    if (st == VW_OK && states)
        st = put_states(w, ix, &sec[SEC_STORAGE + 1 + float32 + resid]);
    if (st == VW_OK && attrs)
        st = put_attrs(w, ix, &sec[SEC_STORAGE + 1 + float32 + resid + states]);
    if (st == VW_OK && ix->has_store_tag)
        st = put_store_tag(w, ix, &sec[nsec - 1]);
    if (st == VW_OK)
        st = w_flush(w);
    if (st != VW_OK)
        return st;
    uint32_t version = attrs    ? VERSION_ATTRS
                       : v4     ? VERSION_PACKED
                       : states ? VERSION_STATES
                                : VERSION_STORAGE;
    build_header(ix, sec, nsec, version, w->offset, header);
    return write_all(w, header, hs, 0);
}

vw_status vw_index_save(const vw_index *ix, const char *path) {
    return vw_index_save_ex(ix, path, ix && ix->pack_links ? VW_SAVE_PACK_LINKS : 0);
}

vw_status vw_index_save_ex(const vw_index *ix, const char *path, unsigned flags) {
    vw_clear_detail();
    if (!ix || !path)
        return vw_fail(VW_ERR_NULL_ARG, "index or path is NULL");
    if (!*path)
        return vw_fail(VW_ERR_INVALID_ARG, "empty path");
    if (flags & ~(unsigned)VW_SAVE_PACK_LINKS)
        return vw_fail(VW_ERR_INVALID_ARG, "unknown save flags 0x%x", flags);
    vw_atomic_file af;
    vw_status st = vw_atomic_open(path, &af);
    if (st != VW_OK)
        return st;
    writer w = {.fd = af.fd, .path = af.tmp};
    w.buf = malloc(WRITE_BUFFER);
    if (!w.buf)
        st = vw_fail(VW_ERR_NOMEM, "write buffer");
    if (st == VW_OK) {
        /* Searches run meanwhile; writes wait until the data is written. */
        st = vw_writer_lock(ix);
        if (st == VW_OK) {
            st = write_index(&w, ix, flags & VW_SAVE_PACK_LINKS);
            vw_writer_unlock(ix);
        }
    }
    free(w.buf);
    if (st != VW_OK) {
        vw_atomic_abort(&af);
        return st;
    }
    return vw_atomic_commit(&af, vw_persist_before_rename_hook);
}
