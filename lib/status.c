/* Status codes, their names, the per-thread detail message and the version. */
#include "vw_internal.h"

#include <stdarg.h>
#include <stdio.h>

/* One detail buffer per thread: errors from concurrent searches never mix. */
static _Thread_local char detail[1024]; /* room for two paths and a way to recover */

static const char *const status_text[VW_STATUS_COUNT_] = {
    [VW_OK] = "success",
    [VW_ERR_NULL_ARG] = "a required pointer argument is NULL",
    [VW_ERR_INVALID_ARG] = "invalid argument",
    [VW_ERR_DIMENSION] = "vector dimension mismatch or out of range",
    [VW_ERR_NONFINITE] = "vector contains NaN or infinity, or values too large to store",
    [VW_ERR_ZERO_VECTOR] = "zero vector cannot be normalized",
    [VW_ERR_K] = "k must be between 1 and VW_MAX_K",
    [VW_ERR_EF] = "ef must be between 1 and VW_MAX_EF",
    [VW_ERR_DUPLICATE_LABEL] = "label already present",
    [VW_ERR_EMPTY_INDEX] = "index is empty",
    [VW_ERR_NOMEM] = "out of memory",
    [VW_ERR_CAPACITY] = "index cannot grow further",
    [VW_ERR_READONLY] = "index is read-only (memory-mapped)",
    [VW_ERR_THREAD] = "could not start a thread",
    [VW_ERR_IO] = "input/output error",
    [VW_ERR_NOT_FOUND] = "not found",
    [VW_ERR_FORMAT] = "not a file of the expected format",
    [VW_ERR_TRUNCATED] = "file is truncated",
    [VW_ERR_CORRUPT] = "file is corrupt",
    [VW_ERR_VERSION] = "file written by a newer version",
    [VW_ERR_UNSUPPORTED] = "unsupported",
    [VW_ERR_CANCELLED] = "cancelled by the progress callback",
};

const char *vw_strerror(vw_status status) {
    if ((unsigned)status >= VW_STATUS_COUNT_)
        return "unknown status";
    return status_text[status];
}

const char *vw_last_error_detail(void) {
    return detail;
}

void vw_clear_detail(void) {
    detail[0] = '\0';
}

vw_status vw_fail(vw_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return st;
}

const char *vw_version(void) {
    return VW_VERSION_STRING;
}

unsigned vw_version_number(void) {
    return VW_VERSION_NUMBER;
}
