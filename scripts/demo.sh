#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs one
# authentication end to end on this machine:
#   hawiya-vcard (a virtual eID card, persona "default", with its test PKI)
#   hawiya-sim-reader (the reader firmware on the simulated board, in real time)
#   hawiya-bridge (the host daemon), asked by `hawiya auth` as a platform would
# then checks the assertion with `hawiya verify` and prints who was verified.
# Everything runs in a temporary directory and is stopped at the end.
# HAWIYA_DEMO_INTERFACE=contactless: the card (persona "morocco-cl", a Moroccan-style
# dual-interface card) is tapped on the reader's antenna instead (ISO/IEC 14443 Type A,
# 848 kbit/s): the request waits for the tap, which comes a moment later.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

B=build
echo "== building (first run: about a minute)"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j "$(nproc)" --target hawiya hawiya-bridge hawiya-sim-reader hawiya-vcard \
    hawiya-pki pki_data >/dev/null

INTERFACE=${HAWIYA_DEMO_INTERFACE:-contact}
case "$INTERFACE" in
contact)
    PERSONA=${HAWIYA_DEMO_PERSONA:-default}
    CAN=${HAWIYA_DEMO_CAN:-123456}
    ;;
contactless)
    PERSONA=${HAWIYA_DEMO_PERSONA:-morocco-cl}
    CAN=${HAWIYA_DEMO_CAN:-246810}
    ;;
*) echo "demo: HAWIYA_DEMO_INTERFACE is contact or contactless" >&2; exit 2 ;;
esac
ORIGIN=https://record.example
T=$(mktemp -d /tmp/hawiya-demo-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

wait_socket() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
    echo "demo: $1 did not appear" >&2
    return 1
}

RF=()
VCARD_WHERE=()
if [ "$INTERFACE" = contactless ]; then
    RF=(--rf "$T/rf.sock")
    VCARD_WHERE=(--absent) # in nobody's hand yet: neither in the slot nor in the field
fi
"$B/host/vcard/hawiya-vcard" --line "$T/line.sock" --control "$T/card.sock" "${RF[@]}" \
    "${VCARD_WHERE[@]}" --personas tests/data/personas.json --persona "$PERSONA" --pki "$B/pki" \
    2>"$T/vcard.log" &
PIDS+=($!)
wait_socket "$T/card.sock"
"$B/boards/sim/hawiya-sim-reader" --card "$T/line.sock" --host "$T/reader.sock" "${RF[@]}" \
    --state "$T/reader-flash" --realtime 2>"$T/reader.log" &
PIDS+=($!)
wait_socket "$T/reader.sock"
echo "== the reader makes its device key; the test manufacturer CA certifies it"
"$B/host/pki/hawiya-pki" provision --ca "$B/pki" --reader "$T/reader.sock"

cat >"$T/bridge.conf" <<CONF
origin = $ORIGIN
reader = sim:desk:$T/reader.sock
CONF
"$B/host/bridge/hawiya-bridge" --config "$T/bridge.conf" --socket "$T/bridge.sock" \
    2>"$T/bridge.log" &
PIDS+=($!)
wait_socket "$T/bridge.sock"

CHALLENGE=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
echo "== the platform asks: challenge $CHALLENGE, origin $ORIGIN"
if [ "$INTERFACE" = contactless ]; then
    echo "== hawiya auth (card: persona '$PERSONA', CAN typed at the desk): waiting for a tap"
    echo "$CAN" | "$B/host/cli/hawiya" auth --socket "$T/bridge.sock" --challenge "$CHALLENGE" \
        --origin "$ORIGIN" --can - >"$T/assertion.json" &
    AUTH=$!
    sleep 1
    echo "== the citizen taps the card on the reader"
    python3 - "$T/card.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"tap\n")
s.recv(64)
PY
    wait "$AUTH"
else
    echo "== hawiya auth (card: persona '$PERSONA', CAN typed at the desk)"
    echo "$CAN" | "$B/host/cli/hawiya" auth --socket "$T/bridge.sock" --challenge "$CHALLENGE" \
        --origin "$ORIGIN" --can - >"$T/assertion.json"
fi
echo "   assertion: $(wc -c <"$T/assertion.json") bytes of JSON"

echo "== the platform server: hawiya verify"
# Two trust stores that never mix: the states' CSCAs (with their CRLs) vouch for documents,
# the reader manufacturer's CA for readers.
"$B/host/cli/hawiya" verify --csca "$B/pki/csca" --reader-ca "$B/pki/reader-ca" --crl "$B/pki/crl" \
    --challenge "$CHALLENGE" --origin "$ORIGIN" --text <"$T/assertion.json"
