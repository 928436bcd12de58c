/*
 * files.h - the files a tool reads and writes, and the checks made on them
 * before any work starts.
 *
 * Every file a tool writes is composed in memory and then written with
 * vw_file_write_atomic: on a full disk, a file size limit or any other
 * failure the old file stays as it was and no partial file is left.
 */
#ifndef VW_TOOLS_FILES_H
#define VW_TOOLS_FILES_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* An output composed through a FILE* (open_memstream). */
typedef struct tool_output {
    const char *path;
    FILE *f; /* write the content here */
    char *data;
    size_t len;
} tool_output;

/* Starts an output for `path`; exits (1) when out of memory. */
FILE *tool_output_open(tool_output *o, const char *path);
/* Writes the file atomically; exits (1) naming the path and the reason. */
void tool_output_commit(tool_output *o);
/* Writes len bytes to `path` atomically, or exits (1) naming the path. */
void tool_write_file(const char *path, const void *data, size_t len);
/* Writes a JSON document to `path` atomically; exits (1) if it holds a
 * number that is not finite (a broken figure must not look like a result)
 * or could not be composed. */
void tool_write_json(const char *path, const json_writer *w);

/* Opens for reading a file the tool parses itself (not through the
 * library), refusing at once anything but a regular file (a FIFO would
 * otherwise block the open); exits (1) naming the path. */
FILE *tool_open_input(const char *path);
/* The whole of a small text file (at most max_bytes), NUL-terminated, in a
 * malloc'ed buffer, its length in *len; exits (1) naming the path. */
char *tool_read_small_file(const char *path, size_t max_bytes, size_t *len);

/* A file named on the command line: the option that named it and whether
 * the tool writes it. */
typedef struct tool_file_arg {
    const char *option;
    const char *path; /* NULL: the option was not given */
    int output;
} tool_file_arg;

/* Checks the files of a command line before any work: an output that is
 * the same file as an input or another output (the same device and inode,
 * or for an output that does not exist yet the same directory and name, so
 * "-o ./x.npy" with "-i x.npy" or a hard link to an input is caught) is a
 * usage error (exit 2); an output that exists and is not a regular file (a
 * FIFO, a directory, a device) exits 1. */
void tool_check_files(const tool_file_arg *files, size_t n);
/* Exits (1) if the directory `path` would be written in does not exist or
 * cannot be written: found before minutes of work, not after. */
void tool_check_writable(const char *path);

/* Size of a file in bytes, or -1 if it cannot be stat'ed. */
int64_t tool_file_size(const char *path);
/* "1.5 KB", "78.1 MB", ... (powers of 1000, for people). */
void tool_format_bytes(char *buf, size_t size, uint64_t bytes);

#endif /* VW_TOOLS_FILES_H */
