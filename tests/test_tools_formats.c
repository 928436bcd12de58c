/* Every vector format through the tools: vw-gen writes the same vectors as
 * .npy, .fvecs and .fbin (deterministic for a seed, whatever the thread
 * count, and prefix-stable), vw-build reads each of them and the indexes
 * answer identically; byte formats (.bvecs, .u8bin) written by the library
 * go through vw-build and vw-query; vw-gen refuses integer formats. */
#include "test_tools_util.h"

enum { N = 500, DIM = 16, K = 5 };

static const char *const exts[] = {"npy", "fvecs", "fbin"};

static float *read_rows(const char *path, uint64_t want_n) {
    vw_dataset *ds = NULL;
    CHECK_OK(vw_dataset_read(path, VW_FORMAT_AUTO, &ds));
    if (!ds || ds->n != want_n || ds->dim != DIM) {
        fprintf(stderr, "FAIL: %s: unreadable or wrong shape\n", path);
        check_failures++;
        vw_dataset_free(ds);
        return NULL;
    }
    float *copy = malloc((size_t)want_n * DIM * sizeof *copy);
    memcpy(copy, ds->data, (size_t)want_n * DIM * sizeof *copy);
    vw_dataset_free(ds);
    return copy;
}

static int same_bytes(const char *a, const char *b) {
    size_t la, lb;
    char *x = tt_read_text(a, &la), *y = tt_read_text(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void check_unit_rows(const char *what, const float *v, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < DIM; j++)
            s += (double)v[i * DIM + j] * v[i * DIM + j];
        if (fabs(s - 1.0) > 1e-5) {
            fprintf(stderr, "FAIL: %s row %llu has squared norm %g\n", what, (unsigned long long)i,
                    s);
            check_failures++;
            return;
        }
    }
}

static void gen(const char *out, const char *n, const char *threads, const char *extra) {
    tt_run_result r;
    if (extra) {
        r = tt_run(NULL, tt.gen, "-n", n, "-d", "16", "--seed", "7", "--threads", threads, "-q",
                   "--dist", extra, "-o", out, NULL);
    } else {
        r = tt_run(NULL, tt.gen, "-n", n, "-d", "16", "--seed", "7", "--threads", threads, "-q",
                   "-o", out, NULL);
    }
    tt_expect_ok(out, &r);
    CHECK(r.out[0] == '\0'); /* -q */
    tt_free_result(&r);
}

static void check_float_formats(void) {
    char path[3][64];
    float *rows[3];
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "base.%s", exts[i]);
        gen(tt_file(path[i]), "500", i == 0 ? "2" : "1", NULL);
        rows[i] = read_rows(tt_file(path[i]), N);
    }
    if (rows[0] && rows[1] && rows[2]) {
        CHECK(memcmp(rows[0], rows[1], sizeof(float) * N * DIM) == 0);
        CHECK(memcmp(rows[0], rows[2], sizeof(float) * N * DIM) == 0);
        check_unit_rows("clustered", rows[0], N);
    }
    /* same seed, same bytes; the first 100 of 500 rows are the 100-row set */
    gen(tt_file("again.npy"), "500", "1", NULL);
    CHECK(same_bytes(tt_file("again.npy"), tt_file("base.npy")));
    gen(tt_file("prefix.npy"), "100", "2", NULL);
    float *prefix = read_rows(tt_file("prefix.npy"), 100);
    if (prefix && rows[0])
        CHECK(memcmp(prefix, rows[0], sizeof(float) * 100 * DIM) == 0);
    free(prefix);
    for (int d = 0; d < 2; d++) {
        const char *dist = d ? "uniform" : "gaussian";
        gen(tt_file("other.fbin"), "200", "1", dist);
        float *v = read_rows(tt_file("other.fbin"), 200);
        if (v) {
            check_unit_rows(dist, v, 200);
            if (d && v)
                for (int i = 0; i < 200 * DIM; i++)
                    CHECK(v[i] >= 0.0f);
            CHECK(!rows[0] || memcmp(v, rows[0], sizeof(float) * 200 * DIM) != 0);
        }
        free(v);
    }

    /* each file builds the same index (one thread, same seed) */
    char *first = NULL;
    for (int i = 0; i < 3; i++) {
        char idx[64];
        snprintf(idx, sizeof idx, "%s.vwi", exts[i]);
        tt_run_result r = tt_run(NULL, tt.build, "-i", tt_file(path[i]), "-o", tt_file(idx), "-M",
                                 "8", "--threads", "1", NULL);
        tt_expect_ok(path[i], &r);
        tt_free_result(&r);
        r = tt_run(NULL, tt.query, "-x", tt_file(idx), "-k", "5", "--json", "--queries",
                   tt_file("base.fvecs"), NULL);
        if (tt_expect_ok(idx, &r)) {
            CHECK(tt_count_lines(r.out) == N);
            /* a base vector finds itself first, at distance 0 */
            CHECK(strncmp(r.out, "{\"indices\":[0,", 14) == 0);
            if (!first) {
                first = r.out;
                r.out = NULL;
            } else {
                CHECK(strcmp(first, r.out) == 0);
            }
        }
        tt_free_result(&r);
    }
    free(first);
    for (int i = 0; i < 3; i++)
        free(rows[i]);
}

static void check_byte_formats(void) {
    enum { NB = 300 };
    float *v = malloc(sizeof(float) * NB * DIM);
    tu_rng rng;
    tu_seed(&rng, 11);
    for (int i = 0; i < NB * DIM; i++)
        v[i] = (float)(tu_next(&rng) % 256);
    float q[DIM];
    char arg[256];
    size_t len = 0;
    for (int j = 0; j < DIM; j++) {
        q[j] = (float)((j * 37) % 256);
        len += (size_t)snprintf(arg + len, sizeof arg - len, "%s%d", j ? "," : "", (int)q[j]);
    }
    uint64_t want[K];
    double want_d[K];
    tu_brute_force(VW_METRIC_L2, v, NB, DIM, q, K, NULL, NULL, want, want_d);

    const char *names[] = {"bytes.bvecs", "bytes.u8bin"};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(vw_dataset_write(tt_file(names[i]), VW_FORMAT_AUTO, v, NB, DIM));
        tt_run_result r = tt_run(NULL, tt.build, "-i", tt_file(names[i]), "-o",
                                 tt_file("bytes.vwi"), "-M", "8", "--threads", "1", NULL);
        tt_expect_ok(names[i], &r);
        CHECK(strstr(r.out, "300 elements") != NULL);
        tt_free_result(&r);
        r = tt_run(NULL, tt.query, "-x", tt_file("bytes.vwi"), "-k", "5", "--ef", "300", "--json",
                   arg, NULL);
        if (tt_expect_ok("vw-query on a byte index", &r)) {
            char expect[256];
            size_t el = (size_t)snprintf(expect, sizeof expect, "{\"indices\":[");
            for (int j = 0; j < K; j++) {
                el += (size_t)snprintf(expect + el, sizeof expect - el, "%s%llu", j ? "," : "",
                                       (unsigned long long)want[j]);
            }
            CHECK(strncmp(r.out, expect, el) == 0);
        }
        tt_free_result(&r);
    }
    free(v);

    /* vw-gen writes unit float vectors: integer formats are refused */
    const char *refused[] = {"x.bvecs", "x.u8bin", "x.ivecs", "x.ibin"};
    for (int i = 0; i < 4; i++) {
        tt_run_result r =
            tt_run(NULL, tt.gen, "-n", "10", "-d", "4", "-o", tt_file(refused[i]), NULL);
        tt_expect_fail(refused[i], &r, 1, ".npy");
        CHECK(access(tt_file(refused[i]), F_OK) != 0);
        tt_free_result(&r);
    }
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    check_float_formats();
    check_byte_formats();
    return tu_result("tools_formats");
}
