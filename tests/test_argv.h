/* The argv of a varargs runner (tt_run in test_tools_util.h, hx_run in
 * test_hostile.h): header-only, like the other test helpers. */
#ifndef VW_TEST_ARGV_H
#define VW_TEST_ARGV_H

#include <stdarg.h>
#include <stddef.h>

/* Fills argv (room for `cap` entries) with prog and then the arguments of
 * ap up to its NULL, at most cap - 2 of them, and a NULL at the end. */
static void tu_argv(char **argv, int cap, const char *prog, va_list ap) {
    int n = 0;
    argv[n++] = (char *)prog;
    const char *a;
    while (n < cap - 1 && (a = va_arg(ap, const char *)) != NULL)
        argv[n++] = (char *)a;
    argv[n] = NULL;
}

#endif /* VW_TEST_ARGV_H */
