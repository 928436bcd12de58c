/* attrs_io.h - attributes and filters on the command line: --filter (the
 * text or @FILE) and an attributes file (JSON Lines, line i holding the
 * attributes of label i). */
#ifndef VW_TOOLS_ATTRS_IO_H
#define VW_TOOLS_ATTRS_IO_H

#include "vwhnsw.h"

#include <stdint.h>

/* Parses a --filter argument, or the file it names after '@'; a malformed
 * filter is a usage error that quotes the library's detail. */
vw_filter *tool_parse_filter(const char *arg);

/* The text of a --filter argument (the file's content after '@'); the
 * caller frees it. */
char *tool_filter_text(const char *arg);

/* Sets the attributes of labels 0..rows-1 from a JSON Lines file: line i is
 * label i's object (an empty line or null: none). With skip_absent, lines
 * of labels the index does not hold are skipped (a shard); otherwise such a
 * line is an error. Dies naming FILE:LINE on a bad line. Returns the number
 * of elements given attributes. */
uint64_t tool_set_attributes_file(vw_index *index, const char *path, uint64_t rows,
                                  int skip_absent);

#endif
