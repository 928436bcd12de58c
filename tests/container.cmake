# The container image and compose deployment under tools/docker, built and
# run for real with podman (skipped, exit 77, where containers cannot run).
# Label "container": CI runs it once, in its first ctest pass.
find_program(VW_BASH bash)
if(VW_BASH)
  add_test(NAME test_container
           COMMAND ${VW_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/test_container.sh ${PROJECT_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/container_scratch)
  set_tests_properties(test_container PROPERTIES LABELS container TIMEOUT 1200
                       SKIP_RETURN_CODE 77 RUN_SERIAL ON)
endif()
