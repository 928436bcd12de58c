# vw-gen, vw-build, vw-query (one file each) and vw-bench (tools/bench/, see
# bench.h for which file holds what).
foreach(tool gen build query)
  vw_add_tool(NAME vw-${tool} SOURCES ${CMAKE_CURRENT_LIST_DIR}/vw_${tool}.c)
endforeach()
vw_add_tool(NAME vw-bench SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bench/main.c
  ${CMAKE_CURRENT_LIST_DIR}/bench/truth.c
  ${CMAKE_CURRENT_LIST_DIR}/bench/measure.c
  ${CMAKE_CURRENT_LIST_DIR}/bench/report.c
  ${CMAKE_CURRENT_LIST_DIR}/bench/plot.c)
