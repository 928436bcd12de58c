/*
 * parallel.h - the tools' one thread fan-out, for work the library does not
 * do itself (generating vectors; the library spreads its own batch calls).
 */
#ifndef VW_TOOLS_PARALLEL_H
#define VW_TOOLS_PARALLEL_H

/* Runs fn(ctx, worker) on `threads` threads, the caller's being worker 0,
 * and waits for all. A thread that cannot be started is not an error: fn
 * must take its work from a shared counter, so fewer workers finish the
 * same work, only later. threads 0 = all CPUs. */
void tool_parallel(unsigned threads, void (*fn)(void *ctx, unsigned worker), void *ctx);

#endif /* VW_TOOLS_PARALLEL_H */
