#!/usr/bin/env python3
"""The verifier's ICAO-to-ISO country table (host/verify/src/country.c) against
Debian's iso-codes (ISO 3166-1): every alpha-3 code maps to its alpha-2 code,
and the only other entries are the 9303-3 codes the file's header lists.
usage: check_country_codes.py COUNTRY_C ISO_3166_1_JSON"""
import json
import re
import sys

ICAO_EXTRA = {"D": "DE", "EUE": "EU", "GBD": "GB", "GBN": "GB", "GBO": "GB", "GBP": "GB",
              "GBS": "GB", "RKS": "XK", "UNA": "UN", "UNK": "UN", "UNO": "UN", "UTO": "UT"}

src = open(sys.argv[1], encoding="utf-8").read()
table = dict(re.findall(r'\{"([A-Z]{1,3})", "([A-Z]{2})"\}', src))
iso = {e["alpha_3"]: e["alpha_2"] for e in json.load(open(sys.argv[2]))["3166-1"]}
want = dict(iso, **ICAO_EXTRA)
bad = 0
for code, a2 in sorted(want.items()):
    if table.get(code) != a2:
        print(f"FAIL: {code} -> {table.get(code)}, want {a2}")
        bad += 1
for code in sorted(set(table) - set(want)):
    print(f"FAIL: {code} is neither ISO 3166-1 nor a 9303-3 code listed")
    bad += 1
keys = re.findall(r'\{"([A-Z]{1,3})", "[A-Z]{2}"\}', src)
if keys != sorted(keys):
    print("FAIL: the table is not sorted (bsearch)")
    bad += 1
print(f"check_country_codes: {len(table)} codes, {len(iso)} from ISO 3166-1, {bad} failures")
sys.exit(1 if bad else 0)
