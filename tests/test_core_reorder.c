/* vw_index_reorder renumbers nodes only: every search must give the same
 * labels and distances before and after, every label must still find its
 * vector, inserts must keep working, and a reordered index must survive save
 * and load in both modes. Run for the three label-map modes: labels equal to
 * insertion order, a shuffled 0..n-1 (the inverse map), and sparse labels
 * (the hash map). */
#include "testutil.h"

#include <unistd.h>

#define N   3000
#define DIM 24
#define K   10
#define NQ  40
#define EF  48

typedef struct answers {
    uint64_t labels[NQ * K];
    float dists[NQ * K];
} answers;

static void search_all(const vw_index *ix, const float *q, uint32_t ef, answers *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < NQ; i++) {
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, q + i * DIM, K, ef, NULL, NULL, out->labels + i * K,
                                 out->dists + i * K, &found));
        CHECK(found == K);
    }
}

static void check_same(const answers *a, const answers *b, const char *what) {
    if (memcmp(a->labels, b->labels, sizeof a->labels) != 0 ||
        memcmp(a->dists, b->dists, sizeof a->dists) != 0) {
        fprintf(stderr, "%s: answers differ\n", what);
        check_failures++;
    }
}

/* Every label returns its own vector, and searching for it finds it first. */
static void check_labels(vw_index *ix, const float *base, const uint64_t *labels, uint64_t n) {
    float v[DIM];
    for (uint64_t i = 0; i < n; i++) {
        CHECK_OK(vw_index_get_vector(ix, labels[i], v));
        CHECK(memcmp(v, base + i * DIM, sizeof v) == 0);
        CHECK_ST(vw_index_add(ix, base + i * DIM, labels[i]), VW_ERR_DUPLICATE_LABEL);
    }
    for (uint64_t i = 0; i < n; i += 97) {
        uint64_t got = 0;
        float d = 1;
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, base + i * DIM, 1, 64, NULL, NULL, &got, &d, &found));
        CHECK(found == 1 && got == labels[i] && d == 0);
    }
}

static void make_labels(int scheme, uint64_t *labels, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        labels[i] = scheme == 2 ? 1000 + 7 * i : i;
    if (scheme == 1) {
        tu_rng r;
        tu_seed(&r, 99);
        for (uint64_t i = n - 1; i > 0; i--) {
            uint64_t j = tu_next(&r) % (i + 1), t = labels[i];
            labels[i] = labels[j];
            labels[j] = t;
        }
    }
}

/* Save, load both ways, and compare with the in-memory answers. */
static void check_file(const vw_index *ix, const char *path, const float *base,
                       const uint64_t *labels, uint64_t n, const float *q, const answers *want) {
    CHECK_OK(vw_index_save(ix, path));
    for (unsigned flags = VW_LOAD_DEFAULT; flags <= VW_LOAD_MMAP; flags++) {
        vw_index *back = NULL;
        CHECK_OK(vw_index_load(path, flags, &back));
        if (!back)
            continue;
        answers got;
        search_all(back, q, EF, &got);
        check_same(want, &got, flags ? "mmap-loaded" : "loaded");
        float v[DIM];
        for (uint64_t i = 0; i < n; i++) {
            CHECK_OK(vw_index_get_vector(back, labels[i], v));
            CHECK(memcmp(v, base + i * DIM, sizeof v) == 0);
        }
        CHECK_ST(vw_index_reorder(back), flags ? VW_ERR_READONLY : VW_OK);
        vw_index_free(back);
    }
    unlink(path);
}

static void run(int scheme, const float *base, const float *extra, const float *q,
                const char *path) {
    uint64_t labels[N + 2];
    make_labels(scheme, labels, N);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, labels, N, 2, NULL, NULL));

    answers before, after, exact_before, exact_after;
    search_all(ix, q, EF, &before);
    search_all(ix, q, N, &exact_before);
    CHECK_OK(vw_index_reorder(ix));
    search_all(ix, q, EF, &after);
    search_all(ix, q, N, &exact_after);
    check_same(&before, &after, "after reorder, ef=48");
    check_same(&exact_before, &exact_after, "after reorder, ef=n");
    check_labels(ix, base, labels, N);

    /* twice is harmless */
    CHECK_OK(vw_index_reorder(ix));
    search_all(ix, q, EF, &after);
    check_same(&before, &after, "after a second reorder");
    check_file(ix, path, base, labels, N, q, &before);

    /* inserts after a reorder: the next label in sequence (an inverse map
     * grows), then one far outside it (the map becomes a hash table) */
    labels[N] = scheme == 2 ? 1000 + 7 * N : N;
    labels[N + 1] = 1u << 30;
    float *all = malloc(sizeof(float) * (N + 2) * DIM);
    memcpy(all, base, sizeof(float) * N * DIM);
    memcpy(all + N * DIM, extra, sizeof(float) * 2 * DIM);
    for (int i = 0; i < 2; i++)
        CHECK_OK(vw_index_add(ix, extra + i * DIM, labels[N + i]));
    check_labels(ix, all, labels, N + 2);
    CHECK_OK(vw_index_reorder(ix));
    check_labels(ix, all, labels, N + 2);
    free(all);
    vw_index_free(ix);
}

int main(void) {
    float *base = tu_gaussian(N, DIM, 11);
    float *extra = tu_gaussian(2, DIM, 12);
    float *q = tu_gaussian(NQ, DIM, 13);
    char path[] = "/tmp/vw_reorder_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int scheme = 0; scheme < 3; scheme++)
        run(scheme, base, extra, q, path);

    /* arguments and trivial indexes */
    CHECK_ST(vw_index_reorder(NULL), VW_ERR_NULL_ARG);
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_reorder(ix));
    CHECK_OK(vw_index_add(ix, base, 5));
    CHECK_OK(vw_index_reorder(ix));
    check_labels(ix, base, (uint64_t[]){5}, 1);
    vw_index_free(ix);
    unlink(path);
    free(base);
    free(extra);
    free(q);
    return tu_result("test_core_reorder");
}
