# Vector files (lib/dataset.c, lib/dataset_npy.c): round trips of every
# format, hand-built .npy files, refusals, and bounded memory on large files.
vw_add_test(NAME dataset_roundtrip SOURCES test_dataset_roundtrip.c)
vw_add_test(NAME dataset_npy SOURCES test_dataset_npy.c INTERNAL)
vw_add_test(NAME dataset_errors SOURCES test_dataset_errors.c)
vw_add_test(NAME dataset_memory SOURCES test_dataset_memory.c)
