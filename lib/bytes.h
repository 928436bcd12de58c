/* bytes.h - native-order integer fields of the on-disk formats (the index
 * file and the write log), read and written through memcpy so that any
 * alignment is fine. */
#ifndef VW_BYTES_H
#define VW_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint32_t get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void put32(unsigned char *p, uint32_t v) {
    memcpy(p, &v, sizeof v);
}

static inline void put64(unsigned char *p, uint64_t v) {
    memcpy(p, &v, sizeof v);
}

#endif /* VW_BYTES_H */
