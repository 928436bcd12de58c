/* persist_load.c - vw_index_load: an index file read into memory or mapped,
 * validated whole (persist.h says what is checked). */
#include "fileio.h"
#include "persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* vw_index_alloc checks the parameters; its complaint becomes a corruption
 * of the header. */
static vw_status alloc_index(loader *ld, vw_index **out) {
    vw_status st = vw_index_alloc(&ld->params, out);
    if (st == VW_OK) {
        (*out)->i8 = ld->i8; /* the index owns the codec from here */
        ld->i8 = (vw_codec_i8){0};
    }
    if (st == VW_OK || st == VW_ERR_NOMEM)
        return st;
    char why[128];
    snprintf(why, sizeof why, "%s", vw_last_error_detail());
    return vw_fail(VW_ERR_CORRUPT, "header: parameters: %s", why);
}

/* The removal state (states as VW_NODE_* values), entry point, counters. */
static vw_status finish_index(vw_index *ix, const loader *ld) {
    vw_status st = vw_removal_load(ix, ld->node_states);
    if (st != VW_OK)
        return st;
    vw_top_set(ix, ld->entry, ld->max_level);
    ix->draws = ld->count;
    vw_index_publish(ix);
    return VW_OK;
}

/* ------------------------------------------------------------------ read mode */

/* Gives every node with upper layers its own block, as inserts do, so the
 * loaded index can grow and be freed like a built one. */
static vw_status split_upper(vw_index *ix, const uint32_t *upper) {
    size_t block = (size_t)(1 + ix->M) * sizeof(uint32_t);
    for (uint64_t i = 0; i < ix->count; i++) {
        if (ix->levels[i] == 0)
            continue;
        size_t bytes = block * ix->levels[i];
        ix->upper[i] = malloc(bytes);
        if (!ix->upper[i])
            return vw_fail(VW_ERR_NOMEM, "upper links of node %llu", (unsigned long long)i);
        memcpy(ix->upper[i], upper, bytes);
        upper += bytes / sizeof *upper;
        ix->upper_bytes += bytes;
    }
    return VW_OK;
}

static vw_status load_into_memory(loader *ld, vw_index *ix) {
    vw_status st = vw_index_reserve(ix, ld->count);
    if (st == VW_OK)
        st = vw_load_states(ld);
    if (st != VW_OK)
        return st;
    if (ld->count > 0)
        memset(ix->upper, 0, ld->count * sizeof *ix->upper);
    ix->count = ld->count; /* from here vw_index_free releases what split_upper made */
    const section *s = ld->sec;
    if ((st = vw_load_section(ld, &s[SEC_VECTORS], ix->codes, "vectors")) != VW_OK ||
        (st = vw_load_check_codes(ld, ix->codes, 0, ld->count)) != VW_OK ||
        (st = vw_load_section(ld, &s[SEC_LEVELS], ix->levels, "levels")) != VW_OK ||
        (st = vw_load_check_levels(ld, ix->levels)) != VW_OK ||
        (st = vw_load_links0(ld, ix->links0, ix->levels)) != VW_OK)
        return st;
    uint32_t *upper = NULL;
    if (s[SEC_UPPER].length > 0 && !(upper = malloc(s[SEC_UPPER].length)))
        return vw_fail(VW_ERR_NOMEM, "upper links buffer");
    if ((st = vw_load_section(ld, &s[SEC_UPPER], upper, "upper links")) == VW_OK &&
        (st = vw_load_check_upper(ld, upper, ix->levels)) == VW_OK)
        st = split_upper(ix, upper);
    free(upper);
    if (st != VW_OK)
        return st;
    if ((st = vw_load_section(ld, &s[SEC_LABELS], ix->labels, "labels")) != VW_OK)
        return st;
    if (ld->float32 &&
        ((st = vw_load_section(ld, &s[SEC_FLOAT32], ix->exact, "float32")) != VW_OK ||
         (st = vw_load_check_vectors(ld, ix->exact, "float32", 0, ld->count)) != VW_OK))
        return st;
    /* every nibble decodes to a value the codec check allowed for */
    if (ld->resid && (st = vw_load_section(ld, &s[SEC_RESID], ix->resid, "residual")) != VW_OK)
        return st;
    ix->pack_links = ld->packed;
    return vw_load_label_map(ix, ld);
}

/* ------------------------------------------------------------------ mmap mode */

static vw_status verify_mapped(const loader *ld, const unsigned char *base, int sec) {
    const section *s = &ld->sec[sec];
    if (ld->verify && vw_crc32c(0, base + s->offset, s->length) != s->crc)
        return vw_load_crc_mismatch(section_name[sec]);
    return VW_OK;
}

/* With checksums on, every byte of a row section (vectors, float32) is
 * read anyway: check the rows as read mode does (no NaN, no overflow),
 * chunk by chunk while each chunk is in cache from its CRC; a checksum
 * mismatch is reported first, as read mode does. The vectors are read in
 * the mapping; the float32 rows, which only re-ranking reads, through pread
 * (mapped == NULL), so their pages stay out of the process until a search
 * wants them. Without checksums the rows stay untouched, so a mapped load
 * stays a few page faults. */
static vw_status verify_rows(const loader *ld, int sec, const unsigned char *mapped) {
    if (!ld->verify)
        return VW_OK;
    const section *s = &ld->sec[sec];
    size_t row = sec == SEC_FLOAT32 ? (size_t)ld->params.dim * sizeof(float)
                                    : vw_code_size(ld->params.storage, ld->params.dim);
    uint64_t rows_per_chunk = READ_CHUNK / row > 0 ? READ_CHUNK / row : 1;
    unsigned char *buf = NULL;
    if (!mapped && !(buf = malloc(rows_per_chunk * row)))
        return vw_fail(VW_ERR_NOMEM, "read buffer");
    vw_status rows_st = VW_OK, st = VW_OK; /* the first bad row, and reading */
    uint32_t crc = 0;
    for (uint64_t first = 0; first < ld->count && st == VW_OK; first += rows_per_chunk) {
        uint64_t n = ld->count - first < rows_per_chunk ? ld->count - first : rows_per_chunk;
        const unsigned char *p = mapped ? mapped + first * row : buf;
        if (!mapped &&
            (st = vw_load_read_at(ld, buf, (size_t)n * row, s->offset + first * row)) != VW_OK)
            break;
        crc = vw_crc32c(crc, p, (size_t)n * row);
        if (rows_st == VW_OK)
            rows_st = vw_load_check_rows(ld, sec, p, first, n);
    }
    free(buf);
    if (st != VW_OK)
        return st;
    if (crc != s->crc)
        return vw_load_crc_mismatch(section_name[sec]);
    return rows_st; /* its detail is the latest recorded */
}

/* Searches trust the levels to find a node's upper lists, so the index
 * keeps its own copy (a byte per node): what is checked here is what
 * searches use, even if the mapped file is changed afterwards. */
static vw_status copy_levels(const loader *ld, const unsigned char *base, vw_index *ix) {
    const section *s = &ld->sec[SEC_LEVELS];
    ix->levels = malloc(ld->count > 0 ? (size_t)ld->count : 1);
    if (!ix->levels)
        return vw_fail(VW_ERR_NOMEM, "levels of %llu nodes", (unsigned long long)ld->count);
    memcpy(ix->levels, base + s->offset, (size_t)ld->count);
    if (ld->verify && vw_crc32c(0, ix->levels, s->length) != s->crc)
        return vw_load_crc_mismatch(section_name[SEC_LEVELS]);
    return vw_load_check_levels(ld, ix->levels);
}

/* A section of the read-only mapping, typed for the index's (non-const) fields. */
static void *mapped_at(const unsigned char *base, uint64_t offset) {
    return (void *)(uintptr_t)(base + offset);
}

/* Rows read at random: fault in only the page asked for, not its
 * neighbours, which are rarely wanted next. */
static void advise_random(const void *p, uint64_t len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1);
    (void)madvise((void *)lo, (uintptr_t)p + len - lo, MADV_RANDOM);
}

/* Maps the file. With checksums on, every page up to the float32 section is
 * read anyway, and populating it up front is much cheaper than faulting it
 * in page by page; the float32 section, read only to re-rank, is checked
 * through pread instead, so that its pages count in the page cache but not
 * in the process until a search reads them. */
static vw_status map_file(const loader *ld, void **out) {
    bool float32 = ld->float32;
    int populate = 0;
#ifdef MAP_POPULATE
    populate = ld->verify && !float32 ? MAP_POPULATE : 0;
#endif
    void *map = mmap(NULL, (size_t)ld->size, PROT_READ, MAP_SHARED | populate, ld->fd, 0);
    if (map == MAP_FAILED)
        return vw_fail_errno(errno == ENOMEM ? VW_ERR_NOMEM : VW_ERR_IO, "mmap", ld->path);
#ifdef MADV_POPULATE_READ
    if (ld->verify && float32)
        (void)madvise(map, (size_t)ld->sec[SEC_FLOAT32].offset, MADV_POPULATE_READ);
#endif
    *out = map;
    return VW_OK;
}

/* The per-slot removal arrays (dead bits, states), which the mapping lacks. */
static vw_status alloc_removal_arrays(vw_index *ix, uint64_t count) {
    ix->dead = calloc((count + 63) / 64 + 1, sizeof *ix->dead);
    ix->state = calloc(count + 1, 1);
    if (!ix->dead || !ix->state)
        return vw_fail(VW_ERR_NOMEM, "node states of %llu nodes", (unsigned long long)count);
    return VW_OK;
}

/* Packed lists of a mapped file, used where they lie, with a word offset
 * per node (4 bytes, against 4 * (1 + 2M) for an unpacked row). */
static vw_status map_packed(const loader *ld, const unsigned char *base, vw_index *ix) {
    vw_status st = verify_mapped(ld, base, SEC_LINKS0);
    if (st != VW_OK)
        return st;
    ix->links0_at = malloc(ld->count > 0 ? (size_t)ld->count * sizeof *ix->links0_at : 1);
    if (!ix->links0_at)
        return vw_fail(VW_ERR_NOMEM, "list offsets of %llu nodes", (unsigned long long)ld->count);
    return vw_load_index_packed(ld, mapped_at(base, ld->sec[SEC_LINKS0].offset), ix->links0_at);
}

/* Packed lists too long for 32-bit word offsets (over 16 GiB of them), or
 * too near the end of a tiny file, are unpacked into memory of the index's
 * own instead, and their pages
 * leave the process (a populated mapping holds them) so that they do not
 * count twice. */
static vw_status unpack_mapped(const loader *ld, const unsigned char *base, vw_index *ix) {
    size_t bytes = (size_t)ld->count * (1 + 2 * (size_t)ld->params.M) * sizeof(uint32_t);
    if (!vw_big_realloc((void **)&ix->links0, &ix->links0_len, bytes))
        return vw_fail(VW_ERR_NOMEM, "layer-0 lists of %llu nodes", (unsigned long long)ld->count);
    vw_status st = vw_load_links0(ld, ix->links0, ix->levels);
    const section *s = &ld->sec[SEC_LINKS0];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)(base + s->offset) + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(base + s->offset + s->length) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    return st;
}

/* The layer-0 lists of a mapped file, checked: packed ones in place when a
 * count changed under the mapping cannot make a search read past the
 * file's end (it reads at most 2M ids), else unpacked into memory; fixed
 * rows in place. *links0 gets where they are. */
static vw_status map_links0(const loader *ld, const unsigned char *base, vw_index *ix,
                            uint32_t **links0) {
    const section *s = &ld->sec[SEC_LINKS0];
    *links0 = mapped_at(base, s->offset);
    if (ld->packed && s->length / 4 <= UINT32_MAX &&
        s->offset + s->length + 4 * (1 + 2 * (uint64_t)ld->params.M) <= ld->size)
        return map_packed(ld, base, ix);
    if (ld->packed) {
        *links0 = NULL; /* until unpack_mapped has made them */
        vw_status st = unpack_mapped(ld, base, ix);
        *links0 = ix->links0;
        return st;
    }
    vw_status st = verify_mapped(ld, base, SEC_LINKS0);
    if (st == VW_OK)
        st = vw_load_check_links0(ld, *links0, ix->levels);
    if (st == VW_OK)
        st = vw_load_check_free_links0(ld, *links0);
    return st;
}

/* The index's arrays point into the checked mapping; the rows searches read
 * at random are advised so (the vectors only when not read through for
 * their checksums). */
static void use_mapping(const loader *ld, const unsigned char *base, vw_index *ix,
                        uint32_t *links0) {
    const section *s = ld->sec;
    ix->codes = mapped_at(base, s[SEC_VECTORS].offset);
    if (!ld->verify)
        advise_random(ix->codes, s[SEC_VECTORS].length);
    if (ld->float32) {
        ix->exact = mapped_at(base, s[SEC_FLOAT32].offset);
        advise_random(ix->exact, s[SEC_FLOAT32].length);
    }
    if (ld->resid) {
        ix->resid = mapped_at(base, s[SEC_RESID].offset);
        advise_random(ix->resid, s[SEC_RESID].length);
    }
    ix->links0 = links0;
    ix->pack_links = ld->packed;
    ix->labels = mapped_at(base, s[SEC_LABELS].offset);
    ix->count = ld->count;
    ix->capacity = ld->count;
}

/* Each node's upper lists, where they lie in the mapped section. */
static vw_status point_upper(vw_index *ix, uint32_t *upper, uint64_t count) {
    if (count == 0)
        return VW_OK;
    ix->upper = calloc(count, sizeof *ix->upper);
    if (!ix->upper)
        return vw_fail(VW_ERR_NOMEM, "upper link pointers");
    for (uint64_t i = 0; i < count; i++)
        if (ix->levels[i] > 0) {
            ix->upper[i] = upper;
            upper += (size_t)ix->levels[i] * (1 + ix->M);
        }
    return VW_OK;
}

static vw_status load_mapped(loader *ld, vw_index *ix) {
    vw_status st = vw_load_states(ld);
    void *map = NULL;
    if (st == VW_OK)
        st = map_file(ld, &map);
    if (st != VW_OK)
        return st;
    ix->map_base = map;
    ix->map_len = (size_t)ld->size;
    ix->readonly = true; /* the index never writes through the mapping: inserts are refused */
    const unsigned char *base = map;
    const section *s = ld->sec;
    uint32_t *upper = mapped_at(base, s[SEC_UPPER].offset), *links0 = NULL;
    if ((st = verify_rows(ld, SEC_VECTORS, mapped_at(base, s[SEC_VECTORS].offset))) != VW_OK ||
        (st = copy_levels(ld, base, ix)) != VW_OK ||
        (st = map_links0(ld, base, ix, &links0)) != VW_OK ||
        (st = verify_mapped(ld, base, SEC_UPPER)) != VW_OK ||
        (st = vw_load_check_upper(ld, upper, ix->levels)) != VW_OK ||
        (st = verify_mapped(ld, base, SEC_LABELS)) != VW_OK ||
        (ld->float32 && (st = verify_rows(ld, SEC_FLOAT32, NULL)) != VW_OK) ||
        (ld->resid && (st = verify_mapped(ld, base, SEC_RESID)) != VW_OK))
        return st;
    use_mapping(ld, base, ix, links0);
    if ((st = point_upper(ix, upper, ld->count)) != VW_OK ||
        (st = alloc_removal_arrays(ix, ld->count)) != VW_OK)
        return st;
    return vw_load_label_map(ix, ld);
}

/* ------------------------------------------------------------------ vw_index_load */

static vw_status open_index_file(loader *ld) {
    vw_status st = vw_open_regular(ld->path, ld->path, &ld->fd, &ld->size);
    if (st != VW_OK)
        return st;
    if (ld->size > SIZE_MAX)
        return vw_fail(VW_ERR_UNSUPPORTED, "file too large for this machine's address space");
    return VW_OK;
}

/* The attributes section: read (never mapped: the records are parsed into
 * the store) and checked once the index is whole, since each record names
 * a live label. */
static vw_status load_attrs(const loader *ld, vw_index *ix) {
    const section *s = &ld->sec[SEC_ATTRS];
    unsigned char *buf = malloc(s->length);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "attributes section of %llu bytes",
                       (unsigned long long)s->length);
    vw_status st = vw_load_section(ld, s, buf, section_name[SEC_ATTRS]);
    if (st == VW_OK)
        st = vw_attrs_deserialize(ix, buf, s->length, s->offset);
    free(buf);
    return st;
}

vw_status vw_index_load(const char *path, unsigned flags, vw_index **out) {
    vw_clear_detail();
    if (!path || !out)
        return vw_fail(VW_ERR_NULL_ARG, "path or out is NULL");
    *out = NULL;
    if (flags & ~(unsigned)(VW_LOAD_MMAP | VW_LOAD_NO_VERIFY))
        return vw_fail(VW_ERR_INVALID_ARG, "unknown load flags 0x%x", flags);
    loader ld = {.path = path, .fd = -1, .verify = !(flags & VW_LOAD_NO_VERIFY)};
    vw_index *ix = NULL;
    vw_status st = open_index_file(&ld);
    if (st == VW_OK)
        st = vw_load_header(&ld);
    if (st == VW_OK)
        st = vw_load_section_table(&ld);
    if (st == VW_OK)
        st = vw_load_storage(&ld);
    if (st == VW_OK)
        st = alloc_index(&ld, &ix); /* checks the parameters the section sizes depend on */
    if (st == VW_OK)
        st = vw_load_section_lengths(&ld);
    if (st == VW_OK)
        st = (flags & VW_LOAD_MMAP) ? load_mapped(&ld, ix) : load_into_memory(&ld, ix);
    if (st == VW_OK)
        st = finish_index(ix, &ld);
    if (st == VW_OK && ld.attrs && (st = load_attrs(&ld, ix)) == VW_OK)
        vw_index_publish(ix); /* stats count the attribute store too */
    if (st == VW_OK && ld.has_store_tag) {
        ix->has_store_tag = true;
        memcpy(ix->store_tag, ld.store_tag, sizeof ix->store_tag);
    }
    if (ld.fd >= 0)
        close(ld.fd); /* a mapping outlives its descriptor */
    free(ld.header);
    free(ld.node_states);
    free(ld.i8.offset); /* when the index never took it */
    if (st != VW_OK) {
        vw_index_free(ix);
        return st;
    }
    vw_index_handed_over(ix);
    *out = ix;
    return VW_OK;
}
