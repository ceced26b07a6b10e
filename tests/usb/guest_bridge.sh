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
#  4b. a dual-interface card tapped (the contactless slot, CCID slot 1), a
#     session over it, then another card in its place between two of the
#     reader's polls: the reader reports it in one NotifySlotChange (50 0C,
#     slot 1 present and changed), which the bridge must tell subscribers
#     as the first card removed and the second inserted; the second card's
#     session is its own ("@@SEEN" lines and "@@ASSERTION2" for the host);
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

# auth CAN OUT WHAT: an attested authentication on u1 with this CAN, the assertion to OUT.
auth() {
    echo "$1" | hawiya auth --socket $SOCK --challenge $CH --origin $OR --can - --reader u1 \
        >"$2" 2>/tmp/auth.err || { cat /tmp/auth.err; fail "hawiya auth $3"; }
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
auth 123456 /tmp/assertion.json ""
echo "@@ASSERTION $(base64 -w 0 /tmp/assertion.json | tr '+/' '-_')"
step "authenticated"

# 4. Out and in again, on the interrupt pipe.
echo "@@CARD remove"
wait_for 30 grep -q "reader u1: card removed" $LOG || fail "removal not seen"
echo "@@CARD insert"
wait_for 30 grep -q "reader u1: card inserted" $LOG || fail "insertion not seen"
step "bridge saw the card leave and come back"

# 4b. The field: a card tapped, a session that ends with the card taken
#     away and another tapped before the reader's next poll (the virtual
#     card swaps them right after its S(DESELECT)), a session on the second.
#     swap_events: subscribes, lets "$@" happen, then says what the bridge
#     read on the interrupt pipe and what it told the subscriber.
swap_events() {
    hawiya watch --socket $SOCK >/tmp/swap.events 2>&1 &
    WATCH=$!
    wait_for 30 sh -c "hawiya status --socket $SOCK | grep -q '\"subscribers\":1'" ||
        fail "hawiya watch did not subscribe"
    before=$(grep -c NotifySlotChange $LOG)
    "$@"
    wait_for 30 sh -c "[ \$(grep -c '\"event\":\"card_' /tmp/swap.events) -ge 2 ]" ||
        fail "no removal and insertion reported"
    kill $WATCH
    wait $WATCH
    grep NotifySlotChange $LOG | tail -n +$((before + 1)) | sed 's/.*NotifySlotChange /@@SEEN notify /'
    grep '"event":"card_' /tmp/swap.events | sed 's/^/@@SEEN event /'
}
# In this order on the host: the swap is set before the card is in the field.
echo "@@CONTROL persona morocco-cl"
echo "@@CONTROL persona-after-deselect morocco-cl-only"
echo "@@CONTROL tap"
wait_for 30 sh -c "hawiya readers --socket $SOCK | grep -q '\"interface\":\"contactless\"'" ||
    fail "no card in the field"
swap_events auth 246810 /tmp/cl1.json "over the field"
step "authenticated over the field, then another card in its place"
auth 112233 /tmp/cl2.json "of the second card"
echo "@@ASSERTION2 $(base64 -w 0 /tmp/cl2.json | tr '+/' '-_')"
step "the second card authenticated"
# Back to the contact card for the rest.
echo "@@CONTROL persona default"
wait_for 30 sh -c "hawiya readers --socket $SOCK | grep -q '\"interface\":\"contact\"'" ||
    fail "the contact card did not come back"

# 5. The reader unplugged (libusb's hot-plug callback, or its interrupt
#    pipe failing), then plugged in again: the bridge takes it back by itself.
echo "@@UNPLUG"
wait_for 30 grep -q "reader u1 lost" $LOG || fail "the unplug was not seen"
step "bridge saw the reader unplugged"
echo "@@PLUG"
wait_for 60 sh -c "[ \$(grep -c 'reader u1 connected' $LOG) -ge 2 ]" ||
    fail "the reader plugged in again was not taken back"
wait_for 30 sh -c "hawiya readers --socket $SOCK | grep -q present" || fail "no card after replug"
auth 123456 /tmp/assertion2.json "after replug"
step "reader back, authenticated again"

# A clean stop (and, in a sanitizer build, no leak report).
kill $BRIDGE
wait $BRIDGE || fail "hawiya-bridge exited with status $?"
exit 0
