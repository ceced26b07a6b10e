/*
 * libFuzzer target: atr_parse on arbitrary bytes, one shot and fed byte by
 * byte the way a reader does, checking that the INCOMPLETE / needed answers
 * agree with the one-shot parse, and the historical-bytes decoder's spans.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/atr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_struct(const struct atr *a, size_t size)
{
    if (a->len > ATR_MAX_LEN || a->len > size || a->levels > ATR_MAX_LEVELS ||
        a->hist_len > a->hist_k || a->hist_k > ATR_MAX_HIST)
        __builtin_trap();
    const struct atr_hist *h = &a->hist_decoded;
    for (unsigned t = 0; t < 16; t++)
        if ((h->tags & (1u << t)) && (size_t)h->obj[t].off + h->obj[t].len > a->hist_len)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct atr a, b;
    size_t needed = 0;
    enum atr_err e = atr_parse(data, size, &a, &needed);

    if ((e == ATR_ERR_INCOMPLETE) != (needed != 0))
        __builtin_trap();
    check_struct(&a, size);

    /* Byte by byte: the first final answer decides every longer input. */
    size_t limit = size < 40 ? size : 40;
    enum atr_err first = ATR_ERR_INCOMPLETE;
    size_t first_at = 0, wait_until = 0;
    for (size_t k = 0; k <= limit; k++) {
        size_t nk = 0;
        enum atr_err ek = atr_parse(data, k, &b, &nk);
        if (first == ATR_ERR_INCOMPLETE) {
            if (ek == ATR_ERR_INCOMPLETE) {
                if (nk == 0)
                    __builtin_trap();
                wait_until = k + nk;
                continue;
            }
            /* Promised to need more bytes, then complete early. */
            if (k < wait_until && (ek == ATR_OK || ek == ATR_ERR_TRAILING_BYTES))
                __builtin_trap();
            first = ek;
            first_at = k;
            continue;
        }
        if (first == ATR_OK || first == ATR_ERR_TRAILING_BYTES) {
            if (ek != ATR_ERR_TRAILING_BYTES)
                __builtin_trap();
        } else if (ek != first) {
            __builtin_trap();
        }
    }
    if (size <= limit && first == ATR_ERR_INCOMPLETE && e != ATR_ERR_INCOMPLETE)
        __builtin_trap();

    if (e == ATR_OK || e == ATR_ERR_TRAILING_BYTES) {
        /* The stored raw bytes alone parse to the very same result. */
        struct atr c;
        if (atr_parse(a.raw, a.len, &c, NULL) != ATR_OK)
            __builtin_trap();
        if (e == ATR_OK && memcmp(&a, &c, sizeof a) != 0)
            __builtin_trap();
        if (first_at != 0 && first_at != a.len)
            __builtin_trap();
    }

    if (size >= 1 && atr_inverse_byte(atr_inverse_byte(data[0])) != data[0])
        __builtin_trap();

    struct atr_hist h;
    size_t hn = size < 15 ? size : 15;
    atr_hist_decode(data, hn, &h);
    for (unsigned t = 0; t < 16; t++)
        if ((h.tags & (1u << t)) && (size_t)h.obj[t].off + h.obj[t].len > hn)
            __builtin_trap();
    return 0;
}
