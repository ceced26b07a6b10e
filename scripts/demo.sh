#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
# Until the reader and bridge exist, the demo decodes a sample ATR: a T=1 card
# offering Fi=512/Di=32 (TA1=0x96) and IFSC 254.
exec build/host/hawiya atr 3B8880018031F0734D45FE00
