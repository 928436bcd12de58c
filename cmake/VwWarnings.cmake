# Warning flags and sanitizers applied to every target of the project.
# Kept here so the library, tools and tests are built the same way.

function(vw_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wstrict-prototypes -Wmissing-prototypes
                                           -Wno-unused-function)
  if(VW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(VW_SANITIZE)
  string(REPLACE "," ";" _vw_san_list "${VW_SANITIZE}")
  # GCC leaves float-cast-overflow (a NaN or out-of-range float converted to
  # an integer) out of "undefined"; clang has it in. Ask for it by name so
  # both compilers check the quantizers' casts.
  if("undefined" IN_LIST _vw_san_list)
    list(APPEND _vw_san_list float-cast-overflow)
  endif()
  string(REPLACE ";" "," _vw_san "${_vw_san_list}")
  add_compile_options(-fsanitize=${_vw_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_vw_san})
endif()
