/*
 * dataset_internal.h - shared by dataset.c (files, rows, writing) and
 * dataset_npy.c (the .npy header), and the entry point of the fuzz target.
 *
 * Reading is split in two steps so that every format goes through the same
 * bounded-memory row reader: a format's header is parsed into a vw_layout
 * (where the rows are and how their elements are stored), validated against
 * the file size, and then the rows are converted chunk by chunk into the
 * caller's float array.
 */
#ifndef VW_DATASET_INTERNAL_H
#define VW_DATASET_INTERNAL_H

#include "vw_internal.h"

#include <stddef.h>
#include <stdint.h>

/* How one element is stored in a file. */
typedef enum vw_elem { VW_ELEM_F32, VW_ELEM_F64, VW_ELEM_F16, VW_ELEM_U8, VW_ELEM_I32 } vw_elem;

/* Where the rows of a file are: row r starts at data_off + r * (row_prefix +
 * dim * element size); a row_prefix of 4 holds the row's int32 dimension
 * (the TEXMEX *vecs formats). */
typedef struct vw_layout {
    uint64_t n;
    uint32_t dim;
    vw_elem elem;
    uint32_t row_prefix;
    uint64_t data_off;
} vw_layout;

/* Bytes before the npy header text; enough to hold any version's preamble. */
#define VW_NPY_PREAMBLE_MAX 12u
/* Longest npy header text we accept (numpy's own reader stops at 10000). */
#define VW_NPY_HEADER_MAX (1u << 20)

/* Checks the magic and version of an npy file whose first `avail` bytes are
 * `p` (avail may be less than VW_NPY_PREAMBLE_MAX for a short file) and
 * gives the offset and length of the header text, checked against
 * file_size. */
vw_status vw_npy_preamble(const unsigned char *p, size_t avail, uint64_t file_size,
                          uint64_t *header_off, uint64_t *header_len);

/* Parses the header dict `text` (len bytes) of an npy file and fills n,
 * dim, elem; refuses what a vw_dataset cannot hold (dtype, byte order,
 * fortran order, rank, dimension). data_off and row_prefix are left to the
 * caller. */
vw_status vw_npy_parse_header(const char *text, size_t len, vw_layout *out);

/* Writes the version 1.0 preamble and header of a little-endian float32
 * n x dim C-order array to buf (cap >= VW_NPY_WRITE_MAX); the data then
 * starts at *len, a multiple of 64. */
#define VW_NPY_WRITE_MAX 128u
vw_status vw_npy_format_header(uint64_t n, uint32_t dim, unsigned char *buf, size_t cap,
                               size_t *len);

/* Parses a whole vector file held in memory as vw_dataset_read parses a
 * file (same checks, same statuses). `format` must not be VW_FORMAT_AUTO.
 * Used by the fuzz target and by tests that build files byte by byte. */
vw_status vw_dataset_parse(const void *bytes, size_t len, vw_dataset_format format,
                           vw_dataset **out);

#endif /* VW_DATASET_INTERNAL_H */
