/*
 * store: the reader's persistent records (device key, certificate,
 * attestation counter) in the raw flash of hal/flash.h, written so that no
 * power cut, at any byte, can lose an acknowledged value or bring back an
 * older one, and so that damage a power cut cannot explain is reported, never
 * papered over.
 *
 * A log over the store's sectors, one of them active at a time:
 *   sector = header {"HWS1", generation, CRC-32} at offset 0, then records;
 *   record = header {0xA5, key, copy, version, length, sequence, CRC-32 of
 *            the value, CRC-32 of the header} then the value, each padded to
 *            the flash's program unit.
 * Every value is written twice (copy 0, then copy 1, same sequence number),
 * each copy value first and header last, and read back. Reading takes, for
 * each key, the highest sequence number with at least one intact copy.
 *   - A power cut tears at most the last record programmed: an unfinished
 *     header (all 0xFF, or failing its CRC) ends the log. The bytes after it
 *     are then not erased, so the next write compacts first.
 *   - A header that checks but a value that does not, or a good header
 *     after the end of the log, or sequence numbers out of order, cannot come
 *     from a power cut: the store is STORE_ERR_CORRUPT and refuses writes,
 *     so that a damaged counter is never replaced by an invented one.
 * When the active sector is full (or its tail torn), the newest copy of every
 * key is copied into the next sector in turn, whose header (generation + 1)
 * is programmed last; then the old sector is erased. The highest generation
 * with a good header is the active sector: a cut anywhere in a compaction
 * leaves the old one or the new one. Sectors take their turn, so their
 * erases are spread evenly (wear): a counter value costs two 32-byte records,
 * so a 16 KiB sector takes about 250 attestations per erase.
 *
 * No heap, no OS call: the same code runs on the sim board (a file) and on
 * the microcontroller.
 */
#ifndef HAWIYA_FW_STORE_H
#define HAWIYA_FW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/flash.h"

#define STORE_KEYS_MAX  8
#define STORE_VALUE_MAX 1024

enum store_err {
    STORE_OK = 0,
    STORE_ERR_FLASH,         /* the flash is missing, or a read, program or erase failed */
    STORE_ERR_NOT_FORMATTED, /* no sector has a good header, and the flash is not erased */
    STORE_ERR_CORRUPT,       /* damage no power cut explains (see above) */
    STORE_ERR_NOT_FOUND,     /* no record with that key */
    STORE_ERR_TOO_BIG,       /* a value above STORE_VALUE_MAX or the buffer given */
    STORE_ERR_FULL,          /* the newest copies of all keys no longer fit in a sector */
    STORE_ERR_ARGUMENT,      /* key 0 or 0xFF, an unusable flash geometry */
};

const char *store_err_str(enum store_err e);

struct store_entry {
    uint8_t key;
    uint16_t len;
    uint32_t seq;
    uint32_t offset; /* of an intact copy's record header in the active sector */
};

struct store {
    struct hal_flash_info info;
    uint32_t align;    /* record alignment: the program unit, at least 8 */
    uint32_t hdr_size; /* a record header, aligned */
    enum store_err state;
    bool formatted; /* false: the flash is blank, nothing written yet */
    bool dirty;     /* the bytes after `tail` are not all erased: compact before writing */
    uint32_t active, generation, tail, next_seq;
    struct store_entry entry[STORE_KEYS_MAX];
    size_t entries;
    uint32_t compactions; /* since open, for tests and benchmarks */
};

/* Reads the store; s->state keeps the result, which later calls repeat. */
enum store_err store_open(struct store *s);
/* True when the flash holds nothing at all (a reader that never stored anything). */
bool store_blank(const struct store *s);
/* The newest value of `key` (checked again against its CRC). */
enum store_err store_get(struct store *s, uint8_t key, uint8_t *buf, size_t cap, size_t *len);
bool store_has(const struct store *s, uint8_t key);
/* Writes a new value of `key`; STORE_OK only once both copies read back intact. */
enum store_err store_put(struct store *s, uint8_t key, const uint8_t *val, size_t len);
/* Erases every sector: only for a reader that has never made its identity
 * (a first start cut before anything was kept). */
enum store_err store_format(struct store *s);

/* CRC-32 (IEEE 802.3), as the records use it; also for the OTP blocks (attest.c). */
uint32_t store_crc32(const uint8_t *p, size_t n);

#endif
