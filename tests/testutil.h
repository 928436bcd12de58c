/* Small helpers shared by the tests: checks that report file:line, a
 * deterministic generator, the data sets of the recall tests and exact
 * brute-force search. Header-only so each test stays one program. */
#ifndef VW_TESTUTIL_H
#define VW_TESTUTIL_H

#include "vwhnsw.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_DETAIL() vw_last_error_detail()
#include "check.h"

#define CHECK_ST(expr, want)                                                                       \
    do {                                                                                           \
        vw_status st_ = (expr);                                                                    \
        if (st_ != (want)) {                                                                       \
            fprintf(stderr, "%s:%d: %s returned %s (%s), want %s\n", __FILE__, __LINE__, #expr,    \
                    vw_strerror(st_), vw_last_error_detail(), vw_strerror(want));                  \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_ST(expr, VW_OK)

static int tu_result(const char *name) {
    if (check_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    else
        printf("%s: all checks passed\n", name);
    return check_failures ? 1 : 0;
}

/* xoshiro256** seeded by splitmix64: fast, and the same on every platform */
typedef struct tu_rng {
    uint64_t s[4];
} tu_rng;

static uint64_t tu_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void tu_seed(tu_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = tu_splitmix(&seed);
}

static uint64_t tu_next(tu_rng *r) {
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

static double tu_uniform(tu_rng *r) {
    return (double)(tu_next(r) >> 11) * 0x1.0p-53;
}

static double tu_normal(tu_rng *r) {
    /* Box-Muller; u1 in (0,1] keeps log finite */
    double u1 = 1.0 - tu_uniform(r), u2 = tu_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void tu_normalize(float *v, uint32_t dim) {
    double s = 0;
    for (uint32_t i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    double inv = s > 0 ? 1.0 / sqrt(s) : 0;
    for (uint32_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] * inv);
}

/* n i.i.d. Gaussian directions, normalized */
static float *tu_gaussian(uint64_t n, uint32_t dim, uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *x = malloc(n * dim * sizeof *x);
    for (uint64_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < dim; j++)
            x[i * dim + j] = (float)tu_normal(&r);
        tu_normalize(x + i * dim, dim);
    }
    return x;
}

/* Clustered data: `clusters` standard-normal centres; each point is a
 * centre plus N(0, sigma^2) noise, then normalized. `seed` picks the centres,
 * `point_seed` the points, so queries can share centres with the base. */
static float *tu_clustered(uint64_t n, uint32_t dim, uint32_t clusters, double sigma, uint64_t seed,
                           uint64_t point_seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *centres = malloc((size_t)clusters * dim * sizeof *centres);
    for (size_t i = 0; i < (size_t)clusters * dim; i++)
        centres[i] = (float)tu_normal(&r);
    tu_seed(&r, point_seed);
    float *x = malloc(n * dim * sizeof *x);
    for (uint64_t i = 0; i < n; i++) {
        const float *c = centres + (tu_next(&r) % clusters) * dim;
        for (uint32_t j = 0; j < dim; j++)
            x[i * dim + j] = c[j] + (float)(sigma * tu_normal(&r));
        tu_normalize(x + i * dim, dim);
    }
    free(centres);
    return x;
}

static double tu_distance(vw_metric m, const float *a, const float *b, uint32_t dim) {
    double s = 0;
    if (m == VW_METRIC_L2) {
        for (uint32_t i = 0; i < dim; i++)
            s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return s;
    }
    double na = 0, nb = 0;
    for (uint32_t i = 0; i < dim; i++) {
        s += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    if (m == VW_METRIC_COSINE)
        s /= sqrt(na * nb);
    return 1.0 - s;
}

typedef int (*tu_keep_fn)(uint64_t label, void *ctx);

/* Exact top-k labels (label = row) of one query, nearest first, ties by the
 * smaller label; rows the filter rejects are skipped. Returns how many. */
static uint32_t tu_brute_force(vw_metric m, const float *base, uint64_t n, uint32_t dim,
                               const float *q, uint32_t k, tu_keep_fn keep, void *ctx,
                               uint64_t *out, double *out_d) {
    uint32_t found = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (keep && !keep(i, ctx))
            continue;
        double d = tu_distance(m, base + i * dim, q, dim);
        if (found == k && !(d < out_d[k - 1]))
            continue;
        uint32_t j = found < k ? found++ : k - 1;
        while (j > 0 && d < out_d[j - 1]) {
            out[j] = out[j - 1];
            out_d[j] = out_d[j - 1];
            j--;
        }
        out[j] = i;
        out_d[j] = d;
    }
    return found;
}

/* |a ∩ b| over the first k entries of each */
static uint32_t tu_overlap(const uint64_t *a, uint32_t na, const uint64_t *b, uint32_t nb) {
    uint32_t hits = 0;
    for (uint32_t i = 0; i < na; i++)
        for (uint32_t j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                hits++;
                break;
            }
    return hits;
}

static uint64_t *tu_iota(uint64_t n) {
    uint64_t *l = malloc(n * sizeof *l);
    for (uint64_t i = 0; i < n; i++)
        l[i] = i;
    return l;
}

/* The whole of a file in a malloc'ed buffer (NULL if unreadable); *len is
 * its size. */
static unsigned char *tu_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n >= 0 ? malloc(n > 0 ? (size_t)n : 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* Writes len bytes to path (created or truncated); 0 on success. */
static int tu_write_file(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Native-order integers at any alignment, for reading and patching files. */
static uint32_t tu_get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t tu_get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void tu_put32(unsigned char *p, uint32_t v) {
    memcpy(p, &v, sizeof v);
}

static void tu_put64(unsigned char *p, uint64_t v) {
    memcpy(p, &v, sizeof v);
}

/* Creates a private directory "<$TMPDIR or /tmp>/<prefix>.XXXXXX" into dir
 * (64 bytes); 0 on success. */
static int tu_tempdir(char dir[64], const char *prefix) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, 64, "%s/%s.XXXXXX", base && strlen(base) < 40 ? base : "/tmp", prefix);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

#endif
