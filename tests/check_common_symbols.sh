#!/bin/sh
# common/ is linked into the firmware: it may call only freestanding C
# (mem*, str*), mbedTLS and itself, never the OS or the heap. This lists every
# undefined symbol of the common/ libraries and fails on any other.
set -eu
dir=$1
libs=$(find "$dir" -name 'libhw_*.a' | sort)
[ -n "$libs" ] || { echo "no common/ libraries under $dir" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
nm --defined-only --format=just-symbols $libs 2>/dev/null | grep -v ':$' | sort -u >"$tmp/defined"
# shellcheck disable=SC2086
nm -u --format=just-symbols $libs 2>/dev/null | grep -v ':$' | sort -u >"$tmp/undefined"
# _GLOBAL_OFFSET_TABLE_ is the linker's own: position-independent code
# (common/ libraries linked into a shared object) that takes a function's
# address (a group's modp hook) refers to it.
bad=$(comm -23 "$tmp/undefined" "$tmp/defined" | grep -v -E \
    '^(mem(cpy|set|cmp|move|chr)|str(len|cmp|ncmp|chr|nlen)|mbedtls_.*|__stack_chk_fail|__stack_chk_guard|_GLOBAL_OFFSET_TABLE_)$' || true)
if [ -n "$bad" ]; then
    echo "common/ uses symbols outside freestanding C and mbedTLS:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "common/: $(echo $libs | wc -w) libraries, only freestanding C, mbedTLS and common/ itself"
