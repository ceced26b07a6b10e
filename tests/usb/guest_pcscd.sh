#!/bin/sh
# pcscd in the USB test guest, kept running the way a Debian 12 machine keeps
# it: there systemd's pcscd.socket holds pcscd's socket, and when pcscd has
# died the next client that connects starts it again. Here: pcscd is started
# again as soon as it exits, and every exit is told to the host on the console
# as "@@PCSCD_EXIT STATUS LAST_LOG_LINE" (tests/usb/guest.c), which judges it:
# the tests accept one known upstream crash and fail on any other (README.md,
# "Our reader on USB, under pcscd and libccid").
#
# The known crash: Debian 12's libccid 1.5.2 aborts pcscd when a multi-slot
# reader (ours: slot 0 contact, slot 1 contactless) is unplugged and pcscd
# closes slot 0 before libccid's interrupt thread has seen the device go.
# CloseUSB() of a slot that is not the last one sets that slot's dev_handle to
# NULL, and the interrupt thread (Multi_PollingProc) resubmits its transfer
# with usbDevice[slot 0].dev_handle:
#   libusb_submit_transfer: Assertion `transfer->dev_handle' failed.
# Fixed upstream by CCID commit 5aa84ff "Fix crash in Multi_PollingProc()"
# (https://salsa.debian.org/rousseau/CCID/-/issues/18), not in Debian 12.
#
# usage: pcscd-supervised &    (pcscd's output goes to /tmp/pcscd.log, each
#                               exit status to /tmp/pcscd.exits; TERM stops
#                               pcscd and this loop)
LOG=/tmp/pcscd.log
child=
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
while :; do
    pcscd --foreground >>$LOG 2>&1 &
    child=$!
    wait $child
    status=$?
    child=
    echo "$status" >>/tmp/pcscd.exits
    echo "@@PCSCD_EXIT $status $(grep -v '^$' $LOG | tail -n 1)"
    # pcscd.socket does not start a service again at once either: the next
    # client does. A pause keeps a pcscd that cannot start from spinning.
    sleep 0.5
done
