# libFuzzer targets of the reliability suite, clang only, like
# cmake/pq_fuzz.cmake: FtM entity lines (lh_entity_explode + aggregate),
# statement CSV (lh_stmt_csv_next), Delta log replay (lh_delta_snapshot_load
# over a crafted local log), `-q` and `--rql` query strings (both parsers + match).
# The core, format and model sources are built once with coverage
# instrumentation and shared. Short deterministic runs are the ctests
# fuzz_entity, fuzz_stmt_csv, fuzz_delta_log, fuzz_equery (merge.sh skips
# *fuzz*); seeds in tests/fuzz/corpus/<name>, new inputs in the build dir.
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  file(GLOB LH_FUZZ_REL_SOURCES CONFIGURE_DEPENDS src/core/*.c src/format/*.c src/model/*.c)
  add_library(lh_fuzz_rel OBJECT ${LH_FUZZ_REL_SOURCES} "${LH_MODEL_C}" "${LH_MODEL_BUILTIN_C}")
  target_compile_options(lh_fuzz_rel PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  target_include_directories(lh_fuzz_rel PRIVATE include src ${SNAPPY_INCLUDE} ${CSV_INCLUDE}
    ${DYNLIBS_INCLUDE_DIRS})
  target_link_libraries(lh_fuzz_rel PRIVATE PkgConfig::DEPS ${CMAKE_DL_LIBS})
  foreach(name entity stmt_csv delta_log equery)
    add_executable(fuzz_${name} tests/fuzz/fuzz_${name}.c $<TARGET_OBJECTS:lh_fuzz_rel>)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_include_directories(fuzz_${name} PRIVATE include src ${SNAPPY_INCLUDE} ${CSV_INCLUDE}
      ${DYNLIBS_INCLUDE_DIRS})
    target_link_libraries(fuzz_${name} PRIVATE PkgConfig::DEPS ${CMAKE_DL_LIBS} ${SNAPPY_LIB} ${CSV_LIB} m pthread)
    set(scratch "${CMAKE_BINARY_DIR}/fuzz-${name}-corpus")
    file(MAKE_DIRECTORY "${scratch}")
    add_test(NAME fuzz_${name}
      COMMAND fuzz_${name} -seed=1 -max_total_time=15 -timeout=10 -rss_limit_mb=2048
              -print_final_stats=1 "${scratch}" "${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name}")
    set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 120)
  endforeach()
endif()
