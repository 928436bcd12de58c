/* bytes.h - integer fields of files, read and written through memcpy or
 * bytes so that any alignment is fine: native order for our own formats
 * (the index file and the write log), little-endian for the vector files,
 * .npy headers and other engines' index files. */
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

/* The n-byte (n <= 8) little-endian unsigned integer at b. */
static inline uint64_t vw_le(const unsigned char *b, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

static inline uint32_t vw_le16(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t vw_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vw_le64(const unsigned char *p) {
    return (uint64_t)vw_le32(p) | (uint64_t)vw_le32(p + 4) << 32;
}

static inline void vw_put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

#endif /* VW_BYTES_H */
