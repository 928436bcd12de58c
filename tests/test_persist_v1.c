/* Files written in format version 1 (before storage kinds) still load, in
 * both modes, as float32 indexes with the same vectors and answers, and are
 * written back as version 2. tests/data/v1_*.vwi were saved by the version-1
 * writer from tu_gaussian(60, 8, 1234) with labels 1000 + 3i (M=4,
 * ef_construction=32, one thread). The data directory is the argument. */
#include "testutil.h"

#include <unistd.h>

#define N   60
#define DIM 8

static void check_index(const vw_index *ix, vw_metric m, const float *x) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    CHECK(s.count == N && s.dim == DIM && s.metric == m && s.M == 4);
    CHECK(s.storage == VW_STORAGE_F32 && s.float32_kept && s.exact_distances);
    for (uint64_t i = 0; i < N; i++) {
        float v[DIM];
        CHECK_OK(vw_index_get_vector(ix, 1000 + 3 * i, v));
        for (int j = 0; j < DIM; j++)
            CHECK(fabsf(v[j] - x[i * DIM + j]) <= 1e-6f);
    }
    for (uint64_t i = 0; i < N; i += 7) {
        const float *q = x + ((i * 13) % N) * DIM;
        uint64_t l[5], truth[5];
        float d[5];
        double td[5];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, q, 5, N, NULL, NULL, l, d, &found));
        tu_brute_force(m, x, N, DIM, q, 5, NULL, NULL, truth, td);
        CHECK(found == 5);
        for (int j = 0; j < 5; j++)
            CHECK(l[j] == 1000 + 3 * truth[j] || fabs(d[j] - td[j]) < 1e-6);
    }
}

static void one_file(const char *data_dir, const char *name, vw_metric m) {
    char path[512], out[128], tmp[64];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    float *x = tu_gaussian(N, DIM, 1234);
    if (m == VW_METRIC_COSINE)
        for (int i = 0; i < N; i++)
            tu_normalize(x + i * DIM, DIM);
    size_t len = 0;
    unsigned char *raw = tu_slurp(path, &len);
    CHECK(raw && len > 16 && raw[12] == 1); /* really a version-1 file */
    free(raw);
    static const unsigned modes[] = {VW_LOAD_DEFAULT, VW_LOAD_MMAP, VW_LOAD_NO_VERIFY};
    for (int md = 0; md < 3; md++) {
        vw_index *ix = NULL;
        CHECK_OK(vw_index_load(path, modes[md], &ix));
        if (ix)
            check_index(ix, m, x);
        vw_index_free(ix);
    }
    /* re-saved as version 2, with the same content */
    if (tu_tempdir(tmp, "vw_v1") != 0)
        return;
    snprintf(out, sizeof out, "%s/v2.vwi", tmp);
    vw_index *ix = NULL, *back = NULL;
    CHECK_OK(vw_index_load(path, VW_LOAD_DEFAULT, &ix));
    CHECK_OK(vw_index_save(ix, out));
    CHECK_OK(vw_index_load(out, VW_LOAD_DEFAULT, &back));
    raw = tu_slurp(out, &len);
    CHECK(raw && len > 16 && raw[12] == 2);
    free(raw);
    if (back)
        check_index(back, m, x);
    vw_index_free(ix);
    vw_index_free(back);
    unlink(out);
    rmdir(tmp);
    free(x);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <tests/data directory>\n", argv[0]);
        return 2;
    }
    one_file(argv[1], "v1_l2_d8_n60.vwi", VW_METRIC_L2);
    one_file(argv[1], "v1_cosine_d8_n60.vwi", VW_METRIC_COSINE);
    return tu_result("test_persist_v1");
}
