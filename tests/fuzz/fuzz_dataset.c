/* Fuzzes the vector file readers: every input is parsed from memory as each
 * of the seven formats, and once through a real file descriptor (a memfd)
 * as one of them, which must agree with the memory parse. A success must
 * describe an array the input could hold; a failure must leave a detail. */
#include "dataset_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const vw_dataset *ds, vw_status st, size_t size) {
    if (st != VW_OK) {
        if (ds != NULL || vw_last_error_detail()[0] == '\0')
            abort();
        return;
    }
    if (ds == NULL || ds->data == NULL || ds->n == 0 || ds->dim == 0 || ds->dim > VW_MAX_DIM)
        abort();
    /* Every element comes from at least one byte of the input. */
    if (ds->n > size || ds->n * ds->dim > size)
        abort();
    /* Touch the last element so AddressSanitizer checks the allocation. */
    volatile float last = ds->data[ds->n * ds->dim - 1];
    (void)last;
}

/* Reads the input through vw_dataset_read, from a memfd. */
static vw_status read_via_file(const uint8_t *data, size_t size, vw_dataset_format format,
                               vw_dataset **out) {
    int fd = memfd_create("fuzz_dataset", MFD_CLOEXEC);
    if (fd < 0)
        return VW_ERR_IO;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return VW_ERR_IO;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    vw_status st = vw_dataset_read(path, format, out);
    close(fd);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vw_dataset *mem[VW_FORMAT_IBIN + 1] = {NULL};
    vw_status st[VW_FORMAT_IBIN + 1];
    for (int f = VW_FORMAT_NPY; f <= VW_FORMAT_IBIN; f++) {
        st[f] = vw_dataset_parse(data, size, (vw_dataset_format)f, &mem[f]);
        check(mem[f], st[f], size);
    }

    vw_dataset_format f = (vw_dataset_format)(VW_FORMAT_NPY + size % 7);
    vw_dataset *file = NULL;
    vw_status fst = read_via_file(data, size, f, &file);
    if (fst != VW_ERR_IO) {
        check(file, fst, size);
        if (fst != st[f])
            abort();
        if (fst == VW_OK &&
            (file->n != mem[f]->n || file->dim != mem[f]->dim ||
             memcmp(file->data, mem[f]->data, file->n * file->dim * sizeof(float)) != 0))
            abort();
    }
    vw_dataset_free(file);
    for (int i = VW_FORMAT_NPY; i <= VW_FORMAT_IBIN; i++)
        vw_dataset_free(mem[i]);
    return 0;
}
