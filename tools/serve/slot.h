/*
 * slot.h - the index vw-serve is serving, replaceable while searches run.
 *
 * A served_index is an index with what the server needs to know about it
 * and a reference count. The slot holds the current one; each search takes
 * a reference for its whole duration (slot_acquire/slot_release), so a
 * replacement (slot_swap) never frees an index under a running search: the
 * old one is freed by whoever drops its last reference.
 *
 * Two events replace the index. An operator asks for it (SIGHUP, or POST
 * /admin/reload with an optional new path: slot_request_reload): the file
 * is loaded on the reload thread while the old index goes on serving, then
 * swapped in; searches that hold the old one finish on it. A file that
 * fails to load leaves the old index in place, and the reason is logged
 * and kept for /stats (last_error). Or the mapped file was changed in place
 * (a SIGBUS during a search, or an inotify IN_MODIFY on the mapped inode).
 * The index is then marked damaged (searches on it answer 503 at once) and
 * the slot's reload thread loads the path again, retrying each second while
 * the file fails to load (a copy still being written fails its checks),
 * and swaps the new index in. A file replaced by rename leaves the mapped
 * inode alone: the server goes on serving the old contents, untouched.
 *
 * Loads run on the reload thread, never on the event loop, and a stop does
 * not wait for a load in progress.
 */
#ifndef VW_SERVE_SLOT_H
#define VW_SERVE_SLOT_H

#include "vwhnsw.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct served_index {
    vw_index *index;
    char *path;    /* the file it was loaded from */
    int borrowed;  /* the index belongs to a store (vw-serve --data): not freed here */
    vw_stats info; /* at load; served_index_stats for what writes change */
    uint64_t file_bytes;
    int watch;       /* inotify watch on the mapped file, or -1 */
    atomic_int refs; /* the slot's reference plus one per search */
    atomic_int damaged;
} served_index;

/* Loads `path` (VW_LOAD_* flags) with the SIGBUS guard (fault.h) around the
 * load: a vwhnsw file, or a Faiss or hnswlib file (`metric`: --metric or
 * NULL; see tool_load_index). 0 on success; -1 with a one-line reason in err. */
int served_index_load(const char *path, unsigned flags, const char *metric, served_index **out,
                      char *err, size_t err_size);
/* Serves the index of a durable store (owned by the store). 0 or -1 with
 * a reason in err. */
int served_index_borrow(const vw_index *index, const char *path, served_index **out, char *err,
                        size_t err_size);
void served_index_free(served_index *x);
/* x->info with the counts as they are now (writes change them). */
vw_stats served_index_stats(const served_index *x);

/* Called on the reload thread when a requested reload is done: ok, the
 * path that was loaded (or tried) and, on success, the new index's
 * statistics, else the reason. `token` is the requester's. */
typedef void (*slot_reload_cb)(void *arg, void *token, int ok, const char *path,
                               const vw_stats *info, const char *error);

typedef struct reload_request reload_request;

typedef struct index_slot {
    unsigned flags;
    const char *metric; /* --metric, given again to requested reloads */
    int inotify_fd;     /* -1 unless mapped: the event loop polls it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    served_index *current;
    int reload_wanted;
    int loading;
    int closing;
    int thread_started;
    pthread_t thread;
    reload_request *requests; /* asked for, oldest first */
    reload_request *requests_tail;
    char last_error[PATH_MAX + 512]; /* why the last requested reload failed; "" after a success */
    slot_reload_cb done;
    void *done_arg;
    atomic_uint_fast64_t reloads;
    atomic_uint_fast64_t reload_failures;
} index_slot;

/* Takes ownership of `initial` and starts the reload thread; `done` is
 * called after each requested reload. 0 or -1. */
int slot_start(index_slot *s, unsigned flags, const char *metric, served_index *initial,
               slot_reload_cb done, void *done_arg);

/* Asks the reload thread to load `path` (NULL: the current index's file)
 * and swap it in. Never blocks on a load. -1 when out of memory or
 * stopping, -2 when the index is a store's (borrowed: it is replaced only
 * through the store, never by a file); done is then not called. */
int slot_request_reload(index_slot *s, const char *path, void *token);

/* Copies the current path and the last reload error (under the lock). */
void slot_describe(index_slot *s, char *path, size_t path_size, char *error, size_t error_size);
/* Stops the reload thread (without waiting for a load in progress) and
 * drops the current index. */
void slot_stop(index_slot *s);

served_index *slot_acquire(index_slot *s);
void slot_release(served_index *x);

/* Puts a freshly loaded index in place of the current one (which is freed
 * once its searches are done). 0, or -1 when the slot is stopping: fresh is
 * then freed. */
int slot_swap(index_slot *s, served_index *fresh);

/* Marks x damaged (if it is still current, asks for a reload). `why` is
 * logged once. */
void slot_mark_damaged(index_slot *s, served_index *x, const char *why);

/* Reads the slot's inotify events (call when inotify_fd is readable). */
void slot_handle_inotify(index_slot *s);

#endif /* VW_SERVE_SLOT_H */
