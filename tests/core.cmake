# Core library tests: kernels, exact search, recall, determinism, errors,
# concurrency.
vw_add_test(NAME test_core_kernels SOURCES test_core_kernels.c INTERNAL)
vw_add_test(NAME test_core_exact SOURCES test_core_exact.c)
vw_add_test(NAME test_core_bruteforce SOURCES test_core_bruteforce.c LABELS concurrency)
vw_add_test(NAME test_core_storage SOURCES test_core_storage.c)
vw_add_test(NAME test_core_recall SOURCES test_core_recall.c ARGS clustered TIMEOUT 1500)
add_test(NAME test_core_recall_gaussian COMMAND test_core_recall gaussian)
set_tests_properties(test_core_recall_gaussian PROPERTIES TIMEOUT 1500)
vw_add_test(NAME test_core_reorder SOURCES test_core_reorder.c)
vw_add_test(NAME test_core_determinism SOURCES test_core_determinism.c)
vw_add_test(NAME test_core_next_ids SOURCES test_core_next_ids.c LABELS concurrency)
vw_add_test(NAME test_core_errors SOURCES test_core_errors.c LABELS concurrency)
vw_add_test(NAME test_core_concurrency SOURCES test_core_concurrency.c LABELS concurrency)
vw_add_test(NAME test_core_reachable SOURCES test_core_reachable.c LABELS concurrency)
# The invariants VW_ASSERT checks; skipped in builds without assertions.
vw_add_test(NAME test_core_invariants SOURCES test_core_invariants.c INTERNAL)
set_tests_properties(test_core_invariants PROPERTIES SKIP_RETURN_CODE 77)
