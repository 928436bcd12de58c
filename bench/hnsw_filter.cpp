// hnsw_filter: hnswlib's filtered search, the peer of bench/filter_bench.py
// (issue 27). Our code, against hnswlib's public API only: a
// BaseFilterFunctor that admits the labels a mask marks, given to
// searchKnn. The filter functor came with hnswlib 0.7; Debian ships 0.6.2,
// so the headers are hnswlib 0.8.0's, obtained as bench/README-hnswlib.md
// says and given by -I (never committed here):
//
//   g++ -O3 -march=native -std=c++17 -I/tmp/hnswlib-0.8.0 -pthread -o /tmp/hnsw_filter
//   bench/hnsw_filter.cpp
//
//   hnsw_filter build  <base.fvecs> <index_out> <M> <efC> <threads>
//   hnsw_filter search <index> <query.fvecs> <mask> <truth.ivecs> <ef,ef,...> [target]
//
// mask: one byte per label (label i passes when byte i is not 0); truth:
// the exact filtered top k per query (-1 pads when fewer match). search runs
// every query once per ef, one thread, no warm-up, and prints one line per
// ef: "ef=E recall R qps Q nonmatching X"; it stops after the first ef whose
// recall reaches target (default 0.95).
#include "hnsw_common.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char *what, const char *path) {
    fprintf(stderr, "hnsw_filter: %s: %s\n", path, what);
    exit(1);
}

std::vector<unsigned char> read_bytes(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    std::vector<unsigned char> out;
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        out.insert(out.end(), buf, buf + got);
    fclose(f);
    return out;
}

// The filter: hnswlib calls it for each label it would keep as a result.
class MaskFilter : public hnswlib::BaseFilterFunctor {
  public:
    explicit MaskFilter(const std::vector<unsigned char> &m) : mask(m) {}
    bool operator()(hnswlib::labeltype id) override {
        return id < mask.size() && mask[id];
    }

  private:
    const std::vector<unsigned char> &mask;
};

int build(char **argv) {
    int dim = 0;
    size_t n;
    std::vector<float> base = read_vecs(argv[2], dim, n);
    hnswlib::L2Space space(dim);
    hnswlib::HierarchicalNSW<float> idx(&space, n, atoi(argv[4]), atoi(argv[5]), 100);
    auto t0 = std::chrono::steady_clock::now();
    add_all(idx, base, n, dim, atoi(argv[6]));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    idx.saveIndex(argv[3]);
    printf("built %zu x %d in %.1f s\n", n, dim, s);
    return 0;
}

struct Scored {
    double recall;
    size_t nonmatching;
};

Scored score(const std::vector<long> &got, const int32_t *truth, int tdim, size_t nq, size_t k,
             const std::vector<unsigned char> &mask) {
    size_t hit = 0, total = 0, bad = 0;
    for (size_t i = 0; i < nq; i++) {
        const int32_t *t = truth + i * tdim;
        for (size_t j = 0; j < k; j++) {
            long g = got[i * k + j];
            if (g >= 0 && ((size_t)g >= mask.size() || !mask[g]))
                bad++;
            if (j < (size_t)tdim && t[j] >= 0)
                total++;
        }
        for (int a = 0; a < tdim; a++)
            for (size_t j = 0; t[a] >= 0 && j < k; j++)
                if (got[i * k + j] == t[a]) {
                    hit++;
                    break;
                }
    }
    return {total ? (double)hit / total : 1.0, bad};
}

int search(int argc, char **argv) {
    int dim = 0, tdim = 0;
    size_t nq, nt;
    std::vector<float> q = read_vecs(argv[3], dim, nq);
    std::vector<unsigned char> mask = read_bytes(argv[4]);
    std::vector<float> tf = read_vecs(argv[5], tdim, nt); // int32 rows, read as 4-byte words
    if (nt != nq)
        die("truth rows differ from the queries", argv[5]);
    const int32_t *truth = reinterpret_cast<const int32_t *>(tf.data());
    double target = argc > 7 ? atof(argv[7]) : 0.95;
    const size_t k = 10;
    hnswlib::L2Space space(dim);
    hnswlib::HierarchicalNSW<float> idx(&space, argv[2]);
    MaskFilter filter(mask);
    std::stringstream efs(argv[6]);
    std::string tok;
    while (std::getline(efs, tok, ',')) {
        size_t ef = std::stoul(tok);
        idx.setEf(ef);
        std::vector<long> got(nq * k, -1);
        auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < nq; i++) {
            auto r = idx.searchKnn(q.data() + i * dim, k, &filter);
            for (size_t j = r.size(); !r.empty(); r.pop())
                got[i * k + --j] = (long)r.top().second;
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        Scored sc = score(got, truth, tdim, nq, k, mask);
        printf("ef=%zu recall %.4f qps %.1f nonmatching %zu\n", ef, sc.recall, nq / s,
               sc.nonmatching);
        fflush(stdout);
        if (sc.recall >= target)
            break;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    if (argc == 7 && !strcmp(argv[1], "build"))
        return build(argv);
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "search"))
        return search(argc, argv);
    fprintf(stderr, "usage: hnsw_filter build <base.fvecs> <index_out> <M> <efC> <threads>\n"
                    "       hnsw_filter search <index> <query.fvecs> <mask> <truth.ivecs> "
                    "<ef,ef,...> [target]\n");
    return 2;
}
