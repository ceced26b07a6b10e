#!/bin/sh
# Runs inside the USB test guest (hawiya_test=guest_bridge.sh): hawiya-bridge
# drives our reader over libusb, no pcscd, and the hawiya CLI asks it for an
# attested authentication. In order:
#  1. pcscd holds the reader: the bridge leaves it alone and says why;
#  2. pcscd stops: the bridge claims the reader within its retry time;
#  3. one authentication; the assertion goes to the host ("@@ASSERTION",
#     base64url), which verifies it with libhawiya-verify;
#  4. the card taken out and put back: the bridge hears both on the
#     interrupt pipe;
#  5. the reader unplugged and plugged in again: the bridge sees it go,
#     takes it back, and authenticates again.
set -u
CH=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8
OR=https://record.example
SOCK=/run/hawiya/bridge.sock
LOG=/tmp/bridge.log
mkdir -p /run/hawiya

step() {
    echo "@@ $(cut -d' ' -f1 /proc/uptime) s: $*"
}

fail() {
    echo "@@ FAIL: $*"
    hawiya readers --socket $SOCK
    echo "@@ bridge log:"
    tail -n 40 $LOG
    exit 1
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    t=$(($1 * 10))
    shift
    while [ $t -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        t=$((t - 1))
    done
    return 1
}

cat >/tmp/bridge.conf <<CONF
origin = $OR
reader = usb:u1:1209:0001:SIM0001
timeout_ms = 60000
log = stderr
log_level = info
CONF

# 1. pcscd first: its libccid claims the interface (usbfs binds it).
pcscd --foreground >/tmp/pcscd.log 2>&1 &
PCSCD=$!
IF=$HAWIYA_USB_SYSFS/$(basename "$HAWIYA_USB_SYSFS"):1.0
wait_for 30 sh -c "readlink $IF/driver | grep -q usbfs" || fail "pcscd never claimed the reader"
hawiya-bridge --config /tmp/bridge.conf --socket $SOCK 2>$LOG &
BRIDGE=$!
wait_for 30 grep -q "claimed by another program (pcscd is running" $LOG ||
    fail "the bridge did not say pcscd holds the reader"
step "bridge: $(grep -m1 'claimed by another program' $LOG)"

# 2. pcscd goes: the bridge takes the reader on its own.
kill $PCSCD
wait $PCSCD
step "pcscd stopped"
wait_for 30 grep -q "reader u1 connected" $LOG || fail "the bridge never claimed the reader"
wait_for 30 sh -c "hawiya readers --socket $SOCK | grep -q present" ||
    fail "no card seen in u1"
step "bridge has the reader, card present"

# 3. The attested session through SCardControl's equivalent: escapes on the bulk pipes.
echo 123456 | hawiya auth --socket $SOCK --challenge $CH --origin $OR --can - --reader u1 \
    >/tmp/assertion.json 2>/tmp/auth.err || { cat /tmp/auth.err; fail "hawiya auth"; }
echo "@@ASSERTION $(base64 -w 0 /tmp/assertion.json | tr '+/' '-_')"
step "authenticated"

# 4. Out and in again, on the interrupt pipe.
echo "@@CARD remove"
wait_for 30 grep -q "reader u1: card removed" $LOG || fail "removal not seen"
echo "@@CARD insert"
wait_for 30 grep -q "reader u1: card inserted" $LOG || fail "insertion not seen"
step "bridge saw the card leave and come back"

# 5. The reader unplugged (libusb's hot-plug callback, or its interrupt
#    pipe failing), then plugged in again: the bridge takes it back by itself.
echo "@@UNPLUG"
wait_for 30 grep -q "reader u1 lost" $LOG || fail "the unplug was not seen"
step "bridge saw the reader unplugged"
echo "@@PLUG"
wait_for 60 sh -c "[ \$(grep -c 'reader u1 connected' $LOG) -ge 2 ]" ||
    fail "the reader plugged in again was not taken back"
wait_for 30 sh -c "hawiya readers --socket $SOCK | grep -q present" || fail "no card after replug"
echo 123456 | hawiya auth --socket $SOCK --challenge $CH --origin $OR --can - --reader u1 \
    >/tmp/assertion2.json 2>/tmp/auth.err || { cat /tmp/auth.err; fail "hawiya auth after replug"; }
step "reader back, authenticated again"

# A clean stop (and, in a sanitizer build, no leak report).
kill $BRIDGE
wait $BRIDGE || fail "hawiya-bridge exited with status $?"
exit 0
