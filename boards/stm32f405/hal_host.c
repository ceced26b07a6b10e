/*
 * hal/host_link on this board: CCID messages on USART1 in the framing of
 * hawiya/serial_frame.h, where a product would have USB. The host attaches
 * with HELLO (the board answers HELLO) and detaches with BYE; a HELLO while
 * attached is a new host, so the device first sees the old one go, as after
 * a USB reset. One PC_to_RDR message per BULK_OUT frame; a frame that fails
 * its checks is dropped, which the host sees as a lost request (see the
 * header of serial_frame.h for how each side recovers).
 */
#include "board.h"
#include "ccid_device.h"
#include "hal/host_link.h"
#include "hawiya/serial_frame.h"

static uint8_t frame[CCID_DEVICE_MAX_MESSAGE + SERIAL_FRAME_OVERHEAD];
static struct serial_frame_rx rx;
static uint8_t tx_seq;
static bool attached, detach_pending;
static uint32_t attachments;
/* The payload of the last BULK_OUT frame, not yet taken by the device. */
static const uint8_t *pending;
static size_t pending_len, pending_off;

void board_host_init(void)
{
    serial_frame_rx_init(&rx, frame, sizeof frame);
}

static void send_frame(uint8_t kind, const uint8_t *p, size_t n)
{
    uint8_t out[2 * 64];
    struct serial_frame_tx tx;
    size_t k = serial_frame_tx_begin(&tx, kind, tx_seq++, out);
    board_uart_write(BOARD_UART_HOST, out, k);
    while (n > 0) {
        size_t part = n < 64 ? n : 64;
        k = serial_frame_tx_data(&tx, p, part, out);
        board_uart_write(BOARD_UART_HOST, out, k);
        p += part;
        n -= part;
    }
    k = serial_frame_tx_end(&tx, out);
    board_uart_write(BOARD_UART_HOST, out, k);
}

/* Decodes what USART1 brought until a CCID message is waiting. */
static void pump(void)
{
    uint8_t b;
    while (!pending && !detach_pending && board_uart_read(BOARD_UART_HOST, &b, 1) == 1) {
        struct serial_frame f;
        enum serial_frame_err e = serial_frame_rx_byte(&rx, b, &f);
        if (e == SERIAL_FRAME_NONE)
            continue;
        if (e != SERIAL_FRAME_OK) {
            board_log(serial_frame_err_str(e));
            continue;
        }
        switch (f.kind) {
        case SERIAL_KIND_HELLO:
            if (attached)
                detach_pending = true;
            attached = true;
            attachments++;
            send_frame(SERIAL_KIND_HELLO, NULL, 0);
            break;
        case SERIAL_KIND_BYE:
            if (attached)
                detach_pending = true;
            attached = false;
            break;
        case SERIAL_KIND_BULK_OUT:
            if (attached) {
                pending = f.payload;
                pending_len = f.len;
                pending_off = 0;
            }
            break;
        default: break; /* the reader's own kinds never come from the host */
        }
    }
}

uint32_t hal_host_attachments(void)
{
    pump();
    return attachments;
}

bool hal_host_connected(void)
{
    pump();
    return attached && !detach_pending;
}

enum host_rx hal_host_recv(uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    pump();
    if (detach_pending) {
        detach_pending = false;
        pending = NULL;
        return HOST_RX_CLOSED;
    }
    if (!pending)
        return HOST_RX_IDLE;
    size_t k = pending_len - pending_off < cap ? pending_len - pending_off : cap;
    for (size_t i = 0; i < k; i++)
        buf[i] = pending[pending_off + i];
    pending_off += k;
    *n = k;
    if (pending_off == pending_len)
        pending = NULL;
    return HOST_RX_OK;
}

void hal_host_send(const uint8_t *msg, size_t n)
{
    if (attached)
        send_frame(SERIAL_KIND_BULK_IN, msg, n);
}

void hal_host_notify(const uint8_t *msg, size_t n)
{
    if (attached)
        send_frame(SERIAL_KIND_INTERRUPT, msg, n);
}
