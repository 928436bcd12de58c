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

/* Which labels an attributes file covers (tool_set_attributes_file). */
typedef enum tool_attrs_mode {
    TOOL_ATTRS_BUILT,   /* an index just built from `rows` rows: exactly rows lines, each
                           label present */
    TOOL_ATTRS_SHARD,   /* a shard of rows rows: exactly rows lines, lines of labels the
                           shard does not hold skipped */
    TOOL_ATTRS_EXISTING /* an index read from a file (vw-build --from): any number of
                           lines; line i replaces label i's attributes, an empty or null
                           line clears them; a line with attributes for a label the
                           index does not hold is an error */
} tool_attrs_mode;

/* Sets the attributes of labels 0, 1, ... from a JSON Lines file: line i is
 * label i's object (an empty line or null: none), as `mode` says. Dies
 * naming FILE:LINE on a bad line. Returns the number of elements given
 * attributes. */
uint64_t tool_set_attributes_file(vw_index *index, const char *path, uint64_t rows,
                                  tool_attrs_mode mode);

#endif
