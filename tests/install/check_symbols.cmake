# check_symbols.cmake - ABI hygiene of the shared library (run with cmake -P).
#   -DLIB=path/to/libvwhnsw.so  -DHEADER=include/vwhnsw.h  -DNM=nm
# Lists the dynamic symbols the library defines (nm -D --defined-only) and
# fails on any whose name does not start with vw_, on any function declared
# VW_API in the header but not exported, and on any export the header does
# not declare.

cmake_minimum_required(VERSION 3.16)

foreach(_var LIB HEADER NM)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check_symbols.cmake: -D${_var}=... is required")
  endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}"
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIB} failed (${_rc}): ${_err}")
endif()
message("${NM} -D --defined-only ${LIB}:\n${_out}")

string(REGEX REPLACE "\n$" "" _out "${_out}")
string(REPLACE "\n" ";" _lines "${_out}")
set(_exported "")
set(_bad "")
foreach(_line IN LISTS _lines)
  if(NOT _line MATCHES "^[0-9A-Fa-f]* *([A-Za-z]) ([^ @]+)")
    list(APPEND _bad "unparsed line: ${_line}")
    continue()
  endif()
  set(_type "${CMAKE_MATCH_1}")
  set(_name "${CMAKE_MATCH_2}")
  if(_type STREQUAL "A" AND _name MATCHES "^VW")
    continue() # a symbol-version node (VWHNSW_0), should a version script be used
  endif()
  if(NOT _name MATCHES "^vw_")
    list(APPEND _bad "${_name} (type ${_type}) does not start with vw_")
  else()
    list(APPEND _exported "${_name}")
  endif()
endforeach()

# Functions the header declares: VW_API <return type> vw_name(
file(READ "${HEADER}" _header)
string(REGEX MATCHALL "VW_API[^;(]*[ *]vw_[a-z0-9_]+\\(" _decls "${_header}")
set(_declared "")
foreach(_decl IN LISTS _decls)
  string(REGEX REPLACE ".*[ *](vw_[a-z0-9_]+)\\($" "\\1" _name "${_decl}")
  list(APPEND _declared "${_name}")
endforeach()
if(NOT _declared)
  message(FATAL_ERROR "found no VW_API declarations in ${HEADER}")
endif()

foreach(_name IN LISTS _declared)
  if(NOT _name IN_LIST _exported)
    list(APPEND _bad "${_name} is declared in vwhnsw.h but not exported")
  endif()
endforeach()
foreach(_name IN LISTS _exported)
  if(NOT _name IN_LIST _declared)
    list(APPEND _bad "${_name} is exported but not declared in vwhnsw.h")
  endif()
endforeach()

list(LENGTH _exported _n_exported)
list(LENGTH _declared _n_declared)
if(_bad)
  string(REPLACE ";" "\n  " _bad "${_bad}")
  message(FATAL_ERROR "symbol check failed:\n  ${_bad}")
endif()
message("ok: ${_n_exported} exported symbols, all vw_*, exactly the ${_n_declared} functions of vwhnsw.h")
