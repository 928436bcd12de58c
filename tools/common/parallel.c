/*
 * parallel.c - run one function on N threads and wait (see parallel.h).
 */
#include "parallel.h"

#include "machine.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct worker_arg {
    void (*fn)(void *ctx, unsigned worker);
    void *ctx;
    unsigned worker;
} worker_arg;

static void *worker_main(void *p) {
    worker_arg *w = p;
    w->fn(w->ctx, w->worker);
    return NULL;
}

void tool_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx) {
    if (threads == 0)
        threads = tool_cpu_count();
    pthread_t *tids = threads > 1 ? calloc(threads, sizeof *tids) : NULL;
    worker_arg *args = threads > 1 ? calloc(threads, sizeof *args) : NULL;
    unsigned started = 1;
    for (; tids && args && started < threads; started++) {
        args[started] = (worker_arg){fn, ctx, started};
        if (pthread_create(&tids[started], NULL, worker_main, &args[started]) != 0)
            break;
    }
    fn(ctx, 0);
    for (unsigned i = 1; i < started && tids; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    free(args);
}
