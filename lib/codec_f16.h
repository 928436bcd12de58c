/* binary16 <-> float32 in portable C, bit-exact with the F16C instructions
 * (vcvtph2ps; vcvtps2ph rounding to nearest even), so that rows encoded here
 * decode the same in every kernel. Inline: the scalar kernels convert one
 * component at a time. */
#ifndef VW_CODEC_F16_H
#define VW_CODEC_F16_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define VW_F16_MAX 65504.0f

static inline float vw_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float32 */
        float f = (float)man * 0x1p-24f;
        memcpy(&bits, &f, sizeof bits);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t vw_f32_to_f16(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    uint32_t abs = b & 0x7fffffffu;
    if (abs > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u | ((abs >> 13) & 0x3ffu)); /* NaN stays NaN */
    if (abs >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u); /* rounds to 65536 or more: infinity */
    if (abs < 0x38800000u) {
        /* below 2^-14: a subnormal half, man = round(|x| * 2^24) (exact
         * scaling, then the default round-to-nearest-even) */
        float f;
        memcpy(&f, &abs, sizeof f);
        return (uint16_t)(sign | (uint16_t)lrintf(f * 0x1p24f));
    }
    uint32_t h = ((abs >> 23) - 112u) << 10 | ((abs >> 13) & 0x3ffu);
    uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | h);
}

#endif /* VW_CODEC_F16_H */
