/*
 * xfr: where a streamed APDU exchange stands, for a reader that holds only
 * a window of an APDU (the CCID device's APDU chaining, CCID 1.1 §6.1.4):
 * the command comes in parts, the response leaves in windows. The contact
 * slot (slot_xfr_*, T=1 chaining) and the contactless one (cl_slot_xfr_*,
 * ISO-DEP chaining) answer each call with one of these.
 */
#ifndef HAWIYA_FW_XFR_H
#define HAWIYA_FW_XFR_H

#include <stddef.h>

enum xfr_state {
    XFR_NEED_COMMAND, /* the next part of the command */
    XFR_WINDOW,       /* win[0..len) is a part of the response, more follows */
    XFR_DONE,         /* win[0..len) is the last part of the response */
};

struct xfr {
    enum xfr_state state;
    size_t len;
};

#endif
