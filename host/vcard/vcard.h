/*
 * vcard: the APDU-level core of the virtual eID card (hawiya-vcard). It
 * takes one command APDU (ISO/IEC 7816-4 §5.1) and gives the response APDU
 * and the simulated processing time; the character level (ATR, PPS, T=0 /
 * T=1 card role) lives elsewhere and calls vcard_apdu() per command.
 *
 * Dispatch: the class byte is checked (§5.4.1: interindustry classes only;
 * no logical channels, no command chaining), SELECT by DF name (P1 = 04) of
 * a registered applet's AID makes that applet current, every other command
 * goes to the current applet first and, when the applet passes it on, to
 * the file system (vfs: SELECT, READ BINARY) and GET CHALLENGE (§7.5.3).
 * Applets plug in through struct vcard_applet, so the ICAO applet (BAC,
 * PACE, secure messaging, Active Authentication) adds itself without
 * changing this dispatcher; under secure messaging it unwraps the command
 * and calls vcard_fs_command() with VFS_SEC_SM.
 *
 * No I/O, no globals: all state is in struct vcard; randomness comes from
 * the caller's callback.
 */
#ifndef HAWIYA_VCARD_H
#define HAWIYA_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"
#include "persona.h"
#include "vfs.h"

#define VCARD_MAX_APPLETS   4
#define VCARD_CHALLENGE_MAX 8 /* GET CHALLENGE for BAC returns 8 bytes (9303-11 §4.3.4.1) */

enum vcard_err {
    VCARD_OK = 0,       /* a response APDU was produced (whatever its status word) */
    VCARD_ERR_ARGS,     /* NULL pointer, or the card was not initialised */
    VCARD_ERR_BUFFER,   /* the response buffer cannot hold even SW1-SW2 */
    VCARD_ERR_PERSONA,  /* the persona's files do not make a file system */
    VCARD_ERR_TOO_MANY, /* more than VCARD_MAX_APPLETS applets */
};

const char *vcard_err_str(enum vcard_err e);

/* Fills out[0..n); returns 0 on success. */
typedef int (*vcard_rng_fn)(void *ctx, uint8_t *out, size_t n);

struct vcard;

/* What an applet did with a command. */
enum vcard_applet_result {
    VCARD_APPLET_PASS, /* not mine: let the file system / base commands handle it */
    VCARD_APPLET_DONE, /* *rlen bytes of response data written, *sw set */
};

/*
 * struct vcard_applet.flags: a card-level applet sees every command, whether
 * its AID is selected or not, before the dispatcher's own SELECT by DF name,
 * and is reset only at card reset, not when another application is
 * selected. The ICAO applet is one: PACE runs at the MF level before the
 * eMRTD application is selected (ICAO 9303-11 §4.2, §4.4), and its secure
 * messaging session spans the whole card.
 */
#define VCARD_APPLET_CARD_LEVEL 1u

/*
 * An applet: its AID and two functions. process() sees every command while
 * the applet is selected (except the SELECT by DF name that switches
 * applets); it writes at most `cap` response data bytes. reset() is called
 * when the applet is deselected and at every card reset: it must wipe the
 * applet's secrets.
 */
struct vcard_applet {
    const char *name;
    uint8_t aid[VFS_AID_MAX];
    size_t aid_len;
    unsigned flags; /* VCARD_APPLET_* */
    enum vcard_applet_result (*process)(struct vcard *c, void *ctx, const struct apdu *a,
                                        uint8_t *out, size_t cap, size_t *rlen, uint16_t *sw);
    void (*reset)(struct vcard *c, void *ctx);
};

struct vcard {
    const struct persona *persona;
    struct vfs vfs;
    vcard_rng_fn rng;
    void *rng_ctx;
    struct {
        const struct vcard_applet *desc;
        void *ctx;
    } applets[VCARD_MAX_APPLETS];
    size_t n_applets;
    int current_applet; /* -1: none */
    /* Security state, cleared at reset: the last GET CHALLENGE (the BAC RND.IC). */
    uint8_t challenge[VCARD_CHALLENGE_MAX];
    size_t challenge_len;
    bool ready;
};

/*
 * Builds the card from `p` (which must outlive the card; its file data is
 * not copied) and resets it. `rng` may be NULL: GET CHALLENGE then answers
 * 6985.
 */
enum vcard_err vcard_init(struct vcard *c, const struct persona *p, vcard_rng_fn rng,
                          void *rng_ctx);

/* Adds an applet (the descriptor and ctx must outlive the card). */
enum vcard_err vcard_register_applet(struct vcard *c, const struct vcard_applet *desc, void *ctx);

/*
 * A card reset (cold or warm, 7816-3 §6.2): the MF is the current DF, no
 * applet is selected, every applet is reset and the security state wiped.
 */
void vcard_reset(struct vcard *c);

/*
 * Processes the command APDU cmd[0..n) and writes the response APDU (data,
 * SW1, SW2) to resp[0..cap); *rlen is its length, always 2..cap on
 * VCARD_OK. A malformed command gets 6700 (or the status word of §5.6 that
 * fits), never an error return. *card_time_us (may be NULL) is the
 * persona's processing time for this command class.
 */
enum vcard_err vcard_apdu(struct vcard *c, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                          size_t *rlen, uint32_t *card_time_us);

/*
 * The base commands (SELECT, READ BINARY, GET CHALLENGE) on a decoded
 * command, with the security state `sec` (VFS_SEC_*): what applets call
 * after unwrapping secure messaging. Writes at most `cap` data bytes.
 */
uint16_t vcard_fs_command(struct vcard *c, const struct apdu *a, unsigned sec, uint8_t *out,
                          size_t cap, size_t *rlen);

/* The largest response data field the card sends: min(persona max Ne, cap - 2). */
size_t vcard_max_response_data(const struct vcard *c, size_t cap);

#endif
