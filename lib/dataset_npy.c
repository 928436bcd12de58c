/*
 * dataset_npy.c - the NumPy .npy header: reading versions 1.0, 2.0 and 3.0,
 * writing version 1.0.
 *
 * An npy file is "\x93NUMPY", a major and a minor version byte, the header
 * length (uint16 little-endian in 1.0, uint32 in 2.0 and 3.0), the header
 * text, then the raw array. The header is a Python dict literal such as
 *
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }
 *
 * padded with spaces and ended by '\n'. We parse exactly that grammar
 * (string keys, the three keys numpy writes, each once; whitespace and a
 * trailing comma allowed) rather than evaluating Python, and refuse
 * anything else: a header we misread would mean silently wrong vectors.
 */
#include "bytes.h"
#include "dataset_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

vw_status vw_npy_preamble(const unsigned char *p, size_t avail, uint64_t file_size,
                          uint64_t *header_off, uint64_t *header_len) {
    size_t cmp = avail < sizeof npy_magic ? avail : sizeof npy_magic;
    if (memcmp(p, npy_magic, cmp) != 0)
        return vw_fail(VW_ERR_FORMAT, "not an npy file: no \\x93NUMPY magic");
    if (avail < 8)
        return vw_fail(VW_ERR_TRUNCATED, "npy file ends inside its preamble (%zu bytes)", avail);
    unsigned major = p[6], minor = p[7];
    if (major < 1 || major > 3 || minor != 0)
        return vw_fail(VW_ERR_VERSION, "npy format version %u.%u; supported: 1.0, 2.0, 3.0", major,
                       minor);
    size_t pre = major == 1 ? 10 : 12;
    if (avail < pre)
        return vw_fail(VW_ERR_TRUNCATED, "npy file ends inside its preamble (%zu bytes)", avail);
    uint64_t hlen = major == 1 ? vw_le16(p + 8) : vw_le32(p + 8);
    if (hlen == 0)
        return vw_fail(VW_ERR_CORRUPT, "npy header length is 0");
    if (hlen > file_size - pre)
        return vw_fail(VW_ERR_TRUNCATED,
                       "npy header length %" PRIu64 " exceeds the %" PRIu64
                       " bytes after the preamble",
                       hlen, file_size - pre);
    if (hlen > VW_NPY_HEADER_MAX)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy header of %" PRIu64 " bytes exceeds the %u-byte limit", hlen,
                       VW_NPY_HEADER_MAX);
    *header_off = pre;
    *header_len = hlen;
    return VW_OK;
}

/* ------------------------------------------------------------------ header dict parser */

typedef struct npy_parser {
    const char *s;
    size_t len;
    size_t pos;
} npy_parser;

#define NPY_MAX_RANK 64u

/* What the header said, before it is judged. */
typedef struct npy_header {
    char descr[24];
    bool descr_too_long;
    bool fortran;
    uint32_t rank;
    uint64_t dims[2];
    size_t shape_start, shape_end; /* the tuple's text, for messages */
} npy_header;

static vw_status syntax(const npy_parser *p, const char *what) {
    return vw_fail(VW_ERR_CORRUPT, "npy header: %s at byte %zu", what, p->pos);
}

static void skip_ws(npy_parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static bool peek_is(const npy_parser *p, char c) {
    return p->pos < p->len && p->s[p->pos] == c;
}

static bool take(npy_parser *p, char c) {
    skip_ws(p);
    if (!peek_is(p, c))
        return false;
    p->pos++;
    return true;
}

/* A quoted string without escapes (no key or dtype numpy writes needs one).
 * Copies at most cap - 1 bytes to buf; *too_long tells if there were more. */
static vw_status parse_string(npy_parser *p, char *buf, size_t cap, bool *too_long) {
    skip_ws(p);
    if (!peek_is(p, '\'') && !peek_is(p, '"'))
        return syntax(p, "expected a quoted string");
    char quote = p->s[p->pos++];
    size_t n = 0;
    *too_long = false;
    for (;;) {
        if (p->pos >= p->len)
            return syntax(p, "unterminated string");
        char c = p->s[p->pos++];
        if (c == quote)
            break;
        if (c == '\\' || (unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
            return syntax(p, "unexpected character in string");
        if (n + 1 < cap)
            buf[n++] = c;
        else
            *too_long = true;
    }
    buf[n] = '\0';
    return VW_OK;
}

static bool take_word(npy_parser *p, const char *word) {
    size_t n = strlen(word);
    skip_ws(p);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static vw_status parse_bool(npy_parser *p, bool *out) {
    if (take_word(p, "True"))
        *out = true;
    else if (take_word(p, "False"))
        *out = false;
    else
        return syntax(p, "expected True or False");
    return VW_OK;
}

/* A non-negative decimal integer, with the 'L' suffix Python 2 numpy wrote. */
static vw_status parse_uint(npy_parser *p, uint64_t *out) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return syntax(p, "expected a non-negative integer");
    uint64_t v = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned digit = (unsigned)(p->s[p->pos] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return syntax(p, "shape value too large");
        v = v * 10 + digit;
        p->pos++;
    }
    if (peek_is(p, 'L'))
        p->pos++;
    *out = v;
    return VW_OK;
}

/* A Python tuple of integers: "()", "(5,)", "(5, 3)", "(5, 3,)". A single
 * element needs its comma: "(5)" is an int, not a tuple. */
static vw_status parse_shape(npy_parser *p, npy_header *h) {
    skip_ws(p);
    h->shape_start = p->pos;
    if (!take(p, '('))
        return syntax(p, "expected '(' for the shape");
    h->rank = 0;
    while (!take(p, ')')) {
        uint64_t v = 0;
        vw_status st = parse_uint(p, &v);
        if (st != VW_OK)
            return st;
        if (h->rank >= NPY_MAX_RANK)
            return syntax(p, "shape has too many dimensions");
        if (h->rank < 2)
            h->dims[h->rank] = v;
        h->rank++;
        if (take(p, ','))
            continue;
        if (h->rank == 1 || !take(p, ')'))
            return syntax(p, "expected ',' in the shape");
        break;
    }
    h->shape_end = p->pos;
    return VW_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static vw_status parse_value(npy_parser *p, int key, npy_header *h) {
    switch (key) {
    case KEY_DESCR:
        skip_ws(p);
        if (peek_is(p, '['))
            return vw_fail(VW_ERR_UNSUPPORTED,
                           "npy structured dtype (a list of fields) is not supported");
        return parse_string(p, h->descr, sizeof h->descr, &h->descr_too_long);
    case KEY_FORTRAN:
        return parse_bool(p, &h->fortran);
    default:
        return parse_shape(p, h);
    }
}

static vw_status parse_key(npy_parser *p, int *key) {
    char name[16];
    bool too_long;
    vw_status st = parse_string(p, name, sizeof name, &too_long);
    if (st != VW_OK)
        return st;
    if (!too_long && strcmp(name, "descr") == 0)
        *key = KEY_DESCR;
    else if (!too_long && strcmp(name, "fortran_order") == 0)
        *key = KEY_FORTRAN;
    else if (!too_long && strcmp(name, "shape") == 0)
        *key = KEY_SHAPE;
    else
        return vw_fail(VW_ERR_CORRUPT, "npy header: unexpected key '%s%s'", name,
                       too_long ? "..." : "");
    return VW_OK;
}

static vw_status parse_dict(npy_parser *p, npy_header *h) {
    int seen = 0;
    if (!take(p, '{'))
        return syntax(p, "expected '{'");
    while (!take(p, '}')) {
        int key = 0;
        vw_status st = parse_key(p, &key);
        if (st != VW_OK)
            return st;
        if (seen & key)
            return syntax(p, "duplicate key");
        seen |= key;
        if (!take(p, ':'))
            return syntax(p, "expected ':'");
        st = parse_value(p, key, h);
        if (st != VW_OK)
            return st;
        if (take(p, ','))
            continue;
        if (!take(p, '}'))
            return syntax(p, "expected ',' or '}'");
        break;
    }
    skip_ws(p);
    if (p->pos != p->len)
        return syntax(p, "unexpected text after the dict");
    if (!(seen & KEY_DESCR))
        return vw_fail(VW_ERR_CORRUPT, "npy header: missing key 'descr'");
    if (!(seen & KEY_FORTRAN))
        return vw_fail(VW_ERR_CORRUPT, "npy header: missing key 'fortran_order'");
    if (!(seen & KEY_SHAPE))
        return vw_fail(VW_ERR_CORRUPT, "npy header: missing key 'shape'");
    return VW_OK;
}

/* ------------------------------------------------------------------ judging the header */

typedef struct npy_type {
    const char *code;
    const char *name;
    int elem; /* a vw_elem, or -1 if we do not read it */
    unsigned size;
} npy_type;

/* Type codes numpy writes, with names for messages. */
static const npy_type npy_types[] = {
    {"f4", "float32", VW_ELEM_F32, 4},
    {"f8", "float64", VW_ELEM_F64, 8},
    {"f2", "float16", VW_ELEM_F16, 2},
    {"u1", "uint8", VW_ELEM_U8, 1},
    {"b1", "bool", -1, 1},
    {"i1", "int8", -1, 1},
    {"i2", "int16", -1, 2},
    {"i4", "int32", -1, 4},
    {"i8", "int64", -1, 8},
    {"u2", "uint16", -1, 2},
    {"u4", "uint32", -1, 4},
    {"u8", "uint64", -1, 8},
    {"f16", "float128", -1, 16},
    {"f12", "float96", -1, 12},
    {"c8", "complex64", -1, 8},
    {"c16", "complex128", -1, 16},
    {"c32", "complex256", -1, 32},
    {"O", "object", -1, 8},
};

#define NPY_SUPPORTED "supported: '<f4', '<f8', '<f2', '|u1'"

static vw_status judge_dtype(const npy_header *h, vw_elem *out) {
    const char *d = h->descr;
    const char *ell = h->descr_too_long ? "..." : "";
    char order = d[0];
    const char *code = (order == '<' || order == '>' || order == '|' || order == '=') ? d + 1 : d;
    const npy_type *t = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!h->descr_too_long && strcmp(code, npy_types[i].code) == 0)
            t = &npy_types[i];
    if (t == NULL || t->elem < 0)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy dtype '%s%s'%s%s%s is not supported; " NPY_SUPPORTED, d, ell,
                       t ? " (" : "", t ? t->name : "", t ? ")" : "");
    if (t->size > 1 && order == '>')
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy dtype '%s' is big-endian; only little-endian data is supported", d);
    if (t->size > 1 && order != '<')
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy dtype '%s' has no explicit byte order; " NPY_SUPPORTED, d);
    *out = (vw_elem)t->elem;
    return VW_OK;
}

static vw_status judge_shape(const npy_parser *p, const npy_header *h, vw_layout *out) {
    int shape_len = (int)(h->shape_end - h->shape_start);
    const char *shape = p->s + h->shape_start;
    if (shape_len > 60)
        shape_len = 60;
    if (h->fortran)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy array is in Fortran (column-major) order; only C order is supported");
    if (h->rank != 2)
        return vw_fail(VW_ERR_UNSUPPORTED,
                       "npy array has rank %" PRIu32 " (shape %.*s); need a 2-D array (rows, dim)",
                       h->rank, shape_len, shape);
    if (h->dims[1] < 1 || h->dims[1] > VW_MAX_DIM)
        return vw_fail(VW_ERR_DIMENSION, "npy shape %.*s: dimension %" PRIu64 " is not in 1..%u",
                       shape_len, shape, h->dims[1], VW_MAX_DIM);
    if (h->dims[0] == 0)
        return vw_fail(VW_ERR_UNSUPPORTED, "npy shape %.*s: the file holds no vectors", shape_len,
                       shape);
    out->n = h->dims[0];
    out->dim = (uint32_t)h->dims[1];
    return VW_OK;
}

vw_status vw_npy_parse_header(const char *text, size_t len, vw_layout *out) {
    npy_parser p = {text, len, 0};
    npy_header h;
    memset(&h, 0, sizeof h);
    vw_status st = parse_dict(&p, &h);
    if (st == VW_OK)
        st = judge_dtype(&h, &out->elem);
    if (st == VW_OK)
        st = judge_shape(&p, &h, out);
    return st;
}

/* ------------------------------------------------------------------ writing */

vw_status vw_npy_format_header(uint64_t n, uint32_t dim, unsigned char *buf, size_t cap,
                               size_t *len) {
    /* The dict goes after the 10-byte preamble; snprintf writes its NUL
     * there too, which the padding below overwrites. */
    const size_t pre = 10;
    if (cap < VW_NPY_WRITE_MAX)
        return vw_fail(VW_ERR_INVALID_ARG, "npy header buffer too small");
    int dict = snprintf(
        (char *)buf + pre, cap - pre,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRIu64 ", %" PRIu32 "), }", n, dim);
    size_t total = (pre + (size_t)dict + 1 + 63) / 64 * 64; /* + 1 for the '\n' */
    if (dict < 0 || total > cap)
        return vw_fail(VW_ERR_INVALID_ARG, "npy header does not fit");
    memcpy(buf, npy_magic, sizeof npy_magic);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)((total - pre) & 0xff);
    buf[9] = (unsigned char)((total - pre) >> 8);
    memset(buf + pre + dict, ' ', total - pre - (size_t)dict - 1);
    buf[total - 1] = '\n';
    *len = total;
    return VW_OK;
}
