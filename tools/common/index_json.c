/*
 * index_json.c - index statistics and answers as JSON (see index_json.h).
 */
#include "index_json.h"

void tool_json_index_stats(json_writer *w, const vw_stats *s, int64_t file_bytes) {
    const char *metric = vw_metric_name(s->metric), *storage = vw_storage_name(s->storage);
    json_field_u64(w, "count", s->count);
    json_field_u64(w, "dim", s->dim);
    json_field_string(w, "metric", metric ? metric : "?");
    json_field_u64(w, "M", s->M);
    json_field_u64(w, "ef_construction", s->ef_construction);
    json_field_i64(w, "max_level", s->max_level);
    json_field_u64(w, "removed", s->removed);
    json_field_u64(w, "free_slots", s->free_slots);
    json_field_string(w, "storage", storage ? storage : "?");
    json_field_u64(w, "bytes_per_vector", s->bytes_per_vector);
    json_field_u64(w, "code_bytes", s->code_bytes);
    /* without float32 rows the distances of every answer are approximate */
    json_field_bool(w, "float32_kept", s->float32_kept);
    json_field_bool(w, "exact_distances", s->exact_distances);
    json_field_u64(w, "residual_bits", s->residual_bits);
    json_field_u64(w, "memory_bytes", s->memory_bytes);
    json_field_u64(w, "mapped_bytes", s->mapped_bytes);
    json_field_u64(w, "file_bytes", file_bytes > 0 ? (uint64_t)file_bytes : 0);
    json_field_bool(w, "mmap", s->mmapped);
}

void tool_json_result(json_writer *w, const uint64_t *labels, const float *distances,
                      uint32_t found) {
    json_writer_reserve(w, 48 + (size_t)found * 40);
    json_begin_object(w);
    json_key(w, "indices");
    json_begin_array(w);
    for (uint32_t i = 0; i < found; i++)
        json_u64(w, labels[i]);
    json_end_array(w);
    json_key(w, "distances");
    json_begin_array(w);
    for (uint32_t i = 0; i < found; i++)
        json_float(w, distances[i]);
    json_end_array(w);
    json_end_object(w);
}
