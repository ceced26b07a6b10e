/*
 * libFuzzer target: BER-TLV parsing, recursive down to a depth limit.
 * Checks that every object lies inside its buffer, that a strictly parsed
 * tag and length re-encode to exactly the header that was read (so canonical
 * input re-encodes byte-identically), that lenient parsing accepts whatever
 * strict parsing accepts, and that tlv_find agrees with iteration.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH 8

static uint8_t reencoded[4096 + 64];

/* Walks buf; with `pos` set (and TLV_STRICT) re-encodes into `reencoded`. False on a parse error.
 */
static bool walk(const uint8_t *buf, size_t len, unsigned flags, int depth, size_t *pos)
{
    struct tlv_iter it;
    struct tlv t;
    enum tlv_err e;
    size_t consumed_before = 0;

    tlv_iter_init(&it, buf, len, flags);
    while ((e = tlv_iter_next(&it, &t)) == TLV_OK) {
        if (!tlv_tag_valid(t.tag))
            __builtin_trap();
        if (t.hdr_len < 2 || t.hdr_len > 8 || t.len > len || t.hdr_len + t.len > len)
            __builtin_trap();
        if (t.len && (t.value < buf || t.value + t.len > buf + len))
            __builtin_trap();
        if (t.len == 0 && t.value != NULL)
            __builtin_trap();
        /* The iterator moved exactly past this object (plus any padding before it). */
        size_t consumed = len - it.left;
        if (consumed < consumed_before + t.hdr_len + t.len)
            __builtin_trap();
        if (!(flags & TLV_SKIP_PADDING) && consumed != consumed_before + t.hdr_len + t.len)
            __builtin_trap();
        consumed_before = consumed;

        /* Lenient parsing accepts the same object. */
        struct tlv l;
        const uint8_t *start = it.p - t.len - t.hdr_len;
        if (tlv_parse(start, t.hdr_len + t.len, flags & ~(unsigned)TLV_STRICT, &l) != TLV_OK ||
            l.tag != t.tag || l.len != t.len || l.hdr_len != t.hdr_len || l.value != t.value)
            __builtin_trap();

        if (flags & TLV_STRICT) {
            if (tlv_header_size(t.tag, t.len) != t.hdr_len)
                __builtin_trap();
            if (pos) {
                size_t before = *pos;
                if (tlv_put_header(reencoded, sizeof reencoded, pos, t.tag, t.len) != TLV_OK)
                    __builtin_trap();
                if (*pos - before != t.hdr_len || memcmp(reencoded + before, start, t.hdr_len))
                    __builtin_trap();
            }
        }
        bool opaque = true;
        if (t.constructed && depth < MAX_DEPTH) {
            size_t save = pos ? *pos : 0;
            if (walk(t.value, t.len, flags, depth + 1, pos))
                opaque = false;
            else if (pos)
                *pos = save;
        }
        if (opaque && pos) {
            if (t.len)
                memcpy(reencoded + *pos, t.value, t.len);
            *pos += t.len;
        }
    }
    return e == TLV_ERR_END;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;

    walk(data, size, 0, 0, NULL);
    walk(data, size, TLV_SKIP_PADDING, 0, NULL);
    walk(data, size, TLV_SKIP_PADDING | TLV_STRICT, 0, NULL);

    /* Canonical input (strict, no padding) re-encodes byte-identically. */
    size_t pos = 0;
    if (walk(data, size, TLV_STRICT, 0, &pos)) {
        if (pos != size || memcmp(reencoded, data, size) != 0)
            __builtin_trap();
    }

    /* tlv_find returns the first top-level object with the tag of the first object. */
    struct tlv first, found;
    if (tlv_parse(data, size, 0, &first) == TLV_OK) {
        if (tlv_find(data, size, first.tag, &found) != TLV_OK || found.value != first.value ||
            found.len != first.len)
            __builtin_trap();
        uint32_t path[2] = {first.tag, 0};
        struct tlv inner;
        if (first.constructed && tlv_parse(first.value, first.len, 0, &inner) == TLV_OK) {
            path[1] = inner.tag;
            if (tlv_find_path(data, size, 0, path, 2, &found) != TLV_OK ||
                found.value != inner.value || found.len != inner.len)
                __builtin_trap();
        }
    }
    return 0;
}
