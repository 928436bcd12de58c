/* The counting build's per-thread counters (count.h). Compiled only with
 * -DVW_COUNT=ON. */
#include "count.h"

_Thread_local vw_counts vw_count_tls;

vw_counts vw_count_take(void) {
    vw_counts c = vw_count_tls;
    vw_count_tls = (vw_counts){0};
    return c;
}
