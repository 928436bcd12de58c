/* The failure path of VW_ASSERT (vw_assert.h), and the bookkeeping some
 * invariants need: the node stripes and the locks each thread holds
 * (vw_locks.h). Compiled into every build; used only where VW_ASSERTIONS
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

/* The indexes whose locks this thread holds. A thread rarely works on more
 * than one or two at once (a callback of one index writing another); more
 * than HELD_MAX at once is a bug of the bookkeeping (an owner never handed
 * over), which the assertion below reports. */
#define HELD_MAX 16
typedef struct held {
    const vw_index *ix;
    unsigned locks;
} held;
static _Thread_local held held_by_me[HELD_MAX];

static held *find_held(const vw_index *ix) {
    for (unsigned i = 0; i < HELD_MAX; i++)
        if (held_by_me[i].ix == ix)
            return &held_by_me[i];
    return NULL;
}

void vw_lock_note(const vw_index *ix, unsigned lock, bool on) {
    held *h = find_held(ix);
    if (!h && !on)
        return;
    if (!h) {
        h = find_held(NULL);
        VW_ASSERT(h != NULL);
        h->ix = ix;
    }
    h->locks = on ? h->locks | lock : h->locks & ~lock;
    if (h->locks == 0)
        h->ix = NULL;
}

void vw_lock_forget(const vw_index *ix) {
    held *h = ix ? find_held(ix) : NULL;
    if (h)
        *h = (held){0};
}

unsigned vw_lock_note_worker(const vw_index *ix) {
    unsigned added =
        vw_holds_any(ix, VW_HELD_WRITER) ? VW_HELD_BATCH : VW_HELD_WRITER | VW_HELD_BATCH;
    vw_lock_note(ix, added, true);
    return added;
}

bool vw_holds(const vw_index *ix, unsigned locks) {
    const held *h = find_held(ix);
    return h && ((h->locks & VW_HELD_OWNER) || (h->locks & locks) == locks);
}

bool vw_holds_any(const vw_index *ix, unsigned locks) {
    const held *h = find_held(ix);
    return h && (h->locks & locks) != 0;
}
#endif
