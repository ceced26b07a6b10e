#!/usr/bin/env bash
# The desk page, to try by hand: installs what is missing, builds, then starts
# the virtual card, the sim reader (real time), hawiya-bridge with its loopback
# WebSocket and the platform stand-in serving examples/desk, and prints the URL
# to open in a browser on this machine. Commands for the card on standard
# input (remove, insert, persona ID, reader-off, quit); Ctrl-C stops everything.
#   HAWIYA_DESK_PORT (8080), HAWIYA_BRIDGE_WS_PORT (47123), HAWIYA_DEMO_PERSONA (default)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

B=build
echo "== building (first run: about a minute)"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j "$(nproc)" --target hawiya-bridge hawiya-sim-reader hawiya-vcard hawiya-pki \
    hawiya-platform-standin pki_data >/dev/null

export HAWIYA_VCARD="$B/host/vcard/hawiya-vcard" HAWIYA_SIM_READER="$B/boards/sim/hawiya-sim-reader"
export HAWIYA_BRIDGE="$B/host/bridge/hawiya-bridge" HAWIYA_PKI="$B/host/pki/hawiya-pki"
export HAWIYA_PKI_DIR="$B/pki" HAWIYA_PERSONAS=tests/data/personas.json
export HAWIYA_STANDIN="$B/host/platform-standin/hawiya-platform-standin" HAWIYA_DESK_DIR=examples/desk
exec node tests/web/serve_desk.js
