# run_install.cmake - installs the build tree into a temporary prefix and
# builds programs against it the way users do (run with cmake -P).
#
#   -DMODE=install    cmake --install into ROOT/prefix (and once with DESTDIR);
#                     check the installed files, the SONAME and the tools' RPATH
#   -DMODE=pkgconfig  cc consumer.c $(pkg-config --cflags --libs vwhnsw); run it
#                     with LD_LIBRARY_PATH=ROOT/prefix/LIBDIR
#   -DMODE=static     the same with pkg-config --static and libvwhnsw.a
#   -DMODE=cmake      a separate CMake project: find_package(vwhnsw CONFIG REQUIRED)
#   -DMODE=tutorial   the C blocks of README.md's tutorial (between the markers
#                     <!-- tutorial:begin --> and <!-- tutorial:end -->), joined
#                     into one program, built with pkg-config and run; prints
#                     "SKIPPED:" if the README has no such section
#
# Other variables: ROOT (scratch directory), BUILD_DIR, SOURCE_DIR, CC,
# EXTRA_FLAGS (space-separated; the sanitizer flags the library was built
# with, which programs linking it need too), LIBDIR, INCLUDEDIR, BINDIR,
# MANDIR, CMAKEDIR (as in GNUInstallDirs), VERSION, ABI, TOOLS, GENERATOR,
# READELF, PKG_CONFIG.

cmake_minimum_required(VERSION 3.16)

set(PREFIX "${ROOT}/prefix")
set(CONSUMER "${SOURCE_DIR}/tests/install/consumer.c")
separate_arguments(EXTRA_FLAGS UNIX_COMMAND "${EXTRA_FLAGS}")
string(REPLACE "," ";" TOOLS "${TOOLS}")

# Runs a command, echoing it and its output; stops the test if it fails.
function(vw_run)
  cmake_parse_arguments(R "" "OUTPUT" "COMMAND" ${ARGN})
  list(JOIN R_COMMAND " " _shown)
  message("$ ${_shown}")
  execute_process(COMMAND ${R_COMMAND} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _err)
  if(NOT "${_out}${_err}" STREQUAL "")
    message("${_out}${_err}")
  endif()
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "command failed (${_rc}): ${_shown}")
  endif()
  if(R_OUTPUT)
    string(STRIP "${_out}" _out)
    set(${R_OUTPUT} "${_out}" PARENT_SCOPE)
  endif()
endfunction()

function(vw_expect_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "not installed: ${path}")
  endif()
endfunction()

# The DT_NEEDED entries of an ELF file, as a list.
function(vw_needed file out)
  execute_process(COMMAND "${READELF}" -d "${file}" OUTPUT_VARIABLE _dyn RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${READELF} -d ${file} failed")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]*\\]" _lines "${_dyn}")
  set(_libs "")
  foreach(_l IN LISTS _lines)
    string(REGEX REPLACE ".*\\[(.*)\\]" "\\1" _l "${_l}")
    list(APPEND _libs "${_l}")
  endforeach()
  set(${out} "${_libs}" PARENT_SCOPE)
endfunction()

function(vw_pkg_config out)
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${PREFIX}/${LIBDIR}/pkgconfig"
                 "${PKG_CONFIG}" ${ARGN} vwhnsw OUTPUT _flags)
  separate_arguments(_flags UNIX_COMMAND "${_flags}")
  set(${out} "${_flags}" PARENT_SCOPE)
endfunction()

# ------------------------------------------------------------------ install

function(vw_mode_install)
  file(REMOVE_RECURSE "${ROOT}")
  file(MAKE_DIRECTORY "${ROOT}")
  vw_run(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")

  set(_lib "${PREFIX}/${LIBDIR}")
  foreach(_f "${PREFIX}/${INCLUDEDIR}/vwhnsw.h" "${_lib}/libvwhnsw.a"
             "${_lib}/libvwhnsw.so" "${_lib}/libvwhnsw.so.${ABI}" "${_lib}/libvwhnsw.so.${VERSION}"
             "${_lib}/pkgconfig/vwhnsw.pc" "${PREFIX}/${CMAKEDIR}/vwhnswConfig.cmake"
             "${PREFIX}/${CMAKEDIR}/vwhnswConfigVersion.cmake"
             "${PREFIX}/${CMAKEDIR}/vwhnswTargets.cmake")
    vw_expect_file("${_f}")
  endforeach()
  # libvwhnsw.so -> libvwhnsw.so.ABI -> libvwhnsw.so.VERSION (the real file)
  file(READ_SYMLINK "${_lib}/libvwhnsw.so" _link)
  file(READ_SYMLINK "${_lib}/libvwhnsw.so.${ABI}" _soname_link)
  if(NOT _link STREQUAL "libvwhnsw.so.${ABI}" OR NOT _soname_link STREQUAL "libvwhnsw.so.${VERSION}")
    message(FATAL_ERROR "bad library links: libvwhnsw.so -> ${_link}, "
                        "libvwhnsw.so.${ABI} -> ${_soname_link}")
  endif()
  execute_process(COMMAND "${READELF}" -d "${_lib}/libvwhnsw.so.${VERSION}" OUTPUT_VARIABLE _dyn)
  if(NOT _dyn MATCHES "\\(SONAME\\)[^\n]*\\[libvwhnsw\\.so\\.${ABI}\\]")
    message(FATAL_ERROR "SONAME of libvwhnsw.so.${VERSION} is not libvwhnsw.so.${ABI}:\n${_dyn}")
  endif()
  file(READ "${_lib}/pkgconfig/vwhnsw.pc" _pc)
  string(FIND "${_pc}" "prefix=${PREFIX}\n" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "vwhnsw.pc does not name the install prefix ${PREFIX}:\n${_pc}")
  endif()

  # Installed tools run from any directory without LD_LIBRARY_PATH (RPATH),
  # and each has its man page.
  foreach(_tool IN LISTS TOOLS)
    vw_expect_file("${PREFIX}/${MANDIR}/man1/${_tool}.1")
    vw_run(COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_LIBRARY_PATH
                   "${PREFIX}/${BINDIR}/${_tool}" --version OUTPUT _v)
    string(FIND "${_v}" "${VERSION}" _at)
    if(_at EQUAL -1)
      message(FATAL_ERROR "${_tool} --version does not mention ${VERSION}: ${_v}")
    endif()
  endforeach()

  # DESTDIR: everything lands under it, and the files name the real prefix.
  set(_dest "${ROOT}/destdir")
  set(_fake_prefix "/opt/vwhnsw-destdir-test")
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env "DESTDIR=${_dest}"
                 "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${_fake_prefix}")
  vw_expect_file("${_dest}${_fake_prefix}/${INCLUDEDIR}/vwhnsw.h")
  vw_expect_file("${_dest}${_fake_prefix}/${LIBDIR}/libvwhnsw.so.${VERSION}")
  file(READ "${_dest}${_fake_prefix}/${LIBDIR}/pkgconfig/vwhnsw.pc" _pc)
  string(FIND "${_pc}" "prefix=${_fake_prefix}\n" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "with DESTDIR, vwhnsw.pc must name ${_fake_prefix}:\n${_pc}")
  endif()
  if(EXISTS "${_fake_prefix}")
    message(FATAL_ERROR "install wrote to ${_fake_prefix} despite DESTDIR")
  endif()
  message("ok: installed into ${PREFIX} (and under DESTDIR ${_dest})")
endfunction()

# ------------------------------------------------------------------ consumers

function(vw_mode_pkgconfig)
  set(_dir "${ROOT}/pkgconfig")
  file(MAKE_DIRECTORY "${_dir}")
  vw_pkg_config(_version --modversion)
  if(NOT _version STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion vwhnsw says ${_version}, expected ${VERSION}")
  endif()
  vw_pkg_config(_flags --cflags --libs)
  vw_run(COMMAND "${CC}" -std=c99 -Wall -Wextra -Wpedantic -Werror ${EXTRA_FLAGS}
                 "${CONSUMER}" ${_flags} -lm -o "${_dir}/consumer")
  vw_needed("${_dir}/consumer" _needed)
  if(NOT "libvwhnsw.so.${ABI}" IN_LIST _needed)
    message(FATAL_ERROR "consumer does not load libvwhnsw.so.${ABI}; NEEDED: ${_needed}")
  endif()
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${PREFIX}/${LIBDIR}"
                 "${_dir}/consumer" "${_dir}")
endfunction()

function(vw_mode_static)
  set(_dir "${ROOT}/static")
  file(MAKE_DIRECTORY "${_dir}")
  vw_pkg_config(_flags --static --cflags --libs)
  # -lvwhnsw would pick the shared library; name the archive instead.
  list(TRANSFORM _flags REPLACE "^-lvwhnsw$" "-l:libvwhnsw.a")
  vw_run(COMMAND "${CC}" -std=c11 -Wall -Wextra -Wpedantic -Werror ${EXTRA_FLAGS}
                 "${CONSUMER}" ${_flags} -lm -o "${_dir}/consumer")
  vw_needed("${_dir}/consumer" _needed)
  if(_needed MATCHES "vwhnsw")
    message(FATAL_ERROR "static consumer still needs a shared libvwhnsw: ${_needed}")
  endif()
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_LIBRARY_PATH
                 "${_dir}/consumer" "${_dir}")
endfunction()

function(vw_mode_cmake)
  set(_dir "${ROOT}/cmake")
  file(REMOVE_RECURSE "${_dir}")
  list(JOIN EXTRA_FLAGS " " _flags)
  vw_run(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/cmake-consumer" -B "${_dir}"
                 -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${CC}" -DCMAKE_BUILD_TYPE=Release
                 "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DVW_EXPECT_PREFIX=${PREFIX}"
                 "-DCMAKE_C_FLAGS=${_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${_flags}")
  vw_run(COMMAND "${CMAKE_COMMAND}" --build "${_dir}")
  # The shared one finds the library through its build RPATH, as users' do.
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_LIBRARY_PATH
                 "${_dir}/consumer_shared" "${_dir}")
  vw_run(COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_LIBRARY_PATH
                 "${_dir}/consumer_static" "${_dir}")
endfunction()

# The ```c blocks of the README's tutorial section, concatenated.
function(vw_tutorial_source readme out)
  file(READ "${readme}" _text)
  string(FIND "${_text}" "<!-- tutorial:begin -->" _begin)
  string(FIND "${_text}" "<!-- tutorial:end -->" _end)
  if(_begin EQUAL -1 OR _end LESS _begin)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  math(EXPR _len "${_end} - ${_begin}")
  string(SUBSTRING "${_text}" ${_begin} ${_len} _text)
  set(_code "")
  while(TRUE)
    string(FIND "${_text}" "```c\n" _at)
    if(_at EQUAL -1)
      break()
    endif()
    math(EXPR _at "${_at} + 5")
    string(SUBSTRING "${_text}" ${_at} -1 _text)
    string(FIND "${_text}" "```" _stop)
    if(_stop EQUAL -1)
      message(FATAL_ERROR "${readme}: unterminated ```c block in the tutorial")
    endif()
    string(SUBSTRING "${_text}" 0 ${_stop} _block)
    string(APPEND _code "${_block}\n")
    math(EXPR _stop "${_stop} + 3")
    string(SUBSTRING "${_text}" ${_stop} -1 _text)
  endwhile()
  set(${out} "${_code}" PARENT_SCOPE)
endfunction()

function(vw_mode_tutorial)
  if(NOT DEFINED README)
    set(README "${SOURCE_DIR}/README.md")
  endif()
  set(_code "")
  if(EXISTS "${README}")
    vw_tutorial_source("${README}" _code)
  endif()
  if(_code STREQUAL "")
    message("SKIPPED: ${README} has no tutorial section with C blocks")
    return()
  endif()
  set(_dir "${ROOT}/tutorial")
  file(REMOVE_RECURSE "${_dir}")
  file(MAKE_DIRECTORY "${_dir}")
  file(WRITE "${_dir}/tutorial.c" "${_code}")
  vw_pkg_config(_flags --cflags --libs)
  vw_run(COMMAND "${CC}" -std=c11 -Wall -Wextra -Wpedantic -Werror ${EXTRA_FLAGS}
                 "${_dir}/tutorial.c" ${_flags} -lpthread -o "${_dir}/tutorial")
  message("$ cd ${_dir} && LD_LIBRARY_PATH=${PREFIX}/${LIBDIR} ./tutorial")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${PREFIX}/${LIBDIR}"
                          "${_dir}/tutorial"
                  WORKING_DIRECTORY "${_dir}" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the README tutorial program failed (${_rc})")
  endif()
endfunction()

if(MODE STREQUAL "install")
  vw_mode_install()
elseif(MODE STREQUAL "pkgconfig")
  vw_mode_pkgconfig()
elseif(MODE STREQUAL "static")
  vw_mode_static()
elseif(MODE STREQUAL "cmake")
  vw_mode_cmake()
elseif(MODE STREQUAL "tutorial")
  vw_mode_tutorial()
else()
  message(FATAL_ERROR "run_install.cmake: unknown MODE '${MODE}'")
endif()
