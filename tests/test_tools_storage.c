/* Storage kinds through the tools: vw-build --storage f16|i8 [--no-float32]
 * writes an index that vw-query and vw-bench take as it is; vw-query
 * --stats and vw-bench's JSON report the kind, the bytes per vector and
 * whether distances are exact (and vw-bench the peak RSS); vw-bench refuses
 * to read ground truth back from an index without float32 vectors; the
 * flags are checked. */
#include "test_tools_util.h"

#include <sys/stat.h>

enum { N = 3000, DIM = 48, NQ = 50 };

static void one_kind(const char *storage, int no_float32, unsigned bytes) {
    char name[64], json[64];
    snprintf(name, sizeof name, "%s%s.vwi", storage, no_float32 ? "n" : "");
    snprintf(json, sizeof json, "%s%s.json", storage, no_float32 ? "n" : "");
    tt_run_result r = no_float32
                          ? tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file(name),
                                   "-M", "12", "--storage", storage, "--no-float32", "-q", NULL)
                          : tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file(name),
                                   "-M", "12", "--storage", storage, "-q", NULL);
    if (tt_expect_ok("vw-build --storage", &r))
        CHECK(strstr(r.out, storage) != NULL);
    tt_free_result(&r);

    r = tt_run(NULL, tt.query, "-x", tt_file(name), "--stats", NULL);
    if (tt_expect_ok("vw-query --stats", &r)) {
        char want[64];
        snprintf(want, sizeof want, "\"storage\": \"%s\"", storage);
        CHECK(strstr(r.out, want) != NULL);
        CHECK(tt_json_number(r.out, "bytes_per_vector") == bytes);
        CHECK(strstr(r.out, no_float32 ? "\"exact_distances\": false"
                                       : "\"exact_distances\": true") != NULL);
    }
    tt_free_result(&r);

    r = tt_run(NULL, tt.query, "-x", tt_file(name), "--queries", tt_file("q.fvecs"), "--json",
               "--rerank", "20", NULL);
    if (tt_expect_ok("vw-query on a compact index", &r))
        CHECK(tt_count_lines(r.out) == NQ);
    tt_free_result(&r);

    r = tt_run(NULL, tt.bench, "-x", tt_file(name), "--queries", tt_file("q.fvecs"), "--base",
               tt_file("base.fvecs"), "--sweep", "16,64", "-o", tt_file(json), NULL);
    if (tt_expect_ok("vw-bench on a compact index", &r)) {
        char *text = tt_read_text(tt_file(json), NULL);
        CHECK(text != NULL);
        if (text) {
            CHECK(tt_json_number(text, "bytes_per_vector") == bytes);
            CHECK(tt_json_number(text, "peak_rss_bytes") > 0);
            CHECK(tt_json_number(tt_json_result_for_ef(text, 64), "recall_at_k") >= 0.9);
            CHECK(strstr(text, no_float32 ? "\"float32_kept\": false" : "\"float32_kept\": true"));
        }
        free(text);
        CHECK(strstr(r.out, no_float32 ? "APPROXIMATE" : "exact distances") != NULL);
    }
    tt_free_result(&r);

    if (no_float32) {
        r = tt_run(NULL, tt.bench, "-x", tt_file(name), "--queries", tt_file("q.fvecs"), "-o",
                   tt_file(json), NULL);
        tt_expect_fail("vw-bench, truth from an index without float32", &r, 1, "--base or --gt");
        tt_free_result(&r);
    }
}

/* i8 --no-float32 --residual --pack-links: d/2 more bytes per vector, a
 * smaller file than without --pack-links, the residual reported, recall at
 * least that of plain i8 without float32, and both load modes. */
static void residual_packed(void) {
    tt_run_result r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("r.vwi"),
                             "-M", "12", "--storage", "i8", "--no-float32", "--residual",
                             "--pack-links", "--report", tt_file("r-build.json"), "-q", NULL);
    if (tt_expect_ok("vw-build --residual --pack-links", &r))
        CHECK(strstr(r.out, "4-bit residual") != NULL);
    tt_free_result(&r);
    char *text = tt_read_text(tt_file("r-build.json"), NULL);
    CHECK(text && strstr(text, "\"packed_links\": true") &&
          tt_json_number(text, "residual_bits") == 4);
    free(text);
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("rf.vwi"), "-M", "12",
               "--storage", "i8", "--no-float32", "--residual", "-q", NULL);
    tt_expect_ok("vw-build --residual", &r);
    tt_free_result(&r);
    /* --from one of our files writes it again: packed, then back to fixed
     * lists byte for byte */
    r = tt_run(NULL, tt.build, "--from", tt_file("rf.vwi"), "-o", tt_file("rp.vwi"), "--pack-links",
               "--no-reorder", NULL);
    tt_expect_ok("vw-build --from ours --pack-links", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "--from", tt_file("rp.vwi"), "-o", tt_file("rf2.vwi"),
               "--no-reorder", NULL);
    tt_expect_ok("vw-build --from ours, fixed lists", &r);
    tt_free_result(&r);
    size_t n1 = 0, n2 = 0;
    char *f1 = tt_read_text(tt_file("rf.vwi"), &n1), *f2 = tt_read_text(tt_file("rf2.vwi"), &n2);
    CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0);
    free(f1);
    free(f2);
    struct stat packed, fixed;
    CHECK(stat(tt_file("r.vwi"), &packed) == 0 && stat(tt_file("rf.vwi"), &fixed) == 0 &&
          packed.st_size < fixed.st_size);
    const char *mmap_or_not[] = {"--mmap", NULL};
    for (int m = 0; m < 2; m++) {
        r = tt_run(NULL, tt.bench, "-x", tt_file("r.vwi"), "--queries", tt_file("q.fvecs"),
                   "--base", tt_file("base.fvecs"), "--sweep", "16,64", "-o", tt_file("r.json"),
                   mmap_or_not[m], NULL);
        if (tt_expect_ok("vw-bench on an i8 index with a residual", &r)) {
            char *json = tt_read_text(tt_file("r.json"), NULL);
            CHECK(json != NULL);
            if (json) {
                CHECK(tt_json_number(json, "bytes_per_vector") == DIM + DIM / 2);
                CHECK(tt_json_number(json, "residual_bits") == 4);
                CHECK(tt_json_number(tt_json_result_for_ef(json, 64), "recall_at_k") >= 0.9);
            }
            free(json);
            CHECK(strstr(r.out, "4-bit residual") != NULL);
        }
        tt_free_result(&r);
    }
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    char n[16], nq[16], d[16];
    snprintf(n, sizeof n, "%d", N);
    snprintf(nq, sizeof nq, "%d", NQ);
    snprintf(d, sizeof d, "%d", DIM);
    tt_run_result r = tt_run(NULL, tt.gen, "-n", n, "-d", d, "--queries", nq, "--queries-out",
                             tt_file("q.fvecs"), "-o", tt_file("base.fvecs"), "-q", NULL);
    if (!tt_expect_ok("vw-gen", &r))
        return tu_result("tools_storage");
    tt_free_result(&r);
    one_kind("f16", 0, 6 * DIM);
    one_kind("i8", 0, 5 * DIM);
    one_kind("i8", 1, DIM);

    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("x.vwi"), "--storage",
               "f64", NULL);
    tt_expect_fail("vw-build --storage f64", &r, 2, "--storage");
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("x.vwi"), "--no-float32",
               NULL);
    tt_expect_fail("vw-build --no-float32 with f32", &r, 2, "--no-float32");
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("x.vwi"), "--storage",
               "i8", "--residual", NULL);
    tt_expect_fail("vw-build --residual keeping float32", &r, 2, "--residual");
    tt_free_result(&r);
    residual_packed();
    return tu_result("tools_storage");
}
