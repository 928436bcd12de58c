/*
 * crc32c.c - CRC32C: dispatch, the portable slicing-by-8 code, and the
 * GF(2) arithmetic that lets the hardware code run three streams at once.
 *
 * The tables are built once, on first use, under pthread_once: 8 KiB for
 * slicing-by-8 plus 4 KiB that shift a register past VW_CRC32C_STREAM zero
 * bytes (see crc32c_sse42.c for why that is needed).
 */
#include "crc32c.h"

#include <pthread.h>

#define POLY 0x82F63B78u /* x^32 + ... reflected: bit 31 is x^0 */

static uint32_t slice[8][256];
static uint32_t stream_shift[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* a * b mod P, both in the reflected representation (bit 31 = x^0). */
static uint32_t gf2_mul(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (0x80000000u >> i))
            product ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1; /* b *= x */
    }
    return product;
}

/* x^(8n) mod P: the factor by which n zero bytes multiply a register. */
static uint32_t x_pow_8n(uint64_t n) {
    uint32_t result = 0x80000000u; /* x^0 */
    uint32_t square = 0x00800000u; /* x^8 */
    while (n) {
        if (n & 1)
            result = gf2_mul(result, square);
        square = gf2_mul(square, square);
        n >>= 1;
    }
    return result;
}

static void build_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        slice[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            slice[t][i] = (slice[t - 1][i] >> 8) ^ slice[0][slice[t - 1][i] & 0xff];
    uint32_t factor = x_pow_8n(VW_CRC32C_STREAM);
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 0; t < 4; t++)
            stream_shift[t][i] = gf2_mul(i << (8 * t), factor);
}

static void ensure_tables(void) {
    pthread_once(&tables_once, build_tables);
}

uint32_t vw_crc32c_shift_stream(uint32_t crc) {
    ensure_tables();
    return stream_shift[0][crc & 0xff] ^ stream_shift[1][(crc >> 8) & 0xff] ^
           stream_shift[2][(crc >> 16) & 0xff] ^ stream_shift[3][crc >> 24];
}

uint32_t vw_crc32c_table(uint32_t crc, const void *buf, size_t len) {
    ensure_tables();
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    /* Bytes are assembled explicitly, so the result is the same on any
     * byte order. */
    while (len >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = slice[7][lo & 0xff] ^ slice[6][(lo >> 8) & 0xff] ^ slice[5][(lo >> 16) & 0xff] ^
            slice[4][lo >> 24] ^ slice[3][p[4]] ^ slice[2][p[5]] ^ slice[1][p[6]] ^ slice[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ slice[0][(c ^ *p++) & 0xff];
    return ~c;
}

int vw_crc32c_hardware(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#else
    return 0;
#endif
}

uint32_t vw_crc32c(uint32_t crc, const void *buf, size_t len) {
#if defined(__x86_64__)
    if (vw_crc32c_hardware())
        return vw_crc32c_sse42(crc, buf, len);
#endif
    return vw_crc32c_table(crc, buf, len);
}
