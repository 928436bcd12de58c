# vw-serve: the HTTP/1.1 search API (sources in tools/serve/, see server.c).
# libc + pthreads only: epoll, eventfd and signalfd, so Linux.
vw_add_tool(NAME vw-serve SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/serve_main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/server.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/dispatch.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/respond.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/listener.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/auth.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/worker.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/slot.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/fault.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/log.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/access_log.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/metrics.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/openapi.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/api.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/api_vectors.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/api_bulk.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/bulk.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/writes.c
  ${CMAKE_CURRENT_SOURCE_DIR}/serve/http.c)
target_include_directories(vw-serve PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/serve)
