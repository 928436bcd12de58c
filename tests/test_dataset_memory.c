/* Reading and writing a large file costs the float array plus a bounded
 * buffer, never a second copy of the file: the peak resident set grows by
 * about the array's size on read, and barely at all on a read in pieces
 * (vw_dataset_reader) or on write. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DIM  128u
#define ROWS 65536u /* 32 MiB of floats, a 33 MiB .fvecs */

static long peak_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Writes the .fvecs through stdio, so the test itself never holds it. */
static int write_fvecs(const char *path) {
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    float row[DIM];
    int32_t dim = DIM;
    for (uint32_t r = 0; r < ROWS; r++) {
        for (uint32_t j = 0; j < DIM; j++)
            row[j] = (float)(r ^ j);
        fwrite(&dim, sizeof dim, 1, f);
        fwrite(row, sizeof row, 1, f);
    }
    return fclose(f);
}

/* Reads the file 1024 rows (512 KiB) at a time and checks its last value. */
static int read_in_pieces(const char *path) {
    vw_dataset_reader *r = NULL;
    if (vw_dataset_open(path, VW_FORMAT_AUTO, &r) != VW_OK)
        return -1;
    static float piece[1024 * DIM];
    uint64_t got = 0, total = 0;
    float last = -1;
    while (vw_dataset_read_next(r, piece, 1024, &got) == VW_OK && got > 0) {
        total += got;
        last = piece[got * DIM - 1];
    }
    vw_dataset_close(r);
    return total == ROWS && last == (float)((ROWS - 1) ^ (DIM - 1)) ? 0 : -1;
}

int main(void) {
    char dir[64], in[96], out[96];
    if (tu_tempdir(dir, "vwdsm") != 0)
        return 1;
    snprintf(in, sizeof in, "%s/big.fvecs", dir);
    snprintf(out, sizeof out, "%s/big.bvecs", dir);
    int failed = write_fvecs(in) != 0;

    /* Read in pieces first (the peak only ever rises): the pieces and one
     * conversion chunk, never the file. */
    long before_stream = peak_kib();
    if (read_in_pieces(in) != 0) {
        fprintf(stderr, "streaming read failed: %s\n", vw_last_error_detail());
        failed = 1;
    }
    long after_stream = peak_kib();
    if (after_stream - before_stream > 8192) {
        fprintf(stderr, "streaming read grew the peak by %ld KiB\n", after_stream - before_stream);
        failed = 1;
    }

    const long array_kib = (long)ROWS * DIM * 4 / 1024;
    long before = peak_kib();
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(in, VW_FORMAT_AUTO, &ds);
    long after_read = peak_kib();
    if (st != VW_OK || ds->n != ROWS ||
        ds->data[(size_t)ROWS * DIM - 1] != (float)((ROWS - 1) ^ (DIM - 1))) {
        fprintf(stderr, "read failed: %s (%s)\n", vw_strerror(st), vw_last_error_detail());
        failed = 1;
    }
    /* The array plus a 1 MiB chunk; 1/8 slack covers AddressSanitizer's shadow. */
    if (after_read - before > array_kib + array_kib / 4 + 4096) {
        fprintf(stderr, "read grew the peak by %ld KiB for a %ld KiB array\n", after_read - before,
                array_kib);
        failed = 1;
    }
    /* Values hold r ^ j < 65536; keep them in 0..255 for .bvecs. */
    for (size_t i = 0; ds != NULL && i < (size_t)ROWS * DIM; i++)
        ds->data[i] = (float)((unsigned)ds->data[i] & 255u);
    long before_write = peak_kib();
    if (ds != NULL && vw_dataset_write(out, VW_FORMAT_AUTO, ds->data, ds->n, ds->dim) != VW_OK) {
        fprintf(stderr, "write failed: %s\n", vw_last_error_detail());
        failed = 1;
    }
    long after_write = peak_kib();
    /* The writer's buffer is 1 MiB: a quarter of the output (2112 KiB)
     * allows it and ASan's shadow, and a writer that held the whole output
     * (8448 KiB, over the peak of the read by about 7 MiB) fails. */
    const long out_kib = (long)ROWS * (4 + DIM) / 1024;
    if (after_write - before_write > out_kib / 4) {
        fprintf(stderr, "write grew the peak by %ld KiB\n", after_write - before_write);
        failed = 1;
    }
    printf("array %ld KiB; peak grew %ld KiB on a read in pieces, %ld KiB on read, %ld KiB on "
           "write\n",
           array_kib, after_stream - before_stream, after_read - before,
           after_write - before_write);
    vw_dataset_free(ds);
    unlink(in);
    unlink(out);
    rmdir(dir);
    return failed;
}
