/* Damaged Faiss and hnswlib files: every truncation, thousands of random
 * bit flips and byte overwrites, and hand-made files that each break one
 * rule of lib/FOREIGN.md. Import must fail with the right status every time,
 * or give an index that searches, inserts, reorders, saves and loads without
 * fault (these formats have no checksums: a changed vector value or label
 * can load); run under ASan+UBSan in CI to catch any stray access.
 *
 *   test_foreign_corrupt SEEDS-DIR
 *
 * SEEDS-DIR is tests/fuzz/seeds: small files written by the real Faiss and
 * hnswlib (tests/foreign_engines.py seeds). The offsets patched below are
 * found by walking each file with the layout FOREIGN.md documents. */
#include "testutil.h"
#include "vw_internal.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], bad_path[256], out_path[256];
static const char *seeds_dir;

static void write_file(const char *path, const unsigned char *buf, size_t len) {
    CHECK(tu_write_file(path, buf, len) == 0);
}

/* ------------------------------------------------------------------ an imported index must work */

/* The graph rules of FORMAT.md, and (when `reach`) every node reachable on
 * layer 0 from the entry point. */
static void check_graph(const vw_index *ix, bool reach) {
    uint64_t n = ix->count;
    if (n == 0)
        return;
    uint8_t *seen = calloc(n, 1);
    uint32_t *queue = malloc(n * sizeof *queue);
    uint64_t head = 0, tail = 0;
    vw_top top = vw_top_get(ix);
    CHECK(top.entry < n && ix->levels[top.entry] == top.level);
    for (uint64_t i = 0; i < n; i++)
        for (unsigned l = 0; l <= ix->levels[i]; l++) {
            const uint32_t *list = vw_links(ix, (uint32_t)i, l);
            CHECK(list[0] <= (l ? ix->M : ix->M0));
            for (uint32_t j = 1; j <= list[0] && j <= ix->M0; j++)
                CHECK(list[j] < n && ix->levels[list[j]] >= l);
        }
    queue[tail++] = top.entry;
    seen[top.entry] = 1;
    while (head < tail) {
        const uint32_t *list = vw_links0(ix, queue[head++]);
        for (uint32_t j = 1; j <= list[0]; j++)
            if (!seen[list[j]]) {
                seen[list[j]] = 1;
                queue[tail++] = list[j];
            }
    }
    if (reach && tail != n) {
        fprintf(stderr, "FAIL: %llu of %llu nodes reachable from the entry point\n",
                (unsigned long long)tail, (unsigned long long)n);
        check_failures++;
    }
    free(seen);
    free(queue);
}

static void exercise(vw_index *ix, bool deep) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    float *q = calloc(s.dim, sizeof *q);
    for (uint32_t i = 0; i < s.dim; i++)
        q[i] = (float)(i % 3) - 0.7f;
    uint64_t l[5];
    float d[5];
    uint32_t found;
    vw_status st = vw_index_search(ix, q, 5, 16, NULL, NULL, l, d, &found);
    CHECK(st == VW_OK || (st == VW_ERR_EMPTY_INDEX && s.count == 0));
    if (deep) {
        st = vw_index_add(ix, q, 0xfeedfaceULL);
        CHECK(st == VW_OK || st == VW_ERR_DUPLICATE_LABEL);
        CHECK_OK(vw_index_reorder(ix));
        CHECK_OK(vw_index_search(ix, q, 5, 16, NULL, NULL, l, d, &found));
        /* an imported graph takes removals and updates like a built one */
        uint64_t gone = l[0] != 0xfeedfaceULL ? l[0] : found > 1 ? l[1] : l[0];
        CHECK_OK(vw_index_remove(ix, gone));
        q[0] += 0.25f;
        CHECK_OK(vw_index_upsert(ix, q, 0xfeedfaceULL));
        CHECK_OK(vw_index_purge(ix));
        CHECK_OK(vw_index_search(ix, q, 5, 16, NULL, NULL, l, d, &found));
        CHECK(found > 0);
        for (uint32_t i = 0; i < found && gone != 0xfeedfaceULL; i++)
            CHECK(l[i] != gone);
        float *row = calloc(s.dim, sizeof *row);
        if (gone != 0xfeedfaceULL)
            CHECK_ST(vw_index_get_vector(ix, gone, row), VW_ERR_NOT_FOUND);
        CHECK_OK(vw_index_get_vector(ix, 0xfeedfaceULL, row));
        free(row);
        CHECK_OK(vw_index_save(ix, out_path));
        vw_index *back = NULL;
        CHECK_OK(vw_index_load(out_path, VW_LOAD_DEFAULT, &back));
        vw_index_free(back);
    }
    free(q);
}

/* ------------------------------------------------------------------ importing */

typedef struct seed {
    const char *file;
    vw_index_format format;
    vw_metric metric;
} seed;

static const seed seeds[] = {
    {"fuzz_faiss/l2_n40.faiss", VW_INDEX_FORMAT_FAISS, VW_METRIC_L2},
    {"fuzz_faiss/ip_n24.faiss", VW_INDEX_FORMAT_FAISS, VW_METRIC_IP},
    {"fuzz_faiss/l2_idmap_n30.faiss", VW_INDEX_FORMAT_FAISS, VW_METRIC_L2},
    {"fuzz_faiss/ip_idmap2_n12.faiss", VW_INDEX_FORMAT_FAISS, VW_METRIC_IP},
    {"fuzz_faiss/empty.faiss", VW_INDEX_FORMAT_FAISS, VW_METRIC_L2},
    {"fuzz_hnswlib/l2_n40.hnsw", VW_INDEX_FORMAT_HNSWLIB, VW_METRIC_L2},
    {"fuzz_hnswlib/ip_n24.hnsw", VW_INDEX_FORMAT_HNSWLIB, VW_METRIC_IP},
    {"fuzz_hnswlib/cosine_n30.hnsw", VW_INDEX_FORMAT_HNSWLIB, VW_METRIC_COSINE},
    {"fuzz_hnswlib/l2_deleted_n32.hnsw", VW_INDEX_FORMAT_HNSWLIB, VW_METRIC_L2},
    {"fuzz_hnswlib/empty.hnsw", VW_INDEX_FORMAT_HNSWLIB, VW_METRIC_L2},
};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static unsigned char *slurp_seed(const seed *sd, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", seeds_dir, sd->file);
    unsigned char *f = tu_slurp(path, len);
    if (!f) {
        fprintf(stderr, "FAIL: cannot read %s\n", path);
        check_failures++;
    }
    return f;
}

static char last_detail[256];

/* Imports buf (format given, or detected when `detect`), keeping the detail. */
static vw_status import_buf(const unsigned char *buf, size_t len, const seed *sd, bool detect,
                            vw_index **out) {
    write_file(bad_path, buf, len);
    vw_import_options o;
    vw_import_options_default(&o);
    o.format = detect ? VW_INDEX_FORMAT_UNKNOWN : sd->format;
    o.has_metric = 1;
    o.metric = sd->metric;
    vw_status st = vw_index_import(bad_path, &o, out);
    snprintf(last_detail, sizeof last_detail, "%s", vw_last_error_detail());
    CHECK((st == VW_OK) == (*out != NULL));
    if (st != VW_OK)
        CHECK(last_detail[0] != '\0');
    return st;
}

static void expect(const unsigned char *buf, size_t len, const seed *sd, vw_status want,
                   const char *detail_part, const char *what) {
    vw_index *ix = NULL;
    vw_status st = import_buf(buf, len, sd, false, &ix);
    if (st != want || (detail_part && !strstr(last_detail, detail_part))) {
        fprintf(stderr, "FAIL: %s (%s): got %s (%s), want %s mentioning '%s'\n", what, sd->file,
                vw_strerror(st), last_detail, vw_strerror(want), detail_part ? detail_part : "");
        check_failures++;
    }
    if (ix) {
        check_graph(ix, want == VW_OK);
        exercise(ix, true);
    }
    vw_index_free(ix);
}

/* ------------------------------------------------------------------ every seed */

static void every_truncation(const seed *sd, const unsigned char *f, size_t len) {
    for (size_t cut = 0; cut < len; cut++)
        for (int detect = 0; detect < 2; detect++) {
            vw_index *ix = NULL;
            vw_status st = import_buf(f, cut, sd, detect, &ix);
            bool ok = st == VW_ERR_TRUNCATED || (detect && st == VW_ERR_FORMAT);
            if (!ok) {
                fprintf(stderr, "FAIL: %s cut to %zu%s: %s (%s)\n", sd->file, cut,
                        detect ? " (detected)" : "", vw_strerror(st), last_detail);
                check_failures++;
            }
            vw_index_free(ix);
        }
}

static bool allowed(vw_status st) {
    return st == VW_OK || st == VW_ERR_FORMAT || st == VW_ERR_TRUNCATED || st == VW_ERR_CORRUPT ||
           st == VW_ERR_UNSUPPORTED;
}

static void random_damage(const seed *sd, const unsigned char *f, size_t len, uint64_t rseed) {
    enum { FLIPS = 1500, OVERWRITES = 500 };
    tu_rng r;
    tu_seed(&r, rseed);
    unsigned char *buf = malloc(len);
    unsigned loaded = 0;
    for (int i = 0; i < FLIPS + OVERWRITES; i++) {
        memcpy(buf, f, len);
        size_t pos = tu_next(&r) % len;
        if (i < FLIPS)
            buf[pos] ^= (unsigned char)(1u << (tu_next(&r) % 8));
        else
            buf[pos] = (unsigned char)(f[pos] + 1 + tu_next(&r) % 255);
        vw_index *ix = NULL;
        vw_status st = import_buf(buf, len, sd, i % 2 == 0, &ix);
        if (!allowed(st)) {
            fprintf(stderr, "FAIL: %s damaged at byte %zu: %s (%s)\n", sd->file, pos,
                    vw_strerror(st), last_detail);
            check_failures++;
        }
        if (ix) {
            loaded++;
            check_graph(ix, false);
            exercise(ix, i % 16 == 0);
        }
        vw_index_free(ix);
    }
    printf("%-32s %zu bytes: %u of %d damaged copies load (no checksums: vectors, labels)\n",
           sd->file, len, loaded, FLIPS + OVERWRITES);
    free(buf);
}

static void each_seed(void) {
    for (size_t i = 0; i < NSEEDS; i++) {
        size_t len;
        unsigned char *f = slurp_seed(&seeds[i], &len);
        if (!f)
            continue;
        expect(f, len, &seeds[i], VW_OK, NULL, "intact file");
        vw_index *ix = NULL;
        CHECK_OK(import_buf(f, len, &seeds[i], true, &ix)); /* detected too */
        vw_index_free(ix);
        every_truncation(&seeds[i], f, len);
        random_damage(&seeds[i], f, len, 1000 + i);
        free(f);
    }
}

/* ------------------------------------------------------------------ Faiss, rule by rule */

typedef struct faiss_layout {
    size_t hdr, levels, offsets, nbrs, entry, storage, codes, idmap;
    uint64_t n, ncum;
    uint32_t d;
    const unsigned char *cum;
} faiss_layout;

static faiss_layout faiss_walk(const unsigned char *f) {
    faiss_layout L = {0};
    size_t p = memcmp(f, "IxM", 3) == 0 ? 4 + 33 : 0; /* an IDMap wraps the index */
    L.hdr = p + 4;
    L.d = tu_get32(f + L.hdr);
    L.n = tu_get64(f + L.hdr + 4);
    p += 4 + 33;
    p += 8 + 8 * tu_get64(f + p); /* assign_probas */
    L.ncum = tu_get64(f + p);
    L.cum = f + p + 8;
    p += 8 + 4 * L.ncum;
    L.levels = p + 8;
    p += 8 + 4 * L.n;
    L.offsets = p + 8;
    p += 8 + 8 * (L.n + 1);
    L.nbrs = p + 8;
    p += 8 + 4 * tu_get64(f + p);
    L.entry = p;
    p += 20;
    L.storage = p;
    L.codes = p + 4 + 33 + 8;
    L.idmap = L.codes + 4 * L.n * L.d + 8;
    return L;
}

/* Byte offset of slot j of node i's list on `layer` (slots per layer from cum). */
static size_t faiss_slot(const unsigned char *f, const faiss_layout *L, uint64_t i, unsigned layer,
                         unsigned j) {
    uint64_t off = tu_get64(f + L->offsets + 8 * i);
    return L->nbrs + 4 * (off + tu_get32(L->cum + 4 * layer) + j);
}

static unsigned faiss_level(const unsigned char *f, const faiss_layout *L, uint64_t i) {
    return tu_get32(f + L->levels + 4 * i) - 1;
}

#define FRESH() memcpy(f, good, len)

/* The object tree and the headers. */
static void faiss_header_rules(const unsigned char *good, size_t len, const seed *sd,
                               unsigned char *f, const faiss_layout *l) {
    faiss_layout L = *l;
    FRESH(), memcpy(f, "IwFl", 4), expect(f, len, sd, VW_ERR_UNSUPPORTED, "index type", "IVF");
    FRESH(), memcpy(f, "IHNs", 4), expect(f, len, sd, VW_ERR_UNSUPPORTED, "compressed", "HNSWSQ");
    FRESH(), tu_put32(f + L.hdr + 29, 2), expect(f, len, sd, VW_ERR_UNSUPPORTED, "metric", "L1");
    FRESH(), f[L.hdr + 28] = 7, expect(f, len, sd, VW_ERR_CORRUPT, "is_trained", "bad bool");
    FRESH(), tu_put32(f + L.hdr, 0), expect(f, len, sd, VW_ERR_CORRUPT, "d = 0", "d = 0");
    FRESH(), tu_put32(f + L.hdr, 5000),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "dimension", "d big");
    FRESH(), tu_put64(f + L.levels - 8, L.n + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "hnsw.levels", "levels count");
    FRESH(), tu_put64(f + L.levels - 8, 1ull << 40),
        expect(f, len, sd, VW_ERR_CORRUPT, "hnsw.levels", "huge levels count");
    FRESH(), tu_put32(f + L.entry + 8, 0),
        expect(f, len, sd, VW_ERR_CORRUPT, "efConstruction", "efC");
    FRESH(), memcpy(f + L.storage, "null", 4),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "without its vectors", "no storage");
    FRESH(), memcpy(f + L.storage, "IxFI", 4),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "storage", "IP storage in an L2 index");
    FRESH(), tu_put64(f + L.storage + 8, L.n - 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "storage header", "storage ntotal");
    FRESH(), f[len] = 0, expect(f, len + 1, sd, VW_ERR_CORRUPT, "follow", "trailing byte");
    FRESH(), expect(f, len, &(seed){sd->file, VW_INDEX_FORMAT_FAISS, VW_METRIC_IP},
                    VW_ERR_INVALID_ARG, "metric is l2", "metric option differs");
}

/* The graph: levels, offsets, lists, entry point; and the vectors. */
static void faiss_graph_rules(const unsigned char *good, size_t len, const seed *sd,
                              unsigned char *f, const faiss_layout *l) {
    faiss_layout L = *l;
    FRESH(), tu_put64(f + L.hdr + 4, 1ull << 40),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "vectors", "huge ntotal");
    FRESH(), tu_put32(f + L.levels + 12, 0),
        expect(f, len, sd, VW_ERR_CORRUPT, "levels[3]", "level 0");
    FRESH(), tu_put64(f + L.offsets + 40, tu_get64(good + L.offsets + 40) + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "offsets[5]", "offsets");
    FRESH(), tu_put32(f + faiss_slot(good, &L, 7, 0, 0), (uint32_t)L.n),
        expect(f, len, sd, VW_ERR_CORRUPT, "out of range", "neighbour = n");
    FRESH(), tu_put32(f + faiss_slot(good, &L, 7, 0, 0), (uint32_t)-2),
        expect(f, len, sd, VW_ERR_CORRUPT, "out of range", "neighbour = -2");
    /* a list that ends early, then an id after its -1 */
    uint32_t slots0 = tu_get32(L.cum + 4);
    for (uint64_t i = 0; i < L.n; i++)
        if ((int32_t)tu_get32(good + faiss_slot(good, &L, i, 0, slots0 - 2)) == -1) {
            FRESH(), tu_put32(f + faiss_slot(good, &L, i, 0, slots0 - 1), 0);
            expect(f, len, sd, VW_ERR_CORRUPT, "after the -1", "id after the end");
            break;
        }
    /* a layer-1 neighbour that is only on layer 0 */
    uint64_t low = 0;
    while (faiss_level(good, &L, low) > 0)
        low++;
    for (uint64_t i = 0; i < L.n; i++)
        if (faiss_level(good, &L, i) >= 1) {
            FRESH(), tu_put32(f + faiss_slot(good, &L, i, 1, 0), (uint32_t)low);
            expect(f, len, sd, VW_ERR_CORRUPT, "only on layers", "neighbour below its layer");
            break;
        }
    FRESH(), tu_put32(f + L.entry, (uint32_t)L.n),
        expect(f, len, sd, VW_ERR_CORRUPT, "entry", "entry");
    FRESH(), tu_put32(f + L.entry + 4, tu_get32(good + L.entry + 4) + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "entry point", "max level");
    FRESH(), tu_put32(f + L.codes + 20, 0x7fc00000u),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "vector of element 1", "NaN");
}

static void faiss_rules(void) {
    size_t len;
    const seed *sd = &seeds[0];
    unsigned char *good = slurp_seed(sd, &len);
    if (!good)
        return;
    unsigned char *f = malloc(len + 8);
    faiss_layout L = faiss_walk(good);
    CHECK(L.n == 40 && L.d == 4 && L.idmap == len + 8);
    faiss_header_rules(good, len, sd, f, &L);
    faiss_graph_rules(good, len, sd, f, &L);
    free(f);
    free(good);
}

static void faiss_idmap_rules(void) {
    size_t len;
    const seed *sd = &seeds[2];
    unsigned char *good = slurp_seed(sd, &len);
    if (!good)
        return;
    unsigned char *f = malloc(len);
    faiss_layout L = faiss_walk(good);
    CHECK(L.n == 30 && L.idmap + 8 * L.n == len);
    FRESH(), tu_put64(f + L.idmap + 16, (uint64_t)-5),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "id_map[2]", "negative id");
    FRESH(), tu_put64(f + L.idmap + 16, tu_get64(good + L.idmap + 8)),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "label", "repeated id");
    FRESH(), tu_put64(f + L.idmap - 8, L.n - 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "id_map", "id_map count");
    FRESH(), tu_put64(f + 8, L.n + 1), expect(f, len, sd, VW_ERR_CORRUPT, "IDMap", "outer ntotal");
    /* the labels are the ids */
    vw_index *ix = NULL;
    CHECK_OK(import_buf(good, len, sd, true, &ix));
    float v[4];
    if (ix) {
        CHECK_OK(vw_index_get_vector(ix, tu_get64(good + L.idmap + 8 * 29), v));
        CHECK(memcmp(v, good + L.codes + 29 * 16, 16) == 0);
        CHECK_ST(vw_index_get_vector(ix, 29, v), VW_ERR_NOT_FOUND);
    }
    vw_index_free(ix);
    free(f);
    free(good);
}

/* ------------------------------------------------------------------ hnswlib, rule by rule */

typedef struct hnsw_layout {
    uint64_t n, block, max_m, max_m0, label_off, data_off, upper;
} hnsw_layout;

static hnsw_layout hnsw_walk(const unsigned char *f) {
    hnsw_layout L = {.n = tu_get64(f + 16),
                     .block = tu_get64(f + 24),
                     .label_off = tu_get64(f + 32),
                     .data_off = tu_get64(f + 40),
                     .max_m = tu_get64(f + 56),
                     .max_m0 = tu_get64(f + 64)};
    L.upper = 96 + L.n * L.block;
    return L;
}

static size_t hnsw_block(const hnsw_layout *L, uint64_t i) {
    return 96 + i * L->block;
}

/* Offset of element i's size word in the upper section. */
static size_t hnsw_upper(const unsigned char *f, const hnsw_layout *L, uint64_t i) {
    size_t p = L->upper;
    for (uint64_t j = 0; j < i; j++)
        p += 4 + tu_get32(f + p);
    return p;
}

static void hnswlib_structure(const unsigned char *good, size_t len, const seed *sd,
                              unsigned char *f, const hnsw_layout *L) {
    FRESH(), tu_put64(f, 1), expect(f, len, sd, VW_ERR_CORRUPT, "offsetLevel0", "offsetLevel0");
    FRESH(), tu_put64(f + 16, L->n + 4), expect(f, len, sd, VW_ERR_CORRUPT, "capacity", "N > cap");
    FRESH(), tu_put64(f + 16, 1ull << 30), tu_put64(f + 8, 1ull << 30),
        expect(f, len, sd, VW_ERR_TRUNCATED, "element blocks", "huge N");
    FRESH(), tu_put64(f + 64, L->max_m0 + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "offsetData", "M0");
    FRESH(), tu_put64(f + 24, L->block + 4),
        expect(f, len, sd, VW_ERR_CORRUPT, "element size", "size");
    FRESH(), tu_put32(f + 52, (uint32_t)L->n), expect(f, len, sd, VW_ERR_CORRUPT, "entry", "entry");
    FRESH(), tu_put32(f + 48, tu_get32(good + 48) + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "entry point", "maxlevel");
    FRESH(), tu_put64(f + 88, 0), expect(f, len, sd, VW_ERR_CORRUPT, "ef_construction", "efC 0");
    FRESH(), f[len] = 0, expect(f, len + 1, sd, VW_ERR_CORRUPT, "follow", "trailing byte");
    size_t up = hnsw_upper(good, L, 0);
    FRESH(), tu_put32(f + up, tu_get32(good + up) + 4),
        expect(f, len, sd, VW_ERR_CORRUPT, "upper lists", "size_i");
}

static void hnswlib_lists(const unsigned char *good, size_t len, const seed *sd, unsigned char *f,
                          const hnsw_layout *L) {
    size_t b3 = hnsw_block(L, 3);
    FRESH(), tu_put32(f + b3, (uint32_t)L->max_m0 + 1),
        expect(f, len, sd, VW_ERR_CORRUPT, "list word", "count > maxM0");
    FRESH(), tu_put32(f + b3 + 4, (uint32_t)L->n),
        expect(f, len, sd, VW_ERR_CORRUPT, "neighbour", "id = N");
    FRESH(), f[b3 + 2] = 2, expect(f, len, sd, VW_ERR_CORRUPT, "flags", "unknown flag");
    FRESH(), tu_put64(f + b3 + L->label_off, tu_get64(good + hnsw_block(L, 5) + L->label_off)),
        expect(f, len, sd, VW_ERR_CORRUPT, "label", "repeated label");
    FRESH(), tu_put32(f + b3 + L->data_off, 0xff800000u),
        expect(f, len, sd, VW_ERR_UNSUPPORTED, "vector of element 3", "-Inf");
    uint64_t low = 0;
    while (tu_get32(good + hnsw_upper(good, L, low)) != 0)
        low++;
    for (uint64_t i = 0; i < L->n; i++) {
        size_t up = hnsw_upper(good, L, i);
        if (tu_get32(good + up) > 0 && tu_get32(good + up + 4) > 0) {
            FRESH(), tu_put32(f + up + 8, (uint32_t)low);
            expect(f, len, sd, VW_ERR_CORRUPT, "only on layers", "neighbour below its layer");
            FRESH(), tu_put32(f + up + 4, 0x10001u);
            expect(f, len, sd, VW_ERR_CORRUPT, "list word", "upper flags");
            break;
        }
    }
}

/* Deleted elements are left out, their lists bridged, the graph whole. */
static void hnswlib_deleted(const unsigned char *good, size_t len, const seed *sd, unsigned char *f,
                            const hnsw_layout *L) {
    uint32_t entry = tu_get32(good + 52);
    FRESH(), f[hnsw_block(L, entry) + 2] = 1;
    expect(f, len, sd, VW_OK, NULL, "entry point deleted");
    vw_index *ix = NULL;
    CHECK_OK(import_buf(f, len, sd, false, &ix));
    float v[4];
    if (ix) {
        CHECK(ix->count == L->n - 1);
        CHECK_ST(vw_index_get_vector(ix, tu_get64(good + hnsw_block(L, entry) + L->label_off), v),
                 VW_ERR_NOT_FOUND);
    }
    vw_index_free(ix);
    FRESH();
    for (uint64_t i = 0; i < L->n; i++)
        f[hnsw_block(L, i) + 2] = 1;
    expect(f, len, sd, VW_OK, NULL, "every element deleted");
    CHECK_OK(import_buf(f, len, sd, false, &ix));
    CHECK(ix && ix->count == 0);
    vw_index_free(ix);
    FRESH(), expect(f, len, &(seed){sd->file, VW_INDEX_FORMAT_HNSWLIB, (vw_metric)9},
                    VW_ERR_INVALID_ARG, "metric", "bad metric option");
}

static void hnswlib_rules(void) {
    size_t len;
    const seed *sd = &seeds[5];
    unsigned char *good = slurp_seed(sd, &len);
    if (!good)
        return;
    unsigned char *f = malloc(len + 8);
    hnsw_layout L = hnsw_walk(good);
    CHECK(L.n == 40 && L.label_off - L.data_off == 16);
    hnswlib_structure(good, len, sd, f, &L);
    hnswlib_lists(good, len, sd, f, &L);
    hnswlib_deleted(good, len, sd, f, &L);
    /* the space is not in the file: it must be given */
    write_file(bad_path, good, len);
    vw_index *ix = NULL;
    CHECK_ST(vw_index_import(bad_path, NULL, &ix), VW_ERR_INVALID_ARG);
    CHECK(ix == NULL && strstr(vw_last_error_detail(), "metric"));
    free(f);
    free(good);
}

/* The seed with marked elements: they are gone, the rest reachable. */
static void hnswlib_marked_seed(void) {
    size_t len;
    const seed *sd = &seeds[8];
    unsigned char *good = slurp_seed(sd, &len);
    if (!good)
        return;
    hnsw_layout L = hnsw_walk(good);
    unsigned marked = 0;
    vw_index *ix = NULL;
    CHECK_OK(import_buf(good, len, sd, true, &ix));
    for (uint64_t i = 0; i < L.n && ix; i++) {
        float v[4];
        bool dead = good[hnsw_block(&L, i) + 2] & 1;
        marked += dead;
        uint64_t label = tu_get64(good + hnsw_block(&L, i) + L.label_off);
        CHECK_ST(vw_index_get_vector(ix, label, v), dead ? VW_ERR_NOT_FOUND : VW_OK);
    }
    CHECK(marked == 4 && ix && ix->count == L.n - marked);
    if (ix)
        check_graph(ix, true);
    vw_index_free(ix);
    free(good);
}

static void bad_calls(void) {
    vw_index *ix = (vw_index *)&ix;
    CHECK_ST(vw_index_import(NULL, NULL, &ix), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_import(bad_path, NULL, NULL), VW_ERR_NULL_ARG);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    CHECK_ST(vw_index_import(missing, NULL, &ix), VW_ERR_NOT_FOUND);
    CHECK(ix == NULL);
    CHECK_ST(vw_index_import(dir, NULL, &ix), VW_ERR_INVALID_ARG); /* not a regular file */
    /* a FIFO with no writer is refused at once, not waited on */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    vw_index_format kind;
    CHECK_ST(vw_index_import(fifo, NULL, &ix), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_detect(fifo, &kind), VW_ERR_INVALID_ARG);
    unlink(fifo);
    vw_import_options o;
    vw_import_options_default(&o);
    o.format = (vw_index_format)7;
    CHECK_ST(vw_index_import(bad_path, &o, &ix), VW_ERR_INVALID_ARG);
    write_file(bad_path, (const unsigned char *)"hello, world\n", 13);
    CHECK_ST(vw_index_import(bad_path, NULL, &ix), VW_ERR_FORMAT);
    vw_index_format fmt = VW_INDEX_FORMAT_FAISS;
    CHECK_OK(vw_index_detect(bad_path, &fmt));
    CHECK(fmt == VW_INDEX_FORMAT_UNKNOWN);
    CHECK_ST(vw_index_detect(missing, &fmt), VW_ERR_NOT_FOUND);
    CHECK(vw_index_format_name(VW_INDEX_FORMAT_HNSWLIB) &&
          strcmp(vw_index_format_name(VW_INDEX_FORMAT_HNSWLIB), "hnswlib") == 0);
    CHECK(vw_index_format_name(VW_INDEX_FORMAT_UNKNOWN) == NULL);
    /* vw_index_load says what a foreign file is and which call opens it */
    for (size_t i = 0; i < NSEEDS; i += 5) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", seeds_dir, seeds[i].file);
        CHECK_ST(vw_index_load(path, VW_LOAD_DEFAULT, &ix), VW_ERR_FORMAT);
        CHECK(strstr(vw_last_error_detail(), "vw_index_import") != NULL);
        CHECK_OK(vw_index_detect(path, &fmt));
        CHECK(fmt == seeds[i].format);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SEEDS-DIR\n", argv[0]);
        return 2;
    }
    seeds_dir = argv[1];
    snprintf(dir, sizeof dir, "%s/vw_foreign_bad_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(bad_path, sizeof bad_path, "%s/bad.bin", dir);
    snprintf(out_path, sizeof out_path, "%s/out.vwi", dir);
    each_seed();
    faiss_rules();
    faiss_idmap_rules();
    hnswlib_rules();
    hnswlib_marked_seed();
    bad_calls();
    unlink(bad_path);
    unlink(out_path);
    rmdir(dir);
    return tu_result("test_foreign_corrupt");
}
