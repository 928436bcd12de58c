# The durable store (snapshot + write log), alone and with concurrent writers.
vw_add_test(NAME test_store SOURCES test_store.c LABELS concurrency)
