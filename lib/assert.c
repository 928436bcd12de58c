/* The failure path of VW_ASSERT (vw_assert.h), and the bookkeeping some
 * invariants need. Compiled into every build; used only where VW_ASSERTIONS
 * is defined. */
#include "vw_internal.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef VW_ASSERTIONS
_Thread_local unsigned vw_node_locks_held;

void vw_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "libvwhnsw: %s:%d: invariant broken: %s\n", file, line, cond);
    fflush(stderr);
    abort();
}
#endif
