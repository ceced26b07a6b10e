/*
 * libFuzzer target: the CCID codec in both directions. The first input byte
 * picks the maximum message length and the interrupt-IN slot count; the rest
 * is a byte stream cut into messages by ccid_frame. Every accepted bulk
 * message must re-encode byte-identically (and its re-encoding decode to the
 * same fields); interrupt-IN messages and class descriptors likewise.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/ccid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[CCID_MAX_MESSAGE_SIZE];

static void check_bulk(const uint8_t *msg, size_t n, size_t max_msg_len)
{
    struct ccid_msg m, again;
    size_t bad = 0, len = 0;

    enum ccid_err e = ccid_decode(msg, n, max_msg_len, &m, &bad);
    if (e != CCID_OK) {
        /* Offsets point inside the message (or at its end when truncated). */
        if (bad > n || (e == CCID_ERR_UNKNOWN_TYPE && bad != 0))
            __builtin_trap();
        return;
    }
    if (bad != 0 || m.len != n - CCID_HEADER_SIZE || (m.len && m.data != msg + CCID_HEADER_SIZE))
        __builtin_trap();
    if (ccid_is_pc_to_rdr(m.type) == ccid_is_rdr_to_pc(m.type))
        __builtin_trap();
    if (ccid_encode(&m, out, sizeof out, &len) != CCID_OK || len != n || memcmp(out, msg, n))
        __builtin_trap();
    if (ccid_decode(out, len, max_msg_len, &again, NULL) != CCID_OK || again.type != m.type ||
        again.slot != m.slot || again.seq != m.seq || again.len != m.len ||
        memcmp(&again.params, &m.params, sizeof m.params) != 0 || again.status != m.status ||
        again.error != m.error || again.level_parameter != m.level_parameter)
        __builtin_trap();
    /* One byte short never decodes. */
    if (ccid_decode(msg, n - 1, max_msg_len, &again, NULL) == CCID_OK)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_msg_len = data[0] & 0x80 ? CCID_MAX_MESSAGE_SIZE : 271;
    uint8_t max_slot_index = data[0] & 0x07;
    data++;
    size--;

    /* Whole input as one interrupt-IN message and as a class descriptor. */
    struct ccid_interrupt it;
    size_t n;
    if (ccid_decode_interrupt(data, size, max_slot_index, &it) == CCID_OK) {
        if (ccid_encode_interrupt(&it, out, sizeof out, &n) != CCID_OK || n != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
    }
    struct ccid_descriptor d;
    if (ccid_decode_descriptor(data, size, &d) == CCID_OK) {
        if (ccid_encode_descriptor(&d, out, sizeof out, &n) != CCID_OK || n != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
    }

    /* The input as a stream of bulk messages. */
    size_t pos = 0;
    while (pos < size) {
        enum ccid_err e = ccid_frame(data + pos, size - pos, max_msg_len, &n);
        if (e == CCID_ERR_NEED_MORE) {
            if (n == 0 || size - pos + n > max_msg_len)
                __builtin_trap();
            /* What is there is a truncated message. */
            struct ccid_msg m;
            if (ccid_decode(data + pos, size - pos, max_msg_len, &m, NULL) == CCID_OK)
                __builtin_trap();
            break;
        }
        if (e != CCID_OK) {
            if (e != CCID_ERR_TOO_LONG || n != 0)
                __builtin_trap();
            break;
        }
        if (n < CCID_HEADER_SIZE || n > size - pos || n > max_msg_len)
            __builtin_trap();
        check_bulk(data + pos, n, max_msg_len);
        pos += n;
    }
    return 0;
}
