/*
 * crc32c.h - CRC32C (Castagnoli) checksums for the index file (persist.c).
 *
 * The CRC is the one of iSCSI, ext4 and the SSE4.2 crc32 instruction:
 * reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
 * Check value: vw_crc32c(0, "123456789", 9) == 0xE3069283.
 */
#ifndef VW_CRC32C_H
#define VW_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 for a fresh checksum, or an earlier result) with len
 * bytes, so that crc(a||b) == vw_crc32c(vw_crc32c(0, a), b). Uses the SSE4.2
 * instruction when the CPU has it, the table-driven code otherwise. */
uint32_t vw_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable slicing-by-8 implementation (same results). */
uint32_t vw_crc32c_table(uint32_t crc, const void *buf, size_t len);

/* Non-zero when vw_crc32c uses the SSE4.2 instruction. */
int vw_crc32c_hardware(void);

#if defined(__x86_64__)
/* The SSE4.2 implementation; call only when the CPU has SSE4.2. */
uint32_t vw_crc32c_sse42(uint32_t crc, const void *buf, size_t len);
#endif

/* Helpers for combining CRCs computed over adjacent pieces in parallel.
 * They act on raw register values (no initial/final inversion). */

/* Bytes per stream in one round of the three-stream hardware loop. */
#define VW_CRC32C_STREAM 8192u

/* The register after feeding VW_CRC32C_STREAM zero bytes to register `crc`:
 * what a stream's partial CRC contributes once the next stream follows it. */
uint32_t vw_crc32c_shift_stream(uint32_t crc);

#endif /* VW_CRC32C_H */
