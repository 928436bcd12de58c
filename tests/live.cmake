# The live index: removals, upserts and purges, alone and racing searches.
vw_add_test(NAME test_live_churn SOURCES test_live_churn.c)
vw_add_test(NAME test_live_concurrency SOURCES test_live_concurrency.c LABELS concurrency
            TIMEOUT 600)
vw_add_test(NAME test_live_persist SOURCES test_live_persist.c
            ARGS ${CMAKE_CURRENT_SOURCE_DIR}/data/format1.vwi
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/format2.vwi)
vw_add_test(NAME test_live_writers SOURCES test_live_writers.c LABELS concurrency TIMEOUT 600)
# Every live element stays reachable after purges, on a workload that once
# cut nodes off (a dense cluster, writes spread far around it).
vw_add_test(NAME test_live_reach SOURCES test_live_reach.c)
# An index that loses most of its labels compacts itself while searches run.
vw_add_test(NAME test_live_compact SOURCES test_live_compact.c LABELS concurrency TIMEOUT 600)
# Removals do not lengthen the lists of the nodes that stay.
vw_add_test(NAME test_live_degree SOURCES test_live_degree.c INTERNAL)
