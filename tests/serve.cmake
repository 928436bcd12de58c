# vw-serve tests: the HTTP parser, the JSON reader and writer and the HTTP
# API layer as units (no sockets), then the real server binary end to end on
# a free loopback port, and scale-out behind nginx.
set(VW_SERVE_SRC ${PROJECT_SOURCE_DIR}/tools/serve)

vw_add_test(NAME test_serve_http SOURCES test_serve_http.c ${VW_SERVE_SRC}/http.c)
target_include_directories(test_serve_http PRIVATE ${VW_SERVE_SRC})
if(TARGET vw_tools)
  # The float writer of every answer against snprintf's "%.9g" and strtof.
  vw_add_test(NAME test_json_float SOURCES test_json_float.c)
  target_link_libraries(test_json_float PRIVATE vw_tools)
  foreach(t json api)
    vw_add_test(NAME test_serve_${t} SOURCES test_serve_${t}.c ${VW_SERVE_SRC}/api.c
                ${VW_SERVE_SRC}/api_vectors.c ${VW_SERVE_SRC}/api_bulk.c ${VW_SERVE_SRC}/http.c)
    target_include_directories(test_serve_${t} PRIVATE ${VW_SERVE_SRC})
    # vw_tools calls the library: the archive goes after it on the link line
    target_link_libraries(test_serve_${t} PRIVATE vw_tools vwhnsw_static)
  endforeach()
endif()

# End to end: the real binary on a free loopback port (--port 0), against an
# index the test builds in a scratch directory. The server is multi-threaded,
# so these carry the concurrency label (CI runs them under ThreadSanitizer).
if(TARGET vw-serve)
  set(VW_SERVE_SCRATCH ${CMAKE_CURRENT_BINARY_DIR}/serve_scratch)
  vw_add_test(NAME test_serve_e2e SOURCES test_serve_e2e.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  vw_add_test(NAME test_serve_concurrent SOURCES test_serve_concurrent.c LABELS concurrency
              TIMEOUT 300 ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # API keys: every scope against every route class, SIGHUP, refused files.
  vw_add_test(NAME test_serve_auth SOURCES test_serve_auth.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # Bulk loads (NDJSON, npy) streamed into the log, kill -9 mid-load, and
  # the 413 Python's http.client reads thanks to the lingering close.
  find_program(VW_SYSTEM_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT VW_SYSTEM_PYTHON)
    set(VW_SYSTEM_PYTHON python3)
  endif()
  vw_add_test(NAME test_serve_bulk SOURCES test_serve_bulk.c LABELS durability TIMEOUT 600
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH} ${VW_SYSTEM_PYTHON}
                   ${CMAKE_CURRENT_SOURCE_DIR}/serve_http_client.py)
  # The write API with --data, and a read-only server refusing it.
  vw_add_test(NAME test_serve_writes SOURCES test_serve_writes.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # SIGKILL during concurrent writes, 60 times: every acknowledged write
  # survives, none is half-applied, the final snapshot passes every check.
  vw_add_test(NAME test_serve_durability SOURCES test_serve_durability.c LABELS durability
              TIMEOUT 600 ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # The same on f16 and i8 stores, 12 times each (and an f16 write beyond
  # the f16 range before each storm: refused, the store goes on).
  # A matrix of damages to the log and the snapshot: each refused with its
  # reason, or recovered with every acknowledged write.
  vw_add_test(NAME test_serve_damage SOURCES test_serve_damage.c LABELS durability TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  foreach(kind f16 i8)
    add_test(NAME test_serve_durability_${kind}
             COMMAND test_serve_durability $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH} ${kind} 12)
    set_tests_properties(test_serve_durability_${kind} PROPERTIES LABELS durability TIMEOUT 600)
  endforeach()
  vw_add_test(NAME test_serve_metrics SOURCES test_serve_metrics.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # 24 index swaps (SIGHUP and POST /admin/reload) under a search load.
  vw_add_test(NAME test_serve_swap SOURCES test_serve_swap.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # GET /openapi.json against the real answers, both ways, and the status
  # tables of README.md and the man page.
  vw_add_test(NAME test_serve_openapi SOURCES test_serve_openapi.c TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH} ${PROJECT_SOURCE_DIR}/README.md
                   ${PROJECT_SOURCE_DIR}/tools/man/vw-serve.1)
  # Attribute filters on /search and /search/batch, attributes in GET
  # /vectors/{id}, 422s naming the place, extra_forbidden for unknown members.
  vw_add_test(NAME test_serve_filter SOURCES test_serve_filter.c TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  # Two replicas behind nginx; skipped (exit 77) when nginx is not installed.
  vw_add_test(NAME test_serve_nginx SOURCES test_serve_nginx.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  set_tests_properties(test_serve_nginx PROPERTIES SKIP_RETURN_CODE 77)
  # Faiss and hnswlib files written by the engines (the fuzz seeds).
  vw_add_test(NAME test_serve_foreign SOURCES test_serve_foreign.c LABELS concurrency TIMEOUT 300
              ARGS $<TARGET_FILE:vw-serve> ${VW_SERVE_SCRATCH})
  target_compile_definitions(test_serve_foreign PRIVATE
                             VW_SEEDS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds")
endif()

# TLS through nginx (tools/nginx/vw-serve-tls.conf): a self-signed
# certificate, nginx from a private prefix, search, write and 401 over
# https://. Skipped (77) without nginx, openssl or curl.
find_program(VW_BASH_TLS bash)
if(VW_BASH_TLS AND TARGET vw-serve AND TARGET vw-gen AND TARGET vw-build)
  add_test(NAME test_serve_tls
           COMMAND ${VW_BASH_TLS} ${CMAKE_CURRENT_SOURCE_DIR}/test_serve_tls.sh
                   $<TARGET_FILE:vw-serve> $<TARGET_FILE:vw-gen> $<TARGET_FILE:vw-build>
                   ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/tls_scratch)
  set_tests_properties(test_serve_tls PROPERTIES LABELS concurrency TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
