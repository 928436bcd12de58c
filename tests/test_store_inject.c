/* Fault injection over the durable store's file I/O, the way SQLite's test
 * VFS does it: a script of writes and snapshots (from creating the store
 * on) is run once to count its I/O calls (writes, syncs, truncations,
 * renames: lib/fileio.c's hook sees all of them), then once per call N and
 * per way of failing:
 *   - fail: call N fails (EIO; ENOSPC for a write);
 *   - short: write N writes half its bytes, and the next write fails with
 *     ENOSPC (a disk that fills up in the middle of a write);
 *   - full: every write, sync and truncation from call N on fails (a disk
 *     that stays full).
 * After each run:
 *   - every call got an error or succeeded, and once the store reports
 *     `failed` it refuses every later write;
 *   - the open store holds exactly the acknowledged writes;
 *   - reopened without faults, it holds every acknowledged write, and each
 *     write that got an error is there whole or not at all (never half of a
 *     batch), and a write acknowledged after it wins;
 *   - each label's attributes are those of the write that gave it its
 *     vector (upserts of odd versions carry {"v": version}, the others
 *     none): one record, never one without the other.
 * The number of injection points is printed. */
#include "fileio.h"
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIM     8
#define INITIAL 20

static char root[64], initial[128];
static int run_no;

static void vec_for(uint64_t label, int64_t version, float *v) {
    tu_rng r;
    tu_seed(&r, label * 1000003 + (uint64_t)version);
    for (int i = 0; i < DIM; i++)
        v[i] = (float)tu_normal(&r);
}

/* ------------------------------------------------------------------ the hook */

typedef enum mode { COUNT, FAIL, SHORT, FULL } mode;

static mode how;
static long calls, target; /* calls seen; the call to fail (1-based) */
static int short_pending;
static vw_io_op kinds[4096]; /* of each call, seen in the counting run */

static int hook(vw_io_op op) {
    long n = ++calls;
    if (how == COUNT && n < 4096)
        kinds[n] = op;
    switch (how) {
    case FAIL:
        return n == target ? (op == VW_IO_WRITE ? ENOSPC : EIO) : 0;
    case SHORT:
        if (op == VW_IO_WRITE && short_pending) {
            short_pending = 0;
            return ENOSPC;
        }
        if (n == target && op == VW_IO_WRITE) {
            short_pending = 1;
            return -1;
        }
        return 0;
    case FULL:
        return n >= target && op != VW_IO_RENAME ? ENOSPC : 0;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ the script */

#define LABELS 8
typedef struct op {
    char kind; /* 'u' upsert, 'r' remove, 's' snapshot */
    int n;
    uint64_t labels[3];
} op;

static const op script[] = {
    {'u', 3, {100, 101, 102}}, {'r', 1, {5}},         {'s', 0, {0}}, {'u', 1, {103}},
    {'u', 2, {100, 104}},      {'r', 1, {101}},       {'s', 0, {0}}, {'u', 1, {105}},
    {'r', 1, {103}},           {'u', 3, {6, 7, 106}},
};
#define OPS ((int)(sizeof script / sizeof *script))

/* Labels the script touches, and what each holds: a version (the op's
 * number + 1), 0 for the initial vector, -1 for absent. */
static const uint64_t touched[] = {5, 6, 7, 100, 101, 102, 103, 104, 105, 106};
#define TOUCHED ((int)(sizeof touched / sizeof *touched))

typedef struct model {
    int64_t acked[TOUCHED];
    int last_acked[TOUCHED]; /* op that set it, -1 for the initial state */
    bool failed_op[OPS];
} model;

static int slot(uint64_t label) {
    for (int i = 0; i < TOUCHED; i++)
        if (touched[i] == label)
            return i;
    return -1;
}

static int64_t effect(int k) {
    return script[k].kind == 'u' ? k + 1 : -1;
}

/* The attributes written with version `version` (NULL: none). */
static const char *attrs_for(int64_t version, char *buf, size_t cap) {
    if (version % 2 == 0)
        return NULL;
    snprintf(buf, cap, "{\"v\":%lld}", (long long)version);
    return buf;
}

static vw_status run_op(vw_store *s, int k) {
    const op *o = &script[k];
    if (o->kind == 's')
        return vw_store_snapshot(s);
    if (o->kind == 'r')
        return vw_store_remove(s, o->labels[0]);
    float v[3 * DIM];
    char buf[32];
    const char *texts[3];
    for (int i = 0; i < o->n; i++) {
        vec_for(o->labels[i], k + 1, v + i * DIM);
        texts[i] = attrs_for(k + 1, buf, sizeof buf); /* the same text for the batch */
    }
    return vw_store_upsert_with_attributes(s, v, o->labels, (uint64_t)o->n, texts, NULL);
}

/* Whether label slot i has the attributes of version `version`. */
static bool attrs_match(vw_store *s, int i, int64_t version) {
    char got[64], buf[32];
    size_t len;
    const char *want = attrs_for(version, buf, sizeof buf);
    return vw_index_get_attributes(vw_store_index(s), touched[i], got, sizeof got, &len) == VW_OK &&
           strcmp(got, want ? want : "") == 0;
}

/* What label slot i holds in s: a version of the script, 0, or -1. */
static int64_t holds(vw_store *s, int i) {
    float got[DIM], want[DIM];
    if (vw_index_get_vector(vw_store_index(s), touched[i], got) != VW_OK)
        return -1;
    for (int k = OPS - 1; k >= -1; k--) {
        vec_for(touched[i], k + 1, want);
        if (memcmp(got, want, sizeof got) == 0)
            return attrs_match(s, i, k + 1) ? k + 1 : -3; /* -3: another write's attributes */
    }
    return -2; /* a vector no write ever gave it */
}

/* Runs the script against a new store; returns the store (NULL if it could
 * not be opened) and fills the model. */
static vw_store *run_script(const char *dir, model *m) {
    for (int i = 0; i < TOUCHED; i++) {
        m->acked[i] = touched[i] < INITIAL ? 0 : -1;
        m->last_acked[i] = -1;
    }
    memset(m->failed_op, 0, sizeof m->failed_op);
    vw_store *s = NULL;
    if (vw_store_open(dir, initial, &s) != VW_OK)
        return NULL;
    bool stopped = false;
    for (int k = 0; k < OPS; k++) {
        vw_status st = run_op(s, k);
        CHECK(!stopped || st != VW_OK || script[k].kind == 's'); /* a failed store takes no write */
        if (st == VW_ERR_NOT_FOUND && script[k].kind == 'r')
            st = VW_OK; /* an acknowledged removal of an absent label */
        vw_store_stats stats;
        CHECK_OK(vw_store_get_stats(s, &stats));
        stopped = stopped || stats.failed;
        if (st != VW_OK) {
            m->failed_op[k] = script[k].kind != 's';
            continue;
        }
        for (int i = 0; i < script[k].n; i++) {
            int j = slot(script[k].labels[i]);
            m->acked[j] = effect(k);
            m->last_acked[j] = k;
        }
    }
    return s;
}

/* In the open store: exactly the acknowledged writes. */
static void check_live(vw_store *s, const model *m) {
    for (int i = 0; i < TOUCHED; i++)
        CHECK(holds(s, i) == m->acked[i]);
}

/* Reopened: every acknowledged write, each failed write whole or not at
 * all, unless an acknowledged write after it replaced it. */
static void check_reopened(vw_store *s, const model *m) {
    for (int i = 0; i < TOUCHED; i++) {
        int64_t h = holds(s, i);
        bool ok = h == m->acked[i];
        for (int k = m->last_acked[i] + 1; k < OPS && !ok; k++)
            if (m->failed_op[k] && h == effect(k))
                for (int l = 0; l < script[k].n; l++)
                    ok = ok || script[k].labels[l] == touched[i];
        CHECK(ok);
    }
    for (int k = 0; k < OPS; k++) {
        if (!m->failed_op[k] || script[k].n < 2)
            continue;
        int there = 0, counted = 0;
        for (int l = 0; l < script[k].n; l++) {
            int j = slot(script[k].labels[l]);
            if (m->last_acked[j] > k)
                continue;
            counted++;
            there += holds(s, j) == effect(k);
        }
        CHECK(there == 0 || there == counted); /* never half a batch */
    }
}

static long one_run(mode mo, long n) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/r%d", root, run_no++);
    how = mo;
    target = n;
    calls = 0;
    short_pending = 0;
    vw_io_fault_hook = hook;
    model m;
    vw_store *s = run_script(dir, &m);
    vw_io_fault_hook = NULL;
    long seen = calls;
    if (s)
        check_live(s, &m);
    vw_store_close(s);
    vw_store *again = NULL;
    CHECK_OK(vw_store_open(dir, initial, &again));
    if (!again)
        fprintf(stderr, "  after mode %d call %ld\n", (int)mo, n);
    if (again && s)
        check_reopened(again, &m);
    if (again && !s) /* the first open failed: nothing was acknowledged */
        for (int i = 0; i < TOUCHED; i++)
            CHECK(holds(again, i) == (touched[i] < INITIAL ? 0 : -1));
    vw_store_close(again);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return seen;
}

static void make_initial(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    for (uint64_t l = 0; l < INITIAL; l++) {
        float v[DIM];
        vec_for(l, 0, v);
        CHECK_OK(vw_index_add(ix, v, l));
    }
    CHECK_OK(vw_index_save(ix, initial));
    vw_index_free(ix);
}

int main(void) {
    if (tu_tempdir(root, "vw_store_inject") != 0)
        return 1;
    snprintf(initial, sizeof initial, "%s/initial.vwi", root);
    make_initial();
    long total = one_run(COUNT, 0);
    if (getenv("VW_INJECT_TRACE"))
        for (long n = 1; n <= total; n++)
            fprintf(stderr, "%ld:%d ", n, (int)kinds[n]);
    CHECK(total > 20 && total < 4096);
    long points = 0;
    for (long n = 1; n <= total; n++) {
        one_run(FAIL, n);
        one_run(FULL, n);
        points += 2;
    }
    for (long n = 1; n <= total; n++)
        if (kinds[n] == VW_IO_WRITE) {
            one_run(SHORT, n);
            points++;
        }
    printf("%ld I/O calls in the script; %ld injection points (fail, full disk, short write at "
           "each)\n",
           total, points);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return tu_result("test_store_inject");
}
