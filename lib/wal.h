/* wal.h - the write log of a durable store (wal.c; used by store.c). */
#ifndef VW_WAL_H
#define VW_WAL_H

#include "vwhnsw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VW_WAL_HEADER   64u /* file header bytes */
#define VW_WAL_RECORD   32u /* record header bytes */
#define VW_WAL_ID_BYTES 16u /* the store id in the header */
/* The version written; 1 (no store id and base) and 2 (no attributes) are
 * read, never appended to. */
#define VW_WAL_VERSION 3u

/* Record types. An upsert without attributes is written as type 1, one
 * with attributes as type 3 (FORMAT.md, "Records"). */
enum { VW_WAL_UPSERT = 1, VW_WAL_REMOVE = 2, VW_WAL_UPSERT_ATTRS = 3 };

/* A record to append: count labels, and count * dim floats for an upsert.
 * Type 3 also carries each label's attribute text (attrs[i], attr_lens[i]
 * bytes; length 0 = none), attr_bytes of them in all. */
typedef struct vw_wal_record {
    uint32_t type;
    uint64_t count;
    const uint64_t *labels;
    const float *vectors;
    const char *const *attrs;
    const uint32_t *attr_lens;
    uint64_t attr_bytes;
} vw_wal_record;

/* A record read back (pointers into a buffer valid during the callback). */
typedef struct vw_record_view {
    uint32_t type;
    uint32_t count;
    uint64_t seq;
    const uint64_t *labels;
    const float *vectors; /* NULL for a removal */
    uint32_t dim;
    /* Type 3: count lengths, then the texts one after the other. */
    const uint32_t *attr_lens;
    const char *attr_text;
    /* An upsert of a log before version 3 (written before the store carried
     * attributes) keeps the elements' attributes; a later one replaces them. */
    bool keeps_attrs;
} vw_record_view;

typedef vw_status (*vw_wal_apply_fn)(void *ctx, const vw_record_view *r);

typedef struct vw_wal_report {
    uint64_t records;       /* records read back (and given to apply) */
    uint64_t writes;        /* labels they carried */
    uint64_t dropped_bytes; /* torn tail removed */
} vw_wal_report;

typedef struct vw_wal {
    int fd;
    char *path;
    /* From the header: 0 for a file shorter than a header (a creation a
     * crash interrupted, in logs before version 2), else 1, 2 or 3.
     * Version 1 logs carry no store id and no base; logs before version 3
     * no attributes. Records are appended to version-3 logs only. */
    uint32_t version;
    unsigned char id[VW_WAL_ID_BYTES]; /* the store's id (version 2) */
    uint64_t base;                     /* seq of the log's first record (version 2) */
    uint32_t dim;
    vw_metric metric;
    uint64_t size;     /* bytes of whole records (the end of the log) */
    uint64_t next_seq; /* sequence number of the next record */
    bool broken;       /* the file may not be what w says: no more appends */
} vw_wal;

/* Opens the existing log at path and reads its header (VW_ERR_NOT_FOUND
 * if there is none, VW_ERR_FORMAT / VW_ERR_CORRUPT / VW_ERR_VERSION for a
 * bad header). On failure vw_wal_close(w) still releases what was opened. */
vw_status vw_wal_open(const char *path, vw_wal *w);
/* Whether the log holds no record (only its header). */
bool vw_wal_empty(const vw_wal *w);
/* Checks the header against the snapshot's `dim` and `metric`, then calls
 * apply for every whole record in order. Version 2 records must be
 * numbered from base on, one by one. A torn tail (an incomplete or damaged
 * last record) is cut off (*rep says how many bytes); a gap or damage with
 * an intact record after it is VW_ERR_CORRUPT. */
vw_status vw_wal_replay(vw_wal *w, uint32_t dim, vw_metric metric, vw_wal_apply_fn apply, void *ctx,
                        vw_wal_report *rep);
/* Creates a new, empty version-3 log at path (replacing any file there,
 * atomically) for store `id` whose first record will be `base`, and opens
 * it. */
vw_status vw_wal_create(const char *path, const unsigned char *id, uint64_t base, uint32_t dim,
                        vw_metric metric, vw_wal *w);
/* Appends n records with one write and makes them durable (fdatasync). On
 * failure nothing was appended (the file is cut back), unless w->broken. */
vw_status vw_wal_append(vw_wal *w, const vw_wal_record *const *recs, size_t n);
/* Bytes record r takes in the file. */
uint64_t vw_wal_record_bytes(const vw_wal *w, const vw_wal_record *r);
/* Empties the log (after a snapshot holds everything it held) by replacing
 * it with a new one whose next record will be `base`. On a failure before
 * the rename the old log stays in use (still right: see wal.c); after it
 * (the directory sync) w->broken is set. */
vw_status vw_wal_reset(vw_wal *w, uint64_t base);
void vw_wal_close(vw_wal *w);

#endif /* VW_WAL_H */
