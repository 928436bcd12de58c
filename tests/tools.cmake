# End-to-end tests of vw-gen, vw-build, vw-query and vw-bench: C drivers that
# run the real tool binaries (posix_spawn) in a scratch directory and check
# exit statuses, stdout, stderr and the files written.
if(TARGET vw-gen AND TARGET vw-build AND TARGET vw-query AND TARGET vw-bench)
  set(VW_TOOLS_TEST_ARGS $<TARGET_FILE:vw-gen> $<TARGET_FILE:vw-build> $<TARGET_FILE:vw-query>
                         $<TARGET_FILE:vw-bench>)
  # The pipeline runs the tools' own threads (generator, build, ground truth).
  set(VW_TOOLS_TEST_LABELS_pipeline concurrency)
  foreach(t pipeline exact formats errors storage foreign filter)
    vw_add_test(NAME tools_${t} SOURCES test_tools_${t}.c
                LABELS tools ${VW_TOOLS_TEST_LABELS_${t}}
                ARGS ${VW_TOOLS_TEST_ARGS} ${CMAKE_CURRENT_BINARY_DIR}/tools_scratch/${t})
    add_dependencies(tools_${t} vw-gen vw-build vw-query vw-bench)
  endforeach()
  # Faiss and hnswlib files written by the engines (the fuzz seeds).
  target_compile_definitions(tools_foreign PRIVATE VW_SEEDS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds")
endif()
