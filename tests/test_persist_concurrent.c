/* Saving while another thread inserts: every save is a consistent snapshot
 * (it loads, with all checksums and structural checks passing), and
 * searches on an mmap-loaded index from several threads agree with the
 * read-mode copy. Run under ThreadSanitizer in CI (label concurrency). */
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>

#define DIM   16
#define N     400
#define SAVES 12

static vw_index *ix;
static float *data;
static char dir[64], path[128];

static void *inserter(void *arg) {
    (void)arg;
    for (uint64_t i = 0; i < N; i++)
        CHECK_OK(vw_index_add(ix, data + i * DIM, i));
    return NULL;
}

static uint64_t loaded_count(unsigned flags) {
    vw_index *back = NULL;
    vw_stats s = {0};
    CHECK_OK(vw_index_load(path, flags, &back));
    if (back)
        CHECK_OK(vw_index_stats(back, &s));
    vw_index_free(back);
    return s.count;
}

typedef struct searcher {
    const vw_index *mapped, *copy;
    int seed;
} searcher;

static void *search_both(void *arg) {
    const searcher *s = arg;
    float *q = tu_gaussian(20, DIM, (uint64_t)s->seed);
    for (int i = 0; i < 20; i++) {
        uint64_t la[5], lb[5];
        float da[5], db[5];
        uint32_t fa = 0, fb = 0;
        CHECK_OK(vw_index_search(s->mapped, q + i * DIM, 5, 20, NULL, NULL, la, da, &fa));
        CHECK_OK(vw_index_search(s->copy, q + i * DIM, 5, 20, NULL, NULL, lb, db, &fb));
        CHECK(fa == fb && memcmp(la, lb, fa * sizeof *la) == 0);
        CHECK(memcmp(da, db, fa * sizeof *da) == 0);
    }
    free(q);
    return NULL;
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/vw_persist_conc_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/index.vwi", dir);
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 24;
    CHECK_OK(vw_index_create(&p, &ix));
    data = tu_gaussian(N, DIM, 3);

    pthread_t t;
    pthread_create(&t, NULL, inserter, NULL);
    uint64_t last = 0;
    for (int i = 0; i < SAVES; i++) {
        CHECK_OK(vw_index_save(ix, path));
        uint64_t c = loaded_count(VW_LOAD_DEFAULT);
        CHECK(c >= last && c <= N); /* snapshots only grow */
        last = c;
    }
    pthread_join(t, NULL);
    CHECK_OK(vw_index_save(ix, path));
    CHECK(loaded_count(VW_LOAD_MMAP) == N);

    vw_index *mapped = NULL, *copy = NULL;
    CHECK_OK(vw_index_load(path, VW_LOAD_MMAP, &mapped));
    CHECK_OK(vw_index_load(path, VW_LOAD_DEFAULT, &copy));
    if (mapped && copy) {
        searcher s[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            s[i] = (searcher){mapped, copy, 100 + i};
            pthread_create(&th[i], NULL, search_both, &s[i]);
        }
        for (int i = 0; i < 3; i++)
            pthread_join(th[i], NULL);
    }
    vw_index_free(mapped);
    vw_index_free(copy);
    vw_index_free(ix);
    free(data);
    unlink(path);
    rmdir(dir);
    return tu_result("test_persist_concurrent");
}
