/*
 * test_cluster_hash.c - vw_shard_of, the one function that places an id on a
 * shard (vw-build --shard, the nginx router, the Python module):
 *   - the documented function exactly: values computed independently (in
 *     Python's integers and doubles, from the header's description) for ids
 *     at the edges of 32, 53 and 64 bits;
 *   - jump consistent hashing's promise: from N to N+1 shards an id either
 *     stays or moves to the new shard N, and about 1/(N+1) of them move;
 *   - balance: row numbers 0..n-1 spread evenly.
 * The router's njs copy is checked against this one in test_cluster_router.
 */
#include "testutil.h"

#include <math.h>

#define NIDS 15

static const uint64_t ids[NIDS] = {0,
                                   1,
                                   2,
                                   3,
                                   7,
                                   1000,
                                   UINT32_MAX,
                                   (uint64_t)UINT32_MAX + 1,
                                   (1ull << 53) - 1,
                                   1ull << 53,
                                   (1ull << 53) + 1,
                                   1ull << 63,
                                   UINT64_MAX - 1,
                                   UINT64_MAX,
                                   0x123456789abcdef0ull};

/* jump(mix64(id), n) by a separate implementation of the header's text
 * (Python's arbitrary-precision integers and IEEE doubles). */
static const struct {
    uint32_t n;
    uint32_t shard[NIDS];
} golden[] = {
    {3, {0, 0, 2, 0, 2, 1, 0, 1, 2, 1, 1, 1, 2, 0, 0}},
    {4, {0, 0, 3, 0, 3, 1, 0, 1, 2, 1, 3, 1, 2, 3, 0}},
    {10, {0, 9, 7, 9, 8, 5, 9, 1, 4, 1, 7, 1, 9, 3, 8}},
    {1000, {0, 120, 141, 31, 378, 349, 947, 180, 149, 407, 761, 901, 9, 222, 505}},
};

static void check_golden(void) {
    for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++)
        for (int i = 0; i < NIDS; i++)
            if (vw_shard_of(ids[i], golden[g].n) != golden[g].shard[i]) {
                fprintf(stderr, "vw_shard_of(%llu, %u) = %u, documented function gives %u\n",
                        (unsigned long long)ids[i], golden[g].n, vw_shard_of(ids[i], golden[g].n),
                        golden[g].shard[i]);
                check_failures++;
            }
    for (int i = 0; i < NIDS; i++)
        CHECK(vw_shard_of(ids[i], 0) == 0 && vw_shard_of(ids[i], 1) == 0);
}

/* N -> N+1: ids stay or go to shard N, about 1/(N+1) of them. */
static void check_growth(void) {
    const uint64_t n_ids = 200000;
    for (uint32_t n = 1; n <= 16; n++) {
        uint64_t moved = 0;
        for (uint64_t id = 0; id < n_ids; id++) {
            uint32_t before = vw_shard_of(id * 0x9E3779B97F4A7C15ull, n);
            uint32_t after = vw_shard_of(id * 0x9E3779B97F4A7C15ull, n + 1);
            CHECK(before < n && after <= n);
            if (after != before) {
                CHECK(after == n);
                moved++;
            }
        }
        double share = (double)moved / (double)n_ids, want = 1.0 / (n + 1);
        if (fabs(share - want) > 0.01) {
            fprintf(stderr, "%u -> %u shards moved %.4f of the ids, expected %.4f\n", n, n + 1,
                    share, want);
            check_failures++;
        }
    }
}

/* Row numbers (what vw-build labels) spread within 2% of even. */
static void check_balance(void) {
    enum { N = 7, ROWS = 700000 };
    uint64_t count[N] = {0};
    for (uint64_t row = 0; row < ROWS; row++)
        count[vw_shard_of(row, N)]++;
    for (int s = 0; s < N; s++)
        if (fabs((double)count[s] / (ROWS / N) - 1.0) > 0.02) {
            fprintf(stderr, "shard %d of %d holds %llu of %d rows\n", s, N,
                    (unsigned long long)count[s], ROWS);
            check_failures++;
        }
}

int main(void) {
    check_golden();
    check_growth();
    check_balance();
    return tu_result("test_cluster_hash");
}
