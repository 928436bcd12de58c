/* Writes small valid index files, the starting corpus of fuzz_load, into
 * the directory given as the only argument (created if missing), and checks
 * that each loads in every mode. CI runs it before fuzzing:
 *     test_persist_seeds <dir> && fuzz_load <dir> ...
 * The files are tiny (M = 2 or 3, a few dozen nodes) so that the fuzzer's
 * mutations land on headers and lists rather than on float payloads; the
 * same files are kept in tests/fuzz/seeds/fuzz_load/. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

static const char *out_dir;

/* n nodes; `removed` of them removed, the first half of those purged into
 * free slots (format version 3 when removed > 0). */
static void write_seed_as(const char *name, vw_metric metric, uint32_t dim, uint32_t M, uint64_t n,
                          vw_storage storage, uint32_t flags, uint64_t removed, unsigned save) {
    vw_params p;
    vw_params_default(&p, dim);
    p.metric = metric;
    p.storage = storage;
    p.flags = flags;
    p.M = M;
    p.ef_construction = 8;
    p.seed = n;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    if (!ix)
        return;
    if (n > 0) {
        float *x = tu_gaussian(n, dim, 31 + n);
        uint64_t *labels = malloc(n * sizeof *labels);
        for (uint64_t i = 0; i < n; i++)
            labels[i] = i * i + 7;
        CHECK_OK(vw_index_add_batch(ix, x, labels, n, 1, NULL, NULL));
        for (uint64_t i = 0; i < removed; i++) {
            CHECK_OK(vw_index_remove(ix, labels[2 * i]));
            if (i + 1 == removed / 2)
                CHECK_OK(vw_index_purge(ix));
        }
        free(x);
        free(labels);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s.vwi", out_dir, name);
    CHECK_OK(vw_index_save_ex(ix, path, save));
    vw_index_free(ix);
    static const unsigned modes[] = {0, VW_LOAD_MMAP, VW_LOAD_NO_VERIFY};
    for (int m = 0; m < 3; m++) {
        vw_index *back = NULL;
        CHECK_OK(vw_index_load(path, modes[m], &back));
        vw_index_free(back);
    }
}

/* Format version 5: attributes on some elements (the attributes section). */
static void write_attr_seed(const char *name, uint64_t n, uint64_t removed, unsigned save) {
    vw_params p;
    vw_params_default(&p, 3);
    p.M = 2;
    p.ef_construction = 8;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = tu_gaussian(n, 3, 5 + n);
    CHECK_OK(vw_index_add_batch(ix, x, NULL, n, 1, NULL, NULL));
    static const char *const texts[] = {
        "{\"c\":\"red\",\"p\":12.5,\"s\":true}", "{\"c\":\"blue\",\"t\":[\"a\",\"b\"]}",
        "{\"p\":-3,\"z\":null,\"t\":[]}", "{\"s\":false,\"c\":\"\\u00e9\"}"};
    for (uint64_t i = 0; i < n; i += 2)
        CHECK_OK(vw_index_set_attributes(ix, i, texts[i / 2 % 4], strlen(texts[i / 2 % 4])));
    for (uint64_t i = 0; i < removed; i++)
        CHECK_OK(vw_index_remove(ix, 4 * i + 1));
    char path[512];
    snprintf(path, sizeof path, "%s/%s.vwi", out_dir, name);
    CHECK_OK(vw_index_save_ex(ix, path, save));
    vw_index_free(ix);
    free(x);
    vw_index *back = NULL;
    CHECK_OK(vw_index_load(path, VW_LOAD_MMAP, &back));
    vw_index_free(back);
}

static void write_seed(const char *name, vw_metric metric, uint32_t dim, uint32_t M, uint64_t n,
                       vw_storage storage, uint32_t flags, uint64_t removed) {
    write_seed_as(name, metric, dim, M, n, storage, flags, removed, VW_SAVE_DEFAULT);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    const vw_storage F32 = VW_STORAGE_F32, F16 = VW_STORAGE_F16, I8 = VW_STORAGE_I8;
    const uint32_t NO = VW_PARAMS_NO_FLOAT32;
    write_seed("empty", VW_METRIC_L2, 2, 2, 0, F32, 0, 0);
    write_seed("one", VW_METRIC_IP, 3, 2, 1, F32, 0, 0);
    write_seed("l2_d2_n24", VW_METRIC_L2, 2, 2, 24, F32, 0, 0);
    write_seed("ip_d3_n16", VW_METRIC_IP, 3, 3, 16, F32, 0, 0);
    write_seed("cos_d4_n40", VW_METRIC_COSINE, 4, 2, 40, F32, 0, 0);
    /* compact kinds: the storage and float32 sections */
    write_seed("f16_l2_d3_n20", VW_METRIC_L2, 3, 2, 20, F16, 0, 0);
    write_seed("f16n_ip_d5_n12", VW_METRIC_IP, 5, 2, 12, F16, NO, 0);
    write_seed("i8_l2_d4_n24", VW_METRIC_L2, 4, 2, 24, I8, 0, 0);
    write_seed("i8n_cos_d3_n16", VW_METRIC_COSINE, 3, 3, 16, I8, NO, 0);
    write_seed("i8_ip_d2_n10", VW_METRIC_IP, 2, 2, 10, I8, 0, 0);
    write_seed("i8_empty", VW_METRIC_L2, 3, 2, 0, I8, 0, 0);
    /* format version 3: removed nodes and free slots */
    write_seed("l2_d2_n30_removed8", VW_METRIC_L2, 2, 2, 30, F32, 0, 8);
    write_seed("cos_d3_n20_removed6", VW_METRIC_COSINE, 3, 3, 20, F32, 0, 6);
    write_seed("ip_d2_n6_removed3", VW_METRIC_IP, 2, 2, 6, F32, 0, 3);
    write_seed("f16_l2_d3_n20_removed6", VW_METRIC_L2, 3, 2, 20, F16, 0, 6);
    write_seed("i8_ip_d4_n24_removed8", VW_METRIC_IP, 4, 2, 24, I8, 0, 8);
    write_seed("i8n_cos_d3_n16_removed4", VW_METRIC_COSINE, 3, 3, 16, I8, NO, 4);
    /* format version 4: packed layer-0 lists, the residual section */
    const uint32_t RES = VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL;
    const unsigned PACK = VW_SAVE_PACK_LINKS;
    write_seed_as("packed_l2_d2_n24", VW_METRIC_L2, 2, 2, 24, F32, 0, 0, PACK);
    write_seed_as("packed_ip_d2_n20_removed6", VW_METRIC_IP, 2, 3, 20, F32, 0, 6, PACK);
    write_seed_as("i8r_l2_d3_n16", VW_METRIC_L2, 3, 2, 16, I8, RES, 0, VW_SAVE_DEFAULT);
    write_seed_as("i8r_packed_cos_d5_n20_removed4", VW_METRIC_COSINE, 5, 2, 20, I8, RES, 4, PACK);
    write_attr_seed("attrs_d3_n12", 12, 0, VW_SAVE_DEFAULT);
    write_attr_seed("attrs_packed_d3_n16_removed3", 16, 3, PACK);
    return tu_result("test_persist_seeds");
}
