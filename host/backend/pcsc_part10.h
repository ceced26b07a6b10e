/*
 * pcsc_part10: what a PC/SC reader says about itself, in the formats of
 * PC/SC Part 10 (Interoperability Specification for ICCs and Personal
 * Computer Systems, Part 10: IFDs with Secure PIN Entry Capabilities,
 * v2.02.09) and its amendment 1 (PACE, with BSI TR-03119):
 *
 *   CM_IOCTL_GET_FEATURE_REQUEST (§2.2): a list of TLVs, tag = a feature
 *     (FEATURE_*, 1 byte), length 4, value = the control code that runs the
 *     feature, big-endian.
 *   FEATURE_GET_TLV_PROPERTIES (§2.6.14): TLVs, tag 1 byte, length 1 byte,
 *     values little-endian: dwMaxAPDUDataSize (tag 10, the largest APDU data
 *     field the reader carries; 0 = short APDUs only), wIdVendor (11),
 *     wIdProduct (12), sFirmwareID (8), bPPDUSupport (9)...
 *   FEATURE_EXECUTE_PACE (AMD1 §2): a command is bIndex (1 byte),
 *     wLengthInputData (2, little-endian), abData; an answer is dwResult (4,
 *     little-endian), wLengthOutputData (2), abData. EstablishPACEChannel
 *     (bIndex 2) takes bPinID, CHAT, PIN (empty: typed on the reader's
 *     keypad) and a certificate description, and answers the MSE:Set AT
 *     status word, EF.CardAccess, the CARs and the chip's ID.
 *
 * These bytes come from a reader's driver: they are parsed as hostile
 * input, bounded, with a named error for every way they can be wrong
 * (tests/fuzz/fuzz_pcsc_part10.c). No I/O here.
 */
#ifndef HAWIYA_PCSC_PART10_H
#define HAWIYA_PCSC_PART10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pcsc10_err {
    PCSC10_OK = 0,
    PCSC10_ERR_TRUNCATED, /* a TLV or field runs past the end */
    PCSC10_ERR_LENGTH,    /* a TLV whose length its tag does not allow */
    PCSC10_ERR_BUFFER,    /* the caller's buffer is too small */
};

const char *pcsc10_err_str(enum pcsc10_err e);

/* Feature tags (Part 10 §2.3) the bridge uses; the others are kept by number. */
#define PCSC10_FEATURE_VERIFY_PIN_DIRECT  0x06u
#define PCSC10_FEATURE_GET_TLV_PROPERTIES 0x12u
#define PCSC10_FEATURE_CCID_ESC_COMMAND   0x13u
#define PCSC10_FEATURE_EXECUTE_PACE       0x20u

#define PCSC10_MAX_FEATURE 0x40u

struct pcsc10_features {
    /* The control code of each feature, 0 when the reader does not offer it. */
    uint32_t code[PCSC10_MAX_FEATURE];
};

/* The answer to CM_IOCTL_GET_FEATURE_REQUEST. Unknown tags above
 * PCSC10_MAX_FEATURE are skipped; a repeated tag keeps its first code. */
enum pcsc10_err pcsc10_features_parse(const uint8_t *p, size_t n, struct pcsc10_features *f);

/* Property tags (Part 10 §2.6.14). */
#define PCSC10_PROP_SFIRMWARE_ID        0x08u
#define PCSC10_PROP_BPPDU_SUPPORT       0x09u
#define PCSC10_PROP_DWMAX_APDU_DATASIZE 0x0Au
#define PCSC10_PROP_WID_VENDOR          0x0Bu
#define PCSC10_PROP_WID_PRODUCT         0x0Cu

struct pcsc10_properties {
    bool has_max_apdu;
    uint32_t max_apdu_data; /* dwMaxAPDUDataSize */
    bool has_ids;
    uint16_t vendor, product;
    char firmware[64]; /* sFirmwareID, printable ASCII only ('?' otherwise), "" when absent */
};

enum pcsc10_err pcsc10_properties_parse(const uint8_t *p, size_t n, struct pcsc10_properties *o);

/* --- FEATURE_EXECUTE_PACE (AMD1) ------------------------------------------ */

#define PCSC10_PACE_GET_CAPABILITIES 0x01u
#define PCSC10_PACE_ESTABLISH        0x02u
#define PCSC10_PACE_DESTROY          0x03u

/* bPinID (TR-03110-3 / 9303-11 password references). */
#define PCSC10_PACE_PIN_MRZ 0x01u
#define PCSC10_PACE_PIN_CAN 0x02u

/*
 * An EstablishPACEChannel command: bIndex 02, then bPinID, an empty CHAT, a
 * PIN of pin_len bytes (0: the holder types it on the reader) and an empty
 * certificate description. The PIN is a secret: the caller wipes out.
 */
enum pcsc10_err pcsc10_pace_establish_cmd(uint8_t pin_id, const uint8_t *pin, size_t pin_len,
                                          uint8_t *out, size_t cap, size_t *n);

/* The reader's answer to a FEATURE_EXECUTE_PACE command: dwResult, and the
 * output data (pointing into the answer). */
enum pcsc10_err pcsc10_pace_answer(const uint8_t *p, size_t n, uint32_t *result,
                                   const uint8_t **out, size_t *out_len);

struct pcsc10_pace_output {
    uint16_t mse_sw; /* wStatusMSESetAT: the card's status word for MSE:Set AT */
    const uint8_t *ef_cardaccess;
    size_t ef_cardaccess_len;
    const uint8_t *id_icc; /* the chip's ephemeral public key (or its identifier) */
    size_t id_icc_len;
};

/* EstablishPACEChannel's output data (the values point into p). */
enum pcsc10_err pcsc10_pace_output_parse(const uint8_t *p, size_t n, struct pcsc10_pace_output *o);

/* The dwResult codes of AMD1 §2.6.3 that the bridge names; others are "unknown". */
const char *pcsc10_pace_result_str(uint32_t result);

#endif
