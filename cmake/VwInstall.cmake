# Install rules: the libraries, the header, the tools and their man pages, a
# pkg-config file and a CMake package (find_package(vwhnsw CONFIG) giving
# vwhnsw::vwhnsw and vwhnsw::vwhnsw_static). Paths come from GNUInstallDirs;
# CMAKE_INSTALL_PREFIX, `cmake --install --prefix` and DESTDIR are honoured.
#
# Components, for packagers (cmake --install --component NAME):
#   Runtime      libvwhnsw.so.MAJOR and its versioned file, the tools, man pages
#   Development  the header, libvwhnsw.so (link), libvwhnsw.a, vwhnsw.pc, CMake package

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(VW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/vwhnsw"
    CACHE STRING "Where to install the CMake package files (relative to the prefix)")
mark_as_advanced(VW_INSTALL_CMAKEDIR)

# ------------------------------------------------------------------ libraries

# Both are built and installed by default (like zstd and SQLite): the shared
# one for the tools and most users, the static one (position-independent, so
# it can go into other shared objects too) for self-contained binaries. Should
# lib/ ever make one of them optional, whichever exists is installed.
set(_vw_lib_targets "")
foreach(_vw_target vwhnsw vwhnsw_static)
  if(TARGET ${_vw_target})
    list(APPEND _vw_lib_targets ${_vw_target})
  endif()
endforeach()
install(TARGETS ${_vw_lib_targets}
  EXPORT vwhnswTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
          COMPONENT Runtime
          NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
# (The include directory reaches the exported targets through their
# $<INSTALL_INTERFACE:...> include directories, set in lib/CMakeLists.txt.)

install(FILES "${PROJECT_SOURCE_DIR}/include/vwhnsw.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT Development)

# ------------------------------------------------------------------ tools

# The tools link the shared library; once installed they find it through an
# RPATH relative to their own location, so any prefix works without
# LD_LIBRARY_PATH. A system library directory needs no RPATH.
set(VW_TOOL_NAMES vw-gen vw-build vw-query vw-bench vw-serve)
file(RELATIVE_PATH _vw_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${CMAKE_INSTALL_FULL_LIBDIR}" _vw_libdir_is_system)

foreach(_vw_tool ${VW_TOOL_NAMES})
  if(NOT TARGET ${_vw_tool})
    continue()
  endif()
  if(_vw_libdir_is_system EQUAL -1)
    set_target_properties(${_vw_tool} PROPERTIES INSTALL_RPATH "$ORIGIN/${_vw_bin_to_lib}")
  endif()
  install(TARGETS ${_vw_tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
  set(_vw_man "${PROJECT_SOURCE_DIR}/tools/man/${_vw_tool}.1")
  if(EXISTS "${_vw_man}")
    install(FILES "${_vw_man}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT Runtime)
  endif()
endforeach()

# ------------------------------------------------------------------ CMake package

install(EXPORT vwhnswTargets
  NAMESPACE vwhnsw::
  DESTINATION "${VW_INSTALL_CMAKEDIR}"
  COMPONENT Development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/vwhnswConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/vwhnswConfig.cmake"
  INSTALL_DESTINATION "${VW_INSTALL_CMAKEDIR}")
# The SONAME carries the ABI major version; a package of the same major
# version is a drop-in replacement, which is what SameMajorVersion says.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/vwhnswConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/vwhnswConfig.cmake"
              "${PROJECT_BINARY_DIR}/vwhnswConfigVersion.cmake"
  DESTINATION "${VW_INSTALL_CMAKEDIR}" COMPONENT Development)

# ------------------------------------------------------------------ pkg-config

# The prefix written into vwhnsw.pc must be the one used at install time (it
# may differ from the configured one with `cmake --install --prefix`), so the
# file is configured now with a placeholder for it and finished by install code.
foreach(_vw_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_vw_dir}}")
    set(VW_PC_${_vw_dir} "${CMAKE_INSTALL_${_vw_dir}}")
  else()
    set(VW_PC_${_vw_dir} "\${prefix}/${CMAKE_INSTALL_${_vw_dir}}")
  endif()
endforeach()
set(VW_PC_PREFIX "@VW_PC_PREFIX@")
configure_file("${PROJECT_SOURCE_DIR}/cmake/vwhnsw.pc.in" "${PROJECT_BINARY_DIR}/vwhnsw.pc.tmpl" @ONLY)

install(CODE "set(_vw_pc_template \"${PROJECT_BINARY_DIR}/vwhnsw.pc.tmpl\")
set(_vw_pc_out \"${PROJECT_BINARY_DIR}/pkgconfig-install/vwhnsw.pc\")
set(_vw_pc_dir \"${CMAKE_INSTALL_LIBDIR}/pkgconfig\")" COMPONENT Development)
install(CODE [[
file(READ "${_vw_pc_template}" _vw_pc)
string(REPLACE "@VW_PC_PREFIX@" "${CMAKE_INSTALL_PREFIX}" _vw_pc "${_vw_pc}")
file(WRITE "${_vw_pc_out}" "${_vw_pc}")
if(NOT IS_ABSOLUTE "${_vw_pc_dir}")
  set(_vw_pc_dir "${CMAKE_INSTALL_PREFIX}/${_vw_pc_dir}")
endif()
file(INSTALL DESTINATION "${_vw_pc_dir}" TYPE FILE FILES "${_vw_pc_out}")
]] COMPONENT Development)

# ------------------------------------------------------------------ docs

foreach(_vw_doc README.md lib/FORMAT.md)
  if(EXISTS "${PROJECT_SOURCE_DIR}/${_vw_doc}")
    install(FILES "${PROJECT_SOURCE_DIR}/${_vw_doc}" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
            COMPONENT Runtime)
  endif()
endforeach()
