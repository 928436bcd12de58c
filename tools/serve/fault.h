/*
 * fault.h - vw-serve survives an index file that shrinks under its mapping.
 *
 * With --mmap the index is the file's pages. If someone truncates or
 * rewrites the file in place (`cp new.vwi served.vwi`), reading a page past
 * the file's new end raises SIGBUS, whose default action kills the server.
 * The library installs no signal handlers (a library must not), so the
 * server does: while a thread is inside a guarded region (a search, or a
 * load), a SIGBUS at an address of a vanished file page is answered by
 * mapping a page of zeros there and returning. The interrupted code then
 * reads zeros, which the library's searches handle like any other bytes a
 * changed file may hold (they never leave the arrays; see lib/search.c), so
 * no lock or buffer is abandoned half-way, as a longjmp out of the library
 * would do. The guarded code learns that a fault happened and throws its
 * result away: the request gets 503 and the index is reloaded (slot.h).
 *
 * A SIGBUS anywhere else, or of another kind (a hardware memory error), still
 * gets the default action.
 */
#ifndef VW_SERVE_FAULT_H
#define VW_SERVE_FAULT_H

#include <stdint.h>

/* Installs the SIGBUS handler; -1 on failure. */
int fault_guard_install(void);

/* Marks the calling thread as reading mapped index pages. */
void fault_guard_enter(void);
/* Ends the region; returns the faults the thread took inside it. */
unsigned fault_guard_leave(void);

/* Marks a load in progress, on any thread: the library's loader checks
 * large files on helper threads of its own, which cannot be marked. */
void fault_guard_loading(int delta);

/* Faults handled since start (for /stats); also what a load compares to
 * notice a fault on one of its helper threads. */
uint64_t fault_guard_total(void);

#endif /* VW_SERVE_FAULT_H */
