/* After a purge, every live element can be found again: a search for its
 * own vector whose beam never fills (ef above the number of nodes, so it
 * walks everything reachable) returns it.
 *
 * The workload is the one that broke this: a tight cluster of 200 points,
 * and 192 labels upserted (in batches of one to three) and removed over
 * and over at random places of a space fifteen times wider, on a small
 * graph (M = 8). Churn there cut nodes, and once a group of two, off from
 * the rest: a removed node was their only in-link, or a full list pruned
 * them as "covered" by a removed neighbour. Each seed runs 6,000 writes
 * and checks after a purge every 500, on an index kept in memory and on
 * one saved and loaded again before each purge (the removed nodes then
 * come from the file). */
#include "testutil.h"

#include <stdbool.h>
#include <unistd.h>

#define DIM    8
#define LABELS 192
#define OPS    6000
#define EVERY  500 /* writes between checks */

/* xorshift64: the generator the cut-off group was found with (seed 36
 * cuts two nodes off after 500 writes without the repairs of remove.c). */
typedef struct xs {
    uint64_t s;
} xs;

static uint64_t xs_next(xs *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static int64_t version[LABELS]; /* of each label's vector; -1 absent */

/* The vector of a label at a version: integers / 64, exact in float. */
static void vector_of(uint64_t label, int64_t v, float *out) {
    uint64_t x = label * 0x9E3779B97F4A7C15ull + (uint64_t)v * 0xBF58476D1CE4E5B9ull;
    for (int i = 0; i < DIM; i++) {
        x = (x ^ (x >> 29)) * 0x94D049BB133111EBull;
        out[i] = (float)((int)(x >> 40) % 2001 - 1000) / 64.0f;
    }
}

static vw_index *cluster_index(xs *r) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    p.ef_construction = 64;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float x[200 * DIM];
    for (int i = 0; i < 200 * DIM; i++)
        x[i] = (float)((double)(xs_next(r) >> 11) * 0x1.0p-53 * 2 - 1);
    uint64_t labels[200];
    for (int i = 0; i < 200; i++)
        labels[i] = 1000 + (uint64_t)i;
    CHECK_OK(vw_index_add_batch(ix, x, labels, 200, 1, NULL, NULL));
    return ix;
}

/* Every live label is found by its own vector; returns how many are not. */
static int unreachable(const vw_index *ix) {
    vw_stats st;
    CHECK_OK(vw_index_stats(ix, &st));
    uint32_t ef = (uint32_t)st.capacity + 1; /* never fills: walks every reachable node */
    int lost = 0;
    for (int i = 0; i < LABELS; i++) {
        if (version[i] < 0)
            continue;
        float v[DIM];
        vector_of(100000 + (uint64_t)i, version[i], v);
        uint64_t got = 0;
        uint32_t found = 0;
        CHECK_OK(vw_index_search(ix, v, 1, ef, NULL, NULL, &got, NULL, &found));
        lost += found != 1 || got != 100000 + (uint64_t)i;
    }
    return lost;
}

static void write_one(vw_index *ix, xs *r, int64_t *next) {
    int group = (int)(xs_next(r) % 8) * 24; /* the ids one client of a server owns */
    if (xs_next(r) % 4 == 0) {
        int i = group + (int)(xs_next(r) % 24);
        vw_status st = vw_index_remove(ix, 100000 + (uint64_t)i);
        CHECK(st == (version[i] >= 0 ? VW_OK : VW_ERR_NOT_FOUND));
        version[i] = -1;
        return;
    }
    int n = 1 + (int)(xs_next(r) % 3), first = (int)(xs_next(r) % 24), idx[3];
    uint64_t labels[3];
    float v[3 * DIM];
    for (int k = 0; k < n; k++) {
        idx[k] = group + (first + k) % 24;
        labels[k] = 100000 + (uint64_t)idx[k];
        vector_of(labels[k], *next + k, v + k * DIM);
    }
    CHECK_OK(vw_index_upsert_batch(ix, v, labels, (uint64_t)n, 1, NULL, NULL));
    for (int k = 0; k < n; k++)
        version[idx[k]] = *next + k;
    *next += n;
}

static void churn(uint64_t seed, bool reload) {
    xs r = {seed * 2654435761u + 1};
    vw_index *ix = cluster_index(&r);
    for (int i = 0; i < LABELS; i++)
        version[i] = -1;
    int64_t next = 1;
    char path[64];
    snprintf(path, sizeof path, "live_reach_%d.vwi", (int)getpid());
    for (int op = 1; op <= OPS && ix; op++) {
        write_one(ix, &r, &next);
        if (op % EVERY != 0)
            continue;
        if (reload) { /* removed, not yet purged nodes go through the file */
            CHECK_OK(vw_index_save(ix, path));
            vw_index_free(ix);
            ix = NULL;
            CHECK_OK(vw_index_load(path, VW_LOAD_DEFAULT, &ix));
            if (!ix)
                break;
        }
        CHECK_OK(vw_index_purge(ix));
        int lost = unreachable(ix);
        if (lost)
            fprintf(stderr, "seed %llu%s, after %d writes: %d label(s) unreachable\n",
                    (unsigned long long)seed, reload ? " (reloaded)" : "", op, lost);
        CHECK(lost == 0);
    }
    remove(path);
    vw_index_free(ix);
}

/* Usage: test_live_reach [first seed [seeds]] (default: seeds 31 to 40) */
int main(int argc, char **argv) {
    uint64_t first = argc > 1 ? strtoull(argv[1], NULL, 10) : 31;
    uint64_t seeds = argc > 2 ? strtoull(argv[2], NULL, 10) : 10;
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        churn(seed, false);
        churn(seed, true);
    }
    return tu_result("test_live_reach");
}
