#!/bin/sh
# Checks hawiya-pki's output with openssl, an implementation we do not share
# code with: RFC 5652 CMS verification of every EF.SOD against the CSCA
# (DS -> CSCA chain), the LDSSecurityObject's hashes against sha256sum of
# each DG file (ICAO 9303-10 §4.6.2), X.509 chains of the DS and reader
# certificates (RFC 5280), the CSCA master list (a CMS SignedData of
# id-icao-cscaMasterList by the Master List Signer) and every CRL against
# its issuer, the profiles of each role and of the bad certificates, and
# that each bad persona fails the check that matches its flag.
# Usage: pki_openssl.sh HAWIYA_PKI PERSONAS.json WORKDIR
set -u
PKI=$1
PERSONAS=$2
WORK=$3
NOW=1767225600  # the test "now", 2026-01-01T00:00:00Z (docs/pki.md)
IN_2015=1420070400
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION command...
    what=$1
    shift
    if "$@" >"$WORK/last.log" 2>&1; then ok; else bad "$what"; sed 's/^/    /' "$WORK/last.log" | head -5; fi
}
check_not() {
    what=$1
    shift
    if "$@" >"$WORK/last.log" 2>&1; then bad "$what (succeeded)"; else ok; fi
}

rm -rf "$WORK"
mkdir -p "$WORK"
CA=$WORK/ca

check "init" "$PKI" init --out "$CA" --seed 7 --personas "$PERSONAS"
# Deterministic: the same seed gives the same bytes, another seed other keys.
check "init again" "$PKI" init --out "$WORK/ca2" --seed 7 --personas "$PERSONAS"
check "same seed, same files" diff -r "$CA" "$WORK/ca2"
check "init seed 8" "$PKI" init --out "$WORK/ca3" --seed 8 --personas "$PERSONAS"
check_not "another seed, same CSCA" cmp -s "$CA/csca/csca-MAR.der" "$WORK/ca3/csca/csca-MAR.der"
# The stores apart: csca/ holds CSCAs only, reader-ca/ the reader CA only.
check "csca/ holds CSCAs only" test "$(ls "$CA/csca")" = "$(printf 'csca-DZA.der\ncsca-DZA.pem\ncsca-MAR.der\ncsca-MAR.pem\ncsca.pem')"
check "reader-ca/ holds the reader CA only" test "$(ls "$CA/reader-ca")" = "$(printf 'reader-ca.der\nreader-ca.pem')"

# CSCA profile (9303-12): self-signed, cA, keyCertSign; every DS chains to its CSCA.
for c in "$CA"/csca/csca-*.pem; do
    check "$c self-signed" openssl verify -CAfile "$c" -attime $NOW "$c"
    openssl x509 -in "$c" -noout -ext basicConstraints,keyUsage >"$WORK/ext.txt" 2>&1
    check "$c is a CA" grep -q "CA:TRUE" "$WORK/ext.txt"
    check "$c keyCertSign" grep -q "Certificate Sign" "$WORK/ext.txt"
done
for d in "$CA"/ds/ds-*.pem; do
    case $d in
    *-old.pem)
        check_not "$d valid at now" openssl verify -CAfile "$CA/csca/csca.pem" -attime $NOW "$d"
        check "$d valid in 2015" openssl verify -CAfile "$CA/csca/csca.pem" -attime $IN_2015 "$d"
        ;;
    *-pkup-critical.pem)
        # OpenSSL, like mbedTLS, does not handle a critical privateKeyUsagePeriod: only with
        # -ignore_critical does it chain (the verifier applies the extension itself).
        openssl verify -CAfile "$CA/csca/csca.pem" -attime $NOW "$d" >"$WORK/v.txt" 2>&1 || true
        check "$d: openssl says unhandled critical extension" grep -q "unhandled critical extension" "$WORK/v.txt"
        check "$d valid at now (-ignore_critical)" openssl verify -ignore_critical -CAfile "$CA/csca/csca.pem" -attime $NOW "$d"
        ;;
    *)
        check "$d valid at now" openssl verify -CAfile "$CA/csca/csca.pem" -attime $NOW "$d"
        ;;
    esac
    openssl x509 -in "$d" -noout -ext basicConstraints,keyUsage >"$WORK/ext.txt" 2>&1
    check "$d keyUsage digitalSignature only" grep -qx " *Digital Signature" "$WORK/ext.txt"
    check_not "$d is a CA" grep -q "CA:TRUE" "$WORK/ext.txt"
done

# The reader CA: self-signed, a CA, and the Hawiya reader-CA policy no CSCA has.
RPOL=2.25.51346283052073480999273905127589327071
check "reader CA self-signed" openssl verify -CAfile "$CA/reader-ca/reader-ca.pem" -attime $NOW \
    "$CA/reader-ca/reader-ca.pem"
openssl x509 -in "$CA/reader-ca/reader-ca.pem" -noout -ext certificatePolicies >"$WORK/ext.txt" 2>&1
check "reader CA policy" grep -q "Policy: $RPOL" "$WORK/ext.txt"
openssl x509 -in "$CA/csca/csca-MAR.pem" -noout -ext certificatePolicies >"$WORK/ext.txt" 2>&1
check_not "CSCA without the reader policy" grep -q "$RPOL" "$WORK/ext.txt"

# The bad Document Signers, each breaking one rule of the 9303-12 DS profile.
bad_ext() { openssl x509 -in "$CA/bad/ds-MAR-$1.pem" -noout -ext basicConstraints,keyUsage 2>&1; }
check "bad ds-ca is CA:TRUE" sh -c "openssl x509 -in '$CA/bad/ds-MAR-ca.pem' -noout -ext basicConstraints | grep -q CA:TRUE"
bad_ext keycertsign >"$WORK/ext.txt"
check "bad ds-keycertsign: keyCertSign" grep -qx " *Certificate Sign" "$WORK/ext.txt"
bad_ext no-keyusage >"$WORK/ext.txt"
check_not "bad ds-no-keyusage: no keyUsage" grep -q "Key Usage" "$WORK/ext.txt"
openssl x509 -in "$CA/bad/ds-MAR-no-country.pem" -noout -subject >"$WORK/ext.txt" 2>&1
check_not "bad ds-no-country: no C=" grep -q "C = " "$WORK/ext.txt"
check "bad ds-reader-ca chains to the reader CA" openssl verify -CAfile \
    "$CA/reader-ca/reader-ca.pem" -attime $NOW "$CA/bad/ds-MAR-reader-ca.pem"
check_not "bad ds-reader-ca chains to a CSCA" openssl verify -CAfile "$CA/csca/csca.pem" \
    -attime $NOW "$CA/bad/ds-MAR-reader-ca.pem"

# ds-XXX-pkup: the privateKeyUsagePeriod of docs/pki.md, read by openssl; a good DS otherwise.
for s in MAR DZA; do
    openssl x509 -in "$CA/ds/ds-$s-pkup.pem" -noout -text 2>&1 | tr -s ' \n' ' ' >"$WORK/ext.txt"
    check "ds-$s-pkup: privateKeyUsagePeriod 2024" grep -q "X509v3 Private Key Usage Period: Not Before: Jan 1 00:00:00 2024 GMT, Not After: Dec 31 23:59:59 2024 GMT" "$WORK/ext.txt"
    # ds-XXX-pkup-critical: the same period, critical, with fractions of a second.
    openssl x509 -in "$CA/ds/ds-$s-pkup-critical.pem" -noout -text 2>&1 | tr -s ' \n' ' ' >"$WORK/ext.txt"
    check "ds-$s-pkup-critical: critical privateKeyUsagePeriod with fractions" grep -q "X509v3 Private Key Usage Period: critical Not Before: Jan 1 00:00:00.25 2024 GMT, Not After: Dec 31 23:59:59.75 2024 GMT" "$WORK/ext.txt"
done
check_not "ds-MAR has no privateKeyUsagePeriod" sh -c \
    "openssl x509 -in '$CA/ds/ds-MAR.pem' -noout -text | grep -q 'Private Key Usage Period'"

# The bad Master List Signer: a good chain under the first state's CSCA (MAR), the signer's
# extKeyUsage, but the second state's country (DZ).
check "bad ml-signer-other-country chains to csca-MAR" openssl verify -CAfile \
    "$CA/csca/csca-MAR.pem" -purpose any -attime $NOW "$CA/bad/ml-signer-other-country.pem"
openssl x509 -in "$CA/bad/ml-signer-other-country.pem" -noout -subject -issuer -ext extendedKeyUsage \
    -nameopt compat >"$WORK/ext.txt" 2>&1
check "bad ml-signer-other-country: C=DZ under C=MA" sh -c \
    "grep -q '^subject=/C=DZ/' '$WORK/ext.txt' && grep -q '^issuer=/C=MA/' '$WORK/ext.txt'"
check "bad ml-signer-other-country: extKeyUsage 2.23.136.1.1.3" grep -q "2.23.136.1.1.3" "$WORK/ext.txt"

# CRLs: each verifies with its issuer's key; a CSCA's revokes its revoked DS.
for s in MAR DZA; do
    check "csca-$s.crl signed by its CSCA" openssl crl -inform DER -in "$CA/crl/csca-$s.crl" \
        -CAfile "$CA/csca/csca-$s.pem" -noout
    check_not "csca-$s.crl signed by the reader CA" openssl crl -inform DER \
        -in "$CA/crl/csca-$s.crl" -CAfile "$CA/reader-ca/reader-ca.pem" -noout
    openssl x509 -in "$CA/ds/ds-$s-revoked.pem" -pubkey -noout >/dev/null
    serial=$(openssl x509 -in "$CA/ds/ds-$s-revoked.pem" -noout -serial | cut -d= -f2)
    openssl crl -inform DER -in "$CA/crl/csca-$s.crl" -noout -text >"$WORK/crl.txt" 2>&1
    check "csca-$s.crl revokes ds-$s-revoked ($serial)" grep -q "Serial Number: $serial" "$WORK/crl.txt"
    check "csca-$s.crl has a CRL number" grep -q "X509v3 CRL Number" "$WORK/crl.txt"
    cat "$CA/csca/csca-$s.pem" >"$WORK/chain.pem"
    openssl crl -inform DER -in "$CA/crl/csca-$s.crl" -out "$WORK/crl.pem"
    check_not "ds-$s-revoked fails openssl verify -crl_check" openssl verify -crl_check \
        -CAfile "$WORK/chain.pem" -CRLfile "$WORK/crl.pem" -attime $NOW "$CA/ds/ds-$s-revoked.pem"
    check "ds-$s passes openssl verify -crl_check" openssl verify -crl_check \
        -CAfile "$WORK/chain.pem" -CRLfile "$WORK/crl.pem" -attime $NOW "$CA/ds/ds-$s.pem"
done
check "reader-ca.crl signed by the reader CA" openssl crl -inform DER -in "$CA/crl/reader-ca.crl" \
    -CAfile "$CA/reader-ca/reader-ca.pem" -noout
# `crl --this-update/--next-update`: the dates as given, the CRL still its CSCA's; past its
# nextUpdate, `openssl verify -crl_check` calls it expired.
check "crl with dates" "$PKI" crl --ca "$CA" --issuer csca-MAR --this-update 251001000000Z \
    --next-update 251231000000Z --out "$WORK/stale.crl"
openssl crl -inform DER -in "$WORK/stale.crl" -CAfile "$CA/csca/csca-MAR.pem" -noout -lastupdate \
    -nextupdate >"$WORK/crl.txt" 2>&1
check "crl dates as given" sh -c "grep -q 'lastUpdate=Oct  1 00:00:00 2025 GMT' '$WORK/crl.txt' &&
    grep -q 'nextUpdate=Dec 31 00:00:00 2025 GMT' '$WORK/crl.txt' && grep -q 'verify OK' '$WORK/crl.txt'"
openssl crl -inform DER -in "$WORK/stale.crl" -out "$WORK/stale.pem"
openssl verify -crl_check -CAfile "$CA/csca/csca-MAR.pem" -CRLfile "$WORK/stale.pem" -attime $NOW \
    -purpose any "$CA/masterlist/ml-signer.pem" >"$WORK/crl.txt" 2>&1
check "stale CRL: expired for openssl" grep -q "CRL has expired" "$WORK/crl.txt"

# The CSCA master list: CMS verification with the Master List Signer's CSCA, the content type,
# and its content listing every CSCA.
ML=$CA/masterlist/csca-masterlist.ml
check "master list verifies (signer -> CSCA)" openssl cms -verify -inform DER -in "$ML" \
    -CAfile "$CA/csca/csca.pem" -purpose any -binary -attime $NOW -out "$WORK/ml.der"
openssl cms -cmsout -print -inform DER -in "$ML" >"$WORK/ml.txt" 2>&1
check "master list eContentType id-icao-cscaMasterList" grep -q "eContentType: .*(2.23.136.1.1.2)" "$WORK/ml.txt"
openssl asn1parse -inform DER -in "$WORK/ml.der" >"$WORK/mlc.txt" 2>&1
check "CscaMasterList v0" sh -c "sed -n 2p '$WORK/mlc.txt' | grep -q 'INTEGER *:00'"
for s in MAR DZA; do
    subj=$(openssl x509 -in "$CA/csca/csca-$s.pem" -noout -fingerprint -sha256 | cut -d= -f2)
    found=no
    # Each certificate of the certList, by fingerprint.
    for off in $(awk '/d=2 .*SEQUENCE/ { split($1, a, ":"); print a[1] }' "$WORK/mlc.txt"); do
        openssl asn1parse -inform DER -in "$WORK/ml.der" -offset "$off" -out "$WORK/one.der" \
            -noout 2>/dev/null
        fp=$(openssl x509 -inform DER -in "$WORK/one.der" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
        [ "$fp" = "$subj" ] && found=yes
    done
    check "master list holds csca-$s" test "$found" = yes
done
openssl x509 -in "$CA/masterlist/ml-signer.pem" -noout -ext extendedKeyUsage >"$WORK/ext.txt" 2>&1
check "ML signer extKeyUsage 2.23.136.1.1.3" grep -q "2.23.136.1.1.3" "$WORK/ext.txt"
check_not "master list verifies with the reader CA" openssl cms -verify -inform DER -in "$ML" \
    -CAfile "$CA/reader-ca/reader-ca.pem" -purpose any -binary -attime $NOW -out "$WORK/x.der"

# RFC 5758 §3.2: ecdsa-with-SHA256 has no parameters (not even NULL) in any certificate.
for c in "$CA"/*/*.pem; do
    openssl asn1parse -in "$c" >"$WORK/asn1.txt" 2>&1
    check "$c parses" grep -q "ecdsa-with-SHA256" "$WORK/asn1.txt"
    check_not "$c has a NULL" grep -q "prim: NULL" "$WORK/asn1.txt"
done

# DER length of a file's outer header (tag 1 byte here: 77, 6F).
hdr_len() {
    b=$(od -An -tu1 -j1 -N1 "$1" | tr -d ' ')
    if [ "$b" -lt 128 ]; then echo 2; else echo $((2 + b - 128)); fi
}

ids=$(sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' "$PERSONAS")
[ -n "$ids" ] || bad "no persona ids in $PERSONAS"
for id in $ids; do
    D=$WORK/cards/$id
    if ! "$PKI" card --ca "$CA" --personas "$PERSONAS" --persona "$id" --out "$D"; then
        bad "$id: card"
        continue
    fi
    flag() { grep -q "\"$1\":[[:space:]]*true" "$D/manifest.json"; }

    # EF.SOD without its 77 wrapper is a CMS ContentInfo.
    tail -c +$(($(hdr_len "$D/sod.bin") + 1)) "$D/sod.bin" >"$D/sod.cms"
    if flag expired; then
        check_not "$id: SOD verifies at now" openssl cms -verify -inform DER -in "$D/sod.cms" \
            -CAfile "$CA/csca/csca.pem" -purpose any -binary -attime $NOW -out "$D/econtent.der"
        cp "$WORK/last.log" "$D/verify-now.log"
        check "$id: DS expired at now" grep -q "certificate has expired" "$D/verify-now.log"
        check "$id: SOD verifies in 2015" openssl cms -verify -inform DER -in "$D/sod.cms" \
            -CAfile "$CA/csca/csca.pem" -purpose any -binary -attime $IN_2015 -out "$D/econtent.der"
        exp=$(sed -n 's/.*"mrz":[^,]*,[[:space:]]*"[0-9]\{7\}[MF<]\([0-9]\{6\}\).*/\1/p' "$D/manifest.json")
        check "$id: document expiry $exp before 260101" test "$exp" -lt 260101
    else
        check "$id: SOD verifies (DS -> CSCA)" openssl cms -verify -inform DER -in "$D/sod.cms" \
            -CAfile "$CA/csca/csca.pem" -purpose any -binary -attime $NOW -out "$D/econtent.der"
    fi
    # And with the current time, as a verifier would run it today.
    if ! flag expired; then
        check "$id: SOD verifies today" openssl cms -verify -inform DER -in "$D/sod.cms" \
            -CAfile "$CA/csca/csca.pem" -purpose any -binary -out "$D/econtent-today.der"
    fi

    # LDSSecurityObject: "INTEGER :0N" then "OCTET STRING [HEX DUMP]:hash" per DG.
    openssl asn1parse -inform DER -in "$D/econtent.der" >"$D/econtent.txt" 2>&1
    check "$id: LDSSecurityObject v0 with SHA-256" grep -q "OBJECT *:sha256" "$D/econtent.txt"
    for n in 1 2 11 14 15; do
        hex=$(printf '%02X' $n)
        want=$(sha256sum "$D/dg$n.bin" | cut -c1-64 | tr a-f A-F)
        got=$(awk -v h="$hex" '/INTEGER/ { split($0, a, ":"); num = a[length(a)]; next }
              /OCTET STRING/ && num == h { split($0, a, ":"); print a[length(a)]; exit }' \
              "$D/econtent.txt")
        if [ "$n" = 1 ] && flag wrong_dg_hash; then
            check "$id: SOD hash of DG1 differs from sha256sum" test -n "$got" -a "$got" != "$want"
        else
            check "$id: SOD hash of DG$n = sha256sum" test "$got" = "$want"
        fi
    done

    # DG15 carries the AA public key; bad_aa_key: the card's key is another one.
    tail -c +$(($(hdr_len "$D/dg15.bin") + 1)) "$D/dg15.bin" >"$D/dg15.spki"
    openssl pkey -inform DER -in "$D/aa_key.der" -pubout -outform DER -out "$D/aa_pub.der" 2>/dev/null
    check "$id: DG15 is a public key" openssl pkey -pubin -inform DER -in "$D/dg15.spki" -noout
    if flag bad_aa_key; then
        check_not "$id: AA key matches DG15" cmp -s "$D/aa_pub.der" "$D/dg15.spki"
    else
        check "$id: AA key matches DG15" cmp -s "$D/aa_pub.der" "$D/dg15.spki"
    fi
    check "$id: CA key parses" openssl pkey -inform DER -in "$D/ca_key.der" -noout

    if flag bac_only; then
        check_not "$id: no EF.CardAccess" test -e "$D/cardaccess.bin"
    else
        check "$id: EF.CardAccess is DER" openssl asn1parse -inform DER -in "$D/cardaccess.bin"
    fi
done

# Reader device certificate under the reader manufacturer CA, for a key the reader made.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/reader.key" 2>/dev/null
openssl ec -in "$WORK/reader.key" -pubout -out "$WORK/reader.pub" 2>/dev/null
check "reader cert" "$PKI" reader --ca "$CA" --pubkey "$WORK/reader.pub" --id HWR-00042 \
    --out "$WORK/reader.pem"
check "reader cert chains to the reader CA" openssl verify -CAfile "$CA/reader-ca/reader-ca.pem" \
    -attime $NOW "$WORK/reader.pem"
check_not "reader cert chains to a CSCA" openssl verify -CAfile "$CA/csca/csca.pem" "$WORK/reader.pem"
openssl x509 -in "$WORK/reader.pem" -noout -ext keyUsage,basicConstraints >"$WORK/ext.txt" 2>&1
check "reader cert keyUsage digitalSignature" grep -qx " *Digital Signature" "$WORK/ext.txt"
check "reader cert not a CA" grep -q "CA:FALSE" "$WORK/ext.txt"

# `hawiya-pki crl` revokes the reader; openssl then refuses its certificate.
check "crl revoking the reader" "$PKI" crl --ca "$CA" --issuer reader-ca --revoke "$WORK/reader.pem" \
    --out "$WORK/reader.crl"
openssl crl -inform DER -in "$WORK/reader.crl" -out "$WORK/reader-crl.pem"
check_not "revoked reader fails -crl_check" openssl verify -crl_check -CAfile \
    "$CA/reader-ca/reader-ca.pem" -CRLfile "$WORK/reader-crl.pem" -attime $NOW "$WORK/reader.pem"

# `openssl cms -verify` refuses an EF.SOD whose digestAlgorithms do not name the SignerInfo's
# (the rule sod_parse follows): SHA-256 in the set made SHA-384, signature untouched.
D=$WORK/cards/default
python3 - "$D/sod.cms" "$WORK/sod-dalg.cms" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
pat = bytes.fromhex("020103310d300b0609608648016503040201")
i = b.find(pat)
assert i > 0
b[i + len(pat) - 1] = 2
open(sys.argv[2], "wb").write(b)
PY
check_not "openssl: digestAlgorithms without the signer's" openssl cms -verify -inform DER \
    -in "$WORK/sod-dalg.cms" -CAfile "$CA/csca/csca.pem" -purpose any -binary -attime $NOW \
    -out "$WORK/x.der"
openssl x509 -in "$WORK/reader.pem" -noout -subject -pubkey >"$WORK/reader.txt" 2>&1
openssl asn1parse -in "$WORK/reader.pem" >"$WORK/asn1.txt" 2>&1
check_not "reader cert has a NULL" grep -q "prim: NULL" "$WORK/asn1.txt"
check "reader subject CN" grep -q "CN = HWR-00042" "$WORK/reader.txt"
check "reader subject serialNumber" grep -q "serialNumber = HWR-00042" "$WORK/reader.txt"
check "reader cert holds the reader's key" grep -q "$(sed -n 2p "$WORK/reader.pub")" "$WORK/reader.txt"
openssl ecparam -name brainpoolP256r1 -genkey -noout -out "$WORK/bp.key" 2>/dev/null
openssl ec -in "$WORK/bp.key" -pubout -out "$WORK/bp.pub" 2>/dev/null
check_not "reader cert for a brainpool key" "$PKI" reader --ca "$CA" --pubkey "$WORK/bp.pub" \
    --id HWR-1 --out "$WORK/bp.pem"
check_not "reader id with a comma" "$PKI" reader --ca "$CA" --pubkey "$WORK/reader.pub" \
    --id "A,CN=B" --out "$WORK/x.pem"

# Command line: 2 on a usage error, 1 on a failure.
exit_is() { # exit_is WANT DESCRIPTION command...
    want=$1
    what=$2
    shift 2
    "$@" >/dev/null 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, want $want"; fi
}
exit_is 2 "no command" "$PKI"
exit_is 2 "unknown option" "$PKI" init --out "$WORK/x" --colour red
exit_is 2 "missing value" "$PKI" card --ca "$CA" --personas
exit_is 2 "bad seed" "$PKI" init --out "$WORK/x" --seed 12x
exit_is 1 "unknown persona" "$PKI" card --ca "$CA" --personas "$PERSONAS" --persona nobody --out "$WORK/x"
exit_is 1 "no CA directory" "$PKI" card --ca "$WORK/none" --personas "$PERSONAS" --persona default \
    --out "$WORK/x"
exit_is 2 "ds-cert without ds-key" "$PKI" card --ca "$CA" --personas "$PERSONAS" --persona default \
    --out "$WORK/x" --ds-cert "$CA/ds/ds-MAR.der"
exit_is 1 "crl by an unknown CSCA" "$PKI" crl --ca "$CA" --issuer csca-XYZ --out "$WORK/x.crl"
exit_is 2 "crl --next-update not UTCTime" "$PKI" crl --ca "$CA" --issuer csca-MAR \
    --next-update 2025-12-31 --out "$WORK/x.crl"
exit_is 2 "crl without --out" "$PKI" crl --ca "$CA" --issuer reader-ca
exit_is 1 "unknown state" "$PKI" init --out "$WORK/x" --states XYZ

echo "pki_openssl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
