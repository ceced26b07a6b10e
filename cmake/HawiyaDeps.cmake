# System dependencies, all from Debian packages (scripts/deps.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PCSCLITE REQUIRED IMPORTED_TARGET libpcsclite)
pkg_check_modules(LIBUSB REQUIRED IMPORTED_TARGET libusb-1.0)
pkg_check_modules(USBREDIRPARSER REQUIRED IMPORTED_TARGET libusbredirparser-0.5)
# The verifier (a platform server library) does its ECDSA arithmetic with libcrypto.
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)

# Debian's mbedTLS 2.28 ships no pkg-config file.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/version.h REQUIRED)
find_library(MBEDCRYPTO_LIB mbedcrypto REQUIRED)
find_library(MBEDX509_LIB mbedx509 REQUIRED)
find_library(MBEDTLS_LIB mbedtls REQUIRED)
add_library(hawiya_mbedtls INTERFACE)
target_include_directories(hawiya_mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(hawiya_mbedtls INTERFACE ${MBEDX509_LIB} ${MBEDCRYPTO_LIB})
