/* End to end: vw-gen -> vw-build -> vw-query -> vw-bench on 10,000 clustered
 * 128-d vectors (M=16), checking the benchmark JSON: recall@10 >= 0.95 at
 * ef=64, --target-recall returns an ef that reaches its target, --gt and the
 * brute-force truth agree, and generated queries equal vw-gen's. */
#include "test_tools_util.h"

enum { N = 10000, DIM = 128, NQ = 200, K = 10 };

/* The file's text (caller frees), or an empty string after a failure. */
static char *read_or_fail(const char *path) {
    char *text = tt_read_text(path, NULL);
    if (!text) {
        fprintf(stderr, "FAIL: %s was not written\n", path);
        check_failures++;
        text = calloc(1, 1);
    }
    return text;
}

/* Exact top-K of each query, written as .ivecs for `vw-bench --gt`. */
static void write_truth(const char *base_path, const char *queries_path, const char *out) {
    vw_dataset *base = NULL, *q = NULL;
    CHECK_OK(vw_dataset_read(base_path, VW_FORMAT_AUTO, &base));
    CHECK_OK(vw_dataset_read(queries_path, VW_FORMAT_AUTO, &q));
    if (!base || !q)
        exit(1);
    float *ids = malloc((size_t)q->n * K * sizeof *ids);
    for (uint64_t i = 0; i < q->n; i++) {
        uint64_t top[K];
        double d[K];
        tu_brute_force(VW_METRIC_L2, base->data, base->n, DIM, q->data + i * DIM, K, NULL, NULL,
                       top, d);
        for (int j = 0; j < K; j++)
            ids[i * K + j] = (float)top[j];
    }
    CHECK_OK(vw_dataset_write(out, VW_FORMAT_IVECS, ids, q->n, K));
    free(ids);
    vw_dataset_free(base);
    vw_dataset_free(q);
}

static void check_query_json(void) {
    tt_run_result r = tt_run(NULL, tt.query, "-x", tt_file("base.vwi"), "-k", "10", "--json",
                             "--queries", tt_file("q.fvecs"), NULL);
    if (tt_expect_ok("vw-query --json --queries", &r)) {
        CHECK(tt_count_lines(r.out) == NQ);
        CHECK(strncmp(r.out, "{\"indices\":[", 12) == 0);
        /* every line: 10 indices and 10 distances */
        int commas = 0;
        const char *line_end = strchr(r.out, '\n');
        for (const char *p = r.out; p < line_end; p++)
            commas += *p == ',';
        CHECK(commas == 2 * (K - 1) + 1);
        CHECK(strstr(r.out, "],\"distances\":[") != NULL);
    }
    tt_free_result(&r);
}

static void check_bench(void) {
    tt_run_result r =
        tt_run(NULL, tt.bench, "-x", tt_file("base.vwi"), "--base", tt_file("base.npy"),
               "--queries", tt_file("q.fvecs"), "--sweep", "16,64", "--target-recall", "0.97",
               "--threads", "2", "-o", tt_file("bench.json"), "--plot", tt_file("plot.svg"),
               "--build-report", tt_file("build.json"), NULL);
    tt_expect_ok("vw-bench --sweep --target-recall", &r);
    CHECK(strstr(r.out, "recall@10") != NULL);
    tt_free_result(&r);

    char *json = read_or_fail(tt_file("bench.json"));
    const char *at64 = tt_json_result_for_ef(json, 64);
    CHECK(at64 != NULL);
    double recall64 = tt_json_number(at64, "recall_at_k");
    printf("recall@10 at ef=64: %.4f\n", recall64);
    CHECK(recall64 >= 0.95 && recall64 <= 1.0);
    CHECK(tt_json_number(at64, "n_queries") == NQ);
    CHECK(tt_json_number(at64, "qps") > 0);
    CHECK(tt_json_number(at64, "p99") >= tt_json_number(at64, "p50"));
    CHECK(tt_json_number(at64, "threads") == 2); /* the batch run */
    CHECK(tt_json_number(json, "count") == N);
    CHECK(tt_json_number(json, "file_bytes") > 0);
    CHECK(strstr(json, "\"cpu_model\":") && strstr(json, "\"simd\":"));
    CHECK(strstr(json, "\"build\": {") != NULL); /* the embedded build report */

    const char *target = strstr(json, "\"target_recall\":");
    CHECK(target != NULL);
    if (target) {
        CHECK(strstr(target, "\"reached\": true") != NULL);
        double ef = tt_json_number(target, "ef_search");
        double recall = tt_json_number(target, "recall_at_k");
        printf("target 0.97: ef %.0f, recall %.4f\n", ef, recall);
        CHECK(ef >= K && ef <= 64);
        CHECK(recall >= 0.97);
    }
    char *svg = read_or_fail(tt_file("plot.svg"));
    CHECK(strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "<svg") && strstr(svg, "</svg>"));
    CHECK(strstr(svg, "ef=16") && strstr(svg, "ef=64"));
    free(svg);
    free(json);
}

/* --gt with the exact truth gives the same recall as the built-in brute
 * force; generated queries equal vw-gen's for the same seed. */
static void check_truth_sources(void) {
    write_truth(tt_file("base.npy"), tt_file("q.fvecs"), tt_file("gt.ivecs"));
    tt_run_result r =
        tt_run(NULL, tt.bench, "-x", tt_file("base.vwi"), "--queries", tt_file("q.fvecs"), "--gt",
               tt_file("gt.ivecs"), "--ef", "64", "-o", tt_file("bench_gt.json"), NULL);
    tt_expect_ok("vw-bench --gt", &r);
    tt_free_result(&r);
    char *with_gt = read_or_fail(tt_file("bench_gt.json"));
    char *brute = read_or_fail(tt_file("bench.json"));
    double a = tt_json_number(tt_json_result_for_ef(with_gt, 64), "recall_at_k");
    double b = tt_json_number(tt_json_result_for_ef(brute, 64), "recall_at_k");
    CHECK(a == b);

    /* No --queries, no --base: vw-gen's queries, truth read back from the index. */
    r = tt_run(NULL, tt.bench, "-x", tt_file("base.vwi"), "--n-queries", "200", "--ef", "64", "-o",
               tt_file("bench_gen.json"), NULL);
    tt_expect_ok("vw-bench --n-queries", &r);
    tt_free_result(&r);
    char *gen = read_or_fail(tt_file("bench_gen.json"));
    CHECK(tt_json_number(tt_json_result_for_ef(gen, 64), "recall_at_k") == b);
    CHECK(strstr(gen, "\"source\": \"generated\"") != NULL);
    free(gen);
    free(brute);
    free(with_gt);
}

/* --plot-from draws earlier results in one chart, a series each; what is
 * not a results file is refused, and it draws instead of measuring. */
static void check_plot_from(void) {
    char one[4200], two[4200];
    snprintf(one, sizeof one, "sweep=%s", tt_file("bench.json"));
    snprintf(two, sizeof two, "with gt=%s", tt_file("bench_gt.json"));
    tt_run_result r = tt_run(NULL, tt.bench, "--plot", tt_file("both.svg"), "--plot-title",
                             "two runs", "--plot-from", one, "--plot-from", two, NULL);
    tt_expect_ok("vw-bench --plot-from", &r);
    tt_free_result(&r);
    char *svg = read_or_fail(tt_file("both.svg"));
    CHECK(strstr(svg, ">two runs</text>") && strstr(svg, ">sweep</text>") &&
          strstr(svg, ">with gt</text>") && strstr(svg, "ef=16") && strstr(svg, "ef=64"));
    free(svg);
    snprintf(one, sizeof one, "npy=%s", tt_file("base.npy"));
    r = tt_run(NULL, tt.bench, "--plot", tt_file("bad.svg"), "--plot-from", one, NULL);
    tt_expect_fail("vw-bench --plot-from a vector file", &r, 1, "not vw-bench results");
    tt_free_result(&r);
    r = tt_run(NULL, tt.bench, "-x", tt_file("base.vwi"), "--plot", tt_file("bad.svg"),
               "--plot-from", two, NULL);
    tt_expect_fail("vw-bench --plot-from with -x", &r, 2, "--plot-from");
    tt_free_result(&r);
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    char n[16], nq[16];
    snprintf(n, sizeof n, "%d", N);
    snprintf(nq, sizeof nq, "%d", NQ);
    tt_run_result r = tt_run(NULL, tt.gen, "-n", n, "-d", "128", "--queries", nq, "--queries-out",
                             tt_file("q.fvecs"), "-o", tt_file("base.npy"), NULL);
    if (!tt_expect_ok("vw-gen", &r))
        return tu_result("tools_pipeline");
    tt_free_result(&r);

    r = tt_run(NULL, tt.build, "-i", tt_file("base.npy"), "-o", tt_file("base.vwi"), "-M", "16",
               "--ef-construction", "100", "--report", tt_file("build.json"), NULL);
    if (!tt_expect_ok("vw-build", &r))
        return tu_result("tools_pipeline");
    CHECK(strstr(r.out, "10000 elements") != NULL);
    CHECK(r.err[0] == '\0'); /* no progress bar when stderr is not a terminal */
    tt_free_result(&r);

    check_query_json();
    check_bench();
    check_truth_sources();
    check_plot_from();
    return tu_result("tools_pipeline");
}
