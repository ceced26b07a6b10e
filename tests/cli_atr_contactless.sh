#!/bin/sh
# `hawiya atr` on the PC/SC Part 3 ATRs of contactless cards (pcsc-tools'
# smartcard_list.txt: the Moroccan identity card, Type A, the Algerian one,
# Type B, a MIFARE Classic 1K storage card): the "contactless" object of each
# line, field by field, and null for a contact ATR.
# usage: cli_atr_contactless.sh HAWIYA_BINARY
set -eu
hawiya=$1
out=$("$hawiya" atr "3B 85 80 01 80 73 84 21 C0 92" 3B888001E1686C17778395009A \
    3B8F8001804F0CA000000306030001000000006A 3B95968031FE458073B421402F 2>&1 || true)
printf '%s\n' "$out" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert len(lines) == 4, lines
ma, dz, mf, contact = lines
assert ma["valid"] and ma["contactless"] == {"type": "A", "historical_from": "ATS"}, ma
assert ma["historical"] == "80738421C0"
assert ma["historical_decoded"]["extended_lc_le"] is True
assert dz["valid"] and dz["contactless"] == {
    "type": "B", "historical_from": "ATQB", "application_data": "E1686C17",
    "protocol_info": "778395", "afi": "E1",
    "picc_to_pcd_kbps": [106, 212, 424, 848], "pcd_to_picc_kbps": [106, 212, 424, 848],
    "same_rate_both_ways": False, "max_frame_size": 256, "iso14443_4": True,
    "fwi": 9, "fwt_ms": 154.657, "adc": 1, "cid": True, "nad": False, "mbli": 0}, dz
assert mf["valid"] and mf["contactless"] == {"type": "storage", "standard": "03",
                                             "card_name": "0001"}, mf
assert contact["contactless"] is None, contact
print("4 ATRs decoded as PC/SC Part 3 says")
'
