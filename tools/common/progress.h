/*
 * progress.h - a one-line progress bar on stderr, redrawn at most ten times
 * a second: "what [=====>    ]  45.2%  452000/1000000  8123/s  ETA 1:07".
 * Drawn only when enabled (the caller decides: a terminal and not --quiet).
 */
#ifndef VW_TOOLS_PROGRESS_H
#define VW_TOOLS_PROGRESS_H

#include <stdint.h>

typedef struct tool_progress {
    const char *what;
    uint64_t total;
    double start;
    double last_draw;
    int enabled;
    int drawn;
} tool_progress;

void tool_progress_start(tool_progress *p, const char *what, uint64_t total, int enabled);
void tool_progress_update(tool_progress *p, uint64_t done);
/* Draws the final state and ends the line (if anything was drawn). */
void tool_progress_finish(tool_progress *p, uint64_t done);

/* A vw_progress_fn that updates the bar given as ctx: for the library's
 * long calls (batch inserts, exact search), which call it on the caller's
 * thread. Never cancels. */
int tool_progress_callback(uint64_t done, uint64_t total, void *ctx);

#endif /* VW_TOOLS_PROGRESS_H */
