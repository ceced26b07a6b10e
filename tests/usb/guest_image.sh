#!/bin/sh
# Builds the small Linux guest the USB tests boot under QEMU, from this
# machine's Debian packages only (scripts/deps.sh installs them):
#   OUT/vmlinux      the uncompressed kernel of linux-image-amd64 (a compressed
#                    bzImage boots far slower under TCG)
#   OUT/base.cpio    busybox-static, the USB host modules, pcscd, libccid,
#                    systemd-udevd, with every shared library they load
#   OUT/test.cpio    the test's own programs (arguments) with their libraries,
#                    and guest_pcscd.sh as /bin/pcscd-supervised
# The kernel and the base are kept while the packages they come from are
# the same versions; the test part is made anew each time.
#
# libccid needs configuration, not code, to drive our reader, and the image
# applies exactly what a distribution or an administrator would
# (README.md, "Our reader under pcscd"):
#   - Info.plist lists the reader's VID:PID (pid.codes 0x1209:0x0001): pcscd's
#     hot-plug and libccid both refuse a device not listed there;
#   - ifdDriverOptions 0x0001 (DRIVER_OPTION_CCID_EXCHANGE_AUTHORIZED) lets
#     SCardControl reach the reader's own escape commands.
#
# usage: guest_image.sh OUT INIT_SCRIPT [PROGRAM...]
set -eu
OUT=$1
INIT=$2
shift 2
mkdir -p "$OUT"

# The newest kernel of linux-image-amd64 that has both its image and modules here.
KVER=
for v in $(ls /lib/modules | sort -V); do
    [ -f "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v/kernel/drivers/usb/host" ] && KVER=$v
done
[ -n "$KVER" ] || { echo "guest_image: no kernel (install linux-image-amd64)" >&2; exit 1; }
KIMG=/boot/vmlinuz-$KVER
stamp=$(dpkg-query -W -f='${Package}=${Version} ' linux-image-$KVER busybox-static pcscd libccid \
    systemd libc6 libusb-1.0-0 2>/dev/null)
stamp="$stamp $(cksum <"$0")"

if [ ! -f "$OUT/stamp" ] || [ "$(cat "$OUT/stamp")" != "$stamp" ]; then
    rm -rf "$OUT/base" "$OUT/vmlinux" "$OUT/base.cpio"
    # The kernel's own scripts/extract-vmlinux, in short: find the xz stream
    # inside the bzImage and decompress it.
    for off in $(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$KIMG" | cut -d: -f1); do
        if tail -c +$((off + 1)) "$KIMG" | xz -dc >"$OUT/vmlinux.tmp" 2>/dev/null ||
            [ -s "$OUT/vmlinux.tmp" ]; then
            if head -c 4 "$OUT/vmlinux.tmp" | grep -q 'ELF'; then
                mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
                break
            fi
        fi
    done
    [ -f "$OUT/vmlinux" ] || { echo "guest_image: no vmlinux in $KIMG" >&2; exit 1; }

    B=$OUT/base
    mkdir -p "$B/bin" "$B/sbin" "$B/lib/modules" "$B/proc" "$B/sys" "$B/dev" "$B/run" "$B/tmp" \
        "$B/etc/udev/rules.d" "$B/etc/reader.conf.d" "$B/usr/lib/pcsc/drivers"
    cp /bin/busybox "$B/bin/busybox"
    M=/lib/modules/$KVER/kernel/drivers/usb
    for m in common/usb-common core/usbcore host/xhci-hcd host/xhci-pci; do
        cp "$M/$m.ko" "$B/lib/modules/"
    done
    cp /usr/sbin/pcscd "$B/sbin/pcscd"
    cp /lib/systemd/systemd-udevd "$B/sbin/systemd-udevd"
    cp -r /usr/lib/pcsc/drivers/ifd-ccid.bundle "$B/usr/lib/pcsc/drivers/"
    P=$B/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist
    # The administrator's two edits (see above), at the head of each list so
    # the three lists stay aligned.
    sed -i -e '/<key>ifdVendorID<\/key>/{n;s|<array>|<array>\n\t\t<string>0x1209</string>|}' \
        -e '/<key>ifdProductID<\/key>/{n;s|<array>|<array>\n\t\t<string>0x0001</string>|}' \
        -e '/<key>ifdFriendlyName<\/key>/{n;s|<array>|<array>\n\t\t<string>Hawiya eID Reader</string>|}' \
        -e '/<key>ifdDriverOptions<\/key>/{n;s|<string>0x0000</string>|<string>0x0001</string>|}' "$P"
    grep -q '<string>0x0001</string>' "$P"
    ( cd "$B/bin" && for a in $(./busybox --list); do [ -e "$a" ] || ln -s busybox "$a"; done )
    echo "$stamp" >"$OUT/stamp.new"
    libs="/sbin/pcscd /lib/systemd/systemd-udevd /usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so"
    echo "$libs" >"$OUT/base.bins"
fi

# Every shared library a program loads, with its links, under the same path;
# glibc loads libgcc_s at run time (thread cancellation), which ldd does not list.
copy_libs() {
    root=$1
    shift
    for f in "$@"; do
        ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'
    done | sort -u | while read -r lib; do
        [ -n "$lib" ] || continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    for g in /lib/x86_64-linux-gnu/libgcc_s.so.1; do
        mkdir -p "$root$(dirname "$g")"
        cp -L "$g" "$root$g"
    done
}

if [ ! -f "$OUT/base.cpio" ]; then
    copy_libs "$OUT/base" $(cat "$OUT/base.bins")
    ( cd "$OUT/base" && find . | LC_ALL=C sort | cpio -o -H newc --quiet ) >"$OUT/base.cpio"
    mv "$OUT/stamp.new" "$OUT/stamp"
fi

T=$OUT/test
rm -rf "$T"
mkdir -p "$T/bin"
cp "$INIT" "$T/init"
chmod 755 "$T/init"
# pcscd restarted when it dies, as pcscd.socket does on Debian (guest_pcscd.sh).
cp "$(dirname "$0")/guest_pcscd.sh" "$T/bin/pcscd-supervised"
chmod 755 "$T/bin/pcscd-supervised"
for p in "$@"; do
    cp "$p" "$T/bin/"
done
[ $# -eq 0 ] || copy_libs "$T" "$@"
( cd "$T" && find . | LC_ALL=C sort | cpio -o -H newc --quiet ) >"$OUT/test.cpio"
