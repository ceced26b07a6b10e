#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs the
# whole suite three times: plain gcc, gcc with ASan+UBSan, and the libFuzzer
# targets under clang (each for HAWIYA_FUZZ_SECONDS, default 20). The first two
# builds cross-build the STM32F405 firmware image too; its tests check its
# budget and boot it in QEMU (label stm32).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

JOBS=$(nproc)
run() {
    local dir=$1
    shift
    echo "=== $dir: $*"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

run build
ctest --test-dir build --output-on-failure --no-tests=error -j "$JOBS" -E '^(bench_|integration_soak)'
# The benchmarks and the soak print figures: run them alone, verbose, one at a time.
ctest --test-dir build --output-on-failure --no-tests=error -R '^(bench_|integration_soak)' -V |
    grep -E '^[0-9]+: (bench_|soak)|tests passed|tests failed|\*\*\*|Failed'

run build-asan -DHAWIYA_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$JOBS" -LE '^(format|symbols)$' \
    -E '^integration_stm32_apdu_sweep$'

CC=clang run build-fuzz -DHAWIYA_FUZZ=ON -DHAWIYA_FUZZ_SECONDS="${HAWIYA_FUZZ_SECONDS:-20}"
ctest --test-dir build-fuzz --output-on-failure --no-tests=error -j "$JOBS" -L fuzz
