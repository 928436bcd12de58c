# Packaging tests: the installed library as its users see it.
#   install_header_{c99,c11,cxx}  vwhnsw.h compiles warning-free as C99, C11, C++
#   install_version[_shared]      version macros == vw_version() == project version
#   install_symbols               the shared library exports only the vw_* API
#   install_prefix                cmake --install into a scratch prefix (fixture)
#   install_pkgconfig             cc $(pkg-config --cflags --libs vwhnsw), shared
#   install_static                pkg-config --static, linked with libvwhnsw.a
#   install_cmake                 find_package(vwhnsw CONFIG REQUIRED) project
#   install_tutorial              README.md's tutorial code builds and runs
#   install_man_<tool>            man page lists every long option of --help
set(_vw_inst_dir "${CMAKE_CURRENT_SOURCE_DIR}/install")

# ------------------------------------------------------------------ header

set(_vw_header_flags -Wall -Wextra -Wpedantic -Werror -Wshadow -Wundef -fsyntax-only
    "-I${PROJECT_SOURCE_DIR}/include")
foreach(_std c99 c11)
  add_test(NAME install_header_${_std}
    COMMAND "${CMAKE_C_COMPILER}" -std=${_std} ${_vw_header_flags} -Wstrict-prototypes
            -Wmissing-prototypes -x c "${_vw_inst_dir}/header_check.c")
endforeach()

# C++: the project enables only C, so look for the C++ sibling of the C
# compiler; the test reports "skipped" (77) when there is none.
get_filename_component(_vw_cc_dir "${CMAKE_C_COMPILER}" DIRECTORY)
get_filename_component(_vw_cc_name "${CMAKE_C_COMPILER}" NAME)
string(REGEX REPLACE "^clang" "clang++" _vw_cxx_name "${_vw_cc_name}")
string(REGEX REPLACE "^gcc" "g++" _vw_cxx_name "${_vw_cxx_name}")
string(REGEX REPLACE "^cc$" "c++" _vw_cxx_name "${_vw_cxx_name}")
find_program(VW_HEADER_CXX NAMES ${_vw_cxx_name} c++ g++ clang++ HINTS "${_vw_cc_dir}"
             DOC "C++ compiler used only to check that vwhnsw.h compiles as C++")
add_test(NAME install_header_cxx
  COMMAND sh -c "command -v \"$0\" >/dev/null 2>&1 || { echo 'no C++ compiler'; exit 77; }; exec \"$0\" \"$@\""
          "${VW_HEADER_CXX}" -x c++ -std=c++11 ${_vw_header_flags}
          "${_vw_inst_dir}/header_check.c")
set_tests_properties(install_header_cxx PROPERTIES SKIP_RETURN_CODE 77)

# ------------------------------------------------------------------ version

vw_add_test(NAME install_version SOURCES install/version_check.c)
add_executable(install_version_shared install/version_check.c)
vw_target_defaults(install_version_shared)
target_link_libraries(install_version_shared PRIVATE vwhnsw)
add_test(NAME install_version_shared COMMAND install_version_shared)
foreach(_t install_version install_version_shared)
  target_compile_definitions(${_t} PRIVATE VW_PROJECT_VERSION="${PROJECT_VERSION}")
endforeach()

# ------------------------------------------------------------------ symbols

if(CMAKE_NM)
  set(VW_NM "${CMAKE_NM}")
else()
  find_program(VW_NM nm)
endif()
add_test(NAME install_symbols
  COMMAND "${CMAKE_COMMAND}" "-DLIB=$<TARGET_FILE:vwhnsw>"
          "-DHEADER=${PROJECT_SOURCE_DIR}/include/vwhnsw.h" "-DNM=${VW_NM}"
          -P "${_vw_inst_dir}/check_symbols.cmake")

# ------------------------------------------------------------------ install + consumers

if(CMAKE_READELF)
  set(VW_READELF "${CMAKE_READELF}")
else()
  find_program(VW_READELF readelf)
endif()
find_program(VW_PKG_CONFIG NAMES pkg-config pkgconf DOC "pkg-config, for the install tests")

# Programs linking a sanitized library must be built with the same flags.
set(_vw_consumer_flags "")
if(VW_SANITIZE)
  set(_vw_consumer_flags "-fsanitize=${VW_SANITIZE} -fno-omit-frame-pointer")
endif()
if(VW_FUZZ)
  string(APPEND _vw_consumer_flags " -fsanitize=fuzzer-no-link")
endif()

set(_vw_tools "")
foreach(_tool vw-gen vw-build vw-query vw-bench vw-serve)
  if(TARGET ${_tool})
    list(APPEND _vw_tools ${_tool})
  endif()
endforeach()
string(REPLACE ";" "," _vw_tools_arg "${_vw_tools}")

set(_vw_run_install
  "-DROOT=${CMAKE_CURRENT_BINARY_DIR}/install-test"
  "-DBUILD_DIR=${PROJECT_BINARY_DIR}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "-DCC=${CMAKE_C_COMPILER}" "-DEXTRA_FLAGS=${_vw_consumer_flags}"
  "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}" "-DINCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}"
  "-DBINDIR=${CMAKE_INSTALL_BINDIR}" "-DMANDIR=${CMAKE_INSTALL_MANDIR}"
  "-DCMAKEDIR=${CMAKE_INSTALL_LIBDIR}/cmake/vwhnsw"
  "-DVERSION=${PROJECT_VERSION}" "-DABI=${VW_ABI_VERSION}" "-DTOOLS=${_vw_tools_arg}"
  "-DGENERATOR=${CMAKE_GENERATOR}" "-DREADELF=${VW_READELF}" "-DPKG_CONFIG=${VW_PKG_CONFIG}")

foreach(_mode prefix pkgconfig static cmake tutorial)
  set(_arg ${_mode})
  if(_mode STREQUAL "prefix")
    set(_arg install)
  endif()
  add_test(NAME install_${_mode}
    COMMAND "${CMAKE_COMMAND}" -DMODE=${_arg} ${_vw_run_install}
            -P "${_vw_inst_dir}/run_install.cmake")
  set_tests_properties(install_${_mode} PROPERTIES TIMEOUT 120 LABELS install)
  if(_mode STREQUAL "prefix")
    set_tests_properties(install_prefix PROPERTIES FIXTURES_SETUP vw_install_prefix)
  else()
    set_tests_properties(install_${_mode} PROPERTIES FIXTURES_REQUIRED vw_install_prefix)
  endif()
  if(_mode STREQUAL "tutorial")
    set_tests_properties(install_tutorial PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
  endif()
endforeach()

# ------------------------------------------------------------------ man pages

foreach(_tool IN LISTS _vw_tools)
  add_test(NAME install_man_${_tool}
    COMMAND "${CMAKE_COMMAND}" "-DTOOL=$<TARGET_FILE:${_tool}>"
            "-DMAN=${PROJECT_SOURCE_DIR}/tools/man/${_tool}.1"
            -P "${_vw_inst_dir}/check_manpages.cmake")
endforeach()
