/*
 * log.h - vw-serve's log: one line per event on stderr, never blocking the
 * threads that serve requests.
 *
 * Nothing guarantees that anyone reads stderr: a pipe nobody drains fills
 * after 64 KiB, and a blocking write(2) from the event loop would then
 * freeze every connection and the shutdown. So lines are queued (a bounded
 * ring) and a thread of their own writes them, waiting with poll(2) until
 * stderr takes a line without blocking. When the ring is full a line is
 * dropped and counted (/stats "log_dropped"); a line is never half written.
 */
#ifndef VW_SERVE_LOG_H
#define VW_SERVE_LOG_H

#include <stdint.h>

/* Starts the writer thread; -1 if it cannot be created (lines are then
 * written only when stderr is ready at once, else dropped). */
int serve_log_start(void);

/* Queues "vw-serve: <message>\n". Thread-safe; never blocks on stderr. */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Gives the writer up to a second to write what is queued, then stops it;
 * later lines are written only if stderr is ready at once. */
void serve_log_stop(void);

/* Lines dropped because stderr did not take them in time. */
uint64_t serve_log_dropped(void);

#endif /* VW_SERVE_LOG_H */
