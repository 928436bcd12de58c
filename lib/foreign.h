/* foreign.h - shared by the readers of other engines' index files
 * (foreign_faiss.c, foreign_hnswlib.c) and the importer that turns what they
 * read into an index (foreign.c). Inside lib/ only. */
#ifndef VW_FOREIGN_H
#define VW_FOREIGN_H

#include "bytes.h"
#include "vw_internal.h"

/* ------------------------------------------------------------------ reading the file */

/* A file read with pread through a buffer. Several views may share one
 * descriptor (vw_src_view), each with its own buffer, so that a reader can
 * walk two regions of the file in step without re-reading either. Every
 * read is checked against the file's length first: a read past the end is
 * VW_ERR_TRUNCATED naming the field and its offset, and nothing is
 * allocated from a size the file cannot hold. */
typedef struct vw_src {
    const char *path;
    int fd;
    bool owns_fd;
    uint64_t size; /* file length, fixed at open */
    unsigned char *buf;
    size_t buf_cap;
    uint64_t buf_off; /* file offset of buf[0] */
    size_t buf_len;   /* valid bytes in buf */
} vw_src;

vw_status vw_src_open(vw_src *s, const char *path);
/* Another buffer (of buf_cap bytes) over the same open file. */
vw_status vw_src_view(const vw_src *from, size_t buf_cap, vw_src *view);
void vw_src_close(vw_src *s);

/* Copies `len` bytes at `off` into dst, or fails with VW_ERR_TRUNCATED
 * ("truncated: <what> at offset N needs L bytes, file has S"). */
vw_status vw_src_read(vw_src *s, uint64_t off, void *dst, size_t len, const char *what);
/* VW_ERR_TRUNCATED unless `len` bytes exist at `off` (len may be huge: it
 * is compared, never allocated). */
vw_status vw_src_need(const vw_src *s, uint64_t off, uint64_t len, const char *what);

/* n little-endian float32 at `off` (byte-swapped on a big-endian host). */
vw_status vw_src_floats(vw_src *s, uint64_t off, float *out, uint32_t n, const char *what);

/* Little-endian scalars at *pos, advancing it. */
vw_status vw_src_u8(vw_src *s, uint64_t *pos, const char *what, uint8_t *out);
vw_status vw_src_u32(vw_src *s, uint64_t *pos, const char *what, uint32_t *out);
vw_status vw_src_i32(vw_src *s, uint64_t *pos, const char *what, int32_t *out);
vw_status vw_src_u64(vw_src *s, uint64_t *pos, const char *what, uint64_t *out);
vw_status vw_src_i64(vw_src *s, uint64_t *pos, const char *what, int64_t *out);

/* ------------------------------------------------------------------ sniffing */

/* The kind of file whose first `len` bytes are `head` (at least 72 bytes
 * are needed to recognise an hnswlib file). */
vw_index_format vw_foreign_sniff(const unsigned char *head, size_t len);

/* ------------------------------------------------------------------ the importer */

/* What a reader learned from a file: parameters, the node levels and the
 * entry point (all validated), and callbacks that read one node's data on
 * demand. Nodes are numbered as in the file (0..n-1); the importer asks for
 * live nodes in that order and for a dead node's lists when it bridges
 * over it. */
typedef struct vw_foreign {
    vw_params params; /* dim, metric, M wide enough for every list, ef_construction, seed */
    uint64_t n;       /* nodes in the file */
    uint8_t *levels;  /* n top levels, each <= max_level (owned by the reader) */
    uint8_t *dead;    /* NULL, or n flags: nodes to leave out (owned by the reader) */
    uint32_t entry;   /* VW_NO_NODE when n == 0 */
    int32_t max_level;
    vw_status dup_label; /* the status for two nodes with one label */
    void *ctx;
    /* The node's vector (params.dim floats). */
    vw_status (*vector)(void *ctx, uint64_t node, float *out);
    vw_status (*label)(void *ctx, uint64_t node, uint64_t *out);
    /* The node's list at `level` (<= its level): at most 2 * VW_MAX_M ids,
     * each checked < n by the reader; the importer checks the rest. */
    vw_status (*list)(void *ctx, uint64_t node, unsigned level, uint32_t *ids, uint32_t *count);
} vw_foreign;

/* Builds the index: places the live nodes in file order with the file's
 * levels, then copies their lists (ids renumbered past the dead nodes). */
vw_status vw_foreign_build(const vw_foreign *f, vw_index **out);

/* Sets params->M to the smallest M whose lists (2M on layer 0, M above)
 * hold `slots0` and `slots_upper` ids; VW_ERR_UNSUPPORTED above VW_MAX_M. */
vw_status vw_foreign_fit_m(uint64_t slots0, uint64_t slots_upper, vw_params *params);

/* The engine readers: parse and validate the file open in `src`, then build. */
vw_status vw_import_faiss(vw_src *src, const vw_import_options *o, vw_index **out);
vw_status vw_import_hnswlib(vw_src *src, const vw_import_options *o, vw_index **out);

#endif /* VW_FOREIGN_H */
