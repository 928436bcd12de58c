/*
 * test_json_float - json_format_float (tools/common/json_float.c) writes
 * exactly snprintf's "%.9g" and reads back through strtof as the same
 * float, and json_read_float reads decimals as strtof does. Written: every
 * 97th float of [1e-3, 1e4) and of its negative (the range of distances),
 * two million floats of random bits over the whole range, and the edges
 * (zeros, subnormals, the largest float, powers of ten and the floats
 * beside them, exact ties of the ninth digit). Read: a million random
 * floats in seven formats, and grammar errors.
 *
 * Usage: test_json_float [RANDOM_COUNT]   (default 2,000,000; 0 = all 2^32
 * floats, about an hour on one core)
 */
#include "check.h"
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long checked, failures;

static float from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static void check_one(float v) {
    char ours[32], want[32];
    size_t n = json_format_float(ours, v);
    snprintf(want, sizeof want, "%.9g", (double)v);
    checked++;
    int same = n == strlen(want) && strcmp(ours, want) == 0;
    int round_trip = isnan(v) || strtof(ours, NULL) == v;
    if ((!same || !round_trip) && failures++ < 10) {
        uint32_t b;
        memcpy(&b, &v, sizeof b);
        fprintf(stderr, "0x%08x: wrote \"%s\", snprintf \"%s\"%s\n", (unsigned)b, ours, want,
                round_trip ? "" : " (does not read back)");
    }
}

static void check_bits(uint32_t b) {
    check_one(from_bits(b));
}

/* Every float from the one nearest lo up to hi, both signs. */
static void sweep(float lo, float hi, uint32_t stride) {
    uint32_t a, z;
    memcpy(&a, &lo, sizeof a);
    memcpy(&z, &hi, sizeof z);
    for (uint64_t b = a; b < z; b += stride) {
        check_bits((uint32_t)b);
        check_bits((uint32_t)b | 0x80000000u);
    }
}

static void edges(void) {
    const float fixed[] = {0.0f,
                           -0.0f,
                           1.0f,
                           -1.0f,
                           0.5f,
                           0.25f,
                           0.1f,
                           1e-5f,
                           1e-4f,
                           9.9999999e-5f,
                           123456789.0f,
                           999999999.0f,
                           1e9f,
                           1e10f,
                           3.4028235e38f,
                           -3.4028235e38f,
                           1.17549435e-38f,
                           1.4e-45f,
                           1e-14f,
                           1e-15f,
                           1e30f,
                           1e31f,
                           16777216.0f,
                           16777217.0f,
                           0.000123456789f};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_one(fixed[i]);
    check_one(INFINITY);
    check_one(-INFINITY);
    check_one(NAN);
    for (int e = -45; e <= 38; e++) { /* powers of ten and their neighbours */
        float p = (float)pow(10.0, e);
        check_one(p);
        check_one(nextafterf(p, 0.0f));
        check_one(nextafterf(p, INFINITY));
    }
    for (uint32_t i = 1; i < 4096; i++) { /* integers and halves: exact decimal ties */
        check_one((float)i * 1000000.5f);
        check_one((float)i + 0.5f);
        check_one((float)i * 0.5f);
    }
}

/* json_read_float on text against strtof: the same float, the whole
 * token consumed. */
static void check_read(const char *text) {
    json_cursor cur;
    json_init(&cur, text, strlen(text));
    float got = 0.0f;
    int rc = json_read_float(&cur, &got);
    float want = strtof(text, NULL);
    checked++;
    if ((rc != 0 || memcmp(&got, &want, sizeof got) != 0 || cur.p != cur.end) && failures++ < 10)
        fprintf(stderr, "read \"%s\": rc %d, %.9g, strtof %.9g\n", text, rc, (double)got,
                (double)want);
}

/* A number with more text after it in the same buffer (as in a body): the
 * same float as strtof, and the cursor stops where the number ends. The
 * reader takes eight digits at a time, so the bytes after the digits
 * (just below '0', just above '9', with the top bit set) sit at every place
 * of an eight-byte window. */
static void check_read_before(const char *num, const char *after) {
    char text[128];
    size_t n = strlen(num);
    snprintf(text, sizeof text, "%s%s", num, after);
    json_cursor cur;
    json_init(&cur, text, strlen(text));
    float got = 0.0f, want = strtof(num, NULL);
    int rc = json_read_float(&cur, &got);
    checked++;
    if ((rc != 0 || memcmp(&got, &want, sizeof got) != 0 || cur.p != text + n) && failures++ < 10)
        fprintf(stderr, "read \"%s\" before \"%s\": rc %d, %.9g, strtof %.9g, stopped at %td\n",
                num, after, rc, (double)got, (double)want, cur.p - text);
}

static void digit_windows(void) {
    static const char *const after[] = {"/", ":", "\xb0", "\xb9", ",12345678", "]}", " 9"};
    const char digits[] = "1234567890123456789012";
    char num[64];
    for (size_t whole = 0; whole <= 20; whole++)
        for (size_t frac = 0; frac <= 14; frac++)
            for (size_t a = 0; a < sizeof after / sizeof after[0]; a++) {
                int len = whole ? snprintf(num, sizeof num, "-%.*s", (int)whole, digits)
                                : snprintf(num, sizeof num, "0");
                if (frac)
                    snprintf(num + len, sizeof num - (size_t)len, ".%.*s", (int)frac, digits + 3);
                check_read_before(num, after[a]);
            }
}

/* Decimals as clients write them: shortest-ish, fixed with 3 to 15
 * places (past 12 the general path reads them), with an exponent; and the
 * grammar errors the one-pass reader must leave to the general one. */
static void reads(uint64_t x, unsigned long long count) {
    static const char *const formats[] = {"%.9g",  "%.6f", "%.8f", "%.12f",
                                          "%.15f", "%.3e", "%.17g"};
    char text[64];
    for (unsigned long long i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        float v = from_bits((uint32_t)(x >> 32));
        if (!isfinite(v))
            continue;
        snprintf(text, sizeof text, formats[i % 7], (double)v);
        check_read(text);
    }
    const char *const bad[] = {"01", "1.", "-", ".5", "-.5", "1.e3", "--1", "+1", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_cursor cur;
        json_init(&cur, bad[i], strlen(bad[i]));
        float f;
        checked++;
        if (json_read_float(&cur, &f) >= 0 && cur.p == cur.end && failures++ < 10)
            fprintf(stderr, "read \"%s\" as a number\n", bad[i]);
    }
    json_cursor cur;
    json_init(&cur, "1e39", 4);
    float f;
    CHECK(json_read_float(&cur, &f) == 1); /* not a float32 */
}

int main(int argc, char **argv) {
    unsigned long long random_count = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000ull;
    edges();
    if (random_count == 0) {
        for (uint64_t b = 0; b <= UINT32_MAX; b++)
            check_bits((uint32_t)b);
    } else {
        sweep(1e-3f, 1e4f, 97); /* every 97th float: 2 million of each sign */
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (unsigned long long i = 0; i < random_count; i++) {
            x ^= x << 13; /* xorshift64 */
            x ^= x >> 7;
            x ^= x << 17;
            check_bits((uint32_t)(x >> 32));
        }
    }
    reads(0x2545f4914f6cdd1dull, 1000000);
    digit_windows();
    printf("%llu floats checked, %llu differ from %%.9g or do not read back\n", checked, failures);
    CHECK(failures == 0);
    return check_failures ? 1 : 0;
}
