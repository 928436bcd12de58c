/*
 * slot.c - the served index and its reload thread (see slot.h).
 */
#include "slot.h"

#include "cli.h"
#include "fault.h"
#include "files.h"
#include "index_files.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MS 1000

struct reload_request {
    char *path; /* NULL: the current index's file */
    void *token;
    reload_request *next;
};

/* The rest of a served index whose index and info are set; -1 (nothing
 * freed) when out of memory. */
static int served_init(served_index *x, const char *path) {
    x->path = strdup(path);
    if (x->path == NULL)
        return -1;
    int64_t bytes = tool_file_size(path);
    x->file_bytes = bytes > 0 ? (uint64_t)bytes : 0;
    x->watch = -1;
    atomic_init(&x->refs, 1);
    atomic_init(&x->damaged, 0);
    return 0;
}

int served_index_load(const char *path, unsigned flags, const char *metric, served_index **out,
                      char *err, size_t err_size) {
    *out = NULL;
    served_index *x = calloc(1, sizeof *x);
    if (x == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    /* A fault on a helper thread of the load shows only in the total. */
    uint64_t faults_before = fault_guard_total();
    fault_guard_loading(1);
    fault_guard_enter();
    int rc = tool_load_index(path, flags, metric, &x->index, err, err_size);
    unsigned faults = fault_guard_leave();
    fault_guard_loading(-1);
    if (rc == 0 && (faults > 0 || fault_guard_total() != faults_before)) {
        vw_index_free(x->index);
        snprintf(err, err_size, "%s: the file was changed while it was being loaded", path);
        free(x);
        return -1;
    }
    vw_status st = rc == 0 ? vw_index_stats(x->index, &x->info) : VW_OK;
    if (rc == 0 && st != VW_OK)
        tool_format_status(err, err_size, st, path);
    if (rc != 0 || st != VW_OK) {
        vw_index_free(x->index);
        free(x);
        return -1;
    }
    if (served_init(x, path) != 0) {
        snprintf(err, err_size, "%s: out of memory", path);
        vw_index_free(x->index);
        free(x);
        return -1;
    }
    *out = x;
    return 0;
}

int served_index_borrow(const vw_index *index, const char *path, served_index **out, char *err,
                        size_t err_size) {
    served_index *x = calloc(1, sizeof *x);
    *out = NULL;
    if (x == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    vw_status st = vw_index_stats(index, &x->info);
    if (st != VW_OK) {
        tool_format_status(err, err_size, st, path);
        free(x);
        return -1;
    }
    x->index = (vw_index *)index; /* written only through the store */
    x->borrowed = 1;
    if (served_init(x, path) != 0) {
        snprintf(err, err_size, "%s: out of memory", path);
        free(x);
        return -1;
    }
    *out = x;
    return 0;
}

void served_index_free(served_index *x) {
    if (x == NULL)
        return;
    if (!x->borrowed)
        vw_index_free(x->index);
    free(x->path);
    free(x);
}

vw_stats served_index_stats(const served_index *x) {
    vw_stats now = x->info;
    if (vw_index_stats(x->index, &now) != VW_OK)
        now = x->info;
    return now;
}

served_index *slot_acquire(index_slot *s) {
    pthread_mutex_lock(&s->mu);
    served_index *x = s->current;
    atomic_fetch_add(&x->refs, 1);
    pthread_mutex_unlock(&s->mu);
    return x;
}

void slot_release(served_index *x) {
    if (x != NULL && atomic_fetch_sub(&x->refs, 1) == 1)
        served_index_free(x);
}

/* With the slot locked: watch the file just loaded for writes in place
 * (the same inode keeps the same watch). */
static void watch_current(index_slot *s) {
    if (s->inotify_fd < 0 || s->current->borrowed) /* a store's index is in memory */
        return;
    s->current->watch = inotify_add_watch(s->inotify_fd, s->current->path, IN_MODIFY);
    if (s->current->watch < 0)
        serve_log("cannot watch %s for changes (%s); a change in place is noticed at its "
                  "first fault only",
                  s->current->path, strerror(errno));
}

int slot_swap(index_slot *s, served_index *fresh) {
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        served_index_free(fresh);
        return -1;
    }
    served_index *old = s->current;
    s->current = fresh;
    watch_current(s);
    if (old != NULL && old->watch >= 0 && old->watch != fresh->watch)
        inotify_rm_watch(s->inotify_fd, old->watch);
    pthread_mutex_unlock(&s->mu);
    slot_release(old);
    atomic_fetch_add(&s->reloads, 1);
    return 0;
}

void slot_mark_damaged(index_slot *s, served_index *x, const char *why) {
    if (atomic_exchange(&x->damaged, 1) != 0)
        return;
    serve_log("%s; searches get 503 until it is loaded again (replace a served file by "
              "renaming a new one over it)",
              why);
    pthread_mutex_lock(&s->mu);
    /* A store's index is never replaced by a file: the store owns it. */
    if (x == s->current && !x->borrowed) {
        s->reload_wanted = 1;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

void slot_handle_inotify(index_slot *s) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(s->inotify_fd, buf, sizeof buf);
        if (n <= 0)
            return; /* EAGAIN: all read */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (!(ev->mask & IN_MODIFY))
                continue;
            served_index *x = slot_acquire(s);
            if (x->watch == ev->wd) {
                char why[PATH_MAX + 64];
                snprintf(why, sizeof why, "%s was modified in place while mapped", x->path);
                slot_mark_damaged(s, x, why);
            }
            slot_release(x);
        }
    }
}

/* With the slot locked: wait up to RETRY_MS or until woken. */
static void wait_retry(index_slot *s) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RETRY_MS / 1000;
    until.tv_nsec += (long)(RETRY_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!s->closing && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
    }
}

/* A copy of the current index's path, with the slot locked. */
static char *current_path(index_slot *s) {
    return strdup(s->current->path);
}

/* One attempt after a change in place, with the slot unlocked; 0 when the
 * index was replaced. */
static int reload_once(index_slot *s, const char *path, char *last_error, size_t size) {
    served_index *fresh = NULL;
    char err[PATH_MAX + 512];
    /* Reloads after a change in place follow a mapped file, which only
     * vwhnsw files are. */
    if (served_index_load(path, s->flags, NULL, &fresh, err, sizeof err) != 0) {
        atomic_fetch_add(&s->reload_failures, 1);
        if (strcmp(err, last_error) != 0)
            serve_log("cannot load the index again yet: %s; retrying every second", err);
        snprintf(last_error, size, "%s", err);
        return -1;
    }
    unsigned long long count = fresh->info.count;
    unsigned dim = fresh->info.dim;
    if (slot_swap(s, fresh) != 0)
        return -1;
    serve_log("loaded %s again: count=%llu dim=%u", path, count, dim);
    last_error[0] = '\0';
    return 0;
}

/* Serves one requested reload, with the slot unlocked. */
static void serve_request(index_slot *s, reload_request *r, char *fallback_path) {
    const char *path = r->path ? r->path : fallback_path;
    served_index *fresh = NULL;
    char err[PATH_MAX + 512] = "";
    int ok =
        path != NULL && served_index_load(path, s->flags, s->metric, &fresh, err, sizeof err) == 0;
    if (path == NULL)
        snprintf(err, sizeof err, "out of memory");
    vw_stats info;
    if (ok) {
        info = fresh->info;
        ok = slot_swap(s, fresh) == 0;
        if (!ok)
            snprintf(err, sizeof err, "the server is stopping");
    }
    if (ok) {
        serve_log("reloaded %s: count=%llu dim=%u", path, (unsigned long long)info.count, info.dim);
    } else {
        atomic_fetch_add(&s->reload_failures, 1);
        serve_log("reload failed, the previous index goes on serving: %s", err);
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_error, sizeof s->last_error, "%s", ok ? "" : err);
    pthread_mutex_unlock(&s->mu);
    if (s->done)
        s->done(s->done_arg, r->token, ok, path ? path : "", ok ? &info : NULL, err);
}

/* With the slot locked: the oldest request, or NULL. */
static reload_request *pop_request(index_slot *s) {
    reload_request *r = s->requests;
    if (r != NULL) {
        s->requests = r->next;
        if (s->requests == NULL)
            s->requests_tail = NULL;
    }
    return r;
}

/* With the slot locked: serves the oldest request, unlocking meanwhile. */
static void take_request(index_slot *s) {
    reload_request *r = pop_request(s);
    char *fallback = r->path ? NULL : current_path(s);
    s->loading = 1;
    pthread_mutex_unlock(&s->mu);
    serve_request(s, r, fallback);
    free(fallback);
    free(r->path);
    free(r);
    pthread_mutex_lock(&s->mu);
    s->loading = 0;
}

static void *reload_main(void *arg) {
    index_slot *s = arg;
    char last_error[PATH_MAX + 512] = "";
    pthread_mutex_lock(&s->mu);
    while (!s->closing) {
        if (s->requests != NULL) {
            take_request(s);
            continue;
        }
        if (!s->reload_wanted) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->reload_wanted = 0;
        s->loading = 1;
        char *path = current_path(s);
        pthread_mutex_unlock(&s->mu);
        int rc = path ? reload_once(s, path, last_error, sizeof last_error) : -1;
        free(path);
        pthread_mutex_lock(&s->mu);
        s->loading = 0;
        if (rc != 0 && !s->closing) {
            wait_retry(s);
            if (!s->closing && atomic_load(&s->current->damaged))
                s->reload_wanted = 1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int slot_request_reload(index_slot *s, const char *path, void *token) {
    pthread_mutex_lock(&s->mu);
    int borrowed = s->current != NULL && s->current->borrowed;
    pthread_mutex_unlock(&s->mu);
    if (borrowed)
        return -2;
    reload_request *r = calloc(1, sizeof *r);
    if (r == NULL || (path != NULL && (r->path = strdup(path)) == NULL)) {
        free(r);
        return -1;
    }
    r->token = token;
    pthread_mutex_lock(&s->mu);
    int ok = !s->closing;
    if (ok) {
        if (s->requests_tail)
            s->requests_tail->next = r;
        else
            s->requests = r;
        s->requests_tail = r;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        free(r->path);
        free(r);
    }
    return ok ? 0 : -1;
}

void slot_describe(index_slot *s, char *path, size_t path_size, char *error, size_t error_size) {
    pthread_mutex_lock(&s->mu);
    snprintf(path, path_size, "%s", s->current ? s->current->path : "");
    snprintf(error, error_size, "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
}

int slot_start(index_slot *s, unsigned flags, const char *metric, served_index *initial,
               slot_reload_cb done, void *done_arg) {
    s->flags = flags;
    s->metric = metric;
    s->done = done;
    s->done_arg = done_arg;
    s->requests = s->requests_tail = NULL;
    s->last_error[0] = '\0';
    s->current = initial;
    s->reload_wanted = s->loading = s->closing = s->thread_started = 0;
    atomic_init(&s->reloads, 0);
    atomic_init(&s->reload_failures, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->inotify_fd = -1;
    if (flags & VW_LOAD_MMAP) {
        s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->inotify_fd < 0)
            serve_log("inotify: %s; a change in place is noticed at its first fault only",
                      strerror(errno));
    }
    watch_current(s);
    int rc = pthread_create(&s->thread, NULL, reload_main, s);
    if (rc != 0) {
        serve_log("cannot start the reload thread: %s", strerror(rc));
        return -1;
    }
    s->thread_started = 1;
    return 0;
}

void slot_stop(index_slot *s) {
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_broadcast(&s->cv);
    int loading = s->loading;
    served_index *x = s->current;
    s->current = NULL;
    for (reload_request *r = pop_request(s); r; r = pop_request(s)) {
        free(r->path); /* SIGHUPs not yet served; requests with a token are all done */
        free(r);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started) {
        /* A load can take seconds; the process is about to exit, and the
         * thread frees what it loaded when it sees `closing`. */
        if (loading)
            pthread_detach(s->thread);
        else
            pthread_join(s->thread, NULL);
    }
    slot_release(x);
    if (s->inotify_fd >= 0)
        close(s->inotify_fd);
    s->inotify_fd = -1;
}
