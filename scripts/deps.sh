#!/usr/bin/env bash
# Installs the Debian packages Hawiya needs, and nothing when they are already there.
# Used by the README's two commands, so a fresh Debian machine needs no manual step.
set -euo pipefail

PACKAGES=(
    # build
    gcc make cmake pkg-config clang libclang-rt-14-dev clang-format git
    # libraries
    libcmocka-dev libmbedtls-dev libpcsclite-dev libusb-1.0-0-dev libcjson-dev libssl-dev
    libusbredirparser-dev libwebsockets-dev libuv1-dev libmicrohttpd-dev
    # tools the tests drive
    pcscd pcsc-tools openssl iproute2
    # the USB tests' Linux guest (tests/usb): QEMU, and what its image is made of
    # (systemd-udevd comes in udev, which systemd does not pull in)
    qemu-system-x86 linux-image-amd64 busybox-static libccid systemd udev cpio xz-utils
    # the browser tests (tests/web): Debian's Chromium, and fonts with Arabic glyphs
    chromium fonts-dejavu-core
    # the verifier's tests: an independent implementation of the assertion digests, and the
    # ISO 3166-1 list its country table is checked against
    python3 iso-codes
    # PC/SC interop: vsmartcard's reader driver (vpcd) and card (vicc), OpenSC's tools
    vsmartcard-vpcd vsmartcard-vpicc opensc
    # the security tests (issue 10): systemd-analyze on the unit, strace of the bridge,
    # gcore (gdb) for core dumps, throwaway users (passwd: useradd; util-linux: runuser,
    # setpriv), pgrep (procps)
    systemd strace gdb passwd util-linux procps
    # the constant-time check of the brainpoolP256r1 reduction (tests/unit/ct_ecp_bp256.c)
    valgrind
)
# node and npm for the browser tests: Debian's, unless the machine already has
# them (a Node.js from elsewhere bundles its own npm, which Debian's would conflict with)
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: run as root or install sudo" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
