/*
 * header_check.c - compiled (not linked) as C99, C11 and C++ with
 * -Wall -Wextra -Wpedantic -Werror by tests/install.cmake, to prove that
 * <vwhnsw.h> is self-contained, include-guarded and warning-free in each
 * language. The code must therefore be valid C and C++ at once.
 */
#include "vwhnsw.h"
#include "vwhnsw.h" /* a second inclusion must be harmless */

#if !defined(VW_VERSION_MAJOR) || !defined(VW_VERSION_MINOR) || !defined(VW_VERSION_PATCH)
#error "version macros missing"
#endif
#if VW_VERSION_NUMBER != VW_VERSION_MAJOR * 10000 + VW_VERSION_MINOR * 100 + VW_VERSION_PATCH
#error "VW_VERSION_NUMBER disagrees with the version macros"
#endif

static int keep_all(uint64_t label, void *ctx) {
    (void)label;
    (void)ctx;
    return 1;
}

static int no_progress(uint64_t done, uint64_t total, void *ctx) {
    (void)done;
    (void)total;
    (void)ctx;
    return 0;
}

/* Uses every type and a call of each kind, as a user program would. */
int header_check_use(const char *path);
int header_check_use(const char *path) {
    vw_params params;
    vw_index *index = NULL;
    vw_stats stats;
    vw_dataset *dataset = NULL;
    vw_filter_fn filter = keep_all;
    vw_progress_fn progress = no_progress;
    vw_metric metric = VW_METRIC_L2;
    vw_simd_level level = vw_simd_active();
    float vec[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    uint64_t label = 1;
    float dist = 0.0f;
    uint32_t found = 0;
    vw_status st;

    vw_params_default(&params, 4);
    st = vw_metric_parse("cosine", &metric);
    params.metric = metric;
    if (st == VW_OK)
        st = vw_index_create(&params, &index);
    if (st == VW_OK)
        st = vw_index_add_batch(index, vec, &label, 1, 0, progress, NULL);
    if (st == VW_OK)
        st = vw_index_search(index, vec, 1, 16, filter, NULL, &label, &dist, &found);
    if (st == VW_OK)
        st = vw_index_stats(index, &stats);
    if (st == VW_OK)
        st = vw_index_save(index, path);
    vw_index_free(index);
    if (st == VW_OK)
        st = vw_index_load(path, VW_LOAD_MMAP | VW_LOAD_NO_VERIFY, &index);
    vw_index_free(index);
    if (st == VW_OK)
        st = vw_dataset_read(path, VW_FORMAT_AUTO, &dataset);
    vw_dataset_free(dataset);
    return (int)st + (int)vw_simd_supported(level) + (int)VW_MAX_K + (vw_strerror(st) != NULL);
}
