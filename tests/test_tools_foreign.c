/* Faiss and hnswlib index files through the tools: vw-query and vw-bench
 * read them where they read an index (an hnswlib file needs --metric, a
 * Faiss file's metric is checked), and `vw-build --from` converts them to
 * our format with the same answers. The files are the small ones the real
 * engines wrote for the fuzz seeds (VW_SEEDS_DIR, tests/fuzz/seeds). */
#include "test_tools_util.h"

#ifndef VW_SEEDS_DIR
#error "VW_SEEDS_DIR must name tests/fuzz/seeds"
#endif

static const char *seed_file(const char *name) {
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", VW_SEEDS_DIR, name);
    return b;
}

#define QUERY "0.3,-0.2,0.9,0.1"

/* The JSON answers of vw-query to QUERY and its negation, or NULL. */
static char *answers(const char *index, const char *metric) {
    tt_run_result r = metric ? tt_run(NULL, tt.query, "-x", index, "--metric", metric, "-k", "5",
                                      "--json", QUERY, "-0.3,0.2,-0.9,-0.1", NULL)
                             : tt_run(NULL, tt.query, "-x", index, "-k", "5", "--json", QUERY,
                                      "-0.3,0.2,-0.9,-0.1", NULL);
    char *out = NULL;
    if (tt_expect_ok(index, &r) && tt_count_lines(r.out) == 2 && strstr(r.out, "\"indices\":[")) {
        out = r.out;
        r.out = NULL;
    } else if (r.exited && r.status == 0) {
        fprintf(stderr, "FAIL: %s: unexpected output '%s'\n", index, r.out);
        check_failures++;
    }
    tt_free_result(&r);
    return out;
}

/* Converting keeps the answers: the same graph, the same labels. */
static void convert_and_compare(const char *name, const char *metric, const char *format) {
    const char *src = seed_file(name);
    char *before = answers(src, metric);
    for (int reorder = 0; reorder < 2; reorder++) {
        const char *out = tt_file(reorder ? "converted.vwi" : "converted_plain.vwi");
        tt_run_result r = metric ? tt_run(NULL, tt.build, "--from", src, "--metric", metric, "-o",
                                          out, reorder ? "-q" : "--no-reorder", NULL)
                                 : tt_run(NULL, tt.build, "--from", src, "-o", out,
                                          reorder ? "-q" : "--no-reorder", NULL);
        char want[64];
        snprintf(want, sizeof want, "converted from %s", format);
        if (tt_expect_ok(name, &r))
            CHECK(strstr(r.out, want) != NULL);
        tt_free_result(&r);
        char *after = answers(out, NULL);
        if (!before || !after || strcmp(before, after) != 0) {
            fprintf(stderr, "FAIL: %s: answers before and after conversion differ:\n%s%s", name,
                    before ? before : "", after ? after : "");
            check_failures++;
        }
        free(after);
    }
    free(before);
}

static void check_errors(void) {
    const char *h = seed_file("fuzz_hnswlib/l2_n40.hnsw"),
               *f = seed_file("fuzz_faiss/l2_n40.faiss");
    tt_run_result r = tt_run(NULL, tt.query, "-x", h, QUERY, NULL);
    tt_expect_fail("hnswlib without --metric", &r, 2, "--metric");
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", h, "--metric", "manhattan", QUERY, NULL);
    tt_expect_fail("unknown --metric", &r, 2, "manhattan");
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", f, "--metric", "ip", QUERY, NULL);
    tt_expect_fail("Faiss L2 file as ip", &r, 1, "metric is l2");
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "--from", f, "-M", "8", "-o", tt_file("x.vwi"), NULL);
    tt_expect_fail("--from with -M", &r, 2, "-M");
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "--from", f, "-i", f, "-o", tt_file("x.vwi"), NULL);
    tt_expect_fail("--from with -i", &r, 2, "--from");
    tt_free_result(&r);
    /* our own file is written again (here: packed lists, tools_storage has more) */
    r = tt_run(NULL, tt.build, "--from", tt_file("converted.vwi"), "-o", tt_file("x.vwi"),
               "--pack-links", NULL);
    if (tt_expect_ok("--from our own file", &r))
        CHECK(strstr(r.out, "converted from vwhnsw") != NULL);
    tt_free_result(&r);
    /* a damaged file: one line naming it and the problem */
    size_t len;
    unsigned char *bytes = tu_slurp(f, &len);
    if (bytes) {
        tt_write_bytes(tt_file("cut.faiss"), bytes, len / 2);
        r = tt_run(NULL, tt.query, "-x", tt_file("cut.faiss"), QUERY, NULL);
        tt_expect_fail("truncated Faiss file", &r, 1, "truncated");
        tt_free_result(&r);
    }
    free(bytes);
    /* --mmap applies to our files: a foreign one is read, with a warning */
    r = tt_run(NULL, tt.query, "-x", f, "--mmap", QUERY, NULL);
    if (tt_expect_ok("--mmap on a Faiss file", &r))
        CHECK(strstr(r.err, "--mmap applies to vwhnsw files") != NULL);
    tt_free_result(&r);
}

/* vw-bench measures a Faiss file directly (labels 0..n-1: ground truth
 * from the stored vectors) and an hnswlib one with --metric. */
static void check_bench(void) {
    tt_run_result r =
        tt_run(NULL, tt.bench, "-x", seed_file("fuzz_faiss/l2_n40.faiss"), "--n-queries", "20",
               "-k", "5", "--ef", "40", "-o", tt_file("bench.json"), NULL);
    if (tt_expect_ok("vw-bench on a Faiss file", &r)) {
        char *json = tt_read_text(tt_file("bench.json"), NULL);
        double recall = tt_json_number(json ? strstr(json, "\"results\"") : NULL, "recall_at_k");
        CHECK(recall == 1.0); /* ef 40 over 40 vectors is exhaustive */
        free(json);
    }
    tt_free_result(&r);
    r = tt_run(NULL, tt.bench, "-x", seed_file("fuzz_hnswlib/ip_n24.hnsw"), "--metric", "ip",
               "--base", seed_file("fuzz_hnswlib/ip_n24.hnsw"), "-o", tt_file("bench2.json"), NULL);
    tt_expect_fail("an index as --base", &r, 1, NULL);
    tt_free_result(&r);
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    convert_and_compare("fuzz_faiss/l2_n40.faiss", NULL, "faiss");
    convert_and_compare("fuzz_faiss/ip_idmap2_n12.faiss", NULL, "faiss");
    convert_and_compare("fuzz_faiss/l2_idmap_n30.faiss", "l2", "faiss");
    convert_and_compare("fuzz_hnswlib/ip_n24.hnsw", "ip", "hnswlib");
    convert_and_compare("fuzz_hnswlib/cosine_n30.hnsw", "cosine", "hnswlib");
    convert_and_compare("fuzz_hnswlib/l2_deleted_n32.hnsw", "l2", "hnswlib");
    check_errors();
    check_bench();
    return tu_result("tools_foreign");
}
