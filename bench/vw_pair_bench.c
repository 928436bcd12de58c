/* vw_pair_bench: a paired A/B of two index files' unfiltered searches in ONE
 * process, fine enough to resolve a few per cent (issue 27's "unfiltered
 * QPS within 3 % of the same index without attributes", which separate
 * runs of vw-bench could not: their ratio scattered by +-8 %).
 *
 *   vw_pair_bench <a.vwi> <b.vwi> <queries> <ef> <rounds> [nq]
 *
 * Both indexes are loaded, then each round runs the same queries through A
 * and through B, one search at a time on one thread, in the order AB on
 * even rounds and BA on odd ones (so that neither always runs second, on a
 * warmer cache or a later clock). Each round gives one ratio, QPS(B) /
 * QPS(A); drift of the machine between rounds cancels in the ratio. Prints
 * every round, then the median ratio, its quartiles and extremes, and
 * whether the two indexes answered every query alike (the same graph, e.g.
 * b made from a by `vw-build --from a --no-reorder --attributes FILE`, must). */
#include "vwhnsw.h"

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

static void die(const char *what) {
    fprintf(stderr, "vw_pair_bench: %s: %s\n", what, vw_last_error_detail());
    exit(1);
}

/* One pass of nq queries; returns QPS and writes the labels to res. */
static double pass(vw_index *ix, const vw_dataset *q, size_t nq, uint32_t ef, uint64_t *res) {
    vw_search_options o;
    vw_search_options_default(&o);
    o.ef = ef;
    double t0 = now();
    for (size_t i = 0; i < nq; i++) {
        uint32_t found = 0;
        if (vw_index_search_ex(ix, q->data + i * q->dim, K, &o, res + i * K, NULL, &found) != VW_OK)
            die("search");
        for (uint32_t j = found; j < K; j++)
            res[i * K + j] = UINT64_MAX;
    }
    return (double)nq / (now() - t0);
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double quantile(const double *sorted, int n, double f) {
    double at = f * (n - 1);
    int i = (int)at;
    return i + 1 < n ? sorted[i] + (at - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

static void report(double *ratio, const double *qa, const double *qb, int rounds, int alike) {
    double *sa = malloc(rounds * sizeof *sa), *sb = malloc(rounds * sizeof *sb);
    if (!sa || !sb)
        exit(1);
    memcpy(sa, qa, rounds * sizeof *sa);
    memcpy(sb, qb, rounds * sizeof *sb);
    qsort(sa, rounds, sizeof *sa, cmp_double);
    qsort(sb, rounds, sizeof *sb, cmp_double);
    qsort(ratio, rounds, sizeof *ratio, cmp_double);
    printf("median QPS a %.0f b %.0f; ratio b/a median %.4f, quartiles %.4f %.4f, "
           "min %.4f max %.4f over %d rounds; answers %s\n",
           quantile(sa, rounds, 0.5), quantile(sb, rounds, 0.5), quantile(ratio, rounds, 0.5),
           quantile(ratio, rounds, 0.25), quantile(ratio, rounds, 0.75), ratio[0],
           ratio[rounds - 1], rounds, alike ? "identical" : "DIFFER");
    free(sa);
    free(sb);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: vw_pair_bench <a.vwi> <b.vwi> <queries> <ef> <rounds> [nq]\n");
        return 2;
    }
    vw_index *ix[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        if (vw_index_load(argv[1 + i], 0, &ix[i]) != VW_OK)
            die(argv[1 + i]);
    vw_dataset *q = NULL;
    if (vw_dataset_read(argv[3], VW_FORMAT_AUTO, &q) != VW_OK)
        die(argv[3]);
    uint32_t ef = (uint32_t)strtoul(argv[4], NULL, 10);
    int rounds = atoi(argv[5]);
    size_t nq = argc > 6 ? (size_t)strtoull(argv[6], NULL, 10) : q->n;
    if (nq == 0 || nq > q->n)
        nq = q->n;
    if (rounds < 1)
        rounds = 1;
    uint64_t *res[2] = {malloc(nq * K * sizeof(uint64_t)), malloc(nq * K * sizeof(uint64_t))};
    double *qps[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))};
    double *ratio = malloc(rounds * sizeof *ratio);
    if (!res[0] || !res[1] || !qps[0] || !qps[1] || !ratio)
        return 1;
    pass(ix[0], q, nq, ef, res[0]); /* warm-up: pages and caches of both */
    pass(ix[1], q, nq, ef, res[1]);
    int alike = memcmp(res[0], res[1], nq * K * sizeof(uint64_t)) == 0;
    for (int r = 0; r < rounds; r++) {
        int first = r % 2; /* AB, then BA */
        qps[first][r] = pass(ix[first], q, nq, ef, res[first]);
        qps[!first][r] = pass(ix[!first], q, nq, ef, res[!first]);
        ratio[r] = qps[1][r] / qps[0][r];
        printf("round %d (%s): a %.0f b %.0f ratio %.4f\n", r, first ? "BA" : "AB", qps[0][r],
               qps[1][r], ratio[r]);
    }
    report(ratio, qps[0], qps[1], rounds, alike);
    for (int i = 0; i < 2; i++) {
        free(res[i]);
        free(qps[i]);
        vw_index_free(ix[i]);
    }
    free(ratio);
    vw_dataset_free(q);
    return 0;
}
