#!/usr/bin/env bash
# Unpacks Debian's mbedtls source package into DIR, once, and prints the path
# of the unpacked tree. The firmware's mbedTLS is compiled from it with our own
# configuration (firmware/mbedtls/hawiya_mbedtls_config.h); nothing of it is committed.
# Needs a deb-src entry and dpkg-dev (scripts/deps.sh sets up both).
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
if [ -f done ] && [ -f "$(cat done)/library/bignum.c" ]; then
    cat done
    exit 0
fi
rm -rf mbedtls-* mbedtls_* done
# apt-get checks the files against the signed Sources index; dpkg-source
# unpacks them and applies Debian's patches.
if ! apt-get source -q mbedtls >apt.log 2>&1; then
    cat apt.log >&2
    echo "mbedtls-source: 'apt-get source mbedtls' failed: run scripts/deps.sh (deb-src, dpkg-dev)" >&2
    exit 1
fi
tree=$(find "$dir" -maxdepth 1 -type d -name 'mbedtls-2.28*' | head -1)
if [ -z "$tree" ] || [ ! -f "$tree/library/bignum.c" ]; then
    echo "mbedtls-source: no mbedtls 2.28 tree in $dir (the firmware needs the 2.28 LTS branch)" >&2
    exit 1
fi
echo "$tree" >done
echo "$tree"
