/*
 * listener.h - the listening socket of vw-serve's event loop (listener.c).
 */
#ifndef VW_SERVE_LISTENER_H
#define VW_SERVE_LISTENER_H

#include "conn.h"

/* Opens s->listen_fd on cfg->host and cfg->port; *port_out is the port
 * bound (cfg->port 0: any free one). 0, or -1 after logging why. */
int open_listener(server *s, unsigned *port_out);
/* Accepts every waiting connection (loop 0): a conn each, given to a loop
 * (serve_adopt), or a 503 and close beyond --max-connections or without a
 * descriptor. */
void accept_all(server *s);
/* Whether the listener takes loopback clients only. */
int listener_is_loopback(const server *s);

#endif /* VW_SERVE_LISTENER_H */
