/*
 * pcsc_diag: why a PC/SC reader does not work, in the words `diagnose`
 * gives an administrator (docs/bridge-protocol.md, problem codes):
 *
 *   PCSCD_NOT_RUNNING    nothing listens on pcscd's socket
 *   PCSCD_ACCESS_DENIED  pcscd takes the connection and closes it unserved:
 *                        what it does when polkit's
 *                        org.debian.pcsc-lite.access_pcsc refuses the user.
 *                        libpcsclite then says SCARD_W_SECURITY_VIOLATION or,
 *                        when the close wins the race with its first write,
 *                        SCARD_E_NO_SERVICE, so the socket itself is asked
 *                        (pcsc_diag_service).
 *   READER_WITHOUT_DRIVER a USB smart-card reader (an interface of class 0x0B,
 *                        CCID) whose VID:PID the CCID driver's Info.plist does
 *                        not list: pcscd loads no driver for it
 *   PN533_HOLDS_READER   the kernel's pn533_usb driver is bound to a
 *                        contactless reader (an ACR122U, say): pcscd cannot
 *                        claim it until that driver is blacklisted
 *
 * It reads USB devices from sysfs (bus/usb/devices, bus/usb/drivers) and
 * libccid's Info.plist; both places can be moved for tests
 * (HAWIYA_SYSFS_ROOT, HAWIYA_CCID_INFO_PLIST). Info.plist is parsed as
 * untrusted text (pcsc_diag_plist_ids, fuzzed).
 */
#ifndef HAWIYA_BRIDGE_PCSC_DIAG_H
#define HAWIYA_BRIDGE_PCSC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <PCSC/wintypes.h>

#include "backend.h"

struct pcsc_diag {
    char sysfs[256];
    char plist[256];
};

/* Where to look: /sys and libccid's Info.plist, or the environment's. */
void pcsc_diag_init(struct pcsc_diag *d);

struct pcsc_usb_id {
    uint16_t vendor, product;
};

/*
 * The VID:PID pairs of an Info.plist text (ifdVendorID and ifdProductID
 * arrays of "0xVVVV" strings, paired by position) into out[0..cap); the
 * count, or -1 when the text has no such pair of arrays or they differ in
 * length.
 */
long pcsc_diag_plist_ids(const char *text, size_t len, struct pcsc_usb_id *out, size_t cap);

/* What pcscd's failure to answer means. */
enum pcsc_service {
    PCSC_SERVICE_UP,
    PCSC_SERVICE_NOT_RUNNING, /* no socket, or no one accepts on it */
    PCSC_SERVICE_REFUSED,     /* it accepts and closes: access refused */
    PCSC_SERVICE_ERROR,       /* another failure, named by its code */
};

/* From libpcsclite's answer to SCardEstablishContext (or a later call) and
 * a look at the socket it uses (PCSCLITE_CSOCK_NAME, else pcscd's own). */
enum pcsc_service pcsc_diag_service(LONG rv);

/* Adds the problems found, given pcscd's state and last answer. */
void pcsc_diag_report(const struct pcsc_diag *d, enum pcsc_service service, LONG rv,
                      bridge_problem_fn add, void *ctx);

#endif
