/*
 * index_json.h - what the tools say about an index in JSON, in the same
 * words everywhere: its statistics (vw-query --stats, vw-bench's results,
 * vw-serve's /stats) and the answer to one query (vw-query --json and
 * vw-serve's /search, the original Python service's shape).
 */
#ifndef VW_TOOLS_INDEX_JSON_H
#define VW_TOOLS_INDEX_JSON_H

#include "json.h"
#include "vwhnsw.h"

/* Writes the members count, dim, metric, M, ef_construction, max_level,
 * storage, bytes_per_vector, code_bytes, float32_kept, exact_distances,
 * residual_bits, memory_bytes, mapped_bytes, file_bytes and mmap into the
 * object being written. file_bytes < 0 (unknown) is written as 0. */
void tool_json_index_stats(json_writer *w, const vw_stats *s, int64_t file_bytes);

/* {"indices":[...],"distances":[...]}: one query's `found` results, nearest
 * first. A distance that is not finite marks the writer (json.h). */
void tool_json_result(json_writer *w, const uint64_t *labels, const float *distances,
                      uint32_t found);

#endif /* VW_TOOLS_INDEX_JSON_H */
