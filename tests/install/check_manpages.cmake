# check_manpages.cmake - keeps a tool's man page in step with its --help
# (run with cmake -P):  -DTOOL=path/to/vw-build -DMAN=tools/man/vw-build.1
# Fails if a long option printed by `TOOL --help` is missing from the man
# page, or if the page's OPTIONS section documents an option --help lacks.

cmake_minimum_required(VERSION 3.16)

foreach(_var TOOL MAN)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check_manpages.cmake: -D${_var}=... is required")
  endif()
endforeach()
get_filename_component(_name "${TOOL}" NAME)

execute_process(COMMAND "${TOOL}" --help RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${_name} --help exited with ${_rc}:\n${_out}${_err}")
endif()
set(_help "${_out}${_err}")

# In roff a hyphen is written \- ; compare plain text.
file(READ "${MAN}" _man)
string(REPLACE "\\-" "-" _man "${_man}")
string(REPLACE "\\(hy" "-" _man "${_man}")
string(REGEX REPLACE "\\\\f[BIRP]" "" _man "${_man}")
if(NOT _man MATCHES "\n?\\.TH \"?${_name}\"? 1")
  message(FATAL_ERROR "${MAN} has no '.TH ${_name} 1' header")
endif()

function(vw_long_options text out)
  string(REGEX MATCHALL "--[a-z0-9][a-z0-9-]*[a-z0-9]" _opts "${text}")
  list(REMOVE_DUPLICATES _opts)
  set(${out} "${_opts}" PARENT_SCOPE)
endfunction()

vw_long_options("${_help}" _help_opts)
vw_long_options("${_man}" _man_opts)
if(NOT _help_opts)
  message(FATAL_ERROR "${_name} --help lists no long options:\n${_help}")
endif()

set(_bad "")
foreach(_opt IN LISTS _help_opts)
  if(NOT _opt IN_LIST _man_opts)
    list(APPEND _bad "${_opt} is in --help but not in ${MAN}")
  endif()
endforeach()

# The OPTIONS section: from ".SH OPTIONS" to the next ".SH".
string(FIND "${_man}" "\n.SH OPTIONS" _start)
if(_start EQUAL -1)
  message(FATAL_ERROR "${MAN} has no OPTIONS section")
endif()
string(SUBSTRING "${_man}" ${_start} -1 _section)
string(SUBSTRING "${_section}" 1 -1 _section)
string(FIND "${_section}" "\n.SH " _end)
if(NOT _end EQUAL -1)
  string(SUBSTRING "${_section}" 0 ${_end} _section)
endif()
vw_long_options("${_section}" _section_opts)
foreach(_opt IN LISTS _section_opts)
  if(NOT _opt IN_LIST _help_opts)
    list(APPEND _bad "${_opt} is documented in ${MAN} OPTIONS but not in --help")
  endif()
endforeach()

if(_bad)
  string(REPLACE ";" "\n  " _bad "${_bad}")
  message(FATAL_ERROR "${_name}: man page and --help disagree:\n  ${_bad}")
endif()
list(LENGTH _help_opts _n)
message("ok: ${_name}: all ${_n} long options of --help are in its man page")
