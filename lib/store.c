/* store.c - a durable index: a snapshot plus a write log in a directory.
 *
 *   DIR/index.vwi   the last snapshot, an ordinary index file (vw_index_save)
 *   DIR/wal.log     every write acknowledged since that snapshot (wal.c)
 *   DIR/LOCK        held (flock) while a process has the store open
 *
 * A write is validated, appended to the log and synced, then applied to
 * the index, and only then does the call return: acknowledged means on
 * disk, and visible to searches means acknowledged. Writers that arrive
 * while a sync is under way queue up; when it ends, the first of them
 * commits the whole queue with one write and one sync (group commit, the
 * way LevelDB's writer queue does it), so N concurrent writers cost about
 * one sync per round instead of N. Records are applied in log order, which
 * is the order recovery replays them in.
 *
 * A snapshot saves the index atomically (temporary file, fsync, rename)
 * and then empties the log. Writes wait meanwhile; searches do not. A crash
 * between the rename and the truncation replays the old log over the new
 * snapshot, which is harmless: every record sets or deletes whole labels,
 * so replaying writes the index already holds changes nothing.
 *
 * Opening replays the log over the snapshot; a torn tail (a group the crash
 * interrupted, never acknowledged) is cut off whole. A write is checked
 * against the index before it is logged, so a logged write can be applied;
 * if it still cannot be (out of memory), the index and the log disagree:
 * the store refuses further writes until it is reopened, which replays the
 * log again.
 *
 * The directory describes itself: the snapshot carries the store's id and
 * the number of the last write it holds, the log's header the id and the
 * number of its first record. So a log of another store, a snapshot older
 * than its log, a lost snapshot under a log and a lost log beside a
 * snapshot are each refused with what is missing and how to recover,
 * never papered over by re-seeding from the initial index (FORMAT.md, "What
 * a reader does"). */
#include "attrs.h"
#include "fileio.h"
#include "vw_internal.h"
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One caller's write, queued until a leader commits it. */
typedef struct request {
    vw_wal_record rec;
    vw_status result;
    char detail[200];
    bool done;
    struct request *next;
} request;

struct vw_store {
    vw_index *ix;
    vw_wal wal;
    char *snap_path;
    int lock_fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head, *tail; /* waiting writes, oldest first */
    bool busy;            /* a commit or a snapshot is under way */
    bool snapshot_wanted; /* a snapshot waits: no new commit starts */
    vw_status failed;     /* sticky: writes are refused */
    char failed_detail[200];
    vw_store_stats stats;              /* under mu */
    char skipped_detail[200];          /* why the first skipped record was skipped */
    unsigned char id[VW_WAL_ID_BYTES]; /* the store's id, in its snapshot and its log */
    uint64_t covered;                  /* replay: the last write the snapshot holds */
    bool skip_covered;                 /* replay: records up to `covered` are in it */
    bool upgrading;                    /* opening a store of version 0.2.0 */
    char *dir, *log_path;
};

#define MAX_GROUP_BYTES   ((uint64_t)64 << 20) /* one commit writes at most this much */
#define MAX_GROUP_RECORDS 64                   /* ... and at most this many records */

/* ------------------------------------------------------------------ applying */

/* An upsert replaces its elements' attributes, the way a point upsert
 * does in Qdrant: with the record's texts (type 3), or with none (type 1,
 * which clears them). Only the type-1 records of logs written before the
 * store carried attributes keep them (the meaning they had then). Applied
 * after the vectors, so a search in between may see a new vector with its
 * old attributes for a moment; the call returns after both. */
static vw_status apply_attrs(vw_index *ix, const vw_wal_record *r, bool keeps) {
    if (keeps || (r->type == VW_WAL_UPSERT && !ix->attrs))
        return VW_OK; /* nothing to clear: no element has attributes */
    for (uint64_t i = 0; i < r->count; i++) {
        uint32_t n = r->type == VW_WAL_UPSERT_ATTRS ? r->attr_lens[i] : 0;
        vw_status st = vw_index_set_attributes(ix, r->labels[i], n ? r->attrs[i] : NULL, n);
        if (st != VW_OK)
            return st;
    }
    return VW_OK;
}

/* Applies one record to the index. A removal of an absent label is not an
 * error in the log (it is reported to the caller who asked for it). */
static vw_status apply_record(vw_index *ix, const vw_wal_record *r, bool replaying, bool keeps) {
    if (r->type != VW_WAL_REMOVE) {
        unsigned threads = replaying || r->count >= 4096 ? 0 : 1;
        vw_status st =
            vw_index_upsert_batch(ix, r->vectors, r->labels, r->count, threads, NULL, NULL);
        return st == VW_OK ? apply_attrs(ix, r, keeps) : st;
    }
    vw_status st = vw_index_remove(ix, r->labels[0]);
    return st == VW_ERR_NOT_FOUND && replaying ? VW_OK : st;
}

static vw_status check_upsert(const vw_store *s, const vw_wal_record *r);

/* A type-3 record read back as one to apply: the texts' addresses. */
static vw_status record_of(const vw_record_view *v, vw_wal_record *r, const char ***texts) {
    *r = (vw_wal_record){v->type, v->count, v->labels, v->vectors, NULL, v->attr_lens, 0};
    *texts = NULL;
    if (v->type != VW_WAL_UPSERT_ATTRS)
        return VW_OK;
    *texts = malloc(v->count * sizeof **texts);
    if (!*texts)
        return vw_fail(VW_ERR_NOMEM, "write log record %llu", (unsigned long long)v->seq);
    const char *t = v->attr_text;
    for (uint32_t i = 0; i < v->count; t += v->attr_lens[i++])
        (*texts)[i] = t;
    r->attrs = *texts;
    return VW_OK;
}

/* A record the index cannot take was refused to its client: versions before
 * the store validated ahead of the log wrote it anyway, then failed to apply
 * it. Replay skips it, so the acknowledged records around it stay
 * reachable, and counts it (vw_store_stats.skipped_records). */
static vw_status replay_one(void *ctx, const vw_record_view *v) {
    vw_store *s = ctx;
    if (s->skip_covered && v->seq <= s->covered)
        return VW_OK; /* a crash came between the snapshot and emptying the log */
    vw_wal_record r;
    const char **texts;
    vw_status st = record_of(v, &r, &texts);
    if (st != VW_OK)
        return st;
    if (r.type != VW_WAL_REMOVE && check_upsert(s, &r) != VW_OK) {
        if (s->stats.skipped_records++ == 0)
            snprintf(s->skipped_detail, sizeof s->skipped_detail, "write log record %llu: %s",
                     (unsigned long long)v->seq, vw_last_error_detail());
        free(texts);
        return VW_OK;
    }
    st = apply_record(s->ix, &r, true, v->keeps_attrs);
    free(texts);
    if (st == VW_OK)
        return VW_OK;
    char why[160];
    snprintf(why, sizeof why, "%s", vw_last_error_detail());
    return vw_fail(st == VW_ERR_NOMEM ? st : VW_ERR_CORRUPT, "write log record %llu: %s",
                   (unsigned long long)v->seq, why);
}

/* ------------------------------------------------------------------ opening */

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* One process at a time: a second server on the same directory would
 * interleave two logs in one file. */
static vw_status lock_dir(vw_store *s, const char *dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return vw_fail_errno(errno == ENOENT ? VW_ERR_NOT_FOUND : VW_ERR_IO, "create", dir);
    char *path = join(dir, "LOCK");
    if (!path)
        return vw_fail(VW_ERR_NOMEM, "path");
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    vw_status st = VW_OK;
    if (s->lock_fd < 0)
        st = vw_fail_errno(VW_ERR_IO, "open", path);
    else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
        st = errno == EWOULDBLOCK ? vw_fail(VW_ERR_IO, "%s is in use by another process", dir)
                                  : vw_fail_errno(VW_ERR_IO, "lock", path);
    free(path);
    return st;
}

/* ------------------------------------------------------------------ binding */

/* The snapshot carries the store's id and the number of the last write it
 * holds (the index's store tag: 16 bytes id, 8 bytes number, 8 zero); the
 * log's header carries the id and the number of its first record. */
#define TAG_FLAGS    24 /* u32 in the tag */
#define TAG_UPGRADED 1u /* the first snapshot of a store of version 0.2.0 */

static void set_tag(vw_store *s, uint64_t covered) {
    uint32_t flags = s->upgrading ? TAG_UPGRADED : 0;
    memset(s->ix->store_tag, 0, sizeof s->ix->store_tag);
    memcpy(s->ix->store_tag, s->id, VW_WAL_ID_BYTES);
    memcpy(s->ix->store_tag + VW_WAL_ID_BYTES, &covered, sizeof covered);
    memcpy(s->ix->store_tag + TAG_FLAGS, &flags, sizeof flags);
    s->ix->has_store_tag = true;
}

static bool tag_upgraded(const vw_index *ix) {
    uint32_t flags;
    memcpy(&flags, ix->store_tag + TAG_FLAGS, sizeof flags);
    return flags & TAG_UPGRADED;
}

static uint64_t tag_covered(const vw_index *ix) {
    uint64_t covered;
    memcpy(&covered, ix->store_tag + VW_WAL_ID_BYTES, sizeof covered);
    return covered;
}

/* 16 random bytes: two stores never share an id, so a log copied from one
 * into the other is told apart even when both began from the same file. */
static void new_id(unsigned char *id) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool got = fd >= 0 && read(fd, id, VW_WAL_ID_BYTES) == (ssize_t)VW_WAL_ID_BYTES;
    if (fd >= 0)
        close(fd);
    if (got)
        return;
    static atomic_uint counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t a = vw_mix64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    uint64_t b = vw_mix64(((uint64_t)getpid() << 32) ^ atomic_fetch_add(&counter, 1) ^ a);
    memcpy(id, &a, sizeof a);
    memcpy(id + sizeof a, &b, sizeof b);
}

/* Saves the index with a tag holding every logged write, then empties the
 * log. No write runs meanwhile. A failure after the rename leaves the log
 * unknown (w->broken): the caller stops taking writes. */
static vw_status take_snapshot(vw_store *s) {
    uint64_t covered = s->wal.next_seq - 1;
    set_tag(s, covered);
    vw_status st = vw_index_save(s->ix, s->snap_path);
    return st == VW_OK ? vw_wal_reset(&s->wal, covered + 1) : st;
}

/* How to start over from the snapshot alone, for the messages below. */
#define FROM_SNAPSHOT_ALONE                                                                        \
    "to keep only what the snapshot holds, start a new store from it (vw-serve -x %s "             \
    "--data NEWDIR)"

static vw_status refuse_missing_snapshot(const vw_store *s) {
    return vw_fail(VW_ERR_CORRUPT,
                   "%s: index.vwi is missing, but wal.log holds writes made after a snapshot of "
                   "this store (from write %llu on): starting again from the initial index would "
                   "lose acknowledged writes. Put this store's index.vwi back; to give those "
                   "writes up, move wal.log away and start again from the initial index",
                   s->dir, (unsigned long long)s->wal.base);
}

static vw_status refuse_missing_log(const vw_store *s) {
    return vw_fail(VW_ERR_CORRUPT,
                   "%s: wal.log is missing, but index.vwi is a store's snapshot (of writes up to "
                   "%llu) whose log held every write acknowledged since. Put this store's wal.log "
                   "back; " FROM_SNAPSHOT_ALONE,
                   s->dir, (unsigned long long)tag_covered(s->ix), s->snap_path);
}

/* The log's header against the snapshot's tag. */
static vw_status check_binding(const vw_store *s) {
    uint64_t covered = tag_covered(s->ix);
    if (memcmp(s->wal.id, s->id, VW_WAL_ID_BYTES) != 0)
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: wal.log belongs to another store than index.vwi (their store ids "
                       "differ): replaying it would mix two stores. Put this store's wal.log "
                       "back; " FROM_SNAPSHOT_ALONE,
                       s->dir, s->snap_path);
    if (s->wal.base > covered + 1)
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: wal.log starts at write %llu but index.vwi holds writes up to %llu: "
                       "writes %llu..%llu are missing (is index.vwi an older copy?). Put the newer "
                       "index.vwi back; " FROM_SNAPSHOT_ALONE,
                       s->dir, (unsigned long long)s->wal.base, (unsigned long long)covered,
                       (unsigned long long)covered + 1, (unsigned long long)s->wal.base - 1,
                       s->snap_path);
    return VW_OK;
}

/* ------------------------------------------------------------------ recovering */

static vw_status replay(vw_store *s) {
    vw_stats info;
    vw_index_stats(s->ix, &info);
    vw_wal_report rep;
    vw_status st = vw_wal_replay(&s->wal, info.dim, info.metric, replay_one, s, &rep);
    s->stats.replayed_records = rep.records;
    s->stats.replayed_writes = rep.writes;
    s->stats.dropped_bytes = rep.dropped_bytes;
    s->stats.log_records = rep.records;
    if (st == VW_ERR_CORRUPT) {
        char why[400];
        snprintf(why, sizeof why, "%s", vw_last_error_detail());
        st = vw_fail(st, "%s; " FROM_SNAPSHOT_ALONE, why, s->snap_path);
    }
    return st;
}

/* The log, emptied and bound to this store, as if a snapshot had just been
 * taken: for a log of an older version (no binding), or one that a crash
 * left behind the snapshot. */
static vw_status rebind_log(vw_store *s, uint64_t covered) {
    vw_stats info;
    vw_index_stats(s->ix, &info);
    memcpy(s->wal.id, s->id, VW_WAL_ID_BYTES);
    s->wal.dim = info.dim;
    s->wal.metric = info.metric;
    s->wal.next_seq = covered + 1;
    s->stats.log_records = 0;
    bool tagged = s->ix->has_store_tag && covered == tag_covered(s->ix);
    return tagged ? vw_wal_reset(&s->wal, covered + 1) : take_snapshot(s);
}

/* Records are appended to a log of this version only (an older library
 * must refuse a log with records it does not know, not cut them off as a
 * torn tail): an older one, once replayed, is replaced by an empty one,
 * after a snapshot if it holds records. */
static vw_status newer_log(vw_store *s) {
    if (vw_wal_empty(&s->wal))
        return vw_wal_reset(&s->wal, s->wal.next_seq);
    vw_status st = take_snapshot(s);
    if (st == VW_OK)
        s->stats.log_records = 0;
    return st;
}

/* A store of this version: snapshot tagged, log bound to it. */
static vw_status recover(vw_store *s) {
    memcpy(s->id, s->ix->store_tag, VW_WAL_ID_BYTES);
    uint64_t covered = tag_covered(s->ix);
    if (s->wal.version < 2) {
        /* Only upgrading a store of 0.2.0 leaves its old log beside a tagged
         * snapshot (that holds the log's writes), and only until the log
         * is replaced; anything else is a damaged log. */
        if (covered == 0 && tag_upgraded(s->ix))
            return rebind_log(s, covered);
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: wal.log is %s, not the log of the store index.vwi belongs to: the "
                       "writes acknowledged since the snapshot are not in it. Put this store's "
                       "wal.log back; " FROM_SNAPSHOT_ALONE,
                       s->dir, s->wal.version == 0 ? "shorter than a header" : "a version-1 log",
                       s->snap_path);
    }
    vw_status st = check_binding(s);
    s->covered = covered;
    s->skip_covered = true;
    if (st == VW_OK)
        st = replay(s);
    if (st == VW_OK && s->wal.next_seq <= covered) /* the whole log is in the snapshot */
        st = rebind_log(s, covered);
    else if (st == VW_OK && s->wal.version < VW_WAL_VERSION)
        st = newer_log(s);
    return st;
}

/* A store written before snapshots were tagged (or a log of such a store
 * beside a snapshot that lost its log): replayed as it is, then given an id
 * and tagged by a snapshot. A bound log with records beside an untagged
 * snapshot is another store's. */
static vw_status upgrade(vw_store *s, bool have_log) {
    new_id(s->id);
    s->upgrading = true;
    vw_status st = VW_OK;
    if (have_log && s->wal.version >= 2 && !vw_wal_empty(&s->wal))
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: wal.log belongs to a store but index.vwi is no store's snapshot: "
                       "replaying it would mix two stores; " FROM_SNAPSHOT_ALONE,
                       s->dir, s->snap_path);
    if (have_log && s->wal.version == 1)
        st = replay(s);
    if (st == VW_OK && !have_log) {
        vw_stats info;
        vw_index_stats(s->ix, &info);
        st = vw_wal_create(s->log_path, s->id, 1, info.dim, info.metric, &s->wal);
    }
    if (st == VW_OK)
        st = rebind_log(s, 0);
    s->upgrading = false;
    return st;
}

/* An i8 index trains its codec on its first batch; in a store that is the
 * first write, often one vector, whose codec would then clamp every later
 * vector onto it. A store therefore starts only from a trained codec. */
static vw_status check_trained(const vw_store *s) {
    if (s->ix->storage != VW_STORAGE_I8 || s->ix->i8.trained)
        return VW_OK;
    return vw_fail(VW_ERR_INVALID_ARG,
                   "%s: the i8 index has no trained codec, and a store's first write would "
                   "train it on its own few vectors; start from an index trained on a sample "
                   "of the data (vw-build --storage i8 trains on its input)",
                   s->dir);
}

/* The first start: the log first, then the snapshot, so that a snapshot
 * never exists without its log (a crash between leaves an empty log, which
 * the next start recognises as this unfinished creation). */
static vw_status create_store(vw_store *s, const char *initial) {
    vw_wal_close(&s->wal);
    vw_status st = vw_index_load(initial, VW_LOAD_DEFAULT, &s->ix);
    if (st == VW_OK)
        st = check_trained(s);
    if (st != VW_OK)
        return st;
    new_id(s->id);
    vw_stats info;
    vw_index_stats(s->ix, &info);
    st = vw_wal_create(s->log_path, s->id, 1, info.dim, info.metric, &s->wal);
    return st == VW_OK ? take_snapshot(s) : st;
}

/* A log that can only be what a first start left when a crash stopped it. */
static bool unfinished_creation(const vw_wal *w) {
    return w->version == 0 || (w->version >= 2 && w->base == 1 && vw_wal_empty(w));
}

/* Removes what a writer killed in the middle left: "<name>.tmp.<pid>.<n>"
 * files of the snapshot and of the log (vw_atomic_open's names). Only under
 * the directory's lock, so no live writer of this store owns them. */
static void remove_stale_temporaries(const vw_store *s) {
    DIR *d = opendir(s->dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        const char *rest = NULL;
        if (strncmp(e->d_name, "index.vwi.tmp.", 14) == 0)
            rest = e->d_name + 14;
        else if (strncmp(e->d_name, "wal.log.tmp.", 12) == 0)
            rest = e->d_name + 12;
        if (!rest || strspn(rest, "0123456789.") != strlen(rest) || !strchr(rest, '.'))
            continue;
        char *path = join(s->dir, e->d_name);
        if (path)
            unlink(path);
        free(path);
    }
    if (d)
        closedir(d);
}

static vw_status open_store(vw_store *s, const char *initial) {
    vw_status st = lock_dir(s, s->dir);
    if (st != VW_OK)
        return st;
    remove_stale_temporaries(s);
    struct stat sb;
    bool have_snap = stat(s->snap_path, &sb) == 0;
    if (!have_snap && errno != ENOENT)
        return vw_fail_errno(VW_ERR_IO, "stat", s->snap_path);
    vw_status lst = vw_wal_open(s->log_path, &s->wal);
    if (lst != VW_OK && lst != VW_ERR_NOT_FOUND)
        return lst;
    bool have_log = lst == VW_OK;
    if (!have_snap) {
        if (have_log && !unfinished_creation(&s->wal))
            return refuse_missing_snapshot(s);
        if (!initial)
            return vw_fail(VW_ERR_NOT_FOUND,
                           "%s holds no index yet and none was given to start from", s->dir);
        return create_store(s, initial);
    }
    st = vw_index_load(s->snap_path, VW_LOAD_DEFAULT, &s->ix);
    if (st == VW_ERR_CORRUPT || st == VW_ERR_TRUNCATED || st == VW_ERR_FORMAT) {
        char why[300];
        snprintf(why, sizeof why, "%s", vw_last_error_detail());
        return vw_fail(st,
                       "%s: index.vwi, the snapshot, is damaged (%s). Put back a good copy of "
                       "this store's index.vwi: wal.log holds the writes since it",
                       s->dir, why);
    }
    if (st == VW_OK)
        st = check_trained(s);
    if (st != VW_OK)
        return st;
    if (!s->ix->has_store_tag)
        return upgrade(s, have_log);
    return have_log ? recover(s) : refuse_missing_log(s);
}

vw_status vw_store_open(const char *dir, const char *initial, vw_store **out) {
    vw_clear_detail();
    if (!dir || !out)
        return vw_fail(VW_ERR_NULL_ARG, "dir or out is NULL");
    *out = NULL;
    vw_store *s = calloc(1, sizeof *s);
    if (!s)
        return vw_fail(VW_ERR_NOMEM, "store");
    s->lock_fd = -1;
    s->wal.fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->dir = strdup(dir);
    s->log_path = join(dir, "wal.log");
    s->snap_path = join(dir, "index.vwi");
    vw_status st = !s->dir || !s->log_path || !s->snap_path ? vw_fail(VW_ERR_NOMEM, "paths")
                                                            : open_store(s, initial);
    s->stats.log_bytes = s->wal.size;
    if (st != VW_OK) {
        vw_store_close(s);
        return st;
    }
    *out = s;
    return VW_OK;
}

void vw_store_close(vw_store *s) {
    if (!s)
        return;
    vw_wal_close(&s->wal);
    vw_index_free(s->ix);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    free(s->snap_path);
    free(s->log_path);
    free(s->dir);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const vw_index *vw_store_index(const vw_store *s) {
    return s ? s->ix : NULL;
}

/* ------------------------------------------------------------------ group commit */

static void fail_store(vw_store *s, vw_status st) {
    s->failed = st;
    snprintf(s->failed_detail, sizeof s->failed_detail,
             "writes stopped after an earlier failure (%s); reopen the store to recover",
             vw_last_error_detail());
}

static void finish(request *r, vw_status st) {
    r->result = st;
    snprintf(r->detail, sizeof r->detail, "%s", st == VW_OK ? "" : vw_last_error_detail());
}

/* Logs a group of writes with one sync, then applies them in order. Runs
 * outside the mutex (busy is set, so nothing else writes); returns whether
 * the group reached the log. */
static bool commit(vw_store *s, request *group, size_t n) {
    const vw_wal_record *recs[MAX_GROUP_RECORDS] = {0};
    request *r = group;
    for (size_t i = 0; i < n; i++, r = r->next)
        recs[i] = &r->rec;
    vw_status st = vw_wal_append(&s->wal, recs, n);
    r = group;
    for (size_t i = 0; i < n; i++, r = r->next) {
        if (st != VW_OK) {
            finish(r, st);
            continue;
        }
        vw_status a = apply_record(s->ix, &r->rec, false, false);
        finish(r, a);
        if (a != VW_OK && a != VW_ERR_NOT_FOUND && s->failed == VW_OK)
            fail_store(s, a); /* logged but not applied: the index is behind its log */
    }
    if (st != VW_OK && s->wal.broken && s->failed == VW_OK)
        fail_store(s, st);
    return st == VW_OK;
}

/* Under mu, once a group is done. */
static void count_group(vw_store *s, request *group, size_t n, bool logged) {
    for (request *g = group; n-- > 0; g = g->next) {
        g->done = true;
        if (logged) {
            s->stats.writes += g->rec.count;
            s->stats.log_records++;
        }
    }
    s->stats.commits += logged;
    s->stats.log_bytes = s->wal.size;
}

/* Takes the queue's oldest writes, up to MAX_GROUP_RECORDS and MAX_GROUP_BYTES. */
static size_t take_group(vw_store *s, request **group) {
    size_t n = 0;
    uint64_t bytes = 0;
    request *r = s->head;
    *group = r;
    while (r && n < MAX_GROUP_RECORDS) {
        bytes += vw_wal_record_bytes(&s->wal, &r->rec);
        if (n > 0 && bytes > MAX_GROUP_BYTES)
            break;
        n++;
        r = r->next;
    }
    s->head = r;
    if (!r)
        s->tail = NULL;
    return n;
}

static vw_status submit(vw_store *s, request *r) {
    pthread_mutex_lock(&s->mu);
    if (s->failed != VW_OK) {
        vw_status st = vw_fail(s->failed, "%s", s->failed_detail);
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    if (s->tail)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    while (!r->done && (s->busy || s->snapshot_wanted || s->head != r))
        pthread_cond_wait(&s->cv, &s->mu);
    if (!r->done) { /* the oldest waiting write leads the next group */
        request *group;
        size_t n = take_group(s, &group);
        s->busy = true;
        pthread_mutex_unlock(&s->mu);
        bool logged = commit(s, group, n);
        pthread_mutex_lock(&s->mu);
        count_group(s, group, n, logged);
        s->busy = false;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return r->result == VW_OK ? VW_OK : vw_fail(r->result, "%s", r->detail);
}

/* ------------------------------------------------------------------ writes */

/* Attributes the index would refuse, refused before the log too. */
static vw_status check_attrs(const vw_wal_record *r) {
    for (uint64_t i = 0; r->type == VW_WAL_UPSERT_ATTRS && i < r->count; i++) {
        if (!r->attr_lens[i])
            continue;
        vw_parsed_attrs p;
        vw_status st = vw_attrs_parse(r->attrs[i], r->attr_lens[i], &p);
        vw_parsed_attrs_free(&p);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "vector %llu (label %llu): %s", (unsigned long long)i,
                           (unsigned long long)r->labels[i], why);
        }
    }
    return VW_OK;
}

/* Everything the index's upsert would refuse, refused before the log: a
 * logged record is then one the index can apply, now and at every replay
 * (what can still fail is memory). */
static vw_status check_upsert(const vw_store *s, const vw_wal_record *r) {
    const vw_index *ix = s->ix;
    if (r->count == 0 || r->count > UINT32_MAX)
        return vw_fail(VW_ERR_INVALID_ARG, "%llu vectors in one write (1..%u)",
                       (unsigned long long)r->count, UINT32_MAX);
    for (uint64_t i = 0; i < r->count; i++) {
        vw_status st = vw_check_insertable(ix, r->vectors + i * ix->dim);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "vector %llu (label %llu): %s", (unsigned long long)i,
                           (unsigned long long)r->labels[i], why);
        }
    }
    vw_status st = check_attrs(r);
    return st == VW_OK ? vw_check_unique_labels(r->labels, r->count) : st;
}

/* The lengths of the texts as the log stores them; type 1 if none has any. */
static vw_status text_lengths(vw_wal_record *r, const size_t *lens, uint32_t **out) {
    *out = NULL;
    if (!r->attrs || r->count == 0 || r->count > UINT32_MAX)
        return VW_OK;
    uint32_t *n = malloc(r->count * sizeof *n);
    if (!n)
        return vw_fail(VW_ERR_NOMEM, "attribute lengths");
    for (uint64_t i = 0; i < r->count; i++) {
        size_t len = !r->attrs[i] ? 0 : lens ? lens[i] : strlen(r->attrs[i]);
        if (len > VW_MAX_ATTR_BYTES) {
            free(n);
            return vw_fail(VW_ERR_INVALID_ARG,
                           "vector %llu (label %llu): attributes: %zu bytes, the limit is %u",
                           (unsigned long long)i, (unsigned long long)r->labels[i], len,
                           VW_MAX_ATTR_BYTES);
        }
        n[i] = (uint32_t)len;
        r->attr_bytes += len;
    }
    r->type = r->attr_bytes ? VW_WAL_UPSERT_ATTRS : VW_WAL_UPSERT;
    r->attr_lens = n;
    *out = n;
    return VW_OK;
}

vw_status vw_store_upsert_with_attributes(vw_store *s, const float *vectors, const uint64_t *labels,
                                          uint64_t n, const char *const *attributes,
                                          const size_t *lens) {
    vw_clear_detail();
    if (!s || !vectors || !labels)
        return vw_fail(VW_ERR_NULL_ARG, "store, vectors or labels is NULL");
    request r = {.rec = {VW_WAL_UPSERT, n, labels, vectors, attributes, NULL, 0}};
    uint32_t *text_lens;
    vw_status st = text_lengths(&r.rec, lens, &text_lens);
    if (st == VW_OK)
        st = check_upsert(s, &r.rec);
    if (st == VW_OK)
        st = submit(s, &r);
    free(text_lens);
    return st;
}

vw_status vw_store_upsert(vw_store *s, const float *vectors, const uint64_t *labels, uint64_t n) {
    return vw_store_upsert_with_attributes(s, vectors, labels, n, NULL, NULL);
}

vw_status vw_store_remove(vw_store *s, uint64_t label) {
    vw_clear_detail();
    if (!s)
        return vw_fail(VW_ERR_NULL_ARG, "store is NULL");
    request r = {.rec = {.type = VW_WAL_REMOVE, .count = 1, .labels = &label}};
    return submit(s, &r);
}

/* ------------------------------------------------------------------ snapshots */

vw_status vw_store_snapshot(vw_store *s) {
    vw_clear_detail();
    if (!s)
        return vw_fail(VW_ERR_NULL_ARG, "store is NULL");
    pthread_mutex_lock(&s->mu);
    s->snapshot_wanted = true;
    while (s->busy)
        pthread_cond_wait(&s->cv, &s->mu);
    s->busy = true;
    s->snapshot_wanted = false;
    pthread_mutex_unlock(&s->mu);
    /* Everything logged is applied (commits apply before they end): the
     * snapshot holds the whole log, which can then go. */
    vw_status st = take_snapshot(s);
    pthread_mutex_lock(&s->mu);
    if (st != VW_OK && s->wal.broken && s->failed == VW_OK)
        fail_store(s, st); /* the snapshot is in place, the log may not be emptied */
    if (st == VW_OK) {
        s->stats.snapshots++;
        s->stats.log_records = 0;
    }
    s->stats.log_bytes = s->wal.size;
    s->busy = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return st;
}

vw_status vw_store_get_stats(const vw_store *s, vw_store_stats *out) {
    vw_clear_detail();
    if (!s || !out)
        return vw_fail(VW_ERR_NULL_ARG, "store or out is NULL");
    vw_store *ms = (vw_store *)s;
    pthread_mutex_lock(&ms->mu);
    *out = s->stats;
    out->failed = s->failed != VW_OK;
    out->skipped_detail = s->skipped_detail;
    pthread_mutex_unlock(&ms->mu);
    return VW_OK;
}
