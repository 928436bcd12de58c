/* libFuzzer target over the Faiss reader (lib/foreign_faiss.c).
 * Seeds: tests/fuzz/seeds/fuzz_faiss/, IndexHNSWFlat files (bare, in
 * IndexIDMap and IndexIDMap2, L2 and inner product) written by Faiss itself
 * through tests/foreign_engines.py. */
#include "fuzz_foreign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The metric is in the file; the option must agree with it, so try
     * both: one import reads the whole file, the other stops at the check. */
    ff_run(data, size, VW_INDEX_FORMAT_FAISS, VW_METRIC_L2);
    ff_run(data, size, VW_INDEX_FORMAT_FAISS, VW_METRIC_IP);
    return 0;
}
