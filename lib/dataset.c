/*
 * dataset.c - reading and writing vector files: .npy (header in
 * dataset_npy.c), the TEXMEX .fvecs/.bvecs/.ivecs and the big-ann-benchmarks
 * .fbin/.u8bin/.ibin.
 *
 * Reading: a format's header becomes a vw_layout, which is checked against
 * the file size with overflow-safe arithmetic before anything is allocated;
 * then the rows are read with pread in chunks of about 1 MiB and converted
 * into the output array (little-endian float32 without row prefixes is read
 * straight into it). So a file costs its float32 array plus one chunk, and
 * never a second copy of the file. A vw_dataset_reader reads the same rows a
 * range at a time into the caller's buffer, so a program that consumes them
 * in pieces (vw-build inserting them) never holds the file at all. The same
 * code parses a memory buffer (vw_dataset_parse, for the fuzz target), only
 * the byte source differs.
 *
 * Writing: rows are encoded in chunks into a temporary file in the target's
 * directory, which is fsync'ed and renamed over the target, and the
 * directory fsync'ed, so a crash leaves either the old file or the new one.
 */
#include "bytes.h"
#include "dataset_internal.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CHUNK_BYTES (1u << 20)
/* Linux moves at most this much per read/write call. */
#define IO_MAX ((size_t)1 << 30)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

#define SUPPORTED_EXTENSIONS ".npy .fvecs .bvecs .ivecs .fbin .u8bin .ibin"

/* ------------------------------------------------------------------ formats */

typedef enum layout_kind { KIND_NPY, KIND_VECS, KIND_BIN } layout_kind;

typedef struct format_info {
    const char *ext;
    layout_kind kind;
    vw_elem elem; /* element type on disk (npy: as written; read from the header) */
} format_info;

/* Indexed by vw_dataset_format. */
static const format_info formats[] = {
    [VW_FORMAT_NPY] = {"npy", KIND_NPY, VW_ELEM_F32},
    [VW_FORMAT_FVECS] = {"fvecs", KIND_VECS, VW_ELEM_F32},
    [VW_FORMAT_BVECS] = {"bvecs", KIND_VECS, VW_ELEM_U8},
    [VW_FORMAT_IVECS] = {"ivecs", KIND_VECS, VW_ELEM_I32},
    [VW_FORMAT_FBIN] = {"fbin", KIND_BIN, VW_ELEM_F32},
    [VW_FORMAT_U8BIN] = {"u8bin", KIND_BIN, VW_ELEM_U8},
    [VW_FORMAT_IBIN] = {"ibin", KIND_BIN, VW_ELEM_I32},
};

static bool format_valid(vw_dataset_format f) {
    return f >= VW_FORMAT_NPY && f <= VW_FORMAT_IBIN;
}

static size_t elem_size(vw_elem e) {
    switch (e) {
    case VW_ELEM_F64:
        return 8;
    case VW_ELEM_F16:
        return 2;
    case VW_ELEM_U8:
        return 1;
    default:
        return 4;
    }
}

vw_dataset_format vw_dataset_format_from_path(const char *path) {
    if (path == NULL)
        return VW_FORMAT_AUTO;
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    if (dot == NULL)
        return VW_FORMAT_AUTO;
    for (int f = VW_FORMAT_NPY; f <= VW_FORMAT_IBIN; f++)
        if (strcasecmp(dot + 1, formats[f].ext) == 0)
            return (vw_dataset_format)f;
    return VW_FORMAT_AUTO;
}

/* The format to use: `format` itself, or the path's when AUTO. */
static vw_status resolve_format(const char *path, vw_dataset_format format,
                                vw_dataset_format *out) {
    if (format == VW_FORMAT_AUTO) {
        format = vw_dataset_format_from_path(path);
        if (format == VW_FORMAT_AUTO)
            return vw_fail(VW_ERR_FORMAT, "unknown vector file extension; supported: %s",
                           SUPPORTED_EXTENSIONS);
    }
    if (!format_valid(format))
        return vw_fail(VW_ERR_INVALID_ARG, "invalid dataset format %d", (int)format);
    *out = format;
    return VW_OK;
}

/* ------------------------------------------------------------------ helpers */

/* n * dim * size as a byte count, or false if it overflows size_t. */
static bool array_bytes(uint64_t n, uint64_t dim, uint64_t size, size_t *out) {
    uint64_t elems, bytes;
    if (__builtin_mul_overflow(n, dim, &elems) || __builtin_mul_overflow(elems, size, &bytes) ||
        bytes > SIZE_MAX)
        return false;
    *out = (size_t)bytes;
    return true;
}

/* ------------------------------------------------------------------ element conversion */

static float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* IEEE binary16 to binary32; every half is exactly representable. */
static float f16_to_f32(uint32_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0) { /* zero or subnormal: man * 2^-24 */
        float mag = (float)man * 0x1p-24f;
        return sign ? -mag : mag;
    }
    if (exp == 31) /* infinity or NaN, payload kept */
        return f32_from_bits(sign | 0x7f800000u | man << 13);
    return f32_from_bits(sign | (exp + 112) << 23 | man << 13);
}

/* Nearest float32 of a double. Converting an out-of-range double is
 * undefined in C, so the overflow to +-Inf is spelled out: values beyond
 * FLT_MAX round down to it until halfway to the next power of two. */
static float f64_to_f32(double d) {
    if (d >= 0x1.ffffffp+127)
        return INFINITY;
    if (d <= -0x1.ffffffp+127)
        return -INFINITY;
    if (d > 0x1.fffffep+127)
        return 0x1.fffffep+127f;
    if (d < -0x1.fffffep+127)
        return -0x1.fffffep+127f;
    return (float)d;
}

/* Converts one row of dim elements; `row` names it in messages. */
static vw_status convert_row(const unsigned char *p, vw_elem elem, uint32_t dim, float *out,
                             uint64_t row) {
    switch (elem) {
    case VW_ELEM_F32:
        if (HOST_LE)
            memcpy(out, p, (size_t)dim * 4);
        else
            for (uint32_t j = 0; j < dim; j++)
                out[j] = f32_from_bits(vw_le32(p + 4 * (size_t)j));
        break;
    case VW_ELEM_F64:
        for (uint32_t j = 0; j < dim; j++) {
            uint64_t bits = vw_le64(p + 8 * (size_t)j);
            double d;
            memcpy(&d, &bits, sizeof d);
            out[j] = f64_to_f32(d);
        }
        break;
    case VW_ELEM_F16:
        for (uint32_t j = 0; j < dim; j++)
            out[j] = f16_to_f32((uint32_t)p[2 * j] | (uint32_t)p[2 * j + 1] << 8);
        break;
    case VW_ELEM_U8:
        for (uint32_t j = 0; j < dim; j++)
            out[j] = (float)p[j];
        break;
    case VW_ELEM_I32:
        for (uint32_t j = 0; j < dim; j++) {
            int32_t v = (int32_t)vw_le32(p + 4 * (size_t)j);
            float f = (float)v;
            /* The API promises exact conversion; |v| > 2^24 may not be. */
            if ((double)f != (double)v)
                return vw_fail(VW_ERR_UNSUPPORTED,
                               "row %" PRIu64 ", column %" PRIu32 ": int32 value %" PRId32
                               " is not exactly representable as float32",
                               row, j, v);
            out[j] = f;
        }
        break;
    }
    return VW_OK;
}

/* ------------------------------------------------------------------ byte sources */

/* A file (pread on fd) or a memory buffer (mem), `size` bytes long. */
typedef struct source {
    const unsigned char *mem;
    int fd;
    uint64_t size;
} source;

/* Reads len bytes at off; the caller has checked off + len <= size. */
static vw_status source_read(const source *s, uint64_t off, void *dst, size_t len) {
    if (s->mem != NULL) {
        memcpy(dst, s->mem + off, len);
        return VW_OK;
    }
    return vw_pread_full(s->fd, dst, len, off, NULL);
}

/* ------------------------------------------------------------------ headers */

/* A file whose extension says one format but whose bytes say npy would give
 * a baffling dimension error; say what it is instead. */
static vw_status refuse_npy_content(const source *s, vw_dataset_format format) {
    unsigned char head[6];
    if (s->size < sizeof head)
        return VW_OK;
    vw_status st = source_read(s, 0, head, sizeof head);
    if (st == VW_OK && memcmp(head, "\x93NUMPY", sizeof head) == 0)
        return vw_fail(VW_ERR_FORMAT, "the file is an .npy file, not .%s", formats[format].ext);
    return st;
}

static vw_status npy_layout(const source *s, vw_layout *lay) {
    unsigned char pre[VW_NPY_PREAMBLE_MAX];
    size_t avail = s->size < sizeof pre ? (size_t)s->size : sizeof pre;
    uint64_t hoff, hlen;
    vw_status st = source_read(s, 0, pre, avail);
    if (st == VW_OK)
        st = vw_npy_preamble(pre, avail, s->size, &hoff, &hlen);
    if (st != VW_OK)
        return st;
    char *text = malloc((size_t)hlen);
    if (text == NULL)
        return vw_fail(VW_ERR_NOMEM, "npy header of %" PRIu64 " bytes", hlen);
    st = source_read(s, hoff, text, (size_t)hlen);
    if (st == VW_OK)
        st = vw_npy_parse_header(text, (size_t)hlen, lay);
    free(text);
    if (st != VW_OK)
        return st;
    lay->row_prefix = 0;
    lay->data_off = hoff + hlen;

    size_t need;
    uint64_t have = s->size - lay->data_off;
    if (!array_bytes(lay->n, lay->dim, elem_size(lay->elem), &need) || need > have)
        return vw_fail(VW_ERR_TRUNCATED,
                       "npy header says %" PRIu64 " x %" PRIu32
                       " elements of %zu bytes but only %" PRIu64 " data bytes follow it",
                       lay->n, lay->dim, elem_size(lay->elem), have);
    if (need < have)
        return vw_fail(VW_ERR_CORRUPT,
                       "npy file has %" PRIu64 " bytes after its %" PRIu64 " x %" PRIu32 " array",
                       have - need, lay->n, lay->dim);
    return VW_OK;
}

static vw_status check_dim(int64_t dim, const char *where) {
    if (dim < 1 || dim > (int64_t)VW_MAX_DIM)
        return vw_fail(VW_ERR_DIMENSION, "%s: dimension %" PRId64 " is not in 1..%u", where, dim,
                       VW_MAX_DIM);
    return VW_OK;
}

/* n is the number of whole rows; a partial last row is refused by
 * check_vecs_tail before any row is read. */
static vw_status vecs_layout(const source *s, vw_dataset_format format, vw_layout *lay) {
    unsigned char head[4];
    if (s->size < sizeof head)
        return vw_fail(VW_ERR_TRUNCATED, "file of %" PRIu64 " bytes ends inside the first row",
                       s->size);
    vw_status st = source_read(s, 0, head, sizeof head);
    if (st == VW_OK)
        st = check_dim((int32_t)vw_le32(head), "row 0");
    if (st != VW_OK)
        return st;
    lay->dim = vw_le32(head);
    lay->elem = formats[format].elem;
    lay->row_prefix = 4;
    lay->data_off = 0;
    lay->n = s->size / (4 + lay->dim * elem_size(lay->elem));
    if (lay->n == 0)
        return vw_fail(VW_ERR_TRUNCATED,
                       "file of %" PRIu64 " bytes ends inside the first row (dimension %" PRIu32
                       ")",
                       s->size, lay->dim);
    return VW_OK;
}

static vw_status ragged_row(uint64_t row, int32_t dim, uint32_t want) {
    return vw_fail(VW_ERR_CORRUPT,
                   "row %" PRIu64 " has dimension %" PRId32 " but row 0 has %" PRIu32, row, dim,
                   want);
}

/* A file that does not end on a row boundary is most often ragged earlier:
 * one row of another dimension shifts every row after it. Names the first
 * such row, as reading the rows in order would. */
static vw_status find_ragged_row(const source *s, const vw_layout *lay, size_t row_bytes) {
    uint64_t chunk_rows = CHUNK_BYTES / row_bytes;
    unsigned char *buf = malloc(CHUNK_BYTES);
    if (buf == NULL)
        return VW_OK; /* the cut last row is still reported */
    vw_status st = VW_OK;
    for (uint64_t r = 0; r < lay->n && st == VW_OK; r += chunk_rows) {
        uint64_t part = lay->n - r < chunk_rows ? lay->n - r : chunk_rows;
        st = source_read(s, r * row_bytes, buf, (size_t)part * row_bytes);
        for (uint64_t i = 0; i < part && st == VW_OK; i++)
            if (vw_le32(buf + i * row_bytes) != lay->dim)
                st = ragged_row(r + i, (int32_t)vw_le32(buf + i * row_bytes), lay->dim);
    }
    free(buf);
    return st;
}

static vw_status check_vecs_tail(const source *s, const vw_layout *lay) {
    uint64_t row_bytes = 4 + lay->dim * elem_size(lay->elem);
    uint64_t tail = s->size - lay->n * row_bytes;
    if (tail == 0)
        return VW_OK;
    vw_status st = find_ragged_row(s, lay, (size_t)row_bytes);
    if (st != VW_OK)
        return st;
    if (tail >= 4) {
        unsigned char head[4];
        st = source_read(s, lay->n * row_bytes, head, sizeof head);
        if (st != VW_OK)
            return st;
        if (vw_le32(head) != lay->dim)
            return ragged_row(lay->n, (int32_t)vw_le32(head), lay->dim);
    }
    return vw_fail(VW_ERR_TRUNCATED,
                   "file size %" PRIu64 " is not a multiple of the row size %" PRIu64
                   " (dimension %" PRIu32 "): row %" PRIu64 " is cut after %" PRIu64 " bytes",
                   s->size, row_bytes, lay->dim, lay->n, tail);
}

static vw_status bin_layout(const source *s, vw_dataset_format format, vw_layout *lay) {
    unsigned char head[8];
    if (s->size < sizeof head)
        return vw_fail(VW_ERR_TRUNCATED, "file of %" PRIu64 " bytes ends inside the 8-byte header",
                       s->size);
    vw_status st = source_read(s, 0, head, sizeof head);
    if (st == VW_OK)
        st = check_dim(vw_le32(head + 4), "header");
    if (st != VW_OK)
        return st;
    lay->n = vw_le32(head);
    lay->dim = vw_le32(head + 4);
    lay->elem = formats[format].elem;
    lay->row_prefix = 0;
    lay->data_off = sizeof head;
    if (lay->n == 0)
        return vw_fail(VW_ERR_UNSUPPORTED, "header says 0 rows: the file holds no vectors");
    /* n < 2^32, dim <= VW_MAX_DIM, size <= 4: no overflow in 64 bits. */
    uint64_t need = lay->n * lay->dim * elem_size(lay->elem), have = s->size - sizeof head;
    if (need > have)
        return vw_fail(VW_ERR_TRUNCATED,
                       "header says %" PRIu64 " x %" PRIu32 " (%" PRIu64
                       " data bytes) but the file has %" PRIu64,
                       lay->n, lay->dim, need, have);
    if (need < have)
        return vw_fail(VW_ERR_CORRUPT,
                       "%" PRIu64 " bytes after the %" PRIu64 " x %" PRIu32 " array", have - need,
                       lay->n, lay->dim);
    return VW_OK;
}

/* ------------------------------------------------------------------ rows */

/* Header checks shared by every way of reading: the layout of the rows,
 * checked against the size of the source. A *vecs file's rows are whole
 * (a cut last row is refused here, before any row is converted); each row's
 * own dimension prefix is checked as it is read. */
static vw_status open_layout(const source *s, vw_dataset_format format, vw_layout *lay) {
    layout_kind kind = formats[format].kind;
    if (s->size == 0)
        return vw_fail(VW_ERR_TRUNCATED, "the file is empty");
    vw_status st = kind == KIND_NPY ? VW_OK : refuse_npy_content(s, format);
    if (st == VW_OK)
        st = kind == KIND_NPY    ? npy_layout(s, lay)
             : kind == KIND_VECS ? vecs_layout(s, format, lay)
                                 : bin_layout(s, format, lay);
    if (st == VW_OK && kind == KIND_VECS)
        st = check_vecs_tail(s, lay);
    return st;
}

/* Converts rows first..first+rows-1 into out. `buf` holds CHUNK_BYTES for
 * formats that need converting (NULL for raw little-endian float32, which is
 * read straight into out). */
static vw_status read_rows(const source *s, const vw_layout *lay, uint64_t first, uint64_t rows,
                           unsigned char *buf, float *out) {
    size_t payload = lay->dim * elem_size(lay->elem);
    size_t row_bytes = lay->row_prefix + payload;
    if (buf == NULL)
        return source_read(s, lay->data_off + first * payload, out, (size_t)rows * payload);

    uint64_t chunk_rows = CHUNK_BYTES / row_bytes; /* >= 31: a row is at most 32772 bytes */
    vw_status st = VW_OK;
    for (uint64_t done = 0; done < rows && st == VW_OK; done += chunk_rows) {
        uint64_t r = first + done, part = rows - done < chunk_rows ? rows - done : chunk_rows;
        st = source_read(s, lay->data_off + r * row_bytes, buf, (size_t)part * row_bytes);
        for (uint64_t i = 0; i < part && st == VW_OK; i++) {
            const unsigned char *p = buf + i * row_bytes;
            if (lay->row_prefix != 0 && vw_le32(p) != lay->dim)
                st = ragged_row(r + i, (int32_t)vw_le32(p), lay->dim);
            else
                st = convert_row(p + lay->row_prefix, lay->elem, lay->dim,
                                 out + (done + i) * lay->dim, r + i);
        }
    }
    return st;
}

/* The conversion buffer a layout needs, in *buf (NULL when the rows are
 * read in place). */
static vw_status alloc_chunk(const vw_layout *lay, unsigned char **buf) {
    *buf = NULL;
    if (HOST_LE && lay->elem == VW_ELEM_F32 && lay->row_prefix == 0)
        return VW_OK;
    *buf = malloc(CHUNK_BYTES);
    return *buf ? VW_OK : vw_fail(VW_ERR_NOMEM, "read buffer");
}

static vw_status parse_source(const source *s, vw_dataset_format format, vw_dataset **out) {
    vw_layout lay;
    vw_status st = open_layout(s, format, &lay);
    if (st != VW_OK)
        return st;
    size_t bytes;
    if (!array_bytes(lay.n, lay.dim, sizeof(float), &bytes))
        return vw_fail(VW_ERR_NOMEM, "%" PRIu64 " x %" PRIu32 " floats do not fit in memory", lay.n,
                       lay.dim);
    vw_dataset *ds = malloc(sizeof *ds);
    float *data = malloc(bytes);
    unsigned char *buf = NULL;
    st = ds && data ? alloc_chunk(&lay, &buf)
                    : vw_fail(VW_ERR_NOMEM, "%" PRIu64 " x %" PRIu32 " floats", lay.n, lay.dim);
    if (st == VW_OK)
        st = read_rows(s, &lay, 0, lay.n, buf, data);
    free(buf);
    if (st != VW_OK) {
        free(ds);
        free(data);
        return st;
    }
    *ds = (vw_dataset){.n = lay.n, .dim = lay.dim, .data = data};
    *out = ds;
    return VW_OK;
}

vw_status vw_dataset_parse(const void *bytes, size_t len, vw_dataset_format format,
                           vw_dataset **out) {
    vw_clear_detail();
    if (out == NULL || (bytes == NULL && len > 0))
        return vw_fail(VW_ERR_NULL_ARG, "bytes or out is NULL");
    *out = NULL;
    if (!format_valid(format))
        return vw_fail(VW_ERR_INVALID_ARG, "invalid dataset format %d", (int)format);
    source s = {bytes, -1, len};
    return parse_source(&s, format, out);
}

/* Opens a vector file as a source read sequentially. */
static vw_status open_file(const char *path, vw_dataset_format *format, source *s) {
    vw_status st = resolve_format(path, *format, format);
    if (st != VW_OK)
        return st;
    int fd;
    uint64_t size;
    st = vw_open_regular(path, NULL, &fd, &size);
    if (st != VW_OK)
        return st;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *s = (source){NULL, fd, size};
    return VW_OK;
}

vw_status vw_dataset_read(const char *path, vw_dataset_format format, vw_dataset **out) {
    vw_clear_detail();
    if (path == NULL || out == NULL)
        return vw_fail(VW_ERR_NULL_ARG, "path or out is NULL");
    *out = NULL;
    source s;
    vw_status st = open_file(path, &format, &s);
    if (st != VW_OK)
        return st;
    st = parse_source(&s, format, out);
    close(s.fd);
    return st;
}

/* ------------------------------------------------------------------ streaming */

struct vw_dataset_reader {
    source s;
    vw_layout lay;
    uint64_t next;      /* first row not read yet */
    unsigned char *buf; /* conversion chunk, NULL for raw float32 */
};

vw_status vw_dataset_open(const char *path, vw_dataset_format format, vw_dataset_reader **out) {
    vw_clear_detail();
    if (path == NULL || out == NULL)
        return vw_fail(VW_ERR_NULL_ARG, "path or out is NULL");
    *out = NULL;
    vw_dataset_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return vw_fail(VW_ERR_NOMEM, "dataset reader");
    vw_status st = open_file(path, &format, &r->s);
    if (st != VW_OK) {
        free(r);
        return st;
    }
    st = open_layout(&r->s, format, &r->lay);
    if (st == VW_OK)
        st = alloc_chunk(&r->lay, &r->buf);
    if (st != VW_OK) {
        vw_dataset_close(r);
        return st;
    }
    *out = r;
    return VW_OK;
}

uint64_t vw_dataset_rows(const vw_dataset_reader *r) {
    return r ? r->lay.n : 0;
}

uint32_t vw_dataset_dim(const vw_dataset_reader *r) {
    return r ? r->lay.dim : 0;
}

vw_status vw_dataset_read_next(vw_dataset_reader *r, float *out, uint64_t max_rows, uint64_t *got) {
    vw_clear_detail();
    if (r == NULL || got == NULL || (out == NULL && max_rows > 0))
        return vw_fail(VW_ERR_NULL_ARG, "reader, out or got is NULL");
    *got = 0;
    uint64_t rows = r->lay.n - r->next < max_rows ? r->lay.n - r->next : max_rows;
    if (rows == 0)
        return VW_OK;
    vw_status st = read_rows(&r->s, &r->lay, r->next, rows, r->buf, out);
    if (st != VW_OK)
        return st;
    r->next += rows;
    *got = rows;
    return VW_OK;
}

void vw_dataset_close(vw_dataset_reader *r) {
    if (r == NULL)
        return;
    close(r->s.fd);
    free(r->buf);
    free(r);
}

void vw_dataset_free(vw_dataset *dataset) {
    if (dataset == NULL)
        return;
    free(dataset->data);
    free(dataset);
}

/* ------------------------------------------------------------------ writing */

/* Encodes one row; refuses values the element type cannot hold. */
static vw_status encode_row(const float *v, uint32_t dim, vw_elem elem, unsigned char *p,
                            uint64_t row) {
    for (uint32_t j = 0; j < dim; j++) {
        float x = v[j];
        if (elem == VW_ELEM_F32) {
            uint32_t bits;
            memcpy(&bits, &x, sizeof bits);
            vw_put_le32(p + 4 * (size_t)j, bits);
        } else if (elem == VW_ELEM_U8) {
            float r = roundf(x);
            if (!(r >= 0.0f && r <= 255.0f))
                return vw_fail(VW_ERR_INVALID_ARG,
                               "row %" PRIu64 ", column %" PRIu32 ": value %g is not in 0..255",
                               row, j, (double)x);
            p[j] = (unsigned char)r;
        } else {
            if (!(x >= -2147483648.0f && x < 2147483648.0f) || x != truncf(x))
                return vw_fail(VW_ERR_INVALID_ARG,
                               "row %" PRIu64 ", column %" PRIu32 ": value %g is not an int32", row,
                               j, (double)x);
            vw_put_le32(p + 4 * (size_t)j, (uint32_t)(int32_t)x);
        }
    }
    return VW_OK;
}

static vw_status write_header(int fd, vw_dataset_format format, uint64_t n, uint32_t dim) {
    unsigned char head[VW_NPY_WRITE_MAX];
    size_t len = 0;
    vw_status st = VW_OK;
    if (formats[format].kind == KIND_NPY) {
        st = vw_npy_format_header(n, dim, head, sizeof head, &len);
    } else if (formats[format].kind == KIND_BIN) {
        vw_put_le32(head, (uint32_t)n);
        vw_put_le32(head + 4, dim);
        len = 8;
    }
    return st == VW_OK ? vw_write_all(fd, head, len) : st;
}

static vw_status write_rows(int fd, vw_dataset_format format, const float *data, uint64_t n,
                            uint32_t dim) {
    vw_elem elem = formats[format].elem;
    size_t prefix = formats[format].kind == KIND_VECS ? 4 : 0;
    size_t row_bytes = prefix + dim * elem_size(elem);
    if (HOST_LE && elem == VW_ELEM_F32 && prefix == 0)
        return vw_write_all(fd, data, (size_t)n * dim * sizeof(float));

    size_t chunk_rows = CHUNK_BYTES / row_bytes;
    unsigned char *buf = malloc(chunk_rows * row_bytes);
    if (buf == NULL)
        return vw_fail(VW_ERR_NOMEM, "write buffer");
    vw_status st = VW_OK;
    for (uint64_t r = 0; r < n && st == VW_OK; r += chunk_rows) {
        size_t rows = n - r < chunk_rows ? (size_t)(n - r) : chunk_rows;
        for (size_t i = 0; i < rows && st == VW_OK; i++) {
            unsigned char *p = buf + i * row_bytes;
            if (prefix)
                vw_put_le32(p, dim);
            st = encode_row(data + (r + i) * dim, dim, elem, p + prefix, r + i);
        }
        if (st == VW_OK)
            st = vw_write_all(fd, buf, rows * row_bytes);
    }
    free(buf);
    return st;
}

vw_status vw_dataset_write(const char *path, vw_dataset_format format, const float *data,
                           uint64_t n, uint32_t dim) {
    vw_clear_detail();
    if (path == NULL || data == NULL)
        return vw_fail(VW_ERR_NULL_ARG, "path or data is NULL");
    vw_status st = resolve_format(path, format, &format);
    if (st != VW_OK)
        return st;
    st = check_dim(dim, "write");
    if (st != VW_OK)
        return st;
    size_t bytes;
    if (n == 0)
        return vw_fail(VW_ERR_INVALID_ARG, "no rows to write (n = 0)");
    if (formats[format].kind == KIND_BIN && n > UINT32_MAX)
        return vw_fail(VW_ERR_INVALID_ARG, "%" PRIu64 " rows exceed the uint32 count of .%s", n,
                       formats[format].ext);
    if (!array_bytes(n, dim, sizeof(float), &bytes))
        return vw_fail(VW_ERR_INVALID_ARG, "%" PRIu64 " x %" PRIu32 " floats overflow", n, dim);

    vw_atomic_file af = {-1, path, NULL};
    st = vw_atomic_open(path, &af);
    if (st != VW_OK)
        return st;
    st = write_header(af.fd, format, n, dim);
    if (st == VW_OK)
        st = write_rows(af.fd, format, data, n, dim);
    if (st != VW_OK) {
        vw_atomic_abort(&af);
        return st;
    }
    return vw_atomic_commit(&af, NULL);
}
