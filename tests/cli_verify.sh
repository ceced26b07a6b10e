#!/bin/sh
# `hawiya verify` end to end on the assertions unit_verify wrote (the fixture
# verify_assertions): the good one prints the identity and exits 0, bad ones
# print their error code and exit 1; trust stores that hold what does not
# belong there, and usage errors, exit 2 naming the file; hostile stdin
# (garbage, > 1 MiB) exits 1 without crashing.
# usage: cli_verify.sh HAWIYA PKI_DIR ASSERTION_DIR
set -u
hawiya=$1 pki=$2 dir=$3
ch=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 # 00 01 .. 1F, as test_verify.c
origin=https://record.example
now=20260101000000Z
fails=0

# The test PKI's stores, as a platform keeps them: CSCAs, the reader CA, CRLs, apart.
csca=$pki/csca rca=$pki/reader-ca crl=$pki/crl

run() { # expected-exit file pattern [extra args]
    want=$1 file=$2 pattern=$3
    shift 3
    out=$("$hawiya" verify --csca "$csca" --reader-ca "$rca" --crl "$crl" \
        --challenge "$ch" --origin "$origin" --now "$now" "$@" < "$file")
    rc=$?
    if [ "$rc" -ne "$want" ] || ! printf '%s' "$out" | grep -q -- "$pattern"; then
        echo "FAIL: $file $*: exit $rc (want $want), output: $out"
        fails=$((fails + 1))
    else
        echo "ok: $file $*: exit $rc"
    fi
}

run 0 "$dir/good.json" '"verified":true,"identity":{"document_type":"ID","issuing_state":"MAR","document_number":"AB1234567","surname":"BENALI","given_names":"MOHAMED AMINE","nationality":"MAR","birth_date":"900115","sex":"M","expiry_date":"310514"'
run 0 "$dir/good.json" '"document_expired":false,"attested":true,"reader":{"id":"sim-0001","counter":7}}$'
run 1 "$dir/bad-dg1.json" '"verified":false,"error":"HV_ERR_DG_HASH"'
run 1 "$dir/bad-identity.json" '"verified":false,"error":"HV_ERR_IDENTITY"'
run 1 "$dir/bad-reader.json" '"verified":false,"error":"HV_ERR_READER_UNTRUSTED"'
run 1 "$dir/good.json" '"error":"HV_ERR_DOCUMENT_EXPIRED"' --now 20370101000000Z
run 1 "$dir/good.json" '"error":"HV_ERR_ORIGIN"' --origin https://evil.example

# Documents the stores refuse, each with its error.
run 1 "$dir/reader-signed.json" '"error":"HV_ERR_DS_UNTRUSTED"'
run 1 "$dir/ds-reader-ca.json" '"error":"HV_ERR_DS_UNTRUSTED"'
run 1 "$dir/csca-signed.json" '"error":"HV_ERR_DS_UNTRUSTED","message":"the EF.SOD signer is not a Document Signer: a CA certificate'
run 1 "$dir/cross-country.json" '"error":"HV_ERR_DS_UNTRUSTED","message":"a Document Signer of DZ signed a document of issuing state MAR (MA)"'
run 1 "$dir/revoked-ds.json" '"error":"HV_ERR_REVOKED"'
# Without the CRLs the revoked DS's document verifies: the CRL is what refuses it.
out=$("$hawiya" verify --csca "$csca" --reader-ca "$rca" --challenge "$ch" --origin "$origin" \
    --now "$now" < "$dir/revoked-ds.json")
case $out in *'"verified":true'*) echo "ok: revoked-ds without --crl" ;;
*) echo "FAIL: revoked-ds without --crl: $out"; fails=$((fails + 1)) ;; esac

# The expired document: refused, or accepted and said so.
run 1 "$dir/expired.json" '"error":"HV_ERR_DOCUMENT_EXPIRED"'
run 0 "$dir/expired.json" '"expiry_date":"200101",.*},"document_expired":true,"attested":true' --allow-expired-document
run 0 "$dir/expired.json" '^  document     ID MAR AB1234567, expires 200101 (YYMMDD): EXPIRED (accepted)$' --allow-expired-document --text

# The CSCAs from the test PKI's master list instead of the directory.
out=$("$hawiya" verify --csca-masterlist "$pki/masterlist/csca-masterlist.ml" \
    --masterlist-signer "$pki/masterlist/ml-signer.pem" --reader-ca "$rca" --crl "$crl" \
    --challenge "$ch" --origin "$origin" --now "$now" < "$dir/good.json")
case $out in *'"verified":true'*) echo "ok: --csca-masterlist" ;;
*) echo "FAIL: --csca-masterlist: $out"; fails=$((fails + 1)) ;; esac
# Its Master List Signer revoked by its CSCA's CRL (unit_verify wrote it): `hawiya verify`
# loads CRLs after the lists, and the list's CSCAs no longer vouch for any document.
for signer in "$pki/csca/csca-MAR.pem" "$pki/masterlist/ml-signer.pem"; do
    out=$("$hawiya" verify --csca-masterlist "$pki/masterlist/csca-masterlist.ml" \
        --masterlist-signer "$signer" --reader-ca "$rca" --crl "$dir/ml-signer-revoked.crl" \
        --challenge "$ch" --origin "$origin" --now "$now" < "$dir/good.json")
    case $out in *'"verified":false,"error":"HV_ERR_REVOKED"'*) echo "ok: revoked ML signer ($signer)" ;;
    *) echo "FAIL: revoked ML signer ($signer): $out"; fails=$((fails + 1)) ;; esac
done

# A CRL of the DS's CSCA past its nextUpdate (unit_verify wrote it): `openssl verify -crl_check`
# calls it expired, hawiya refuses the document with HV_ERR_CRL_STALE; with a current CRL beside
# it, both accept.
openssl crl -inform DER -in "$dir/csca-MAR-stale.crl" -out "$dir/csca-MAR-stale.pem"
if openssl verify -crl_check -CAfile "$pki/csca/csca-MAR.pem" -CRLfile "$dir/csca-MAR-stale.pem" \
    -attime 1767225600 "$pki/ds/ds-MAR.pem" 2>&1 | grep -q "CRL has expired"; then
    echo "ok: openssl: the stale CRL has expired"
else
    echo "FAIL: openssl took the stale CRL"; fails=$((fails + 1))
fi
out=$("$hawiya" verify --csca "$csca" --reader-ca "$rca" --crl "$dir/csca-MAR-stale.crl" \
    --challenge "$ch" --origin "$origin" --now "$now" < "$dir/good.json")
case $out in *'"verified":false,"error":"HV_ERR_CRL_STALE"'*) echo "ok: stale CRL" ;;
*) echo "FAIL: stale CRL: $out"; fails=$((fails + 1)) ;; esac
out=$("$hawiya" verify --csca "$csca" --reader-ca "$rca" --crl "$dir/csca-MAR-stale.crl" \
    --crl "$crl" --challenge "$ch" --origin "$origin" --now "$now" < "$dir/good.json")
case $out in *'"verified":true'*) echo "ok: stale CRL beside a current one" ;;
*) echo "FAIL: stale CRL beside a current one: $out"; fails=$((fails + 1)) ;; esac

# The Master List Signer's CSCA with only a stale CRL (hawiya-pki's, which unit_verify wrote and
# `openssl verify -crl_check` calls expired): an Algerian document whose CSCA only the Moroccan
# list vouches for is HV_ERR_CRL_STALE; the CSCAs also given directly, it verifies.
out=$("$hawiya" verify --csca-masterlist "$pki/masterlist/csca-masterlist.ml" \
    --masterlist-signer "$pki/masterlist/ml-signer.pem" --reader-ca "$rca" \
    --crl "$dir/csca-MAR-stale-pki.crl" --challenge "$ch" --origin "$origin" --now "$now" \
    < "$dir/algeria.json")
case $out in *'"verified":false,"error":"HV_ERR_CRL_STALE","message":"the Document Signer'"'"'s CSCA came only from master lists: every CRL of the Master List Signer'"'"'s CSCA given is past its nextUpdate'*)
    echo "ok: master list signer's stale CRL" ;;
*) echo "FAIL: master list signer's stale CRL: $out"; fails=$((fails + 1)) ;; esac
out=$("$hawiya" verify --csca "$csca" --csca-masterlist "$pki/masterlist/csca-masterlist.ml" \
    --masterlist-signer "$pki/masterlist/ml-signer.pem" --reader-ca "$rca" \
    --crl "$dir/csca-MAR-stale-pki.crl" --challenge "$ch" --origin "$origin" --now "$now" \
    < "$dir/algeria.json")
case $out in *'"verified":true'*) echo "ok: stale ML signer CRL, CSCAs given directly" ;;
*) echo "FAIL: stale ML signer CRL, CSCAs given directly: $out"; fails=$((fails + 1)) ;; esac

# A Master List Signer of another country than its CSCA's (hawiya-pki's bad/), as an anchor or
# signing a list (unit_verify made it with `hawiya-pki masterlist`): exit 2, the file named.
for args in "--masterlist-signer $pki/bad/ml-signer-other-country.pem" \
    "--masterlist-signer $pki/csca/csca-MAR.pem --csca-masterlist $dir/ml-other-country.ml"; do
    # shellcheck disable=SC2086
    err=$("$hawiya" verify --csca "$csca" --reader-ca "$rca" $args --challenge "$ch" \
        --origin "$origin" --now "$now" < "$dir/good.json" 2>&1 >/dev/null)
    rc=$?
    file=${args##* }
    if [ "$rc" -ne 2 ] || ! printf '%s' "$err" | grep -q "$file: .*countryName other than its issuing CSCA's"; then
        echo "FAIL: $args: exit $rc, stderr: $err"
        fails=$((fails + 1))
    else
        echo "ok: $args: exit 2, $err"
    fi
done

# A Document Signer with a privateKeyUsagePeriod (2024): a SOD signed in it verifies, one signed
# a second after it is refused.
run 0 "$dir/pkup-default.json" '"verified":true'
run 0 "$dir/pkup-last-second.json" '"verified":true'
run 1 "$dir/pkup-after.json" '"error":"HV_ERR_DS_KEY_USAGE_PERIOD","message":"EF.SOD'"'"'s signingTime 2025-01-01T00:00:00Z is after the Document Signer'"'"'s privateKeyUsagePeriod"'
run 1 "$dir/pkup-before.json" '"error":"HV_ERR_DS_KEY_USAGE_PERIOD","message":"EF.SOD'"'"'s signingTime 2023-12-31T23:59:59Z is before'
# The same period marked critical with fractions of a second (ds-MAR-pkup-critical, also given
# apart as PEM), a GeneralizedTime signingTime, none at all, and a GeneralizedTime without
# seconds (no time: refused beside a period).
run 0 "$dir/st-crit-default.json" '"verified":true'
run 0 "$dir/st-crit-default.json" '"verified":true' --ds "$pki/ds/ds-MAR-pkup-critical.pem"
run 1 "$dir/st-crit-after.json" '"error":"HV_ERR_DS_KEY_USAGE_PERIOD","message":"EF.SOD'"'"'s signingTime 2025-01-01T00:00:00Z is after'
run 0 "$dir/st-generalized.json" '"verified":true'
run 0 "$dir/st-none.json" '"verified":true'
run 1 "$dir/st-generalized-13.json" '"error":"HV_ERR_DS_KEY_USAGE_PERIOD","message":"EF.SOD'"'"'s signingTime is not UTCTime or GeneralizedTime'

# Unattested (a plain PC/SC reader): refused unless the platform allows it; then said so.
run 1 "$dir/unattested.json" '"verified":false,"error":"HV_ERR_UNATTESTED"'
run 0 "$dir/unattested.json" '"expiry_date":"310514".*},"document_expired":false,"attested":false}$' --allow-unattested
run 0 "$dir/good.json" '"attested":true,"reader":{"id":"sim-0001","counter":7}}$' --allow-unattested
run 0 "$dir/unattested.json" '^VERIFIED without a reader attestation (allowed)' --allow-unattested --text
out=$("$hawiya" verify --csca "$csca" --challenge "$ch" --origin "$origin" --now "$now" \
    --allow-unattested < "$dir/unattested.json")
if [ $? -ne 0 ]; then
    echo "FAIL: --allow-unattested without --reader-ca: $out"
    fails=$((fails + 1))
fi

# --text, for a person at the desk: the verdict, the holder, DG11's name as "PRIMARY, SECONDARY".
run 0 "$dir/good.json" '^VERIFIED by reader sim-0001 (counter 7): the card is genuine' --text
run 0 "$dir/good.json" '^  holder       BENALI, MOHAMED AMINE$' --text
run 0 "$dir/good.json" '^  full name    بن علي, محمد أمين$' --text
run 0 "$dir/good.json" '^  document     ID MAR AB1234567, expires 310514 (YYMMDD)$' --text
run 1 "$dir/bad-dg1.json" '^NOT VERIFIED: HV_ERR_DG_HASH: ' --text

# Hostile stdin: garbage, empty, and more than 1 MiB.
printf 'not json' > "$dir/garbage.json"
run 1 "$dir/garbage.json" '"error":"HV_ERR_FORMAT"'
run 1 /dev/null '"error":"HV_ERR_FORMAT"'
head -c 1100000 /dev/zero | tr '\0' ' ' > "$dir/big.json"
run 1 "$dir/big.json" '"error":"HV_ERR_FORMAT"'

# A trust store holding what is not its role: exit 2, the file named on stderr. The old demo's
# mistake first: the reader CA among the CSCAs.
mixed=$dir/mixed-csca
for intruder in reader-ca/reader-ca.pem ds/ds-MAR.pem bad/ds-MAR-ca.pem crl/csca-MAR.crl; do
    rm -rf "$mixed" && mkdir -p "$mixed" && cp "$csca"/csca-*.der "$mixed"/ &&
        cp "$pki/$intruder" "$mixed/" || exit 1
    name=$(basename "$intruder")
    err=$("$hawiya" verify --csca "$mixed" --reader-ca "$rca" --challenge "$ch" \
        --origin "$origin" --now "$now" < "$dir/good.json" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne 2 ] || ! printf '%s' "$err" | grep -q "$mixed/$name: "; then
        echo "FAIL: --csca with $name: exit $rc, stderr: $err"
        fails=$((fails + 1))
    else
        echo "ok: --csca with $name: exit 2, $err"
    fi
done
for bad in "--reader-ca $csca/csca-MAR.pem" "--reader-ca $csca" "--ds $csca/csca-MAR.der" \
    "--crl $pki/ds/ds-MAR.pem" "--csca-masterlist $pki/cards/default/sod.bin"; do
    # shellcheck disable=SC2086
    err=$("$hawiya" verify --csca "$csca" --masterlist-signer "$pki/masterlist/ml-signer.pem" \
        --allow-unattested \
        --challenge "$ch" --origin "$origin" --now "$now" $bad < "$dir/good.json" 2>&1 >/dev/null)
    rc=$?
    file=${bad#* }
    if [ "$rc" -ne 2 ] || ! printf '%s' "$err" | grep -q "$file"; then
        echo "FAIL: $bad: exit $rc, stderr: $err"
        fails=$((fails + 1))
    fi
done

# Usage errors: exit 2.
for args in "--challenge" "--challenge AAAA" "--now 2026" "--csca /nonexistent" "--bogus x" \
    "--csca-masterlist $pki/masterlist/csca-masterlist.ml"; do
    # shellcheck disable=SC2086
    "$hawiya" verify --csca "$csca" --reader-ca "$rca" --challenge "$ch" \
        --origin "$origin" $args < "$dir/good.json" > /dev/null 2>&1
    rc=$?
    if [ "$rc" -ne 2 ]; then
        echo "FAIL: usage error '$args' exited $rc"
        fails=$((fails + 1))
    fi
done
"$hawiya" verify --challenge "$ch" --origin "$origin" --reader-ca "$rca" < "$dir/good.json" \
    > /dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: no CSCA store: not a usage error"; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] && echo "all passed"
exit "$fails"
