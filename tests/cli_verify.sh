#!/bin/sh
# `hawiya verify` end to end on the assertions unit_verify wrote (the fixture
# verify_assertions): the good one prints the identity and exits 0, bad ones
# print their error code and exit 1, usage errors exit 2, hostile stdin
# (garbage, > 1 MiB) exits 1 without crashing.
# usage: cli_verify.sh HAWIYA PKI_DIR ASSERTION_DIR
set -u
hawiya=$1 pki=$2 dir=$3
ch=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 # 00 01 .. 1F, as test_verify.c
origin=https://record.example
now=20260101000000Z
fails=0

# Only the CSCAs in the --csca directory, as a platform would keep them.
csca=$dir/csca
rm -rf "$csca" && mkdir -p "$csca" && cp "$pki"/ca/csca-*.der "$csca"/ || exit 1

run() { # expected-exit file pattern [extra args]
    want=$1 file=$2 pattern=$3
    shift 3
    out=$("$hawiya" verify --csca "$csca" --reader-ca "$pki/ca/reader-ca.pem" \
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
run 0 "$dir/good.json" '"reader":{"id":"sim-0001","counter":7}'
run 1 "$dir/bad-dg1.json" '"verified":false,"error":"HV_ERR_DG_HASH"'
run 1 "$dir/bad-identity.json" '"verified":false,"error":"HV_ERR_IDENTITY"'
run 1 "$dir/bad-reader.json" '"verified":false,"error":"HV_ERR_READER_UNTRUSTED"'
run 1 "$dir/good.json" '"error":"HV_ERR_CERT_EXPIRED"' --now 20370101000000Z
run 1 "$dir/good.json" '"error":"HV_ERR_ORIGIN"' --origin https://evil.example

# Unattested (a plain PC/SC reader): refused unless the platform allows it; then said so.
run 1 "$dir/unattested.json" '"verified":false,"error":"HV_ERR_UNATTESTED"'
run 0 "$dir/unattested.json" '"expiry_date":"310514".*},"attested":false}$' --allow-unattested
run 0 "$dir/good.json" '},"attested":true,"reader":{"id":"sim-0001","counter":7}}$' --allow-unattested
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

# Usage errors: exit 2.
for args in "--challenge" "--challenge AAAA" "--now 2026" "--csca /nonexistent" "--bogus x"; do
    # shellcheck disable=SC2086
    "$hawiya" verify --csca "$csca" --reader-ca "$pki/ca/reader-ca.pem" --challenge "$ch" \
        --origin "$origin" $args < "$dir/good.json" > /dev/null 2>&1
    rc=$?
    if [ "$rc" -ne 2 ]; then
        echo "FAIL: usage error '$args' exited $rc"
        fails=$((fails + 1))
    fi
done

[ "$fails" -eq 0 ] && echo "all passed"
exit "$fails"
