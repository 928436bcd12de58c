/* Opening inputs, full reads, atomic file replacement and errno messages,
 * shared by the index file, the vector files and other engines' files so
 * that all keep the same guarantees. */
#include "fileio.h"
#include "vw_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Linux moves at most this much per read/write call. */
#define IO_MAX ((size_t)1 << 30)

vw_status vw_fail_errno(vw_status st, const char *what, const char *path) {
    char buf[128];
    int err = errno;
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *text = strerror_r(err, buf, sizeof buf);
#else
    const char *text = strerror_r(err, buf, sizeof buf) == 0 ? buf : "unknown error";
#endif
    return vw_fail(st, "%s%s%s: %s", what, path ? " " : "", path ? path : "", text);
}

vw_status vw_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *path) {
    unsigned char *p = buf;
    while (len > 0) {
        size_t chunk = len < (1u << 30) ? len : (1u << 30);
        ssize_t got = pread(fd, p, chunk, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return vw_fail_errno(VW_ERR_IO, "read", path);
        if (got == 0)
            return vw_fail(VW_ERR_TRUNCATED,
                           "file ended at byte %llu while reading (did it shrink?)",
                           (unsigned long long)off);
        p += got;
        off += (uint64_t)got;
        len -= (size_t)got;
    }
    return VW_OK;
}

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a special file";
}

static vw_status not_regular(const char *path, const char *kind) {
    return vw_fail(VW_ERR_INVALID_ARG, "%s%s%s, not a regular file", path ? path : "",
                   path ? " is " : "is ", kind);
}

vw_status vw_open_regular(const char *path, const char *path_in_detail, int *fd_out,
                          uint64_t *size_out) {
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENXIO || errno == ENODEV) /* a socket, or a device without a driver */
            return not_regular(path_in_detail, "a socket or device");
        return vw_fail_errno(errno == ENOENT ? VW_ERR_NOT_FOUND : VW_ERR_IO, "open",
                             path_in_detail);
    }
    struct stat sb;
    vw_status st = VW_OK;
    if (fstat(fd, &sb) != 0)
        st = vw_fail_errno(VW_ERR_IO, "stat", path_in_detail);
    else if (!S_ISREG(sb.st_mode))
        st = not_regular(path_in_detail, file_kind(sb.st_mode));
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        st = vw_fail_errno(VW_ERR_IO, "fcntl", path_in_detail);
    if (st != VW_OK) {
        close(fd);
        return st;
    }
    *fd_out = fd;
    *size_out = (uint64_t)sb.st_size;
    return VW_OK;
}

static atomic_uint tmp_counter;

vw_status vw_atomic_open(const char *path, vw_atomic_file *af) {
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return not_regular(path, file_kind(sb.st_mode));
    size_t cap = strlen(path) + 64;
    af->path = path;
    af->fd = -1;
    af->tmp = malloc(cap);
    if (!af->tmp)
        return vw_fail(VW_ERR_NOMEM, "temporary file name");
    /* The pid and a counter make the name unique among concurrent writers;
     * O_EXCL never reuses a stale file a crashed writer left behind. */
    for (int attempt = 0; attempt < 1000; attempt++) {
        snprintf(af->tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&tmp_counter, 1));
        /* 0666: the process umask decides, as for any file the user creates */
        af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (af->fd >= 0)
            return VW_OK;
        if (errno != EEXIST)
            break;
    }
    vw_status st = vw_fail_errno(errno == ENOENT ? VW_ERR_NOT_FOUND : VW_ERR_IO,
                                 "create temporary file", af->tmp);
    free(af->tmp);
    af->tmp = NULL;
    return st;
}

void vw_atomic_abort(vw_atomic_file *af) {
    if (af->fd >= 0)
        close(af->fd);
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    af->fd = -1;
    af->tmp = NULL;
}

/* After the rename the new name lives in the directory's data, which needs
 * its own fsync to survive a power cut. */
vw_status vw_sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return vw_fail(VW_ERR_NOMEM, "directory name");
    vw_status st = VW_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        st = vw_fail_errno(VW_ERR_IO, "open directory", dir);
    } else {
        /* some file systems cannot sync a directory; the rename stands */
        if (vw_io_sync(fd, false) != 0 && errno != EINVAL && errno != ENOTSUP)
            st = vw_fail_errno(VW_ERR_IO, "fsync directory", dir);
        close(fd);
    }
    free(dir);
    return st;
}

vw_status vw_atomic_commit(vw_atomic_file *af, vw_status (*before_rename)(const char *tmp)) {
    vw_status st = VW_OK;
    if (vw_io_sync(af->fd, false) != 0)
        st = vw_fail_errno(VW_ERR_IO, "fsync", af->tmp);
    if (close(af->fd) != 0 && st == VW_OK)
        st = vw_fail_errno(VW_ERR_IO, "close", af->tmp);
    af->fd = -1;
    if (st == VW_OK && before_rename)
        st = before_rename(af->tmp);
    if (st == VW_OK && vw_io_rename(af->tmp, af->path) != 0)
        st = vw_fail_errno(VW_ERR_IO, "rename to", af->path);
    if (st != VW_OK)
        unlink(af->tmp);
    free(af->tmp);
    af->tmp = NULL;
    return st == VW_OK ? vw_sync_parent_dir(af->path) : st;
}

/* ------------------------------------------------------------------ the system calls */

int (*vw_io_fault_hook)(vw_io_op op);

/* What the hook says of the next call: 0 run it, > 0 fail with that errno,
 * -1 (writes) write short. */
static int injected(vw_io_op op) {
    return vw_io_fault_hook ? vw_io_fault_hook(op) : 0;
}

/* One write(2) (off < 0) or pwrite(2), at most IO_MAX bytes. */
static ssize_t write_once(int fd, const void *p, size_t len, int64_t off) {
    int f = injected(VW_IO_WRITE);
    if (f > 0) {
        errno = f;
        return -1;
    }
    if (len > IO_MAX)
        len = IO_MAX;
    if (f < 0 && len > 1)
        len /= 2;
    return off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
}

static vw_status write_loop(int fd, const void *data, size_t len, int64_t off, const char *path) {
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t put = write_once(fd, p, len, off);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            if (put == 0)
                errno = ENOSPC;
            return vw_fail_errno(VW_ERR_IO, "write", path);
        }
        p += put;
        len -= (size_t)put;
        if (off >= 0)
            off += put;
    }
    return VW_OK;
}

vw_status vw_write_all(int fd, const void *data, size_t len) {
    return write_loop(fd, data, len, -1, NULL);
}

vw_status vw_pwrite_full(int fd, const void *data, size_t len, uint64_t off, const char *path) {
    return write_loop(fd, data, len, (int64_t)off, path);
}

static int fail_with(int f) {
    errno = f;
    return -1;
}

int vw_io_sync(int fd, bool data_only) {
    int f = injected(VW_IO_SYNC);
    if (f > 0)
        return fail_with(f);
    return data_only ? fdatasync(fd) : fsync(fd);
}

int vw_io_truncate(int fd, uint64_t len) {
    int f = injected(VW_IO_TRUNCATE);
    return f > 0 ? fail_with(f) : ftruncate(fd, (off_t)len);
}

int vw_io_rename(const char *from, const char *to) {
    int f = injected(VW_IO_RENAME);
    return f > 0 ? fail_with(f) : rename(from, to);
}

vw_status vw_file_write_atomic(const char *path, const void *data, size_t len) {
    vw_clear_detail();
    if (!path || (!data && len > 0))
        return vw_fail(VW_ERR_NULL_ARG, "path or data is NULL");
    if (!*path)
        return vw_fail(VW_ERR_INVALID_ARG, "empty path");
    vw_atomic_file af;
    vw_status st = vw_atomic_open(path, &af);
    if (st != VW_OK)
        return st;
    st = vw_write_all(af.fd, data, len);
    if (st != VW_OK) {
        vw_atomic_abort(&af);
        return st;
    }
    return vw_atomic_commit(&af, NULL);
}
