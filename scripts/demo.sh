#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
# Until the reader and bridge exist, the demo decodes a sample ATR: the Algerian
# national identity card from the pcsc-tools list, a T=1 card offering
# Fi=512/Di=32 (TA1=0x96), specific mode, IFSC 254.
exec build/host/cli/hawiya atr 3BFF9600FF918131FE4D8031E06B043105027555555555555579
