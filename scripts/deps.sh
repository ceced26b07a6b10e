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
    # the reader firmware on the STM32F405 (boards/stm32f405): the cross toolchain with
    # newlib-nano, QEMU's netduinoplus2, dpkg-source for mbedTLS's source package
    gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi qemu-system-arm dpkg-dev
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

SUDO=""
as_root() {
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        command -v sudo >/dev/null || { echo "deps: run as root or install sudo" >&2; exit 1; }
        SUDO=sudo
    fi
}

# The firmware's mbedTLS is built from Debian's source package ("apt-get source
# mbedtls", scripts/mbedtls-source.sh), which needs a deb-src entry: each deb
# entry gets its deb-src twin, in the deb822 file (Debian 12's
# /etc/apt/sources.list.d/debian.sources) or in a one-line sources.list.
src_added=0
if ! grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list &&
    ! grep -qsE '^Types:.*[[:space:]]deb-src([[:space:]]|$)' /etc/apt/sources.list.d/*.sources; then
    as_root
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && $SUDO sed -i -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f"
    done
    if [ -f /etc/apt/sources.list ]; then
        $SUDO sed -i -E 's/^([[:space:]]*)deb([[:space:]].*)$/\1deb\2\n\1deb-src\2/' /etc/apt/sources.list
    fi
    echo "deps: deb-src entries added (apt-get source mbedtls)" >&2
    src_added=1
fi

[ ${#missing[@]} -eq 0 ] && [ $src_added -eq 0 ] && exit 0

as_root
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
