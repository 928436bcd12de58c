/*
 * server.h - the entry point of vw-serve's event loop (server.c), which
 * runs the worker pools of worker.c.
 */
#ifndef VW_SERVE_SERVER_H
#define VW_SERVE_SERVER_H

#include "config.h"
#include "slot.h"

#include <signal.h>
/* Serves `index` (owned from here on) until SIGTERM or SIGINT; SIGHUP loads
 * the index file again and swaps it in, SIGUSR1 asks for a snapshot. With
 * cfg->store the index is the store's and the write API is open; it is
 * then never reloaded from a file (SIGHUP and POST /admin/reload are
 * refused). The caller must have blocked these signals in every thread, so
 * they arrive through a signalfd; the threads started here inherit the
 * mask. Returns 0 after a clean shutdown, 1 if the server could not start
 * (a message was logged). */
int serve_run(served_index *index, const serve_config *cfg, const sigset_t *signals);

#endif /* VW_SERVE_SERVER_H */
