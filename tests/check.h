/* check.h - the one CHECK of the C tests. A failed check prints where and
 * what failed and is counted; the test goes on, so one run reports every
 * check that fails. A test that links the library includes testutil.h,
 * which adds the library's detail text to each failure. */
#ifndef VW_TEST_CHECK_H
#define VW_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

/* Text added to a failure's line: the library's detail where a test links
 * it (testutil.h), nothing otherwise. */
#ifndef CHECK_DETAIL
#define CHECK_DETAIL() ""
#endif

static inline void check_failed(const char *file, int line, const char *what, const char *detail) {
    if (detail && *detail)
        fprintf(stderr, "%s:%d: check failed: %s (detail: %s)\n", file, line, what, detail);
    else
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    check_failures++;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            check_failed(__FILE__, __LINE__, #cond, CHECK_DETAIL());                               \
    } while (0)

#endif
