/* Damaged index files: every truncation length, thousands of random bit
 * flips and byte overwrites, and hand-made files that each break one rule
 * of lib/FORMAT.md. Loading must fail with the right status every time (or,
 * with checksums off, give an index that searches, inserts and saves
 * without fault); run under ASan+UBSan in CI to catch any stray access.
 * The header offsets used here are the ones FORMAT.md documents. */
#include "crc32c.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLIPS      3000
#define OVERWRITES 1500

static const unsigned modes[] = {VW_LOAD_DEFAULT, VW_LOAD_MMAP, VW_LOAD_NO_VERIFY,
                                 VW_LOAD_MMAP | VW_LOAD_NO_VERIFY};
#define NMODES (sizeof modes / sizeof modes[0])

static char dir[64];
static char good_path[256], bad_path[256], out_path[256];

static unsigned char *good; /* the intact file */
static size_t good_len;
static vw_storage good_storage; /* the index it holds */
static uint32_t good_flags;

/* ------------------------------------------------------------------ file layout (FORMAT.md) */

static uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void wr32(unsigned char *p, uint32_t v) {
    memcpy(p, &v, 4);
}

static void wr64(unsigned char *p, uint64_t v) {
    memcpy(p, &v, 8);
}

enum { VECTORS, LEVELS, LINKS0, UPPER, LABELS, STORAGE, FLOAT32 };

/* The node states of a version-3 file: always the last section listed. */
static int states_sec(const unsigned char *f) {
    return (int)rd32(f + 72) - 1;
}

static uint64_t sec_offset(const unsigned char *f, int s) {
    return rd64(f + 80 + 32 * s + 8);
}

static uint64_t sec_length(const unsigned char *f, int s) {
    return rd64(f + 80 + 32 * s + 16);
}

static uint32_t header_crc_of(const unsigned char *f) {
    uint32_t size = rd32(f + 16);
    unsigned char zero[4] = {0};
    uint32_t c = vw_crc32c(0, f, 20);
    c = vw_crc32c(c, zero, 4);
    return vw_crc32c(c, f + 24, size - 24);
}

/* Recomputes every section CRC and then the header CRC, so that a test
 * can reach the structural checks with a deliberately wrong file. */
static void fix_crcs(unsigned char *f) {
    uint32_t n = rd32(f + 72);
    for (uint32_t s = 0; s < n; s++) {
        unsigned char *e = f + 80 + 32 * s;
        wr32(e + 24, vw_crc32c(0, f + rd64(e + 8), rd64(e + 16)));
    }
    wr32(f + 20, header_crc_of(f));
}

/* ------------------------------------------------------------------ loading */

static void write_file(const char *path, const unsigned char *buf, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, buf, len) == (ssize_t)len);
    close(fd);
}

/* A loaded index, however odd its graph, must work. */
static void exercise(vw_index *ix, unsigned mode, bool deep) {
    vw_stats s;
    CHECK_OK(vw_index_stats(ix, &s));
    float q[4] = {0.5f, -0.5f, 0.5f, 0.5f};
    uint64_t l[5];
    float d[5];
    uint32_t found;
    for (int i = 0; i < 3; i++) {
        q[i] = -q[i];
        vw_status st = vw_index_search(ix, q, 5, 16, NULL, NULL, l, d, &found);
        CHECK(st == VW_OK || (st == VW_ERR_EMPTY_INDEX && s.count == 0));
    }
    if (!deep)
        return;
    vw_status st = vw_index_add(ix, q, 0xfeedfaceULL);
    CHECK(st == ((mode & VW_LOAD_MMAP) ? VW_ERR_READONLY : VW_OK) || st == VW_ERR_DUPLICATE_LABEL);
    CHECK_OK(vw_index_save(ix, out_path));
}

static char verified_detail[256]; /* detail of the last load_all_modes' mode 0 */

/* Loads buf in every mode; returns the status of the checksummed modes
 * (which must agree; its detail goes to verified_detail) and fails the test
 * if a checksummed load succeeds when `must_fail`. */
static vw_status load_all_modes(const unsigned char *buf, size_t len, bool must_fail, bool deep,
                                const char *what) {
    write_file(bad_path, buf, len);
    vw_status verified = VW_OK;
    for (size_t m = 0; m < NMODES; m++) {
        vw_index *ix = NULL;
        vw_status st = vw_index_load(bad_path, modes[m], &ix);
        CHECK((st == VW_OK) == (ix != NULL));
        if (m == 0) {
            verified = st;
            snprintf(verified_detail, sizeof verified_detail, "%s", vw_last_error_detail());
        }
        if (!(modes[m] & VW_LOAD_NO_VERIFY) && st != verified) {
            fprintf(stderr, "%s: mode %u gives %s, mode 0 %s\n", what, modes[m], vw_strerror(st),
                    vw_strerror(verified));
            check_failures++;
        }
        if (st == VW_OK && must_fail && !(modes[m] & VW_LOAD_NO_VERIFY)) {
            fprintf(stderr, "%s: checksummed load (mode %u) accepted a damaged file\n", what,
                    modes[m]);
            check_failures++;
        }
        if (st != VW_OK)
            CHECK(vw_last_error_detail()[0] != '\0');
        if (ix)
            exercise(ix, modes[m], deep);
        vw_index_free(ix);
    }
    return verified;
}

/* ------------------------------------------------------------------ the cases */

static void every_truncation(void) {
    for (size_t len = 0; len < good_len; len++) {
        write_file(bad_path, good, len);
        for (size_t m = 0; m < NMODES; m++) {
            vw_index *ix = NULL;
            vw_status st = vw_index_load(bad_path, modes[m], &ix);
            if (st != VW_ERR_TRUNCATED || ix) {
                fprintf(stderr, "truncated to %zu (mode %u): %s (%s)\n", len, modes[m],
                        vw_strerror(st), vw_last_error_detail());
                check_failures++;
            }
            vw_index_free(ix);
        }
    }
}

static void random_damage(int flips, int overwrites) {
    tu_rng r;
    tu_seed(&r, 20240404);
    unsigned char *buf = malloc(good_len);
    unsigned accepted_unverified = 0;
    for (int i = 0; i < flips + overwrites; i++) {
        memcpy(buf, good, good_len);
        size_t pos = tu_next(&r) % good_len;
        if (i < flips)
            buf[pos] ^= (unsigned char)(1u << (tu_next(&r) % 8));
        else
            buf[pos] = (unsigned char)(good[pos] + 1 + tu_next(&r) % 255); /* always differs */
        char what[64];
        snprintf(what, sizeof what, "%s at byte %zu", i < flips ? "bit flip" : "overwrite", pos);
        /* CRC32C sees every error within 32 consecutive bits, and bytes no
         * CRC covers (magic, padding) are checked directly: nothing passes. */
        vw_status st = load_all_modes(buf, good_len, true, i % 64 == 0, what);
        if (st != VW_ERR_FORMAT && st != VW_ERR_CORRUPT) {
            fprintf(stderr, "%s: %s (%s)\n", what, vw_strerror(st), verified_detail);
            check_failures++;
        }
        write_file(bad_path, buf, good_len);
        vw_index *ix = NULL;
        if (vw_index_load(bad_path, VW_LOAD_NO_VERIFY, &ix) == VW_OK)
            accepted_unverified++;
        vw_index_free(ix);
    }
    /* Without checksums most flips land in vectors/labels and load fine. */
    printf("random damage: %u of %d loaded with checksums off\n", accepted_unverified,
           flips + overwrites);
    free(buf);
}

static void expect(const unsigned char *buf, size_t len, vw_status want, const char *detail_part,
                   const char *what) {
    vw_status st = load_all_modes(buf, len, want != VW_OK, true, what);
    if (st != want || (detail_part && !strstr(verified_detail, detail_part))) {
        fprintf(stderr, "%s: got %s (%s), want %s mentioning '%s'\n", what, vw_strerror(st),
                verified_detail, vw_strerror(want), detail_part ? detail_part : "");
        check_failures++;
    }
}

/* Status with checksums off (for damage that fix_crcs did not hide). */
static void expect_unverified(const unsigned char *buf, size_t len, vw_status want,
                              const char *detail_part, const char *what) {
    write_file(bad_path, buf, len);
    for (int mm = 0; mm < 2; mm++) {
        vw_index *ix = NULL;
        unsigned mode = VW_LOAD_NO_VERIFY | (mm ? VW_LOAD_MMAP : 0);
        vw_status st = vw_index_load(bad_path, mode, &ix);
        if (st != want || (detail_part && !strstr(vw_last_error_detail(), detail_part))) {
            fprintf(stderr, "%s (mode %u): got %s (%s), want %s mentioning '%s'\n", what, mode,
                    vw_strerror(st), vw_last_error_detail(), vw_strerror(want), detail_part);
            check_failures++;
        }
        vw_index_free(ix);
    }
}

/* First node whose layer-`layer` list (0 = links0) has a neighbour; returns
 * the byte offset of that list in the file. */
static size_t find_list(const unsigned char *f, int layer, uint32_t M, uint32_t *node) {
    uint64_t count = rd64(f + 56);
    const unsigned char *levels = f + sec_offset(f, LEVELS);
    size_t upper = sec_offset(f, UPPER);
    for (uint64_t i = 0; i < count; i++) {
        size_t off = sec_offset(f, LINKS0) + i * (1 + 2 * M) * 4;
        if (layer == 0 && rd32(f + off) > 0) {
            *node = (uint32_t)i;
            return off;
        }
        for (int l = 1; l <= levels[i]; l++, upper += (1 + M) * 4)
            if (l == layer && rd32(f + upper) > 0) {
                *node = (uint32_t)i;
                return upper;
            }
    }
    return 0;
}

static void storage_fields(unsigned char *f);

static void crafted(void) {
    unsigned char *f = malloc(good_len + 4096);
    const uint32_t M = rd32(good + 40);
    const uint64_t count = rd64(good + 56);
    uint32_t node;

    const uint32_t dim = rd32(good + 32);
    const uint32_t nsec = good_storage != VW_STORAGE_F32 && !good_flags ? 7 : 6;
    const uint64_t row = good_storage == VW_STORAGE_F32   ? 4 * dim
                         : good_storage == VW_STORAGE_F16 ? 2 * dim
                                                          : dim;

    /* The layout FORMAT.md promises. */
    CHECK(memcmp(good, "\x89VWHNSW\n", 8) == 0);
    CHECK(rd32(good + 8) == 0x0A0B0C0Du);
    CHECK(rd32(good + 12) == 2);
    CHECK(rd32(good + 16) == 320);
    CHECK(rd32(good + 20) == header_crc_of(good));
    CHECK(rd64(good + 24) == good_len);
    CHECK(rd32(good + 72) == nsec);
    for (uint32_t s = 0; s < nsec; s++) {
        CHECK(rd32(good + 80 + 32 * s) == s + 1);
        CHECK(sec_offset(good, (int)s) % 64 == 0);
    }
    CHECK(sec_length(good, VECTORS) == count * row);
    CHECK(sec_length(good, LEVELS) == count);
    CHECK(sec_length(good, LINKS0) == count * (1 + 2 * M) * 4);
    CHECK(sec_length(good, LABELS) == count * 8);
    CHECK(sec_length(good, STORAGE) == 32 + (good_storage == VW_STORAGE_I8 ? 4 * dim : 0));
    const unsigned char *st = good + sec_offset(good, STORAGE);
    CHECK(rd32(st) == (uint32_t)good_storage && rd32(st + 4) == good_flags);
    if (nsec == 7)
        CHECK(sec_length(good, FLOAT32) == count * dim * 4);

    expect((const unsigned char *)"hello, world\n", 13, VW_ERR_FORMAT, "magic", "text file");

    memcpy(f, good, good_len);
    wr32(f + 12, 6);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_VERSION, "version 6", "newer version");

    storage_fields(f);

    memcpy(f, good, good_len);
    wr32(f + 8, 0x0D0C0B0Au);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_UNSUPPORTED, "byte order", "other byte order");

    memcpy(f, good, good_len);
    wr32(f + 40, 1); /* M = 1 */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "header", "bad M");

    memcpy(f, good, good_len);
    wr64(f + 56, 0x100000000ULL); /* count far beyond the file */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "count", "huge count");

    memcpy(f, good, good_len);
    wr32(f + 32, 0xFFFFFFFFu); /* dim: sizes would overflow */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "header", "huge dim");

    memcpy(f, good, good_len);
    wr32(f + 68, (uint32_t)count); /* entry point out of range */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "entry", "entry out of range");

    size_t list = find_list(good, 0, M, &node);
    CHECK(list > 0);
    memcpy(f, good, good_len);
    wr32(f + list + 4, (uint32_t)count);
    expect_unverified(f, good_len, VW_ERR_CORRUPT, "links0", "neighbour id = count");
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "links0", "neighbour id = count, CRCs fixed");

    memcpy(f, good, good_len);
    wr32(f + list, 2 * M + 1);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "links0", "too many neighbours");

    memcpy(f, good, good_len);
    wr32(f + list + 4 * (2 * M), 1); /* last slot: unused unless the list is full */
    if (rd32(good + list) < 2 * M) {
        fix_crcs(f);
        expect(f, good_len, VW_ERR_CORRUPT, "unused slot", "stale id in an unused slot");
    }

    size_t ulist = find_list(good, 1, M, &node);
    CHECK(ulist > 0);
    const unsigned char *levels = good + sec_offset(good, LEVELS);
    uint32_t low = 0;
    while (low < count && levels[low] != 0)
        low++;
    memcpy(f, good, good_len);
    wr32(f + ulist + 4, low); /* a layer-0-only node on layer 1 */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "upper links", "neighbour below its layer");

    memcpy(f, good, good_len);
    f[sec_offset(f, LEVELS) + low] = (unsigned char)(rd32(good + 64) + 1); /* above max level */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "levels", "level above max level");

    memcpy(f, good, good_len);
    wr64(f + sec_offset(f, LABELS) + 8 * 5, rd64(good + sec_offset(good, LABELS) + 8 * 2));
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "label", "duplicate label");

    /* Padding between sections is outside every CRC: checked to be zero. */
    uint64_t levels_end = sec_offset(good, LEVELS) + sec_length(good, LEVELS);
    CHECK(levels_end % 64 != 0); /* the test index is sized to leave a gap here */
    memcpy(f, good, good_len);
    f[levels_end] = 1;
    expect(f, good_len, VW_ERR_CORRUPT, "padding", "nonzero padding");

    memcpy(f, good, good_len);
    f[good_len] = 0;
    expect(f, good_len + 1, VW_ERR_CORRUPT, "header says", "trailing byte");

    memcpy(f, good, good_len);
    f[sec_offset(f, VECTORS) + 3] ^= 0x40;
    expect(f, good_len, VW_ERR_CORRUPT, "vectors", "flipped vector bit");
    if (nsec == 7) {
        memcpy(f, good, good_len);
        f[sec_offset(f, FLOAT32) + 3] ^= 0x40;
        expect(f, good_len, VW_ERR_CORRUPT, "float32", "flipped float32 bit");
        memcpy(f, good, good_len);
        wr32(f + sec_offset(f, FLOAT32) + 4 * 5, 0x7fc00000u); /* a NaN */
        fix_crcs(f);
        /* read mode checks every float32 row, as it does float32 vectors */
        write_file(bad_path, f, good_len);
        vw_index *ix = NULL;
        CHECK_ST(vw_index_load(bad_path, VW_LOAD_DEFAULT, &ix), VW_ERR_CORRUPT);
        CHECK(ix == NULL && strstr(vw_last_error_detail(), "float32") != NULL);
    }
    free(f);
}

/* The storage section, each rule of FORMAT.md broken once (CRCs fixed). */
static void storage_fields(unsigned char *f) {
    const uint64_t so = sec_offset(good, STORAGE);
    static const struct {
        uint32_t at, value;
        const char *what;
    } bad[] = {{0, 3, "unknown kind"},
               {4, 6, "unknown flag"},
               {8, 2, "trained = 2"},
               {12, 1, "reserved word"},
               {20, 1, "second reserved word"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(f, good, good_len);
        wr32(f + so + bad[i].at, bad[i].value);
        fix_crcs(f);
        expect(f, good_len, VW_ERR_CORRUPT, "storage", bad[i].what);
    }
    memcpy(f, good, good_len);
    f[so + 5] ^= 1; /* storage CRC wrong: checked even with VW_LOAD_NO_VERIFY */
    load_all_modes(f, good_len, true, false, "storage section CRC");
    if (good_storage == VW_STORAGE_F32)
        return;
    memcpy(f, good, good_len);
    wr32(f + so + 4, good_flags ^ 1); /* the float32 section's presence contradicts the flag */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "float32 section", "float32 flag flipped");
    if (good_storage != VW_STORAGE_I8)
        return;
    memcpy(f, good, good_len);
    wr32(f + so + 8, 0); /* untrained codec, but elements present */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "storage", "untrained codec");
    memcpy(f, good, good_len);
    wr32(f + so + 16, 0xff800000u); /* step -Inf */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "step", "infinite step");
    memcpy(f, good, good_len);
    wr32(f + so + 16, 0x00000001u); /* step 1.4e-45: subnormal, no finite reciprocal */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "step", "subnormal step");
    memcpy(f, good, good_len);
    wr32(f + so + 32 + 4, 0x7f000000u); /* offset 1.7e38: decoded rows would overflow */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "storage", "huge offset");
}

/* A file of a later minor revision: one more section flagged optional is
 * verified and ignored; flagged required it needs a newer reader. */
static void extra_section(void) {
    const uint32_t nsec = rd32(good + 72), hs = rd32(good + 16);
    const uint32_t new_hs = (80 + 32 * (nsec + 1) + 63) / 64 * 64;
    const size_t extra = 100, shift = new_hs - hs;
    size_t extra_off = (good_len + shift + 63) / 64 * 64;
    size_t len = extra_off + extra;
    unsigned char *f = calloc(1, len);
    memcpy(f, good, hs);
    memcpy(f + new_hs, good + hs, good_len - hs);
    wr32(f + 16, new_hs);
    wr64(f + 24, len);
    wr32(f + 72, nsec + 1);
    for (uint32_t s = 0; s < nsec; s++)
        wr64(f + 80 + 32 * s + 8, sec_offset(good, (int)s) + shift);
    unsigned char *e = f + 80 + 32 * nsec;
    wr32(e, 77);
    wr32(e + 4, 1); /* optional */
    wr64(e + 8, extra_off);
    wr64(e + 16, extra);
    for (size_t i = 0; i < extra; i++)
        f[extra_off + i] = (unsigned char)(i * 7);
    fix_crcs(f);
    expect(f, len, VW_OK, NULL, "optional extra section");

    f[extra_off + 5] ^= 1;
    fix_crcs(f);
    f[extra_off + 5] ^= 1; /* now the extra section's CRC is wrong */
    expect(f, len, VW_ERR_CORRUPT, "optional", "optional section with a bad CRC");

    wr32(e + 4, 0); /* required: an older reader must refuse */
    fix_crcs(f);
    expect(f, len, VW_ERR_VERSION, "section type 77", "required extra section");
    free(f);
}

/* Above 8 chunks of 16384 nodes the layer-0 lists are checked on several
 * threads; the error must still name the first bad node, whichever thread
 * finds which. Nodes of dim 2 and M = 2 keep the file small. */
static void large_file(void) {
    enum { BIG = 140000 };
    vw_params p;
    vw_params_default(&p, 2);
    p.M = 2;
    p.ef_construction = 8;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = tu_gaussian(BIG, 2, 5);
    uint64_t *labels = tu_iota(BIG);
    CHECK_OK(vw_index_add_batch(ix, x, labels, BIG, 2, NULL, NULL));
    CHECK_OK(vw_index_save(ix, out_path));
    vw_index_free(ix);
    free(x);
    free(labels);
    size_t len = 0;
    unsigned char *f = tu_slurp(out_path, &len);
    CHECK(f && len > 256 && rd64(f + 56) == BIG);
    if (!f || len <= 256 || rd64(f + 56) != BIG) {
        free(f);
        return;
    }
    expect_unverified(f, len, VW_OK, NULL, "large intact file");
    const uint64_t row = (1 + 2 * 2) * 4, links0 = sec_offset(f, LINKS0);
    /* damage late first, then earlier: the earlier node must be reported */
    const uint32_t nodes[] = {BIG - 1, 131000, 70000, 16384, 3};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        wr32(f + links0 + nodes[i] * row + 4, BIG + 7); /* first neighbour out of range */
        char want[64], what[64];
        snprintf(want, sizeof want, "node %u layer 0 neighbour id %u", nodes[i], BIG + 7);
        snprintf(what, sizeof what, "large file, bad list at node %u", nodes[i]);
        expect_unverified(f, len, VW_ERR_CORRUPT, want, what);
    }
    free(f);
    unlink(out_path);
}

/* ------------------------------------------------------------------ version 3 */

/* The first slot of the version-3 file in the given state. */
static uint32_t slot_in_state(const unsigned char *f, unsigned state) {
    const unsigned char *st = f + sec_offset(f, states_sec(f));
    for (uint32_t i = 0; i < rd64(f + 56); i++)
        if (st[i] == state)
            return i;
    return UINT32_MAX;
}

/* Each rule the node states add (FORMAT.md, version 3). */
static void crafted_states(void) {
    unsigned char *f = malloc(good_len);
    const uint32_t M = rd32(good + 40), row = (1 + 2 * M) * 4;
    const uint64_t count = rd64(good + 56);
    const int STATES = states_sec(good);
    const uint32_t nsec = good_storage != VW_STORAGE_F32 && !good_flags ? 8 : 7;
    CHECK(rd32(good + 12) == 3 && rd32(good + 16) == (nsec == 8 ? 384 : 320) &&
          rd32(good + 72) == nsec);
    CHECK(rd32(good + 80 + 32 * STATES) == 8 && sec_length(good, STATES) == count);
    uint32_t freed = slot_in_state(good, 2), removed = slot_in_state(good, 1), node = 0;
    uint32_t live = slot_in_state(good, 0);
    CHECK(freed != UINT32_MAX && removed != UINT32_MAX && live != UINT32_MAX);
    if (freed == UINT32_MAX || removed == UINT32_MAX || live == UINT32_MAX) {
        free(f);
        return;
    }
    memcpy(f, good, good_len);
    f[sec_offset(f, STATES) + live] = 3;
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "has state 3", "unknown node state");

    memcpy(f, good, good_len);
    f[sec_offset(f, LEVELS) + freed] = 1;
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "free slot", "free slot on level 1");

    memcpy(f, good, good_len);
    wr32(f + sec_offset(f, LINKS0) + freed * row, 1);
    wr32(f + sec_offset(f, LINKS0) + freed * row + 4, live);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "free slot", "free slot with a neighbour");

    size_t list = find_list(good, 0, M, &node);
    while (list && good[sec_offset(good, STATES) + node] == 2)
        list += row, node++; /* a list that is in use */
    memcpy(f, good, good_len);
    wr32(f + list + 4, freed);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "is a free slot", "list naming a free slot");

    memcpy(f, good, good_len);
    wr32(f + 68, freed);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "free slot", "entry point on a free slot");

    memcpy(f, good, good_len);
    wr64(f + sec_offset(f, LABELS) + 8 * freed, 5);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "free slot", "free slot with a label");

    /* a removed node may hold the label of a live one (an upsert's old node) */
    memcpy(f, good, good_len);
    wr64(f + sec_offset(f, LABELS) + 8 * removed, rd64(good + sec_offset(good, LABELS) + 8 * live));
    fix_crcs(f);
    expect(f, good_len, VW_OK, NULL, "removed node sharing a live label");

    memcpy(f, good, good_len);
    wr32(f + 12, 2); /* the states section is then an unknown required one */
    fix_crcs(f);
    expect(f, good_len, VW_ERR_VERSION, "section type 8", "version 2 with node states");
    free(f);
}

/* Each rule version 4 adds (FORMAT.md): packed layer-0 lists, and for i8
 * without float32 the residual section, listed before the node states. */
static void crafted_packed(void) {
    unsigned char *f = malloc(good_len);
    const uint32_t M = rd32(good + 40);
    const uint64_t count = rd64(good + 56);
    const bool resid = good_flags & VW_PARAMS_RESIDUAL;
    const uint64_t lo = sec_offset(good, LINKS0), len = sec_length(good, LINKS0);
    CHECK(rd32(good + 12) == 4 && rd32(good + 80 + 32 * LINKS0 + 4) == 2); /* the packed flag */
    CHECK(len >= 4 * count && len < count * (1 + 2 * M) * 4 && len % 4 == 0);
    uint64_t at = lo, last = lo, nonempty = 0;
    for (uint64_t i = 0; i < count && at < lo + len; i++) {
        uint32_t c = rd32(good + at);
        if (c && !nonempty)
            nonempty = at;
        last = at;
        at += 4 * (1 + (uint64_t)c);
    }
    CHECK(at == lo + len && nonempty != 0 && rd32(good + last) > 0);
    if (at != lo + len || !nonempty || !rd32(good + last)) {
        free(f);
        return;
    }
    memcpy(f, good, good_len);
    wr32(f + nonempty, 2 * M + 1);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "neighbours, max", "packed list longer than 2M");

    memcpy(f, good, good_len); /* the last list one id short: a word is left over */
    wr32(f + last, rd32(good + last) - 1);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "run past", "packed lists longer than the nodes");

    memcpy(f, good, good_len); /* ... one id long: the section ends inside it */
    wr32(f + last, rd32(good + last) + 1);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "end inside", "packed lists shorter than the nodes");

    memcpy(f, good, good_len);
    wr32(f + nonempty + 4, (uint32_t)count);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "neighbour id", "packed neighbour beyond the count");

    memcpy(f, good, good_len); /* without the flag the length is that of fixed lists */
    wr32(f + 80 + 32 * LINKS0 + 4, 0);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "section links0: length", "packed flag cleared");

    memcpy(f, good, good_len); /* a version-3 reader knows no packed flag */
    wr32(f + 12, 3);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_CORRUPT, "links0 section", "packed lists in version 3");

    memcpy(f, good, good_len);
    wr32(f + 12, 6);
    fix_crcs(f);
    expect(f, good_len, VW_ERR_VERSION, "version 6", "version 6");
    if (resid) {
        const uint64_t so = sec_offset(good, STORAGE);
        memcpy(f, good, good_len);
        wr32(f + so + 4, VW_PARAMS_NO_FLOAT32); /* residual section without the flag */
        fix_crcs(f);
        expect(f, good_len, VW_ERR_CORRUPT, "residual section", "residual flag cleared");
        memcpy(f, good, good_len);
        wr32(f + so + 4, VW_PARAMS_RESIDUAL); /* a residual needs i8 without float32 */
        fix_crcs(f);
        expect(f, good_len, VW_ERR_CORRUPT, "storage", "residual with float32");
    }
    /* loading and saving reproduces the file: vw_index_save keeps the layout */
    vw_index *ix = NULL;
    CHECK_OK(vw_index_load(good_path, VW_LOAD_DEFAULT, &ix));
    if (ix) {
        CHECK_OK(vw_index_save(ix, out_path));
        size_t n = 0;
        unsigned char *again = tu_slurp(out_path, &n);
        CHECK(again && n == good_len && memcmp(again, good, n) == 0);
        free(again);
        CHECK_OK(vw_index_save_ex(ix, out_path, VW_SAVE_DEFAULT)); /* fixed lists again */
        again = tu_slurp(out_path, &n);
        CHECK(again && n > good_len && rd32(again + 80 + 32 * LINKS0 + 4) == 0);
        CHECK(again &&
              (resid ? rd32(again + 12) == 4 : rd32(again + 12) < 4)); /* the oldest that fits */
        free(again);
        CHECK_ST(vw_index_save_ex(ix, out_path, 1u << 4), VW_ERR_INVALID_ARG);
    }
    vw_index_free(ix);
    free(f);
}

/* A packed file so small that its last list lies within 2M ids of the end:
 * a mapped load unpacks the lists instead of using them in place. */
static void tiny_packed(void) {
    vw_params p;
    vw_params_default(&p, 4);
    p.M = 64;
    good_storage = VW_STORAGE_F32;
    good_flags = 0;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = tu_gaussian(3, 4, 5);
    CHECK_OK(vw_index_add_batch(ix, x, NULL, 3, 1, NULL, NULL));
    CHECK_OK(vw_index_save_ex(ix, good_path, VW_SAVE_PACK_LINKS));
    vw_index_free(ix);
    free(x);
    free(good);
    good = tu_slurp(good_path, &good_len);
    CHECK(good && rd32(good + 80 + 32 * LINKS0 + 4) == 2 &&
          sec_offset(good, LINKS0) + sec_length(good, LINKS0) + 4 * 129 > good_len);
    if (!good)
        return;
    expect(good, good_len, VW_OK, NULL, "tiny packed file");
    every_truncation();
    random_damage(FLIPS / 4, OVERWRITES / 4);
}

/* A float32 row no insert would accept, behind valid checksums, in the
 * vectors of an f32 index or the float32 section of a compact one:
 * refused in every mode that reads the rows (checksummed loads), mapped or
 * not. */
static void nonfinite_rows(int sec, const char *want) {
    const float bad[] = {NAN, INFINITY, -INFINITY, 3e38f};
    const uint32_t dim = rd32(good + 32);
    unsigned char *f = malloc(good_len);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(f, good, good_len);
        memcpy(f + sec_offset(good, sec) + (5 * dim + 2) * sizeof(float), &bad[i], sizeof bad[i]);
        fix_crcs(f);
        char what[64];
        snprintf(what, sizeof what, "%s component %g, CRCs fixed", want, (double)bad[i]);
        expect(f, good_len, VW_ERR_CORRUPT, want, what);
    }
    free(f);
}

/* Rewrites the mapped file in place under a loaded index (which the API
 * forbids, and a user may still do): ids far out of range, lists longer
 * than their slots, every node on the top level, NaN vectors. Searches must
 * stay inside the arrays (ASan checks) and the index must free cleanly. */
static void changed_under_mapping(void) {
    static const uint32_t fills[] = {0xFFFFFFFFu, 0x7FFFFFFFu, 37, 1};
    for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++) {
        write_file(bad_path, good, good_len);
        vw_index *ix = NULL;
        CHECK_OK(vw_index_load(bad_path, VW_LOAD_MMAP, &ix));
        if (!ix)
            continue;
        unsigned char *f = malloc(good_len);
        memcpy(f, good, good_len);
        for (size_t off = sec_offset(good, VECTORS); off + 4 <= good_len; off += 4)
            wr32(f + off, off < sec_offset(good, LEVELS) ? 0x7FC00000u : fills[i]);
        memset(f + sec_offset(good, LEVELS), 64, sec_length(good, LEVELS));
        int fd = open(bad_path, O_WRONLY);
        CHECK(fd >= 0 && pwrite(fd, f, good_len, 0) == (ssize_t)good_len);
        close(fd);
        float q[4] = {0.5f, -0.5f, 0.5f, 0.5f};
        uint64_t l[40];
        float d[40];
        uint32_t found;
        vw_status st = vw_index_search(ix, q, 40, 64, NULL, NULL, l, d, &found);
        CHECK(st == VW_OK && found <= 37);
        float v[4];
        vw_index_get_vector(ix, 1000, v);
        vw_index_free(ix);
        free(f);
    }
}

/* Paths that are not regular files are refused at once: opening a FIFO
 * must not wait for a writer. */
static void special_paths(void) {
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.vwi", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    alarm(60); /* a hang fails the test instead of stalling ctest */
    for (size_t m = 0; m < NMODES; m++) {
        vw_index *ix = NULL;
        CHECK_ST(vw_index_load(fifo, modes[m], &ix), VW_ERR_INVALID_ARG);
        CHECK(ix == NULL && strstr(vw_last_error_detail(), "FIFO") != NULL);
        CHECK_ST(vw_index_load(dir, modes[m], &ix), VW_ERR_INVALID_ARG);
        CHECK(strstr(vw_last_error_detail(), "directory") != NULL);
        CHECK_ST(vw_index_load("/dev/zero", modes[m], &ix), VW_ERR_INVALID_ARG);
        CHECK(strstr(vw_last_error_detail(), "character device") != NULL);
    }
    alarm(0);
    unlink(fifo);
}

static void bad_calls(void) {
    vw_index *ix = (vw_index *)&ix; /* must be reset to NULL on failure */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-file", dir);
    CHECK_ST(vw_index_load(missing, 0, &ix), VW_ERR_NOT_FOUND);
    CHECK(ix == NULL);
    CHECK_ST(vw_index_load(dir, 0, &ix), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_load(good_path, 1u << 7, &ix), VW_ERR_INVALID_ARG);
    CHECK_ST(vw_index_load(NULL, 0, &ix), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_load(good_path, 0, NULL), VW_ERR_NULL_ARG);
    CHECK_ST(vw_index_save(NULL, bad_path), VW_ERR_NULL_ARG);
}

/* dim 4 (16-byte rows: vectors end on a boundary), M = 4 (several layers);
 * 37 nodes (a levels section of 37 bytes leaves a padding gap), or, with
 * n = 61, 20 of them purged into free slots and 10 more removed but still
 * linked (a version-3 file). */
static void make_good_file_as(vw_storage storage, uint32_t flags, int n, unsigned save_flags) {
    vw_params p;
    vw_params_default(&p, 4);
    p.storage = good_storage = storage;
    p.flags = good_flags = flags;
    p.M = 4;
    p.ef_construction = 16;
    p.seed = n == 37 ? 7 : 9;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = tu_gaussian((uint64_t)n, 4, n == 37 ? 11 : 12);
    uint64_t labels[61];
    for (int i = 0; i < n; i++)
        labels[i] = n == 37 ? 1000 + 3 * (uint64_t)i : 7 * (uint64_t)i + 1;
    CHECK_OK(vw_index_add_batch(ix, x, labels, (uint64_t)n, 1, NULL, NULL));
    for (int i = 0; n == 61 && i < 30; i++) {
        CHECK_OK(vw_index_remove(ix, labels[2 * i]));
        if (i == 19)
            CHECK_OK(vw_index_purge(ix)); /* 20 free slots, then 10 removed nodes */
    }
    CHECK_OK(vw_index_save_ex(ix, good_path, save_flags));
    vw_index_free(ix);
    free(x);
    free(good);
    good = tu_slurp(good_path, &good_len);
    CHECK(good != NULL && good_len > 256);
}

static void make_good_file(vw_storage storage, uint32_t flags, int n) {
    make_good_file_as(storage, flags, n, VW_SAVE_DEFAULT);
}

int main(void) {
    /* tmpfs when there is one: the saves fsync, and tests need no disk */
    snprintf(dir, sizeof dir, "%s/vw_persist_bad_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(good_path, sizeof good_path, "%s/good.vwi", dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.vwi", dir);
    snprintf(out_path, sizeof out_path, "%s/out.vwi", dir);
    static const struct {
        vw_storage storage;
        uint32_t flags;
    } kinds[] = {{VW_STORAGE_F32, 0},
                 {VW_STORAGE_F16, 0},
                 {VW_STORAGE_I8, 0},
                 {VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && check_failures == 0; k++) {
        printf("storage %s%s\n", vw_storage_name(kinds[k].storage),
               kinds[k].flags ? " without float32" : "");
        make_good_file(kinds[k].storage, kinds[k].flags, 37);
        if (check_failures == 0) {
            expect(good, good_len, VW_OK, NULL, "intact file");
            every_truncation();
            crafted();
            extra_section();
            random_damage(FLIPS, OVERWRITES);
            if (kinds[k].storage != VW_STORAGE_F32 && !kinds[k].flags)
                nonfinite_rows(FLOAT32, "float32: row 5");
        }
        free(good);
        good = NULL;
    }
    /* the cases below damage or rewrite float32 vectors */
    if (check_failures == 0)
        make_good_file(VW_STORAGE_F32, 0, 37);
    if (check_failures == 0) {
        large_file();
        nonfinite_rows(VECTORS, "vectors: row 5");
        changed_under_mapping();
        special_paths();
        bad_calls();
    }
    /* version 3: an f32 index, and an i8 one whose float32 section comes
     * before the node states */
    for (int k = 0; k < 2 && check_failures == 0; k++) {
        make_good_file(k ? VW_STORAGE_I8 : VW_STORAGE_F32, 0, 61);
        if (check_failures == 0) {
            expect(good, good_len, VW_OK, NULL, "intact version-3 file");
            every_truncation();
            crafted_states();
            random_damage(FLIPS / 2, OVERWRITES / 2);
        }
    }
    /* version 4: packed lists, with and without removals, and a residual */
    static const struct {
        vw_storage storage;
        uint32_t flags;
        int n;
    } v4[] = {{VW_STORAGE_F32, 0, 37},
              {VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL, 37},
              {VW_STORAGE_I8, VW_PARAMS_NO_FLOAT32 | VW_PARAMS_RESIDUAL, 61}};
    for (size_t k = 0; k < sizeof v4 / sizeof v4[0] && check_failures == 0; k++) {
        printf("version 4: %s%s, %d slots\n", vw_storage_name(v4[k].storage),
               v4[k].flags ? " with a residual" : "", v4[k].n);
        make_good_file_as(v4[k].storage, v4[k].flags, v4[k].n, VW_SAVE_PACK_LINKS);
        if (check_failures == 0) {
            expect(good, good_len, VW_OK, NULL, "intact version-4 file");
            every_truncation();
            crafted_packed();
            extra_section();
            random_damage(FLIPS / 2, OVERWRITES / 2);
        }
    }
    if (check_failures == 0)
        tiny_packed();
    free(good);
    unlink(good_path);
    unlink(bad_path);
    unlink(out_path);
    rmdir(dir);
    return tu_result("test_persist_corrupt");
}
