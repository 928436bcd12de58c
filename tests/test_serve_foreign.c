/* vw-serve on Faiss and hnswlib index files (the small ones the engines
 * wrote for the fuzz seeds, VW_SEEDS_DIR): it serves them as they are, with
 * the answers of the same file imported here, also with --data (the first
 * start converts the file into the directory), and refuses an hnswlib file
 * without --metric with a message that asks for it.
 *
 *   test_serve_foreign VW_SERVE_BINARY SCRATCH_DIR */
#include "test_serve_util.h"

#ifndef VW_SEEDS_DIR
#error "VW_SEEDS_DIR must name tests/fuzz/seeds"
#endif

static const char *scratch;

/* With `data` the server takes writes in that (new) directory: its first
 * start converts the file there. */
static void serve_file(const char *binary, const char *name, vw_metric metric, int metric_given,
                       uint64_t count, const char *data) {
    char path[1024], log[1024];
    snprintf(path, sizeof path, "%s/%s", VW_SEEDS_DIR, name);
    snprintf(log, sizeof log, "%s/foreign_server.log", scratch);
    vw_import_options o;
    vw_import_options_default(&o);
    o.has_metric = 1;
    o.metric = metric;
    vw_index *local = NULL;
    CHECK(vw_index_import(path, &o, &local) == VW_OK);
    const char *with[8] = {"--threads", "1", "--metric", vw_metric_name(metric), NULL};
    const char *without[8] = {"--threads", "1", NULL};
    if (data) { /* appended: NULL ends the lists otherwise */
        with[4] = without[2] = "--data";
        with[5] = without[3] = data;
    }
    sv_server s;
    if (local == NULL ||
        sv_start(&s, binary, path, log,
                 metric_given ? (const char *const *)with : (const char *const *)without) != 0) {
        CHECK(!"vw-serve starts on a foreign file");
        vw_index_free(local);
        return;
    }
    sv_conn c;
    sv_response r;
    CHECK(sv_connect(&c, s.port) == 0);
    CHECK(sv_exchange(&c, "GET", "/", NULL, &r) == 0 && r.status == 200);
    char want[64];
    snprintf(want, sizeof want, "\"count\":%llu", (unsigned long long)count);
    CHECK(r.body && strstr(r.body, want));
    sv_response_free(&r);
    float q[4] = {0.25f, -0.5f, 0.75f, 0.1f};
    for (int i = 0; i < 8; i++) {
        q[i % 4] = -q[i % 4] + 0.125f * (float)i;
        char *body = sv_query_body(q, 4, 5);
        CHECK(sv_exchange(&c, "POST", "/search", body, &r) == 0 && r.status == 200);
        CHECK(r.body && sv_matches_local(local, r.body, q, 5, 64));
        sv_response_free(&r);
        free(body);
    }
    sv_close(&c);
    CHECK(sv_stop(&s) == 0);
    vw_index_free(local);
    if (data) {
        char file[1200];
        snprintf(file, sizeof file, "%s/index.vwi", data);
        CHECK(access(file, F_OK) == 0);
        snprintf(file, sizeof file, "%s/import.vwi", data);
        CHECK(access(file, F_OK) != 0); /* the converted seed is gone */
    }
}

static void needs_metric(const char *binary) {
    char path[1024], log[1024];
    snprintf(path, sizeof path, "%s/fuzz_hnswlib/l2_n40.hnsw", VW_SEEDS_DIR);
    snprintf(log, sizeof log, "%s/foreign_server_no_metric.log", scratch);
    sv_server s;
    CHECK(sv_start(&s, binary, path, log, NULL) != 0);
    size_t len;
    FILE *f = fopen(log, "r");
    char text[1024] = "";
    len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[len] = '\0';
    if (f)
        fclose(f);
    CHECK(strstr(text, "--metric") != NULL);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE_BINARY SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    scratch = argv[2];
    mkdir(scratch, 0755);
    serve_file(argv[1], "fuzz_faiss/l2_idmap_n30.faiss", VW_METRIC_L2, 0, 30, NULL);
    serve_file(argv[1], "fuzz_faiss/ip_n24.faiss", VW_METRIC_IP, 1, 24, NULL);
    serve_file(argv[1], "fuzz_hnswlib/cosine_n30.hnsw", VW_METRIC_COSINE, 1, 30, NULL);
    serve_file(argv[1], "fuzz_hnswlib/l2_deleted_n32.hnsw", VW_METRIC_L2, 1, 28, NULL);
    /* --data with a foreign file: converted on the first start */
    char data[1024], cmd[1100];
    snprintf(data, sizeof data, "%s/foreign_data", scratch);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
    CHECK(system(cmd) == 0);
    serve_file(argv[1], "fuzz_faiss/l2_idmap_n30.faiss", VW_METRIC_L2, 0, 30, data);
    CHECK(system(cmd) == 0);
    serve_file(argv[1], "fuzz_hnswlib/cosine_n30.hnsw", VW_METRIC_COSINE, 1, 30, data);
    needs_metric(argv[1]);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}
