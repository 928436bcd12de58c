/* fuzz_util.h - shared by the fuzz targets that load index files: the input
 * as a file without disk traffic (a memfd, rewritten for each input, opened
 * through /proc/self/fd), and a query for a loaded index. */
#ifndef VW_FUZZ_UTIL_H
#define VW_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The path of a file holding data[0..size), or NULL if it cannot be written. */
static const char *fuzz_memfd_put(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_input", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        abort();
    return pwrite(fd, data, size, 0) == (ssize_t)size ? path : NULL;
}

/* A query of dim small integers (callers free it); NULL if out of memory. */
static float *fuzz_query(uint32_t dim) {
    float *q = calloc(dim ? dim : 1, sizeof *q);
    for (uint32_t i = 0; q && i < dim; i++)
        q[i] = (float)((i * 7919u) % 13) - 6.0f;
    return q;
}

#endif /* VW_FUZZ_UTIL_H */
