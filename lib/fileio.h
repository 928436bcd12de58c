/* fileio.h - file helpers shared by the index file (persist.c) and the
 * vector files (dataset*.c) and other engines' files (foreign*.c): errno
 * messages, opening inputs, full reads, atomic replacement. */
#ifndef VW_FILEIO_H
#define VW_FILEIO_H

#include "vwhnsw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* vw_fail with the message "<what>: <strerror(errno)>". */
vw_status vw_fail_errno(vw_status st, const char *what, const char *path);

/* Opens `path` for reading only if it is a regular file, and gives its
 * size. The open never blocks (O_NONBLOCK until the type is known: a FIFO
 * would otherwise wait for a writer forever) and a directory, FIFO, device
 * or socket is refused with VW_ERR_INVALID_ARG naming what it is. Missing:
 * VW_ERR_NOT_FOUND; other failures VW_ERR_IO. `path_in_detail` (may be NULL)
 * is named in the detail message. */
vw_status vw_open_regular(const char *path, const char *path_in_detail, int *fd_out,
                          uint64_t *size_out);

/* pread of exactly `len` bytes at `off` (retrying short reads and EINTR):
 * VW_ERR_IO on an error, VW_ERR_TRUNCATED if the file ends first (it shrank
 * after its size was checked). `path` (may be NULL) names it in messages. */
vw_status vw_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *path);

/* A temporary file beside `path` ("<path>.tmp.<pid>.<n>", created with
 * O_EXCL) that becomes `path` on commit. */
typedef struct vw_atomic_file {
    int fd;
    const char *path;
    char *tmp;
} vw_atomic_file;

/* Creates the temporary file. VW_ERR_INVALID_ARG if `path` exists and is
 * not a regular file (rename would replace a directory entry of another
 * kind), VW_ERR_NOT_FOUND if its directory does not exist, VW_ERR_IO else. */
vw_status vw_atomic_open(const char *path, vw_atomic_file *af);

/* fsync, close, the optional hook, rename over `path`, fsync the directory.
 * On failure the temporary file is removed and `path` is untouched (but for
 * a failed directory fsync, which comes after the rename). */
vw_status vw_atomic_commit(vw_atomic_file *af, vw_status (*before_rename)(const char *tmp));

/* fsyncs the directory holding `path`, so that a name just created or
 * renamed there survives a power cut. */
vw_status vw_sync_parent_dir(const char *path);

/* Closes and removes the temporary file. */
void vw_atomic_abort(vw_atomic_file *af);

/* write(2) until len bytes are written (EINTR retried); VW_ERR_IO naming
 * errno otherwise (a full disk is ENOSPC, a file size limit EFBIG). */
vw_status vw_write_all(int fd, const void *data, size_t len);

/* pwrite(2) of exactly `len` bytes at `off`, as vw_write_all; `path` (may be
 * NULL) names the file in messages. */
vw_status vw_pwrite_full(int fd, const void *data, size_t len, uint64_t off, const char *path);

/* fdatasync (data_only) or fsync; ftruncate; rename. -1 with errno on
 * failure, as the system calls. Every write, sync, truncation and rename of
 * the library's files goes through these and the two loops above, so that
 * the fault hook below sees each of them. */
int vw_io_sync(int fd, bool data_only);
int vw_io_truncate(int fd, uint64_t len);
int vw_io_rename(const char *from, const char *to);

/* Test hook (tests/test_store_inject.c), NULL in normal use: called before
 * each write, sync, truncation and rename. It returns 0 to let the call
 * run, an errno value to make it fail with that error, or -1 to make a
 * write short (half its bytes; other calls run). Like SQLite's test VFS, a
 * test fails the Nth call for every N and checks what is left. */
typedef enum vw_io_op { VW_IO_WRITE, VW_IO_SYNC, VW_IO_TRUNCATE, VW_IO_RENAME } vw_io_op;
extern int (*vw_io_fault_hook)(vw_io_op op);

#endif /* VW_FILEIO_H */
