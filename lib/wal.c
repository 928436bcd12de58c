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
 * dropped whole and never half-applied. If intact records follow the
 * damage, the damage cannot be a torn tail (nothing is written after an
 * unfinished group) but a damaged disk: dropping them would lose
 * acknowledged writes, so the log is refused instead (VW_ERR_CORRUPT). */
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

#define LOG_VERSION     1u
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

/* Payload bytes of a record: labels, then vectors for an upsert. */
static uint64_t payload_bytes(uint32_t type, uint64_t count, uint32_t dim) {
    uint64_t per = sizeof(uint64_t) + (type == VW_WAL_UPSERT ? (uint64_t)dim * sizeof(float) : 0);
    return count * per;
}

/* ------------------------------------------------------------------ file header */

static void build_header(unsigned char *h, uint32_t dim, vw_metric metric) {
    memset(h, 0, VW_WAL_HEADER);
    memcpy(h + L_MAGIC, log_magic, sizeof log_magic);
    put32(h + L_BYTE_ORDER, BYTE_ORDER_MARK);
    put32(h + L_VERSION, LOG_VERSION);
    put32(h + L_DIM, dim);
    put32(h + L_METRIC, (uint32_t)metric);
    put32(h + L_CRC, vw_crc32c(0, h, VW_WAL_HEADER));
}

static vw_status check_header(const vw_wal *w, const unsigned char *h, vw_metric metric) {
    unsigned char copy[VW_WAL_HEADER];
    memcpy(copy, h, sizeof copy);
    put32(copy + L_CRC, 0);
    if (memcmp(h, log_magic, sizeof log_magic) != 0)
        return vw_fail(VW_ERR_FORMAT, "%s is not a vwhnsw write log (bad magic)", w->path);
    if (get32(h + L_CRC) != vw_crc32c(0, copy, sizeof copy) ||
        get32(h + L_BYTE_ORDER) != BYTE_ORDER_MARK)
        return vw_fail(VW_ERR_CORRUPT, "%s: header damaged", w->path);
    if (get32(h + L_VERSION) != LOG_VERSION)
        return vw_fail(VW_ERR_VERSION, "%s: log format version %u, this library reads %u", w->path,
                       get32(h + L_VERSION), LOG_VERSION);
    if (get32(h + L_DIM) != w->dim || get32(h + L_METRIC) != (uint32_t)metric)
        return vw_fail(VW_ERR_CORRUPT, "%s: log of a dim %u index, the snapshot has dim %u",
                       w->path, get32(h + L_DIM), w->dim);
    return VW_OK;
}

static vw_status write_at(const vw_wal *w, const void *buf, size_t len, uint64_t off) {
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(w->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return vw_fail_errno(VW_ERR_IO, "write", w->path);
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return VW_OK;
}

static vw_status read_at(const vw_wal *w, void *buf, size_t len, uint64_t off) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pread(w->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vw_fail_errno(VW_ERR_IO, "read", w->path);
        if (n == 0)
            return vw_fail(VW_ERR_TRUNCATED, "%s ends early", w->path);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return VW_OK;
}

static vw_status sync_file(const vw_wal *w) {
    return fdatasync(w->fd) == 0 ? VW_OK : vw_fail_errno(VW_ERR_IO, "fsync", w->path);
}

/* A new, empty log: the header, synced, and its name in the directory. */
static vw_status create_log(vw_wal *w, vw_metric metric) {
    unsigned char h[VW_WAL_HEADER];
    build_header(h, w->dim, metric);
    vw_status st = write_at(w, h, sizeof h, 0);
    if (st == VW_OK)
        st = sync_file(w);
    if (st == VW_OK)
        st = vw_sync_parent_dir(w->path);
    w->size = VW_WAL_HEADER;
    return st;
}

/* ------------------------------------------------------------------ reading back */

/* A record header that may start a record here: magic, sizes that fit. */
static bool plausible(const vw_wal *w, const unsigned char *r, uint64_t off, uint64_t file_size) {
    uint32_t type = get32(r + R_TYPE), count = get32(r + R_COUNT);
    uint64_t len = get64(r + R_LENGTH);
    return get32(r + R_MAGIC) == RECORD_MAGIC && (type == VW_WAL_UPSERT || type == VW_WAL_REMOVE) &&
           count > 0 && len == payload_bytes(type, count, w->dim) && len <= MAX_PAYLOAD &&
           off + VW_WAL_RECORD + pad8(len) <= file_size;
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
    return vw_crc32c(0, *buf + R_TYPE, VW_WAL_RECORD - R_TYPE + len) == get32(head + R_CRC);
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

/* The buffer is malloc'ed, so labels (at 32) and vectors (after them) are
 * aligned for their types. */
static vw_record_view view_of(const vw_wal *w, const unsigned char *r) {
    uint32_t count = get32(r + R_COUNT);
    const void *labels = r + VW_WAL_RECORD;
    const void *vectors = r + VW_WAL_RECORD + (size_t)count * sizeof(uint64_t);
    return (vw_record_view){.type = get32(r + R_TYPE),
                            .count = count,
                            .seq = get64(r + R_SEQ),
                            .labels = labels,
                            .vectors = get32(r + R_TYPE) == VW_WAL_UPSERT ? vectors : NULL,
                            .dim = w->dim};
}

static vw_status replay(vw_wal *w, uint64_t file_size, vw_wal_apply_fn apply, void *ctx,
                        vw_wal_report *rep) {
    unsigned char *buf = NULL;
    size_t cap = 0;
    uint64_t off = VW_WAL_HEADER;
    vw_status st = VW_OK;
    while (st == VW_OK && read_record(w, off, file_size, &buf, &cap)) {
        vw_record_view v = view_of(w, buf);
        if (rep->records > 0 && v.seq != w->next_seq)
            break; /* out of sequence: not a record of this log */
        st = apply(ctx, &v);
        rep->records++;
        rep->writes += v.count;
        w->next_seq = v.seq + 1;
        off += VW_WAL_RECORD + pad8(get64(buf + R_LENGTH));
    }
    free(buf);
    if (st != VW_OK)
        return st;
    w->size = off;
    rep->dropped_bytes = file_size - off;
    if (off == file_size)
        return VW_OK;
    if (intact_after(w, off, file_size))
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: damaged at byte %llu with intact records after it; acknowledged "
                       "writes would be lost (move the log away to start from the snapshot)",
                       w->path, (unsigned long long)off);
    if (ftruncate(w->fd, (off_t)off) != 0)
        return vw_fail_errno(VW_ERR_IO, "truncate", w->path);
    return sync_file(w);
}

vw_status vw_wal_open(const char *path, uint32_t dim, vw_metric metric, vw_wal_apply_fn apply,
                      void *ctx, vw_wal *w, vw_wal_report *rep) {
    *w = (vw_wal){.fd = -1, .dim = dim, .next_seq = 1};
    *rep = (vw_wal_report){0};
    w->path = strdup(path);
    if (!w->path)
        return vw_fail(VW_ERR_NOMEM, "log path");
    w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (w->fd < 0)
        return vw_fail_errno(errno == ENOENT ? VW_ERR_NOT_FOUND : VW_ERR_IO, "open", path);
    struct stat sb;
    if (fstat(w->fd, &sb) != 0)
        return vw_fail_errno(VW_ERR_IO, "stat", path);
    uint64_t size = (uint64_t)sb.st_size;
    if (size < VW_WAL_HEADER) {
        /* new, or created and never synced whole by a crashed open: empty */
        if (ftruncate(w->fd, 0) != 0)
            return vw_fail_errno(VW_ERR_IO, "truncate", path);
        return create_log(w, metric);
    }
    unsigned char h[VW_WAL_HEADER];
    vw_status st = read_at(w, h, sizeof h, 0);
    if (st == VW_OK)
        st = check_header(w, h, metric);
    if (st == VW_OK)
        st = replay(w, size, apply, ctx, rep);
    return st;
}

/* ------------------------------------------------------------------ appending */

/* Bytes one record takes in the file. */
uint64_t vw_wal_record_bytes(const vw_wal *w, uint32_t type, uint64_t count) {
    return VW_WAL_RECORD + pad8(payload_bytes(type, count, w->dim));
}

/* Encodes a record at p (vw_wal_record_bytes long) with sequence number seq. */
static void encode(const vw_wal *w, const vw_wal_record *r, uint64_t seq, unsigned char *p) {
    uint64_t len = payload_bytes(r->type, r->count, w->dim);
    memset(p, 0, VW_WAL_RECORD + pad8(len));
    put32(p + R_MAGIC, RECORD_MAGIC);
    put32(p + R_TYPE, r->type);
    put32(p + R_COUNT, (uint32_t)r->count);
    put64(p + R_SEQ, seq);
    put64(p + R_LENGTH, len);
    unsigned char *q = p + VW_WAL_RECORD;
    memcpy(q, r->labels, (size_t)r->count * sizeof(uint64_t));
    if (r->type == VW_WAL_UPSERT)
        memcpy(q + (size_t)r->count * sizeof(uint64_t), r->vectors,
               (size_t)r->count * w->dim * sizeof(float));
    put32(p + R_CRC, vw_crc32c(0, p + R_TYPE, VW_WAL_RECORD - R_TYPE + len));
}

vw_status vw_wal_append(vw_wal *w, const vw_wal_record *const *recs, size_t n) {
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += vw_wal_record_bytes(w, recs[i]->type, recs[i]->count);
    unsigned char *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf)
        return vw_fail(VW_ERR_NOMEM, "log buffer of %llu bytes", (unsigned long long)bytes);
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        encode(w, recs[i], w->next_seq + i, p);
        p += vw_wal_record_bytes(w, recs[i]->type, recs[i]->count);
    }
    vw_status st = write_at(w, buf, (size_t)bytes, w->size);
    if (st == VW_OK)
        st = sync_file(w);
    free(buf);
    if (st != VW_OK) {
        /* Take back what may have reached the file; the caller stops
         * writing if even that fails (vw_wal_append then never succeeds). */
        if (ftruncate(w->fd, (off_t)w->size) != 0 || sync_file(w) != VW_OK)
            w->broken = true;
        return st;
    }
    w->size += bytes;
    w->next_seq += n;
    return VW_OK;
}

vw_status vw_wal_reset(vw_wal *w) {
    if (ftruncate(w->fd, VW_WAL_HEADER) != 0)
        return vw_fail_errno(VW_ERR_IO, "truncate", w->path);
    w->size = VW_WAL_HEADER;
    return sync_file(w);
}

void vw_wal_close(vw_wal *w) {
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    *w = (vw_wal){.fd = -1};
}
