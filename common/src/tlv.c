#include "hawiya/tlv.h"

#include <string.h>

const char *tlv_err_str(enum tlv_err e)
{
    switch (e) {
    case TLV_OK: return "TLV_OK";
    case TLV_ERR_END: return "TLV_ERR_END";
    case TLV_ERR_TRUNCATED: return "TLV_ERR_TRUNCATED";
    case TLV_ERR_BAD_TAG: return "TLV_ERR_BAD_TAG";
    case TLV_ERR_TAG_TOO_LONG: return "TLV_ERR_TAG_TOO_LONG";
    case TLV_ERR_INDEFINITE_LENGTH: return "TLV_ERR_INDEFINITE_LENGTH";
    case TLV_ERR_BAD_LENGTH: return "TLV_ERR_BAD_LENGTH";
    case TLV_ERR_NON_MINIMAL_LENGTH: return "TLV_ERR_NON_MINIMAL_LENGTH";
    case TLV_ERR_VALUE_OVERRUN: return "TLV_ERR_VALUE_OVERRUN";
    case TLV_ERR_NOT_FOUND: return "TLV_ERR_NOT_FOUND";
    case TLV_ERR_NOT_CONSTRUCTED: return "TLV_ERR_NOT_CONSTRUCTED";
    case TLV_ERR_NO_SPACE: return "TLV_ERR_NO_SPACE";
    case TLV_ERR_VALUE_TOO_LONG: return "TLV_ERR_VALUE_TOO_LONG";
    }
    return "TLV_ERR_UNKNOWN";
}

/* X.690 8.1.2.4: bits b5-b1 all set in the first byte announce subsequent tag bytes. */
#define TAG_NUMBER_MASK 0x1Fu
#define TAG_CONSTRUCTED 0x20u
#define TAG_MORE        0x80u
#define TAG_MAX_BYTES   3u

/* A 84 length (up to 2^32 - 1) must fit a size_t: true on every target Hawiya builds for. */
_Static_assert(SIZE_MAX >= 0xFFFFFFFFu, "size_t narrower than 32 bits");

/* Lengths above 0xFFFFFFFF have no 7816-4 encoding; only a 64-bit size_t can hold one. */
static bool len_too_long(size_t len)
{
#if SIZE_MAX > 0xFFFFFFFFu
    return len > 0xFFFFFFFFu;
#else
    (void)len;
    return false;
#endif
}

static bool is_padding(uint8_t b)
{
    return b == 0x00 || b == 0xFF;
}

static enum tlv_err parse_tag(const uint8_t *buf, size_t len, uint32_t *tag, size_t *n)
{
    if (len == 0)
        return TLV_ERR_TRUNCATED;
    if (is_padding(buf[0]))
        return TLV_ERR_BAD_TAG;
    uint32_t t = buf[0];
    size_t i = 1;
    if ((buf[0] & TAG_NUMBER_MASK) == TAG_NUMBER_MASK) {
        for (;;) {
            if (i >= len)
                return TLV_ERR_TRUNCATED;
            if (i >= TAG_MAX_BYTES)
                return TLV_ERR_TAG_TOO_LONG;
            /* X.690 8.1.2.4.2 c: a leading 0x80 would be a non-minimal tag number. */
            if (i == 1 && buf[1] == 0x80)
                return TLV_ERR_BAD_TAG;
            t = t << 8 | buf[i];
            if (!(buf[i++] & TAG_MORE))
                break;
        }
    }
    *tag = t;
    *n = i;
    return TLV_OK;
}

static enum tlv_err parse_len(const uint8_t *buf, size_t len, unsigned flags, size_t *value_len,
                              size_t *n)
{
    if (len == 0)
        return TLV_ERR_TRUNCATED;
    uint8_t first = buf[0];
    if (first < 0x80) {
        *value_len = first;
        *n = 1;
        return TLV_OK;
    }
    /* 7816-4 uses neither the indefinite form nor more than 4 length bytes. */
    if (first == 0x80)
        return TLV_ERR_INDEFINITE_LENGTH;
    if (first > 0x84)
        return TLV_ERR_BAD_LENGTH;
    size_t k = first & 0x7Fu;
    if (len < 1 + k)
        return TLV_ERR_TRUNCATED;
    uint32_t v = 0;
    for (size_t i = 1; i <= k; i++)
        v = v << 8 | buf[i];
    /* Minimal means: the short form would not do, nor one length byte fewer. */
    if ((flags & TLV_STRICT) && (v < 0x80 || (k > 1 && (v >> (8 * (k - 1))) == 0)))
        return TLV_ERR_NON_MINIMAL_LENGTH;
    *value_len = (size_t)v;
    *n = 1 + k;
    return TLV_OK;
}

enum tlv_err tlv_parse(const uint8_t *buf, size_t len, unsigned flags, struct tlv *out)
{
    uint32_t tag;
    size_t tag_n, len_n, value_len;
    enum tlv_err e;

    memset(out, 0, sizeof *out);
    if (buf == NULL)
        len = 0;
    e = parse_tag(buf, len, &tag, &tag_n);
    if (e != TLV_OK)
        return e;
    e = parse_len(buf + tag_n, len - tag_n, flags, &value_len, &len_n);
    if (e != TLV_OK)
        return e;
    size_t hdr = tag_n + len_n;
    if (value_len > len - hdr)
        return TLV_ERR_VALUE_OVERRUN;
    out->tag = tag;
    out->constructed = (buf[0] & TAG_CONSTRUCTED) != 0;
    out->value = value_len ? buf + hdr : NULL;
    out->len = value_len;
    out->hdr_len = hdr;
    return TLV_OK;
}

void tlv_iter_init(struct tlv_iter *it, const uint8_t *buf, size_t len, unsigned flags)
{
    it->p = buf;
    it->left = buf ? len : 0;
    it->flags = flags;
}

enum tlv_err tlv_iter_next(struct tlv_iter *it, struct tlv *out)
{
    const uint8_t *p = it->p;
    size_t left = it->left;

    memset(out, 0, sizeof *out);
    if (it->flags & TLV_SKIP_PADDING) {
        while (left > 0 && is_padding(*p)) {
            p++;
            left--;
        }
    }
    if (left == 0) {
        it->p = p;
        it->left = 0;
        return TLV_ERR_END;
    }
    enum tlv_err e = tlv_parse(p, left, it->flags, out);
    if (e != TLV_OK)
        return e;
    size_t used = out->hdr_len + out->len;
    it->p = p + used;
    it->left = left - used;
    return TLV_OK;
}

enum tlv_err tlv_find_ex(const uint8_t *buf, size_t len, unsigned flags, uint32_t tag,
                         struct tlv *out)
{
    struct tlv_iter it;
    enum tlv_err e;

    tlv_iter_init(&it, buf, len, flags);
    while ((e = tlv_iter_next(&it, out)) == TLV_OK) {
        if (out->tag == tag)
            return TLV_OK;
    }
    memset(out, 0, sizeof *out);
    return e == TLV_ERR_END ? TLV_ERR_NOT_FOUND : e;
}

enum tlv_err tlv_find(const uint8_t *buf, size_t len, uint32_t tag, struct tlv *out)
{
    return tlv_find_ex(buf, len, 0, tag, out);
}

enum tlv_err tlv_find_path(const uint8_t *buf, size_t len, unsigned flags, const uint32_t *path,
                           size_t depth, struct tlv *out)
{
    memset(out, 0, sizeof *out);
    if (depth == 0)
        return TLV_ERR_NOT_FOUND;
    for (size_t i = 0; i < depth; i++) {
        enum tlv_err e = tlv_find_ex(buf, len, flags, path[i], out);
        if (e != TLV_OK)
            return e;
        if (i + 1 < depth) {
            if (!out->constructed) {
                memset(out, 0, sizeof *out);
                return TLV_ERR_NOT_CONSTRUCTED;
            }
            buf = out->value;
            len = out->len;
        }
    }
    return TLV_OK;
}

bool tlv_tag_valid(uint32_t tag)
{
    return tlv_tag_size(tag) != 0;
}

size_t tlv_tag_size(uint32_t tag)
{
    uint8_t b[TAG_MAX_BYTES];
    size_t n;

    if (tag == 0 || tag > 0xFFFFFFu)
        return 0;
    n = tag > 0xFFFFu ? 3 : tag > 0xFFu ? 2 : 1;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
    if (is_padding(b[0]))
        return 0;
    /* The first byte says whether subsequent bytes follow; each but the last has b8 set. */
    bool more = (b[0] & TAG_NUMBER_MASK) == TAG_NUMBER_MASK;
    if (n == 1)
        return more ? 0 : 1;
    if (!more || b[1] == 0x80)
        return 0;
    for (size_t i = 1; i < n; i++) {
        bool last = i == n - 1;
        if (((b[i] & TAG_MORE) != 0) == last)
            return 0;
    }
    return n;
}

size_t tlv_len_size(size_t len)
{
    if (len < 0x80)
        return 1;
    if (len <= 0xFF)
        return 2;
    if (len <= 0xFFFF)
        return 3;
    if (len <= 0xFFFFFF)
        return 4;
    return 5;
}

size_t tlv_header_size(uint32_t tag, size_t len)
{
    size_t t = tlv_tag_size(tag);
    if (t == 0 || len_too_long(len))
        return 0;
    return t + tlv_len_size(len);
}

enum tlv_err tlv_put_header(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, size_t len)
{
    size_t t = tlv_tag_size(tag);
    if (t == 0)
        return TLV_ERR_BAD_TAG;
    if (len_too_long(len))
        return TLV_ERR_VALUE_TOO_LONG;
    size_t l = tlv_len_size(len);
    if (*pos > cap || cap - *pos < t + l)
        return TLV_ERR_NO_SPACE;
    uint8_t *w = out + *pos;
    for (size_t i = 0; i < t; i++)
        *w++ = (uint8_t)(tag >> (8 * (t - 1 - i)));
    if (l == 1) {
        *w = (uint8_t)len;
    } else {
        *w++ = (uint8_t)(0x80u + (l - 1));
        for (size_t i = 0; i < l - 1; i++)
            *w++ = (uint8_t)((uint64_t)len >> (8 * (l - 2 - i)));
    }
    *pos += t + l;
    return TLV_OK;
}

enum tlv_err tlv_put(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, const uint8_t *value,
                     size_t len)
{
    size_t h = tlv_header_size(tag, len);
    if (h == 0)
        return tlv_tag_size(tag) == 0 ? TLV_ERR_BAD_TAG : TLV_ERR_VALUE_TOO_LONG;
    if (*pos > cap || cap - *pos < h || cap - *pos - h < len)
        return TLV_ERR_NO_SPACE;
    enum tlv_err e = tlv_put_header(out, cap, pos, tag, len);
    if (e != TLV_OK)
        return e;
    if (len)
        memmove(out + *pos, value, len);
    *pos += len;
    return TLV_OK;
}
