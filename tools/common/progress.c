/*
 * progress.c - the progress bar (see progress.h).
 */
#include "progress.h"

#include "machine.h"

#include <math.h>
#include <stdio.h>

void tool_progress_start(tool_progress *p, const char *what, uint64_t total, int enabled) {
    *p = (tool_progress){what, total, tool_now(), 0.0, enabled, 0};
}

static void format_duration(char *buf, size_t size, double seconds) {
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

static void progress_draw(tool_progress *p, uint64_t done, double now) {
    enum { WIDTH = 30 };
    double frac = p->total ? (double)done / (double)p->total : 1.0;
    frac = frac > 1.0 ? 1.0 : frac;
    char bar[WIDTH + 1];
    int filled = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[WIDTH] = '\0';
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    char eta[32];
    if (done >= p->total)
        format_duration(eta, sizeof eta, elapsed);
    else
        format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : NAN);
    /* \r plus "erase to end of line": the bar redraws itself in place. */
    fprintf(stderr, "\r%s [%s] %5.1f%%  %llu/%llu  %.0f/s  %s %s\033[K", p->what, bar, frac * 100.0,
            (unsigned long long)done, (unsigned long long)p->total, rate,
            done >= p->total ? "in" : "ETA", eta);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = now;
}

void tool_progress_update(tool_progress *p, uint64_t done) {
    if (!p->enabled)
        return;
    double now = tool_now();
    if (p->drawn && now - p->last_draw < 0.1)
        return;
    progress_draw(p, done, now);
}

void tool_progress_finish(tool_progress *p, uint64_t done) {
    if (!p->enabled)
        return;
    progress_draw(p, done, tool_now());
    fputc('\n', stderr);
    fflush(stderr);
}

int tool_progress_callback(uint64_t done, uint64_t total, void *ctx) {
    (void)total;
    tool_progress_update(ctx, done);
    return 0;
}
