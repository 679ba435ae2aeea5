# libFuzzer target for the parquet reader, clang only. The fuzzer is built
# from the core and format sources directly so they get coverage
# instrumentation; the short deterministic run is the ctest
# "fuzz_pq_reader" (merge.sh skips tests named *fuzz*; scripts/fuzz runs longer).
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  file(GLOB LH_FUZZ_PQ_SOURCES CONFIGURE_DEPENDS src/core/*.c src/format/*.c)
  add_executable(fuzz_pq_reader tests/fuzz/fuzz_pq_reader.c ${LH_FUZZ_PQ_SOURCES})
  target_compile_options(fuzz_pq_reader PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_pq_reader PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(fuzz_pq_reader PRIVATE include src ${SNAPPY_INCLUDE} ${CSV_INCLUDE}
    ${DYNLIBS_INCLUDE_DIRS})
  target_link_libraries(fuzz_pq_reader PRIVATE PkgConfig::DEPS ${CMAKE_DL_LIBS} ${SNAPPY_LIB} ${CSV_LIB} m pthread)
  # New inputs go to the first (scratch) directory, never into the source tree.
  set(LH_FUZZ_PQ_SCRATCH "${CMAKE_BINARY_DIR}/fuzz-pq-corpus")
  file(MAKE_DIRECTORY "${LH_FUZZ_PQ_SCRATCH}")
  add_test(NAME fuzz_pq_reader
    COMMAND fuzz_pq_reader -seed=1 -max_total_time=20 -timeout=10 -rss_limit_mb=2048
            -print_final_stats=1 "${LH_FUZZ_PQ_SCRATCH}" "${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/pq")
  set_tests_properties(fuzz_pq_reader PROPERTIES TIMEOUT 120)
endif()
