/* .npy reading: files built byte by byte (versions 1.0, 2.0, 3.0; dtypes
 * f4, f8, f2, u1), conversions to float32, and every refusal. Each case is
 * read both from a file (vw_dataset_read) and from memory
 * (vw_dataset_parse), which must agree. */
#include "dataset_internal.h"
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[96];
static unsigned char file[1 << 20];

/* An npy file: preamble of `major`.0, the dict padded with spaces to a
 * multiple of 64 and ended by '\n' (as numpy writes it), then the data. */
static size_t make_npy(unsigned major, const char *dict, const void *data, size_t data_len) {
    size_t pre = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t total = (pre + dlen + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(file, "\x93NUMPY", 6);
    file[6] = (unsigned char)major;
    file[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        file[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(file + pre, dict, dlen);
    memset(file + pre + dlen, ' ', hlen - dlen - 1);
    file[total - 1] = '\n';
    memcpy(file + total, data, data_len);
    return total + data_len;
}

/* Reads `len` bytes of `file` both ways; returns the file read's status and
 * dataset, after checking that the memory parse agrees. */
static vw_status load(size_t len, vw_dataset **out) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(file, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    vw_dataset *mem = NULL;
    vw_status st_mem = vw_dataset_parse(file, len, VW_FORMAT_NPY, &mem);
    char detail_mem[256];
    snprintf(detail_mem, sizeof detail_mem, "%s", vw_last_error_detail());
    vw_status st = vw_dataset_read(path, VW_FORMAT_AUTO, out);
    CHECK(st == st_mem);
    CHECK(strcmp(detail_mem, vw_last_error_detail()) == 0);
    CHECK((st == VW_OK) == (*out != NULL) && (st_mem == VW_OK) == (mem != NULL));
    if (st == VW_OK && mem != NULL && *out != NULL) {
        CHECK(mem->n == (*out)->n && mem->dim == (*out)->dim);
        CHECK(memcmp(mem->data, (*out)->data, mem->n * mem->dim * sizeof(float)) == 0);
    }
    vw_dataset_free(mem);
    return st;
}

static vw_status load_dict(unsigned major, const char *dict, const void *data, size_t len,
                           vw_dataset **out) {
    return load(make_npy(major, dict, data, len), out);
}

/* Expects a refusal with `status` and a detail containing `words`. */
static void refuse(const char *dict, size_t data_len, vw_status status, const char *words) {
    static const unsigned char zeros[4096];
    vw_dataset *ds = NULL;
    vw_status st = load_dict(1, dict, zeros, data_len, &ds);
    if (st != status || strstr(vw_last_error_detail(), words) == NULL) {
        fprintf(stderr, "npy %s: got %s / '%s', want %s / '%s'\n", dict, vw_strerror(st),
                vw_last_error_detail(), vw_strerror(status), words);
        check_failures++;
    }
    vw_dataset_free(ds);
}

static bool same_float(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void test_f4_versions(void) {
    float v[6] = {1.5f, -2.0f, 0.0f, 3.25e-10f, 1e30f, -7.0f};
    for (unsigned major = 1; major <= 3; major++) {
        vw_dataset *ds = NULL;
        CHECK(load_dict(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v,
                        sizeof v, &ds) == VW_OK);
        CHECK(ds != NULL && ds->n == 2 && ds->dim == 3 && memcmp(ds->data, v, sizeof v) == 0);
        vw_dataset_free(ds);
    }
}

/* Variants of the dict that numpy (or Python's literal syntax) allows. */
static void test_header_variants(void) {
    static const char *dicts[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{ 'descr' :'<f4' ,\t'fortran_order':False,\n'shape':( 2 , 3 , ) , }",
    };
    float v[6] = {1, 2, 3, 4, 5, 6};
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        vw_dataset *ds = NULL;
        CHECK(load_dict(1, dicts[i], v, sizeof v, &ds) == VW_OK);
        CHECK(ds != NULL && ds->n == 2 && ds->dim == 3 && memcmp(ds->data, v, sizeof v) == 0);
        vw_dataset_free(ds);
    }
}

static void test_f8(void) {
    double d[8] = {0.1, -1e300, 1e300, 0x1.fffffe8p127, 0x1.ffffffp127, -0.0, 1e-50, NAN};
    float want[8] = {0.1f, -INFINITY, INFINITY, 0x1.fffffep127f, INFINITY, -0.0f, 0.0f, NAN};
    vw_dataset *ds = NULL;
    for (unsigned major = 1; major <= 3; major += 2) {
        CHECK(load_dict(major, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }", d,
                        sizeof d, &ds) == VW_OK);
        for (int i = 0; ds && i < 8; i++)
            CHECK(same_float(ds->data[i], want[i]));
        vw_dataset_free(ds);
    }
    /* In range, the conversion is the compiler's round-to-nearest. */
    double r[4096];
    for (int i = 0; i < 4096; i++)
        r[i] = (i % 2 ? -1.0 : 1.0) * ldexp(1.0 + i / 4096.0 + 1e-9 * i, i % 200 - 100);
    CHECK(load_dict(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4096), }", r,
                    sizeof r, &ds) == VW_OK);
    for (int i = 0; ds && i < 4096; i++)
        CHECK(ds->data[i] == (float)r[i]);
    vw_dataset_free(ds);
}

/* Independent of the reader's bit manipulation: value = significand * 2^e. */
static float half_reference(uint16_t h) {
    int exp = (h >> 10) & 31, man = h & 1023;
    double mag = exp == 0    ? ldexp(man, -24)
                 : exp == 31 ? (man ? NAN : INFINITY)
                             : ldexp(1024 + man, exp - 25);
    return (float)((h & 0x8000) ? -mag : mag);
}

static void test_f2(void) {
    uint16_t h[8] = {0x3c00, 0xc000, 0x3555, 0x7bff, 0x0400, 0x0001, 0x8000, 0x7c00};
    float want[8] = {1.0f, -2.0f, 0.333251953125f, 65504.0f, 0x1p-14f, 0x1p-24f, -0.0f, INFINITY};
    vw_dataset *ds = NULL;
    CHECK(load_dict(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 4), }", h, sizeof h,
                    &ds) == VW_OK);
    for (int i = 0; ds && i < 8; i++)
        CHECK(same_float(ds->data[i], want[i]));
    vw_dataset_free(ds);

    /* Every one of the 65536 halves, including subnormals, Inf and NaN. */
    static uint16_t all[65536];
    for (uint32_t i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    CHECK(load_dict(3, "{'descr': '<f2', 'fortran_order': False, 'shape': (16, 4096), }", all,
                    sizeof all, &ds) == VW_OK);
    for (uint32_t i = 0; ds && i < 65536; i++)
        if (!same_float(ds->data[i], half_reference((uint16_t)i))) {
            fprintf(stderr, "half 0x%04x: got %g want %g\n", i, (double)ds->data[i],
                    (double)half_reference((uint16_t)i));
            check_failures++;
            break;
        }
    vw_dataset_free(ds);
}

static void test_u1(void) {
    unsigned char b[256];
    for (int i = 0; i < 256; i++)
        b[i] = (unsigned char)(255 - i);
    vw_dataset *ds = NULL;
    CHECK(load_dict(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (64, 4), }", b, sizeof b,
                    &ds) == VW_OK);
    for (int i = 0; ds && i < 256; i++)
        CHECK(ds->data[i] == (float)(255 - i));
    vw_dataset_free(ds);
}

static void test_refusals(void) {
    refuse("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", 48, VW_ERR_UNSUPPORTED,
           "complex64");
    refuse("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, VW_ERR_UNSUPPORTED,
           "big-endian");
    refuse("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 24, VW_ERR_UNSUPPORTED,
           "int32");
    refuse("{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3), }", 24, VW_ERR_UNSUPPORTED,
           "byte order");
    refuse("{'descr': 'float32', 'fortran_order': False, 'shape': (2, 3), }", 24,
           VW_ERR_UNSUPPORTED, "float32");
    refuse("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
           VW_ERR_UNSUPPORTED, "structured");
    refuse("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, VW_ERR_UNSUPPORTED,
           "Fortran");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 24, VW_ERR_UNSUPPORTED,
           "rank 1");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1), }", 24, VW_ERR_UNSUPPORTED,
           "rank 3");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, VW_ERR_UNSUPPORTED,
           "rank 0");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 0, VW_ERR_UNSUPPORTED,
           "no vectors");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", 0, VW_ERR_DIMENSION,
           "dimension 0");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5000), }", 4096, VW_ERR_DIMENSION,
           "dimension 5000");
    /* Data and header disagree. */
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", 36, VW_ERR_TRUNCATED,
           "4 x 3");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 3), }", 24,
           VW_ERR_TRUNCATED, "1000000 x 3");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 4), }", 16,
           VW_ERR_TRUNCATED, "data bytes");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, VW_ERR_CORRUPT,
           "4 bytes after");
    /* Malformed dicts. */
    refuse("{'descr': '<f4', 'fortran_order': False, }", 24, VW_ERR_CORRUPT, "missing key 'shape'");
    refuse("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24,
           VW_ERR_CORRUPT, "duplicate key");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24, VW_ERR_CORRUPT,
           "unexpected key 'x'");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", 24, VW_ERR_CORRUPT,
           "expected ','");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24, VW_ERR_CORRUPT,
           "non-negative integer");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }", 24,
           VW_ERR_CORRUPT, "too large");
    char deep[256] = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (int i = 0; i < 65; i++)
        strcat(deep, "1,");
    strcat(deep, ")}");
    refuse(deep, 4, VW_ERR_CORRUPT, "too many dimensions");
    refuse("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }", 24, VW_ERR_CORRUPT,
           "True or False");
    refuse("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }", 24, VW_ERR_CORRUPT,
           "npy header");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 24, VW_ERR_CORRUPT,
           "after the dict");
    refuse("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", 24, VW_ERR_CORRUPT,
           "expected '{'");
}

static void expect_bytes(const void *bytes, size_t len, vw_status status) {
    vw_dataset *ds = NULL;
    memcpy(file, bytes, len);
    vw_status st = load(len, &ds);
    if (st != status) {
        fprintf(stderr, "preamble case of %zu bytes: got %s (%s), want %s\n", len, vw_strerror(st),
                vw_last_error_detail(), vw_strerror(status));
        check_failures++;
    }
    vw_dataset_free(ds);
}

static void test_preamble(void) {
    expect_bytes("\x93NUM", 4, VW_ERR_TRUNCATED);
    expect_bytes("\x93NUMPY\x01\x00\x10", 9, VW_ERR_TRUNCATED);
    expect_bytes("\x93NUMPY\x02\x00\x10\x00\x00", 11, VW_ERR_TRUNCATED);
    expect_bytes("PK\x03\x04 this is a zip, not an npy", 30, VW_ERR_FORMAT);
    expect_bytes("\x93NUMPX\x01\x00\x00\x00", 10, VW_ERR_FORMAT);
    expect_bytes("\x93NUMPY\x04\x00\x10\x00\x00\x00{}", 14, VW_ERR_VERSION);
    expect_bytes("\x93NUMPY\x01\x01\x02\x00{}", 12, VW_ERR_VERSION);
    expect_bytes("\x93NUMPY\x01\x00\x00\x00{}", 12, VW_ERR_CORRUPT);
    expect_bytes("\x93NUMPY\x01\x00\x40\x00{}", 12, VW_ERR_TRUNCATED);
    expect_bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, VW_ERR_TRUNCATED);
    expect_bytes("", 0, VW_ERR_TRUNCATED);
}

int main(void) {
    char dir[64];
    if (tu_tempdir(dir, "vwnpy") != 0)
        return 1;
    snprintf(path, sizeof path, "%s/t.npy", dir);
    test_f4_versions();
    test_header_variants();
    test_f8();
    test_f2();
    test_u1();
    test_refusals();
    test_preamble();
    unlink(path);
    rmdir(dir);
    return tu_result("test_dataset_npy");
}
