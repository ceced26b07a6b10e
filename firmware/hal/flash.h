/*
 * hal/flash: the reader's persistent storage, in named records: the device
 * key, its certificate and the monotonic counter of the attestation. A real
 * board keeps them in dedicated flash pages; the sim board in files.
 */
#ifndef HAWIYA_HAL_FLASH_H
#define HAWIYA_HAL_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flash_record {
    FLASH_DEVICE_KEY = 0,  /* private key, DER */
    FLASH_DEVICE_CERT = 1, /* X.509 certificate, DER */
    FLASH_COUNTER = 2,     /* 8-byte big-endian monotonic counter */
};

/* Reads a record; false when it does not exist yet. */
bool hal_flash_read(enum flash_record r, uint8_t *buf, size_t cap, size_t *n);
/* Replaces a record atomically (old or new, never half). */
bool hal_flash_write(enum flash_record r, const uint8_t *buf, size_t n);

#endif
