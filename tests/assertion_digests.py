#!/usr/bin/env python3
"""An implementation of docs/assertion.md, "Bytes hashed and signed", written
from that page alone with Python's standard library (json, base64, hashlib):
no code shared with libhawiya-verify. For an assertion it prints the card
challenge input and digest, and the reader's to-be-signed digest, and checks
that aa_challenge is the card challenge. With --doc it also checks the values
the page's worked example states, so the page and the code cannot drift.

usage: assertion_digests.py ASSERTION.json [--doc docs/assertion.md]
       [--tbs-out FILE]   (the 32-byte to-be-signed digest, for openssl)"""
import base64
import hashlib
import json
import re
import struct
import sys


def field(tag, value):
    # tag (1 byte) || length (4 bytes, big-endian) || value
    return bytes([tag]) + struct.pack(">I", len(value)) + value


def b64(a, key):
    return base64.b64decode(a[key], validate=True) if key in a else b""


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    args = sys.argv[1:]
    doc = tbs_out = None
    if "--doc" in args:
        i = args.index("--doc")
        doc = args[i + 1]
        del args[i:i + 2]
    if "--tbs-out" in args:
        i = args.index("--tbs-out")
        tbs_out = args[i + 1]
        del args[i:i + 2]
    a = json.load(open(args[0], encoding="utf-8"))

    challenge = b64url(a["challenge"])
    origin = a["origin"].encode("utf-8")
    dg1 = b64(a, "dg1")
    card_input = (b"hawiya-assertion/2 card challenge\x00" + field(0x01, challenge) +
                  field(0x02, origin) + field(0x05, dg1))
    card_digest = hashlib.sha256(card_input).digest()
    aa_challenge = card_digest[:8]
    out = {
        "card challenge input": card_input.hex(),
        "card challenge digest": card_digest.hex(),
        "aa_challenge": aa_challenge.hex(),
    }
    failures = []
    if b64(a, "aa_challenge") != aa_challenge:
        failures.append("aa_challenge in the assertion is not the card challenge")

    r = a["reader"]
    if r.get("attested"):
        counter = struct.pack(">Q", r["counter"])
        values = [challenge, origin, b64(a, "ef_cardaccess"), b64(a, "ef_com"), dg1,
                  b64(a, "dg11"), b64(a, "dg14"), b64(a, "dg15"), b64(a, "sod"),
                  aa_challenge, b64(a, "aa_signature"), counter, r["id"].encode("ascii")]
        tbs = b"hawiya-assertion/2 reader attestation\x00"
        for tag, v in enumerate(values, start=1):
            out[f"field {tag:02X} header"] = field(tag, v)[:5].hex()
            out[f"field {tag:02X} SHA-256"] = hashlib.sha256(v).hexdigest()
            tbs += field(tag, v)
        digest = hashlib.sha256(tbs).digest()
        out["to-be-signed length"] = str(len(tbs))
        out["to-be-signed digest"] = digest.hex()
        if tbs_out:
            open(tbs_out, "wb").write(digest)

    for k, v in out.items():
        print(f"{k}: {v}")

    if doc:
        text = open(doc, encoding="utf-8").read()
        example = text[text.index("## Worked example"):]
        for key in ("card challenge input", "card challenge digest", "aa_challenge",
                    "to-be-signed length", "to-be-signed digest"):
            if key not in out:
                continue
            # "key: `hex`", or "key:" and a code block of hex lines, up to a blank line.
            m = re.search(r"^" + re.escape(key) + r":(.*?)(?:\n\n|\Z)", example, re.M | re.S)
            text_after = m.group(1).replace("```", "").replace("`", "") if m else ""
            hexrun = re.match(r"[0-9A-Fa-f\s]+", text_after.lstrip())
            stated = re.sub(r"\s", "", hexrun.group(0)).lower() if hexrun else None
            if stated != out[key].lower():
                failures.append(f"docs/assertion.md states {key} {stated}, computed {out[key]}")
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


main()
