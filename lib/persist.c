/*
 * persist.c - the index file: atomic save, load (read or mmap), validation.
 *
 * FORMAT.md specifies the file byte by byte. In short: a header (magic,
 * byte-order marker, version, parameters, counts, a table giving offset,
 * length and CRC32C of every section, and a CRC32C of the header itself),
 * then the sections, each on a 64-byte boundary with zero padding between:
 * vectors (the rows searches walk, in the index's storage kind), levels,
 * layer-0 lists, upper-layer lists, labels, the storage description (kind,
 * flags, i8 codec) and, for a compact index that keeps them, the float32
 * rows, and for an index with removed elements or free slots, the node
 * states (version 3). Version 1 files (float32 only, no storage section)
 * and version 2 files (no node states) still load, and an index without
 * removals is still written as version 2. The
 * sections hold the in-memory arrays unchanged (layer-0 lists keep their
 * fixed slot of 1 + 2M words), so an mmap-loaded index uses them in place
 * and only the per-node pointers to upper-layer lists and the label map are
 * built.
 *
 * Loading trusts nothing. Every header field is checked against the file
 * size and the format's limits before use, and the graph is validated in
 * both load modes: neighbour ids < count, a neighbour on layer l has a
 * level >= l, unused list slots are zero, the entry point sits on the top
 * layer, labels of live nodes are unique, free slots are unlinked. After that, search cannot read
 * outside the arrays whatever the file held. The CRCs catch the rest (a flipped bit in a vector)
 * unless the caller asks for VW_LOAD_NO_VERIFY.
 *
 * Saving writes only deterministic bytes (unused slots and padding zero, no
 * timestamps), so saving a loaded index reproduces the file byte for byte.
 */
#include "attrs.h"
#include "bytes.h"
#include "crc32c.h"
#include "fileio.h"
#include "foreign.h"
#include "vw_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ format constants */

static const unsigned char file_magic[8] = {0x89, 'V', 'W', 'H', 'N', 'S', 'W', '\n'};

#define FORMAT_VERSION   5u /* the newest this library reads and writes */
#define VERSION_STORAGE  2u /* the first with the storage section */
#define VERSION_STATES   3u /* the first with node states */
#define VERSION_PACKED   4u /* the first with packed layer-0 lists and residuals */
#define VERSION_ATTRS    5u /* the first with the attributes section */
#define BYTE_ORDER_MARK  0x0A0B0C0Du
#define SECTION_ALIGN    64u
#define FIXED_HEADER     80u    /* bytes before the section table */
#define SECTION_ENTRY    32u    /* bytes per section table entry */
#define HEADER_MAX       65536u /* a reader's bound on header_size */
#define SECTION_OPTIONAL 1u     /* entry flag: readers that do not know the id skip it */
#define SECTION_STORE    64u    /* optional: a durable store's binding (store.c) */
#define SECTION_PACKED   2u     /* links0 entry flag (version 4): lists packed */

/* Byte offsets of the header fields (see FORMAT.md). */
enum {
    H_MAGIC = 0,
    H_BYTE_ORDER = 8,
    H_VERSION = 12,
    H_HEADER_SIZE = 16,
    H_HEADER_CRC = 20,
    H_FILE_SIZE = 24,
    H_DIM = 32,
    H_METRIC = 36,
    H_M = 40,
    H_EF_CONSTRUCTION = 44,
    H_SEED = 48,
    H_COUNT = 56,
    H_MAX_LEVEL = 64,
    H_ENTRY = 68,
    H_SECTION_COUNT = 72,
    H_RESERVED = 76,
    /* section table entry */
    S_ID = 0,
    S_FLAGS = 4,
    S_OFFSET = 8,
    S_LENGTH = 16,
    S_CRC = 24,
    S_RESERVED = 28
};

/* The sections we know; the id in the file is index + 1. Version 1 has
 * the first five; version 2 adds the storage section and, for a compact
 * index keeping float32 rows, the float32 section; version 3 adds the node
 * states; version 4 the residual section, which comes before the node
 * states in the file; version 5 the attributes section, after the states. */
enum {
    SEC_VECTORS,
    SEC_LEVELS,
    SEC_LINKS0,
    SEC_UPPER,
    SEC_LABELS,
    SEC_STORAGE,
    SEC_FLOAT32,
    SEC_STATES,
    SEC_RESID,
    SEC_ATTRS,
    SEC_KNOWN,
    SEC_V1 = SEC_STORAGE /* sections of a version-1 file */
};

static const char *const section_name[SEC_KNOWN] = {
    "vectors", "levels",  "links0",      "upper links", "labels",
    "storage", "float32", "node states", "residual",    "attributes"};

/* Node states (section 8); the values vw_node_state gives. */
enum { STATE_LIVE = 0, STATE_REMOVED = 1, STATE_FREE = 2 };

/* The storage section: fixed fields, then dim f32 offsets for i8. */
#define STORAGE_FIXED 32u
enum {
    ST_KIND = 0,
    ST_FLAGS = 4,
    ST_TRAINED = 8,
    ST_RESERVED1 = 12,
    ST_STEP = 16,
    ST_RESERVED2 = 20,
    ST_RESERVED3 = 24
};

typedef struct section {
    uint32_t id;
    uint32_t flags;
    uint64_t offset;
    uint64_t length;
    uint32_t crc;
} section;

/* ------------------------------------------------------------------ small helpers */

static uint64_t align_up(uint64_t x) {
    return (x + SECTION_ALIGN - 1) & ~(uint64_t)(SECTION_ALIGN - 1);
}

static uint32_t header_size_for(uint32_t nsections) {
    return (uint32_t)align_up(FIXED_HEADER + (uint64_t)nsections * SECTION_ENTRY);
}

/* CRC of the header bytes with the header_crc field taken as zero. */
static uint32_t header_crc(const unsigned char *h, uint32_t size) {
    static const unsigned char zero[4];
    uint32_t crc = vw_crc32c(0, h, H_HEADER_CRC);
    crc = vw_crc32c(crc, zero, sizeof zero);
    return vw_crc32c(crc, h + H_HEADER_CRC + 4, size - H_HEADER_CRC - 4);
}

static bool all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Bytes a section of the index must have; false when it would not fit in
 * 64 bits. The upper-links section is checked against the levels later. */
static bool known_length(const vw_params *p, uint64_t count, int sec, uint64_t *out) {
    uint64_t per;
    switch (sec) {
    case SEC_VECTORS:
        per = vw_code_size(p->storage, p->dim);
        break;
    case SEC_FLOAT32:
        per = (uint64_t)p->dim * sizeof(float);
        break;
    case SEC_STORAGE:
        *out = STORAGE_FIXED + (p->storage == VW_STORAGE_I8 ? (uint64_t)p->dim * sizeof(float) : 0);
        return true;
    case SEC_LEVELS:
    case SEC_STATES:
        per = 1;
        break;
    case SEC_RESID:
        per = vw_i8_residual_size(p->dim);
        break;
    case SEC_LINKS0:
        per = (1 + 2 * (uint64_t)p->M) * sizeof(uint32_t);
        break;
    case SEC_UPPER:
        per = (uint64_t)VW_MAX_LEVEL * (1 + p->M) * sizeof(uint32_t); /* an upper bound */
        break;
    default: /* labels */
        per = sizeof(uint64_t);
        break;
    }
    return !__builtin_mul_overflow(count, per, out);
}

/* ================================================================== load */

typedef struct loader {
    const char *path;
    int fd;
    uint64_t size; /* actual file size */
    bool verify;
    unsigned char *header; /* header_size bytes */
    uint32_t header_size;
    uint32_t nsections;
    uint32_t version;
    uint32_t nknown;          /* known sections in this file: 5 (version 1) to 8 */
    uint8_t order[SEC_KNOWN]; /* their SEC_* values in table order */
    bool float32, states;     /* whether the file has those sections */
    bool resid;               /* ... and the residual section (version 4) */
    bool attrs;               /* ... and the attributes section (version 5) */
    bool packed;              /* links0 holds packed lists (version 4) */
    vw_params params;
    uint64_t count;
    int32_t max_level;
    uint32_t entry;
    section sec[SEC_KNOWN]; /* by SEC_* value */
    uint64_t upper_words;   /* uint32 words in the upper-links section */
    vw_codec_i8 i8;         /* the codec read from the storage section (heap offsets) */
    uint8_t *node_states;   /* version 3: a copy of the node states, else NULL (all live) */
    uint64_t nfree;         /* free slots */
    bool has_store_tag;     /* the optional store section, kept for the index */
    unsigned char store_tag[VW_STORE_TAG_BYTES];
} loader;

/* pread the whole range or fail: a short read means the file shrank under us. */
static vw_status read_at(const loader *ld, void *buf, size_t len, uint64_t off) {
    return vw_pread_full(ld->fd, buf, len, off, ld->path);
}

static vw_status check_fixed_header(loader *ld) {
    unsigned char fixed[FIXED_HEADER];
    size_t have = ld->size < FIXED_HEADER ? (size_t)ld->size : FIXED_HEADER;
    vw_status st = read_at(ld, fixed, have, 0);
    if (st != VW_OK)
        return st;
    if (memcmp(fixed, file_magic, have < sizeof file_magic ? have : sizeof file_magic) != 0) {
        const char *other = vw_index_format_name(vw_foreign_sniff(fixed, have));
        if (other)
            return vw_fail(VW_ERR_FORMAT,
                           "a %s index file, not a vwhnsw one: open it with "
                           "vw_index_import",
                           other);
        return vw_fail(VW_ERR_FORMAT, "not a vwhnsw index file (bad magic)");
    }
    if (have < FIXED_HEADER)
        return vw_fail(VW_ERR_TRUNCATED, "file is %llu bytes, shorter than a header",
                       (unsigned long long)ld->size);
    uint32_t bom = get32(fixed + H_BYTE_ORDER);
    if (bom == __builtin_bswap32(BYTE_ORDER_MARK))
        return vw_fail(VW_ERR_UNSUPPORTED, "file was written on a machine of the other byte order");
    if (bom != BYTE_ORDER_MARK)
        return vw_fail(VW_ERR_CORRUPT, "header: bad byte-order marker 0x%08x", bom);
    /* Not yet covered by a verified CRC: header_size must agree with the
     * section count, so that a damaged size reads as corrupt, not short. */
    uint32_t hs = get32(fixed + H_HEADER_SIZE), nsections = get32(fixed + H_SECTION_COUNT);
    if (nsections > (HEADER_MAX - FIXED_HEADER) / SECTION_ENTRY || hs != header_size_for(nsections))
        return vw_fail(VW_ERR_CORRUPT, "header: header size %u does not fit %u sections", hs,
                       nsections);
    if (ld->size < hs)
        return vw_fail(VW_ERR_TRUNCATED, "file is %llu bytes, shorter than its %u-byte header",
                       (unsigned long long)ld->size, hs);
    ld->header_size = hs;
    return VW_OK;
}

/* Version, sizes, parameters and counts; the section table comes next. */
static vw_status check_header_fields(loader *ld) {
    const unsigned char *h = ld->header;
    if (get32(h + H_HEADER_CRC) != header_crc(h, ld->header_size))
        return vw_fail(VW_ERR_CORRUPT, "header: checksum mismatch");
    uint32_t version = get32(h + H_VERSION);
    if (version == 0)
        return vw_fail(VW_ERR_CORRUPT, "header: format version 0");
    if (version > FORMAT_VERSION)
        return vw_fail(VW_ERR_VERSION, "file format version %u, this library reads up to %u",
                       version, FORMAT_VERSION);
    ld->version = version;
    uint64_t file_size = get64(h + H_FILE_SIZE);
    if (ld->size < file_size)
        return vw_fail(VW_ERR_TRUNCATED, "file is %llu bytes, its header says %llu",
                       (unsigned long long)ld->size, (unsigned long long)file_size);
    if (ld->size > file_size)
        return vw_fail(VW_ERR_CORRUPT, "file is %llu bytes, its header says %llu",
                       (unsigned long long)ld->size, (unsigned long long)file_size);
    uint32_t metric = get32(h + H_METRIC);
    if (metric > VW_METRIC_COSINE)
        return vw_fail(VW_ERR_CORRUPT, "header: unknown metric %u", metric);
    ld->params = (vw_params){.dim = get32(h + H_DIM),
                             .metric = (vw_metric)metric,
                             .M = get32(h + H_M),
                             .ef_construction = get32(h + H_EF_CONSTRUCTION),
                             .capacity = 0,
                             .seed = get64(h + H_SEED),
                             .storage = VW_STORAGE_F32,
                             .flags = 0};
    ld->count = get64(h + H_COUNT);
    ld->max_level = (int32_t)get32(h + H_MAX_LEVEL);
    ld->entry = get32(h + H_ENTRY);
    ld->nsections = get32(h + H_SECTION_COUNT);
    if (ld->params.dim == 0 || ld->params.dim > VW_MAX_DIM)
        return vw_fail(VW_ERR_CORRUPT, "header: parameters: dim %u outside 1..%u", ld->params.dim,
                       VW_MAX_DIM);
    if (ld->count > VW_MAX_ELEMENTS)
        return vw_fail(VW_ERR_CORRUPT, "header: count %llu above %u", (unsigned long long)ld->count,
                       VW_MAX_ELEMENTS);
    bool empty_ok = ld->max_level == -1 && ld->entry == VW_NO_NODE;
    bool full_ok =
        ld->max_level >= 0 && ld->max_level <= (int32_t)VW_MAX_LEVEL && ld->entry < ld->count;
    /* Since version 3 a graph may hold only free slots: then it is empty. */
    if (ld->count == 0 ? !empty_ok : !(full_ok || (version >= VERSION_STATES && empty_ok)))
        return vw_fail(VW_ERR_CORRUPT,
                       "header: max level %d / entry point %u invalid for %llu elements",
                       ld->max_level, ld->entry, (unsigned long long)ld->count);
    if (get32(h + H_RESERVED) != 0)
        return vw_fail(VW_ERR_CORRUPT, "header: reserved field not zero");
    uint32_t need =
        version == 1 ? SEC_V1
                     : SEC_STORAGE + 1 + (version >= VERSION_STATES) + (version >= VERSION_ATTRS);
    if (ld->nsections < need)
        return vw_fail(VW_ERR_CORRUPT, "header: %u sections, version %u has at least %u",
                       ld->nsections, version, need);
    uint32_t table_end = FIXED_HEADER + ld->nsections * SECTION_ENTRY;
    if (!all_zero(h + table_end, ld->header_size - table_end))
        return vw_fail(VW_ERR_CORRUPT, "header: padding not zero");
    return VW_OK;
}

/* Entry i of the section table, checked for place: sections follow each
 * other in table order, each at the first 64-byte boundary after the
 * previous one, and the last ends where the file ends. */
static vw_status read_section_entry(const loader *ld, uint32_t i, uint64_t prev_end, section *s) {
    const unsigned char *e = ld->header + FIXED_HEADER + (size_t)i * SECTION_ENTRY;
    *s = (section){.id = get32(e + S_ID),
                   .flags = get32(e + S_FLAGS),
                   .offset = get64(e + S_OFFSET),
                   .length = get64(e + S_LENGTH),
                   .crc = get32(e + S_CRC)};
    /* the one flag a known section may carry: packed layer-0 lists */
    uint32_t allowed = i < ld->nknown && ld->order[i] == SEC_LINKS0 && ld->version >= VERSION_PACKED
                           ? SECTION_PACKED
                           : 0;
    if (i < ld->nknown && (s->id != ld->order[i] + 1u || (s->flags & ~allowed)))
        return vw_fail(VW_ERR_CORRUPT, "section table: entry %u is not the %s section", i,
                       section_name[ld->order[i]]);
    static const uint32_t last_ids[] = {
        0, SEC_V1, SEC_FLOAT32 + 1, SEC_STATES + 1, SEC_RESID + 1, SEC_ATTRS + 1};
    uint32_t last_id = last_ids[ld->version];
    if (i >= ld->nknown && s->id <= last_id)
        return vw_fail(VW_ERR_CORRUPT, "section table: entry %u repeats id %u", i, s->id);
    if (i >= ld->nknown && !(s->flags & SECTION_OPTIONAL))
        return vw_fail(VW_ERR_VERSION, "file needs section type %u, unknown to this library",
                       s->id);
    if (get32(e + S_RESERVED) != 0)
        return vw_fail(VW_ERR_CORRUPT, "section table: entry %u reserved field not zero", i);
    uint64_t expect = i == 0 ? ld->header_size : align_up(prev_end);
    if (s->offset != expect || s->offset > ld->size || s->length > ld->size - s->offset)
        return vw_fail(VW_ERR_CORRUPT, "section table: entry %u has bad offset/length", i);
    return VW_OK;
}

/* The padding after a section, up to the next boundary (read_section_entry
 * placed `next` fewer than 64 bytes after `end`), must be zero. */
static vw_status check_padding(const loader *ld, uint64_t end, uint64_t next, const char *after) {
    unsigned char pad[SECTION_ALIGN];
    vw_status st = read_at(ld, pad, (size_t)(next - end), end);
    if (st != VW_OK)
        return st;
    if (!all_zero(pad, (size_t)(next - end)))
        return vw_fail(VW_ERR_CORRUPT, "padding after the %s section is not zero", after);
    return VW_OK;
}

static vw_status crc_mismatch(const char *name) {
    return vw_fail(VW_ERR_CORRUPT, "section %s: checksum mismatch", name);
}

#define READ_CHUNK ((size_t)1 << 20)

/* Reads a section into dst (NULL: into a scratch buffer, for optional
 * sections that are only verified), computing its CRC on the way while
 * each chunk is still in cache. */
static vw_status read_section_data(const loader *ld, const section *s, void *dst,
                                   const char *name) {
    unsigned char *scratch = NULL;
    if (!dst && s->length > 0) {
        scratch = malloc(READ_CHUNK);
        if (!scratch)
            return vw_fail(VW_ERR_NOMEM, "read buffer");
    }
    uint32_t crc = 0;
    vw_status st = VW_OK;
    for (uint64_t done = 0; done < s->length && st == VW_OK;) {
        size_t chunk = s->length - done < READ_CHUNK ? (size_t)(s->length - done) : READ_CHUNK;
        unsigned char *p = dst ? (unsigned char *)dst + done : scratch;
        st = read_at(ld, p, chunk, s->offset + done);
        if (st == VW_OK && ld->verify)
            crc = vw_crc32c(crc, p, chunk);
        done += chunk;
    }
    free(scratch);
    if (st == VW_OK && ld->verify && crc != s->crc)
        return crc_mismatch(name);
    return st;
}

/* Whether table entry `at` (if the table has it) has section id sec + 1. */
static bool lists_at(const loader *ld, uint32_t at, int sec) {
    if (at >= ld->nsections)
        return false;
    const unsigned char *e = ld->header + FIXED_HEADER + (size_t)at * SECTION_ENTRY;
    return get32(e + S_ID) == (uint32_t)sec + 1;
}

/* The known sections this file lists, in table order: 1..5 (version 1),
 * then the storage section, the float32 section if the table lists it
 * right after, (version 4) the residual section if listed next, and
 * (version 3 on) the node states. */
static void known_sections(loader *ld) {
    uint32_t n = 0;
    for (int i = 0; i < (ld->version == 1 ? SEC_V1 : SEC_STORAGE + 1); i++)
        ld->order[n++] = (uint8_t)i;
    if (ld->version > 1) {
        ld->float32 = lists_at(ld, n, SEC_FLOAT32);
        if (ld->float32)
            ld->order[n++] = SEC_FLOAT32;
    }
    if (ld->version >= VERSION_PACKED) {
        ld->resid = lists_at(ld, n, SEC_RESID);
        if (ld->resid)
            ld->order[n++] = SEC_RESID;
    }
    ld->states = ld->version >= VERSION_STATES;
    if (ld->states)
        ld->order[n++] = SEC_STATES;
    ld->attrs = ld->version >= VERSION_ATTRS;
    if (ld->attrs)
        ld->order[n++] = SEC_ATTRS;
    ld->nknown = n;
}

/* Where each section lies: in table order, on 64-byte boundaries, zero
 * padding between, the last ending at the end of the file. */
static vw_status check_section_table(loader *ld) {
    known_sections(ld);
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < ld->nsections; i++) {
        section s;
        vw_status st = read_section_entry(ld, i, prev_end, &s);
        if (st != VW_OK)
            return st;
        if (i > 0) {
            st = check_padding(ld, prev_end, s.offset,
                               i - 1 < ld->nknown ? section_name[ld->order[i - 1]] : "optional");
            if (st != VW_OK)
                return st;
        }
        if (i < ld->nknown) {
            ld->sec[ld->order[i]] = s;
        } else if (s.id == SECTION_STORE && s.length == VW_STORE_TAG_BYTES) {
            st = read_section_data(ld, &s, ld->store_tag, "store");
            if (st != VW_OK)
                return st;
            ld->has_store_tag = true;
        } else if (ld->verify) {
            /* Sections from a newer minor revision: ignored, but still checked. */
            st = read_section_data(ld, &s, NULL, "optional");
            if (st != VW_OK)
                return st;
        }
        prev_end = s.offset + s.length;
    }
    ld->packed = ld->sec[SEC_LINKS0].flags & SECTION_PACKED;
    if (prev_end != ld->size)
        return vw_fail(VW_ERR_CORRUPT, "section table: last section ends at %llu, file at %llu",
                       (unsigned long long)prev_end, (unsigned long long)ld->size);
    return VW_OK;
}

/* Every known section's length against the parameters and counts. */
static vw_status check_section_lengths(loader *ld) {
    for (uint32_t k = 0; k < ld->nknown; k++) {
        int i = ld->order[k];
        const section *s = &ld->sec[i];
        uint64_t want;
        if (!known_length(&ld->params, ld->count, i, &want))
            return vw_fail(VW_ERR_CORRUPT, "header: %s size overflows", section_name[i]);
        bool ok = i == SEC_ATTRS   ? s->length >= 8 /* its records: vw_attrs_deserialize */
                  : i == SEC_UPPER ? s->length <= want && s->length % (4 * (1 + ld->params.M)) == 0
                  : i == SEC_LINKS0 && ld->packed
                      ? s->length <= want && s->length >= 4 * ld->count && s->length % 4 == 0
                      : s->length == want;
        if (!ok)
            return vw_fail(VW_ERR_CORRUPT, "section %s: length %llu does not match the header",
                           section_name[i], (unsigned long long)s->length);
    }
    ld->upper_words = ld->sec[SEC_UPPER].length / 4;
    return VW_OK;
}

/* The fixed fields of the storage section, against each other, the element
 * count and the section table. */
static vw_status check_storage_fields(const loader *ld, const unsigned char *b, uint64_t len) {
    uint32_t kind = get32(b + ST_KIND), flags = get32(b + ST_FLAGS);
    uint32_t trained = get32(b + ST_TRAINED);
    float step;
    memcpy(&step, b + ST_STEP, sizeof step);
    bool i8 = kind == VW_STORAGE_I8;
    uint32_t known =
        VW_PARAMS_NO_FLOAT32 | (ld->version >= VERSION_PACKED ? VW_PARAMS_RESIDUAL : 0);
    bool resid = flags & VW_PARAMS_RESIDUAL;
    if (kind > VW_STORAGE_I8 || (flags & ~known) || (kind == VW_STORAGE_F32 && flags) ||
        (resid && (!i8 || !(flags & VW_PARAMS_NO_FLOAT32))) || trained > 1 || (!i8 && trained) ||
        (i8 && ld->count > 0 && !trained) || get32(b + ST_RESERVED1) || get32(b + ST_RESERVED2) ||
        get64(b + ST_RESERVED3))
        return vw_fail(VW_ERR_CORRUPT,
                       "section storage: kind %u, flags 0x%x, trained %u invalid for %llu "
                       "elements",
                       kind, flags, trained, (unsigned long long)ld->count);
    if (len != STORAGE_FIXED + (i8 ? 4ull * ld->params.dim : 0))
        return vw_fail(VW_ERR_CORRUPT, "section storage: length %llu for kind %u and dim %u",
                       (unsigned long long)len, kind, ld->params.dim);
    bool want_float32 = kind != VW_STORAGE_F32 && !(flags & VW_PARAMS_NO_FLOAT32);
    if (want_float32 != ld->float32)
        return vw_fail(VW_ERR_CORRUPT, "section table: float32 section %s",
                       want_float32 ? "missing" : "not expected");
    if (resid != ld->resid)
        return vw_fail(VW_ERR_CORRUPT, "section table: residual section %s",
                       resid ? "missing" : "not expected");
    if (!trained && (step != 0 || !all_zero(b + STORAGE_FIXED, len - STORAGE_FIXED)))
        return vw_fail(VW_ERR_CORRUPT, "section storage: untrained codec with parameters");
    return VW_OK;
}

/* The i8 codec of the storage section, copied and checked. */
static vw_status take_codec(loader *ld, const unsigned char *b) {
    uint32_t dim = ld->params.dim;
    float step;
    memcpy(&step, b + ST_STEP, sizeof step);
    float *offset = malloc((size_t)dim * sizeof *offset);
    if (!offset)
        return vw_fail(VW_ERR_NOMEM, "i8 codec");
    memcpy(offset, b + STORAGE_FIXED, (size_t)dim * sizeof *offset);
    ld->i8 = (vw_codec_i8){offset, step, true, true, NULL, false};
    vw_status st = vw_i8_check(offset, step, dim, get32(b + ST_FLAGS) & VW_PARAMS_RESIDUAL);
    if (st == VW_OK)
        return VW_OK;
    char why[160];
    snprintf(why, sizeof why, "%s", vw_last_error_detail());
    return vw_fail(VW_ERR_CORRUPT, "section storage: %s", why);
}

/* The storage section (version 2): kind, flags, and the i8 codec. Small, so
 * it is read and its CRC checked in every load mode. */
static vw_status read_storage(loader *ld) {
    if (ld->version == 1)
        return VW_OK; /* float32, as every version-1 file */
    const section *s = &ld->sec[SEC_STORAGE];
    if (s->length < STORAGE_FIXED || s->length > STORAGE_FIXED + 4ull * VW_MAX_DIM)
        return vw_fail(VW_ERR_CORRUPT, "section storage: length %llu",
                       (unsigned long long)s->length);
    unsigned char *b = malloc((size_t)s->length);
    if (!b)
        return vw_fail(VW_ERR_NOMEM, "storage section");
    loader strict = *ld;
    strict.verify = true;
    vw_status st = read_section_data(&strict, s, b, "storage");
    if (st == VW_OK)
        st = check_storage_fields(ld, b, s->length);
    if (st == VW_OK && get32(b + ST_TRAINED))
        st = take_codec(ld, b);
    if (st == VW_OK) {
        ld->params.storage = (vw_storage)get32(b + ST_KIND);
        ld->params.flags = get32(b + ST_FLAGS);
    }
    free(b);
    return st;
}

static vw_status read_header(loader *ld) {
    vw_status st = check_fixed_header(ld);
    if (st != VW_OK)
        return st;
    ld->header = malloc(ld->header_size);
    if (!ld->header)
        return vw_fail(VW_ERR_NOMEM, "index file header");
    st = read_at(ld, ld->header, ld->header_size, 0);
    if (st == VW_OK)
        st = check_header_fields(ld);
    return st;
}

/* ------------------------------------------------------------------ graph checks (both modes) */

static bool is_free(const loader *ld, uint64_t id) {
    return ld->node_states && ld->node_states[id] == STATE_FREE;
}

/* Node states: 0 live, 1 removed, 2 free; counts the free slots. */
static vw_status check_states(loader *ld) {
    ld->nfree = 0;
    for (uint64_t i = 0; i < ld->count; i++) {
        if (ld->node_states[i] > STATE_FREE)
            return vw_fail(VW_ERR_CORRUPT, "node states: node %llu has state %u",
                           (unsigned long long)i, ld->node_states[i]);
        ld->nfree += ld->node_states[i] == STATE_FREE;
    }
    return VW_OK;
}

/* The node states come first (version 3): the other checks depend on which
 * slots are free. Both modes read them into a buffer of their own, so what
 * is checked is what the index is built from. */
static vw_status read_states(loader *ld) {
    if (!ld->states)
        return VW_OK;
    if (!(ld->node_states = malloc(ld->count > 0 ? (size_t)ld->count : 1)))
        return vw_fail(VW_ERR_NOMEM, "node states");
    vw_status st =
        read_section_data(ld, &ld->sec[SEC_STATES], ld->node_states, section_name[SEC_STATES]);
    return st == VW_OK ? check_states(ld) : st;
}

/* The entry point of a graph whose nodes (slots not free) reach `top`. */
static vw_status check_entry(const loader *ld, const uint8_t *levels, uint64_t used, uint8_t top) {
    if (used == 0)
        return ld->entry == VW_NO_NODE
                   ? VW_OK
                   : vw_fail(VW_ERR_CORRUPT, "header: entry point %u but every slot is free",
                             ld->entry);
    if (ld->entry == VW_NO_NODE)
        return vw_fail(VW_ERR_CORRUPT, "header: no entry point for %llu nodes",
                       (unsigned long long)used);
    if (top != ld->max_level)
        return vw_fail(VW_ERR_CORRUPT, "levels: highest level %u, header says %d", top,
                       ld->max_level);
    if (is_free(ld, ld->entry))
        return vw_fail(VW_ERR_CORRUPT, "node states: entry point %u is a free slot", ld->entry);
    if (levels[ld->entry] != ld->max_level)
        return vw_fail(VW_ERR_CORRUPT, "levels: entry point %u is on level %u, not %d", ld->entry,
                       levels[ld->entry], ld->max_level);
    return VW_OK;
}

/* The highest level of a node (a slot not free) must be the header's max
 * level and the entry point must be on it; free slots are on level 0; the
 * levels must account for the upper-links section exactly. */
static vw_status check_levels(const loader *ld, const uint8_t *levels) {
    uint64_t sum = 0, used = 0;
    uint8_t top = 0;
    for (uint64_t i = 0; i < ld->count; i++) {
        sum += levels[i];
        if (is_free(ld, i)) {
            if (levels[i] != 0)
                return vw_fail(VW_ERR_CORRUPT, "levels: free slot %llu is on level %u",
                               (unsigned long long)i, levels[i]);
            continue;
        }
        used++;
        top = levels[i] > top ? levels[i] : top;
    }
    vw_status st = check_entry(ld, levels, used, top);
    if (st != VW_OK)
        return st;
    if (sum * (1 + ld->params.M) != ld->upper_words)
        return vw_fail(VW_ERR_CORRUPT, "upper links: section size does not match the levels");
    return VW_OK;
}

/* Version 3: a free slot has an empty list and no list names one. */
static vw_status check_free_refs(const loader *ld, const char *sec, uint64_t node, unsigned layer,
                                 const uint32_t *list) {
    if (is_free(ld, node) && list[0] != 0)
        return vw_fail(VW_ERR_CORRUPT, "%s: free slot %llu has %u neighbours", sec,
                       (unsigned long long)node, list[0]);
    for (uint32_t j = 0; j < list[0]; j++)
        if (is_free(ld, list[1 + j]))
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u neighbour %u is a free slot",
                           sec, (unsigned long long)node, layer, list[1 + j]);
    return VW_OK;
}

static vw_status check_free_links0(const loader *ld, const uint32_t *links0) {
    uint32_t row = 1 + 2 * ld->params.M;
    for (uint64_t i = 0; i < ld->count && ld->nfree > 0; i++) {
        vw_status st = check_free_refs(ld, "links0", i, 0, links0 + i * row);
        if (st != VW_OK)
            return st;
    }
    return VW_OK;
}

/* One list: count <= cap, ids < n, unused slots zero. Branch-free over
 * 32-bit words so that it vectorizes: over links0 this is most of the time
 * of an mmap load. */
static bool slots_ok(const uint32_t *list, uint32_t cap, uint32_t n) {
    uint32_t c = list[0];
    uint32_t bad = c > cap;
    for (uint32_t j = 0; j < cap; j++) {
        uint32_t limit = j < c ? n : 1; /* unused slots: only 0 passes */
        bad |= list[1 + j] >= limit;
    }
    return !bad;
}

/* An upper-layer list also needs every neighbour to reach its layer. */
static bool upper_ok(const uint32_t *list, uint32_t cap, uint32_t n, const uint8_t *levels,
                     unsigned layer) {
    if (!slots_ok(list, cap, n))
        return false;
    for (uint32_t j = 0; j < list[0]; j++)
        if (levels[list[1 + j]] < layer)
            return false;
    return true;
}

/* Says precisely what is wrong with a list that failed slots_ok/upper_ok. */
static vw_status list_error(const char *sec, uint64_t node, unsigned layer, const uint32_t *list,
                            uint32_t cap, uint64_t n, const uint8_t *levels) {
    uint32_t c = list[0];
    if (c > cap)
        return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u has %u neighbours, max %u", sec,
                       (unsigned long long)node, layer, c, cap);
    for (uint32_t j = 0; j < cap; j++) {
        uint32_t id = list[1 + j];
        if (j >= c && id != 0)
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u unused slot %u not zero", sec,
                           (unsigned long long)node, layer, j);
        if (j < c && id >= n)
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u neighbour id %u >= count %llu",
                           sec, (unsigned long long)node, layer, id, (unsigned long long)n);
        if (j < c && levels[id] < layer)
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u neighbour %u is on level %u",
                           sec, (unsigned long long)node, layer, id, levels[id]);
    }
    return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u invalid", sec, (unsigned long long)node,
                   layer);
}

/* links0 is most of an mmap load's work (260 MB at 1M x M=32), so it is
 * checked on all CPUs in chunks taken from a counter. Each worker stops at
 * its first bad list; the smallest bad node is reported, as a serial scan
 * would. */
#define LINKS0_CHUNK 16384u

typedef struct links0_scan {
    const uint32_t *links0;
    uint64_t count;
    uint32_t cap;
    atomic_uint_fast64_t next_chunk;
    atomic_uint_fast64_t first_bad; /* count when none */
} links0_scan;

static void links0_worker(void *p, unsigned worker) {
    links0_scan *sc = p;
    (void)worker;
    for (;;) {
        uint64_t from = atomic_fetch_add(&sc->next_chunk, 1) * LINKS0_CHUNK;
        if (from >= sc->count || from > atomic_load(&sc->first_bad))
            return;
        uint64_t to = from + LINKS0_CHUNK < sc->count ? from + LINKS0_CHUNK : sc->count;
        for (uint64_t i = from; i < to; i++)
            if (!slots_ok(sc->links0 + i * (1 + sc->cap), sc->cap, (uint32_t)sc->count)) {
                uint_fast64_t seen = atomic_load(&sc->first_bad);
                while (i < seen && !atomic_compare_exchange_weak(&sc->first_bad, &seen, i))
                    ;
                return;
            }
    }
}

static vw_status check_links0(const loader *ld, const uint32_t *links0, const uint8_t *levels) {
    links0_scan sc = {.links0 = links0, .count = ld->count, .cap = 2 * ld->params.M};
    atomic_init(&sc.next_chunk, 0);
    atomic_init(&sc.first_bad, ld->count);
    unsigned threads = ld->count >= 8 * LINKS0_CHUNK ? vw_default_threads() : 1;
    if (threads > 8)
        threads = 8;
    vw_status st = vw_parallel(threads, links0_worker, &sc);
    if (st != VW_OK)
        return st;
    uint64_t bad = atomic_load(&sc.first_bad);
    if (bad == ld->count)
        return VW_OK;
    return list_error("links0", bad, 0, links0 + bad * (1 + sc.cap), sc.cap, ld->count, levels);
}

/* Version 4 packed layer-0 lists: `count, ids...` back to back, each as
 * long as its count. One parser serves both load modes: read mode feeds it
 * the section in chunks and has it unpack each list into the fixed rows of
 * links0 (unused slots zeroed); mmap mode feeds it the mapped section and
 * has it note where each list starts (at[id], in words). It checks the
 * counts and that the lists fill the section exactly; the ids are checked
 * afterwards, as those of a fixed section are. */
typedef struct unpacker {
    uint32_t *links0; /* fixed rows to fill, or NULL */
    uint32_t *at;     /* where each list starts, or NULL */
    uint32_t cap;     /* 2M */
    uint64_t count;   /* nodes */
    uint64_t node;    /* the list being read */
    uint64_t word;    /* words read so far */
    uint32_t pos;     /* the list's next word: 0 is the count */
    uint32_t left;    /* ids still to come */
    vw_status error;  /* the first malformed list */
} unpacker;

static void unpack_words(unpacker *u, const uint32_t *w, size_t n) {
    for (size_t i = 0; i < n && u->error == VW_OK; i++, u->word++) {
        if (u->node >= u->count) {
            u->error = vw_fail(VW_ERR_CORRUPT, "links0: packed lists run past %llu nodes",
                               (unsigned long long)u->count);
            return;
        }
        uint32_t *list = u->links0 ? u->links0 + u->node * (1 + (size_t)u->cap) : NULL;
        if (u->pos == 0) {
            if (w[i] > u->cap) {
                u->error =
                    vw_fail(VW_ERR_CORRUPT, "links0: node %llu layer 0 has %u neighbours, max %u",
                            (unsigned long long)u->node, w[i], u->cap);
                return;
            }
            if (u->at)
                u->at[u->node] = (uint32_t)u->word; /* the caller keeps words below 2^32 */
            if (list) {
                list[0] = w[i];
                memset(list + 1 + w[i], 0, (size_t)(u->cap - w[i]) * sizeof *list);
            }
            u->left = w[i];
            u->pos = 1;
        } else {
            if (list)
                list[u->pos] = w[i];
            u->pos++;
            u->left--;
        }
        if (u->left == 0) {
            u->node++;
            u->pos = 0;
        }
    }
}

/* After the last word: the first malformed list, or a section that ended
 * before the last list did. */
static vw_status unpack_end(const unpacker *u) {
    if (u->error != VW_OK)
        return u->error; /* its detail is the latest recorded */
    if (u->node < u->count)
        return vw_fail(VW_ERR_CORRUPT, "links0: packed lists end inside node %llu of %llu",
                       (unsigned long long)u->node, (unsigned long long)u->count);
    return VW_OK;
}

/* Read mode: the section in chunks, each checksummed while in cache; a
 * checksum mismatch is reported before a malformed list, as in the fixed
 * layout. */
static vw_status unpack_links0(const loader *ld, uint32_t *links0) {
    const section *s = &ld->sec[SEC_LINKS0];
    uint32_t *buf = malloc(READ_CHUNK);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "read buffer");
    unpacker u = {.links0 = links0, .cap = 2 * ld->params.M, .count = ld->count};
    uint32_t crc = 0;
    vw_status st = VW_OK;
    for (uint64_t done = 0; done < s->length && st == VW_OK;) {
        size_t chunk = s->length - done < READ_CHUNK ? (size_t)(s->length - done) : READ_CHUNK;
        st = read_at(ld, buf, chunk, s->offset + done);
        if (st == VW_OK && ld->verify)
            crc = vw_crc32c(crc, buf, chunk);
        if (st == VW_OK)
            unpack_words(&u, buf, chunk / sizeof *buf);
        done += chunk;
    }
    free(buf);
    if (st != VW_OK)
        return st;
    if (ld->verify && crc != s->crc)
        return crc_mismatch(section_name[SEC_LINKS0]);
    return unpack_end(&u);
}

/* The layer-0 lists into links0 (fixed rows), from either layout, checked. */
static vw_status read_links0(const loader *ld, uint32_t *links0, const uint8_t *levels) {
    vw_status st = ld->packed ? unpack_links0(ld, links0)
                              : read_section_data(ld, &ld->sec[SEC_LINKS0], links0, "links0");
    if (st == VW_OK)
        st = check_links0(ld, links0, levels);
    return st == VW_OK ? check_free_links0(ld, links0) : st;
}

/* Rows first..first+n-1 (v points at row `first`) must be what an insert
 * would have accepted, so that no distance can be NaN or overflow. */
static vw_status check_vectors(const loader *ld, const float *v, const char *sec, uint64_t first,
                               uint64_t n) {
    uint32_t dim = ld->params.dim;
    for (uint64_t i = 0; i < n; i++)
        if (vw_check_vector(v + i * dim, dim, NULL) != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(VW_ERR_CORRUPT, "%s: row %llu: %s", sec, (unsigned long long)(first + i),
                           why);
        }
    return VW_OK;
}

/* The same for the rows searches walk: float32 rows are checked as above,
 * binary16 ones for infinities and NaNs (every finite half is in range),
 * i8 codes need nothing (every byte decodes within the checked codec). */
static vw_status check_codes(const loader *ld, const unsigned char *codes, uint64_t first,
                             uint64_t n) {
    if (ld->params.storage == VW_STORAGE_F32)
        return check_vectors(ld, (const float *)(const void *)codes, "vectors", first, n);
    if (ld->params.storage == VW_STORAGE_I8)
        return VW_OK;
    uint32_t dim = ld->params.dim;
    const uint16_t *h = (const uint16_t *)(const void *)codes;
    for (uint64_t i = 0; i < n * dim; i++)
        if ((h[i] & 0x7c00u) == 0x7c00u)
            return vw_fail(VW_ERR_CORRUPT, "vectors: row %llu component %llu is not finite",
                           (unsigned long long)(first + i / dim), (unsigned long long)(i % dim));
    return VW_OK;
}

/* Checks rows first..first+n-1 of a row section (vectors or float32). */
static vw_status check_rows(const loader *ld, int sec, const unsigned char *rows, uint64_t first,
                            uint64_t n) {
    if (sec == SEC_FLOAT32)
        return check_vectors(ld, (const float *)(const void *)rows, "float32", first, n);
    return check_codes(ld, rows, first, n);
}

/* The upper-links section: for each node in id order, levels[id] lists of
 * 1 + M words (layer 1 first). */
static vw_status check_upper(const loader *ld, const uint32_t *upper, const uint8_t *levels) {
    uint32_t cap = ld->params.M;
    for (uint64_t i = 0; i < ld->count; i++)
        for (unsigned layer = 1; layer <= levels[i]; layer++) {
            if (!upper_ok(upper, cap, (uint32_t)ld->count, levels, layer))
                return list_error("upper links", i, layer, upper, cap, ld->count, levels);
            vw_status st = ld->nfree ? check_free_refs(ld, "upper links", i, layer, upper) : VW_OK;
            if (st != VW_OK)
                return st;
            upper += 1 + cap;
        }
    return VW_OK;
}

/* Labels of free slots are zero; those of live nodes are distinct (removed
 * nodes keep theirs, which a live node may hold again). */
static vw_status build_label_map(vw_index *ix, const loader *ld) {
    for (uint64_t i = 0; i < ld->count && ld->nfree > 0; i++)
        if (is_free(ld, i) && ix->labels[i] != 0)
            return vw_fail(VW_ERR_CORRUPT, "labels: free slot %llu has label %llu",
                           (unsigned long long)i, (unsigned long long)ix->labels[i]);
    return vw_labelmap_build(&ix->map, ix->labels, ld->node_states, ld->count);
}

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
        st = read_states(ld);
    if (st != VW_OK)
        return st;
    if (ld->count > 0)
        memset(ix->upper, 0, ld->count * sizeof *ix->upper);
    ix->count = ld->count; /* from here vw_index_free releases what split_upper made */
    const section *s = ld->sec;
    if ((st = read_section_data(ld, &s[SEC_VECTORS], ix->codes, "vectors")) != VW_OK ||
        (st = check_codes(ld, ix->codes, 0, ld->count)) != VW_OK ||
        (st = read_section_data(ld, &s[SEC_LEVELS], ix->levels, "levels")) != VW_OK ||
        (st = check_levels(ld, ix->levels)) != VW_OK ||
        (st = read_links0(ld, ix->links0, ix->levels)) != VW_OK)
        return st;
    uint32_t *upper = NULL;
    if (s[SEC_UPPER].length > 0 && !(upper = malloc(s[SEC_UPPER].length)))
        return vw_fail(VW_ERR_NOMEM, "upper links buffer");
    if ((st = read_section_data(ld, &s[SEC_UPPER], upper, "upper links")) == VW_OK &&
        (st = check_upper(ld, upper, ix->levels)) == VW_OK)
        st = split_upper(ix, upper);
    free(upper);
    if (st != VW_OK)
        return st;
    if ((st = read_section_data(ld, &s[SEC_LABELS], ix->labels, "labels")) != VW_OK)
        return st;
    if (ld->float32 &&
        ((st = read_section_data(ld, &s[SEC_FLOAT32], ix->exact, "float32")) != VW_OK ||
         (st = check_vectors(ld, ix->exact, "float32", 0, ld->count)) != VW_OK))
        return st;
    /* every nibble decodes to a value the codec check allowed for */
    if (ld->resid && (st = read_section_data(ld, &s[SEC_RESID], ix->resid, "residual")) != VW_OK)
        return st;
    ix->pack_links = ld->packed;
    return build_label_map(ix, ld);
}

/* ------------------------------------------------------------------ mmap mode */

static vw_status verify_mapped(const loader *ld, const unsigned char *base, int sec) {
    const section *s = &ld->sec[sec];
    if (ld->verify && vw_crc32c(0, base + s->offset, s->length) != s->crc)
        return crc_mismatch(section_name[sec]);
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
        if (!mapped && (st = read_at(ld, buf, (size_t)n * row, s->offset + first * row)) != VW_OK)
            break;
        crc = vw_crc32c(crc, p, (size_t)n * row);
        if (rows_st == VW_OK)
            rows_st = check_rows(ld, sec, p, first, n);
    }
    free(buf);
    if (st != VW_OK)
        return st;
    if (crc != s->crc)
        return crc_mismatch(section_name[sec]);
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
        return crc_mismatch(section_name[SEC_LEVELS]);
    return check_levels(ld, ix->levels);
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

/* Mapped packed lists are searched in place: the parser notes where each
 * list starts, then each is checked as check_links0 and check_free_links0
 * check fixed rows (ids < n, free slots empty and never named). */
static vw_status index_packed(const loader *ld, const uint32_t *words, uint32_t *at) {
    unpacker u = {.at = at, .cap = 2 * ld->params.M, .count = ld->count};
    unpack_words(&u, words, ld->sec[SEC_LINKS0].length / sizeof *words);
    vw_status st = unpack_end(&u);
    for (uint64_t i = 0; i < ld->count && st == VW_OK; i++) {
        const uint32_t *list = words + at[i];
        for (uint32_t j = 0; j < list[0]; j++)
            if (list[1 + j] >= ld->count)
                return vw_fail(VW_ERR_CORRUPT,
                               "links0: node %llu layer 0 neighbour id %u >= count %llu",
                               (unsigned long long)i, list[1 + j], (unsigned long long)ld->count);
        st = check_free_refs(ld, "links0", i, 0, list);
    }
    return st;
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
    return index_packed(ld, mapped_at(base, ld->sec[SEC_LINKS0].offset), ix->links0_at);
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
    vw_status st = read_links0(ld, ix->links0, ix->levels);
    const section *s = &ld->sec[SEC_LINKS0];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)(base + s->offset) + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(base + s->offset + s->length) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    return st;
}

static vw_status load_mapped(loader *ld, vw_index *ix) {
    vw_status st = read_states(ld);
    if (st != VW_OK)
        return st;
    void *map = NULL;
    st = map_file(ld, &map);
    if (st != VW_OK)
        return st;
    ix->map_base = map;
    ix->map_len = (size_t)ld->size;
    ix->readonly = true;
    const unsigned char *base = map;
    const section *s = ld->sec;
    /* The index never writes through these pointers: inserts are refused. */
    unsigned char *codes = mapped_at(base, s[SEC_VECTORS].offset);
    uint32_t *links0 = mapped_at(base, s[SEC_LINKS0].offset);
    uint32_t *upper = mapped_at(base, s[SEC_UPPER].offset);
    bool float32 = ld->float32;
    if ((st = verify_rows(ld, SEC_VECTORS, codes)) != VW_OK ||
        (st = copy_levels(ld, base, ix)) != VW_OK)
        return st;
    const uint8_t *levels = ix->levels;
    /* In place only when a count changed under the mapping cannot make a
     * search read past the file's end (it reads at most 2M ids). */
    uint64_t links0_end = s[SEC_LINKS0].offset + s[SEC_LINKS0].length;
    if (ld->packed && s[SEC_LINKS0].length / 4 <= UINT32_MAX &&
        links0_end + 4 * (1 + 2 * (uint64_t)ld->params.M) <= ld->size) {
        st = map_packed(ld, base, ix);
    } else if (ld->packed) {
        st = unpack_mapped(ld, base, ix);
        links0 = ix->links0;
    } else {
        st = verify_mapped(ld, base, SEC_LINKS0);
        if (st == VW_OK)
            st = check_links0(ld, links0, levels);
        if (st == VW_OK)
            st = check_free_links0(ld, links0);
    }
    if (st != VW_OK || (st = verify_mapped(ld, base, SEC_UPPER)) != VW_OK ||
        (st = check_upper(ld, upper, levels)) != VW_OK ||
        (st = verify_mapped(ld, base, SEC_LABELS)) != VW_OK ||
        (float32 && (st = verify_rows(ld, SEC_FLOAT32, NULL)) != VW_OK) ||
        (ld->resid && (st = verify_mapped(ld, base, SEC_RESID)) != VW_OK))
        return st;
    ix->codes = codes;
    if (!ld->verify)
        advise_random(ix->codes, s[SEC_VECTORS].length);
    if (float32) {
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
    if (ld->count > 0) {
        ix->upper = calloc(ld->count, sizeof *ix->upper);
        if (!ix->upper)
            return vw_fail(VW_ERR_NOMEM, "upper link pointers");
        uint32_t *next = upper;
        for (uint64_t i = 0; i < ld->count; i++)
            if (levels[i] > 0) {
                ix->upper[i] = next;
                next += (size_t)levels[i] * (1 + ix->M);
            }
    }
    ix->count = ld->count;
    ix->capacity = ld->count;
    st = alloc_removal_arrays(ix, ld->count);
    return st == VW_OK ? build_label_map(ix, ld) : st;
}

/* ------------------------------------------------------------------ attributes */

/* Read (never mapped: the records are parsed into the store) and checked
 * once the index is whole, since each record names a live label. */
static vw_status load_attrs(const loader *ld, vw_index *ix) {
    const section *s = &ld->sec[SEC_ATTRS];
    unsigned char *buf = malloc(s->length);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "attributes section of %llu bytes",
                       (unsigned long long)s->length);
    vw_status st = read_section_data(ld, s, buf, section_name[SEC_ATTRS]);
    if (st == VW_OK)
        st = vw_attrs_deserialize(ix, buf, s->length, s->offset);
    free(buf);
    return st;
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
        st = read_header(&ld);
    if (st == VW_OK)
        st = check_section_table(&ld);
    if (st == VW_OK)
        st = read_storage(&ld);
    if (st == VW_OK)
        st = alloc_index(&ld, &ix); /* checks the parameters the section sizes depend on */
    if (st == VW_OK)
        st = check_section_lengths(&ld);
    if (st == VW_OK)
        st = (flags & VW_LOAD_MMAP) ? load_mapped(&ld, ix) : load_into_memory(&ld, ix);
    if (st == VW_OK)
        st = finish_index(ix, &ld);
    if (st == VW_OK && ld.attrs)
        st = load_attrs(&ld, ix);
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
 * load what they can: version 4 for packed lists or residuals, else 3 for
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
