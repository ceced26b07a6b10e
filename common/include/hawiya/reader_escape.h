/*
 * reader_escape: the reader's own commands, carried in
 * PC_to_RDR_Escape / RDR_to_PC_Escape (USB CCID 1.1 §6.1.8, §6.2.4). One
 * copy of this wire format, for the firmware and the host backends.
 *
 * A request is one command byte followed by BER-TLV parameters
 * (hawiya/tlv.h); an answer is BER-TLV. An authentication runs as a
 * sequence of requests so that the host can show progress live:
 *
 *   AUTH_BEGIN {challenge, origin, [CAN], [MRZ information], [flags]}
 *        -> report of the "atr" step (the card powered, protocol chosen)
 *   AUTH_NEXT -> report of the next phase (cardaccess, pace / bac, select,
 *        read, ca, aa, attest); the report of "attest" carries the evidence
 *   AUTH_ABORT -> ends the session, wipes every secret
 *
 * The CAN goes down once, in AUTH_BEGIN, and never comes back up.
 */
#ifndef HAWIYA_READER_ESCAPE_H
#define HAWIYA_READER_ESCAPE_H

/* Command bytes. */
#define RESC_INFO       0x01 /* -> reader id, certificate, public key, counter */
#define RESC_SET_CERT   0x02 /* {RESC_T_CERT}: store the device certificate */
#define RESC_AUTH_BEGIN 0x10
#define RESC_AUTH_NEXT  0x11
#define RESC_AUTH_ABORT 0x12

/* Request parameters. */
#define RESC_T_CHALLENGE 0x80
#define RESC_T_ORIGIN    0x81
#define RESC_T_CAN       0x82
#define RESC_T_MRZ_INFO  0x83
#define RESC_T_FLAGS     0x84 /* 1 byte: RESC_FLAG_* */
#define RESC_T_CERT      0x85
/* 1 byte: the interface AUTH_BEGIN uses (absent: a card in the RF field,
 * else the contact slot); in the "atr" step report: the one it used. */
#define RESC_T_INTERFACE    0x86
#define RESC_IF_CONTACT     0x00
#define RESC_IF_CONTACTLESS 0x01

#define RESC_FLAG_NO_CA 0x01 /* skip Chip Authentication */

/* INFO answer. The memory figures come from boards that measure them. */
#define RESC_T_READER_ID  0xA0 /* UTF-8 */
#define RESC_T_READER_CRT 0xA1 /* X.509 DER, absent until provisioned */
#define RESC_T_PUBLIC_KEY 0xA2 /* P-256 point, uncompressed */
#define RESC_T_COUNTER    0xA3 /* 8 bytes, big-endian */
#define RESC_T_VERSION    0xA4 /* UTF-8 */
#define RESC_T_ATTEST_STATE                                                                        \
    0xA5                        /* ASCII: ATTEST_OK, or what stops attestation (ATTEST_ERR_...)    \
                                 */
#define RESC_T_STORE_STATE 0xA6 /* ASCII: the record store's state (STORE_OK, STORE_ERR_...) */
/* The CCID class descriptor (USB CCID 1.1 §5.1, 54 bytes) the reader runs
 * with, for a host that cannot read it from USB (a driver on the sim board's
 * socket or a serial link): dwMaxCCIDMessageLength, dwFeatures... */
#define RESC_T_CCID_DESCRIPTOR 0xA7
#define RESC_T_MEMORY          0xA8 /* 3 x 4 bytes, big-endian: static RAM, heap peak, stack peak */

/* Step report. */
#define RESC_T_STEP       0x90 /* ASCII: atr, cardaccess, pace, bac, select, read, ca, aa, attest */
#define RESC_T_STATUS     0x91 /* 1 byte: 0 = ok, 1 = more steps follow... see RESC_STATUS_* */
#define RESC_T_ERROR      0x92 /* ASCII: the named error (SLOT_ERR_..., EMRTD_ERR_..., ...) */
#define RESC_T_SW         0x93 /* 2 bytes: the card's status word behind the error */
#define RESC_T_LINE_NS    0x94 /* 8 bytes: card-line time of the step (characters on the line) */
#define RESC_T_ELAPSED_NS 0x95 /* 8 bytes: reader time of the step (line + card + waits) */
#define RESC_T_CPU_NS     0x96 /* 8 bytes: the reader's own CPU time in the step */
#define RESC_T_APDUS      0x97 /* 2 bytes: APDUs exchanged in the step */
#define RESC_T_DETAIL     0x98 /* ASCII: e.g. the ATR in hex, "T=1 Fi/Di 512/32 5.00 MHz" */
#define RESC_T_TRACE      0x99 /* CLA INS P1 P2 of each command APDU of the step, as sent */
#define RESC_T_CHARS      0x9A /* 8 bytes: characters on the card line in the step, both ways */
#define RESC_T_FRAMES     0x9B /* 8 bytes: contactless frames on the air in the step, both ways */
/* 8 bytes: instructions the reader executed in the step, from boards that
 * count them exactly (QEMU -icount); absent elsewhere. */
#define RESC_T_INSTRUCTIONS 0x9C

#define RESC_STATUS_CONTINUE 0 /* the step went well, more follow */
#define RESC_STATUS_DONE     1 /* the last step: the evidence is in this report */
#define RESC_STATUS_FAILED   2 /* the session is over; RESC_T_ERROR says why */
#define RESC_STATUS_MORE     3 /* the step goes on: this report carries file parts; AUTH_NEXT again */

/*
 * Evidence. The files come as they are read, in RESC_T_FILE_PART fields of
 * the step reports (a step may send several reports, RESC_STATUS_MORE):
 * file tag (1 byte: RESC_T_EF_CARDACCESS .. RESC_T_EF_SOD), offset and the
 * file's whole length (4 bytes each, big-endian), then the bytes; the parts
 * of a file come in order, without gaps. The report of the last step
 * carries the rest: AA challenge and signature, access, the reader's id,
 * certificate, counter and signature. (A host puts the files back together
 * and hands on the last report with them, as hawiya/reader_session.h does.)
 */
#define RESC_T_FILE_PART     0xC7
#define RESC_T_EF_CARDACCESS 0xC0
#define RESC_T_EF_COM        0xC1
#define RESC_T_DG1           0xC2
#define RESC_T_DG11          0xC3
#define RESC_T_DG14          0xC4
#define RESC_T_DG15          0xC5
#define RESC_T_EF_SOD        0xC6
#define RESC_T_AA_CHALLENGE  0xD0
#define RESC_T_AA_SIGNATURE  0xD1
#define RESC_T_SIGNATURE     0xD2 /* the reader's ECDSA signature (DER) over assertion_tbs_digest */
#define RESC_T_ACCESS        0xD3 /* ASCII: "pace", "pace+ca", "bac", "bac+ca" */

#endif
