#!/bin/sh
# docs/assertion.md's worked example, checked by an implementation written
# from the page alone (tests/assertion_digests.py: Python's standard library)
# against libhawiya-verify and openssl, which share no code with it:
#   - the digests the page states are the ones Python computes;
#   - `hawiya verify` accepts the example assertion (so its own card challenge
#     and to-be-signed digest are the ones the card and reader signed);
#   - openssl verifies the reader's signature over Python's to-be-signed
#     digest, and the card's Active Authentication signature over
#     SHA-256(Python's aa_challenge) with the DG15 key: the two
#     implementations agree byte for byte;
#   - and a byte off (the challenge/origin boundary moved) is refused by both.
# usage: assertion_independent.sh HAWIYA PKI_DIR SOURCE_DIR WORKDIR
set -u
hawiya=$1 pki=$2 src=$3 work=$4
ex=$src/tests/data/assertion-example.json
ch=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8
fails=0
rm -rf "$work" && mkdir -p "$work"
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

if python3 "$src/tests/assertion_digests.py" "$ex" --doc "$src/docs/assertion.md" \
    --tbs-out "$work/tbs.bin" >"$work/digests.txt"; then
    ok "the page's digests are Python's"
else
    bad "digests against docs/assertion.md: $(grep FAIL "$work/digests.txt")"
fi

out=$("$hawiya" verify --csca "$pki/csca" --reader-ca "$pki/reader-ca" --crl "$pki/crl" \
    --challenge "$ch" --origin https://record.example --now 20260101000000Z < "$ex")
case $out in *'"verified":true'*) ok "hawiya verify accepts the example" ;;
*) bad "hawiya verify: $out" ;; esac

# The reader's certificate and signature, the card's DG15 key and plain r||s signature, as DER.
python3 - "$ex" "$work" <<'PY'
import base64, json, sys
a = json.load(open(sys.argv[1]))
w = sys.argv[2]
d = lambda s: base64.b64decode(s, validate=True)
open(w + "/reader.der", "wb").write(d(a["reader"]["certificate"]))
open(w + "/reader-sig.der", "wb").write(d(a["reader"]["signature"]))
dg15 = d(a["dg15"])                 # 6F L SubjectPublicKeyInfo (L < 128 here)
assert dg15[0] == 0x6F and dg15[1] < 0x80
open(w + "/aa-pub.der", "wb").write(dg15[2:])
rs = d(a["aa_signature"])
n = len(rs) // 2
def der_int(v):
    v = v.lstrip(b"\0") or b"\0"
    if v[0] & 0x80:
        v = b"\0" + v
    return bytes([2, len(v)]) + v
body = der_int(rs[:n]) + der_int(rs[n:])
open(w + "/aa-sig.der", "wb").write(bytes([0x30, len(body)]) + body)
PY
aa=$(sed -n 's/^aa_challenge: //p' "$work/digests.txt")
python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))" "$aa" |
    openssl dgst -sha256 -binary >"$work/aa-hash.bin"
openssl x509 -inform DER -in "$work/reader.der" -pubkey -noout >"$work/reader-pub.pem"
if openssl pkeyutl -verify -pubin -inkey "$work/reader-pub.pem" -in "$work/tbs.bin" \
    -sigfile "$work/reader-sig.der" >/dev/null 2>&1; then
    ok "openssl: the reader signed Python's to-be-signed digest"
else
    bad "openssl does not verify the reader's signature over Python's digest"
fi
if openssl pkeyutl -verify -pubin -keyform DER -inkey "$work/aa-pub.der" -in "$work/aa-hash.bin" \
    -sigfile "$work/aa-sig.der" >/dev/null 2>&1; then
    ok "openssl: the card signed SHA-256 of Python's aa_challenge (ecdsa-plain-SHA256)"
else
    bad "openssl does not verify the card's AA signature over Python's aa_challenge"
fi

# And the same checks refuse a digest one bit off.
cp "$work/tbs.bin" "$work/tbs-off.bin"
printf '\001' | dd of="$work/tbs-off.bin" bs=1 seek=31 conv=notrunc 2>/dev/null
if openssl pkeyutl -verify -pubin -inkey "$work/reader-pub.pem" -in "$work/tbs-off.bin" \
    -sigfile "$work/reader-sig.der" >/dev/null 2>&1; then
    bad "openssl verifies the reader's signature over another digest"
else
    ok "openssl refuses another digest"
fi

# The boundary moved: challenge || "https://", origin "record.example". Python's card challenge
# changes, and so hawiya verify (given that challenge and origin) refuses the card's signature.
python3 - "$ex" "$work/shifted.json" <<'PY'
import base64, json, sys
a = json.load(open(sys.argv[1]))
c = base64.urlsafe_b64decode(a["challenge"] + "==") + b"https://"
a["challenge"] = base64.urlsafe_b64encode(c).decode().rstrip("=")
a["origin"] = "record.example"
open(sys.argv[2], "w").write(json.dumps(a, ensure_ascii=False, separators=(",", ":")))
PY
ch40=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['challenge'])" "$work/shifted.json")
if python3 "$src/tests/assertion_digests.py" "$work/shifted.json" >/dev/null; then
    bad "Python takes the shifted assertion's aa_challenge"
else
    ok "Python: the shifted reading has another card challenge"
fi
out=$("$hawiya" verify --csca "$pki/csca" --reader-ca "$pki/reader-ca" --challenge "$ch40" \
    --origin record.example --now 20260101000000Z < "$work/shifted.json")
case $out in *'"error":"HV_ERR_AA_CHALLENGE"'*) ok "hawiya verify: HV_ERR_AA_CHALLENGE" ;;
*) bad "hawiya verify on the shifted assertion: $out" ;; esac

[ "$fails" -eq 0 ] && echo "all passed"
exit "$fails"
