/*
 * parallel.c - run one function on N threads and wait (see parallel.h).
 */
#include "parallel.h"

#include "machine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct fanout {
    void (*fn)(void *ctx, unsigned worker);
    void *ctx;
    atomic_uint next_worker; /* each thread takes its number from here */
} fanout;

static void *run_worker(void *p) {
    fanout *f = p;
    f->fn(f->ctx, atomic_fetch_add(&f->next_worker, 1));
    return NULL;
}

void tool_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx) {
    if (threads == 0)
        threads = tool_cpu_count();
    fanout f = {fn, ctx, 0};
    atomic_init(&f.next_worker, 1); /* 0 is the caller */
    pthread_t *tids = threads > 1 ? calloc(threads - 1, sizeof *tids) : NULL;
    unsigned started = 0;
    while (tids && started < threads - 1 &&
           pthread_create(&tids[started], NULL, run_worker, &f) == 0)
        started++;
    fn(ctx, 0);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
}
