// hnsw_profile: bench/vw_search_profile.c's counterpart for hnswlib (Debian
// libhnswlib-dev, header-only; not built by CMake). Our code: it uses
// hnswlib's public API only.
//
//   hnsw_profile build  <base.fvecs> <index_out> <M> <efC> <threads>
//   hnsw_profile search <index> <query.fvecs> <gt.ivecs> <ef,ef,...> <nq>
//
// search runs the first <nq> queries once each per ef, one at a time, no
// warm-up, and prints recall@10 and QPS (one pass, the searches alone); built with -DHNSW_COUNT it
// also prints per query: distances computed (a counting wrapper around hnswlib's own L2 kernel),
// hops (hnswlib's metric_hops: lists read), list ids read (metric_distance_computations, which adds
// each list's length), and the bytes those imply. Without -DHNSW_COUNT the search runs hnswlib's
// kernel directly, for callgrind (--toggle-collect='*searchKnn*').
//
//   g++ -O3 -march=native -fopenmp -o /tmp/hnsw_profile bench/hnsw_profile.cpp
#include "hnsw_common.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef HNSW_COUNT
static hnswlib::DISTFUNC<float> real_dist;
static unsigned long long n_dist;
static float counting_dist(const void *a, const void *b, const void *p) {
    n_dist++;
    return real_dist(a, b, p);
}
// hnswlib's L2 space, its kernel wrapped by a counter.
class CountingL2 : public hnswlib::L2Space {
  public:
    explicit CountingL2(size_t dim) : hnswlib::L2Space(dim) {
        real_dist = hnswlib::L2Space::get_dist_func();
    }
    hnswlib::DISTFUNC<float> get_dist_func() override {
        return counting_dist;
    }
};
typedef CountingL2 Space;
#else
typedef hnswlib::L2Space Space;
#endif

static int build(char **argv) {
    int dim;
    size_t n;
    std::vector<float> base = read_vecs(argv[2], dim, n);
    hnswlib::L2Space space(dim);
    hnswlib::HierarchicalNSW<float> idx(&space, n, atoi(argv[4]), atoi(argv[5]));
    add_all(idx, base, n, dim, atoi(argv[6]));
    idx.saveIndex(argv[3]);
    return 0;
}

static int search(char **argv) {
    int dim, gdim;
    size_t nq, ngt;
    std::vector<float> q = read_vecs(argv[3], dim, nq);
    std::vector<float> gtf = read_vecs(argv[4], gdim, ngt); // int32 read as bytes
    const int32_t *gt = reinterpret_cast<const int32_t *>(gtf.data());
    size_t want = strtoull(argv[6], nullptr, 10);
    if (want && want < nq)
        nq = want;
    Space space(dim);
    hnswlib::HierarchicalNSW<float> idx(&space, argv[2]);
    std::stringstream efs(argv[5]);
    std::string tok;
    while (std::getline(efs, tok, ',')) {
        size_t ef = std::stoul(tok);
        idx.setEf(ef);
        idx.metric_hops = 0;
        idx.metric_distance_computations = 0;
#ifdef HNSW_COUNT
        n_dist = 0;
#endif
        std::vector<size_t> got(nq * 10, SIZE_MAX);
        auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < nq; i++) {
            auto r = idx.searchKnn(q.data() + i * dim, 10);
            for (size_t j = 0; !r.empty(); j++, r.pop())
                got[i * 10 + j] = r.top().second;
        }
        auto t1 = std::chrono::steady_clock::now();
        size_t hit = 0;
        for (size_t i = 0; i < nq; i++)
            for (size_t j = 0; j < 10; j++)
                for (int g = 0; g < 10; g++)
                    if ((size_t)gt[i * gdim + g] == got[i * 10 + j]) {
                        hit++;
                        break;
                    }
        double s = std::chrono::duration<double>(t1 - t0).count();
        printf("ef=%zu recall@10 %.4f qps %.0f\n", ef, hit / (10.0 * nq), nq / s);
#ifdef HNSW_COUNT
        double hops = (double)idx.metric_hops / nq,
               ids = (double)idx.metric_distance_computations / nq;
        printf("counts ef=%zu per query: distances %.1f hops %.1f ids_read %.1f vec_bytes %.0f "
               "link_bytes %.0f\n",
               ef, (double)n_dist / nq, hops, ids, (double)n_dist / nq * dim * 4, 4 * (hops + ids));
#endif
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 7 && !strcmp(argv[1], "build"))
        return build(argv);
    if (argc >= 7 && !strcmp(argv[1], "search"))
        return search(argv);
    fprintf(stderr, "usage: hnsw_profile build|search ...\n");
    return 2;
}
