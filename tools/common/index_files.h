/*
 * index_files.h - opening an index file of any kind the library reads: a
 * vwhnsw file (loaded or mapped), or a Faiss or hnswlib file (imported).
 *
 * Every tool that takes -x/--index opens it here, so every tool accepts the
 * same files with the same --metric rule and the same messages.
 */
#ifndef VW_TOOLS_INDEX_FILES_H
#define VW_TOOLS_INDEX_FILES_H

#include "vwhnsw.h"

#include <stddef.h>

/* Opens `path` with vw_index_load(flags) for a vwhnsw file, or with
 * vw_index_import for a Faiss or hnswlib file (read into memory:
 * VW_LOAD_MMAP draws a warning). `metric`, the --metric argument or NULL, is
 * required for an hnswlib file, which does not record it, and checked
 * against the others. 0, or -1 with a one-line message naming the file in
 * err. */
int tool_load_index(const char *path, unsigned flags, const char *metric, vw_index **out, char *err,
                    size_t err_size);
/* Exits with a usage error (status 2) for an unknown --metric, or for an
 * hnswlib file without one. */
void tool_check_metric(const char *path, const char *metric);
/* tool_check_metric, then tool_load_index, exiting with its line on failure. */
vw_index *tool_open_index(const char *path, unsigned flags, const char *metric);

#endif
