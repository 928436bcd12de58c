/* persist_header.c - the header and the section table of an index file, checked before
 * anything is allocated from them (FORMAT.md; persist.h). */
#include "fileio.h"
#include "foreign.h"
#include "persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pread the whole range or fail: a short read means the file shrank under us. */
vw_status vw_load_read_at(const loader *ld, void *buf, size_t len, uint64_t off) {
    return vw_pread_full(ld->fd, buf, len, off, ld->path);
}

static vw_status check_fixed_header(loader *ld) {
    unsigned char fixed[FIXED_HEADER];
    size_t have = ld->size < FIXED_HEADER ? (size_t)ld->size : FIXED_HEADER;
    vw_status st = vw_load_read_at(ld, fixed, have, 0);
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
    vw_status st = vw_load_read_at(ld, pad, (size_t)(next - end), end);
    if (st != VW_OK)
        return st;
    if (!all_zero(pad, (size_t)(next - end)))
        return vw_fail(VW_ERR_CORRUPT, "padding after the %s section is not zero", after);
    return VW_OK;
}

vw_status vw_load_crc_mismatch(const char *name) {
    return vw_fail(VW_ERR_CORRUPT, "section %s: checksum mismatch", name);
}

/* Reads a section into dst (NULL: into a scratch buffer, for optional
 * sections that are only verified), computing its CRC on the way while
 * each chunk is still in cache. */
vw_status vw_load_section(const loader *ld, const section *s, void *dst, const char *name) {
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
        st = vw_load_read_at(ld, p, chunk, s->offset + done);
        if (st == VW_OK && ld->verify)
            crc = vw_crc32c(crc, p, chunk);
        done += chunk;
    }
    free(scratch);
    if (st == VW_OK && ld->verify && crc != s->crc)
        return vw_load_crc_mismatch(name);
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
vw_status vw_load_section_table(loader *ld) {
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
            st = vw_load_section(ld, &s, ld->store_tag, "store");
            if (st != VW_OK)
                return st;
            ld->has_store_tag = true;
        } else if (ld->verify) {
            /* Sections from a newer minor revision: ignored, but still checked. */
            st = vw_load_section(ld, &s, NULL, "optional");
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
vw_status vw_load_section_lengths(loader *ld) {
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
vw_status vw_load_storage(loader *ld) {
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
    vw_status st = vw_load_section(&strict, s, b, "storage");
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

vw_status vw_load_header(loader *ld) {
    vw_status st = check_fixed_header(ld);
    if (st != VW_OK)
        return st;
    ld->header = malloc(ld->header_size);
    if (!ld->header)
        return vw_fail(VW_ERR_NOMEM, "index file header");
    st = vw_load_read_at(ld, ld->header, ld->header_size, 0);
    if (st == VW_OK)
        st = check_header_fields(ld);
    return st;
}
