/* A minimal fork-join helper for the batch calls: run one function on N
 * threads, the caller's thread being worker 0, and wait for all. */
#include "vw_internal.h"

#include <stdlib.h>
#include <unistd.h>

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

unsigned vw_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > 1024 ? 1024u : (unsigned)n;
}

vw_status vw_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx) {
    if (threads <= 1) {
        fn(ctx, 0);
        return VW_OK;
    }
    pthread_t *tids = calloc(threads, sizeof *tids);
    worker_arg *args = calloc(threads, sizeof *args);
    if (!tids || !args) {
        free(tids);
        free(args);
        return vw_fail(VW_ERR_NOMEM, "thread table for %u threads", threads);
    }
    unsigned started = 1;
    for (; started < threads; started++) {
        args[started] = (worker_arg){fn, ctx, started};
        if (pthread_create(&tids[started], NULL, worker_main, &args[started]) != 0)
            break;
    }
    /* Workers pull their work from a shared counter, so fewer threads than
     * asked still finish the job: a failed pthread_create costs speed only. */
    fn(ctx, 0);
    for (unsigned i = 1; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    free(args);
    return VW_OK;
}
