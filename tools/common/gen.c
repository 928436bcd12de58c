/*
 * gen.c - the vw-gen generator, as gen.h specifies it.
 */
#include "gen.h"

#include "machine.h"
#include "parallel.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct tool_gen {
    tool_gen_params p;
    float *centres; /* clusters x dim, clustered only */
};

void tool_gen_params_default(tool_gen_params *p, uint32_t dim) {
    *p = (tool_gen_params){TOOL_DIST_CLUSTERED, dim, TOOL_DEFAULT_CLUSTERS, TOOL_DEFAULT_SPREAD,
                           TOOL_DEFAULT_SEED};
}

static const char *const dist_names[] = {"clustered", "gaussian", "uniform"};

int tool_dist_parse(const char *name, tool_dist *out) {
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, dist_names[i]) == 0) {
            *out = (tool_dist)i;
            return 0;
        }
    }
    return -1;
}

const char *tool_dist_name(tool_dist d) {
    return (unsigned)d < 3 ? dist_names[d] : "unknown";
}

/* ------------------------------------------------------------ the generator */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
    double spare; /* the second deviate of the last polar pair */
    int has_spare;
} rng;

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed_row(rng *r, uint64_t seed, int stream, uint64_t row) {
    uint64_t h = seed;
    uint64_t x = splitmix64(&h);
    h = x ^ ((uint64_t)stream * 0xd1342543de82ef95ull);
    x = splitmix64(&h);
    h = x ^ row;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&h);
    r->has_spare = 0;
}

static double rng_uniform(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static uint32_t rng_below(rng *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_normal(rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform(r) - 1.0;
        v = 2.0 * rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

/* ------------------------------------------------------------ rows */

tool_gen *tool_gen_create(const tool_gen_params *p) {
    tool_gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->p = *p;
    if (p->dist != TOOL_DIST_CLUSTERED)
        return g;
    g->centres = malloc((size_t)p->clusters * p->dim * sizeof(float));
    if (!g->centres) {
        free(g);
        return NULL;
    }
    for (uint32_t c = 0; c < p->clusters; c++) {
        rng r;
        rng_seed_row(&r, p->seed, TOOL_STREAM_CENTRES, c);
        for (uint32_t i = 0; i < p->dim; i++)
            g->centres[(size_t)c * p->dim + i] = (float)rng_normal(&r);
    }
    return g;
}

void tool_gen_free(tool_gen *g) {
    if (g)
        free(g->centres);
    free(g);
}

/* One draw of a row's coordinates into tmp, before normalizing. */
static void draw(const tool_gen *g, rng *r, double *tmp) {
    const uint32_t dim = g->p.dim;
    if (g->p.dist == TOOL_DIST_CLUSTERED) {
        const float *c = g->centres + (size_t)rng_below(r, g->p.clusters) * dim;
        for (uint32_t i = 0; i < dim; i++)
            tmp[i] = (double)c[i] + g->p.spread * rng_normal(r);
    } else {
        for (uint32_t i = 0; i < dim; i++)
            tmp[i] = g->p.dist == TOOL_DIST_GAUSSIAN ? rng_normal(r) : rng_uniform(r);
    }
}

static void gen_row(const tool_gen *g, int stream, uint64_t row, float *out, double *tmp) {
    rng r;
    rng_seed_row(&r, g->p.seed, stream, row);
    double norm = 0.0;
    while (!(norm > 0.0 && isfinite(norm))) {
        draw(g, &r, tmp);
        norm = 0.0;
        for (uint32_t i = 0; i < g->p.dim; i++)
            norm += tmp[i] * tmp[i];
        norm = sqrt(norm);
    }
    for (uint32_t i = 0; i < g->p.dim; i++)
        out[i] = (float)(tmp[i] / norm);
}

/* Rows are handed out in blocks from a shared counter (tool_parallel). */
typedef struct gen_job {
    const tool_gen *g;
    int stream;
    uint64_t first, n;
    float *out;
    atomic_uint_fast64_t next; /* next row offset to take */
    atomic_int failed;         /* out of memory for a scratch row */
} gen_job;

enum { GEN_BLOCK = 1024 };

static void gen_worker(void *p, unsigned worker) {
    gen_job *job = p;
    (void)worker;
    const uint32_t dim = job->g->p.dim;
    double *tmp = malloc((size_t)dim * sizeof(double));
    if (!tmp) {
        atomic_store(&job->failed, 1);
        return;
    }
    for (;;) {
        uint64_t at = atomic_fetch_add(&job->next, GEN_BLOCK);
        if (at >= job->n)
            break;
        uint64_t end = job->n - at < GEN_BLOCK ? job->n : at + GEN_BLOCK;
        for (uint64_t i = at; i < end; i++)
            gen_row(job->g, job->stream, job->first + i, job->out + (size_t)i * dim, tmp);
    }
    free(tmp);
}

int tool_gen_rows(const tool_gen *g, int stream, uint64_t first, uint64_t n, unsigned threads,
                  float *out) {
    gen_job job = {.g = g, .stream = stream, .first = first, .n = n, .out = out};
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    uint64_t blocks = (n + GEN_BLOCK - 1) / GEN_BLOCK;
    if (threads == 0)
        threads = tool_cpu_count();
    if (threads > blocks) /* a thread per block at most: small sets run on one */
        threads = blocks > 0 ? (unsigned)blocks : 1;
    tool_parallel(threads, gen_worker, &job);
    /* A worker without scratch left its rows to the others, unless it was
     * the only one: then nothing was drawn. */
    return atomic_load(&job.failed) && atomic_load(&job.next) < n ? -1 : 0;
}
