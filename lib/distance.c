/* Kernel dispatch: the CPU is asked once (CPUID through
 * __builtin_cpu_supports, which also checks that the OS saves the wide
 * registers) and the best kernel set is kept for the life of the process.
 * VW_SIMD=scalar|avx2|avx512 overrides the choice for tests and benchmarks;
 * a value the CPU or build cannot run is reported by vw_simd_env_status()
 * and the best supported level is used instead, so the library itself never
 * fails or crashes on it. */
#include "kernels_isa.h"
#include "vw_internal.h"

#ifdef VW_HAVE_SIMD
#include <cpuid.h>
#endif

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One level's table: the float32 kernels, then the compact ones. */
#define KERNELS(L, U8, U8B)                                                                        \
    {                                                                                              \
        vw_l2sq_##L, vw_dot_##L, vw_ipdist_##L, vw_l2sq_batch_##L, vw_ipdist_batch_##L,            \
            vw_l2_f16_##L, vw_dot_f16_##L, vw_l2_f16_batch_##L, vw_dot_f16_batch_##L, U8, U8B,     \
            vw_dot_u8_##L, vw_dot_u8_batch_##L, vw_decode_i8r_##L                                  \
    }

static const vw_kernels scalar_kernels = KERNELS(scalar, vw_l2_u8_scalar, vw_l2_u8_batch_scalar);
#ifdef VW_HAVE_SIMD
static const vw_kernels avx2_kernels = KERNELS(avx2, vw_l2_u8_avx2, vw_l2_u8_batch_avx2);
static const vw_kernels avx512_kernels = KERNELS(avx512, vw_l2_u8_avx512, vw_l2_u8_batch_avx512);
static const vw_kernels avx512_vnni_kernels = KERNELS(avx512, vw_l2_u8_vnni, vw_l2_u8_batch_vnni);

/* Bit `bit` of ECX of CPUID leaf/subleaf, for features that clang's
 * __builtin_cpu_supports cannot name (F16C, AVX512_VNNI). Only asked beside
 * a feature __builtin_cpu_supports checked, which covers the OS saving the
 * registers. */
static int cpuid_ecx(unsigned leaf, unsigned bit) {
    unsigned a, b, c, d;
    return __get_cpuid_count(leaf, 0, &a, &b, &c, &d) && (c >> bit) & 1u;
}

int vw_cpu_has_vnni(void) {
    return cpuid_ecx(7, 11);
}
#endif

static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static vw_simd_level active_level = VW_SIMD_SCALAR;
static vw_status env_status = VW_OK;

int vw_simd_supported(vw_simd_level level) {
    switch (level) {
    case VW_SIMD_SCALAR:
        return 1;
#ifdef VW_HAVE_SIMD
    case VW_SIMD_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               cpuid_ecx(1, 29); /* F16C */
    case VW_SIMD_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

const char *vw_simd_name(vw_simd_level level) {
    switch (level) {
    case VW_SIMD_SCALAR:
        return "scalar";
    case VW_SIMD_AVX2:
        return "avx2";
    case VW_SIMD_AVX512:
        return "avx512";
    }
    return NULL;
}

static vw_simd_level best_level(void) {
    if (vw_simd_supported(VW_SIMD_AVX512))
        return VW_SIMD_AVX512;
    if (vw_simd_supported(VW_SIMD_AVX2))
        return VW_SIMD_AVX2;
    return VW_SIMD_SCALAR;
}

static void pick_level(void) {
    active_level = best_level();
    const char *env = getenv("VW_SIMD");
    if (!env || !*env)
        return;
    for (int l = VW_SIMD_SCALAR; l <= VW_SIMD_AVX512; l++) {
        if (strcasecmp(env, vw_simd_name((vw_simd_level)l)) == 0) {
            if (vw_simd_supported((vw_simd_level)l))
                active_level = (vw_simd_level)l;
            else
                env_status = VW_ERR_UNSUPPORTED;
            return;
        }
    }
    env_status = VW_ERR_INVALID_ARG;
}

vw_simd_level vw_simd_active(void) {
    pthread_once(&pick_once, pick_level);
    return active_level;
}

vw_status vw_simd_env_status(void) {
    pthread_once(&pick_once, pick_level);
    vw_clear_detail();
    if (env_status == VW_ERR_UNSUPPORTED)
        return vw_fail(env_status, "VW_SIMD=%s: not supported by this CPU or build (best: %s)",
                       getenv("VW_SIMD"), vw_simd_name(best_level()));
    if (env_status == VW_ERR_INVALID_ARG)
        return vw_fail(env_status, "VW_SIMD=%s: expected scalar, avx2 or avx512",
                       getenv("VW_SIMD"));
    return VW_OK;
}

const vw_kernels *vw_kernels_for(vw_simd_level level) {
#ifdef VW_HAVE_SIMD
    if (level == VW_SIMD_AVX512)
        return vw_cpu_has_vnni() ? &avx512_vnni_kernels : &avx512_kernels;
    if (level == VW_SIMD_AVX2)
        return &avx2_kernels;
#endif
    (void)level;
    return &scalar_kernels;
}

const vw_kernels *vw_kernels_active(void) {
    return vw_kernels_for(vw_simd_active());
}

float vw_distance_l2sq(const float *a, const float *b, uint32_t dim) {
    return vw_kernels_active()->l2sq(a, b, dim);
}

float vw_distance_dot(const float *a, const float *b, uint32_t dim) {
    return vw_kernels_active()->dot(a, b, dim);
}

/* The squared norm, summed in double (a float sum of 4096 squares can lose
 * the last bits that make a unit vector exactly unit, and no float squared
 * overflows a double), or VW_ERR_NONFINITE naming the first bad component. */
static vw_status finite_norm2(const float *v, uint32_t dim, double *out) {
    double s = 0;
    for (uint32_t i = 0; i < dim; i++) {
        if (!isfinite(v[i]))
            return vw_fail(VW_ERR_NONFINITE, "component %u is %s", i,
                           isnan(v[i]) ? "NaN" : "infinite");
        s += (double)v[i] * v[i];
    }
    *out = s;
    return VW_OK;
}

/* VW_MAX_NORM2, the largest squared norm we accept: by Cauchy-Schwarz
 * every partial sum of a dot product of two such vectors stays below
 * FLT_MAX / 4, and an L2 sum below FLT_MAX, so no kernel can overflow to
 * infinity (or, adding +inf to -inf, to NaN) whatever the summation order. */
vw_status vw_check_vector(const float *v, uint32_t dim, double *norm2) {
    double s = 0; /* set by finite_norm2 on VW_OK; gcc -O3 cannot see that */
    vw_status st = finite_norm2(v, dim, &s);
    if (st != VW_OK)
        return st;
    if (s > VW_MAX_NORM2)
        return vw_fail(VW_ERR_NONFINITE, "squared norm %.3g is too large: distances would overflow",
                       s);
    if (norm2)
        *norm2 = s;
    return VW_OK;
}

/* [3e38, 3e38] has a direction like any other vector: its squared norm
 * fits a double. */
vw_status vw_check_direction(const float *v, uint32_t dim) {
    double s = 0; /* set by finite_norm2 on VW_OK; gcc -O3 cannot see that */
    vw_status st = finite_norm2(v, dim, &s);
    if (st != VW_OK)
        return st;
    return s > 0 ? VW_OK : vw_fail(VW_ERR_ZERO_VECTOR, "all %u components are zero", dim);
}

vw_status vw_normalize(float *v, uint32_t dim) {
    vw_clear_detail();
    if (!v)
        return vw_fail(VW_ERR_NULL_ARG, "vector is NULL");
    if (dim == 0 || dim > VW_MAX_DIM)
        return vw_fail(VW_ERR_DIMENSION, "dimension %u outside 1..%u", dim, VW_MAX_DIM);
    /* the norm is summed in double: a float sum of 4096 squares can lose the
     * last bits that make a unit vector exactly unit */
    double s = 0; /* set by finite_norm2 on VW_OK; gcc -O3 cannot see that */
    vw_status st = finite_norm2(v, dim, &s);
    if (st != VW_OK)
        return st;
    if (s == 0)
        return vw_fail(VW_ERR_ZERO_VECTOR, "all %u components are zero", dim);
    double inv = 1.0 / sqrt(s);
    for (uint32_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] * inv);
    return VW_OK;
}
