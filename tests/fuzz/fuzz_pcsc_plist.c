/*
 * libFuzzer target: the CCID driver's Info.plist as the bridge's diagnosis
 * reads it (host/bridge/pcsc_diag.h, pcsc_diag_plist_ids): any text gives a
 * count or -1, never more pairs written than the buffer holds.
 */
#include <stddef.h>
#include <stdint.h>

#include "pcsc_diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcsc_usb_id ids[8 + 1];
    ids[8] = (struct pcsc_usb_id){0xDEAD, 0xBEEF};
    long n = pcsc_diag_plist_ids((const char *)data, size, ids, 8);
    if (n < -1 || ids[8].vendor != 0xDEAD || ids[8].product != 0xBEEF)
        __builtin_trap();
    return 0;
}
