#!/bin/busybox sh
# /init of the USB test guest (tests/usb/guest_image.sh): mounts, loads the
# xHCI driver, starts udevd (pcscd hears of a reader plugged in later through
# it) and, for the pcsc test, pcscd (kept running by pcscd-supervised,
# guest_pcscd.sh), waits for our reader (pid.codes 1209:0001) to enumerate, then
# runs the test named on the kernel command line (hawiya_test=..., its
# arguments in hawiya_args, commas for spaces) and powers off. The host reads
# the console: lines starting "@@" are for it ("@@CARD remove" asks it to take
# the card out; "@@EXIT n" is the test's exit status).
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
# No tmpfs over /tmp: the initramfs root is writable already, and a checkout
# under /tmp (a clone in /tmp/fresh) has its programs' libraries copied there
# at their build path (guest_image.sh), which a mount would hide.
chmod 1777 /tmp
for m in usb-common usbcore xhci-hcd xhci-pci; do
    insmod /lib/modules/$m.ko || echo "@@ insmod $m failed"
done
mkdir -p /run/udev /run/pcscd
systemd-udevd --daemon 2>/dev/null || echo "@@ udevd failed"

found=
for i in $(seq 1 600); do
    for d in /sys/bus/usb/devices/*; do
        if [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "1209:0001" ]; then
            found=$d
        fi
    done
    [ -n "$found" ] && break
    sleep 0.1
done
if [ -z "$found" ]; then
    echo "@@ reader 1209:0001 not enumerated"
    echo "@@EXIT 99"
    poweroff -f
fi
echo "@@ reader at $found: $(cat "$found/manufacturer") / $(cat "$found/product")"
export HAWIYA_USB_SYSFS=$found

rc=0
args=$(echo "${hawiya_args:-}" | tr ',' ' ')
case "${hawiya_test:-}" in
pcsc)
    pcscd-supervised &
    /bin/guest_pcsc $args || rc=$?
    ;;
*)
    "/bin/${hawiya_test:-true}" $args || rc=$?
    ;;
esac
if [ "$rc" != 0 ] && [ -s /tmp/pcscd.log ]; then
    echo "@@ pcscd said:"
    tail -n 30 /tmp/pcscd.log
fi
echo "@@EXIT $rc"
poweroff -f
