# Reliability suite (tests/reliability): broken-lake checks, crash and
# concurrency runs against the CLI, hostile names and logs, storage faults.
# Tests named *slow* are skipped by merge.sh; LH_RELIABILITY_RUNS scales the
# crash runs (default short).
set(LH_REL_DIR "${CMAKE_SOURCE_DIR}/tests/reliability")
set(LH_REL_ENV "LH_BUILD_DIR=${CMAKE_BINARY_DIR}")
foreach(script check_lakes hostile)
  if(EXISTS "${LH_REL_DIR}/${script}.py")
    add_test(NAME reliability_${script} COMMAND "${LH_PYTHON}" "${LH_REL_DIR}/${script}.py")
    set_tests_properties(reliability_${script} PROPERTIES ENVIRONMENT "${LH_REL_ENV}" TIMEOUT 300)
  endif()
endforeach()
foreach(script crash concurrency)
  if(EXISTS "${LH_REL_DIR}/${script}.py")
    add_test(NAME reliability_${script}_slow COMMAND "${LH_PYTHON}" "${LH_REL_DIR}/${script}.py")
    set_tests_properties(reliability_${script}_slow PROPERTIES ENVIRONMENT "${LH_REL_ENV}" TIMEOUT 1800)
  endif()
endforeach()
# C tests of the suite (storage faults), built like the unit tests.
file(GLOB LH_REL_C_TESTS CONFIGURE_DEPENDS tests/reliability/test_*.c)
foreach(test_src ${LH_REL_C_TESTS})
  get_filename_component(test_name ${test_src} NAME_WE)
  add_executable(reliability_${test_name} ${test_src})
  target_link_libraries(reliability_${test_name} PRIVATE lakehouse)
  target_include_directories(reliability_${test_name} PRIVATE tests/unit src)
  add_test(NAME reliability_${test_name} COMMAND reliability_${test_name})
endforeach()
