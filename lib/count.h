/* count.h - the counting build (cmake -DVW_COUNT=ON): what a search does,
 * counted in the code, since these VMs expose no hardware counters.
 *
 * Each thread adds to its own counters; vw_count_take() returns the
 * calling thread's and zeroes them, so a harness brackets one query (or a
 * pass) on one thread. Without VW_COUNT every VW_COUNT_ADD is an empty
 * statement and nothing here is compiled in: the release build pays
 * nothing. The counts cover what the search reads and does, not the bytes
 * the hardware actually moved (whole lines, prefetches, hits): cachegrind
 * gives those (bench/RESULTS.md, the breakdown). */
#ifndef VW_COUNT_H
#define VW_COUNT_H

#include <stdint.h>

typedef struct vw_counts {
    uint64_t searches;   /* public searches */
    uint64_t distances;  /* code distances of the graph walk (all layers) */
    uint64_t hops;       /* lists read: nodes expanded, and greedy steps */
    uint64_t vec_bytes;  /* bytes of code rows the walk's distances read */
    uint64_t link_bytes; /* bytes of list words read (count and ids) */
    uint64_t heap_push;  /* candidate and result heap pushes */
    uint64_t heap_pop;   /* candidate and result heap pops */
    uint64_t visit_ops;  /* visited-set tests (and sets) */
    uint64_t fresh;      /* neighbours not yet visited (distances computed) */
    uint64_t rerank;     /* candidates re-scored with float32/residual rows */
    uint64_t rerank_bytes;
} vw_counts;

#ifdef VW_COUNT
extern _Thread_local vw_counts vw_count_tls;
#define VW_COUNT_ADD(field, n) (vw_count_tls.field += (uint64_t)(n))
/* The calling thread's counts since the last call; zeroes them. */
vw_counts vw_count_take(void);
#else
#define VW_COUNT_ADD(field, n) ((void)0)
#endif

#endif /* VW_COUNT_H */
