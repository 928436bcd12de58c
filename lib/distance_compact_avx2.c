/* AVX2 kernels for compact rows; compiled with -mavx2 -mfma -mf16c and only
 * called after CPUID reported all three.
 *
 * f16: eight halves at a time become floats with vcvtph2ps, then the
 * float32 kernel's FMA steps; a tail shorter than eight is copied to a
 * zero-padded buffer (a zero half against a zero query adds nothing).
 * u8: sixteen codes widen to 16-bit lanes, their differences are squared
 * and summed in pairs by vpmaddwd into 32-bit lanes: exact, no overflow
 * (2 * 255^2 per pair, at most 4096 * 255^2 in all). */
#include "kernels_isa.h"
#include "vw_internal.h"

#include <immintrin.h>
#include <string.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline uint32_t hsum256_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return (uint32_t)_mm_cvtsi128_si32(s);
}

static inline __m256 halves(const uint16_t *v) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)v));
}

#define F16_L2_STEP(acc, q, x)                                                                     \
    do {                                                                                           \
        __m256 d_ = _mm256_sub_ps(q, x);                                                           \
        acc = _mm256_fmadd_ps(d_, d_, acc);                                                        \
    } while (0)
#define F16_DOT_STEP(acc, q, x) acc = _mm256_fmadd_ps(q, x, acc)

#define DEFINE_F16(NAME, STEP)                                                                     \
    float NAME(const float *q, const uint16_t *v, size_t dim) {                                    \
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                                 \
        size_t i = 0;                                                                              \
        for (; i + 16 <= dim; i += 16) {                                                           \
            STEP(a0, _mm256_loadu_ps(q + i), halves(v + i));                                       \
            STEP(a1, _mm256_loadu_ps(q + i + 8), halves(v + i + 8));                               \
        }                                                                                          \
        if (i + 8 <= dim) {                                                                        \
            STEP(a0, _mm256_loadu_ps(q + i), halves(v + i));                                       \
            i += 8;                                                                                \
        }                                                                                          \
        if (i < dim) {                                                                             \
            uint16_t vt[8] = {0};                                                                  \
            float qt[8] = {0};                                                                     \
            memcpy(vt, v + i, (dim - i) * sizeof *vt);                                             \
            memcpy(qt, q + i, (dim - i) * sizeof *qt);                                             \
            STEP(a1, _mm256_loadu_ps(qt), halves(vt));                                             \
        }                                                                                          \
        return hsum256(_mm256_add_ps(a0, a1));                                                     \
    }

DEFINE_F16(vw_l2_f16_avx2, F16_L2_STEP)
DEFINE_F16(vw_dot_f16_avx2, F16_DOT_STEP)

static inline __m256i wide16(const uint8_t *p) {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
}

uint32_t vw_l2_u8_avx2(const uint8_t *a, const uint8_t *b, size_t dim) {
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m256i d0 = _mm256_sub_epi16(wide16(a + i), wide16(b + i));
        __m256i d1 = _mm256_sub_epi16(wide16(a + i + 16), wide16(b + i + 16));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(d0, d0));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(d1, d1));
    }
    if (i + 16 <= dim) {
        __m256i d0 = _mm256_sub_epi16(wide16(a + i), wide16(b + i));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(d0, d0));
        i += 16;
    }
    uint32_t s = hsum256_epi32(_mm256_add_epi32(a0, a1));
    for (; i < dim; i++) {
        int32_t d = (int32_t)a[i] - (int32_t)b[i];
        s += (uint32_t)(d * d);
    }
    return s;
}

static inline __m256 codes8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

float vw_dot_u8_avx2(const float *q, const uint8_t *c, size_t dim) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), codes8(c + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), codes8(c + i + 8), a1);
    }
    if (i + 8 <= dim) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), codes8(c + i), a0);
        i += 8;
    }
    if (i < dim) {
        uint8_t ct[8] = {0};
        float qt[8] = {0};
        memcpy(ct, c + i, dim - i);
        memcpy(qt, q + i, (dim - i) * sizeof *qt);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qt), codes8(ct), a1);
    }
    return hsum256(_mm256_add_ps(a0, a1));
}

/* Eight components: codes widened to floats; the four residual bytes
 * doubled (b0 b0 b1 b1 ...) and shifted by 0 or 4 so that each lane holds
 * its own nibble. Multiplies and adds stay separate, as in the scalar
 * kernel; the tail is the scalar kernel itself. */
void vw_decode_i8r_avx2(const float *offset, float step, float part, const uint8_t *code,
                        const uint8_t *resid, size_t dim, float *out) {
    const __m256 vs = _mm256_set1_ps(step), vp = _mm256_set1_ps(part);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
    const __m256i low = _mm256_set1_epi32(15), eight = _mm256_set1_epi32(8);
    size_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        __m256 c = _mm256_cvtepi32_ps(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(code + i))));
        int32_t four;
        memcpy(&four, resid + i / 2, sizeof four);
        __m128i b = _mm_cvtsi32_si128(four);
        b = _mm_unpacklo_epi8(b, b);
        __m256i nib = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(b), shifts), low);
        __m256 r = _mm256_cvtepi32_ps(_mm256_sub_epi32(nib, eight));
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(offset + i), _mm256_mul_ps(vs, c));
        _mm256_storeu_ps(out + i, _mm256_add_ps(v, _mm256_mul_ps(vp, r)));
    }
    if (i < dim)
        vw_decode_i8r_scalar(offset + i, step, part, code + i, resid + i / 2, dim - i, out + i);
}

/* The walk's batch for i8 rows, four rows at a time: each 16-component
 * chunk of the query is widened once for the four (the single kernel widens
 * it per row), and the rows' chunks are widened straight from memory.
 * Integer sums are exact in any order, so every result equals the single
 * kernel's; in callgrind this took the distance from 86 to about 45
 * instructions (bench/RESULTS.md, the breakdown). */
/* Components from `from` on, one at a time (a dimension not a multiple of
 * 16); out of line so that the common case carries none of its setup. */
static __attribute__((noinline)) void l2_u8_tail(const uint8_t *q, const uint8_t *const r[4],
                                                 size_t from, size_t dim, uint32_t out[4]) {
    for (int k = 0; k < 4; k++)
        for (size_t j = from; j < dim; j++) {
            int32_t d = (int32_t)r[k][j] - (int32_t)q[j];
            out[k] += (uint32_t)(d * d);
        }
}

static void l2_u8_four(const uint8_t *q, const uint8_t *const r[4], size_t dim, uint32_t out[4]) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m256i qw = wide16(q + i);
        __m256i d0 = _mm256_sub_epi16(wide16(r[0] + i), qw);
        __m256i d1 = _mm256_sub_epi16(wide16(r[1] + i), qw);
        __m256i d2 = _mm256_sub_epi16(wide16(r[2] + i), qw);
        __m256i d3 = _mm256_sub_epi16(wide16(r[3] + i), qw);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(d0, d0));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(d1, d1));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(d2, d2));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(d3, d3));
    }
    /* the four horizontal sums at once: lane k of each half holds row k's */
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    _mm_storeu_si128((__m128i *)(void *)out, s);
    if (i < dim)
        l2_u8_tail(q, r, i, dim, out);
}

void vw_l2_u8_batch_avx2(const uint8_t *q, const uint8_t *base, size_t dim, const uint32_t *ids,
                         uint32_t n, uint32_t *out) {
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *r[4];
        for (int k = 0; k < 4; k++)
            r[k] = base + (size_t)ids[i + k] * dim;
        l2_u8_four(q, r, dim, out + i);
    }
    for (; i < n; i++)
        out[i] = vw_l2_u8_avx2(q, base + (size_t)ids[i] * dim, dim);
}

#define VW_OWN_L2_U8_BATCH
#define VW_LEVEL avx2
#include "distance_compact_batch.h"
