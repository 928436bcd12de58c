/*
 * gen.h - the synthetic vectors of vw-gen, specified exactly.
 *
 * vw-gen writes them and vw-bench draws its generated queries with the same
 * code, so that `vw-gen --seed S --queries Q` and `vw-bench --seed S
 * --n-queries Q` give the very same query vectors. This comment is the
 * specification: another program that follows it gets the same floats.
 *
 * Streams. Every row r of every stream has its own generator, so rows do
 * not depend on how many are drawn (the first n rows of a 1,000,000-row set
 * are the n-row set) and threads may draw them in any order. The streams are
 * 0 for base rows, 1 for query rows and 2 for cluster centres.
 *
 * Seeding. splitmix64(x): x += 0x9e3779b97f4a7c15; z = x;
 * z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9; z = (z ^ z >> 27) *
 * 0x94d049bb133111eb; return z ^ z >> 31 (x is kept for the next call).
 * The state of (seed, stream, row) is: h = seed; a = splitmix64(h);
 * h = a ^ stream * 0xd1342543de82ef95; b = splitmix64(h); h = b ^ row;
 * then four more splitmix64(h) calls give s[0..3].
 *
 * Generator: xoshiro256** (Blackman and Vigna): out = rotl(s[1] * 5, 7) * 9;
 * t = s[1] << 17; s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
 * s[2] ^= t; s[3] = rotl(s[3], 45). From it: uniform U = (out >> 11) *
 * 2^-53 in [0, 1); an integer below n = ((out >> 32) * n) >> 32; a normal
 * deviate by the Marsaglia polar method: u = 2U - 1, v = 2U - 1, s = u^2 +
 * v^2, drawn again while s >= 1 or s == 0; m = sqrt(-2 ln(s) / s); the
 * deviate is u * m, and the next call returns the spare v * m.
 *
 * Rows (arithmetic in double, one stream per row, fresh at each row):
 *   clustered: C centres, centre c being dim normal deviates of stream 2
 *              row c, stored as float; a row picks c = below(C) and takes
 *              centre[i] + spread * normal for each coordinate i;
 *   gaussian:  dim normal deviates;
 *   uniform:   dim uniform deviates.
 * Every row is then divided by its L2 norm (summed in double) and rounded
 * to float. A row whose norm is 0 or not finite is drawn again from where
 * its stream stands (vanishingly rare; it keeps every row a unit vector).
 */
#ifndef VW_TOOLS_GEN_H
#define VW_TOOLS_GEN_H

#include <stdint.h>

typedef enum tool_dist { TOOL_DIST_CLUSTERED, TOOL_DIST_GAUSSIAN, TOOL_DIST_UNIFORM } tool_dist;

#define TOOL_DEFAULT_SEED 42u
/* 512 clusters: about 2,000 vectors per cluster at 1,000,000. Within a
 * cluster the points are isotropic, so recall is set by the cluster size:
 * hnswlib (M=32, efConstruction=200, ef=64) measured recall@10 0.987 with
 * ~1,960 per cluster (100,000 vectors, 51 clusters) and 0.963 with ~3,850,
 * which puts 1M where the original Python service's "95-98%" lies. */
#define TOOL_DEFAULT_CLUSTERS 512u
#define TOOL_DEFAULT_SPREAD   1.0
#define TOOL_MAX_CLUSTERS     1000000u

enum { TOOL_STREAM_BASE = 0, TOOL_STREAM_QUERY = 1, TOOL_STREAM_CENTRES = 2 };

typedef struct tool_gen_params {
    tool_dist dist;
    uint32_t dim;
    uint32_t clusters;
    double spread;
    uint64_t seed;
} tool_gen_params;

void tool_gen_params_default(tool_gen_params *p, uint32_t dim);
/* "clustered", "gaussian", "uniform"; returns -1 for an unknown name. */
int tool_dist_parse(const char *name, tool_dist *out);
const char *tool_dist_name(tool_dist d);

typedef struct tool_gen tool_gen;

/* Draws the centres; NULL if out of memory. */
tool_gen *tool_gen_create(const tool_gen_params *p);
void tool_gen_free(tool_gen *g);
/* Fills out[0 .. n*dim) with rows first..first+n-1 of the given stream,
 * using `threads` threads (0 = all CPUs; the rows are the same for any
 * count). Returns -1 if out of memory, else 0. */
int tool_gen_rows(const tool_gen *g, int stream, uint64_t first, uint64_t n, unsigned threads,
                  float *out);

#endif /* VW_TOOLS_GEN_H */
