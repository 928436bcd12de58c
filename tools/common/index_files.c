/*
 * index_files.c - index files of every kind the library reads (see
 * index_files.h).
 */
#include "index_files.h"

#include "cli.h"

#include <stdio.h>

/* A vwhnsw file through vw_index_load (which may map it); Faiss and hnswlib
 * files, and anything unknown (so the message says what is wrong with it),
 * through vw_index_import. */
static vw_status open_any(const char *path, unsigned flags, const vw_import_options *o,
                          vw_index **out) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    vw_status st = vw_index_detect(path, &format);
    if (st != VW_OK)
        return st;
    if (format != VW_INDEX_FORMAT_VWHNSW && (flags & VW_LOAD_MMAP)) {
        const char *name = vw_index_format_name(format);
        tool_warn("%s: a %s file is read into memory; --mmap applies to vwhnsw files", path,
                  name ? name : "foreign");
    }
    return format == VW_INDEX_FORMAT_VWHNSW ? vw_index_load(path, flags, out)
                                            : vw_index_import(path, o, out);
}

int tool_load_index(const char *path, unsigned flags, const char *metric, vw_index **out, char *err,
                    size_t err_size) {
    vw_import_options o;
    vw_import_options_default(&o);
    o.has_metric = metric != NULL;
    if (metric && vw_metric_parse(metric, &o.metric) != VW_OK) {
        snprintf(err, err_size, "--metric: unknown metric '%s' (l2, ip, cosine)", metric);
        return -1;
    }
    *out = NULL;
    vw_status st = open_any(path, flags, &o, out);
    if (st != VW_OK) {
        tool_format_status(err, err_size, st, path);
        return -1;
    }
    vw_stats stats;
    if (metric && vw_index_stats(*out, &stats) == VW_OK && stats.metric != o.metric) {
        snprintf(err, err_size, "%s: the index's metric is %s, not %s", path,
                 vw_metric_name(stats.metric), metric);
        vw_index_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void tool_check_metric(const char *path, const char *metric) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    if (metric && vw_metric_parse(metric, &(vw_metric){VW_METRIC_L2}) != VW_OK)
        tool_usage_error("--metric: unknown metric '%s' (l2, ip, cosine)", metric);
    if (!metric && vw_index_detect(path, &format) == VW_OK && format == VW_INDEX_FORMAT_HNSWLIB)
        tool_usage_error("%s is an hnswlib index, which does not record its metric: give "
                         "--metric l2, ip or cosine (the space it was built with)",
                         path);
}

vw_index *tool_open_index(const char *path, unsigned flags, const char *metric) {
    tool_check_metric(path, metric);
    vw_index *index = NULL;
    char err[768];
    if (tool_load_index(path, flags, metric, &index, err, sizeof err) != 0)
        tool_die("%s", err);
    return index;
}
