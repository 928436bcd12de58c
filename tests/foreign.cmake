# Other engines' index files (lib/foreign*.c): files written by the real
# Faiss and hnswlib Python modules must open and answer as the engines do
# (skipped, exit 77, where a module is missing), and damaged files must fail
# cleanly.
find_program(VW_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(VW_PYTHON3 python3)
if(VW_PYTHON3)
  foreach(engine faiss hnswlib)
    vw_add_test(NAME test_foreign_proof_${engine} SOURCES test_foreign_proof.c TIMEOUT 300
                ARGS ${VW_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/foreign_engines.py ${engine}
                     ${CMAKE_CURRENT_BINARY_DIR}/foreign_scratch_${engine})
    set_tests_properties(test_foreign_proof_${engine} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endif()
# Damaged files, from the small real ones the fuzz targets start from.
vw_add_test(NAME test_foreign_corrupt SOURCES test_foreign_corrupt.c INTERNAL
            ARGS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds)
