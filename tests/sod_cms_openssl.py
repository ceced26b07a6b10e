#!/usr/bin/env python3
"""EF.SOD's CMS SignedData fields: `hawiya verify` against `openssl cms -verify`.

Builds EF.SODs for the default test card from scratch (Python's standard
library for the DER, `openssl dgst -sign` with the test PKI's Document Signer
key for the signatures, and with an RSA Document Signer `openssl ca` issues
under the Moroccan CSCA for PKCS #1 v1.5 and RSASSA-PSS): one well-formed,
then one per field that RFC 5652 and `openssl cms -verify` hold together,
each broken alone:

  - the SignerInfo's digestAlgorithm among SignedData.digestAlgorithms;
  - signatureAlgorithm naming that same hash (ecdsa-with-SHA384 beside
    digestAlgorithm sha256 over a SHA-384 signature: two readings of one
    signature) and fitting the DS key (an RSA algorithm for an EC key);
  - the signed attributes: contentType present, once, naming the
    eContentType; messageDigest present, once, equal to the digest of the
    eContent; the SET OF in DER order (X.690 §11.6), which is what the
    signature covers (openssl re-encodes the attributes before hashing).

Each EF.SOD goes into the example assertion (unattested, so the reader's
signature does not cover it) and through `hawiya verify`; the same SignedData
through `openssl cms -verify`. Where openssl refuses, hawiya must refuse too,
each case with its own error; the well-formed one both accept. OpenSSL 3.0
takes a few that hawiya refuses (it reads neither signatureAlgorithm's hash
nor its key type, nor the contentType's value, and hashes the attributes in
the order sent): those cases only print its verdict.
usage: sod_cms_openssl.py HAWIYA PKI_DIR SOURCE_DIR WORKDIR
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys

HAWIYA, PKI, SRC, WORK = sys.argv[1:5]
NOW = "20260101000000Z"
NOW_EPOCH = "1767225600"
CHALLENGE = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
ORIGIN = "https://record.example"

# --- DER -------------------------------------------------------------------


def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body


def seq(*xs):
    return tlv(0x30, b"".join(xs))


def set_of(xs, der_order=True):
    return tlv(0x31, b"".join(sorted(xs) if der_order else xs))


def oid(dotted):
    a = [int(x) for x in dotted.split(".")]
    out = bytearray([a[0] * 40 + a[1]])
    for v in a[2:]:
        enc = [v & 0x7F]
        v >>= 7
        while v:
            enc.append(0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, bytes(out))


def integer(v):
    return tlv(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def read(b, i=0):
    """(tag, value start, value end, next) of the TLV at b[i]."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n, i + n


def children(b, start, end):
    out = []
    while start < end:
        t, s, e, start = read(b, start)
        out.append((t, s, e))
    return out


HASH_OID = {"sha256": "2.16.840.1.101.3.4.2.1", "sha384": "2.16.840.1.101.3.4.2.2"}
ECDSA_OID = {"sha256": "1.2.840.10045.4.3.2", "sha384": "1.2.840.10045.4.3.3"}
ID_DATA, LDS_SO = "1.2.840.113549.1.7.1", "2.23.136.1.1.1"
CT, MD, ST = "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"


RSA_OID = {"sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12"}
RSA_ENCRYPTION, RSASSA_PSS, MGF1 = ("1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10",
                                    "1.2.840.113549.1.1.8")
NULL = tlv(0x05, b"")


def pss(h, salt):
    """RSASSA-PSS-params (RFC 8017 A.2.3) with hash h, MGF1 with h, saltLength salt."""
    return seq(oid(RSASSA_PSS), seq(tlv(0xA0, seq(oid(HASH_OID[h]))),
                                   tlv(0xA1, seq(oid(MGF1), seq(oid(HASH_OID[h])))),
                                   tlv(0xA2, integer(salt))))


def pss_opts(h, salt):
    return ["rsa_padding_mode:pss", "rsa_pss_saltlen:%d" % salt, "rsa_mgf1_md:" + h]


def rsa_document_signer():
    """An RSA-2048 Document Signer of the test PKI's Moroccan CSCA, 2025 .. 2030, made by
    `openssl ca` (the DS profile: keyUsage digitalSignature, countryName MA); (DER, key path)."""
    w = lambda name: os.path.join(WORK, name)
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)
    run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
        "-out", w("rsa-ds.pem"))
    run("openssl", "req", "-new", "-key", w("rsa-ds.pem"), "-out", w("rsa-ds.csr"),
        "-subj", "/C=MA/O=Hawiya Test PKI/OU=Document Signers/CN=Hawiya Test RSA DS MAR")
    open(w("index.txt"), "w").close()
    open(w("serial"), "w").write("1092\n")
    open(w("ca.cnf"), "w").write(
        "[ca]\ndefault_ca = dflt\n[dflt]\ndatabase = %s\nnew_certs_dir = %s\nserial = %s\n"
        "default_md = sha256\npolicy = any\nunique_subject = no\nx509_extensions = ds\n"
        "[any]\ncommonName = supplied\n[ds]\nkeyUsage = critical,digitalSignature\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
        % (w("index.txt"), WORK, w("serial")))
    run("openssl", "ca", "-config", w("ca.cnf"), "-batch", "-notext", "-preserveDN",
        "-cert", os.path.join(PKI, "csca", "csca-MAR.pem"),
        "-keyfile", os.path.join(PKI, "private", "csca-MAR.key"), "-keyform", "DER",
        "-startdate", "20250101000000Z", "-enddate", "20300101000000Z",
        "-in", w("rsa-ds.csr"), "-out", w("rsa-ds.crt"))
    run("openssl", "x509", "-in", w("rsa-ds.crt"), "-outform", "DER", "-out", w("rsa-ds.der"))
    return open(w("rsa-ds.der"), "rb").read(), w("rsa-ds.pem")


def attr(type_oid, *values, der_order=True):
    return seq(oid(type_oid), set_of(list(values), der_order))


def build(econtent, cert, key, signing_time, **v):
    """A SignedData ContentInfo; v breaks one field."""
    dalg = v.get("dalg", "sha256")
    md = hashlib.new(dalg, econtent).digest()
    attrs = v.get("attrs") or [
        attr(CT, oid(LDS_SO)),
        attr(ST, signing_time),
        attr(MD, tlv(0x04, md)),
    ]
    signed = set_of(attrs, v.get("der_order", True))
    sign_hash = v.get("sign_hash", dalg)
    with open(os.path.join(WORK, "attrs.der"), "wb") as f:
        f.write(signed if "sign_bytes" not in v else v["sign_bytes"](attrs))
    opts = []
    for o in v.get("sigopt", []):
        opts += ["-sigopt", o]
    subprocess.run(["openssl", "dgst", "-" + sign_hash, "-sign", key,
                    "-keyform", "PEM" if key.endswith(".pem") else "DER"] + opts +
                   ["-out", os.path.join(WORK, "sig.der"), os.path.join(WORK, "attrs.der")],
                   check=True)
    sig = open(os.path.join(WORK, "sig.der"), "rb").read()
    _, s, e, _ = read(cert)
    tbs = children(cert, s, e)[0]
    parts = children(cert, tbs[1], tbs[2])
    first = 1 if parts[0][0] == 0xA0 else 0  # [0] version
    serial = tlv(0x02, cert[parts[first][1]:parts[first][2]])
    issuer = tlv(0x30, cert[parts[first + 2][1]:parts[first + 2][2]])
    issuer_serial = seq(issuer, serial)
    sig_alg = v.get("sig_alg", seq(oid(ECDSA_OID[dalg])))
    signer = seq(integer(1), issuer_serial, seq(oid(HASH_OID[dalg])),
                 tlv(0xA0, signed[2 if signed[1] < 0x80 else 2 + (signed[1] & 0x7F):]),
                 sig_alg, tlv(0x04, sig))
    outer = [seq(oid(HASH_OID[h])) for h in v.get("outer", [dalg])]
    sd = seq(integer(3), set_of(outer, v.get("outer_der_order", True)),
             seq(oid(LDS_SO), tlv(0xA0, tlv(0x04, econtent))), tlv(0xA0, cert), set_of([signer]))
    return seq(oid("1.2.840.113549.1.7.2"), tlv(0xA0, sd))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    sod = open(os.path.join(PKI, "cards", "default", "sod.bin"), "rb").read()
    _, s, e, _ = read(sod)
    ci = sod[s:e]
    # ContentInfo -> [0] -> SignedData -> EncapsulatedContentInfo -> [0] -> OCTET STRING
    _, s, e, _ = read(ci)
    ctype, content = children(ci, s, e)
    _, s, e, _ = read(ci, content[1])
    sd = children(ci, s, e)
    eci = children(ci, sd[2][1], sd[2][2])
    octet = children(ci, eci[1][1], eci[1][2])[0]
    econtent = ci[octet[1]:octet[2]]
    si = children(ci, sd[-1][1], sd[-1][2])[0]
    signed_attrs = children(ci, si[1], si[2])[3]
    signing_time = None
    for a in children(ci, signed_attrs[1], signed_attrs[2]):
        t, v = children(ci, a[1], a[2])
        if ci[t[1]:t[2]] == oid(ST)[2:]:
            st = children(ci, v[1], v[2])[0]
            signing_time = ci[st[1] - 2:st[2]]
    assert signing_time is not None
    cert = open(os.path.join(PKI, "ds", "ds-MAR.der"), "rb").read()
    key = os.path.join(PKI, "private", "ds-MAR.key")
    example = json.load(open(os.path.join(SRC, "tests", "data", "assertion-example.json")))
    md256 = hashlib.sha256(econtent).digest()

    def unsorted(attrs):
        return sorted(attrs, reverse=True)

    cases = [
        # name, variant, openssl accepts (None: OpenSSL 3.0 takes it or not, hawiya is stricter
        # than it there), hawiya's error (None: verified)
        ("well-formed", {}, True, None),
        ("outer digestAlgorithms without the signer's", {"outer": ["sha384"]}, False,
         "HV_ERR_SOD_MALFORMED"),
        ("both hashes in digestAlgorithms", {"outer": ["sha256", "sha384"]}, True, None),
        ("digestAlgorithms out of DER order", {"outer": ["sha384", "sha256"],
                                               "outer_der_order": False}, None,
         "HV_ERR_SOD_MALFORMED"),
        ("signatureAlgorithm ecdsa-with-SHA384, signature over SHA-384, digestAlgorithm sha256",
         {"sig_alg": seq(oid(ECDSA_OID["sha384"])), "sign_hash": "sha384"}, False,
         "HV_ERR_SOD_MALFORMED"),
        ("signatureAlgorithm ecdsa-with-SHA384, signature over SHA-256",
         {"sig_alg": seq(oid(ECDSA_OID["sha384"]))}, None, "HV_ERR_SOD_MALFORMED"),
        ("signatureAlgorithm sha256WithRSAEncryption for an EC key",
         {"sig_alg": seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, b""))}, None,
         "HV_ERR_SOD_SIGNATURE"),
        ("contentType id-data", {"attrs": [attr(CT, oid(ID_DATA)), attr(ST, signing_time),
                                           attr(MD, tlv(0x04, md256))]}, None,
         "HV_ERR_SOD_MALFORMED"),
        ("no contentType", {"attrs": [attr(ST, signing_time), attr(MD, tlv(0x04, md256))]},
         False, "HV_ERR_SOD_MALFORMED"),
        ("contentType twice", {"attrs": [attr(CT, oid(LDS_SO)), attr(CT, oid(LDS_SO)),
                                         attr(MD, tlv(0x04, md256))]}, False,
         "HV_ERR_SOD_MALFORMED"),
        ("no messageDigest", {"attrs": [attr(CT, oid(LDS_SO)), attr(ST, signing_time)]}, False,
         "HV_ERR_SOD_MALFORMED"),
        ("messageDigest of other bytes",
         {"attrs": [attr(CT, oid(LDS_SO)),
                    attr(MD, tlv(0x04, hashlib.sha256(econtent + b"\0").digest()))]}, False,
         "HV_ERR_SOD_SIGNATURE"),
        ("signed attributes out of DER order, signature over them as sent",
         {"der_order": False, "attrs": unsorted([attr(CT, oid(LDS_SO)), attr(ST, signing_time),
                                                 attr(MD, tlv(0x04, md256))])}, None,
         "HV_ERR_SOD_MALFORMED"),
        # A verifier that re-encodes the attributes in DER order before hashing takes this one
        # (OpenSSL 3.0 hashes them as sent, and refuses it): one of the two readings is wrong,
        # and hawiya takes DER only, so that the bytes sent are the bytes signed.
        ("signed attributes out of DER order, signature over their DER re-encoding",
         {"der_order": False, "sign_bytes": lambda a: set_of(a),
          "attrs": unsorted([attr(CT, oid(LDS_SO)), attr(ST, signing_time),
                             attr(MD, tlv(0x04, md256))])}, None, "HV_ERR_SOD_MALFORMED"),
        ("an attribute's values out of DER order",
         {"attrs": [attr(CT, oid(LDS_SO)), attr(MD, tlv(0x04, md256)),
                    attr("1.2.840.113549.1.9.15", seq(integer(2)), seq(integer(1)),
                         der_order=False)]}, None, "HV_ERR_SOD_MALFORMED"),
        ("an attribute unknown to both", {"attrs": [attr(CT, oid(LDS_SO)),
                                                   attr(MD, tlv(0x04, md256)),
                                                   attr("1.2.840.113549.1.9.15", seq())]},
         True, None),
    ]
    # An RSA Document Signer, made by openssl.
    rsa_cert, rsa_key = rsa_document_signer()
    rsa = {"cert": rsa_cert, "key": rsa_key}
    cases += [
        ("RSA DS, sha256WithRSAEncryption", dict(rsa, sig_alg=seq(oid(RSA_OID["sha256"]), NULL)),
         True, None),
        ("RSA DS, rsaEncryption", dict(rsa, sig_alg=seq(oid(RSA_ENCRYPTION), NULL)), True, None),
        ("RSA DS, sha384WithRSAEncryption over SHA-384, digestAlgorithm sha256",
         dict(rsa, sig_alg=seq(oid(RSA_OID["sha384"]), NULL), sign_hash="sha384"), False,
         "HV_ERR_SOD_MALFORMED"),
        ("RSA DS, RSASSA-PSS SHA-256", dict(rsa, sig_alg=pss("sha256", 32),
                                            sigopt=pss_opts("sha256", 32)), True, None),
        ("RSA DS, RSASSA-PSS SHA-384 over SHA-384, digestAlgorithm sha256",
         dict(rsa, sig_alg=pss("sha384", 48), sign_hash="sha384", sigopt=pss_opts("sha384", 48)),
         False, "HV_ERR_SOD_MALFORMED"),
        ("RSA DS, signatureAlgorithm ecdsa-with-SHA256",
         dict(rsa, sig_alg=seq(oid(ECDSA_OID["sha256"]))), None, "HV_ERR_SOD_SIGNATURE"),
    ]
    fails = 0
    for name, variant, ossl_ok, want in cases:
        variant = dict(variant)
        cms = build(econtent, variant.pop("cert", cert), variant.pop("key", key), signing_time,
                    **variant)
        cms_path = os.path.join(WORK, "sod.cms")
        open(cms_path, "wb").write(cms)
        r = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", cms_path,
                            "-CAfile", os.path.join(PKI, "csca", "csca.pem"), "-purpose", "any",
                            "-binary", "-attime", NOW_EPOCH, "-out", os.devnull],
                           capture_output=True)
        a = dict(example)
        a["sod"] = base64.b64encode(tlv(0x77, cms)).decode()
        a["reader"] = {"attested": False}
        text = json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode()
        h = subprocess.run([HAWIYA, "verify", "--csca", os.path.join(PKI, "csca"),
                            "--reader-ca", os.path.join(PKI, "reader-ca"), "--allow-unattested",
                            "--crl", os.path.join(PKI, "crl"),
                            "--challenge", CHALLENGE, "--origin", ORIGIN, "--now", NOW],
                           input=text, capture_output=True)
        out = h.stdout.decode(errors="replace").strip()
        got = None if h.returncode == 0 else (json.loads(out).get("error") if out else "?")
        ok = (ossl_ok is None or (r.returncode == 0) == ossl_ok) and got == want
        # hawiya never takes what openssl refuses
        ok = ok and h.returncode in (0, 1) and (r.returncode == 0 or got is not None)
        print("%s: %s: openssl %s, hawiya %s" % ("ok" if ok else "FAIL", name,
                                                 "accepts" if r.returncode == 0 else "refuses",
                                                 out))
        fails += not ok
    print("sod_cms_openssl: %d cases, %d failed" % (len(cases), fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
