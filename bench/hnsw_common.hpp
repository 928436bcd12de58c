// hnsw_common.hpp - what bench/hnsw_profile.cpp and bench/hnsw_filter.cpp
// share: reading TEXMEX files and building an hnswlib index on several
// threads. Our code; hnswlib's public API only (0.6 and 0.8 alike).
#ifndef VW_BENCH_HNSW_COMMON_HPP
#define VW_BENCH_HNSW_COMMON_HPP

#include <hnswlib/hnswlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

// A .fvecs (or .ivecs, read as 4-byte words) file: per row an int32
// dimension, then its values. Exits with a message on a bad file.
static inline std::vector<float> read_vecs(const char *path, int &dim, size_t &n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    std::vector<float> out;
    int32_t d;
    n = 0;
    while (fread(&d, 4, 1, f) == 1) {
        if (d <= 0 || (n && d != dim)) {
            fprintf(stderr, "%s: bad row dimension\n", path);
            exit(1);
        }
        dim = d;
        size_t at = out.size();
        out.resize(at + d);
        if (fread(out.data() + at, 4, d, f) != (size_t)d) {
            fprintf(stderr, "%s: truncated row\n", path);
            exit(1);
        }
        n++;
    }
    fclose(f);
    return out;
}

// Adds rows 0..n-1 with label = row: the first alone (the entry point),
// the rest interleaved over `threads` threads, as hnswlib's Python binding
// does with num_threads.
static inline void add_all(hnswlib::HierarchicalNSW<float> &idx, const std::vector<float> &base,
                           size_t n, int dim, int threads) {
    if (threads < 1)
        threads = 1;
    idx.addPoint(base.data(), 0);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
            for (size_t i = 1 + t; i < n; i += threads)
                idx.addPoint(base.data() + i * dim, i);
        });
    for (auto &t : ts)
        t.join();
}

#endif
