/*
 * The shard of an id: one function shared by vw-build --shard, the nginx
 * router (tools/cluster/vw_router.js computes the same bits in njs) and any
 * client that wants to know where an id lives.
 *
 * Two steps, both chosen so that JavaScript, whose numbers are doubles,
 * computes them exactly with 32-bit halves:
 *
 *   1. mix: the splitmix64 finalizer (Steele, Lea, Flood 2014),
 *        x ^= x >> 30; x *= 0xbf58476d1ce4e5b9;
 *        x ^= x >> 27; x *= 0x94d049bb133111eb;
 *        x ^= x >> 31;
 *      a bijection of the 64-bit ids, so row numbers 0, 1, 2, ... and ids
 *      that share low bits spread like random keys;
 *   2. jump consistent hashing (Lamping and Veach 2014, "A Fast, Minimal
 *      Memory, Consistent Hash Algorithm"), exactly the paper's code: its
 *      64-bit LCG and its double division. Going from N to N+1 shards moves
 *      only the ids whose new shard is N, 1/(N+1) of them, and none between
 *      the old shards.
 *
 * Every operation is a 64-bit xor, shift, wrapping multiply or add, and
 * one IEEE double multiply and divide of values below 2^53, which njs
 * reproduces bit for bit (tests/test_cluster_hash.c checks a list of ids,
 * 2^64 - 1 among them, against the router's code run by nginx itself).
 */
#include "vwhnsw.h"

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint32_t jump_hash(uint64_t key, uint32_t buckets) {
    int64_t b = -1, j = 0;
    while (j < (int64_t)buckets) {
        b = j;
        key = key * 2862933555777941757ull + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1ll << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

uint32_t vw_shard_of(uint64_t id, uint32_t n_shards) {
    return n_shards <= 1 ? 0 : jump_hash(mix64(id), n_shards);
}
