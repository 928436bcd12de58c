# vw-serve: the HTTP/1.1 search API (sources in tools/serve/, see server.c).
# libc + pthreads only: epoll, eventfd and signalfd, so Linux.
add_executable(vw-serve
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/serve_main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/server.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/slot.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/fault.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/log.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/api.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/api_vectors.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/writes.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/json.c
  ${CMAKE_CURRENT_SOURCE_DIR}/common.c)
vw_target_defaults(vw-serve)
target_compile_definitions(vw-serve PRIVATE _GNU_SOURCE)
target_include_directories(vw-serve PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(vw-serve PRIVATE ${VW_TOOL_LIB} Threads::Threads m)
target_link_options(vw-serve PRIVATE ${VW_TOOL_LINK_OPTIONS})
