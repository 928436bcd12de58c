# vw-gen, vw-build, vw-query, vw-bench: thin programs over the public API.
# tools/common.c (options, numbers, timing, progress bar, JSON, the synthetic
# data generator) and the JSON reader of tools/serve/json.c are compiled into
# each of them.
foreach(tool gen build query bench)
  add_executable(vw-${tool} ${CMAKE_CURRENT_LIST_DIR}/vw_${tool}.c ${CMAKE_CURRENT_LIST_DIR}/common.c
    ${CMAKE_CURRENT_LIST_DIR}/serve/json.c)
  vw_target_defaults(vw-${tool})
  target_compile_definitions(vw-${tool} PRIVATE _GNU_SOURCE)
  target_link_libraries(vw-${tool} PRIVATE ${VW_TOOL_LIB} Threads::Threads m)
  target_link_options(vw-${tool} PRIVATE ${VW_TOOL_LINK_OPTIONS})
endforeach()
