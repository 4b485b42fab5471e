# mxsec_module(NAME SOURCES ... DEPS ...): one library per module, include root src/.
# Dependencies point downwards only (see docs/architecture.md).
function(mxsec_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(mxsec_${name} STATIC ${M_SOURCES})
  target_include_directories(mxsec_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(mxsec_${name} PUBLIC ${M_DEPS})
endfunction()

# mxsec_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
function(mxsec_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE MXSEC_TESTDATA_DIR="${MXSEC_TESTDATA_DIR}")
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()
