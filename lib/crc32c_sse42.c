/*
 * crc32c_sse42.c - CRC32C with the SSE4.2 crc32 instruction (compiled with
 * -msse4.2; called only when CPUID reports SSE4.2).
 *
 * One crc32 on 8 bytes has a latency of about 3 cycles but a throughput of 1
 * a cycle, so a single dependent chain uses a third of the unit. Large
 * buffers are therefore cut into rounds of three adjacent streams of
 * VW_CRC32C_STREAM bytes, each with its own register, interleaved in one
 * loop. The CRC is linear, so the round's result is
 *     shift(shift(a) ^ b) ^ c
 * where a, b, c are the streams' registers (b and c started from 0) and
 * shift() advances a register past one stream's worth of zero bytes.
 */
#include "crc32c.h"

#include <nmmintrin.h>
#include <string.h>

static uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v); /* x86-64 is little-endian, as the instruction expects */
    return v;
}

uint32_t vw_crc32c_sse42(uint32_t crc, const void *buf, size_t len) {
    const unsigned char *p = buf;
    uint64_t c = (uint32_t)~crc;
    while (len >= 3 * (size_t)VW_CRC32C_STREAM) {
        uint64_t b = 0, d = 0;
        const unsigned char *q = p + VW_CRC32C_STREAM, *r = p + 2 * VW_CRC32C_STREAM;
        for (size_t i = 0; i < VW_CRC32C_STREAM; i += 8) {
            c = _mm_crc32_u64(c, load64(p + i));
            b = _mm_crc32_u64(b, load64(q + i));
            d = _mm_crc32_u64(d, load64(r + i));
        }
        c = vw_crc32c_shift_stream((uint32_t)c) ^ (uint32_t)b;
        c = vw_crc32c_shift_stream((uint32_t)c) ^ (uint32_t)d;
        p += 3 * (size_t)VW_CRC32C_STREAM;
        len -= 3 * (size_t)VW_CRC32C_STREAM;
    }
    while (len >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        len -= 8;
    }
    while (len--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
