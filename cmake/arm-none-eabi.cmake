# CMake toolchain file for the reader firmware on a Cortex-M4F: Debian's
# gcc-arm-none-eabi with libnewlib-arm-none-eabi (newlib-nano), no OS.
#   cmake -S . -B build-stm32 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
# The host build does this by itself (ExternalProject "stm32f405" in the top
# CMakeLists.txt), so `cmake --build build` always builds the image too.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# No OS to run a test program on: try_compile builds a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# STM32F405: Cortex-M4 with the single-precision FPU; hard-float ABI, Thumb-2.
set(HAWIYA_MCU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${HAWIYA_MCU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${HAWIYA_MCU_FLAGS}")
# newlib-nano, unused sections dropped, a map file for the size breakdown.
set(CMAKE_EXE_LINKER_FLAGS_INIT "${HAWIYA_MCU_FLAGS} --specs=nano.specs -Wl,--gc-sections")
# Optimisation: -Os, but -O2 where the reader's CPU goes (the big numbers and
# the curves: 17 % less CPU for ~5 KB of flash, ../shared/research/
# mcu-ecc-cortex-m4.md §4 item 2). The top CMakeLists.txt sets them (CMake
# appends its own -O3 to any *_INIT value), cmake/HawiyaMbedtlsSource.cmake
# and common/CMakeLists.txt name the hot files.
set(HAWIYA_MCU_OPT -Os -g)
set(HAWIYA_HOT_FLAGS -O2)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
