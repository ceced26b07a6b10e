/*
 * ccid: the USB CCID 1.1 wire format (Specification for Integrated Circuit(s)
 * Cards Interface Devices, rev 1.1, 2005): the bulk messages of §6.1
 * (PC_to_RDR_*) and §6.2 (RDR_to_PC_*), the interrupt-IN messages of §6.3
 * and the CCID class descriptor of §5.1. One copy, used by the reader
 * firmware (device side) and by the host backends.
 *
 * A bulk message is a 10-byte header (bMessageType, dwLength little-endian,
 * bSlot, bSeq, three message-specific bytes) followed by dwLength bytes of
 * abData. Decoding is strict: every RFU byte must be zero, dwLength must
 * suit the message and fit the buffer and the configured maximum, and the
 * message-specific fields must hold defined values. A rejected message also
 * yields the offset of the offending byte, which is what §6.2.6 wants in
 * bError when the reader answers a malformed command.
 *
 * Nothing is copied: a decoded message points into the caller's buffer.
 */
#ifndef HAWIYA_CCID_H
#define HAWIYA_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ccid_err {
    CCID_OK = 0,
    CCID_ERR_NEED_MORE,     /* ccid_frame: the message is not complete yet */
    CCID_ERR_TRUNCATED,     /* fewer bytes than the header or dwLength says */
    CCID_ERR_TRAILING,      /* bytes after the 10 + dwLength of the message */
    CCID_ERR_TOO_LONG,      /* 10 + dwLength above the maximum message length */
    CCID_ERR_UNKNOWN_TYPE,  /* bMessageType is no message of §6.1/§6.2/§6.3 */
    CCID_ERR_BAD_LENGTH,    /* dwLength not allowed for this message (or bProtocolNum) */
    CCID_ERR_RESERVED,      /* an RFU byte or bit is not zero */
    CCID_ERR_BAD_PARAM,     /* a field holds an undefined value */
    CCID_ERR_NO_SPACE,      /* encoder: the output buffer is too small */
    CCID_ERR_BAD_DESCRIPTOR /* class descriptor: bLength / bDescriptorType */
};

const char *ccid_err_str(enum ccid_err e);

/* §6: message header size, and the largest dwMaxCCIDMessageLength (extended APDU level). */
#define CCID_HEADER_SIZE      10u
#define CCID_MAX_MESSAGE_SIZE (65544u + 10u)

/* bMessageType, §6.1 (bulk-OUT) */
enum ccid_pc_to_rdr {
    CCID_PC_TO_RDR_ICC_POWER_ON = 0x62,
    CCID_PC_TO_RDR_ICC_POWER_OFF = 0x63,
    CCID_PC_TO_RDR_GET_SLOT_STATUS = 0x65,
    CCID_PC_TO_RDR_XFR_BLOCK = 0x6F,
    CCID_PC_TO_RDR_GET_PARAMETERS = 0x6C,
    CCID_PC_TO_RDR_RESET_PARAMETERS = 0x6D,
    CCID_PC_TO_RDR_SET_PARAMETERS = 0x61,
    CCID_PC_TO_RDR_ESCAPE = 0x6B,
    CCID_PC_TO_RDR_ICC_CLOCK = 0x6E,
    CCID_PC_TO_RDR_T0_APDU = 0x6A,
    CCID_PC_TO_RDR_SECURE = 0x69,
    CCID_PC_TO_RDR_MECHANICAL = 0x71,
    CCID_PC_TO_RDR_ABORT = 0x72,
    CCID_PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY = 0x73,
};

/* bMessageType, §6.2 (bulk-IN) and §6.3 (interrupt-IN) */
enum ccid_rdr_to_pc {
    CCID_RDR_TO_PC_DATA_BLOCK = 0x80,
    CCID_RDR_TO_PC_SLOT_STATUS = 0x81,
    CCID_RDR_TO_PC_PARAMETERS = 0x82,
    CCID_RDR_TO_PC_ESCAPE = 0x83,
    CCID_RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY = 0x84,
    CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE = 0x50,
    CCID_RDR_TO_PC_HARDWARE_ERROR = 0x51,
};

/* True for the bulk-OUT types of §6.1, the bulk-IN types of §6.2. */
bool ccid_is_pc_to_rdr(uint8_t type);
bool ccid_is_rdr_to_pc(uint8_t type);

/* bPowerSelect of IccPowerOn (§6.1.1) */
enum ccid_power_select {
    CCID_POWER_AUTO = 0,
    CCID_POWER_5V = 1,
    CCID_POWER_3V = 2,
    CCID_POWER_1V8 = 3,
};

/* bClockCommand of IccClock (§6.1.9) */
enum ccid_clock_command {
    CCID_CLOCK_RESTART = 0,
    CCID_CLOCK_STOP = 1,
};

/* bFunction of Mechanical (§6.1.12) */
enum ccid_mechanical_function {
    CCID_MECH_ACCEPT_CARD = 1,
    CCID_MECH_EJECT_CARD = 2,
    CCID_MECH_CAPTURE_CARD = 3,
    CCID_MECH_LOCK_CARD = 4,
    CCID_MECH_UNLOCK_CARD = 5,
};

/*
 * wLevelParameter of XfrBlock (§6.1.4) at extended APDU level, and
 * bChainParameter of DataBlock (§6.2.1): where this block sits in a chain.
 * At character level wLevelParameter is instead the expected response size.
 */
enum ccid_chain {
    CCID_CHAIN_BEGIN_END = 0x00,
    CCID_CHAIN_BEGIN = 0x01,
    CCID_CHAIN_END = 0x02,
    CCID_CHAIN_CONTINUE = 0x03,
    CCID_CHAIN_EMPTY_EXPECT_MORE = 0x10,
};

/* bmChanges of T0APDU (§6.1.10) */
#define CCID_T0APDU_CHANGE_GET_RESPONSE 0x01u
#define CCID_T0APDU_CHANGE_ENVELOPE     0x02u

/* bStatus (§6.2.6): bmICCStatus in bits 0-1, bmCommandStatus in bits 6-7. */
enum ccid_icc_status {
    CCID_ICC_PRESENT_ACTIVE = 0,
    CCID_ICC_PRESENT_INACTIVE = 1,
    CCID_ICC_ABSENT = 2,
};
enum ccid_command_status {
    CCID_CMD_OK = 0,
    CCID_CMD_FAILED = 1,
    CCID_CMD_TIME_EXTENSION = 2,
};
uint8_t ccid_status(enum ccid_icc_status icc, enum ccid_command_status cmd);
enum ccid_icc_status ccid_status_icc(uint8_t bstatus);
enum ccid_command_status ccid_status_command(uint8_t bstatus);

/*
 * bError (§6.2.6) when bmCommandStatus is "failed". A value from 0x01 to
 * 0x7F is instead the offset of the first bad byte of the command, and 0x00
 * means "command not supported". With "time extension", bError is the BWT
 * multiplier that the reader asks for.
 */
enum ccid_berror {
    CCID_BERROR_CMD_NOT_SUPPORTED = 0x00,
    CCID_BERROR_CMD_ABORTED = 0xFF,
    CCID_BERROR_ICC_MUTE = 0xFE,
    CCID_BERROR_XFR_PARITY_ERROR = 0xFD,
    CCID_BERROR_XFR_OVERRUN = 0xFC,
    CCID_BERROR_HW_ERROR = 0xFB,
    CCID_BERROR_BAD_ATR_TS = 0xF8,
    CCID_BERROR_BAD_ATR_TCK = 0xF7,
    CCID_BERROR_ICC_PROTOCOL_NOT_SUPPORTED = 0xF6,
    CCID_BERROR_ICC_CLASS_NOT_SUPPORTED = 0xF5,
    CCID_BERROR_PROCEDURE_BYTE_CONFLICT = 0xF4,
    CCID_BERROR_DEACTIVATED_PROTOCOL = 0xF3,
    CCID_BERROR_BUSY_WITH_AUTO_SEQUENCE = 0xF2,
    CCID_BERROR_PIN_TIMEOUT = 0xF0,
    CCID_BERROR_PIN_CANCELLED = 0xEF,
    CCID_BERROR_CMD_SLOT_BUSY = 0xE0,
};

/* The §6.2.6 name ("ICC_MUTE"), "BAD_PARAMETER_OFFSET" for 0x01-0x7F, else "USER_DEFINED" etc. */
const char *ccid_berror_str(uint8_t berror);

/* bClockStatus of SlotStatus (§6.2.2) */
enum ccid_clock_status {
    CCID_CLOCK_RUNNING = 0,
    CCID_CLOCK_STOPPED_L = 1,
    CCID_CLOCK_STOPPED_H = 2,
    CCID_CLOCK_STOPPED_UNKNOWN = 3,
};

/*
 * abProtocolDataStructure of SetParameters (§6.1.7) and Parameters
 * (§6.2.3): 5 bytes for T=0 (bProtocolNum 0), 7 for T=1 (bProtocolNum 1).
 */
#define CCID_PROTOCOL_T0      0u
#define CCID_PROTOCOL_T1      1u
#define CCID_PARAMS_T0_SIZE   5u
#define CCID_PARAMS_T1_SIZE   7u
#define CCID_TCCKS_T1_BASE    0x10u /* bmTCCKST1 = 0x10 | convention << 1 | crc */
#define CCID_TCCKS_CONVENTION 0x02u /* 1: inverse convention */
#define CCID_TCCKS_T1_CRC     0x01u /* T=1 EDC: 1 CRC, 0 LRC */

struct ccid_params {
    uint8_t protocol_num;    /* bProtocolNum: CCID_PROTOCOL_T0 / _T1 */
    uint8_t findex_dindex;   /* bmFindexDindex: Fi index << 4 | Di index (TA1) */
    uint8_t tccks;           /* bmTCCKST0 (0x00/0x02) or bmTCCKST1 (0x10-0x13) */
    uint8_t guard_time;      /* bGuardTimeT0 / bGuardTimeT1: extra guard time (TC1) */
    uint8_t waiting_integer; /* bWaitingIntegerT0 (WI, TC2) / bWaitingIntegersT1 (BWI<<4|CWI) */
    uint8_t clock_stop;      /* bClockStop: 0 not allowed, 1 low, 2 high, 3 either */
    uint8_t ifsc;            /* bIFSC (T=1 only), 0x01-0xFE */
    uint8_t nad;             /* bNadValue (T=1 only) */
};

/*
 * One bulk message. Only the fields of its bMessageType are meaningful; the
 * decoder zeroes the others and the encoder ignores them.
 */
struct ccid_msg {
    uint8_t type; /* bMessageType */
    uint8_t slot; /* bSlot */
    uint8_t seq;  /* bSeq */

    /* PC_to_RDR header fields */
    uint8_t power_select;       /* IccPowerOn */
    uint8_t bwi;                /* XfrBlock, Secure: BWT multiplier for this block */
    uint16_t level_parameter;   /* XfrBlock, Secure: wLevelParameter */
    uint8_t clock_command;      /* IccClock */
    uint8_t changes;            /* T0APDU bmChanges */
    uint8_t class_get_response; /* T0APDU */
    uint8_t class_envelope;     /* T0APDU */
    uint8_t function;           /* Mechanical */

    /* RDR_to_PC header fields */
    uint8_t status;          /* bStatus */
    uint8_t error;           /* bError */
    uint8_t chain_parameter; /* DataBlock bChainParameter */
    uint8_t clock_status;    /* SlotStatus bClockStatus */

    /* SetParameters, Parameters: bProtocolNum in params.protocol_num */
    struct ccid_params params;
    /* SetDataRateAndClockFrequency, DataRateAndClockFrequency (dwLength 8) */
    uint32_t clock_frequency; /* dwClockFrequency, kHz */
    uint32_t data_rate;       /* dwDataRate, bps */

    /*
     * abData. Decoding sets it for every message with dwLength > 0 (for the
     * structured ones too); encoding reads it only for XfrBlock, Escape,
     * Secure, DataBlock and RDR_to_PC_Escape.
     */
    const uint8_t *data;
    uint32_t len;
};

/*
 * Stream framing for a socket or a bulk-OUT endpoint that delivers partial
 * messages: looks at the `len` bytes received so far. CCID_OK: a whole
 * message of *n bytes starts at buf[0]. CCID_ERR_NEED_MORE: at least *n more
 * bytes are needed. CCID_ERR_TOO_LONG: dwLength announces a message above
 * max_msg_len (the stream must be resynchronised; *n is 0).
 */
enum ccid_err ccid_frame(const uint8_t *buf, size_t len, size_t max_msg_len, size_t *n);

/*
 * Decodes exactly one bulk message of `len` bytes (either direction). On
 * error *m is zeroed and *bad_offset (if not NULL) is the offset of the
 * first offending byte (1 for dwLength, 7-9 for the specific bytes, 10 +
 * i for abData[i]); 0 for CCID_ERR_UNKNOWN_TYPE, matching §6.2.6.
 */
enum ccid_err ccid_decode(const uint8_t *buf, size_t len, size_t max_msg_len, struct ccid_msg *m,
                          size_t *bad_offset);

/*
 * Encodes *m into out. A failed (bmCommandStatus 1) Parameters or
 * DataRateAndClockFrequency with len 0 goes out without its structure, as
 * the decoder accepts it; otherwise the structure is written from the
 * fields. The result is checked by the same rules as ccid_decode (so an
 * undefined field value or a non-zero RFU cannot go out); on error *n is 0
 * and out holds garbage.
 */
enum ccid_err ccid_encode(const struct ccid_msg *m, uint8_t *out, size_t cap, size_t *n);

/* --- interrupt-IN (§6.3) ------------------------------------------------ */

#define CCID_MAX_SLOTS 256u

/*
 * RDR_to_PC_NotifySlotChange: two bits per slot, slot 0 in bits 0-1 of the
 * first byte: bit 0 ICC present, bit 1 changed since the last report. The
 * message is 1 + ceil(2 * (bMaxSlotIndex + 1) / 8) bytes.
 * RDR_to_PC_HardwareError: bSlot, bSeq, bHardwareErrorCode (0x01 overcurrent).
 */
#define CCID_HW_ERROR_OVERCURRENT 0x01u

struct ccid_interrupt {
    uint8_t type;                                   /* 0x50 or 0x51 */
    unsigned nslots;                                /* NotifySlotChange: bMaxSlotIndex + 1 */
    uint8_t slot_icc_state[CCID_MAX_SLOTS * 2 / 8]; /* NotifySlotChange: bmSlotICCState */
    uint8_t slot, seq, hardware_error_code;         /* HardwareError */
};

size_t ccid_notify_size(unsigned nslots);
void ccid_slot_state_set(struct ccid_interrupt *it, unsigned slot, bool present, bool changed);
bool ccid_slot_present(const struct ccid_interrupt *it, unsigned slot);
bool ccid_slot_changed(const struct ccid_interrupt *it, unsigned slot);

/* max_slot_index is the reader's bMaxSlotIndex; it fixes the NotifySlotChange size. */
enum ccid_err ccid_decode_interrupt(const uint8_t *buf, size_t len, uint8_t max_slot_index,
                                    struct ccid_interrupt *out);
enum ccid_err ccid_encode_interrupt(const struct ccid_interrupt *in, uint8_t *out, size_t cap,
                                    size_t *n);

/* --- class descriptor (§5.1) -------------------------------------------- */

#define CCID_DESCRIPTOR_SIZE 54u
#define CCID_DESCRIPTOR_TYPE 0x21u

/* bVoltageSupport */
#define CCID_VOLTAGE_5V  0x01u
#define CCID_VOLTAGE_3V  0x02u
#define CCID_VOLTAGE_1V8 0x04u
/* dwProtocols */
#define CCID_PROTOCOLS_T0 0x0001u
#define CCID_PROTOCOLS_T1 0x0002u
/* dwMechanical */
#define CCID_MECHANICAL_ACCEPT  0x01u
#define CCID_MECHANICAL_EJECT   0x02u
#define CCID_MECHANICAL_CAPTURE 0x04u
#define CCID_MECHANICAL_LOCK    0x08u
/* dwFeatures */
#define CCID_FEATURE_AUTO_PARAM_ATR       0x00000002u /* automatic parameters from the ATR */
#define CCID_FEATURE_AUTO_ACTIVATION      0x00000004u /* activates the ICC on insertion */
#define CCID_FEATURE_AUTO_VOLTAGE         0x00000008u
#define CCID_FEATURE_AUTO_CLOCK           0x00000010u
#define CCID_FEATURE_AUTO_BAUD            0x00000020u
#define CCID_FEATURE_AUTO_PARAM_NEGOTIATE 0x00000040u /* proprietary parameter negotiation */
#define CCID_FEATURE_AUTO_PPS_ACTIVE      0x00000080u /* PPS according to the active parameters */
#define CCID_FEATURE_CLOCK_STOP           0x00000100u
#define CCID_FEATURE_NAD_NOT_ZERO         0x00000200u
#define CCID_FEATURE_AUTO_IFSD            0x00000400u /* IFSD exchange as first T=1 exchange */
#define CCID_FEATURE_LEVEL_CHARACTER      0x00000000u
#define CCID_FEATURE_LEVEL_TPDU           0x00010000u
#define CCID_FEATURE_LEVEL_SHORT_APDU     0x00020000u
#define CCID_FEATURE_LEVEL_EXTENDED_APDU  0x00040000u
#define CCID_FEATURE_LEVEL_MASK           0x00070000u
#define CCID_FEATURE_USB_WAKEUP           0x00100000u
/* bPINSupport */
#define CCID_PIN_VERIFY 0x01u
#define CCID_PIN_MODIFY 0x02u

struct ccid_descriptor {
    uint16_t bcd_ccid;                /* 0x0110 */
    uint8_t max_slot_index;           /* bMaxSlotIndex */
    uint8_t voltage_support;          /* bVoltageSupport */
    uint32_t protocols;               /* dwProtocols */
    uint32_t default_clock;           /* dwDefaultClock, kHz */
    uint32_t maximum_clock;           /* dwMaximumClock, kHz */
    uint8_t num_clock_supported;      /* bNumClockSupported */
    uint32_t data_rate;               /* dwDataRate, bps */
    uint32_t max_data_rate;           /* dwMaxDataRate, bps */
    uint8_t num_data_rates_supported; /* bNumDataRatesSupported */
    uint32_t max_ifsd;                /* dwMaxIFSD */
    uint32_t synch_protocols;         /* dwSynchProtocols */
    uint32_t mechanical;              /* dwMechanical */
    uint32_t features;                /* dwFeatures */
    uint32_t max_ccid_message_length; /* dwMaxCCIDMessageLength, header included */
    uint8_t class_get_response;       /* bClassGetResponse, 0xFF: echo the APDU's CLA */
    uint8_t class_envelope;           /* bClassEnvelope */
    uint16_t lcd_layout;              /* wLcdLayout: lines << 8 | characters per line */
    uint8_t pin_support;              /* bPINSupport */
    uint8_t max_ccid_busy_slots;      /* bMaxCCIDBusySlots */
};

/* Decodes the 54 bytes (bLength 0x36, bDescriptorType 0x21); extra bytes are refused. */
enum ccid_err ccid_decode_descriptor(const uint8_t *buf, size_t len, struct ccid_descriptor *d);
enum ccid_err ccid_encode_descriptor(const struct ccid_descriptor *d, uint8_t *out, size_t cap,
                                     size_t *n);

#endif
