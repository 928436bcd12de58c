/* Bad input to the tools: every case must exit non-zero (2 for usage
 * errors) with exactly one line on stderr that starts with the tool's name,
 * and never die from a signal. Also --help and --version. */
#include "test_tools_util.h"

enum { DIM = 16 };

/* tt_file() buffers rotate: keep this one. */
static char ok_index[4096];

/* A few broken vector files, written byte by byte. */
static void write_bad_files(void) {
    float rows[100 * 8] = {0};
    /* header promises 100 x 8 float32, the data stops after 10 floats */
    tt_write_npy(tt_file("truncated.npy"), "<f4", "(100, 8)", rows, 10 * sizeof(float));
    tt_write_npy(tt_file("complex.npy"), "<c8", "(4, 2)", rows, 4 * 2 * 8);
    tt_write_npy(tt_file("rank3.npy"), "<f4", "(2, 3, 4)", rows, 24 * sizeof(float));
    tt_write_bytes(tt_file("data.txt"), "1,2,3\n", 6);
    tt_write_bytes(tt_file("garbage.vwi"), "this is not an index, not at all........", 40);
    float nan_rows[2 * DIM] = {0};
    nan_rows[3] = NAN;
    CHECK_OK(vw_dataset_write(tt_file("nan.fvecs"), VW_FORMAT_AUTO, nan_rows, 2, DIM));
    float wrong_dim[3 * 8] = {0};
    CHECK_OK(vw_dataset_write(tt_file("dim8.fvecs"), VW_FORMAT_AUTO, wrong_dim, 3, 8));
}

#define FAIL_CASE(status, needle, ...)                                                             \
    do {                                                                                           \
        tt_run_result r_ = tt_run(__VA_ARGS__, NULL);                                              \
        tt_expect_fail(#__VA_ARGS__, &r_, status, needle);                                         \
        tt_free_result(&r_);                                                                       \
    } while (0)

static void check_inputs(void) {
    FAIL_CASE(1, "missing.npy", NULL, tt.build, "-i", tt_file("missing.npy"), "-o",
              tt_file("x.vwi"));
    FAIL_CASE(1, "data.txt", NULL, tt.build, "-i", tt_file("data.txt"), "-o", tt_file("x.vwi"));
    FAIL_CASE(1, "truncated.npy", NULL, tt.build, "-i", tt_file("truncated.npy"), "-o",
              tt_file("x.vwi"));
    FAIL_CASE(1, "complex.npy", NULL, tt.build, "-i", tt_file("complex.npy"), "-o",
              tt_file("x.vwi"));
    FAIL_CASE(1, "rank3.npy", NULL, tt.build, "-i", tt_file("rank3.npy"), "-o", tt_file("x.vwi"));
    FAIL_CASE(1, "nan.fvecs", NULL, tt.build, "-i", tt_file("nan.fvecs"), "-o", tt_file("x.vwi"));
    /* i8 reads the file once to train its codec: the bad row stops that read */
    FAIL_CASE(1, "training vector 0", NULL, tt.build, "-i", tt_file("nan.fvecs"), "-o",
              tt_file("x.vwi"), "--storage", "i8");
    CHECK(access(tt_file("x.vwi"), F_OK) != 0); /* nothing was written */
    FAIL_CASE(1, "missing.vwi", NULL, tt.query, "-x", tt_file("missing.vwi"), "1,2");
    FAIL_CASE(1, "garbage.vwi", NULL, tt.query, "-x", tt_file("garbage.vwi"), "1,2");
    FAIL_CASE(1, "garbage.vwi", NULL, tt.bench, "-x", tt_file("garbage.vwi"));
    FAIL_CASE(1, "/no/such/dir", NULL, tt.gen, "-n", "10", "-d", "4", "-o", "/no/such/dir/x.npy");
    FAIL_CASE(1, "no/such/dir", NULL, tt.bench, "-x", ok_index, "-o", "/no/such/dir/r.json");
}

static void check_queries(void) {
    const char *ix = ok_index;
    /* wrong dimension, named with both numbers, for every way in */
    tt_run_result r = tt_run(NULL, tt.query, "-x", ix, "1,2,3", NULL);
    tt_expect_fail("3-d query on a 16-d index", &r, 1, "3 values");
    CHECK(strstr(r.err, "16") != NULL);
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", ix, "--queries", tt_file("dim8.fvecs"), NULL);
    tt_expect_fail("8-d query file", &r, 1, "dimension 8");
    CHECK(strstr(r.err, "16") != NULL);
    tt_free_result(&r);
    r = tt_run(NULL, tt.bench, "-x", ix, "--queries", tt_file("dim8.fvecs"), NULL);
    tt_expect_fail("vw-bench 8-d query file", &r, 1, "dimension 8");
    tt_free_result(&r);
    const char *lines = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n1 2\n";
    tt_write_bytes(tt_file("bad_line.txt"), lines, strlen(lines));
    r = tt_run(tt_file("bad_line.txt"), tt.query, "-x", ix, NULL);
    tt_expect_fail("short stdin line", &r, 1, "stdin line 2");
    CHECK(tt_count_lines(r.out) == 11); /* line 1 was answered: header + 10 */
    tt_free_result(&r);
    /* a build report that is not JSON (a trailing comma, a bare word) */
    tt_write_bytes(tt_file("comma.json"), "{\"a\":[1,]}", 10);
    tt_write_bytes(tt_file("word.json"), "{\"a\":nope}", 10);
    FAIL_CASE(1, "not valid JSON", NULL, tt.bench, "-x", ix, "--build-report",
              tt_file("comma.json"));
    FAIL_CASE(1, "not valid JSON", NULL, tt.bench, "-x", ix, "--build-report",
              tt_file("word.json"));
    /* malformed numbers */
    FAIL_CASE(1, "nan", NULL, tt.query, "-x", ix, "1,nan,3");
    FAIL_CASE(1, "2x", NULL, tt.query, "-x", ix, "1,2x,3");
    FAIL_CASE(1, "','", NULL, tt.query, "-x", ix, "1,,3");
    FAIL_CASE(1, "1e99", NULL, tt.query, "-x", ix, "1e99,2");
    /* ground truth that does not fit the queries */
    float ids[5 * 10] = {0};
    CHECK_OK(vw_dataset_write(tt_file("gt5.ivecs"), VW_FORMAT_AUTO, ids, 5, 10));
    FAIL_CASE(1, "gt5.ivecs", NULL, tt.bench, "-x", ix, "--n-queries", "20", "--gt",
              tt_file("gt5.ivecs"));
}

static void check_options(void) {
    const char *ix = ok_index;
    const char *tools[] = {tt.gen, tt.build, tt.query, tt.bench};
    for (int i = 0; i < 4; i++) {
        FAIL_CASE(2, "--bogus", NULL, tools[i], "--bogus");
        FAIL_CASE(2, "-Z", NULL, tools[i], "-Z");
        FAIL_CASE(2, "--help", NULL, tools[i], "extra", "arguments", "--also");
    }
    FAIL_CASE(2, "-k", NULL, tt.query, "-x", ix, "-k", "0", "1,2");
    FAIL_CASE(2, "-k", NULL, tt.bench, "-x", ix, "-k", "0");
    FAIL_CASE(2, "-k", NULL, tt.query, "-x", ix, "-k", "ten", "1,2");
    FAIL_CASE(2, "-k", NULL, tt.query, "-x", ix, "-k", "-3", "1,2");
    FAIL_CASE(2, "--ef", NULL, tt.query, "-x", ix, "--ef", "0", "1,2");
    FAIL_CASE(2, "--ef", NULL, tt.query, "-x", ix, "--ef", "99999999999999999999", "1,2");
    FAIL_CASE(2, "-x", NULL, tt.query, "-x");
    FAIL_CASE(2, "-x", NULL, tt.query, "1,2");
    FAIL_CASE(2, "-n", NULL, tt.gen, "-n", "0", "-o", tt_file("z.npy"));
    FAIL_CASE(2, "-d", NULL, tt.gen, "-d", "5000", "-o", tt_file("z.npy"));
    FAIL_CASE(2, "--spread", NULL, tt.gen, "--spread", "inf", "-o", tt_file("z.npy"));
    FAIL_CASE(2, "--dist", NULL, tt.gen, "--dist", "zipf", "-o", tt_file("z.npy"));
    FAIL_CASE(2, "--clusters", NULL, tt.gen, "--dist", "uniform", "--clusters", "3", "-o",
              tt_file("z.npy"));
    FAIL_CASE(2, "-o", NULL, tt.gen, "-n", "5");
    FAIL_CASE(2, "-M", NULL, tt.build, "-i", tt_file("base.npy"), "-o", tt_file("y.vwi"), "-M",
              "1");
    FAIL_CASE(2, "--metric", NULL, tt.build, "-i", tt_file("base.npy"), "-o", tt_file("y.vwi"),
              "--metric", "hamming");
    FAIL_CASE(2, "--ef-construction", NULL, tt.build, "-i", tt_file("base.npy"), "-o",
              tt_file("y.vwi"), "--ef-construction", "0");
    FAIL_CASE(2, "--target-recall", NULL, tt.bench, "-x", ix, "--target-recall", "1.5");
    FAIL_CASE(2, "--target-recall", NULL, tt.bench, "-x", ix, "--target-recall", "0");
    FAIL_CASE(2, "--sweep", NULL, tt.bench, "-x", ix, "--sweep", "16,,32");
    FAIL_CASE(2, "--sweep", NULL, tt.bench, "-x", ix, "--sweep", "16,0");
    FAIL_CASE(2, "--ef", NULL, tt.bench, "-x", ix, "--ef", "16", "--sweep", "16,32");
    FAIL_CASE(2, "--queries", NULL, tt.bench, "-x", ix, "--queries", tt_file("dim8.fvecs"),
              "--n-queries", "5");
}

static void check_help_version(void) {
    const char *tools[] = {tt.gen, tt.build, tt.query, tt.bench};
    char version[64];
    snprintf(version, sizeof version, " %s\n", vw_version());
    for (int i = 0; i < 4; i++) {
        tt_run_result r = tt_run(NULL, tools[i], "--help", NULL);
        if (tt_expect_ok("--help", &r)) {
            CHECK(strncmp(r.out, "Usage: vw-", 10) == 0);
            CHECK(r.err[0] == '\0');
        }
        tt_free_result(&r);
        r = tt_run(NULL, tools[i], "--version", NULL);
        if (tt_expect_ok("--version", &r))
            CHECK(strncmp(r.out, "vw-", 3) == 0 && strstr(r.out, version) != NULL);
        tt_free_result(&r);
    }
}

/* An unknown VW_SIMD stops every tool before it starts. */
static void check_simd_env(void) {
    setenv("VW_SIMD", "sse9", 1);
    const char *tools[] = {tt.gen, tt.build, tt.query, tt.bench};
    for (int i = 0; i < 4; i++)
        FAIL_CASE(1, "VW_SIMD", NULL, tools[i], "--version");
    unsetenv("VW_SIMD");
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    snprintf(ok_index, sizeof ok_index, "%s", tt_file("ok.vwi"));
    write_bad_files();
    tt_run_result r =
        tt_run(NULL, tt.gen, "-n", "300", "-d", "16", "-q", "-o", tt_file("base.npy"), NULL);
    tt_expect_ok("vw-gen", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "-i", tt_file("base.npy"), "-o", tt_file("ok.vwi"), "-M", "8", "-q",
               NULL);
    tt_expect_ok("vw-build", &r);
    tt_free_result(&r);
    remove(tt_file("x.vwi"));

    check_inputs();
    check_queries();
    check_options();
    check_help_version();
    check_simd_env();
    return tu_result("tools_errors");
}
