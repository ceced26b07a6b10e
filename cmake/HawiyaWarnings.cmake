# Warnings are errors on every compiler and every target.
add_compile_options(
    -Wall -Wextra -Werror
    -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2
    -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    # snprintf / strncpy / strncat truncation is defined and bounded; at -O2
    # gcc flags every intentional cut (MRZ fields, log messages), which is
    # noise, not a bug. Out-of-bounds writes stay errors (-Wstringop-overflow).
    # clang has neither warning.
    add_compile_options(-Wno-format-truncation -Wno-stringop-truncation)
endif()

if(HAWIYA_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()

if(HAWIYA_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "HAWIYA_FUZZ needs clang (CC=clang)")
    endif()
    # Every library is instrumented for coverage; only fuzz targets link libFuzzer's main.
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()

# Every symbol bound at start (full RELRO): no lazy binding, whose resolver
# saves the vector registers on the stack at a program's first call to a
# function, leaving there whatever a memcpy had in them (a CAN, say). A
# bare-metal image (cmake/arm-none-eabi.cmake) has no dynamic linker: not there.
if(NOT CMAKE_CROSSCOMPILING)
    add_link_options(-Wl,-z,relro -Wl,-z,now)
endif()

# Host programs use POSIX; common/ must not (it is checked by tests/check_common_symbols.sh).
add_library(hawiya_posix INTERFACE)
target_compile_definitions(hawiya_posix INTERFACE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
