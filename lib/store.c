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
 * interrupted, never acknowledged) is cut off whole. If a logged write
 * cannot be applied (out of memory), the index and the log disagree: the
 * store refuses further writes until it is reopened, which replays the log
 * again. */
#include "fileio.h"
#include "vw_internal.h"
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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
    vw_store_stats stats;     /* under mu */
    char skipped_detail[200]; /* why the first skipped record was skipped */
};

#define MAX_GROUP_BYTES ((uint64_t)64 << 20) /* one commit writes at most this much */

/* ------------------------------------------------------------------ applying */

/* Applies one record to the index. A removal of an absent label is not an
 * error in the log (it is reported to the caller who asked for it). */
static vw_status apply_record(vw_index *ix, const vw_wal_record *r, bool replaying) {
    if (r->type == VW_WAL_UPSERT) {
        unsigned threads = replaying || r->count >= 4096 ? 0 : 1;
        return vw_index_upsert_batch(ix, r->vectors, r->labels, r->count, threads, NULL, NULL);
    }
    vw_status st = vw_index_remove(ix, r->labels[0]);
    return st == VW_ERR_NOT_FOUND && replaying ? VW_OK : st;
}

static vw_status check_upsert(const vw_store *s, const float *vectors, const uint64_t *labels,
                              uint64_t n);

/* A record the index cannot take was refused to its client: versions before
 * the store validated ahead of the log wrote it anyway, then failed to apply
 * it. Replay skips it, so the acknowledged records around it stay
 * reachable, and counts it (vw_store_stats.skipped_records). */
static vw_status replay_one(void *ctx, const vw_record_view *v) {
    vw_store *s = ctx;
    vw_wal_record r = {v->type, v->count, v->labels, v->vectors};
    if (r.type == VW_WAL_UPSERT && check_upsert(s, r.vectors, r.labels, r.count) != VW_OK) {
        if (s->stats.skipped_records++ == 0)
            snprintf(s->skipped_detail, sizeof s->skipped_detail, "write log record %llu: %s",
                     (unsigned long long)v->seq, vw_last_error_detail());
        return VW_OK;
    }
    vw_status st = apply_record(s->ix, &r, true);
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

/* The snapshot, or the first one made from `initial`. */
static vw_status load_snapshot(vw_store *s, const char *dir, const char *initial) {
    struct stat sb;
    if (stat(s->snap_path, &sb) == 0)
        return vw_index_load(s->snap_path, VW_LOAD_DEFAULT, &s->ix);
    if (errno != ENOENT)
        return vw_fail_errno(VW_ERR_IO, "stat", s->snap_path);
    if (!initial)
        return vw_fail(VW_ERR_NOT_FOUND, "%s holds no index yet and none was given to start from",
                       dir);
    vw_status st = vw_index_load(initial, VW_LOAD_DEFAULT, &s->ix);
    return st == VW_OK ? vw_index_save(s->ix, s->snap_path) : st;
}

static vw_status open_store(vw_store *s, const char *dir, const char *initial) {
    vw_status st = lock_dir(s, dir);
    char *log_path = join(dir, "wal.log");
    s->snap_path = join(dir, "index.vwi");
    if (st == VW_OK && (!log_path || !s->snap_path))
        st = vw_fail(VW_ERR_NOMEM, "paths");
    if (st == VW_OK)
        st = load_snapshot(s, dir, initial);
    vw_wal_report rep = {0};
    if (st == VW_OK) {
        vw_stats info;
        vw_index_stats(s->ix, &info);
        st = vw_wal_open(log_path, info.dim, info.metric, replay_one, s, &s->wal, &rep);
    }
    free(log_path);
    s->stats.replayed_records = rep.records;
    s->stats.replayed_writes = rep.writes;
    s->stats.dropped_bytes = rep.dropped_bytes;
    s->stats.log_records = rep.records;
    s->stats.log_bytes = s->wal.size;
    return st;
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
    vw_status st = open_store(s, dir, initial);
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
    const vw_wal_record *recs[64] = {0};
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
        vw_status a = apply_record(s->ix, &r->rec, false);
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

/* Takes the queue's oldest writes, up to 64 records and MAX_GROUP_BYTES. */
static size_t take_group(vw_store *s, request **group) {
    size_t n = 0;
    uint64_t bytes = 0;
    request *r = s->head;
    *group = r;
    while (r && n < 64) {
        bytes += vw_wal_record_bytes(&s->wal, r->rec.type, r->rec.count);
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

/* Everything the index's upsert would refuse, refused before the log: a
 * logged record is then one the index can apply, now and at every replay
 * (what can still fail is memory). */
static vw_status check_upsert(const vw_store *s, const float *vectors, const uint64_t *labels,
                              uint64_t n) {
    const vw_index *ix = s->ix;
    if (n == 0 || n > UINT32_MAX)
        return vw_fail(VW_ERR_INVALID_ARG, "%llu vectors in one write (1..%u)",
                       (unsigned long long)n, UINT32_MAX);
    for (uint64_t i = 0; i < n; i++) {
        vw_status st = vw_check_insertable(ix, vectors + i * ix->dim);
        if (st != VW_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", vw_last_error_detail());
            return vw_fail(st, "vector %llu (label %llu): %s", (unsigned long long)i,
                           (unsigned long long)labels[i], why);
        }
    }
    return vw_check_unique_labels(labels, n);
}

vw_status vw_store_upsert(vw_store *s, const float *vectors, const uint64_t *labels, uint64_t n) {
    vw_clear_detail();
    if (!s || !vectors || !labels)
        return vw_fail(VW_ERR_NULL_ARG, "store, vectors or labels is NULL");
    vw_status st = check_upsert(s, vectors, labels, n);
    if (st != VW_OK)
        return st;
    request r = {.rec = {VW_WAL_UPSERT, n, labels, vectors}};
    return submit(s, &r);
}

vw_status vw_store_remove(vw_store *s, uint64_t label) {
    vw_clear_detail();
    if (!s)
        return vw_fail(VW_ERR_NULL_ARG, "store is NULL");
    request r = {.rec = {VW_WAL_REMOVE, 1, &label, NULL}};
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
    vw_status st = vw_index_save(s->ix, s->snap_path);
    if (st == VW_OK)
        st = vw_wal_reset(&s->wal);
    pthread_mutex_lock(&s->mu);
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
