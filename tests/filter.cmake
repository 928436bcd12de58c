# Attributes and filtered search: the filter language, exactness at every
# selectivity against brute force, attributes through save/load/mmap and
# damaged attribute sections.
vw_add_test(NAME test_filter_lang SOURCES test_filter_lang.c)
vw_add_test(NAME test_filter_exact SOURCES test_filter_exact.c ARGS ${CMAKE_CURRENT_BINARY_DIR})
