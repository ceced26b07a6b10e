#!/bin/sh
# What `cmake --install` puts down, used as its users would, in a temporary
# prefix:
# - libhawiya-verify as a platform developer gets it: tests/packaging/
#   platform_check.c compiled with only the installed header and
#   `pkg-config hawiya-verify` (shared, and the --static flags must name
#   libcrypto and mbedTLS), run on the assertions unit_verify wrote: the
#   good one verifies, a forged one fails by name;
# - the daemon as an installer gets it: the binary, its systemd unit, the
#   commented configuration and the docs; the installed hawiya-bridge runs
#   on the installed configuration and the installed `hawiya status` talks
#   to it; SIGTERM stops it cleanly.
# usage: install_check.sh BUILD_DIR SOURCE_DIR PKI_DIR ASSERTION_DIR
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
# Its own CSCA directory: cli_verify rebuilds $dir/csca and may run at the same time.
mkdir -p "$tmp/csca" && cp "$pki"/csca/csca-*.der "$tmp/csca"/ || { echo "FAIL: CSCAs"; exit 1; }
check() { # file expected-exit expected-output
    out=$(LD_LIBRARY_PATH=$libdir "$tmp/platform_check" "$tmp/csca" "$pki/reader-ca/reader-ca.pem" "$1")
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
p=$tmp/prefix
for f in sbin/hawiya-bridge bin/hawiya lib/systemd/system/hawiya-bridge.service \
    etc/hawiya/bridge.conf share/doc/hawiya/bridge-protocol.md share/doc/hawiya/assertion.md; do
    [ -e "$p/$f" ] || fail "not installed: $f"
done
unit=$p/lib/systemd/system/hawiya-bridge.service
grep -q '^ExecStart=/.*/sbin/hawiya-bridge --config /.*/hawiya/bridge.conf$' "$unit" ||
    fail "unit: ExecStart"
grep -q '^RuntimeDirectory=hawiya$' "$unit" || fail "unit: RuntimeDirectory"
grep -q '^WantedBy=multi-user.target$' "$unit" || fail "unit: WantedBy"

sock=$tmp/bridge.sock
"$p/sbin/hawiya-bridge" --config "$p/etc/hawiya/bridge.conf" --socket "$sock" 2>"$tmp/bridge.log" &
bridge=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
out=$("$p/bin/hawiya" status --socket "$sock")
case "$out" in
*'"readers":{"configured":0,"up":0,"with_card":0,'*) echo "ok: installed hawiya status: $out" ;;
*) fail "installed hawiya status: $out" ;;
esac
kill -TERM "$bridge"
wait "$bridge"
rc=$?
[ "$rc" -eq 0 ] || fail "the bridge exited $rc on SIGTERM: $(cat "$tmp/bridge.log")"
[ ! -e "$sock" ] || fail "the bridge left its socket behind"

[ "$fails" -eq 0 ] && echo "install_check: all passed"
exit "$fails"
