/*
 * machine.h - what the tools measure about the machine they run on: the
 * monotonic clock, the CPUs and the process's peak memory.
 */
#ifndef VW_TOOLS_MACHINE_H
#define VW_TOOLS_MACHINE_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock. */
double tool_now(void);
/* Online CPUs (at least 1). */
unsigned tool_cpu_count(void);
/* The "model name" line of /proc/cpuinfo, or "unknown". */
void tool_cpu_model(char *buf, size_t size);
/* Peak resident set size of this process in bytes (getrusage). */
uint64_t tool_peak_rss_bytes(void);

#endif /* VW_TOOLS_MACHINE_H */
