/*
 * files.c - outputs, inputs and command-line file checks (see files.h).
 */
#include "files.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ outputs */

FILE *tool_output_open(tool_output *o, const char *path) {
    o->path = path;
    o->data = NULL;
    o->len = 0;
    o->f = open_memstream(&o->data, &o->len);
    if (!o->f)
        tool_die("%s: out of memory", path);
    return o->f;
}

void tool_output_commit(tool_output *o) {
    int failed = ferror(o->f);
    if (fclose(o->f) != 0 || failed)
        tool_die("%s: out of memory", o->path);
    tool_write_file(o->path, o->data, o->len);
    free(o->data);
    o->data = NULL;
}

void tool_write_file(const char *path, const void *data, size_t len) {
    vw_status st = vw_file_write_atomic(path, data, len);
    if (st != VW_OK)
        tool_die_status(st, path);
}

void tool_write_json(const char *path, const json_writer *w) {
    size_t len;
    const char *text = json_writer_text(w, &len);
    if (w->nonfinite)
        tool_die("%s: a figure to write is not a finite number", path);
    if (!text)
        tool_die("%s: out of memory", path);
    tool_write_file(path, text, len);
}

/* ------------------------------------------------------------ inputs */

static const char *kind_of(mode_t mode) {
    return S_ISDIR(mode)                    ? "a directory"
           : S_ISFIFO(mode)                 ? "a FIFO (named pipe)"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
                                            : "a special file";
}

FILE *tool_open_input(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0)
        tool_die("%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        tool_die("%s: is %s, not a regular file", path, kind_of(sb.st_mode));
    FILE *f = NULL;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "rb")))
        tool_die("%s: %s", path, strerror(errno));
    return f;
}

char *tool_read_small_file(const char *path, size_t max_bytes, size_t *len) {
    FILE *f = tool_open_input(path);
    char *buf = malloc(max_bytes + 1);
    if (!buf)
        tool_die("%s: out of memory", path);
    size_t n = fread(buf, 1, max_bytes + 1, f);
    if (ferror(f))
        tool_die("%s: read error", path);
    if (n > max_bytes)
        tool_die("%s: larger than %zu bytes", path, max_bytes);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ------------------------------------------------------------ command-line checks */

/* What makes two paths the same file: the inode of an existing file, else
 * (an output about to be created) its directory's inode and its name. */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode;
    const char *name;
} file_id;

static file_id identify(const char *path) {
    file_id id = {0, 0, 0, 0, NULL};
    struct stat sb;
    if (stat(path, &sb) == 0)
        return (file_id){1, sb.st_dev, sb.st_ino, sb.st_mode, NULL};
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    id.name = slash ? slash + 1 : path;
    if (stat(dir, &sb) == 0) {
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
    }
    return id;
}

static int same_file(const file_id *a, const file_id *b) {
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           (a->exists || strcmp(a->name, b->name) == 0);
}

/* Usage error if files[i] and an earlier file are one, and either is written. */
static void check_pair(const tool_file_arg *files, const file_id *ids, size_t i) {
    for (size_t j = 0; j < i && files[i].path; j++) {
        if (!files[j].path || (!files[i].output && !files[j].output) ||
            !same_file(&ids[i], &ids[j]))
            continue;
        const tool_file_arg *out = files[i].output ? &files[i] : &files[j];
        const tool_file_arg *other = out == &files[i] ? &files[j] : &files[i];
        tool_usage_error("%s %s is the same file as %s %s; the %s would overwrite it", out->option,
                         out->path, other->option, other->path,
                         other->output ? "second output" : "output");
    }
}

void tool_check_files(const tool_file_arg *files, size_t n) {
    enum { MAX_FILES = 16 };
    file_id ids[MAX_FILES];
    for (size_t i = 0; i < n && i < MAX_FILES; i++) {
        ids[i] = files[i].path ? identify(files[i].path) : (file_id){0, 0, 0, 0, NULL};
        /* Found now rather than after minutes of work; the write itself
         * would refuse it too (vw_file_write_atomic, vw_index_save). */
        if (files[i].output && ids[i].exists && !S_ISREG(ids[i].mode))
            tool_die("%s: is %s, not a regular file", files[i].path, kind_of(ids[i].mode));
    }
    for (size_t i = 0; i < n && i < MAX_FILES; i++)
        check_pair(files, ids, i);
}

void tool_check_writable(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    errno = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0)
        tool_die("%s: cannot write to directory %s: %s", path, dir,
                 errno ? strerror(errno) : "not a directory");
}

/* ------------------------------------------------------------ sizes */

int64_t tool_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

void tool_format_bytes(char *buf, size_t size, uint64_t bytes) {
    static const char *units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    for (; v >= 1000.0 && u < 4; u++)
        v /= 1000.0;
    if (u == 0)
        snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}
