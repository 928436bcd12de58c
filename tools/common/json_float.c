/*
 * json_float.c - "%.9g" of a float without printf (see json.h): every
 * distance of every search answer is written this way, and snprintf's
 * general machinery cost more than the rest of the answer's formatting.
 *
 * The output is byte for byte snprintf's "%.9g" (so it reads back as the
 * same float): the nine significant digits are the float scaled by an exact
 * power of ten (10^0..10^22 are exact doubles) in one correctly rounded
 * double operation, whose error is under 2^-23 of a unit at that scale
 * (the scaled value is below 2^30). Rounding that to an integer is then
 * exact unless the scaled value lies within 1e-6 of a half, which happens
 * for about one float in a million: those, and floats whose scale would
 * need a power of ten past 10^22 (below 1e-14 or from 1e31 up), go to
 * snprintf. tests/test_json_float.c compares both on millions of floats.
 */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* d * 10^(8 - e) in one rounding; 0 when that power is not exact. */
static double scale(double d, int e) {
    int k = 8 - e;
    if (k >= 0)
        return k <= 22 ? d * pow10_exact[k] : 0;
    return -k <= 22 ? d / pow10_exact[-k] : 0;
}

/* The nine digits of d > 0 and its decimal exponent, rounded to nearest
 * (ties to even, as printf); -1 when the fast path cannot be sure. */
static int nine_digits(double d, uint32_t *digits, int *exp10) {
    int e2;
    frexp(d, &e2);                                      /* d in [2^(e2-1), 2^e2) */
    int e = (int)floor((e2 - 1) * 0.30102999566398120); /* floor(log10 d) or one less */
    double s = scale(d, e);
    if (s >= 1e9) {
        e++;
        s = scale(d, e);
    }
    if (s == 0)
        return -1;
    double whole = floor(s);
    double frac = s - whole;
    if (fabs(frac - 0.5) < 1e-6)
        return -1; /* too close to a tie to trust the rounding */
    uint32_t r = (uint32_t)whole + (frac > 0.5);
    if (r >= 1000000000u) { /* 9.999999996 -> 10.0000000 */
        r /= 10;
        e++;
    }
    *digits = r;
    *exp10 = e;
    return 0;
}

/* Copies digits[0..n) without the trailing zeros past `keep`; the count. */
static size_t strip_zeros(char *out, const char *digits, size_t n, size_t keep) {
    while (n > keep && digits[n - 1] == '0')
        n--;
    memcpy(out, digits, n);
    return n;
}

static size_t put_exponential(char *out, const char *dig, int e) {
    size_t n = 0;
    out[n++] = dig[0];
    size_t frac = strip_zeros(out + n + 1, dig + 1, 8, 0);
    if (frac > 0) {
        out[n] = '.';
        n += 1 + frac;
    }
    out[n++] = 'e';
    out[n++] = e < 0 ? '-' : '+';
    unsigned a = (unsigned)(e < 0 ? -e : e);
    if (a >= 100)
        out[n++] = (char)('0' + a / 100);
    out[n++] = (char)('0' + a / 10 % 10);
    out[n++] = (char)('0' + a % 10);
    return n;
}

static size_t put_fixed(char *out, const char *dig, int e) {
    size_t n = 0;
    if (e < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = -1; i > e; i--)
            out[n++] = '0';
        return n + strip_zeros(out + n, dig, 9, 1);
    }
    memcpy(out, dig, (size_t)e + 1);
    n = (size_t)e + 1;
    size_t frac = strip_zeros(out + n + 1, dig + e + 1, (size_t)(8 - e), 0);
    if (frac > 0) {
        out[n] = '.';
        n += 1 + frac;
    }
    return n;
}

size_t json_format_float(char out[32], float v) {
    double d = (double)v;
    uint32_t r;
    int e;
    if (!isfinite(d) || nine_digits(fabs(d), &r, &e) != 0 || d == 0) {
        int n = snprintf(out, 32, "%.9g", d);
        return n > 0 ? (size_t)n : 0;
    }
    char dig[9];
    for (int i = 8; i >= 0; i--, r /= 10)
        dig[i] = (char)('0' + r % 10);
    size_t n = 0;
    if (d < 0)
        out[n++] = '-';
    /* %g: exponential when the exponent is below -4 or at least the
     * precision (9), trailing zeros removed either way. */
    n += e < -4 || e >= 9 ? put_exponential(out + n, dig, e) : put_fixed(out + n, dig, e);
    out[n] = '\0';
    return n;
}
