/*
 * consumer.c - a program written the way a user of the installed library
 * writes one: it includes <vwhnsw.h>, links -lvwhnsw (shared or static),
 * and exercises build, search, save, load and mmap-load end to end.
 *
 * Built three ways by tests/install/run_install.cmake (pkg-config, a
 * separate CMake project with find_package, static linking). Usage:
 *   consumer DIR     (DIR: a writable directory for the index file)
 * Exits 0 when every answer is right; prints what differed otherwise.
 */
#include <vwhnsw.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DIM = 16, COUNT = 400, SINGLE = 100, QUERIES = 40, K = 5 };

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "consumer: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        vw_status st_ = (call);                                                                    \
        if (st_ != VW_OK) {                                                                        \
            fprintf(stderr, "consumer: %s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call,           \
                    vw_strerror(st_), vw_last_error_detail());                                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* A private generator so the data is the same on every platform and libc. */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static float next_float(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xffffff) / (float)0x1000000 - 0.5f;
}

static void fill(float *v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = next_float();
}

/* Labels are not row numbers, so a mix-up between the two shows. */
static uint64_t label_of(size_t row) {
    return 1000u + 7u * (uint64_t)row;
}

static int keep_even(uint64_t label, void *ctx) {
    (void)ctx;
    return label % 2 == 0;
}

/* Exact k nearest rows among those `filter` keeps: distances ascending. */
static void brute_force(const float *data, const float *query, int even_only, float *out_dist) {
    float best[K];
    size_t i, j;
    for (j = 0; j < K; j++)
        best[j] = INFINITY;
    for (i = 0; i < COUNT; i++) {
        float d;
        if (even_only && label_of(i) % 2 != 0)
            continue;
        d = vw_distance_l2sq(data + i * DIM, query, DIM);
        for (j = K; j > 0 && best[j - 1] > d; j--)
            if (j < K)
                best[j] = best[j - 1];
        if (j < K)
            best[j] = d;
    }
    memcpy(out_dist, best, sizeof best);
}

static int near(float a, float b) {
    return fabsf(a - b) <= 1e-4f * (1.0f + fabsf(b));
}

/* Searches every query with ef = COUNT (the beam covers the whole graph, so
 * the answer must be exact) and compares with brute force. Each returned
 * label's true distance must also equal the reported one. */
static void check_exact(const vw_index *index, const float *data, const float *queries,
                        int even_only, uint64_t *labels_out, float *dists_out) {
    size_t q, r;
    for (q = 0; q < QUERIES; q++) {
        uint64_t *labels = labels_out + q * K;
        float *dists = dists_out + q * K;
        float expect[K];
        uint32_t found = 0;
        CHECK_OK(vw_index_search(index, queries + q * DIM, K, COUNT, even_only ? keep_even : NULL,
                                 NULL, labels, dists, &found));
        CHECK(found == K);
        brute_force(data, queries + q * DIM, even_only, expect);
        for (r = 0; r < K && r < found; r++) {
            size_t row = (size_t)((labels[r] - 1000u) / 7u);
            CHECK(labels[r] >= 1000u && (labels[r] - 1000u) % 7u == 0 && row < COUNT);
            CHECK(!even_only || labels[r] % 2 == 0);
            CHECK(near(dists[r], expect[r]));
            if (row < COUNT)
                CHECK(near(vw_distance_l2sq(data + row * DIM, queries + q * DIM, DIM), dists[r]));
        }
    }
}

static void check_version(void) {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", VW_VERSION_MAJOR, VW_VERSION_MINOR,
             VW_VERSION_PATCH);
    CHECK(strcmp(vw_version(), expect) == 0);
    CHECK(vw_version_number() == VW_VERSION_NUMBER);
}

static vw_index *build(const float *data) {
    vw_params params;
    vw_index *index = NULL;
    uint64_t labels[COUNT];
    size_t i;
    vw_params_default(&params, DIM);
    params.metric = VW_METRIC_L2;
    params.capacity = 64; /* small on purpose: the index must grow */
    CHECK_OK(vw_index_create(&params, &index));
    for (i = 0; i < COUNT; i++)
        labels[i] = label_of(i);
    for (i = 0; i < SINGLE; i++)
        CHECK_OK(vw_index_add(index, data + i * DIM, labels[i]));
    /* One thread: the graph is then a function of params.seed alone, so the
     * answers below are the same on every run. */
    CHECK_OK(vw_index_add_batch(index, data + SINGLE * DIM, labels + SINGLE, COUNT - SINGLE, 1,
                                NULL, NULL));
    CHECK(vw_index_add(index, data, labels[0]) == VW_ERR_DUPLICATE_LABEL);
    return index;
}

static void check_errors(const vw_index *index, const float *query) {
    uint64_t label;
    uint32_t found;
    vw_index *missing = NULL;
    CHECK(vw_index_search(index, query, 0, 10, NULL, NULL, &label, NULL, &found) == VW_ERR_K);
    CHECK(vw_index_load("/nonexistent/vwhnsw/index.vwi", VW_LOAD_DEFAULT, &missing) != VW_OK);
    CHECK(missing == NULL);
    CHECK(vw_strerror(VW_ERR_CORRUPT) != NULL && vw_strerror(VW_ERR_CORRUPT)[0] != '\0');
}

/* Loads `path` with `flags` and checks it answers exactly like the original. */
static void check_loaded(const char *path, unsigned flags, const float *data, const float *queries,
                         const uint64_t *labels_before, const float *dists_before) {
    static uint64_t labels[QUERIES * K];
    static float dists[QUERIES * K];
    vw_index *index = NULL;
    vw_stats stats;
    CHECK_OK(vw_index_load(path, flags, &index));
    CHECK_OK(vw_index_stats(index, &stats));
    CHECK(stats.count == COUNT && stats.dim == DIM && stats.metric == VW_METRIC_L2);
    CHECK((stats.mmapped != 0) == ((flags & VW_LOAD_MMAP) != 0));
    check_exact(index, data, queries, 0, labels, dists);
    CHECK(memcmp(labels, labels_before, sizeof labels) == 0);
    CHECK(memcmp(dists, dists_before, sizeof dists) == 0);
    if (flags & VW_LOAD_MMAP)
        CHECK(vw_index_add(index, data, 1) == VW_ERR_READONLY);
    vw_index_free(index);
}

int main(int argc, char **argv) {
    static float data[COUNT * DIM], queries[QUERIES * DIM];
    static uint64_t labels[QUERIES * K], batch_labels[QUERIES * K];
    static float dists[QUERIES * K], batch_dists[QUERIES * K];
    static uint32_t batch_found[QUERIES];
    char path[4096];
    vw_index *index;
    size_t q;

    if (argc != 2) {
        fprintf(stderr, "usage: consumer DIR\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/consumer.vwi", argv[1]);
    check_version();
    fill(data, COUNT * DIM);
    fill(queries, QUERIES * DIM);

    index = build(data);
    check_exact(index, data, queries, 1, labels, dists);
    check_exact(index, data, queries, 0, labels, dists);
    CHECK_OK(vw_index_search_batch(index, queries, QUERIES, K, COUNT, NULL, NULL, 2, batch_labels,
                                   batch_dists, batch_found));
    for (q = 0; q < QUERIES; q++)
        CHECK(batch_found[q] == K);
    CHECK(memcmp(batch_labels, labels, sizeof labels) == 0);
    check_errors(index, queries);
    CHECK_OK(vw_index_save(index, path));
    vw_index_free(index);

    check_loaded(path, VW_LOAD_DEFAULT, data, queries, labels, dists);
    check_loaded(path, VW_LOAD_MMAP, data, queries, labels, dists);
    remove(path);

    if (failures) {
        fprintf(stderr, "consumer: %d check(s) failed\n", failures);
        return 1;
    }
    printf("consumer ok: libvwhnsw %s (%s kernels), %d vectors, %d queries, save/load/mmap "
           "answers identical\n",
           vw_version(), vw_simd_name(vw_simd_active()), COUNT, QUERIES);
    return 0;
}
