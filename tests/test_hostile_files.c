/*
 * test_hostile_files.c - files a careless or hostile user gives the tools.
 *
 *   special_paths  a FIFO, a directory or a device where a file is read or
 *                  written: refused at once by every tool (a FIFO used to
 *                  block open(2) forever, and vw-serve then ignored SIGTERM)
 *   same_file      an output that is one of the inputs (same name, another
 *                  spelling, a hard or symbolic link): refused, input intact
 *   full_disk      a write that fails half-way (a file size limit stands in
 *                  for a full disk): the old file stays, no temporary left
 *   mmap_nan       an index whose vector holds NaN behind valid checksums:
 *                  refused when mapped too, and no NaN ever printed as JSON
 *
 * Usage: test_hostile_files CASE VW-SERVE VW-GEN VW-BUILD VW-QUERY VW-BENCH SCRATCH
 */
#include "test_hostile.h"

#define RUN_MS 60000 /* generous: ASan builds are slow; a hang takes this long to fail */
#define Q8     "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8"

/* FAIL_RUN(status, needle, prog, args...) */
#define FAIL_RUN(status, needle, ...)                                                              \
    do {                                                                                           \
        hx_result r_ = hx_run(NULL, RUN_MS, __VA_ARGS__, NULL);                                    \
        hx_expect_fail(#__VA_ARGS__, &r_, status, needle);                                         \
        hx_result_free(&r_);                                                                       \
    } while (0)

/* base.npy (300 x 8) and ok.vwi built from it by the tools. */
static void make_inputs(void) {
    hx_result r =
        hx_run(NULL, RUN_MS, hx.gen, "-n", "300", "-d", "8", "-q", "--queries", "20",
               "--queries-out", hx_file("queries.fvecs"), "-o", hx_file("base.npy"), NULL);
    hx_expect_ok("vw-gen", &r);
    hx_result_free(&r);
    r = hx_run(NULL, RUN_MS, hx.build, "-i", hx_file("base.npy"), "-o", hx_file("ok.vwi"), "-M",
               "8", "-q", NULL);
    hx_expect_ok("vw-build", &r);
    hx_result_free(&r);
}

static int is_fifo(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISFIFO(sb.st_mode);
}

/* SIGTERM at any moment of a start stops vw-serve (it used to wait for the
 * index load with the signal blocked). */
static void serve_stops_while_starting(void) {
    static const unsigned delays_ms[] = {0, 1, 3, 10, 30};
    for (size_t i = 0; i < sizeof delays_ms / sizeof delays_ms[0]; i++) {
        int fd = open(hx_file("start.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        pid_t pid = hx_spawn_serve(hx_file("ok.vwi"), NULL, NULL, fd);
        close(fd);
        sv_sleep_ms(delays_ms[i]);
        kill(pid, SIGTERM);
        int status = 0;
        int exited = 0;
        for (int waited = 0; waited < RUN_MS && !exited; waited += 5) {
            exited = waitpid(pid, &status, WNOHANG) == pid;
            if (!exited)
                sv_sleep_ms(5);
        }
        if (!exited) {
            fprintf(stderr, "vw-serve ignored SIGTERM %u ms after start\n", delays_ms[i]);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            check_failures++;
        } else {
            CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                  (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
        }
    }
}

static void hx_case_special_paths(void) {
    make_inputs();
    const char *fifos[] = {"fifo.npy",  "fifo.vwi",   "fifo.fvecs",
                           "fifo.json", "fifo.ivecs", "fifo.svg"};
    for (size_t i = 0; i < sizeof fifos / sizeof fifos[0]; i++) {
        unlink(hx_file(fifos[i]));
        CHECK(mkfifo(hx_file(fifos[i]), 0600) == 0);
    }
    mkdir(hx_file("dir.npy"), 0755);
    mkdir(hx_file("dir.vwi"), 0755);
    const char *zeros[] = {"zero.npy", "zero.vwi", "zero.json"};
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) {
        unlink(hx_file(zeros[i]));
        CHECK(symlink("/dev/zero", hx_file(zeros[i])) == 0);
    }
    HX_PATH(ok, "ok.vwi");
    HX_PATH(base, "base.npy");

    FAIL_RUN(1, "FIFO", hx.build, "-i", hx_file("fifo.npy"), "-o", hx_file("x.vwi"));
    FAIL_RUN(1, "directory", hx.build, "-i", hx_file("dir.npy"), "-o", hx_file("x.vwi"));
    FAIL_RUN(1, "device", hx.build, "-i", hx_file("zero.npy"), "-o", hx_file("x.vwi"));
    FAIL_RUN(1, "FIFO", hx.build, "-i", base, "-o", hx_file("fifo.vwi"));
    FAIL_RUN(1, "directory", hx.build, "-i", base, "-o", hx_file("dir.vwi"));
    FAIL_RUN(1, "FIFO", hx.build, "-i", base, "-o", hx_file("x.vwi"), "--report",
             hx_file("fifo.json"));
    /* Never a real device here: a tool that renamed over it would replace
     * the device itself for the whole machine. A link to one stands in. */
    FAIL_RUN(1, "device", hx.build, "-i", base, "-o", hx_file("x.vwi"), "--report",
             hx_file("zero.json"));
    CHECK(access(hx_file("x.vwi"), F_OK) != 0); /* refused before any work */

    FAIL_RUN(1, "FIFO", hx.query, "-x", hx_file("fifo.vwi"), Q8);
    FAIL_RUN(1, "FIFO", hx.query, "-x", hx_file("fifo.vwi"), "--mmap", Q8);
    FAIL_RUN(1, "directory", hx.query, "-x", hx_file("dir.vwi"), Q8);
    FAIL_RUN(1, "device", hx.query, "-x", hx_file("zero.vwi"), Q8);
    FAIL_RUN(1, "device", hx.query, "-x", "/dev/zero", "--mmap", Q8);
    FAIL_RUN(1, "FIFO", hx.query, "-x", ok, "--queries", hx_file("fifo.fvecs"));

    FAIL_RUN(1, "FIFO", hx.bench, "-x", hx_file("fifo.vwi"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "--build-report", hx_file("fifo.json"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "--gt", hx_file("fifo.ivecs"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "--queries", hx_file("fifo.fvecs"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "-o", hx_file("fifo.json"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "--plot", hx_file("fifo.svg"));
    FAIL_RUN(1, "FIFO", hx.bench, "-x", ok, "--gt-out", hx_file("fifo.ivecs"));
    FAIL_RUN(1, "device", hx.bench, "-x", ok, "-o", hx_file("zero.json"));

    FAIL_RUN(1, "FIFO", hx.gen, "-n", "10", "-d", "4", "-o", hx_file("fifo.npy"));
    FAIL_RUN(1, "directory", hx.gen, "-n", "10", "-d", "4", "-o", hx_file("dir.npy"));

    FAIL_RUN(1, "FIFO", hx.serve, "-x", hx_file("fifo.vwi"), "--port", "0");
    FAIL_RUN(1, "FIFO", hx.serve, "-x", hx_file("fifo.vwi"), "--mmap", "--port", "0");
    FAIL_RUN(1, "directory", hx.serve, "-x", hx_file("dir.vwi"), "--port", "0");
    FAIL_RUN(1, "device", hx.serve, "-x", "/dev/zero", "--port", "0");

    for (size_t i = 0; i < sizeof fifos / sizeof fifos[0]; i++)
        CHECK(is_fifo(hx_file(fifos[i]))); /* nothing was renamed over them */
    serve_stops_while_starting();
}

/* ------------------------------------------------------------------ same_file */

/* The run is a usage error naming "same file", and `input` is unchanged. */
static void expect_refused(const hx_result *r, const char *what, const char *input,
                           const char *copy) {
    hx_expect_fail(what, r, 2, "same file");
    if (!hx_same_bytes(input, copy)) {
        fprintf(stderr, "FAIL: %s changed %s\n", what, input);
        check_failures++;
    }
}

#define REFUSED(input, copy, ...)                                                                  \
    do {                                                                                           \
        hx_result r_ = hx_run(NULL, RUN_MS, __VA_ARGS__, NULL);                                    \
        expect_refused(&r_, #__VA_ARGS__, input, copy);                                            \
        hx_result_free(&r_);                                                                       \
    } while (0)

static void hx_case_same_file(void) {
    make_inputs();
    HX_PATH(base, "base.npy");
    HX_PATH(ok, "ok.vwi");
    HX_PATH(bc, "base.copy");
    HX_PATH(oc, "ok.copy");
    char cwd[768];
    hx_copy(base, bc);
    hx_copy(ok, oc);
    unlink(hx_file("hard.npy"));
    unlink(hx_file("soft.npy"));
    CHECK(link(base, hx_file("hard.npy")) == 0);
    CHECK(symlink("base.npy", hx_file("soft.npy")) == 0);
    snprintf(cwd, sizeof cwd, "%s/./base.npy", hx.dir);

    REFUSED(base, bc, hx.build, "-i", base, "-o", base);
    REFUSED(base, bc, hx.build, "-i", base, "-o", cwd);
    REFUSED(base, bc, hx.build, "-i", base, "-o", hx_file("hard.npy"));
    REFUSED(base, bc, hx.build, "-i", hx_file("soft.npy"), "-o", base);
    REFUSED(base, bc, hx.build, "-i", base, "-o", hx_file("y.vwi"), "--report", base);
    REFUSED(ok, oc, hx.build, "-i", base, "-o", ok, "--report", ok);
    REFUSED(ok, oc, hx.build, "-i", base, "-o", hx_file("n.vwi"), "--report", hx_file("n.vwi"));
    REFUSED(ok, oc, hx.bench, "-x", ok, "-o", ok);
    REFUSED(ok, oc, hx.bench, "-x", ok, "--plot", ok);
    REFUSED(ok, oc, hx.bench, "-x", ok, "-o", hx_file("r.json"), "--plot", hx_file("./r.json"));
    REFUSED(base, bc, hx.bench, "-x", ok, "--base", base, "-o", base);
    REFUSED(ok, oc, hx.gen, "-n", "10", "-d", "4", "-o", hx_file("g.npy"), "--queries-out",
            hx_file("./g.npy"));
    CHECK(access(hx_file("y.vwi"), F_OK) != 0 && access(hx_file("r.json"), F_OK) != 0);

    /* The bench's default output name is taken into account as well. */
    char here[768];
    CHECK(getcwd(here, sizeof here) != NULL);
    CHECK(chdir(hx.dir) == 0);
    hx_copy("ok.vwi", "benchmark_results.json");
    hx_copy("ok.vwi", "bench.copy");
    REFUSED("benchmark_results.json", "bench.copy", hx.bench, "-x", "benchmark_results.json");
    CHECK(chdir(here) == 0);
}

/* ------------------------------------------------------------------ full_disk */

static off_t size_of(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A tiny index (one 1-d vector) is smaller than its build report, so a file
 * size limit between the two lets the index be written and makes the report
 * fail half-way, as a disk filling up at that moment would. */
static void hx_case_full_disk(void) {
    float one = 0.5f;
    CHECK(vw_dataset_write(hx_file("one.fvecs"), VW_FORMAT_AUTO, &one, 1, 1) == VW_OK);
    HX_PATH(report, "a-report-whose-long-name-makes-the-json-longer.json");
    hx_result r = hx_run(NULL, RUN_MS, hx.build, "-i", hx_file("one.fvecs"), "-o",
                         hx_file("one.vwi"), "-M", "2", "-q", "--report", report, NULL);
    hx_expect_ok("vw-build with a report", &r);
    hx_result_free(&r);
    off_t index_size = size_of(hx_file("one.vwi")), report_size = size_of(report);
    if (index_size <= 0 || report_size <= index_size) {
        fprintf(stderr, "setup: index %lld bytes, report %lld\n", (long long)index_size,
                (long long)report_size);
        check_failures++;
        return;
    }
    static const char old[] = "the previous report\n";
    hx_write(report, old, sizeof old - 1);
    int temps = hx_count_temp_files();
    hx_limits full = {0, (rlim_t)index_size};
    r = hx_run(&full, RUN_MS, hx.build, "-i", hx_file("one.fvecs"), "-o", hx_file("one.vwi"), "-M",
               "2", "-q", "--report", report, NULL);
    hx_expect_fail("vw-build --report on a full disk", &r, 1, report);
    hx_result_free(&r);
    char *now = hx_slurp(report, NULL);
    CHECK(now != NULL && strcmp(now, old) == 0); /* was left empty or cut before */
    free(now);
    CHECK(hx_count_temp_files() == temps);

    /* The same for vw-bench's results and plot, and vw-gen's vectors. */
    hx_write(hx_file("results.json"), old, sizeof old - 1);
    hx_limits tiny = {0, 64};
    r = hx_run(&tiny, RUN_MS, hx.bench, "-x", hx_file("one.vwi"), "--n-queries", "5", "-k", "1",
               "-o", hx_file("results.json"), NULL);
    hx_expect_fail("vw-bench -o on a full disk", &r, 1, "results.json");
    hx_result_free(&r);
    now = hx_slurp(hx_file("results.json"), NULL);
    CHECK(now != NULL && strcmp(now, old) == 0);
    free(now);
    /* The plot is written after the results: a limit between their sizes. */
    r = hx_run(NULL, RUN_MS, hx.bench, "-x", hx_file("one.vwi"), "--n-queries", "5", "-k", "1",
               "-o", hx_file("r2.json"), "--plot", hx_file("plot.svg"), NULL);
    hx_expect_ok("vw-bench --plot", &r);
    hx_result_free(&r);
    off_t json_size = size_of(hx_file("r2.json")), plot_size = size_of(hx_file("plot.svg"));
    CHECK(json_size > 0 && plot_size > json_size);
    hx_write(hx_file("plot.svg"), old, sizeof old - 1);
    hx_limits mid = {0, (rlim_t)json_size + 64};
    r = hx_run(&mid, RUN_MS, hx.bench, "-x", hx_file("one.vwi"), "--n-queries", "5", "-k", "1",
               "-o", hx_file("r2.json"), "--plot", hx_file("plot.svg"), NULL);
    hx_expect_fail("vw-bench --plot on a full disk", &r, 1, "plot.svg");
    hx_result_free(&r);
    now = hx_slurp(hx_file("plot.svg"), NULL);
    CHECK(now != NULL && strcmp(now, old) == 0);
    free(now);
    r = hx_run(&tiny, RUN_MS, hx.gen, "-n", "100", "-d", "8", "-o", hx_file("gen.npy"), NULL);
    hx_expect_fail("vw-gen on a full disk", &r, 1, "gen.npy");
    hx_result_free(&r);
    CHECK(access(hx_file("gen.npy"), F_OK) != 0);
    CHECK(hx_count_temp_files() == temps);
}

/* ------------------------------------------------------------------ mmap_nan */

static void hx_case_mmap_nan(void) {
    make_inputs();
    hx_write_poisoned(hx_file("ok.vwi"), hx_file("nan.vwi"), 7, NAN);
    hx_write_poisoned(hx_file("ok.vwi"), hx_file("inf.vwi"), 7, INFINITY);
    const char *bad[] = {"nan.vwi", "inf.vwi"};
    for (int i = 0; i < 2; i++) {
        char path[768];
        snprintf(path, sizeof path, "%s", hx_file(bad[i]));
        FAIL_RUN(1, "vectors: row 7", hx.query, "-x", path, Q8);
        FAIL_RUN(1, "vectors: row 7", hx.query, "-x", path, "--mmap", "--json", Q8);
        FAIL_RUN(1, "vectors: row 7", hx.bench, "-x", path, "--mmap", "--n-queries", "5");
        FAIL_RUN(1, "vectors: row 7", hx.serve, "-x", path, "--mmap", "--port", "0");
        /* Unverified, the file maps; a search that meets the vector must
         * fail rather than print a NaN (invalid JSON) or a null. */
        hx_result r = hx_run(NULL, RUN_MS, hx.query, "-x", path, "--mmap", "--no-verify", "--json",
                             "-k", "300", "--ef", "300", Q8, NULL);
        hx_expect_fail("vw-query --mmap --no-verify on a NaN index", &r, 1, "not a finite number");
        CHECK(strstr(r.out, "nan") == NULL && strstr(r.out, "inf") == NULL &&
              strstr(r.out, "null") == NULL);
        hx_result_free(&r);
    }
}

int main(int argc, char **argv) {
    static const hx_case cases[] = {{"special_paths", hx_case_special_paths},
                                    {"same_file", hx_case_same_file},
                                    {"full_disk", hx_case_full_disk},
                                    {"mmap_nan", hx_case_mmap_nan}};
    return hx_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
