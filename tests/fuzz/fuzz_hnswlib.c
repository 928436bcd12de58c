/* libFuzzer target over the hnswlib reader (lib/foreign_hnswlib.c).
 * Seeds: tests/fuzz/seeds/fuzz_hnswlib/, saveIndex files (spaces l2, ip and
 * cosine, one with deleted marks, an empty one) written by hnswlib itself
 * through tests/foreign_engines.py. */
#include "fuzz_foreign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The file does not record its space; the last byte picks one, so the
     * cosine path (normalization, zero vectors) is fuzzed too. */
    static const vw_metric metrics[] = {VW_METRIC_L2, VW_METRIC_IP, VW_METRIC_COSINE};
    ff_run(data, size, VW_INDEX_FORMAT_HNSWLIB, metrics[size ? data[size - 1] % 3 : 0]);
    return 0;
}
