/*
 * vw_assert.h - the invariants lib/ states in its comments, checked.
 *
 * Comments in lib/ promise rules the code relies on: a heap never grows past
 * the capacity reserved for it, a neighbour list never holds more than its
 * maximum, a thread holds at most one node lock, a node is placed only where
 * room was reserved. VW_ASSERT(cond) checks such a rule where it matters.
 *
 * A broken rule is a bug in the library, never a consequence of bad input
 * (bad input gets a vw_status, in every build). Builds that define
 * VW_ASSERTIONS (CMake: Debug and sanitizer builds by default, see
 * VW_ASSERTIONS in the top-level CMakeLists.txt) stop at the first broken rule
 * with its file, line and condition on stderr, so the AddressSanitizer and
 * ThreadSanitizer runs of CI check what the comments say. Release builds
 * compile the checks out: the condition is not evaluated, so it must have
 * no side effects.
 */
#ifndef VW_ASSERT_H
#define VW_ASSERT_H

#ifdef VW_ASSERTIONS
/* Writes "libvwhnsw: FILE:LINE: invariant broken: COND" and aborts. */
void vw_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn, cold));
#define VW_ASSERT(cond) ((cond) ? (void)0 : vw_assert_fail(#cond, __FILE__, __LINE__))
#else
/* sizeof keeps the names in cond used without evaluating anything. */
#define VW_ASSERT(cond) ((void)sizeof(cond))
#endif

#endif /* VW_ASSERT_H */
