/* CRC32C: the standard check value, and the hardware (SSE4.2, three
 * interleaved streams) and table implementations agreeing on every length
 * and alignment around the stream boundaries, in one call or in pieces. */
#include "crc32c.h"
#include "testutil.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_impl(const char *name, crc_fn fn, const unsigned char *buf, size_t size) {
    CHECK(fn(0, "123456789", 9) == 0xE3069283u);
    CHECK(fn(0, "", 0) == 0);
    unsigned char zeros[32] = {0};
    CHECK(fn(0, zeros, 32) == 0x8A9136AAu); /* RFC 3720 B.4 */
    tu_rng r;
    tu_seed(&r, 5);
    const size_t stream3 = 3 * (size_t)VW_CRC32C_STREAM;
    for (int i = 0; i < 400; i++) {
        size_t off = tu_next(&r) % 16;
        size_t len;
        switch (i % 4) {
        case 0: /* around one and two rounds of three streams */
            len = stream3 * (1 + i % 2) - 24 + tu_next(&r) % 48;
            break;
        case 1:
            len = tu_next(&r) % 64;
            break;
        default:
            len = tu_next(&r) % (size - 16);
        }
        uint32_t seed = (uint32_t)tu_next(&r);
        uint32_t want = vw_crc32c_table(seed, buf + off, len);
        uint32_t got = fn(seed, buf + off, len);
        size_t cut = len ? tu_next(&r) % len : 0;
        uint32_t pieces = fn(fn(seed, buf + off, cut), buf + off + cut, len - cut);
        if (got != want || pieces != want) {
            fprintf(stderr, "%s: length %zu offset %zu cut %zu: %08x / %08x, table %08x\n", name,
                    len, off, cut, got, pieces, want);
            check_failures++;
        }
    }
}

int main(void) {
    const size_t size = 4 * 3 * (size_t)VW_CRC32C_STREAM + 64;
    unsigned char *buf = malloc(size);
    tu_rng r;
    tu_seed(&r, 1);
    for (size_t i = 0; i < size; i++)
        buf[i] = (unsigned char)tu_next(&r);
    check_impl("table", vw_crc32c_table, buf, size);
    check_impl("dispatch", vw_crc32c, buf, size);
#if defined(__x86_64__)
    if (vw_crc32c_hardware())
        check_impl("sse4.2", vw_crc32c_sse42, buf, size);
    else
        printf("no SSE4.2 on this CPU: hardware CRC not tested\n");
#endif
    free(buf);
    return tu_result("test_persist_crc");
}
