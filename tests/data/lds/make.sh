#!/bin/bash
# Regenerates the LDS / SOD / Active Authentication fixtures of test_lds,
# test_sod and test_aa with the openssl command line only, so that the
# parsers are checked against an issuer that shares no code with Hawiya.
# Run from anywhere: bash tests/data/lds/make.sh (writes next to itself).
# The DER files are committed; keys are test keys with no other use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# wrap TAG FILE: prints the BER-TLV TAG || DER length || FILE (tags 1-2 bytes hex).
wrap() {
    local tag=$1 f=$2 n
    n=$(stat -c %s "$f")
    for ((i = 0; i < ${#tag}; i += 2)); do printf "\\x${tag:i:2}"; done
    if ((n < 128)); then
        printf "\\x$(printf %02x "$n")"
    elif ((n < 256)); then
        printf "\\x81\\x$(printf %02x "$n")"
    else
        printf "\\x82\\x$(printf %02x $((n >> 8)))\\x$(printf %02x $((n & 255)))"
    fi
    cat "$f"
}
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# --- PKI: CSCA (EC P-256, self-signed) -> Document Signers -------------------
cat >"$tmp/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
countryName = supplied
organizationName = supplied
commonName = supplied
[csca_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ds_ext]
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[req]
distinguished_name = dn
[dn]
CNF
: >"$tmp/index.txt"
echo 1000 >"$tmp/serial"

selfsign() { # key subject start end out
    openssl req -new -key "$1" -subj "$2" -out "$tmp/req.csr" -config "$tmp/ca.cnf"
    openssl ca -batch -config "$tmp/ca.cnf" -selfsign -keyfile "$1" -in "$tmp/req.csr" \
        -startdate "$3" -enddate "$4" -extensions csca_ext -notext -out "$tmp/c.pem" 2>/dev/null
    openssl x509 -in "$tmp/c.pem" -outform DER -out "$5"
}
issue() { # cakey cacert key subject start end out
    openssl req -new -key "$3" -subj "$4" -out "$tmp/req.csr" -config "$tmp/ca.cnf"
    openssl ca -batch -config "$tmp/ca.cnf" -keyfile "$1" -cert "$2" -in "$tmp/req.csr" \
        -startdate "$5" -enddate "$6" -extensions ds_ext -notext -out "$tmp/c.pem" 2>/dev/null
    openssl x509 -in "$tmp/c.pem" -outform DER -out "$7"
}

openssl ecparam -name prime256v1 -genkey -noout -out csca_key.pem
openssl ecparam -name prime256v1 -genkey -noout -out csca_foreign_key.pem
openssl ecparam -name prime256v1 -genkey -noout -out ds_key.pem
openssl genrsa -out ds_rsa_key.pem 2048 2>/dev/null
CSCA_DN="/C=UT/O=Utopia/CN=CSCA Utopia"
selfsign csca_key.pem "$CSCA_DN" 20200101000000Z 20450101000000Z csca.der
# Same subject, another key: only the signature tells it from the real CSCA.
selfsign csca_foreign_key.pem "$CSCA_DN" 20200101000000Z 20450101000000Z csca_foreign.der
# Same key and subject, but expired on 2026-01-01.
selfsign csca_key.pem "$CSCA_DN" 20200101000000Z 20260101000000Z csca_short.der
openssl x509 -in csca.der -inform DER -out "$tmp/csca.pem"
issue csca_key.pem "$tmp/csca.pem" ds_key.pem "/C=UT/O=Utopia/CN=DS 1" \
    20250101000000Z 20300101000000Z ds.der
issue csca_key.pem "$tmp/csca.pem" ds_rsa_key.pem "/C=UT/O=Utopia/CN=DS RSA" \
    20250101000000Z 20300101000000Z ds_rsa.der

# --- Active Authentication keys and DG15 -------------------------------------
openssl ecparam -name prime256v1 -genkey -noout -out aa_ec_key.pem
openssl genrsa -out aa_rsa_key.pem 2048 2>/dev/null
openssl ec -in aa_ec_key.pem -pubout -outform DER -out "$tmp/aa_ec_spki.der" 2>/dev/null
openssl rsa -in aa_rsa_key.pem -pubout -outform DER -out "$tmp/aa_rsa_spki.der" 2>/dev/null
# brainpoolP256r1 with explicit domain parameters (specifiedCurve in the SPKI).
openssl ecparam -name brainpoolP256r1 -genkey -noout -out "$tmp/bp.pem"
openssl ec -in "$tmp/bp.pem" -pubout -param_enc explicit -outform DER -out "$tmp/bp_spki.der" 2>/dev/null
wrap 6F "$tmp/aa_ec_spki.der" >dg15.bin
wrap 6F "$tmp/aa_rsa_spki.der" >dg15_rsa.bin
wrap 6F "$tmp/bp_spki.der" >dg15_bp_explicit.bin

# --- data groups -------------------------------------------------------------
# EF.COM (9303-10 §4.6.1): LDS 1.7, Unicode 4.0.0, DG1 DG2 DG11 DG14 DG15.
{ printf '\x5f\x01\x04'; printf 0107; printf '\x5f\x36\x06'; printf 040000
  printf '\x5c\x05\x61\x75\x6b\x6e\x6f'; } >"$tmp/com"
wrap 60 "$tmp/com" >com.bin
# DG1: the 9303 Part 4 TD3 specimen MRZ.
printf '%s' 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10' >"$tmp/mrz"
wrap 5F1F "$tmp/mrz" >"$tmp/dg1in"
wrap 61 "$tmp/dg1in" >dg1.bin
# DG2: not parsed beyond its outer tag, so any content does.
printf '\x7f\x61\x03\x02\x01\x01' >"$tmp/dg2"
wrap 75 "$tmp/dg2" >dg2.bin
# DG11 with a UTF-8 (Arabic) other name inside the A0 template.
printf '%s' 'ERIKSSON<<ANNA<MARIA' >"$tmp/fullname"
printf '\xd9\x87\xd9\x88\xd9\x8a\xd8\xa9' >"$tmp/other"
{ printf '\x02\x01\x01'; wrap 5F0F "$tmp/other"; } >"$tmp/a0"
printf '%s' 'UTO123456' >"$tmp/pn"
printf '%s' '19740812' >"$tmp/dob"
printf '%s' 'ZENITH<UTOPIA' >"$tmp/pob"
printf '%s' '1 MAIN STREET<ZENITH<UTOPIA' >"$tmp/addr"
{ printf '\x5c\x0a\x5f\x0e\x5f\x0f\x5f\x10\x5f\x2b\x5f\x11'
  wrap 5F0E "$tmp/fullname"; wrap A0 "$tmp/a0"; wrap 5F10 "$tmp/pn"
  wrap 5F2B "$tmp/dob"; wrap 5F11 "$tmp/pob"; wrap 5F42 "$tmp/addr"; } >"$tmp/dg11"
wrap 6B "$tmp/dg11" >dg11.bin
# DG14: ActiveAuthenticationInfo with ecdsa-plain-SHA256 (BSI TR-03111).
cat >"$tmp/dg14.cnf" <<CNF
asn1=SET:infos
[infos]
aa=SEQUENCE:aa
[aa]
protocol=OID:2.23.136.1.1.5
version=INTEGER:1
alg=OID:0.4.0.127.0.7.1.1.4.1.3
CNF
openssl asn1parse -genconf "$tmp/dg14.cnf" -out "$tmp/dg14" -noout
wrap 6E "$tmp/dg14" >dg14.bin

# --- LDSSecurityObject and EF.SOD --------------------------------------------
h() { openssl dgst -sha256 -binary "$1" | od -An -v -tx1 | tr -d ' \n'; }
cat >"$tmp/ldsso.cnf" <<CNF
asn1=SEQUENCE:ldsso
[ldsso]
version=INTEGER:0
hashAlgorithm=SEQUENCE:sha256
hashes=SEQUENCE:hashes
[sha256]
alg=OID:sha256
[hashes]
a=SEQUENCE:dg1
b=SEQUENCE:dg2
c=SEQUENCE:dg11
d=SEQUENCE:dg14
e=SEQUENCE:dg15
[dg1]
n=INTEGER:1
v=FORMAT:HEX,OCTETSTRING:$(h dg1.bin)
[dg2]
n=INTEGER:2
v=FORMAT:HEX,OCTETSTRING:$(h dg2.bin)
[dg11]
n=INTEGER:11
v=FORMAT:HEX,OCTETSTRING:$(h dg11.bin)
[dg14]
n=INTEGER:14
v=FORMAT:HEX,OCTETSTRING:$(h dg14.bin)
[dg15]
n=INTEGER:15
v=FORMAT:HEX,OCTETSTRING:$(h dg15.bin)
CNF
openssl asn1parse -genconf "$tmp/ldsso.cnf" -out ldsso.der -noout
# LDS 1.8 form: version 1 and ldsVersionInfo (9303-10 §4.6.2.2).
sed -e 's/^version=INTEGER:0/version=INTEGER:1/' \
    -e 's/^hashes=SEQUENCE:hashes/hashes=SEQUENCE:hashes\nldsVersionInfo=SEQUENCE:ver/' \
    "$tmp/ldsso.cnf" >"$tmp/ldsso1.cnf"
printf '[ver]\nldsVersion=PRINTABLESTRING:0108\nunicodeVersion=PRINTABLESTRING:040000\n' >>"$tmp/ldsso1.cnf"
openssl asn1parse -genconf "$tmp/ldsso1.cnf" -out ldsso_v1.der -noout

openssl x509 -in ds.der -inform DER -out "$tmp/ds.pem"
openssl x509 -in ds_rsa.der -inform DER -out "$tmp/ds_rsa.pem"
sign() { # in signer key out [extra options]
    local in=$1 cert=$2 key=$3 out=$4
    shift 4
    openssl cms -sign -binary -nodetach -outform DER -econtent_type 2.23.136.1.1.1 -md sha256 \
        -nosmimecap -in "$in" -signer "$cert" -inkey "$key" -out "$tmp/cms.der" "$@"
    wrap 77 "$tmp/cms.der" >"$out"
}
# ecdsa-with-SHA256, sid = issuerAndSerialNumber.
sign ldsso.der "$tmp/ds.pem" ds_key.pem sod.bin
# RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32), sid = subjectKeyIdentifier, LDS 1.8.
sign ldsso_v1.der "$tmp/ds_rsa.pem" ds_rsa_key.pem sod_pss.bin -keyid \
    -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32
# PKCS#1 v1.5 (openssl writes rsaEncryption as the signatureAlgorithm).
sign ldsso.der "$tmp/ds_rsa.pem" ds_rsa_key.pem sod_rsa.bin

# --- Active Authentication signatures ----------------------------------------
printf '\x01\x02\x03\x04\x05\x06\x07\x08' >aa_challenge.bin
# ecdsa-plain-SHA256 as openssl makes it: DER ECDSA-Sig-Value (the test converts).
openssl dgst -sha256 -sign aa_ec_key.pem -out aa_ec_sig.der aa_challenge.bin
# ISO/IEC 9796-2 scheme 1, partial recovery: F = 6A || M1 || H(M1 || M2) || trailer,
# k = 256 bytes, M2 = the challenge; signed raw (no padding) with the AA key.
rsa9796() { # hashalg hashlen trailerhex header out [flip]
    local alg=$1 hl=$2 tr=$3 hd=$4 out=$5 t=$(( ${#3} / 2 ))
    local m1len=$((256 - 1 - hl - t))
    head -c "$m1len" /dev/urandom >"$tmp/m1"
    cat "$tmp/m1" aa_challenge.bin | openssl dgst -"$alg" -binary >"$tmp/hash"
    if [ "${6:-}" = flip ]; then printf '\x00' | dd of="$tmp/m1" bs=1 seek=5 conv=notrunc 2>/dev/null; fi
    { printf "\\x$hd"; cat "$tmp/m1" "$tmp/hash"
      for ((i = 0; i < ${#tr}; i += 2)); do printf "\\x${tr:i:2}"; done; } >"$tmp/f"
    openssl rsautl -sign -raw -inkey aa_rsa_key.pem \
        -in "$tmp/f" -out "$out"
}
rsa9796 sha1 20 bc 6a aa_rsa_sha1.bin
rsa9796 sha256 32 34cc 6a aa_rsa_sha256.bin
rsa9796 sha512 64 35cc 6a aa_rsa_sha512.bin
rsa9796 sha1 20 bc 4a aa_rsa_bad_header.bin
rsa9796 sha1 20 bd 6a aa_rsa_bad_trailer.bin
rsa9796 sha1 20 bc 6a aa_rsa_bad_hash.bin flip
rm -f csca_foreign_key.pem
echo "fixtures written to $here"
