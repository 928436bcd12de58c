# The Python module `vwhnsw` (tools/python/): a CPython extension in C over
# the public API, linked with the static library (position-independent, its
# symbols hidden in the module). Built when Python's development headers are
# found; otherwise configure says so and the build goes on without it.
#
# Which Python: Python3_EXECUTABLE if given, else Debian's /usr/bin/python3
# when it exists (the interpreter apt's python3-numpy, python3-hnswlib and
# python3-dev belong to, whatever python3 comes first on PATH), else
# FindPython3's own search.
option(VW_PYTHON "Build the Python module vwhnsw (needs Python's development headers)" ON)
if(VW_PYTHON)
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the module is built for")
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module QUIET)
endif()

if(VW_PYTHON AND Python3_Development.Module_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"
    OUTPUT_VARIABLE VW_PY_EXT_SUFFIX OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(VW_PYTHON_DIR "${PROJECT_BINARY_DIR}/python" CACHE INTERNAL "where the built module is")
  add_library(vwhnsw_python MODULE
    ${CMAKE_CURRENT_LIST_DIR}/python/module.c
    ${CMAKE_CURRENT_LIST_DIR}/python/convert.c
    ${CMAKE_CURRENT_LIST_DIR}/python/search.c
    ${CMAKE_CURRENT_LIST_DIR}/python/index.c
    ${CMAKE_CURRENT_LIST_DIR}/python/index_ops.c
    ${CMAKE_CURRENT_LIST_DIR}/python/bfindex.c
    ${CMAKE_CURRENT_LIST_DIR}/python/store.c
    ${CMAKE_CURRENT_LIST_DIR}/python/attrs.c)
  vw_target_defaults(vwhnsw_python)
  target_compile_definitions(vwhnsw_python PRIVATE _GNU_SOURCE)
  target_include_directories(vwhnsw_python SYSTEM PRIVATE ${Python3_INCLUDE_DIRS})
  target_link_libraries(vwhnsw_python PRIVATE vwhnsw_static Threads::Threads m)
  set_target_properties(vwhnsw_python PROPERTIES
    OUTPUT_NAME vwhnsw PREFIX "" SUFFIX "${VW_PY_EXT_SUFFIX}"
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${VW_PYTHON_DIR}")
  configure_file(${CMAKE_CURRENT_LIST_DIR}/python/vwhnsw.pyi "${VW_PYTHON_DIR}/vwhnsw.pyi" COPYONLY)

  # Installed where that python3 looks under the prefix: /usr ->
  # lib/python3/dist-packages (Debian's), any other prefix ->
  # lib/python3.X/dist-packages for Debian's interpreter (/usr/local is on
  # its path), lib/python3.X/site-packages for others.
  if(Python3_SITEARCH MATCHES "dist-packages")
    if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
      set(_vw_py_dest "lib/python3/dist-packages")
    else()
      set(_vw_py_dest "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/dist-packages")
    endif()
  else()
    set(_vw_py_dest "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/site-packages")
  endif()
  set(VW_PYTHON_INSTALL_DIR "${_vw_py_dest}" CACHE STRING
      "Where cmake --install puts the Python module (relative to the prefix)")
  install(TARGETS vwhnsw_python LIBRARY DESTINATION "${VW_PYTHON_INSTALL_DIR}" COMPONENT Python)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/python/vwhnsw.pyi
          DESTINATION "${VW_PYTHON_INSTALL_DIR}" COMPONENT Python)
  message(STATUS "Python module vwhnsw: built for ${Python3_EXECUTABLE} (${Python3_VERSION}), "
                 "installed to <prefix>/${VW_PYTHON_INSTALL_DIR}")
elseif(VW_PYTHON)
  message(STATUS "Python module vwhnsw: skipped, no development headers for "
                 "${Python3_EXECUTABLE} (Debian: apt-get install python3-dev)")
else()
  message(STATUS "Python module vwhnsw: skipped (VW_PYTHON=OFF)")
endif()
