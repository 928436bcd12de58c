# The Python module's tests (tests/python/*.py), plain python3 scripts run by
# the interpreter the module was built for (tools/python.cmake), with the
# built module first on the path. They exit 77 (skipped) when numpy is
# missing. Under AddressSanitizer the interpreter itself is not
# instrumented, so the sanitizer runtime is preloaded and leak checking,
# which would report the interpreter's own allocations, is off. Not run
# under ThreadSanitizer (an uninstrumented interpreter gives false reports).
#
#   python_api     hnswlib's API on vwhnsw: behaviour, errors, bad arguments
#   python_compat  the same checks on vwhnsw and Debian's hnswlib, compared
#   python_attrs   attributes and attribute filters (add_items, knn_query, Store)
if(TARGET vwhnsw_python AND NOT VW_SANITIZE MATCHES "thread")
  set(_vw_py_env "PYTHONPATH=${VW_PYTHON_DIR}:${CMAKE_CURRENT_SOURCE_DIR}/python"
                 "PYTHONDONTWRITEBYTECODE=1")
  if(VW_SANITIZE MATCHES "address")
    if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
      set(_vw_asan_name libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
    else()
      set(_vw_asan_name libasan.so)
    endif()
    execute_process(COMMAND "${CMAKE_C_COMPILER}" -print-file-name=${_vw_asan_name}
                    OUTPUT_VARIABLE _vw_asan_lib OUTPUT_STRIP_TRAILING_WHITESPACE)
    # libstdc++ too, right after the runtime: without it the runtime cannot
    # find __cxa_throw, and the C++ peer (hnswlib) aborts on its first throw.
    execute_process(COMMAND "${CMAKE_C_COMPILER}" -print-file-name=libstdc++.so.6
                    OUTPUT_VARIABLE _vw_cxx_lib OUTPUT_STRIP_TRAILING_WHITESPACE)
    # alloc_dealloc_mismatch=0: Debian's hnswlib module (the compat suite's
    # peer) frees its result arrays with delete where it allocated with
    # new[]; C code has no such pair, so ours loses no check.
    list(APPEND _vw_py_env "LD_PRELOAD=${_vw_asan_lib} ${_vw_cxx_lib}"
         "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:alloc_dealloc_mismatch=0")
  endif()
  foreach(_vw_py api compat attrs)
    add_test(NAME python_${_vw_py}
      COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/python/test_python_${_vw_py}.py")
    set_tests_properties(python_${_vw_py} PROPERTIES
      ENVIRONMENT "${_vw_py_env}" LABELS python TIMEOUT 600 SKIP_RETURN_CODE 77)
  endforeach()
endif()
