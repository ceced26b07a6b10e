/*
 * hal/flash: the reader's persistent storage, as the raw NOR flash of a
 * microcontroller: a few sectors set aside for the record store
 * (firmware/include/store.h), and a small one-time-programmable (OTP) area.
 *
 * Flash semantics, which every board keeps, the sim board included:
 *   - erasing a sector sets all its bytes to 0xFF;
 *   - programming only turns bits from 1 to 0, and a program unit (prog_unit
 *     bytes, aligned) is programmed at most once between two erases: a board
 *     may refuse (return false) a program over bytes that are not erased, as
 *     flash with ECC (STM32L4/H7) must, so the store never asks for one;
 *   - a power cut during an erase or a program leaves the bytes concerned in
 *     any state (a torn write); the store is built to survive that at every
 *     byte, and reads back what it programmed.
 * OTP bytes start at 0xFF and are programmed once, never erased (STM32F4:
 * the 512-byte OTP area; the sim board: a file). The firmware programs there
 * the fact that the reader has made its identity, so that a lost flash is
 * not taken for a new reader.
 *
 * Addresses are (sector, offset) relative to the store's area: the board
 * maps them to its own sectors (STM32F405: two 16 KiB sectors, e.g. 2 and 3
 * at 0x08008000). Every call is synchronous: it returns when the flash is
 * done, or false on any error (the board's controller flagged one, an
 * address outside the area, a program over non-erased bytes).
 */
#ifndef HAWIYA_HAL_FLASH_H
#define HAWIYA_HAL_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hal_flash_info {
    uint32_t sector_size; /* bytes per sector (a multiple of prog_unit, at least 1 KiB) */
    uint32_t sectors;     /* sectors in the store's area (at least 2) */
    uint32_t prog_unit;   /* bytes programmed at once: 1, 2, 4, 8, 16 or 32 */
    uint32_t otp_size;    /* bytes of OTP; the firmware uses the first 64 (0: none) */
};

/* The geometry; false when the flash cannot be used at all (missing, unreadable). */
bool hal_flash_info(struct hal_flash_info *info);
bool hal_flash_read(uint32_t sector, uint32_t offset, uint8_t *buf, size_t n);
/* offset and n are multiples of prog_unit; the bytes must be erased. */
bool hal_flash_program(uint32_t sector, uint32_t offset, const uint8_t *buf, size_t n);
bool hal_flash_erase(uint32_t sector);

bool hal_otp_read(uint32_t offset, uint8_t *buf, size_t n);
/* Programs OTP bytes (1 -> 0 only; each byte once). */
bool hal_otp_program(uint32_t offset, const uint8_t *buf, size_t n);

#endif
