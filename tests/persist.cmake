# Index file tests: round trip, damaged files, atomic save, CRC32C.
vw_add_test(NAME test_persist_roundtrip SOURCES test_persist_roundtrip.c)
vw_add_test(NAME test_persist_corrupt SOURCES test_persist_corrupt.c INTERNAL)
vw_add_test(NAME test_persist_atomic SOURCES test_persist_atomic.c INTERNAL)
vw_add_test(NAME test_persist_crc SOURCES test_persist_crc.c INTERNAL)
# Also writes the starting corpus of the fuzz_load target (see tests/fuzz/fuzz_load.c).
vw_add_test(NAME test_persist_seeds SOURCES test_persist_seeds.c
            ARGS ${CMAKE_CURRENT_BINARY_DIR}/seeds_fuzz_load)
vw_add_test(NAME test_persist_concurrent SOURCES test_persist_concurrent.c LABELS concurrency)
# Files of format version 1, kept in tests/data, still load.
vw_add_test(NAME test_persist_v1 SOURCES test_persist_v1.c ARGS ${CMAKE_CURRENT_SOURCE_DIR}/data)
