/* vw_search_profile: the breakdown's harness (bench/RESULTS.md, "Where a
 * search's time goes"). Loads an index, runs the first <nq> queries once
 * each at every ef, one at a time on one thread, no warm-up and no batch
 * pass, so that `valgrind --tool=callgrind --toggle-collect=vw_index_search_ex`
 * sees the searches alone; prints recall@10 and QPS per ef (one pass: for
 * timed A/Bs, run rounds under flock /work/bench.lock) and, in the counting
 * build (cmake -DVW_COUNT=ON), what each query did on average (lib/count.h).
 *
 *   vw_search_profile <index> <query.fvecs> <gt.ivecs> <ef,ef,...> <nq> [mmap] [FILTER]
 *
 * FILTER, a filter's JSON text (vw_filter_parse), makes every search a
 * filtered one; gt.ivecs must then be the filtered ground truth (e.g.
 * bench/filter_bench.py's fN.truth.ivecs).
 *
 * bench/hnsw_profile.cpp does the same for hnswlib. */
#include "vwhnsw.h"
#ifdef VW_COUNT
#include "count.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static vw_dataset *read_or_die(const char *path) {
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(path, VW_FORMAT_AUTO, &ds);
    if (st != VW_OK) {
        fprintf(stderr, "vw_search_profile: %s: %s (%s)\n", path, vw_strerror(st),
                vw_last_error_detail());
        exit(1);
    }
    return ds;
}

static double recall_at_10(const uint64_t *res, const vw_dataset *gt, size_t nq) {
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (int j = 0; j < K; j++)
            for (int g = 0; g < 10; g++)
                if ((uint64_t)gt->data[i * gt->dim + g] == res[i * K + j]) {
                    hit++;
                    break;
                }
    return (double)hit / ((double)nq * 10.0);
}

#ifdef VW_COUNT
static void print_counts(uint32_t ef, size_t nq) {
    vw_counts c = vw_count_take();
    double n = (double)nq;
    printf("counts ef=%u per query: distances %.1f fresh %.1f hops %.1f vec_bytes %.0f "
           "link_bytes %.0f heap_push %.1f heap_pop %.1f visit_ops %.1f rerank %.1f "
           "rerank_bytes %.0f\n",
           ef, c.distances / n, c.fresh / n, c.hops / n, c.vec_bytes / n, c.link_bytes / n,
           c.heap_push / n, c.heap_pop / n, c.visit_ops / n, c.rerank / n, c.rerank_bytes / n);
}
#endif

static void run_ef(vw_index *ix, const vw_dataset *q, const vw_dataset *gt, uint32_t ef, size_t nq,
                   const vw_filter *where, uint64_t *res) {
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = ef;
    o.where = where;
#ifdef VW_COUNT
    vw_count_take();
#endif
    double t0 = now();
    for (size_t i = 0; i < nq; i++) {
        uint32_t found = 0;
        vw_status st =
            vw_index_search_ex(ix, q->data + i * q->dim, K, &o, res + i * K, NULL, &found);
        if (st != VW_OK) {
            fprintf(stderr, "vw_search_profile: search: %s\n", vw_last_error_detail());
            exit(1);
        }
        for (uint32_t j = found; j < K; j++)
            res[i * K + j] = UINT64_MAX;
    }
    double qps = (double)nq / (now() - t0);
    printf("ef=%u recall@10 %.4f qps %.0f\n", ef, recall_at_10(res, gt, nq), qps);
#ifdef VW_COUNT
    print_counts(ef, nq);
#endif
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: vw_search_profile <index> <query.fvecs> <gt.ivecs> <ef,ef,...> "
                        "<nq> [mmap] [FILTER]\n");
        return 2;
    }
    unsigned flags = 0;
    vw_filter *where = NULL;
    for (int i = 6; i < argc; i++) {
        if (strcmp(argv[i], "mmap") == 0)
            flags = VW_LOAD_MMAP;
        else if (vw_filter_parse(argv[i], strlen(argv[i]), &where) != VW_OK) {
            fprintf(stderr, "vw_search_profile: filter: %s\n", vw_last_error_detail());
            return 2;
        }
    }
    vw_index *ix = NULL;
    if (vw_index_load(argv[1], flags, &ix) != VW_OK) {
        fprintf(stderr, "vw_search_profile: %s: %s\n", argv[1], vw_last_error_detail());
        return 1;
    }
    vw_dataset *q = read_or_die(argv[2]), *gt = read_or_die(argv[3]);
    size_t nq = (size_t)strtoull(argv[5], NULL, 10);
    if (nq == 0 || nq > q->n || nq > gt->n)
        nq = q->n < gt->n ? q->n : gt->n;
    uint64_t *res = malloc(nq * K * sizeof *res);
    if (!res)
        return 1;
    char *efs = strdup(argv[4]);
    for (char *t = strtok(efs, ","); t; t = strtok(NULL, ","))
        run_ef(ix, q, gt, (uint32_t)strtoul(t, NULL, 10), nq, where, res);
    free(efs);
    free(res);
    vw_dataset_free(q);
    vw_dataset_free(gt);
    vw_filter_free(where);
    vw_index_free(ix);
    return 0;
}
