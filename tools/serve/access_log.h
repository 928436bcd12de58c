/*
 * access_log.h - vw-serve's access log (--access-log FILE|-): one line per
 * answered request, written by a thread of its own.
 *
 *   2026-11-30T12:04:05.123456Z 127.0.0.1:53412 POST /search 200 341 0.412 loader 203.0.113.7
 *
 * Fields, separated by one space: the time the answer was queued (UTC,
 * microseconds), the client address:port, the method and the target as
 * sent (query string included; "- -" when the request line could not be
 * read), the status, the body bytes of the answer (0 for HEAD) and the
 * latency in milliseconds (from the parsed head to the queued answer, as in
 * GET /metrics), the name of the API key that was accepted (auth.h) and the
 * request's X-Forwarded-For with its spaces removed (the client's address
 * as a TLS proxy in front saw it), each "-" when there is none. No field
 * holds a space, so `awk '{print $5}'` is the status.
 *
 * The thread that answers only copies the fields into a ring (a mutex held
 * for a memcpy, no system call, no formatting); the writer thread formats
 * batches of lines and writes them with one write(2) each, so a slow disk
 * or a full pipe never delays an answer. When the ring is full (the writer
 * has fallen 16,384 lines behind) a line is dropped and counted
 * (GET /metrics vw_access_log_dropped_total, /stats access_log_dropped).
 * Lines reach the file within about 50 ms, and all are written at a clean
 * shutdown.
 */
#ifndef VW_SERVE_ACCESS_LOG_H
#define VW_SERVE_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Opens `path` for appending ("-" is standard output) and starts the
 * writer. 0, or -1 with a reason in err. */
int access_log_open(const char *path, char *err, size_t err_size);

/* Queues the line of one answered request; a no-op when the log is off.
 * `request` is "METHOD /target" or "-"; key_name and forwarded are "-"
 * when absent. */
void access_log_record(const char *peer, const char *request, int status, uint64_t bytes,
                       uint64_t latency_ns, const char *key_name, const char *forwarded);

/* Writes what is queued (waiting at most a second), stops the writer and
 * closes the file. */
void access_log_close(void);

uint64_t access_log_dropped(void);

#endif /* VW_SERVE_ACCESS_LOG_H */
