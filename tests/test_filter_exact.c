/* Filtered search against brute force: at every selectivity (50 % down to
 * a handful of elements) no result fails the filter, the exact filtered
 * top 10 is found (always by the scan, at recall >= 0.9 by the walk), and
 * the planner takes both ways, each as its rule says (check_rule). Then
 * the same answers after removals and a reorder (records follow the
 * renumbered slots), after save + load and save + mmap, and damaged
 * attribute sections fail with VW_ERR_CORRUPT. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define N   4000
#define DIM 16
#define K   10
#define NQ  40
#define KW  200 /* keyword values, Zipf-distributed */

typedef struct elem {
    int kw;
    double num;
    int flag;
    bool removed;
} elem;

static float base[N * DIM], queries[NQ * DIM];
static elem attrs[N];

/* Clustered data: 20 centres, points near them. */
static void make_data(void) {
    tu_rng r;
    tu_seed(&r, 7);
    float centres[20 * DIM];
    for (int i = 0; i < 20 * DIM; i++)
        centres[i] = (float)(tu_uniform(&r) * 10);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < DIM; d++)
            base[i * DIM + d] = centres[(i % 20) * DIM + d] + (float)tu_uniform(&r);
    for (int i = 0; i < NQ; i++)
        for (int d = 0; d < DIM; d++)
            queries[i * DIM + d] = centres[(i % 20) * DIM + d] + (float)tu_uniform(&r);
    double h = 0; /* harmonic number for the Zipf weights */
    for (int v = 1; v <= KW; v++)
        h += 1.0 / v;
    for (int i = 0; i < N; i++) {
        double u = tu_uniform(&r) * h, acc = 0;
        int v = 1;
        for (; v < KW && (acc += 1.0 / v) < u; v++)
            ;
        attrs[i] = (elem){v - 1, floor(tu_uniform(&r) * 10000) / 10, (int)(tu_next(&r) & 1), false};
    }
}

static void set_all(vw_index *ix) {
    for (int i = 0; i < N; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"kw\": \"v%d\", \"num\": %.1f, \"flag\": %s}", attrs[i].kw,
                 attrs[i].num, attrs[i].flag ? "true" : "false");
        CHECK_OK(vw_index_set_attributes(ix, (uint64_t)i, json, strlen(json)));
    }
}

/* The filters, with the test's own predicate for each. */
typedef struct fcase {
    const char *json;
    bool (*pred)(const elem *e, int label);
} fcase;

static bool p_flag(const elem *e, int l) {
    (void)l;
    return e->flag;
}
static bool p_10(const elem *e, int l) {
    (void)l;
    return e->num < 100;
}
static bool p_1(const elem *e, int l) {
    (void)l;
    return e->num >= 500 && e->num < 510;
}
static bool p_tiny(const elem *e, int l) {
    (void)l;
    return e->num > 777 && e->num <= 778.5;
}
static bool p_kw0(const elem *e, int l) {
    (void)l;
    return e->kw == 0;
}
static bool p_rare(const elem *e, int l) {
    (void)l;
    return e->kw == 150 || e->kw == 151;
}
static bool p_and(const elem *e, int l) {
    (void)l;
    return e->kw == 1 && e->flag;
}
static bool p_not(const elem *e, int l) {
    (void)l;
    return !(e->kw == 0) && !(e->num < 500);
}
static bool p_or(const elem *e, int l) {
    return e->kw == 3 || l % 97 == 0;
}
static bool p_none(const elem *e, int l) {
    (void)e;
    (void)l;
    return false;
}

static const fcase cases[] = {
    {"{\"must\": [{\"key\": \"flag\", \"match\": {\"value\": true}}]}", p_flag},
    {"{\"must\": [{\"key\": \"num\", \"range\": {\"lt\": 100}}]}", p_10},
    {"{\"must\": [{\"key\": \"num\", \"range\": {\"gte\": 500, \"lt\": 510}}]}", p_1},
    {"{\"must\": [{\"key\": \"num\", \"range\": {\"gt\": 777, \"lte\": 778.5}}]}", p_tiny},
    {"{\"must\": [{\"key\": \"kw\", \"match\": {\"value\": \"v0\"}}]}", p_kw0},
    {"{\"must\": [{\"key\": \"kw\", \"match\": {\"any\": [\"v150\", \"v151\"]}}]}", p_rare},
    {"{\"must\": [{\"key\": \"kw\", \"match\": {\"value\": \"v1\"}}, {\"key\": \"flag\", "
     "\"match\": {\"value\": true}}]}",
     p_and},
    {"{\"must_not\": [{\"key\": \"kw\", \"match\": {\"value\": \"v0\"}}, {\"key\": \"num\", "
     "\"range\": {\"lt\": 500}}]}",
     p_not},
    {"{\"should\": [{\"key\": \"kw\", \"match\": {\"value\": \"v3\"}}, {\"has_id\": [0, 97, 194, "
     "291, 388, 485, 582, 679, 776, 873, 970, 1067, 1164, 1261, 1358, 1455, 1552, 1649, 1746, "
     "1843, 1940, 2037, 2134, 2231, 2328, 2425, 2522, 2619, 2716, 2813, 2910, 3007, 3104, 3201, "
     "3298, 3395, 3492, 3589, 3686, 3783, 3880, 3977]}]}",
     p_or},
    {"{\"must\": [{\"key\": \"kw\", \"match\": {\"value\": \"no such value\"}}]}", p_none},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* The exact filtered top K of query q by brute force. */
static int truth(const fcase *c, const float *q, int *out) {
    float best[K];
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (attrs[i].removed || !c->pred(&attrs[i], i))
            continue;
        float d = 0;
        for (int j = 0; j < DIM; j++)
            d += (q[j] - base[i * DIM + j]) * (q[j] - base[i * DIM + j]);
        if (n == K && d >= best[K - 1])
            continue;
        int at = n < K ? n++ : K - 1;
        while (at > 0 && best[at - 1] > d) {
            best[at] = best[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        best[at] = d;
        out[at] = i;
    }
    return n;
}

/* Runs every case; returns the paths seen (bit 0 scan, bit 1 walk). */
static unsigned check_cases(const vw_index *ix, const char *when) {
    unsigned paths = 0;
    for (size_t c = 0; c < NCASES; c++) {
        vw_filter *f = NULL;
        CHECK_OK(vw_filter_parse(cases[c].json, strlen(cases[c].json), &f));
        vw_filter_plan plan;
        CHECK_OK(vw_index_filter_plan(ix, f, K, 64, &plan));
        paths |= 1u << plan.path;
        vw_search_options o;
        vw_search_options_default(&o);
        o.where = f;
        int hits = 0, want_total = 0, wrong = 0;
        for (int qi = 0; qi < NQ; qi++) {
            uint64_t labels[K];
            uint32_t found = 0;
            int want[K];
            int nw = truth(&cases[c], queries + qi * DIM, want);
            CHECK_OK(vw_index_search_ex(ix, queries + qi * DIM, K, &o, labels, NULL, &found));
            for (uint32_t i = 0; i < found; i++) {
                int l = (int)labels[i];
                wrong += l < 0 || l >= N || attrs[l].removed || !cases[c].pred(&attrs[l], l);
                for (int j = 0; j < nw; j++)
                    hits += want[j] == l;
            }
            want_total += nw;
            if (plan.path == VW_FILTER_PATH_SCAN && (int)found != nw)
                wrong++;
        }
        double recall = want_total ? (double)hits / want_total : 1;
        bool ok =
            wrong == 0 && (plan.path == VW_FILTER_PATH_SCAN ? hits == want_total : recall >= 0.9);
        if (!ok) {
            fprintf(stderr, "%s: case %zu (%s, estimate %llu): %d wrong, recall %.3f\n", when, c,
                    plan.path == VW_FILTER_PATH_SCAN ? "scan" : "walk",
                    (unsigned long long)plan.estimate, wrong, recall);
            check_failures++;
        }
        vw_filter_free(f);
    }
    return paths;
}

/* The planner's rule (lib/planner.c, README "Filters"), checked on what
 * vw_index_filter_plan reports for every case at four ef: with
 * b = max(ef, k) and p = estimate / elements, scan when candidates <=
 * b M / p, else walk with beam b. */
static void check_rule(const vw_index *ix, uint32_t m) {
    const uint32_t efs[] = {10, 16, 64, 256};
    for (size_t c = 0; c < NCASES; c++) {
        vw_filter *f = NULL;
        CHECK_OK(vw_filter_parse(cases[c].json, strlen(cases[c].json), &f));
        for (size_t e = 0; e < sizeof efs / sizeof efs[0]; e++) {
            vw_filter_plan pl;
            CHECK_OK(vw_index_filter_plan(ix, f, K, efs[e], &pl));
            double b = efs[e] > K ? efs[e] : K;
            double p = fmin(1, fmax((double)pl.estimate, 1) / (double)pl.elements);
            bool scan = pl.estimate == 0 || (double)pl.candidates <= b * m / p;
            bool ok = pl.path == (scan ? VW_FILTER_PATH_SCAN : VW_FILTER_PATH_WALK) &&
                      (scan ? pl.ef == 0 : pl.ef == (uint32_t)b);
            if (!ok) {
                fprintf(stderr,
                        "rule: case %zu ef %u: estimate %llu of %llu, candidates %llu, "
                        "got %s ef %u\n",
                        c, efs[e], (unsigned long long)pl.estimate, (unsigned long long)pl.elements,
                        (unsigned long long)pl.candidates,
                        pl.path == VW_FILTER_PATH_SCAN ? "scan" : "walk", pl.ef);
                check_failures++;
            }
        }
        vw_filter_free(f);
    }
}

/* An index without attributes: a filter on a field matches nothing and the
 * search answers no result (the scan lists no candidate; it used to read
 * the absent attribute store). */
static void check_no_attributes(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, NULL, 100, 1, NULL, NULL));
    vw_filter *f = NULL;
    CHECK_OK(vw_filter_parse(cases[0].json, strlen(cases[0].json), &f));
    vw_search_options o;
    vw_search_options_default(&o);
    o.where = f;
    uint64_t labels[K];
    uint32_t found = 99;
    CHECK_OK(vw_index_search_ex(ix, queries, K, &o, labels, NULL, &found));
    CHECK(found == 0);
    vw_filter_free(f);
    vw_index_free(ix);
}

static vw_index *build(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    p.M = 8;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    CHECK_OK(vw_index_add_batch(ix, base, NULL, N, 2, NULL, NULL));
    set_all(ix);
    return ix;
}

/* The attribute section's file offset and length (the last section). */
static void attrs_section(const char *path, long *off, long *len) {
    FILE *f = fopen(path, "rb");
    unsigned char h[512];
    CHECK(f && fread(h, 1, sizeof h, f) > 80);
    uint32_t nsec, id, version;
    memcpy(&version, h + 12, 4);
    memcpy(&nsec, h + 72, 4);
    const unsigned char *e = h + 80 + 32 * (nsec - 1);
    memcpy(&id, e, 4);
    CHECK(version == 5 && id == 10);
    uint64_t o, l;
    memcpy(&o, e + 8, 8);
    memcpy(&l, e + 16, 8);
    *off = (long)o;
    *len = (long)l;
    fclose(f);
}

static void patch(const char *src, const char *dst, long off, const void *bytes, size_t n) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CHECK(in && out);
    int ch;
    for (long i = 0; (ch = fgetc(in)) != EOF; i++)
        fputc(i >= off && i < off + (long)n ? ((const unsigned char *)bytes)[i - off] : ch, out);
    fclose(in);
    fclose(out);
}

static void expect_corrupt(const char *path, unsigned flags, const char *detail) {
    vw_index *ix = NULL;
    vw_status st = vw_index_load(path, flags, &ix);
    if (st != VW_ERR_CORRUPT || ix || !strstr(vw_last_error_detail(), detail)) {
        fprintf(stderr, "load %s: %s (%s), want corrupt with \"%s\"\n", path, vw_strerror(st),
                vw_last_error_detail(), detail);
        check_failures++;
    }
    vw_index_free(ix);
}

static void test_files(vw_index *ix, const char *dir) {
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/attrs.vwi", dir);
    snprintf(bad, sizeof bad, "%s/attrs_bad.vwi", dir);
    CHECK_OK(vw_index_save(ix, path));
    unsigned modes[] = {0, VW_LOAD_MMAP};
    for (int m = 0; m < 2; m++) {
        vw_index *back = NULL;
        CHECK_OK(vw_index_load(path, modes[m], &back));
        if (!back)
            continue;
        check_cases(back, m ? "mmap" : "loaded");
        char a[256], b[256];
        size_t la, lb;
        for (uint64_t l = 0; l < N; l += 37) {
            vw_status st = vw_index_get_attributes(ix, l, a, sizeof a, &la);
            CHECK_ST(vw_index_get_attributes(back, l, b, sizeof b, &lb), st);
            CHECK(st != VW_OK || (la == lb && strcmp(a, b) == 0));
        }
        CHECK_ST(vw_index_set_attributes(back, 5, "{}", 2), m ? VW_ERR_READONLY : VW_OK);
        vw_index_free(back);
    }
    long off, len;
    attrs_section(path, &off, &len);
    patch(path, bad, off + 20, "X", 1); /* inside the first record's text */
    expect_corrupt(bad, 0, "section attributes: checksum mismatch");
    expect_corrupt(bad, VW_LOAD_NO_VERIFY, "attributes section: record 0");
    uint64_t huge = 1u << 30;
    patch(path, bad, off, &huge, 8);
    expect_corrupt(bad, VW_LOAD_NO_VERIFY, "records do not fit");
    uint64_t absent = 999999;
    patch(path, bad, off + 8, &absent, 8);
    expect_corrupt(bad, VW_LOAD_NO_VERIFY, "is not in the index");
    uint32_t l0 = 60000;
    patch(path, bad, off + 16, &l0, 4);
    expect_corrupt(bad, VW_LOAD_NO_VERIFY, "text length 60000 out of range");
    unlink(bad);
    unlink(path);
}

static void set_one(vw_index *ix, int i) {
    char json[128];
    snprintf(json, sizeof json, "{\"kw\": \"v%d\", \"num\": %.1f, \"flag\": %s}", attrs[i].kw,
             attrs[i].num, attrs[i].flag ? "true" : "false");
    CHECK_OK(vw_index_set_attributes(ix, (uint64_t)i, json, strlen(json)));
}

/* The walk reads a node's values from the node table (attrs.h), a copy
 * that must follow every change of them: new attributes on live elements,
 * and upserts, which move a record to a new node (with the same vector, so
 * that the brute force stays right) while the old one is still linked. */
static void change_and_upsert(vw_index *ix) {
    for (int i = 1; i < N; i += 5) {
        if (attrs[i].removed)
            continue;
        attrs[i].flag = !attrs[i].flag;
        attrs[i].kw = (attrs[i].kw + 1) % KW;
        attrs[i].num = 1000 - attrs[i].num / 10;
        set_one(ix, i);
    }
    check_cases(ix, "changed");
    for (int i = 2; i < N; i += 5)
        if (!attrs[i].removed)
            CHECK_OK(vw_index_upsert(ix, base + i * DIM, (uint64_t)i));
    check_cases(ix, "upserted");
    for (int i = 2; i < N; i += 10)
        if (!attrs[i].removed) {
            attrs[i].flag = !attrs[i].flag;
            set_one(ix, i);
        }
    check_cases(ix, "upserted, changed");
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    make_data();
    check_no_attributes();
    vw_index *ix = build();
    unsigned paths = check_cases(ix, "built");
    CHECK(paths == 3); /* both the scan and the walk were taken */
    check_rule(ix, 8);
    /* removals, a purge, a reorder: records follow their slots */
    for (int i = 0; i < N; i += 3) {
        CHECK_OK(vw_index_remove(ix, (uint64_t)i));
        attrs[i].removed = true;
    }
    check_cases(ix, "removed");
    CHECK_OK(vw_index_purge(ix));
    CHECK_OK(vw_index_reorder(ix));
    check_cases(ix, "reordered");
    /* some come back with new vectors and no attributes, then get them */
    for (int i = 0; i < N; i += 30) {
        CHECK_OK(vw_index_add(ix, base + i * DIM, (uint64_t)i));
        attrs[i].removed = false;
        char json[128];
        snprintf(json, sizeof json, "{\"kw\": \"v%d\", \"num\": %.1f, \"flag\": %s}", attrs[i].kw,
                 attrs[i].num, attrs[i].flag ? "true" : "false");
        CHECK_OK(vw_index_set_attributes(ix, (uint64_t)i, json, strlen(json)));
    }
    check_cases(ix, "re-added");
    change_and_upsert(ix);
    test_files(ix, dir);
    vw_index_free(ix);
    return tu_result("test_filter_exact");
}
