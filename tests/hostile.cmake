# The hostile-input campaign: what a careless or hostile user does to the
# tools and to vw-serve (raw HTTP, hostile JSON, special files, same-file
# outputs, full disks, files changed under a mapping, unread logs, huge
# requests, slow readers, descriptor limits). Three programs; each ctest
# entry runs one case. They run on every build CI makes, ASan included.
if(TARGET vw-serve AND TARGET vw-gen AND TARGET vw-build AND TARGET vw-query AND TARGET vw-bench)
  set(_vw_hostile_bins $<TARGET_FILE:vw-serve> $<TARGET_FILE:vw-gen> $<TARGET_FILE:vw-build>
                       $<TARGET_FILE:vw-query> $<TARGET_FILE:vw-bench>)
  set(_vw_hostile_scratch ${CMAKE_CURRENT_BINARY_DIR}/hostile_scratch)
  set(_vw_hostile_http http json)
  set(_vw_hostile_files special_paths same_file full_disk mmap_nan)
  set(_vw_hostile_serve mmap_overwrite log_pipe work_budget slow_reader fd_limit)
  # The server's reload, log and worker threads at work: under ThreadSanitizer too.
  set(_vw_hostile_threaded mmap_overwrite log_pipe work_budget fd_limit)
  foreach(_prog http files serve)
    add_executable(test_hostile_${_prog} test_hostile_${_prog}.c)
    vw_target_defaults(test_hostile_${_prog})
    target_compile_definitions(test_hostile_${_prog} PRIVATE _GNU_SOURCE)
    target_include_directories(test_hostile_${_prog} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(test_hostile_${_prog} PRIVATE vwhnsw_static Threads::Threads m)
    add_dependencies(test_hostile_${_prog} vw-serve vw-gen vw-build vw-query vw-bench)
    if(_prog STREQUAL "serve") # the SIGBUS guard is also tried in process
      target_sources(test_hostile_serve PRIVATE ${PROJECT_SOURCE_DIR}/tools/serve/fault.c)
      target_include_directories(test_hostile_serve PRIVATE ${PROJECT_SOURCE_DIR}/tools/serve)
    endif()
    foreach(_case ${_vw_hostile_${_prog}})
      add_test(NAME hostile_${_case}
               COMMAND test_hostile_${_prog} ${_case} ${_vw_hostile_bins} ${_vw_hostile_scratch})
      set(_labels hostile)
      if(_case IN_LIST _vw_hostile_threaded)
        list(APPEND _labels concurrency)
      endif()
      set_tests_properties(hostile_${_case} PROPERTIES LABELS "${_labels}" TIMEOUT 600)
    endforeach()
  endforeach()
endif()
