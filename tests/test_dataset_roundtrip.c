/* Every format written by vw_dataset_write reads back equal, across chunk
 * boundaries, whole and through a vw_dataset_reader in pieces; writes are
 * atomic and refuse values the format cannot hold. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void remove_dir(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(tmp_path(e->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Number of entries in the directory whose name contains ".tmp." */
static int temp_files_left(void) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Values every format holds exactly: small non-negative integers, plus
 * fractions and negatives for the float formats. */
static float value(unsigned kind, uint64_t i) {
    if (kind == 0) /* u8 */
        return (float)(i * 7 % 256);
    if (kind == 1) /* int32: negatives and large exactly representable values */
        return (float)((int64_t)(i * 2654435761u % 4000001) - 2000000) * (i % 5 == 0 ? 1024 : 1);
    return (float)sin((double)i) * 1000.0f + 0.125f;
}

static unsigned kind_of(vw_dataset_format f) {
    if (f == VW_FORMAT_BVECS || f == VW_FORMAT_U8BIN)
        return 0;
    if (f == VW_FORMAT_IVECS || f == VW_FORMAT_IBIN)
        return 1;
    return 2;
}

static const struct {
    const char *name;
    vw_dataset_format format;
} files[] = {
    {"a.npy", VW_FORMAT_NPY},     {"a.fvecs", VW_FORMAT_FVECS}, {"a.bvecs", VW_FORMAT_BVECS},
    {"a.ivecs", VW_FORMAT_IVECS}, {"a.fbin", VW_FORMAT_FBIN},   {"a.u8bin", VW_FORMAT_U8BIN},
    {"a.ibin", VW_FORMAT_IBIN},
};
#define NFILES (sizeof files / sizeof files[0])

static void roundtrip(const char *name, vw_dataset_format write_fmt, vw_dataset_format read_fmt,
                      unsigned kind, uint64_t n, uint32_t dim) {
    float *v = malloc((size_t)n * dim * sizeof *v);
    for (uint64_t i = 0; i < n * dim; i++)
        v[i] = value(kind, i);
    const char *path = tmp_path(name);
    CHECK(vw_dataset_write(path, write_fmt, v, n, dim) == VW_OK);
    vw_dataset *ds = NULL;
    CHECK(vw_dataset_read(path, read_fmt, &ds) == VW_OK);
    if (ds != NULL) {
        CHECK(ds->n == n && ds->dim == dim);
        CHECK(ds->n == n && ds->dim == dim && memcmp(ds->data, v, (size_t)n * dim * 4) == 0);
    }
    vw_dataset_free(ds);
    /* The same rows through a reader, in pieces of growing size. */
    vw_dataset_reader *r = NULL;
    CHECK(vw_dataset_open(path, read_fmt, &r) == VW_OK);
    if (r != NULL) {
        CHECK(vw_dataset_rows(r) == n && vw_dataset_dim(r) == dim);
        float *piece = malloc((size_t)(n < 5000 ? n : 5000) * dim * sizeof *piece);
        uint64_t at = 0, got = 0, want = 1;
        for (; at < n; at += got, want = want * 3 + 1) {
            uint64_t ask = want < 5000 ? want : 5000;
            CHECK(vw_dataset_read_next(r, piece, ask, &got) == VW_OK);
            CHECK(got == (n - at < ask ? n - at : ask));
            CHECK(memcmp(piece, v + at * dim, (size_t)got * dim * 4) == 0);
            if (got == 0)
                break;
        }
        CHECK(vw_dataset_read_next(r, piece, 1, &got) == VW_OK && got == 0);
        free(piece);
    }
    vw_dataset_close(r);
    free(v);
}

static void test_roundtrips(void) {
    for (size_t f = 0; f < NFILES; f++) {
        unsigned kind = kind_of(files[f].format);
        roundtrip(files[f].name, VW_FORMAT_AUTO, VW_FORMAT_AUTO, kind, 5, 3);
        roundtrip(files[f].name, VW_FORMAT_AUTO, files[f].format, kind, 1, 1);
        roundtrip(files[f].name, files[f].format, VW_FORMAT_AUTO, kind, 2, VW_MAX_DIM);
        /* Rows of 4 + 3 * size bytes straddle the 1 MiB read chunks. */
        roundtrip(files[f].name, VW_FORMAT_AUTO, VW_FORMAT_AUTO, kind, 150001, 3);
        /* An explicit format wins over the extension. */
        roundtrip("data.bin", files[f].format, files[f].format, kind, 7, 5);
    }
    CHECK(temp_files_left() == 0);
}

static void test_format_from_path(void) {
    CHECK(vw_dataset_format_from_path("x.npy") == VW_FORMAT_NPY);
    CHECK(vw_dataset_format_from_path("/a.b/x.FVECS") == VW_FORMAT_FVECS);
    CHECK(vw_dataset_format_from_path("x.bvecs") == VW_FORMAT_BVECS);
    CHECK(vw_dataset_format_from_path("x.ivecs") == VW_FORMAT_IVECS);
    CHECK(vw_dataset_format_from_path("x.fbin") == VW_FORMAT_FBIN);
    CHECK(vw_dataset_format_from_path("x.u8bin") == VW_FORMAT_U8BIN);
    CHECK(vw_dataset_format_from_path("x.ibin") == VW_FORMAT_IBIN);
    CHECK(vw_dataset_format_from_path("x.npy.txt") == VW_FORMAT_AUTO);
    CHECK(vw_dataset_format_from_path("dir.npy/x") == VW_FORMAT_AUTO);
    CHECK(vw_dataset_format_from_path("npy") == VW_FORMAT_AUTO);
    CHECK(vw_dataset_format_from_path("") == VW_FORMAT_AUTO);
    CHECK(vw_dataset_format_from_path(NULL) == VW_FORMAT_AUTO);
}

/* The npy we write: version 1.0, '<f4', data at a multiple of 64, '\n'. */
static void test_npy_layout(void) {
    float v[6] = {1, 2, 3, 4, 5, 6};
    const char *path = tmp_path("layout.npy");
    CHECK(vw_dataset_write(path, VW_FORMAT_AUTO, v, 2, 3) == VW_OK);
    unsigned char buf[256];
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    CHECK(len == 10 + hlen + sizeof v);
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK((10 + hlen) % 64 == 0);
    CHECK(buf[10 + hlen - 1] == '\n');
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(memcmp(buf + 10, want, strlen(want)) == 0);
    CHECK(memcmp(buf + 10 + hlen, v, sizeof v) == 0);
}

static vw_status write1(const char *name, float x) {
    return vw_dataset_write(tmp_path(name), VW_FORMAT_AUTO, &x, 1, 1);
}

static float read1(const char *name) {
    vw_dataset *ds = NULL;
    float x = -1.0f;
    if (vw_dataset_read(tmp_path(name), VW_FORMAT_AUTO, &ds) == VW_OK)
        x = ds->data[0];
    vw_dataset_free(ds);
    return x;
}

static void test_value_limits(void) {
    CHECK(write1("v.u8bin", 255.4f) == VW_OK && read1("v.u8bin") == 255.0f);
    CHECK(write1("v.bvecs", -0.4f) == VW_OK && read1("v.bvecs") == 0.0f);
    CHECK(write1("v.bvecs", 2.5f) == VW_OK && read1("v.bvecs") == 3.0f);
    CHECK(write1("v.u8bin", 255.5f) == VW_ERR_INVALID_ARG);
    CHECK(write1("v.bvecs", -0.5f) == VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "0..255") != NULL);
    CHECK(write1("v.bvecs", NAN) == VW_ERR_INVALID_ARG);
    CHECK(write1("v.ivecs", -2147483648.0f) == VW_OK && read1("v.ivecs") == -2147483648.0f);
    CHECK(write1("v.ibin", 2147483520.0f) == VW_OK && read1("v.ibin") == 2147483520.0f);
    CHECK(write1("v.ibin", 2147483648.0f) == VW_ERR_INVALID_ARG);
    CHECK(write1("v.ivecs", 1.5f) == VW_ERR_INVALID_ARG);
    CHECK(write1("v.ivecs", INFINITY) == VW_ERR_INVALID_ARG);
    CHECK(write1("v.fvecs", NAN) == VW_OK && isnan(read1("v.fvecs")));
    CHECK(write1("v.fbin", -INFINITY) == VW_OK && read1("v.fbin") == -INFINITY);
    CHECK(temp_files_left() == 0);
}

static void test_write_errors(void) {
    float v[4] = {1, 2, 3, 4};
    CHECK(vw_dataset_write(NULL, VW_FORMAT_AUTO, v, 1, 4) == VW_ERR_NULL_ARG);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), VW_FORMAT_AUTO, NULL, 1, 4) == VW_ERR_NULL_ARG);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), VW_FORMAT_AUTO, v, 0, 4) == VW_ERR_INVALID_ARG);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), VW_FORMAT_AUTO, v, 1, 0) == VW_ERR_DIMENSION);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), VW_FORMAT_AUTO, v, 1, 5000) == VW_ERR_DIMENSION);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), (vw_dataset_format)99, v, 1, 4) ==
          VW_ERR_INVALID_ARG);
    CHECK(vw_dataset_write(tmp_path("e.fbin"), VW_FORMAT_AUTO, v, 1ull << 32, 1) ==
          VW_ERR_INVALID_ARG);
    CHECK(vw_dataset_write(tmp_path("e.txt"), VW_FORMAT_AUTO, v, 1, 4) == VW_ERR_FORMAT);
    CHECK(strstr(vw_last_error_detail(), ".fvecs") != NULL);
    CHECK(vw_dataset_write(tmp_path("no/such/dir/e.fbin"), VW_FORMAT_AUTO, v, 1, 4) ==
          VW_ERR_NOT_FOUND);
    CHECK(vw_dataset_write(dir, VW_FORMAT_FBIN, v, 1, 4) == VW_ERR_INVALID_ARG);
    CHECK(vw_dataset_write("/dev/null", VW_FORMAT_FBIN, v, 1, 4) == VW_ERR_INVALID_ARG);
    CHECK(access(tmp_path("e.fbin"), F_OK) != 0);
    CHECK(temp_files_left() == 0);
}

/* A failed write leaves the previous file as it was. */
static void test_failed_write_keeps_old_file(void) {
    float good[3] = {1, 2, 3}, bad[3] = {1, 2, 300};
    const char *path = tmp_path("keep.u8bin");
    CHECK(vw_dataset_write(path, VW_FORMAT_AUTO, good, 1, 3) == VW_OK);
    CHECK(vw_dataset_write(path, VW_FORMAT_AUTO, bad, 3, 1) == VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "row 2") != NULL);
    vw_dataset *ds = NULL;
    CHECK(vw_dataset_read(path, VW_FORMAT_AUTO, &ds) == VW_OK);
    CHECK(ds != NULL && ds->n == 1 && ds->dim == 3 && ds->data[2] == 3.0f);
    vw_dataset_free(ds);
    CHECK(temp_files_left() == 0);
}

int main(void) {
    if (tu_tempdir(dir, "vwds") != 0)
        return 1;
    test_roundtrips();
    test_format_from_path();
    test_npy_layout();
    test_value_limits();
    test_write_errors();
    test_failed_write_keeps_old_file();
    remove_dir();
    return tu_result("test_dataset_roundtrip");
}
