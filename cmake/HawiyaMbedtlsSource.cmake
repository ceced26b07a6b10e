# mbedTLS for the microcontroller, compiled from Debian's source package with
# our own configuration (firmware/mbedtls/hawiya_mbedtls_config.h). The unpacked source is
# cached in HAWIYA_MBEDTLS_SRC_CACHE (the host build directory's mbedtls-src
# when the host build drives this one); nothing of it is committed.
# Defines hawiya_mbedtls, the same target name the host build gets from
# Debian's libmbedtls (cmake/HawiyaDeps.cmake), so common/ and firmware/ link
# it the same way on both.
set(HAWIYA_MBEDTLS_SRC_CACHE "${CMAKE_BINARY_DIR}/mbedtls-src"
    CACHE PATH "Where Debian's mbedtls source package is unpacked, once")
execute_process(
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/mbedtls-source.sh ${HAWIYA_MBEDTLS_SRC_CACHE}
    OUTPUT_VARIABLE MBEDTLS_SOURCE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _mbedtls_rc)
if(NOT _mbedtls_rc EQUAL 0 OR NOT EXISTS "${MBEDTLS_SOURCE_DIR}/include/mbedtls/version.h")
    message(FATAL_ERROR "mbedTLS source: scripts/mbedtls-source.sh failed (see above)")
endif()
file(STRINGS "${MBEDTLS_SOURCE_DIR}/include/mbedtls/version.h" _mbedtls_version
     REGEX "#define MBEDTLS_VERSION_STRING ")
if(NOT _mbedtls_version MATCHES "\"2\\.28\\.")
    # grp->modp (the brainpool reduction's hook) is a public field only in 2.28.
    message(FATAL_ERROR "mbedTLS source: need the 2.28 branch, found ${_mbedtls_version}")
endif()
message(STATUS "mbedTLS source: ${MBEDTLS_SOURCE_DIR}")

# Every library file: what the configuration leaves out compiles to nothing,
# and --gc-sections drops what the firmware does not call.
file(GLOB _mbedtls_sources ${MBEDTLS_SOURCE_DIR}/library/*.c)
add_library(hawiya_mbedtls STATIC ${_mbedtls_sources})
target_include_directories(hawiya_mbedtls SYSTEM PUBLIC ${MBEDTLS_SOURCE_DIR}/include
                                                        ${PROJECT_SOURCE_DIR}/firmware/mbedtls)
target_compile_definitions(hawiya_mbedtls PUBLIC MBEDTLS_CONFIG_FILE="hawiya_mbedtls_config.h")
# Third-party code: its own warnings are not ours to fix.
target_compile_options(hawiya_mbedtls PRIVATE -w)
# The big numbers and the curves are where the reader's CPU goes: -O2 there.
set_source_files_properties(${MBEDTLS_SOURCE_DIR}/library/bignum.c
                            ${MBEDTLS_SOURCE_DIR}/library/constant_time.c
                            ${MBEDTLS_SOURCE_DIR}/library/ecp.c
                            ${MBEDTLS_SOURCE_DIR}/library/ecp_curves.c
                            PROPERTIES COMPILE_OPTIONS "${HAWIYA_HOT_FLAGS}")
