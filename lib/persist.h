/*
 * persist.h - the index file, shared by its loader (persist_header.c,
 * persist_check.c, persist_load.c) and its writer (persist.c).
 *
 * FORMAT.md specifies the file byte by byte. In short: a header (magic,
 * byte-order marker, version, parameters, counts, a table giving offset,
 * length and CRC32C of every section, and a CRC32C of the header itself),
 * then the sections, each on a 64-byte boundary with zero padding between:
 * vectors (the rows searches walk, in the index's storage kind), levels,
 * layer-0 lists, upper-layer lists, labels, then the newer ones. Versions:
 *
 *   1  float32 only: the five sections above.
 *   2  the storage section (kind, flags, i8 codec) and, for a compact index
 *      that keeps them, the float32 rows.
 *   3  the node states (live, removed, free), for an index with removed
 *      elements or free slots.
 *   4  packed layer-0 lists (each as long as its count; VW_SAVE_PACK_LINKS)
 *      and the 4-bit residual section (VW_PARAMS_RESIDUAL); always with
 *      node states.
 *
 * Every version still loads, and the writer writes the oldest version that
 * can hold the index (2 for an index without removals, packed lists or
 * residuals), so older readers keep reading what they can. Optional
 * sections (table flag bit 0) are skipped by readers that do not know
 * them: a durable store's binding (id 64, store.c) is one. Fixed-layout
 * sections hold the in-memory arrays unchanged (layer-0 lists keep their
 * slot of 1 + 2M words), so an mmap-loaded index uses them in place and
 * only the per-node pointers to upper-layer lists and the label map are
 * built; packed lists are used in place through a word offset per node.
 *
 * Loading trusts nothing. Every header field is checked against the file
 * size and the format's limits before use (persist_header.c), and the graph
 * and rows are validated in both load modes (persist_check.c, with the
 * rules of graph_check.c that imported graphs obey too): neighbour ids <
 * count, a neighbour on layer l has a level >= l, unused list slots are
 * zero, the entry point sits on the top layer, labels of live nodes are
 * unique, free slots are unlinked, vectors are finite. After that, search
 * cannot read outside the arrays whatever the file held. The CRCs catch the
 * rest (a flipped bit in a vector) unless the caller asks for
 * VW_LOAD_NO_VERIFY.
 *
 * Saving writes only deterministic bytes (unused slots and padding zero, no
 * timestamps), so saving a loaded index reproduces the file byte for byte.
 */
#ifndef VW_PERSIST_H
#define VW_PERSIST_H

#include "attrs.h"
#include "bytes.h"
#include "crc32c.h"
#include "vw_internal.h"

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

static inline uint64_t align_up(uint64_t x) {
    return (x + SECTION_ALIGN - 1) & ~(uint64_t)(SECTION_ALIGN - 1);
}

static inline uint32_t header_size_for(uint32_t nsections) {
    return (uint32_t)align_up(FIXED_HEADER + (uint64_t)nsections * SECTION_ENTRY);
}

/* CRC of the header bytes with the header_crc field taken as zero. */
static inline uint32_t header_crc(const unsigned char *h, uint32_t size) {
    static const unsigned char zero[4];
    uint32_t crc = vw_crc32c(0, h, H_HEADER_CRC);
    crc = vw_crc32c(crc, zero, sizeof zero);
    return vw_crc32c(crc, h + H_HEADER_CRC + 4, size - H_HEADER_CRC - 4);
}

static inline bool all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Bytes a section of the index must have; false when it would not fit in
 * 64 bits. The upper-links section is checked against the levels later. */
static inline bool known_length(const vw_params *p, uint64_t count, int sec, uint64_t *out) {
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

/* ------------------------------------------------------------------ the loader */

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

/* Reads in chunks of this size (checksummed while each is in cache). */
#define READ_CHUNK ((size_t)1 << 20)

/* persist_header.c: the header and the section table, checked */
vw_status vw_load_read_at(const loader *ld, void *buf, size_t len, uint64_t off);
vw_status vw_load_crc_mismatch(const char *name);
vw_status vw_load_section(const loader *ld, const section *s, void *dst, const char *name);
vw_status vw_load_header(loader *ld);
vw_status vw_load_section_table(loader *ld);
vw_status vw_load_storage(loader *ld);
vw_status vw_load_section_lengths(loader *ld);

/* persist_check.c: the graph and the rows, checked (both load modes) */
vw_status vw_load_states(loader *ld);
vw_status vw_load_check_levels(const loader *ld, const uint8_t *levels);
vw_status vw_load_check_links0(const loader *ld, const uint32_t *links0, const uint8_t *levels);
vw_status vw_load_check_free_links0(const loader *ld, const uint32_t *links0);
vw_status vw_load_links0(const loader *ld, uint32_t *links0, const uint8_t *levels);
vw_status vw_load_check_vectors(const loader *ld, const float *v, const char *sec, uint64_t first,
                                uint64_t n);
vw_status vw_load_check_codes(const loader *ld, const unsigned char *codes, uint64_t first,
                              uint64_t n);
vw_status vw_load_check_rows(const loader *ld, int sec, const unsigned char *rows, uint64_t first,
                             uint64_t n);
vw_status vw_load_check_upper(const loader *ld, const uint32_t *upper, const uint8_t *levels);
vw_status vw_load_label_map(vw_index *ix, const loader *ld);
vw_status vw_load_index_packed(const loader *ld, const uint32_t *words, uint32_t *at);

#endif /* VW_PERSIST_H */
