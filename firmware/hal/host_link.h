/*
 * hal/host_link: the reader's link to the host, carrying USB CCID 1.1
 * messages (§6): bulk-OUT PC_to_RDR messages in, bulk-IN RDR_to_PC messages
 * and interrupt-IN notifications out. A real board has a USB device
 * controller; the sim board a stream socket that carries the same bytes.
 */
#ifndef HAWIYA_HAL_HOST_LINK_H
#define HAWIYA_HAL_HOST_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum host_rx {
    HOST_RX_OK = 0,
    HOST_RX_IDLE,   /* nothing from the host yet; poll again */
    HOST_RX_CLOSED, /* the host went away (USB reset, socket closed) */
};

/* True while a host is attached (USB configured; a socket client connected). */
bool hal_host_connected(void);
/* Hosts attached since start (USB: each configuration after a bus reset;
 * the sim board: each connection accepted). When it changes, the host the
 * firmware was serving is gone, even if the firmware never saw it leave. */
uint32_t hal_host_attachments(void);

/* Returns up to `cap` bytes the host sent (a CCID message may arrive in pieces). */
enum host_rx hal_host_recv(uint8_t *buf, size_t cap, size_t *n);
/* Sends one bulk-IN message. */
void hal_host_send(const uint8_t *msg, size_t n);
/* Sends one interrupt-IN message (RDR_to_PC_NotifySlotChange, HardwareError). */
void hal_host_notify(const uint8_t *msg, size_t n);

#endif
