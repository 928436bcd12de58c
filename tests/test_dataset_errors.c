/* Refusals of the *vecs and *bin readers and of bad paths: truncation,
 * ragged rows, out-of-range dimensions, headers that disagree with the file
 * size, content that does not match the extension, missing files. Every
 * case is read whole (vw_dataset_read) and in pieces (vw_dataset_reader),
 * which must refuse it the same way. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static unsigned char buf[65536];
static size_t len;

static const char *tmp_path(const char *name) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void put32(uint32_t v) {
    for (int i = 0; i < 4; i++)
        buf[len++] = (unsigned char)(v >> (8 * i));
}

static void put_bytes(const void *p, size_t n) {
    memcpy(buf + len, p, n);
    len += n;
}

/* A *vecs row: dim, then dim elements of `size` bytes of value 1. */
static void put_vecs_row(int32_t dim, int32_t declared, size_t size) {
    put32((uint32_t)declared);
    for (int32_t j = 0; j < dim; j++)
        if (size == 1)
            buf[len++] = 1;
        else
            put32(size == 4 ? 0x3f800000u : 1u);
}

/* Reads a file with a vw_dataset_reader, two rows at a time: the first
 * failure of open or any read, else VW_OK once every row is read. */
static vw_status read_streaming(const char *path) {
    vw_dataset_reader *r = NULL;
    vw_status st = vw_dataset_open(path, VW_FORMAT_AUTO, &r);
    if (st != VW_OK)
        return st;
    float *rows = malloc(2 * (size_t)vw_dataset_dim(r) * sizeof *rows);
    uint64_t got = 0, total = 0;
    do {
        st = vw_dataset_read_next(r, rows, 2, &got);
        total += got;
    } while (st == VW_OK && got > 0);
    if (st == VW_OK && total != vw_dataset_rows(r))
        st = VW_ERR_TRUNCATED;
    free(rows);
    vw_dataset_close(r);
    return st;
}

/* Writes buf[0..len) to `name`, reads it whole and in pieces, and checks
 * status and detail of both. */
static void expect(const char *name, vw_status status, const char *words, int line) {
    FILE *f = fopen(tmp_path(name), "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(name);
        exit(1);
    }
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(tmp_path(name), VW_FORMAT_AUTO, &ds);
    if (st != status || strstr(vw_last_error_detail(), words) == NULL ||
        (st == VW_OK) != (ds != NULL)) {
        fprintf(stderr, "line %d, %s of %zu bytes: got %s / '%s', want %s / '%s'\n", line, name,
                len, vw_strerror(st), vw_last_error_detail(), vw_strerror(status), words);
        check_failures++;
    }
    vw_dataset_free(ds);
    st = read_streaming(tmp_path(name));
    if (st != status || strstr(vw_last_error_detail(), words) == NULL) {
        fprintf(stderr, "line %d, %s of %zu bytes read in pieces: got %s / '%s', want %s / '%s'\n",
                line, name, len, vw_strerror(st), vw_last_error_detail(), vw_strerror(status),
                words);
        check_failures++;
    }
    unlink(tmp_path(name));
    len = 0;
}
#define EXPECT(name, status, words) expect(name, status, words, __LINE__)

static void test_vecs(void) {
    static const struct {
        const char *name;
        size_t size;
    } vecs[] = {{"a.fvecs", 4}, {"a.bvecs", 1}, {"a.ivecs", 4}};
    for (size_t i = 0; i < 3; i++) {
        const char *name = vecs[i].name;
        size_t size = vecs[i].size;
        put_vecs_row(3, 3, size);
        put_vecs_row(3, 3, size);
        EXPECT(name, VW_OK, "");
        /* Cut inside the last row. */
        put_vecs_row(3, 3, size);
        put_vecs_row(3, 3, size);
        len -= 1;
        EXPECT(name, VW_ERR_TRUNCATED, "row 1 is cut");
        /* A ragged row: the second row claims another dimension. */
        put_vecs_row(3, 3, size);
        put_vecs_row(2, 2, size);
        put_vecs_row(3, 3, size);
        EXPECT(name, VW_ERR_CORRUPT, "has dimension 2 but row 0 has 3");
        /* Ragged in the partial tail: 3 + 2 elements. */
        put_vecs_row(3, 3, size);
        put_vecs_row(2, 2, size);
        EXPECT(name, VW_ERR_CORRUPT, "row 1 has dimension 2");
        put_vecs_row(0, 0, size);
        EXPECT(name, VW_ERR_DIMENSION, "dimension 0");
        put_vecs_row(1, 5000, size);
        EXPECT(name, VW_ERR_DIMENSION, "dimension 5000");
        put_vecs_row(1, -1, size);
        EXPECT(name, VW_ERR_DIMENSION, "dimension -1");
        put_vecs_row(VW_MAX_DIM, VW_MAX_DIM, size);
        EXPECT(name, VW_OK, "");
        put_bytes("\x01\x00\x00", 3);
        EXPECT(name, VW_ERR_TRUNCATED, "first row");
        put32(3);
        EXPECT(name, VW_ERR_TRUNCATED, "first row");
        EXPECT(name, VW_ERR_TRUNCATED, "empty");
        put_bytes("\x93NUMPY\x01\x00", 8);
        EXPECT(name, VW_ERR_FORMAT, ".npy file");
    }
    /* Ground truth ids beyond 2^24 cannot be held exactly in a float. */
    put32(2);
    put32(16777216);
    put32((uint32_t)-16777216);
    EXPECT("gt.ivecs", VW_OK, "");
    put32(2);
    put32(16777216);
    put32(16777217);
    EXPECT("gt.ivecs", VW_ERR_UNSUPPORTED, "16777217");
}

static void test_bin(void) {
    static const struct {
        const char *name;
        size_t size;
    } bins[] = {{"a.fbin", 4}, {"a.u8bin", 1}, {"a.ibin", 4}};
    static const unsigned char zeros[64];
    for (size_t i = 0; i < 3; i++) {
        const char *name = bins[i].name;
        size_t size = bins[i].size;
        put32(2);
        put32(3);
        put_bytes(zeros, 6 * size);
        EXPECT(name, VW_OK, "");
        put32(3);
        put32(3);
        put_bytes(zeros, 6 * size);
        EXPECT(name, VW_ERR_TRUNCATED, "header says 3 x 3");
        put32(0xffffffffu);
        put32(VW_MAX_DIM);
        put_bytes(zeros, 6 * size);
        EXPECT(name, VW_ERR_TRUNCATED, "4294967295 x 4096");
        put32(2);
        put32(3);
        put_bytes(zeros, 6 * size + 1);
        EXPECT(name, VW_ERR_CORRUPT, "1 bytes after");
        put32(2);
        put32(0);
        EXPECT(name, VW_ERR_DIMENSION, "dimension 0");
        put32(1);
        put32(5000);
        put_bytes(zeros, 64);
        EXPECT(name, VW_ERR_DIMENSION, "dimension 5000");
        put32(0);
        put32(3);
        EXPECT(name, VW_ERR_UNSUPPORTED, "no vectors");
        put32(2);
        put_bytes(zeros, 3);
        EXPECT(name, VW_ERR_TRUNCATED, "8-byte header");
        EXPECT(name, VW_ERR_TRUNCATED, "empty");
    }
}

/* Random bytes are refused, whatever the extension says. */
static void test_garbage(void) {
    static const char *names[] = {"g.npy",  "g.fvecs", "g.bvecs", "g.ivecs",
                                  "g.fbin", "g.u8bin", "g.ibin"};
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < 7; i++) {
        for (int k = 0; k < 1000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[len++] = (unsigned char)(x >> 24);
        }
        buf[0] = 0xff; /* a negative first dim/count, no npy magic */
        buf[3] = 0xff;
        FILE *f = fopen(tmp_path(names[i]), "wb");
        CHECK(f != NULL && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
        vw_dataset *ds = NULL;
        vw_status st = vw_dataset_read(tmp_path(names[i]), VW_FORMAT_AUTO, &ds);
        CHECK(st != VW_OK && ds == NULL);
        CHECK(vw_last_error_detail()[0] != '\0');
        unlink(tmp_path(names[i]));
        len = 0;
    }
}

static void test_paths(void) {
    vw_dataset *ds = (vw_dataset *)&ds;
    CHECK(vw_dataset_read(tmp_path("missing.fvecs"), VW_FORMAT_AUTO, &ds) == VW_ERR_NOT_FOUND);
    CHECK(ds == NULL);
    CHECK(strstr(vw_last_error_detail(), "No such file") != NULL);
    CHECK(vw_dataset_read(tmp_path("x.txt"), VW_FORMAT_AUTO, &ds) == VW_ERR_FORMAT);
    CHECK(strstr(vw_last_error_detail(), ".npy .fvecs .bvecs .ivecs .fbin .u8bin .ibin") != NULL);
    CHECK(vw_dataset_read(tmp_path("x"), VW_FORMAT_AUTO, &ds) == VW_ERR_FORMAT);
    CHECK(vw_dataset_read(dir, VW_FORMAT_FVECS, &ds) == VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "directory") != NULL);
    CHECK(vw_dataset_read("/dev/null", VW_FORMAT_FVECS, &ds) == VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "character device") != NULL);
    /* A FIFO is refused at once, not opened and waited on for a writer. */
    CHECK(mkfifo(tmp_path("fifo.fvecs"), 0600) == 0);
    alarm(60);
    CHECK(vw_dataset_read(tmp_path("fifo.fvecs"), VW_FORMAT_AUTO, &ds) == VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "FIFO") != NULL);
    float one = 1.0f;
    CHECK(vw_dataset_write(tmp_path("fifo.fvecs"), VW_FORMAT_AUTO, &one, 1, 1) ==
          VW_ERR_INVALID_ARG);
    alarm(0);
    unlink(tmp_path("fifo.fvecs"));
    CHECK(vw_dataset_read(tmp_path("x.fvecs"), (vw_dataset_format)42, &ds) == VW_ERR_INVALID_ARG);
    CHECK(vw_dataset_read(NULL, VW_FORMAT_AUTO, &ds) == VW_ERR_NULL_ARG);
    CHECK(vw_dataset_read(tmp_path("x.fvecs"), VW_FORMAT_AUTO, NULL) == VW_ERR_NULL_ARG);
    vw_dataset_free(NULL);

    /* Permission bits do not stop root; only check them as a normal user. */
    if (geteuid() != 0) {
        put32(1);
        put32(0);
        FILE *f = fopen(tmp_path("locked.fvecs"), "wb");
        CHECK(f != NULL && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
        len = 0;
        chmod(tmp_path("locked.fvecs"), 0);
        CHECK(vw_dataset_read(tmp_path("locked.fvecs"), VW_FORMAT_AUTO, &ds) == VW_ERR_IO);
        CHECK(strstr(vw_last_error_detail(), "Permission denied") != NULL);
        unlink(tmp_path("locked.fvecs"));
    }
}

int main(void) {
    if (tu_tempdir(dir, "vwdse") != 0)
        return 1;
    test_vecs();
    test_bin();
    test_garbage();
    test_paths();
    rmdir(dir);
    return tu_result("test_dataset_errors");
}
