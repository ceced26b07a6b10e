/*
 * The tests' own reading of the bit rate offer that TA(1) of an ATS
 * (ISO/IEC 14443-4 5.2.4) and the Bit_Rate_capability of an ATQB (14443-3
 * 7.9.4.1) share, written out from the standard's table rather than
 * through the code under test: b5 b6 b7 = 212 424 848 kbit/s PICC to PCD
 * (DSI 1 2 3), b1 b2 b3 the same PCD to PICC (DRI), b8 the same D both
 * ways, b4 = 1 RFU (read as 106 kbit/s only).
 */
#ifndef HAWIYA_TEST_RATE_TABLE_H
#define HAWIYA_TEST_RATE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

static inline bool rate_table_offers(uint8_t cap, unsigned dsi, unsigned dri)
{
    static const uint8_t ds_bit[4] = {0, 0x10, 0x20, 0x40}, dr_bit[4] = {0, 0x01, 0x02, 0x04};
    if (cap & 0x08)
        cap = 0;
    if (dsi && !(cap & ds_bit[dsi]))
        return false;
    if (dri && !(cap & dr_bit[dri]))
        return false;
    return !(cap & 0x80) || dsi == dri;
}

#endif
