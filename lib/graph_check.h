/* graph_check.h - the rules every graph in an index obeys, wherever it was
 * read from: our own index files (persist_check.c) and the Faiss and
 * hnswlib files vw_index_import reads (foreign.c). A graph that passes
 * cannot send a search to an id outside the arrays, into a layer a node is
 * not on, or start it anywhere but the top. Every failure is
 * VW_ERR_CORRUPT with a detail that begins with `what` (the section or the
 * part of the file the graph came from). */
#ifndef VW_GRAPH_CHECK_H
#define VW_GRAPH_CHECK_H

#include "vw_internal.h"

/* The levels of n nodes and the entry point. Slots not in use (those whose
 * byte in `states` is `free`; states may be NULL: all in use) are on level
 * 0; the highest level of the others is max_level and entry is one of them
 * on it; with none in use, entry is VW_NO_NODE. */
vw_status vw_graph_check_levels(const char *what, const uint8_t *levels, uint64_t n,
                                const uint8_t *states, uint8_t free, uint32_t entry,
                                int32_t max_level);

/* The list of node `node` on `layer`: count <= cap, every id < n and, with
 * levels (NULL for layer 0), on `layer` or above. */
vw_status vw_graph_check_list(const char *what, uint64_t node, unsigned layer, const uint32_t *ids,
                              uint32_t count, uint32_t cap, uint64_t n, const uint8_t *levels);

#endif /* VW_GRAPH_CHECK_H */
