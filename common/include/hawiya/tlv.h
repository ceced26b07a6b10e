/*
 * tlv: BER-TLV data objects as smart cards use them: ISO/IEC 7816-4
 * "BER-TLV data objects" (5.2.2 in the 2005 edition, Annex D in 1995), with
 * the tag and length rules of ITU-T X.690 8.1.2 and 8.1.3.
 *
 * Parsing never copies: an object is {tag, constructed, pointer to its value
 * inside the caller's buffer, value length, header length}. A constructed
 * object's value is itself a sequence of objects: iterate it with
 * tlv_iter_init(it, obj.value, obj.len, flags).
 *
 * Tags are held as their encoded bytes, big-endian, as the standards write
 * them: 0x7C, 0x5F1F, 0x7F49, 0x5F2E. Accepted tags are 1 to 3 bytes long;
 * the first subsequent byte may not be 0x80 (a non-minimal tag number,
 * X.690 8.1.2.4.2 c). Subsequent bytes 0x00-0x1E are accepted although
 * 7816-4 calls them invalid, because ICAO 9303-10 DG11/DG12 use 5F0E-5F1D.
 * A first tag byte of 0x00 or 0xFF is invalid (7816-4 uses neither); see
 * TLV_SKIP_PADDING.
 *
 * Lengths are definite: short form 0x00-0x7F or long form 0x81-0x84 followed
 * by 1-4 big-endian bytes. The indefinite form 0x80 and 0x85-0xFF are
 * rejected. The encoder always writes the minimal form.
 */
#ifndef HAWIYA_TLV_H
#define HAWIYA_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tlv_err {
    TLV_OK = 0,
    TLV_ERR_END,                /* no more objects in the buffer (iterator only) */
    TLV_ERR_TRUNCATED,          /* the tag or length field runs past the buffer */
    TLV_ERR_BAD_TAG,            /* tag 0x00/0xFF, or a subsequent tag byte 0x80 first */
    TLV_ERR_TAG_TOO_LONG,       /* a tag of more than 3 bytes */
    TLV_ERR_INDEFINITE_LENGTH,  /* length byte 0x80 */
    TLV_ERR_BAD_LENGTH,         /* length byte 0x85-0xFF */
    TLV_ERR_NON_MINIMAL_LENGTH, /* long form where a shorter one fits (TLV_STRICT) */
    TLV_ERR_VALUE_OVERRUN,      /* the value runs past the buffer */
    TLV_ERR_NOT_FOUND,          /* tlv_find*: no object with this tag */
    TLV_ERR_NOT_CONSTRUCTED,    /* tlv_find_path: a path step is a primitive object */
    TLV_ERR_NO_SPACE,           /* encoder: the output buffer is too small */
    TLV_ERR_VALUE_TOO_LONG,     /* encoder: a length above 0xFFFFFFFF */
};

const char *tlv_err_str(enum tlv_err e);

/* Parser options, OR-ed together. */
enum tlv_flags {
    /*
     * Reject long-form lengths that a shorter form could carry (81 05,
     * 82 00 80...), as DER and ICAO 9303 require. Without it they are
     * accepted: several card operating systems always write 81 xx.
     */
    TLV_STRICT = 1u << 0,
    /*
     * Skip 0x00 and 0xFF bytes before, between and after objects: a 7816-4
     * note allows them there ("e.g. due to erased or modified TLV-coded data
     * objects" in a record or a transparent file). They are never skipped
     * inside a tag or length field, and a value is never scanned for them.
     * Without the flag such a byte where a tag should start is TLV_ERR_BAD_TAG.
     */
    TLV_SKIP_PADDING = 1u << 1,
};

struct tlv {
    uint32_t tag;         /* encoded tag bytes, big-endian: 0x7F49 */
    bool constructed;     /* bit b6 of the first tag byte */
    const uint8_t *value; /* points into the parsed buffer; NULL only if len == 0 */
    size_t len;           /* value length */
    size_t hdr_len;       /* tag + length field bytes: the object is hdr_len + len long */
};

struct tlv_iter {
    const uint8_t *p;
    size_t left;
    unsigned flags;
};

/*
 * Parses the one object that starts at buf[0] (no padding is skipped).
 * On error *out is zeroed.
 */
enum tlv_err tlv_parse(const uint8_t *buf, size_t len, unsigned flags, struct tlv *out);

void tlv_iter_init(struct tlv_iter *it, const uint8_t *buf, size_t len, unsigned flags);

/*
 * Yields the next object, or TLV_ERR_END once the buffer is used up. On any
 * error the iterator does not move, so it keeps returning that error.
 */
enum tlv_err tlv_iter_next(struct tlv_iter *it, struct tlv *out);

/*
 * First object with this tag at the top level of buf (flags 0: lenient
 * lengths, no padding). Objects before it must parse; what follows it is
 * not looked at.
 */
enum tlv_err tlv_find(const uint8_t *buf, size_t len, uint32_t tag, struct tlv *out);
enum tlv_err tlv_find_ex(const uint8_t *buf, size_t len, unsigned flags, uint32_t tag,
                         struct tlv *out);

/*
 * Follows a path of tags down nested constructed objects, e.g. {0x7C, 0x82}
 * for the dynamic authentication data of a PACE GENERAL AUTHENTICATE
 * response. Every step but the last must be constructed.
 */
enum tlv_err tlv_find_path(const uint8_t *buf, size_t len, unsigned flags, const uint32_t *path,
                           size_t depth, struct tlv *out);

/* True if `tag` is a tag this module accepts (1-3 bytes, rules above). */
bool tlv_tag_valid(uint32_t tag);

/* Bytes of the encoded tag (1-3), 0 if the tag is not valid. */
size_t tlv_tag_size(uint32_t tag);

/* Bytes of the minimal length field for `len` (1-5). */
size_t tlv_len_size(size_t len);

/* Bytes of tag + minimal length; 0 if the tag is invalid or len > 0xFFFFFFFF. */
size_t tlv_header_size(uint32_t tag, size_t len);

/*
 * Writes the tag and the minimal length field at out[*pos] and advances *pos.
 * Use it to open a constructed object whose content is written next. On
 * error nothing is written and *pos is unchanged.
 */
enum tlv_err tlv_put_header(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, size_t len);

/* Writes a whole object: header then `len` bytes of value (value may be NULL if len is 0). */
enum tlv_err tlv_put(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, const uint8_t *value,
                     size_t len);

#endif
