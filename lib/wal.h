/* wal.h - the write log of a durable store (wal.c; used by store.c). */
#ifndef VW_WAL_H
#define VW_WAL_H

#include "vwhnsw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VW_WAL_HEADER 64u /* file header bytes */
#define VW_WAL_RECORD 32u /* record header bytes */

enum { VW_WAL_UPSERT = 1, VW_WAL_REMOVE = 2 };

/* A record to append: count labels, and count * dim floats for an upsert. */
typedef struct vw_wal_record {
    uint32_t type;
    uint64_t count;
    const uint64_t *labels;
    const float *vectors;
} vw_wal_record;

/* A record read back (pointers into a buffer valid during the callback). */
typedef struct vw_record_view {
    uint32_t type;
    uint32_t count;
    uint64_t seq;
    const uint64_t *labels;
    const float *vectors; /* NULL for a removal */
    uint32_t dim;
} vw_record_view;

typedef vw_status (*vw_wal_apply_fn)(void *ctx, const vw_record_view *r);

typedef struct vw_wal_report {
    uint64_t records;       /* records replayed */
    uint64_t writes;        /* labels they carried */
    uint64_t dropped_bytes; /* torn tail removed */
} vw_wal_report;

typedef struct vw_wal {
    int fd;
    char *path;
    uint32_t dim;
    uint64_t size;     /* bytes of whole records (the end of the log) */
    uint64_t next_seq; /* sequence number of the next record */
    bool broken;       /* an append failed and could not be taken back */
} vw_wal;

/* Opens the log at path (creating it, empty, if missing) for an index of
 * `dim` and `metric`, and calls apply for every whole record in order. A
 * torn or damaged tail is cut off (*rep says how many bytes); damage with
 * intact records after it is VW_ERR_CORRUPT. On failure vw_wal_close(w)
 * still releases what was opened. */
vw_status vw_wal_open(const char *path, uint32_t dim, vw_metric metric, vw_wal_apply_fn apply,
                      void *ctx, vw_wal *w, vw_wal_report *rep);
/* Appends n records with one write and makes them durable (fdatasync). On
 * failure nothing was appended (the file is cut back), unless w->broken. */
vw_status vw_wal_append(vw_wal *w, const vw_wal_record *const *recs, size_t n);
/* Bytes a record of `count` labels takes in the file. */
uint64_t vw_wal_record_bytes(const vw_wal *w, uint32_t type, uint64_t count);
/* Empties the log (after a snapshot holds everything it held). */
vw_status vw_wal_reset(vw_wal *w);
void vw_wal_close(vw_wal *w);

#endif /* VW_WAL_H */
