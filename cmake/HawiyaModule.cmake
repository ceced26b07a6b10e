# hawiya_module(NAME SOURCES a.c b.c DEPS hw_x ...)
#   One common/ module = one static library hw_NAME, so that a test or a fuzz
#   target links (and a half-written neighbour does not break) only what it uses.
function(hawiya_module name)
    cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
    add_library(hw_${name} STATIC ${M_SOURCES})
    target_include_directories(hw_${name} PUBLIC ${PROJECT_SOURCE_DIR}/common/include)
    target_link_libraries(hw_${name} PUBLIC ${M_DEPS})
    set_property(GLOBAL APPEND PROPERTY HAWIYA_COMMON_MODULES hw_${name})
endfunction()

# hawiya_unit_test(NAME DEPS hw_x ...): tests/unit/test_NAME.c, a cmocka program.
function(hawiya_unit_test name)
    cmake_parse_arguments(T "" "" "DEPS;SOURCES" ${ARGN})
    add_executable(test_${name} ${PROJECT_SOURCE_DIR}/tests/unit/test_${name}.c ${T_SOURCES})
    target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
    target_link_libraries(test_${name} PRIVATE ${T_DEPS} PkgConfig::CMOCKA)
    add_test(NAME unit_${name} COMMAND test_${name})
    set_tests_properties(unit_${name} PROPERTIES LABELS unit
                         ENVIRONMENT "HAWIYA_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
endfunction()

# hawiya_fuzz_target(NAME DEPS hw_x ...): tests/fuzz/fuzz_NAME.c, a libFuzzer target,
# seeded from tests/fuzz/corpus/NAME and run for HAWIYA_FUZZ_SECONDS under CTest.
function(hawiya_fuzz_target name)
    cmake_parse_arguments(F "" "" "DEPS" ${ARGN})
    if(NOT HAWIYA_FUZZ)
        return()
    endif()
    add_executable(fuzz_${name} ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
    target_link_libraries(fuzz_${name} PRIVATE ${F_DEPS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    set(work ${CMAKE_BINARY_DIR}/fuzz/${name})
    set(seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
    add_test(NAME fuzz_${name}
             COMMAND sh -c "mkdir -p '${work}/corpus' '${work}/artifacts' && exec '$<TARGET_FILE:fuzz_${name}>' -max_total_time=${HAWIYA_FUZZ_SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix='${work}/artifacts/' '${work}/corpus' '${seeds}'")
    set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz
                         TIMEOUT 600)
endfunction()
