#include "store.h"

#include <string.h>

#define SECTOR_MAGIC  0x31535748u /* "HWS1" little-endian */
#define SECTOR_HDR    16u
#define RECORD_MAGIC  0xA5u
#define RECORD_VER    0x01u
#define RECORD_FIELDS 20u /* magic key copy version len(2) ff ff seq(4) vcrc(4) hcrc(4) */
#define CHUNK         64u /* bytes moved at a time (a multiple of every program unit) */

const char *store_err_str(enum store_err e)
{
    switch (e) {
    case STORE_OK: return "STORE_OK";
    case STORE_ERR_FLASH: return "STORE_ERR_FLASH";
    case STORE_ERR_NOT_FORMATTED: return "STORE_ERR_NOT_FORMATTED";
    case STORE_ERR_CORRUPT: return "STORE_ERR_CORRUPT";
    case STORE_ERR_NOT_FOUND: return "STORE_ERR_NOT_FOUND";
    case STORE_ERR_TOO_BIG: return "STORE_ERR_TOO_BIG";
    case STORE_ERR_FULL: return "STORE_ERR_FULL";
    case STORE_ERR_ARGUMENT: return "STORE_ERR_ARGUMENT";
    }
    return "STORE_ERR_UNKNOWN";
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), bitwise: the store is small. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) / a * a;
}

static uint32_t first_record(const struct store *s)
{
    return align_up(SECTOR_HDR, s->align);
}

static uint32_t record_size(const struct store *s, uint32_t len)
{
    return s->hdr_size + align_up(len, s->align);
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

/* True when sector bytes [from, to) are all erased; false also on a read error. */
static bool erased(const struct store *s, uint32_t sector, uint32_t from, uint32_t to, bool *io)
{
    uint8_t buf[CHUNK];
    *io = false;
    while (from < to) {
        uint32_t k = to - from < CHUNK ? to - from : CHUNK;
        if (!hal_flash_read(sector, from, buf, k)) {
            *io = true;
            return false;
        }
        if (!all_ff(buf, k))
            return false;
        from += k;
    }
    return true;
}

/* ---- headers -------------------------------------------------------------- */

struct rec {
    uint8_t key, copy;
    uint16_t len;
    uint32_t seq, vcrc;
};

static void encode_record(uint8_t *h, size_t hn, const struct rec *r)
{
    memset(h, 0xFF, hn);
    h[0] = RECORD_MAGIC;
    h[1] = r->key;
    h[2] = r->copy;
    h[3] = RECORD_VER;
    h[4] = (uint8_t)r->len;
    h[5] = (uint8_t)(r->len >> 8);
    put_le32(h + 8, r->seq);
    put_le32(h + 12, r->vcrc);
    put_le32(h + 16, crc32_update(0, h, 16));
}

/* A record header that checks (magic, version, its CRC, sane fields). */
static bool decode_record(const struct store *s, const uint8_t *h, uint32_t at, struct rec *r)
{
    if (h[0] != RECORD_MAGIC || h[3] != RECORD_VER || le32(h + 16) != crc32_update(0, h, 16))
        return false;
    r->key = h[1];
    r->copy = h[2];
    r->len = (uint16_t)(h[4] | h[5] << 8);
    r->seq = le32(h + 8);
    r->vcrc = le32(h + 12);
    return r->key != 0 && r->key != 0xFF && r->copy <= 1 && r->len <= STORE_VALUE_MAX &&
           at + record_size(s, r->len) <= s->info.sector_size;
}

static void encode_sector(uint8_t *h, uint32_t generation)
{
    put_le32(h, SECTOR_MAGIC);
    put_le32(h + 4, generation);
    put_le32(h + 8, 0xFFFFFFFFu);
    put_le32(h + 12, crc32_update(0, h, 12));
}

static bool decode_sector(const uint8_t *h, uint32_t *generation)
{
    if (le32(h) != SECTOR_MAGIC || le32(h + 12) != crc32_update(0, h, 12))
        return false;
    *generation = le32(h + 4);
    return true;
}

/* CRC-32 of a value in flash, read in chunks. */
static bool value_crc(const struct store *s, uint32_t sector, uint32_t off, uint32_t len,
                      uint32_t *crc)
{
    uint8_t buf[CHUNK];
    *crc = 0;
    for (uint32_t done = 0; done < len;) {
        uint32_t k = len - done < CHUNK ? len - done : CHUNK;
        if (!hal_flash_read(sector, off + done, buf, k))
            return false;
        *crc = crc32_update(*crc, buf, k);
        done += k;
    }
    return true;
}

/* ---- open ------------------------------------------------------------------ */

static struct store_entry *find(struct store *s, uint8_t key)
{
    for (size_t i = 0; i < s->entries; i++)
        if (s->entry[i].key == key)
            return &s->entry[i];
    return NULL;
}

/* Per key while scanning: the newest sequence seen, and whether a copy of it is intact. */
struct seen {
    uint8_t key;
    uint32_t seq;
    bool intact;
    uint16_t len;
    uint32_t offset;
};

static enum store_err scan_active(struct store *s)
{
    struct seen seen[STORE_KEYS_MAX];
    size_t n_seen = 0;
    uint8_t h[32];
    uint32_t at = first_record(s), last_seq = 0;
    bool any = false;
    uint8_t last_key = 0;

    for (;;) {
        if (at + s->hdr_size > s->info.sector_size)
            break;
        if (!hal_flash_read(s->active, at, h, RECORD_FIELDS))
            return STORE_ERR_FLASH;
        struct rec r;
        if (all_ff(h, RECORD_FIELDS) || !decode_record(s, h, at, &r))
            break; /* the end of the log: erased, or a header torn by a power cut */
        /* Sequence numbers grow along the log; copy 1 follows copy 0 with the same one. */
        if (any && (r.seq < last_seq || (r.seq == last_seq && r.key != last_key)))
            return STORE_ERR_CORRUPT;
        uint32_t crc;
        if (!value_crc(s, s->active, at + s->hdr_size, r.len, &crc))
            return STORE_ERR_FLASH;
        struct seen *e = NULL;
        for (size_t i = 0; i < n_seen; i++)
            if (seen[i].key == r.key)
                e = &seen[i];
        if (!e) {
            if (n_seen == STORE_KEYS_MAX)
                return STORE_ERR_CORRUPT;
            e = &seen[n_seen++];
            *e = (struct seen){.key = r.key, .seq = r.seq};
        }
        if (r.seq > e->seq || (r.seq == e->seq && !e->intact)) {
            if (r.seq > e->seq)
                e->intact = false;
            e->seq = r.seq;
            if (crc == r.vcrc) {
                e->intact = true;
                e->len = r.len;
                e->offset = at;
            }
        }
        any = true;
        last_seq = r.seq;
        last_key = r.key;
        at += record_size(s, r.len);
    }
    s->tail = at;
    /* After the end, only erased bytes, unless the last write was torn. A good
     * header further on means the end came from damage, not from a cut. */
    bool io;
    if (!erased(s, s->active, at, s->info.sector_size, &io)) {
        if (io)
            return STORE_ERR_FLASH;
        s->dirty = true;
        for (uint32_t p = at + s->align; p + s->hdr_size <= s->info.sector_size; p += s->align) {
            struct rec r;
            if (!hal_flash_read(s->active, p, h, RECORD_FIELDS))
                return STORE_ERR_FLASH;
            if (decode_record(s, h, p, &r))
                return STORE_ERR_CORRUPT;
        }
    }
    s->entries = 0;
    for (size_t i = 0; i < n_seen; i++) {
        /* The newest value has no intact copy: it was written whole (its header
         * checks, and headers go last), so it was damaged since. */
        if (!seen[i].intact)
            return STORE_ERR_CORRUPT;
        s->entry[s->entries++] = (struct store_entry){
            .key = seen[i].key, .len = seen[i].len, .seq = seen[i].seq, .offset = seen[i].offset};
    }
    s->next_seq = any ? last_seq + 1 : 1;
    return STORE_OK;
}

static enum store_err open_store(struct store *s)
{
    if (!hal_flash_info(&s->info))
        return STORE_ERR_FLASH;
    const struct hal_flash_info *fi = &s->info;
    if (fi->sectors < 2 || fi->sector_size < 1024 || fi->prog_unit == 0 || fi->prog_unit > 32 ||
        (fi->prog_unit & (fi->prog_unit - 1)) || fi->sector_size % fi->prog_unit)
        return STORE_ERR_ARGUMENT;
    s->align = fi->prog_unit < 8 ? 8 : fi->prog_unit;
    s->hdr_size = align_up(RECORD_FIELDS, s->align);

    bool found = false, other_data = false;
    for (uint32_t k = 0; k < fi->sectors; k++) {
        uint8_t h[SECTOR_HDR];
        uint32_t gen;
        if (!hal_flash_read(k, 0, h, sizeof h))
            return STORE_ERR_FLASH;
        if (decode_sector(h, &gen)) {
            if (found && gen == s->generation)
                return STORE_ERR_CORRUPT; /* two sectors claim the same turn */
            if (!found || gen > s->generation) {
                s->active = k;
                s->generation = gen;
            }
            found = true;
        } else if (!other_data) {
            bool io;
            other_data = !erased(s, k, 0, fi->sector_size, &io);
            if (io)
                return STORE_ERR_FLASH;
        }
    }
    if (!found)
        return other_data ? STORE_ERR_NOT_FORMATTED : STORE_OK;
    s->formatted = true;
    return scan_active(s);
}

enum store_err store_open(struct store *s)
{
    memset(s, 0, sizeof *s);
    s->next_seq = 1;
    s->state = open_store(s);
    return s->state;
}

bool store_blank(const struct store *s)
{
    return s->state == STORE_OK && !s->formatted;
}

bool store_has(const struct store *s, uint8_t key)
{
    for (size_t i = 0; s->state == STORE_OK && i < s->entries; i++)
        if (s->entry[i].key == key)
            return true;
    return false;
}

/* ---- reading --------------------------------------------------------------- */

enum store_err store_get(struct store *s, uint8_t key, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (s->state != STORE_OK)
        return s->state;
    const struct store_entry *e = find(s, key);
    if (!e)
        return STORE_ERR_NOT_FOUND;
    if (e->len > cap)
        return STORE_ERR_TOO_BIG;
    uint8_t h[32];
    struct rec r;
    if (!hal_flash_read(s->active, e->offset, h, RECORD_FIELDS) ||
        !hal_flash_read(s->active, e->offset + s->hdr_size, buf, e->len))
        return STORE_ERR_FLASH;
    if (!decode_record(s, h, e->offset, &r) || r.key != key || r.len != e->len ||
        crc32_update(0, buf, e->len) != r.vcrc) {
        memset(buf, 0, e->len);
        return STORE_ERR_CORRUPT; /* it checked when the store was opened */
    }
    *len = e->len;
    return STORE_OK;
}

/* ---- writing --------------------------------------------------------------- */

/* Where a value comes from: RAM, or a record of the active sector (compaction). */
struct source {
    const uint8_t *ram;
    uint32_t sector, offset;
};

/* Programs one copy at `at` of `sector`: the value, then the header; reads it back. */
static bool write_record(struct store *s, uint32_t sector, uint32_t at, const struct rec *r,
                         const struct source *src)
{
    uint8_t buf[CHUNK], h[32];
    uint32_t padded = align_up(r->len, s->align);
    uint32_t crc = 0;
    for (uint32_t done = 0; done < padded; done += CHUNK) {
        uint32_t k = padded - done < CHUNK ? padded - done : CHUNK;
        uint32_t data = done >= r->len ? 0 : (r->len - done < k ? r->len - done : k);
        memset(buf, 0xFF, sizeof buf);
        if (data && src->ram)
            memcpy(buf, src->ram + done, data);
        else if (data && !hal_flash_read(src->sector, src->offset + done, buf, data))
            return false;
        crc = crc32_update(crc, buf, data);
        if (!hal_flash_program(sector, at + s->hdr_size + done, buf, k))
            return false;
    }
    if (crc != r->vcrc)
        return false; /* the source changed under us (compaction read a different value) */
    encode_record(h, s->hdr_size, r);
    if (!hal_flash_program(sector, at, h, s->hdr_size))
        return false;
    uint8_t back[32];
    struct rec got;
    uint32_t vcrc;
    return hal_flash_read(sector, at, back, RECORD_FIELDS) && decode_record(s, back, at, &got) &&
           got.seq == r->seq && got.key == r->key && got.len == r->len &&
           value_crc(s, sector, at + s->hdr_size, r->len, &vcrc) && vcrc == r->vcrc;
}

/* Both copies at `*at`, which moves past them. */
static bool write_both(struct store *s, uint32_t sector, uint32_t *at, struct rec r,
                       const struct source *src)
{
    for (uint8_t copy = 0; copy < 2; copy++) {
        r.copy = copy;
        if (!write_record(s, sector, *at, &r, src))
            return false;
        *at += record_size(s, r.len);
    }
    return true;
}

static bool erase_checked(struct store *s, uint32_t sector)
{
    bool io;
    if (erased(s, sector, 0, s->info.sector_size, &io))
        return true;
    return !io && hal_flash_erase(sector) && erased(s, sector, 0, s->info.sector_size, &io);
}

/*
 * Moves the newest copy of every key but `key` into the next sector, adds
 * `key`'s new value, commits the new sector (its header, last), then erases
 * the old one. Any cut leaves one sector with the highest good header.
 */
static enum store_err compact(struct store *s, uint8_t key, const uint8_t *val, uint16_t len,
                              uint32_t vcrc)
{
    uint32_t need = first_record(s) + 2 * record_size(s, len);
    for (size_t i = 0; i < s->entries; i++)
        if (s->entry[i].key != key)
            need += 2 * record_size(s, s->entry[i].len);
    if (need > s->info.sector_size)
        return STORE_ERR_FULL;

    uint32_t target = s->formatted ? (s->active + 1) % s->info.sectors : 0;
    if (!erase_checked(s, target))
        return STORE_ERR_FLASH;
    uint32_t at = first_record(s), seq = s->next_seq;
    struct store_entry moved[STORE_KEYS_MAX];
    size_t n = 0;
    /* Oldest first, so that sequence numbers keep growing along the new log. */
    bool taken[STORE_KEYS_MAX] = {false};
    for (size_t round = 0; round < s->entries; round++) {
        size_t pick = s->entries;
        for (size_t i = 0; i < s->entries; i++)
            if (!taken[i] && s->entry[i].key != key &&
                (pick == s->entries || s->entry[i].seq < s->entry[pick].seq))
                pick = i;
        if (pick == s->entries)
            break;
        taken[pick] = true;
        const struct store_entry *e = &s->entry[pick];
        uint8_t h[32];
        struct rec r;
        if (!hal_flash_read(s->active, e->offset, h, RECORD_FIELDS) ||
            !decode_record(s, h, e->offset, &r))
            return STORE_ERR_FLASH;
        struct source src = {.sector = s->active, .offset = e->offset + s->hdr_size};
        moved[n] = *e;
        moved[n].offset = at;
        if (!write_both(s, target, &at, r, &src))
            return STORE_ERR_FLASH;
        n++;
    }
    struct rec r = {.key = key, .len = len, .seq = seq, .vcrc = vcrc};
    struct source src = {.ram = val};
    moved[n] = (struct store_entry){.key = key, .len = len, .seq = seq, .offset = at};
    if (!write_both(s, target, &at, r, &src))
        return STORE_ERR_FLASH;
    n++;

    uint8_t h[32], back[SECTOR_HDR];
    uint32_t gen = s->formatted ? s->generation + 1 : 1, got;
    memset(h, 0xFF, sizeof h);
    encode_sector(h, gen);
    if (!hal_flash_program(target, 0, h, first_record(s)) ||
        !hal_flash_read(target, 0, back, sizeof back) || !decode_sector(back, &got) || got != gen)
        return STORE_ERR_FLASH;
    /* Committed: the new sector is the store from here on. */
    uint32_t old = s->active;
    bool had_old = s->formatted;
    s->active = target;
    s->generation = gen;
    s->formatted = true;
    s->tail = at;
    s->dirty = false;
    s->next_seq = seq + 1;
    memcpy(s->entry, moved, n * sizeof moved[0]);
    s->entries = n;
    s->compactions++;
    /* Should this erase fail (or be cut), the old sector keeps a lower
     * generation and is erased again before its next use. */
    if (had_old && old != target)
        (void)hal_flash_erase(old);
    return STORE_OK;
}

enum store_err store_put(struct store *s, uint8_t key, const uint8_t *val, size_t len)
{
    if (s->state != STORE_OK)
        return s->state;
    if (key == 0 || key == 0xFF)
        return STORE_ERR_ARGUMENT;
    if (len > STORE_VALUE_MAX)
        return STORE_ERR_TOO_BIG;
    if (!find(s, key) && s->entries == STORE_KEYS_MAX)
        return STORE_ERR_FULL;
    uint32_t vcrc = crc32_update(0, val, len);
    uint32_t size = 2 * record_size(s, (uint32_t)len);
    if (!s->formatted || s->dirty || s->tail + size > s->info.sector_size)
        return compact(s, key, val, (uint16_t)len, vcrc);

    struct rec r = {.key = key, .len = (uint16_t)len, .seq = s->next_seq, .vcrc = vcrc};
    struct source src = {.ram = val};
    uint32_t at = s->tail;
    bool ok = write_both(s, s->active, &at, r, &src);
    /* Whatever happened, bytes up to `at` may be programmed now. */
    s->next_seq++;
    if (!ok) {
        s->dirty = true;
        return STORE_ERR_FLASH;
    }
    s->tail = at;
    struct store_entry *e = find(s, key);
    if (!e)
        e = &s->entry[s->entries++];
    *e = (struct store_entry){
        .key = key, .len = (uint16_t)len, .seq = r.seq, .offset = at - record_size(s, r.len)};
    return STORE_OK;
}

enum store_err store_format(struct store *s)
{
    struct hal_flash_info fi;
    if (!hal_flash_info(&fi))
        return STORE_ERR_FLASH;
    for (uint32_t k = 0; k < fi.sectors; k++)
        if (!hal_flash_erase(k))
            return STORE_ERR_FLASH;
    return store_open(s);
}

uint32_t store_crc32(const uint8_t *p, size_t n)
{
    return crc32_update(0, p, n);
}
