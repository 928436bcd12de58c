# The shard hash, and vw-serve shards behind the nginx + njs router of
# tools/cluster/ on loopback (label "cluster"; skipped, exit 77, without
# nginx or its njs module; .ci/run installs both).
vw_add_test(NAME test_cluster_hash SOURCES test_cluster_hash.c LABELS cluster)
if(TARGET vw-serve)
  set(VW_CLUSTER_SCRATCH ${CMAKE_CURRENT_BINARY_DIR}/cluster_scratch)
  foreach(t router recall failover bulk)
    vw_add_test(NAME test_cluster_${t} SOURCES test_cluster_${t}.c LABELS cluster TIMEOUT 300
                ARGS $<TARGET_FILE:vw-serve> ${VW_CLUSTER_SCRATCH}/${t}
                     ${PROJECT_SOURCE_DIR}/tools/cluster)
    set_tests_properties(test_cluster_${t} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endif()
