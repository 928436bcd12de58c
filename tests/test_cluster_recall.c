/*
 * test_cluster_recall.c - the way a user grows past one machine, end to end:
 * vw-gen writes 30,000 clustered vectors, vw-build --shard I/3 builds each
 * shard's part (and, for comparison, one index of all of them), three
 * read-only vw-serve shards run behind the router. Checks:
 *   - each shard holds exactly the rows vw_shard_of gives it, labelled by
 *     row number (its /stats count, and rows read back through the router);
 *   - recall@10 through the router at each ef is within 0.01 of the single
 *     index's at the same ef, or above it (each shard searches its third
 *     with the whole ef, so a sharded search is never meant to be worse).
 * Skipped (77) without nginx and its njs module.
 *
 * Usage: test_cluster_recall VW_SERVE_BINARY SCRATCH_DIR CLUSTER_DIR
 * (vw-gen and vw-build are found beside vw-serve)
 */
#include "test_cluster_util.h"

#define SHARDS  3
#define COUNT   30000
#define DIM     32
#define QUERIES 300
#define K       10

static int run(const char *cmd) {
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

/* vw-gen's vectors and queries, vw-build's shards and single index. */
static int make_files(const char *tools, const char *dir) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s/vw-gen' -n %d -d %d --clusters 64 --seed 7 -o '%s/base.fvecs' --queries %d "
             "--queries-out '%s/queries.fvecs' -q",
             tools, COUNT, DIM, dir, QUERIES, dir);
    if (run(cmd) != 0)
        return -1;
    for (int s = 0; s <= SHARDS; s++) {
        char shard[32] = "", out[600];
        snprintf(out, sizeof out, "%s/all.vwi", dir);
        if (s < SHARDS) {
            snprintf(shard, sizeof shard, "--shard %d/%d", s, SHARDS);
            snprintf(out, sizeof out, "%s/recall-%d.vwi", dir, s);
        }
        snprintf(cmd, sizeof cmd,
                 "'%s/vw-build' -i '%s/base.fvecs' -o '%s' -M 12 --ef-construction 60 "
                 "--threads 2 -q %s > /dev/null",
                 tools, dir, out, shard);
        if (run(cmd) != 0)
            return -1;
    }
    return 0;
}

static float *read_vectors(const char *path, uint64_t n) {
    vw_dataset_reader *in = NULL;
    float *v = malloc((size_t)n * DIM * sizeof *v);
    uint64_t got = 0;
    if (v == NULL || vw_dataset_open(path, VW_FORMAT_AUTO, &in) != VW_OK ||
        vw_dataset_read_next(in, v, n, &got) != VW_OK || got != n) {
        fprintf(stderr, "cannot read %s\n", path);
        free(v);
        v = NULL;
    }
    vw_dataset_close(in);
    return v;
}

/* Each shard's count is its share of the rows; rows read back by label. */
static void check_placement(unsigned router, const cl_shard *shards, const float *base) {
    for (unsigned s = 0; s < SHARDS; s++) {
        uint64_t want = 0;
        for (uint64_t row = 0; row < COUNT; row++)
            want += vw_shard_of(row, SHARDS) == s;
        sv_response r;
        CHECK(cl_request(shards[s].port, "GET", "/", NULL, &r) == 200);
        char expect[96];
        snprintf(expect, sizeof expect, "{\"status\":\"ok\",\"count\":%llu,",
                 (unsigned long long)want);
        CHECK(r.body && strncmp(r.body, expect, strlen(expect)) == 0);
        sv_response_free(&r);
    }
    for (uint64_t row = 0; row < COUNT; row += 997) {
        char path[64];
        snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)row);
        sv_response r;
        CHECK(cl_request(router, "GET", path, NULL, &r) == 200);
        const char *p = r.body ? strstr(r.body, "\"vector\":[") : NULL;
        CHECK(p != NULL && strtof(p + 10, NULL) == base[row * DIM]);
        sv_response_free(&r);
    }
}

/* recall@K of one /search/batch answer against the exact ids. */
static double batch_recall(unsigned port, const char *body, const uint64_t *truth) {
    sv_response r;
    double hits = 0;
    CHECK(cl_request(port, "POST", "/search/batch", body, &r) == 200);
    const char *at = r.body;
    for (int q = 0; q < QUERIES && at; q++) {
        uint64_t got[K];
        float d[K];
        int n = sv_parse_result(at, got, d, K, &at);
        CHECK(n == K);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < K; j++)
                hits += got[i] == truth[q * K + j];
    }
    sv_response_free(&r);
    return hits / (QUERIES * K);
}

static char *batch_body(const float *queries, unsigned ef) {
    size_t cap = (size_t)QUERIES * DIM * 20 + 64, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s, cap, "{\"query_vectors\":[");
    for (int q = 0; q < QUERIES; q++)
        for (int d = 0; d < DIM; d++)
            len += (size_t)snprintf(s + len, cap - len, "%s%.9g%s", d ? "," : (q ? ",[" : "["),
                                    queries[q * DIM + d], d == DIM - 1 ? "]" : "");
    snprintf(s + len, cap - len, "],\"k\":%d,\"ef_search\":%u}", K, ef);
    return s;
}

static void check_recall(unsigned router, unsigned single, const char *dir, const float *base) {
    char path[600];
    snprintf(path, sizeof path, "%s/queries.fvecs", dir);
    float *queries = read_vectors(path, QUERIES);
    uint64_t *truth = malloc(sizeof *truth * QUERIES * K);
    CHECK(queries && truth &&
          vw_exact_search(base, COUNT, queries, QUERIES, DIM, VW_METRIC_L2, K, 0, truth, NULL, NULL,
                          NULL) == VW_OK);
    const unsigned efs[] = {10, 16, 32, 64};
    for (size_t e = 0; queries && truth && e < sizeof efs / sizeof efs[0]; e++) {
        char *body = batch_body(queries, efs[e]);
        double via = batch_recall(router, body, truth), one = batch_recall(single, body, truth);
        printf("ef %3u: recall@%d through the router %.4f, one index %.4f\n", efs[e], K, via, one);
        CHECK(via >= one - 0.01);
        free(body);
    }
    free(queries);
    free(truth);
}

int main(int argc, char **argv) {
    int rc = cl_setup(argc, argv);
    if (rc >= 0)
        return rc;
    char tools[512], path[600];
    snprintf(tools, sizeof tools, "%s", argv[1]);
    char *slash = strrchr(tools, '/');
    snprintf(slash ? slash : tools, sizeof tools - (size_t)(slash ? slash - tools : 0), "%s",
             slash ? "" : ".");
    snprintf(path, sizeof path, "%s/base.fvecs", argv[2]);
    float *base = make_files(tools, argv[2]) == 0 ? read_vectors(path, COUNT) : NULL;
    cl_shard shards[SHARDS + 1];
    memset(shards, 0, sizeof shards);
    cl_router router = {.pid = -1};
    int up = base != NULL;
    for (unsigned s = 0; s <= SHARDS && up; s++) {
        snprintf(shards[s].index, sizeof shards[s].index, "%s/all.vwi", argv[2]);
        if (s < SHARDS)
            snprintf(shards[s].index, sizeof shards[s].index, "%s/recall-%u.vwi", argv[2], s);
        up = cl_start_shard(&shards[s], argv[1], argv[2], "recall", s, 0) == 0;
    }
    if (up && cl_start_router(&router, argv[3], argv[2], "recall", shards, SHARDS, "") == 0) {
        check_placement(router.port, shards, base);
        check_recall(router.port, shards[SHARDS].port, argv[2], base);
    } else {
        check_failures++;
    }
    CHECK(cl_stop_router(&router) == 0);
    free(base);
    if (cl_finish(shards, SHARDS + 1, argv[2]) != 0)
        return 1;
    return 0;
}
