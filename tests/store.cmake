# The durable store (snapshot + write log), alone and with concurrent writers.
vw_add_test(NAME test_store SOURCES test_store.c LABELS concurrency)
# The write path's faults: validation before the log, the log bound to its
# snapshot, stale temporaries, compact kinds that cannot hold the data.
vw_add_test(NAME test_store_faults SOURCES test_store_faults.c INTERNAL)
# Every write, sync, truncation and rename of a write-and-snapshot script
# failed in turn (and writes cut short, and a disk that stays full).
vw_add_test(NAME test_store_inject SOURCES test_store_inject.c INTERNAL)
# Attributes through the store: in the log's records (type 3), replay,
# snapshots, refused before the log, torn and damaged records, version-2 logs.
vw_add_test(NAME test_store_attrs SOURCES test_store_attrs.c INTERNAL)
