/*
 * cli.h - the command-line contract every tool keeps: messages, exit
 * statuses and the parsing of option values.
 *
 * Errors are one line on stderr, "vw-xxx: FILE: problem", then exit status
 * 1; a usage error says what was wrong with the command line, adds "try
 * 'vw-xxx --help'" and exits 2. Every numeric option is range-checked with a
 * message that names the option. Nothing here is part of the library's API.
 */
#ifndef VW_TOOLS_CLI_H
#define VW_TOOLS_CLI_H

#include "vwhnsw.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TOOL_NORETURN     __attribute__((noreturn))
#define TOOL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TOOL_NORETURN
#define TOOL_PRINTF(f, a)
#endif

/* Exit statuses shared by every tool. */
enum { TOOL_EXIT_OK = 0, TOOL_EXIT_FAILURE = 1, TOOL_EXIT_USAGE = 2 };

/* ------------------------------------------------------------ messages */

/* Records the program name used as the prefix of every message and refuses
 * to start (exit 1, one line) when the VW_SIMD environment variable names an
 * unknown or unsupported kernel set. Call first in main. */
void tool_init(const char *name);

/* "NAME: message" on stderr (one line), then exit(1). */
TOOL_NORETURN void tool_die(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: message" on stderr (one line), without exiting. */
void tool_warn(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: message; try 'NAME --help'" on stderr (one line), then exit(2). */
TOOL_NORETURN void tool_usage_error(const char *fmt, ...) TOOL_PRINTF(1, 2);
/* "NAME: WHAT: <vw_strerror(status)>[: <detail>]" then exit(1). WHAT is
 * usually a file name. The detail is vw_last_error_detail(), so call this
 * right after the failing library call. */
TOOL_NORETURN void tool_die_status(vw_status status, const char *what);
/* The same message as tool_die_status, formatted into buf. */
void tool_format_status(char *buf, size_t size, vw_status status, const char *what);

/* ------------------------------------------------------------ getopt */

/* The cases every tool's getopt_long switch ends with (the option string
 * must start with ':' and opterr be 0): 'h' prints the usage and exits 0,
 * 'V' prints "NAME VERSION" and exits 0, anything else is a usage error
 * naming the offending option (exit 2). */
TOOL_NORETURN void tool_other_option(int c, char **argv, void (*usage)(void));
/* A usage error for the first operand left after the options, if any. */
void tool_no_operands(int argc, char **argv);

/* ------------------------------------------------------------ option values */

/* Parse a whole option argument as an integer / real in [min, max]; on any
 * problem (not a number, trailing junk, out of range) exit(2) with a message
 * naming the option, e.g. "-k: 0 is out of range 1..4096". */
uint64_t tool_parse_u64(const char *option, const char *arg, uint64_t min, uint64_t max);
uint32_t tool_parse_u32(const char *option, const char *arg, uint32_t min, uint32_t max);
double tool_parse_double(const char *option, const char *arg, double min, double max);
/* A comma-separated list of integers in [min, max], at most cap of them, in
 * the order given; returns how many. Exit(2) on an empty or bad list. */
size_t tool_parse_u32_list(const char *option, const char *arg, uint32_t min, uint32_t max,
                           uint32_t *out, size_t cap);

/* Parses one vector of floats: tokens separated by commas and/or whitespace,
 * optionally wrapped in one pair of [ ]. Every token must be a finite float;
 * empty tokens ("1,,2") are refused. Writes at most cap values to out and
 * returns the number of tokens (which may exceed cap), or -1 with a reason
 * in err on a malformed token. */
long tool_parse_vector(const char *text, float *out, size_t cap, char *err, size_t err_size);

#endif /* VW_TOOLS_CLI_H */
