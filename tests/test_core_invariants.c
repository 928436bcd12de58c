/* The invariants of lib/ are checked in builds with assertions (Debug and
 * sanitizer builds): breaking one stops the process with a message naming
 * it. Each case breaks one rule in a child process on purpose and expects
 * SIGABRT; a build without assertions skips the test (exit 77). */
#include "testutil.h"
#include "vw_internal.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child with stderr silenced; true if the child was aborted. */
static bool aborts(void (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(3);
        fn();
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* A heap never grows past the capacity reserved for it. */
static void overfill_heap(void) {
    vw_heap h = {0};
    if (vw_heap_reserve(&h, 2) != VW_OK)
        _exit(3);
    for (uint32_t i = 0; i < 3; i++)
        vw_heap_push_max(&h, (vw_cand){(float)i, i});
    free(h.items);
}

/* A thread holds at most one node lock. */
static void take_two_node_locks(void) {
    vw_params p;
    vw_params_default(&p, 4);
    vw_index *ix = NULL;
    float v[4] = {1, 0, 0, 0};
    if (vw_index_create(&p, &ix) != VW_OK || vw_index_add(ix, v, 0) != VW_OK)
        _exit(3);
    vw_node_lock_take(ix, 0);
    vw_node_lock_take(ix, 1);
}

/* A label enters the label map only while absent (slots are reused in any
 * order, but a label names one live node). */
static void insert_a_label_twice(void) {
    vw_labelmap m;
    vw_labelmap_init(&m);
    uint64_t labels[2] = {0, 0};
    (void)vw_labelmap_insert(&m, labels, 0, 2);
    (void)vw_labelmap_insert(&m, labels, 1, 2);
}

/* The same operations within the rules do not stop the process. */
static void keep_the_rules(void) {
    vw_heap h = {0};
    if (vw_heap_reserve(&h, 2) != VW_OK)
        _exit(3);
    vw_heap_push_max(&h, (vw_cand){1, 1});
    vw_heap_push_max(&h, (vw_cand){2, 2});
    free(h.items);
}

int main(void) {
#ifndef VW_ASSERTIONS
    printf("test_core_invariants: skipped (built without VW_ASSERTIONS)\n");
    return 77;
#else
    CHECK(aborts(overfill_heap));
    CHECK(aborts(take_two_node_locks));
    CHECK(aborts(insert_a_label_twice));
    CHECK(!aborts(keep_the_rules));
    return tu_result("test_core_invariants");
#endif
}
