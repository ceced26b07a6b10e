/*
 * session: the reader's part of one authentication (../shared/DESIGN.md,
 * "Flow of one authentication"), driven by the host through the escape
 * commands of hawiya/reader_escape.h. It cold-resets the card, runs the
 * eMRTD inspection of common/emrtd over the slot, then attests the result
 * with the device key (hawiya/assertion.h) and resets the card again, so no
 * card session outlives the request. The card may be in the contact slot
 * or in the RF field (ccid_device's two slots): the inspection sees APDUs
 * either way. Secrets (CAN, MRZ information, session
 * keys) are wiped at the end, on abort and on every failure.
 *
 * The files go to the host as they are read, a chunk at a time in the step
 * reports (RESC_T_FILE_PART; a step whose reports fill up answers
 * RESC_STATUS_MORE and goes on at the next AUTH_NEXT), and into the hash
 * the reader signs (assertion_tbs_*): the reader never holds EF.SOD or a
 * data group whole, only DG1 and the SecurityInfos it needs itself.
 */
#ifndef HAWIYA_FW_SESSION_H
#define HAWIYA_FW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"
#include "ccid_device.h"
#include "hawiya/ecp_groups.h"
#include "hawiya/emrtd.h"

#define SESSION_ORIGIN_MAX 512
#define SESSION_CMD_MAX    700
/* The most file bytes one READ BINARY brings: a step report passes them on
 * in one CCID message (CCID_DEVICE_MAX_MESSAGE). */
#define SESSION_READ_MAX 1024u
_Static_assert(SESSION_READ_MAX <= EMRTD_READ_MAX, "the inspection unwraps a whole read");
/* One response APDU: a READ BINARY of SESSION_READ_MAX bytes under secure
 * messaging (padding, DO'87', DO'99', DO'8E', SW), or a signature. */
#define SESSION_RESP_MAX (SESSION_READ_MAX + 64)

struct session {
    struct attest attest;
    /* PACE's and CA's curves with mbedTLS's table of G, kept between cards. */
    struct ecp_groups groups;
    bool active;
    struct emrtd em;
    uint8_t challenge[ASSERTION_CHALLENGE_MAX];
    size_t challenge_len;
    uint8_t origin[SESSION_ORIGIN_MAX];
    size_t origin_len;
    uint8_t can[16];
    size_t can_len;
    char mrz[64];
    size_t mrz_len;
    bool no_ca;
    uint8_t iface;         /* RESC_IF_*: the slot this session's card is in */
    unsigned apdus;        /* exchanged with the card in this session */
    uint8_t trace[4 * 64]; /* CLA INS P1 P2 of the step's commands */
    size_t trace_len;
    /* the step under way, across AUTH_NEXT calls answered RESC_STATUS_MORE */
    bool in_step;
    enum emrtd_phase step_phase;
    struct {
        uint64_t now, line, cpu, instructions, chars;
        unsigned apdus;
    } step_marks;
    /* the to-be-signed bytes, hashed as the files stream past */
    struct assertion_tbs tbs;
    bool tbs_open;
    enum emrtd_file_id next_file; /* the first file whose field is not hashed yet */
    uint8_t cmd[SESSION_CMD_MAX];
    size_t cmd_len;
    uint8_t resp[SESSION_RESP_MAX];
};

/* Loads or makes the device key; the escape handler for ccid_device. */
void session_init(struct session *s);
/*
 * mbedTLS builds a group's table of multiples of G (the fixed-point comb) at
 * its first x.G and keeps it in the group. A board calls this once at
 * start-up, after session_init, so that the first card after power-up does
 * not wait for it: for the curves of the national cards (PACE on P-256, Chip
 * Authentication on brainpoolP256r1; hawiya/ecp_groups.h keeps them) and for
 * the device key's (its signature's k.G). On the microcontroller that is
 * 0.3 s of start-up, once. (Tests and fuzz targets, which make a session per
 * case, leave it out.)
 */
void session_build_tables(struct session *s);
int session_escape(void *ctx, struct ccid_device *d, const uint8_t *in, size_t n, uint8_t *out,
                   size_t cap, size_t *out_len);
/* ccid_device's host_gone: the session of a host that went away ends, wiped. */
void session_host_gone(void *ctx, struct ccid_device *d);

#endif
