/* attrs_io.c - see attrs_io.h. */
#include "attrs_io.h"

#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_FILE_MAX ((size_t)1 << 20)

static char *read_small_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        tool_die("--filter @%s: %s", path, strerror(errno));
    char *buf = malloc(FILTER_FILE_MAX + 1);
    if (!buf)
        tool_die("out of memory");
    size_t n = fread(buf, 1, FILTER_FILE_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        tool_die("--filter @%s: read error", path);
    if (n > FILTER_FILE_MAX)
        tool_die("--filter @%s: larger than 1 MiB", path);
    buf[n] = 0;
    return buf;
}

char *tool_filter_text(const char *arg) {
    if (arg[0] == '@')
        return read_small_file(arg + 1);
    char *copy = strdup(arg);
    if (!copy)
        tool_die("out of memory");
    return copy;
}

vw_filter *tool_parse_filter(const char *arg) {
    char *text = tool_filter_text(arg);
    vw_filter *f = NULL;
    vw_status st = vw_filter_parse(text, strlen(text), &f);
    free(text);
    if (st != VW_OK)
        tool_usage_error("--filter: %s", vw_last_error_detail());
    return f;
}

/* One line: trailing newline (and CR) cut; empty or null means none, which
 * clears what an existing index's element had. Returns whether the line gave
 * the label attributes. */
static int set_line(vw_index *index, char *line, size_t len, uint64_t label, tool_attrs_mode mode,
                    const char *path) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    int none = len == 0 || (len == 4 && memcmp(line, "null", 4) == 0);
    if (none && mode != TOOL_ATTRS_EXISTING)
        return 0; /* a new element has none */
    vw_status st = vw_index_set_attributes(index, label, none ? NULL : line, none ? 0 : len);
    if (st == VW_ERR_NOT_FOUND && (none || mode == TOOL_ATTRS_SHARD))
        return 0;
    if (st == VW_ERR_NOT_FOUND)
        tool_die("%s:%llu: label %llu is not in the index (line i gives label i's attributes)",
                 path, (unsigned long long)label + 1, (unsigned long long)label);
    if (st != VW_OK)
        tool_die("%s:%llu: %s", path, (unsigned long long)label + 1,
                 *vw_last_error_detail() ? vw_last_error_detail() : vw_strerror(st));
    return !none;
}

uint64_t tool_set_attributes_file(vw_index *index, const char *path, uint64_t rows,
                                  tool_attrs_mode mode) {
    FILE *f = fopen(path, "rb");
    if (!f)
        tool_die("--attributes %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t n = 0, set = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (n == rows && mode != TOOL_ATTRS_EXISTING)
            tool_die("%s: more than %llu lines (one per vector)", path, (unsigned long long)rows);
        set += set_line(index, line, (size_t)len, n, mode, path);
        n++;
    }
    int err = ferror(f);
    free(line);
    fclose(f);
    if (err)
        tool_die("%s: read error", path);
    if (n != rows && mode != TOOL_ATTRS_EXISTING)
        tool_die("%s: %llu lines, but the input has %llu vectors (one line per vector)", path,
                 (unsigned long long)n, (unsigned long long)rows);
    return set;
}
