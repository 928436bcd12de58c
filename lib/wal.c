/* wal.c - the write log of a durable store (store.c): its format, appending
 * records, and reading them back after a crash. FORMAT.md ("The write log")
 * specifies the bytes.
 *
 * A record is appended with one write and made durable with fdatasync
 * before any caller learns of it; several callers' records share the write
 * and the sync (group commit, in store.c). A crash can therefore leave at
 * most a partly written group at the end of the file: its records were never
 * acknowledged. Reading back stops at the first record that is incomplete
 * or fails its checksum and truncates the file there, so a torn record is
 * dropped whole and never half-applied. If an intact record follows the
 * damage, or follows a gap in the numbering, the damage cannot be a torn
 * tail (nothing is written after an unfinished group) but a damaged disk:
 * dropping it would lose acknowledged writes, so the log is refused
 * instead (VW_ERR_CORRUPT).
 *
 * The header binds the log to its store: the store's id (also in the
 * snapshot) and the number of the first record the log may hold, one past
 * the last write the snapshot holds (store.c checks both). */
#include "wal.h"

#include "bytes.h"
#include "crc32c.h"
#include "fileio.h"
#include "vw_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char log_magic[8] = {0x89, 'V', 'W', 'L', 'O', 'G', '\n', 0};

#define LOG_VERSION     VW_WAL_VERSION
#define BYTE_ORDER_MARK 0x0A0B0C0Du
#define RECORD_MAGIC    0x52435756u /* "VWCR" */
#define MAX_PAYLOAD     ((uint64_t)1 << 32)

/* Header fields (64 bytes) and record header fields (32 bytes). */
enum {
    L_MAGIC = 0,
    L_BYTE_ORDER = 8,
    L_VERSION = 12,
    L_DIM = 16,
    L_METRIC = 20,
    L_CRC = 24,
    L_ID = 32,
    L_BASE = 48,
    R_MAGIC = 0,
    R_CRC = 4,
    R_TYPE = 8,
    R_COUNT = 12,
    R_SEQ = 16,
    R_LENGTH = 24
};

static uint64_t pad8(uint64_t x) {
    return (x + 7) & ~(uint64_t)7;
}

/* Payload bytes of a record but its attribute texts: labels, then vectors
 * for an upsert, then the texts' lengths for type 3. */
static uint64_t fixed_bytes(uint32_t type, uint64_t count, uint32_t dim) {
    uint64_t per = sizeof(uint64_t);
    if (type != VW_WAL_REMOVE)
        per += (uint64_t)dim * sizeof(float);
    if (type == VW_WAL_UPSERT_ATTRS)
        per += sizeof(uint32_t);
    return count * per;
}

static uint64_t payload_bytes(const vw_wal_record *r, uint32_t dim) {
    return fixed_bytes(r->type, r->count, dim) +
           (r->type == VW_WAL_UPSERT_ATTRS ? r->attr_bytes : 0);
}

/* Whether a payload length fits the type and count: exact without
 * attributes, else room for each label's text up to the limit. */
static bool length_fits(uint32_t type, uint64_t count, uint64_t len, uint32_t dim) {
    uint64_t fixed = fixed_bytes(type, count, dim);
    if (type != VW_WAL_UPSERT_ATTRS)
        return len == fixed;
    return len >= fixed && len - fixed <= count * VW_MAX_ATTR_BYTES;
}

/* ------------------------------------------------------------------ file header */

static void build_header(const vw_wal *w, unsigned char *h) {
    memset(h, 0, VW_WAL_HEADER);
    memcpy(h + L_MAGIC, log_magic, sizeof log_magic);
    put32(h + L_BYTE_ORDER, BYTE_ORDER_MARK);
    put32(h + L_VERSION, LOG_VERSION);
    put32(h + L_DIM, w->dim);
    put32(h + L_METRIC, (uint32_t)w->metric);
    memcpy(h + L_ID, w->id, VW_WAL_ID_BYTES);
    put64(h + L_BASE, w->base);
    put32(h + L_CRC, vw_crc32c(0, h, VW_WAL_HEADER));
}

/* Reads the header's fields into w (version 1: no id and base). */
static vw_status read_header(vw_wal *w, const unsigned char *h) {
    unsigned char copy[VW_WAL_HEADER];
    memcpy(copy, h, sizeof copy);
    put32(copy + L_CRC, 0);
    if (memcmp(h, log_magic, sizeof log_magic) != 0)
        return vw_fail(VW_ERR_FORMAT, "%s is not a vwhnsw write log (bad magic)", w->path);
    if (get32(h + L_CRC) != vw_crc32c(0, copy, sizeof copy) ||
        get32(h + L_BYTE_ORDER) != BYTE_ORDER_MARK)
        return vw_fail(VW_ERR_CORRUPT, "%s: header damaged", w->path);
    w->version = get32(h + L_VERSION);
    if (w->version < 1 || w->version > LOG_VERSION)
        return vw_fail(VW_ERR_VERSION, "%s: log format version %u, this library reads 1 to %u",
                       w->path, w->version, LOG_VERSION);
    w->dim = get32(h + L_DIM);
    w->metric = (vw_metric)get32(h + L_METRIC);
    if (w->version >= 2) {
        memcpy(w->id, h + L_ID, VW_WAL_ID_BYTES);
        w->base = get64(h + L_BASE);
    }
    return VW_OK;
}

static vw_status read_at(const vw_wal *w, void *buf, size_t len, uint64_t off) {
    return vw_pread_full(w->fd, buf, len, off, w->path);
}

static vw_status sync_file(const vw_wal *w) {
    return vw_io_sync(w->fd, true) == 0 ? VW_OK : vw_fail_errno(VW_ERR_IO, "fsync", w->path);
}

/* ------------------------------------------------------------------ reading back */

/* A record header that may start a record here: magic, sizes that fit. */
static bool plausible(const vw_wal *w, const unsigned char *r, uint64_t off, uint64_t file_size) {
    uint32_t type = get32(r + R_TYPE), count = get32(r + R_COUNT);
    uint64_t len = get64(r + R_LENGTH);
    bool known = type == VW_WAL_UPSERT || type == VW_WAL_REMOVE ||
                 (type == VW_WAL_UPSERT_ATTRS && w->version >= 3);
    return get32(r + R_MAGIC) == RECORD_MAGIC && known && count > 0 &&
           length_fits(type, count, len, w->dim) && len <= MAX_PAYLOAD &&
           off + VW_WAL_RECORD + pad8(len) <= file_size;
}

/* A type-3 record's texts fill its payload exactly, each within the limit. */
static bool texts_fit(const vw_wal *w, const unsigned char *r) {
    uint32_t count = get32(r + R_COUNT);
    if (get32(r + R_TYPE) != VW_WAL_UPSERT_ATTRS)
        return true;
    uint64_t fixed = fixed_bytes(VW_WAL_UPSERT_ATTRS, count, w->dim), sum = 0;
    const unsigned char *lens = r + VW_WAL_RECORD + fixed - (uint64_t)count * sizeof(uint32_t);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t n = get32(lens + (size_t)i * sizeof(uint32_t));
        if (n > VW_MAX_ATTR_BYTES)
            return false;
        sum += n;
    }
    return sum == get64(r + R_LENGTH) - fixed;
}

/* Reads the record at off into *buf (grown as needed); true if it is whole
 * and its checksum matches. */
static bool read_record(const vw_wal *w, uint64_t off, uint64_t file_size, unsigned char **buf,
                        size_t *cap) {
    unsigned char head[VW_WAL_RECORD];
    if (off + VW_WAL_RECORD > file_size || read_at(w, head, sizeof head, off) != VW_OK ||
        !plausible(w, head, off, file_size))
        return false;
    uint64_t len = get64(head + R_LENGTH);
    if (*cap < VW_WAL_RECORD + len) {
        unsigned char *p = realloc(*buf, VW_WAL_RECORD + len);
        if (!p)
            return false;
        *buf = p;
        *cap = VW_WAL_RECORD + len;
    }
    memcpy(*buf, head, sizeof head);
    if (read_at(w, *buf + VW_WAL_RECORD, len, off + VW_WAL_RECORD) != VW_OK)
        return false;
    return vw_crc32c(0, *buf + R_TYPE, VW_WAL_RECORD - R_TYPE + len) == get32(head + R_CRC) &&
           texts_fit(w, *buf);
}

/* After damage at `bad`: does an intact record follow? */
static bool intact_after(const vw_wal *w, uint64_t bad, uint64_t file_size) {
    unsigned char *buf = NULL;
    size_t cap = 0;
    bool found = false;
    for (uint64_t off = bad + 8; off + VW_WAL_RECORD <= file_size && !found; off += 8)
        found = read_record(w, off, file_size, &buf, &cap);
    free(buf);
    return found;
}

/* The buffer is malloc'ed, so labels (at 32), vectors (after them) and
 * the texts' lengths (after the vectors) are aligned for their types. */
static vw_record_view view_of(const vw_wal *w, const unsigned char *r) {
    uint32_t count = get32(r + R_COUNT), type = get32(r + R_TYPE);
    const unsigned char *labels = r + VW_WAL_RECORD;
    const unsigned char *vectors = labels + (size_t)count * sizeof(uint64_t);
    const unsigned char *lens = vectors + (size_t)count * w->dim * sizeof(float);
    bool attrs = type == VW_WAL_UPSERT_ATTRS;
    return (vw_record_view){.type = type,
                            .count = count,
                            .seq = get64(r + R_SEQ),
                            .labels = (const void *)labels,
                            .vectors = type != VW_WAL_REMOVE ? (const void *)vectors : NULL,
                            .dim = w->dim,
                            .attr_lens = attrs ? (const void *)lens : NULL,
                            .attr_text =
                                attrs ? (const char *)lens + count * sizeof(uint32_t) : NULL,
                            .keeps_attrs = type == VW_WAL_UPSERT && w->version < 3};
}

/* Where replay stopped: at the end, at a record that is not whole (a torn
 * tail, unless an intact one follows), or at an intact record out of order
 * (damage: something before it is missing). */
typedef enum stop { AT_END, AT_TORN, AT_GAP } stop;

static vw_status replay_records(vw_wal *w, uint64_t file_size, vw_wal_apply_fn apply, void *ctx,
                                vw_wal_report *rep, uint64_t *end, stop *why) {
    unsigned char *buf = NULL;
    size_t cap = 0;
    uint64_t off = VW_WAL_HEADER;
    vw_status st = VW_OK;
    *why = AT_END;
    while (st == VW_OK && off < file_size) {
        if (!read_record(w, off, file_size, &buf, &cap)) {
            *why = AT_TORN;
            break;
        }
        vw_record_view v = view_of(w, buf);
        if (w->version == 1 && rep->records == 0)
            w->next_seq = v.seq; /* version 1 numbers from where its writer started */
        if (v.seq != w->next_seq) {
            *why = AT_GAP;
            break;
        }
        st = apply(ctx, &v);
        rep->records++;
        rep->writes += v.count;
        w->next_seq = v.seq + 1;
        off += VW_WAL_RECORD + pad8(get64(buf + R_LENGTH));
    }
    if (*why == AT_GAP)
        st = vw_fail(VW_ERR_CORRUPT,
                     "%s: the record at byte %llu is number %llu where %llu was expected: records "
                     "are missing before it (damage, not a torn tail)",
                     w->path, (unsigned long long)off, (unsigned long long)get64(buf + R_SEQ),
                     (unsigned long long)w->next_seq);
    free(buf);
    *end = off;
    return st;
}

vw_status vw_wal_replay(vw_wal *w, uint32_t dim, vw_metric metric, vw_wal_apply_fn apply, void *ctx,
                        vw_wal_report *rep) {
    *rep = (vw_wal_report){0};
    if (w->dim != dim || w->metric != metric)
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: log of a dim %u %s index, the snapshot is dim %u %s: not this "
                       "store's log",
                       w->path, w->dim, vw_metric_name(w->metric) ? vw_metric_name(w->metric) : "?",
                       dim, vw_metric_name(metric));
    uint64_t file_size = w->size, end;
    w->next_seq = w->base;
    stop why;
    vw_status st = replay_records(w, file_size, apply, ctx, rep, &end, &why);
    if (st != VW_OK)
        return st;
    w->size = end;
    rep->dropped_bytes = file_size - end;
    if (end == file_size)
        return VW_OK;
    if (intact_after(w, end, file_size))
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: damaged at byte %llu with intact records after it; acknowledged "
                       "writes would be lost",
                       w->path, (unsigned long long)end);
    if (vw_io_truncate(w->fd, end) != 0)
        return vw_fail_errno(VW_ERR_IO, "truncate", w->path);
    return sync_file(w);
}

vw_status vw_wal_open(const char *path, vw_wal *w) {
    *w = (vw_wal){.fd = -1};
    w->path = strdup(path);
    if (!w->path)
        return vw_fail(VW_ERR_NOMEM, "log path");
    w->fd = open(path, O_RDWR | O_CLOEXEC);
    if (w->fd < 0)
        return vw_fail_errno(errno == ENOENT ? VW_ERR_NOT_FOUND : VW_ERR_IO, "open", path);
    struct stat sb;
    if (fstat(w->fd, &sb) != 0)
        return vw_fail_errno(VW_ERR_IO, "stat", path);
    if (!S_ISREG(sb.st_mode))
        return vw_fail(VW_ERR_INVALID_ARG, "%s is not a regular file", path);
    w->size = (uint64_t)sb.st_size;
    if (w->size < VW_WAL_HEADER) {
        /* version 1 created its log in place: a crash could leave it short */
        w->size = VW_WAL_HEADER;
        return VW_OK; /* version 0: nothing in it */
    }
    unsigned char h[VW_WAL_HEADER];
    vw_status st = read_at(w, h, sizeof h, 0);
    return st == VW_OK ? read_header(w, h) : st;
}

bool vw_wal_empty(const vw_wal *w) {
    return w->size <= VW_WAL_HEADER;
}

vw_status vw_wal_create(const char *path, const unsigned char *id, uint64_t base, uint32_t dim,
                        vw_metric metric, vw_wal *w) {
    *w = (vw_wal){.fd = -1, .version = LOG_VERSION, .base = base, .dim = dim, .metric = metric};
    memcpy(w->id, id, VW_WAL_ID_BYTES);
    w->path = strdup(path);
    if (!w->path)
        return vw_fail(VW_ERR_NOMEM, "log path");
    unsigned char h[VW_WAL_HEADER];
    build_header(w, h);
    /* whole or not there: a crash never leaves a log without its header */
    vw_status st = vw_file_write_atomic(path, h, sizeof h);
    if (st != VW_OK)
        return st;
    w->fd = open(path, O_RDWR | O_CLOEXEC);
    if (w->fd < 0)
        return vw_fail_errno(VW_ERR_IO, "open", path);
    w->size = VW_WAL_HEADER;
    w->next_seq = base;
    return VW_OK;
}

/* ------------------------------------------------------------------ appending */

/* Bytes one record takes in the file. */
uint64_t vw_wal_record_bytes(const vw_wal *w, const vw_wal_record *r) {
    return VW_WAL_RECORD + pad8(payload_bytes(r, w->dim));
}

/* The lengths of a type-3 record's texts, then the texts. */
static void encode_texts(const vw_wal_record *r, unsigned char *q) {
    unsigned char *t = q + r->count * sizeof(uint32_t);
    for (uint64_t i = 0; i < r->count; i++) {
        put32(q + i * sizeof(uint32_t), r->attr_lens[i]);
        if (r->attr_lens[i])
            memcpy(t, r->attrs[i], r->attr_lens[i]);
        t += r->attr_lens[i];
    }
}

/* Encodes a record at p (vw_wal_record_bytes long) with sequence number seq. */
static void encode(const vw_wal *w, const vw_wal_record *r, uint64_t seq, unsigned char *p) {
    uint64_t len = payload_bytes(r, w->dim);
    memset(p, 0, VW_WAL_RECORD + pad8(len));
    put32(p + R_MAGIC, RECORD_MAGIC);
    put32(p + R_TYPE, r->type);
    put32(p + R_COUNT, (uint32_t)r->count);
    put64(p + R_SEQ, seq);
    put64(p + R_LENGTH, len);
    unsigned char *q = p + VW_WAL_RECORD;
    memcpy(q, r->labels, (size_t)r->count * sizeof(uint64_t));
    q += (size_t)r->count * sizeof(uint64_t);
    if (r->type != VW_WAL_REMOVE) {
        memcpy(q, r->vectors, (size_t)r->count * w->dim * sizeof(float));
        q += (size_t)r->count * w->dim * sizeof(float);
    }
    if (r->type == VW_WAL_UPSERT_ATTRS)
        encode_texts(r, q);
    put32(p + R_CRC, vw_crc32c(0, p + R_TYPE, VW_WAL_RECORD - R_TYPE + len));
}

vw_status vw_wal_append(vw_wal *w, const vw_wal_record *const *recs, size_t n) {
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += vw_wal_record_bytes(w, recs[i]);
    unsigned char *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "log buffer of %llu bytes", (unsigned long long)bytes);
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        encode(w, recs[i], w->next_seq + i, p);
        p += vw_wal_record_bytes(w, recs[i]);
    }
    vw_status st = w->broken ? vw_fail(VW_ERR_IO, "%s: an earlier failure left it unknown", w->path)
                             : vw_pwrite_full(w->fd, buf, (size_t)bytes, w->size, w->path);
    if (st == VW_OK)
        st = sync_file(w);
    free(buf);
    if (st != VW_OK) {
        /* Take back what may have reached the file; the caller stops
         * writing if even that fails (vw_wal_append then never succeeds). */
        if (vw_io_truncate(w->fd, w->size) != 0 || sync_file(w) != VW_OK)
            w->broken = true;
        return st;
    }
    w->size += bytes;
    w->next_seq += n;
    return VW_OK;
}

/* Writes a header-only log to a temporary file and opens it (*fd) before
 * it is renamed over the log, so that the log is replaced whole or not at
 * all and the descriptor is the new file's. */
static vw_status write_empty(const vw_wal *w, int *fd) {
    unsigned char h[VW_WAL_HEADER];
    build_header(w, h);
    vw_atomic_file af;
    vw_status st = vw_atomic_open(w->path, &af);
    if (st != VW_OK)
        return st;
    st = vw_write_all(af.fd, h, sizeof h);
    *fd = st == VW_OK ? open(af.tmp, O_RDWR | O_CLOEXEC) : -1;
    if (st == VW_OK && *fd < 0)
        st = vw_fail_errno(VW_ERR_IO, "open", af.tmp);
    if (st != VW_OK) {
        vw_atomic_abort(&af);
        return st;
    }
    return vw_atomic_commit(&af, NULL);
}

/* Whether the name now leads to the file open as fd. */
static bool renamed(const char *path, int fd) {
    struct stat a, b;
    return fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

/* A new, empty log replaces the old one. If that fails before the rename,
 * the old log stays, and it is still right: its records are in the
 * snapshot, and the next one continues their numbering. */
vw_status vw_wal_reset(vw_wal *w, uint64_t base) {
    uint64_t old_base = w->base;
    w->base = base;
    int fd = -1;
    vw_status st = write_empty(w, &fd);
    if (!renamed(w->path, fd)) {
        if (fd >= 0)
            close(fd);
        w->base = old_base;
        return st;
    }
    close(w->fd);
    w->fd = fd;
    w->size = VW_WAL_HEADER;
    w->version = LOG_VERSION;
    w->next_seq = base;
    if (st != VW_OK)
        w->broken = true; /* the directory sync failed: the new name may not last */
    return st;
}

void vw_wal_close(vw_wal *w) {
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    *w = (vw_wal){.fd = -1};
}
