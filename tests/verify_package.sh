#!/bin/sh
# libhawiya-verify as a platform developer gets it: `cmake --install` into a
# temporary prefix, then tests/packaging/platform_check.c compiled with only
# the installed header and `pkg-config hawiya-verify` (shared, and the
# --static flags must name libcrypto and mbedTLS), run on the assertions
# unit_verify wrote: the good one verifies, a forged one fails by name.
# usage: verify_package.sh BUILD_DIR SOURCE_DIR PKI_DIR ASSERTION_DIR
set -u
build=$1 src=$2 pki=$3 dir=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null || { echo "FAIL: install"; exit 1; }
pc=$(find "$tmp/prefix" -name hawiya-verify.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no hawiya-verify.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
[ -f "$tmp/prefix/include/hawiya-verify.h" ] || fail "header not installed"

cflags=$(pkg-config --cflags hawiya-verify) || fail "pkg-config --cflags"
libs=$(pkg-config --libs hawiya-verify) || fail "pkg-config --libs"
static=$(pkg-config --static --libs hawiya-verify) || fail "pkg-config --static --libs"
for lib in -lcrypto -lmbedx509 -lmbedcrypto; do
    case " $static " in *" $lib "*) ;; *) fail "--static lacks $lib: $static" ;; esac
done
echo "pkg-config: $cflags $libs"

# shellcheck disable=SC2086 # the flags are words
${CC:-cc} -std=c11 -Wall -Wextra -Werror ${PLATFORM_CFLAGS:-} $cflags -o "$tmp/platform_check" \
    "$src/tests/packaging/platform_check.c" $libs || { echo "FAIL: compile"; exit 1; }

libdir=$(pkg-config --variable=libdir hawiya-verify)
check() { # file expected-exit expected-output
    out=$(LD_LIBRARY_PATH=$libdir "$tmp/platform_check" "$dir/csca" "$pki/ca/reader-ca.pem" "$1")
    rc=$?
    if [ "$rc" -ne "$2" ] || [ "$out" != "$3" ]; then
        fail "$1: exit $rc, '$out' (want $2, '$3')"
    else
        echo "ok: $(basename "$1"): $out"
    fi
}
check "$dir/good.json" 0 "HV_OK AB1234567"
check "$dir/bad-dg1.json" 1 "HV_ERR_DG_HASH"
check "$dir/bad-reader.json" 1 "HV_ERR_READER_UNTRUSTED"
[ "$fails" -eq 0 ] && echo "verify_package: all passed"
exit "$fails"
