/*
 * crc16: the 16-bit frame check sequence of ISO/IEC 13239 (HDLC), the one
 * T=1's CRC epilogue (ISO/IEC 7816-3 §11.4.4) and the serial link's frames
 * (hawiya/serial_frame.h, RFC 1662 §C.2 "FCS-16") both use: polynomial
 * x^16 + x^12 + x^5 + 1, bits taken least significant first (0x8408),
 * register preset to FFFF, ones' complement of the register sent low byte
 * first. Check value of "123456789": 0x906E.
 */
#ifndef HAWIYA_CRC16_H
#define HAWIYA_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define CRC16_13239_INIT 0xFFFFu
/* The register after running over a frame and its own FCS (RFC 1662 §C.2). */
#define CRC16_13239_GOOD 0xF0B8u

/* Runs the register over n more bytes (start from CRC16_13239_INIT; the FCS
 * to send is the complement of the result). */
uint16_t crc16_13239_update(uint16_t crc, const uint8_t *p, size_t n);

#endif
