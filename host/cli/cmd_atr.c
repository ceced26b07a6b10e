/*
 * `hawiya atr HEX...` and `hawiya atr -`: decodes ATRs (ISO/IEC 7816-3
 * clause 8, historical bytes 7816-4 8.1.1) into one JSON object per line.
 * The keys are documented in docs/cli-atr.md.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "hawiya/atr.h"
#include "hawiya/pcsc_atr.h"
#include "hawiya/hex.h"

/* An ATR is at most 33 bytes; anything longer is reported, not decoded. */
#define LINE_MAX_CHARS 4096
#define BYTES_MAX      64
#define ECHO_MAX       128 /* characters of a non-hex input echoed back */

static void add_hex(cJSON *o, const char *key, const uint8_t *b, size_t n)
{
    char text[2 * BYTES_MAX + 1];
    if (n > BYTES_MAX)
        n = BYTES_MAX;
    hex_encode(b, n, text);
    cJSON_AddStringToObject(o, key, text);
}

/* Echoes input that is not hex, printable ASCII only so the line stays valid JSON. */
static void add_echo(cJSON *o, const char *text, size_t len)
{
    char echo[ECHO_MAX + 1];
    size_t m = len < ECHO_MAX ? len : ECHO_MAX;
    for (size_t i = 0; i < m; i++)
        echo[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    echo[m] = '\0';
    cJSON_AddStringToObject(o, "atr", echo);
}

static void add_byte(cJSON *o, const char *key, uint8_t b)
{
    add_hex(o, key, &b, 1);
}

static const char *hist_format_name(enum atr_hist_format f)
{
    switch (f) {
    case ATR_HIST_NONE: return "none";
    case ATR_HIST_COMPACT_STATUS: return "compact_tlv_status";
    case ATR_HIST_DIR_REF: return "dir_ref";
    case ATR_HIST_COMPACT_TLV: return "compact_tlv";
    case ATR_HIST_RFU: return "rfu";
    case ATR_HIST_PROPRIETARY: return "proprietary";
    }
    return "unknown";
}

static cJSON *hist_json(const struct atr *a)
{
    static const struct {
        enum atr_ctlv_tag tag;
        const char *name;
    } objs[] = {
        {ATR_CTLV_COUNTRY, "country"},
        {ATR_CTLV_ISSUER, "issuer"},
        {ATR_CTLV_AID, "aid"},
        {ATR_CTLV_SERVICE, "card_service_data"},
        {ATR_CTLV_INITIAL_ACCESS, "initial_access_data"},
        {ATR_CTLV_ISSUER_DATA, "card_issuer_data"},
        {ATR_CTLV_PRE_ISSUING, "pre_issuing_data"},
        {ATR_CTLV_CAPABILITIES, "card_capabilities"},
        {ATR_CTLV_STATUS, "status_indicator"},
    };
    const struct atr_hist *h = &a->hist_decoded;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "category", hist_format_name(h->format));
    if (h->format == ATR_HIST_DIR_REF && h->dir_ref_present)
        add_byte(o, "dir_ref", h->dir_ref);
    if (h->format == ATR_HIST_COMPACT_TLV || h->format == ATR_HIST_COMPACT_STATUS) {
        cJSON *objects = cJSON_AddObjectToObject(o, "objects");
        for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
            if (!(h->tags & (1u << objs[i].tag)))
                continue;
            const struct atr_span *s = &h->obj[objs[i].tag];
            add_hex(objects, objs[i].name, a->hist + s->off, s->len);
        }
        cJSON_AddBoolToObject(o, "extended_lc_le", h->extended_lc_le);
        cJSON_AddBoolToObject(o, "command_chaining", h->command_chaining);
        if (h->logical_channels)
            cJSON_AddNumberToObject(o, "logical_channels", h->logical_channels);
        else
            cJSON_AddNullToObject(o, "logical_channels");
        if (h->lcs_present)
            add_byte(o, "lcs", h->lcs);
        else
            cJSON_AddNullToObject(o, "lcs");
        if (h->sw_present) {
            uint8_t sw[2] = {(uint8_t)(h->sw >> 8), (uint8_t)h->sw};
            add_hex(o, "sw", sw, 2);
        } else {
            cJSON_AddNullToObject(o, "sw");
        }
    }
    if (h->err != ATR_OK)
        cJSON_AddStringToObject(o, "error", atr_err_str(h->err));
    return o;
}

static void add_rfu(cJSON *o, uint32_t rfu)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {ATR_RFU_FI, "Fi"},           {ATR_RFU_DI, "Di"},         {ATR_RFU_WI, "WI"},
        {ATR_RFU_BWI, "BWI"},         {ATR_RFU_TA2, "TA2"},       {ATR_RFU_EDC, "EDC"},
        {ATR_RFU_T_ORDER, "T_order"}, {ATR_RFU_T_TYPE, "T_type"}, {ATR_RFU_CLASS, "class"},
    };
    cJSON *arr = cJSON_AddArrayToObject(o, "rfu");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (rfu & names[i].bit)
            cJSON_AddItemToArray(arr, cJSON_CreateString(names[i].name));
}

static void add_fields(cJSON *o, const struct atr *a, enum atr_err err)
{
    cJSON_AddStringToObject(o, "convention",
                            a->convention == ATR_CONV_INVERSE ? "inverse" : "direct");
    cJSON *protos = cJSON_AddArrayToObject(o, "protocols");
    for (int t = 0; t < 15; t++)
        if (a->protocols & (1u << t))
            cJSON_AddItemToArray(protos, cJSON_CreateNumber(t));

    cJSON *levels = cJSON_AddArrayToObject(o, "interface");
    for (size_t i = 0; i < a->levels; i++) {
        const struct atr_iface *f = &a->iface[i];
        cJSON *l = cJSON_CreateObject();
        if (f->present & ATR_TA)
            add_byte(l, "TA", f->ta);
        if (f->present & ATR_TB)
            add_byte(l, "TB", f->tb);
        if (f->present & ATR_TC)
            add_byte(l, "TC", f->tc);
        if (f->present & ATR_TD)
            add_byte(l, "TD", f->td);
        cJSON_AddItemToArray(levels, l);
    }

    if (a->fi)
        cJSON_AddNumberToObject(o, "Fi", a->fi);
    else
        cJSON_AddNullToObject(o, "Fi");
    if (a->di)
        cJSON_AddNumberToObject(o, "Di", a->di);
    else
        cJSON_AddNullToObject(o, "Di");
    if (a->fmax_khz)
        cJSON_AddNumberToObject(o, "fmax_mhz", a->fmax_khz / 1000.0);
    else
        cJSON_AddNullToObject(o, "fmax_mhz");
    struct atr_fraction etu = atr_etu_clocks(a->fi, a->di);
    if (etu.den) {
        cJSON *e = cJSON_AddArrayToObject(o, "etu_clocks");
        cJSON_AddItemToArray(e, cJSON_CreateNumber(etu.num));
        cJSON_AddItemToArray(e, cJSON_CreateNumber(etu.den));
    } else {
        cJSON_AddNullToObject(o, "etu_clocks");
    }
    cJSON_AddNumberToObject(o, "N", a->n);
    cJSON_AddNumberToObject(o, "WI", a->wi);

    bool t1 = (a->protocols & (1u << 1)) != 0;
    if (t1) {
        cJSON_AddNumberToObject(o, "IFSC", a->ifsc);
        cJSON_AddNumberToObject(o, "BWI", a->bwi);
        cJSON_AddNumberToObject(o, "CWI", a->cwi);
        cJSON_AddStringToObject(o, "EDC", a->edc == ATR_EDC_CRC ? "crc" : "lrc");
    } else {
        cJSON_AddNullToObject(o, "IFSC");
        cJSON_AddNullToObject(o, "BWI");
        cJSON_AddNullToObject(o, "CWI");
        cJSON_AddNullToObject(o, "EDC");
    }

    if (a->specific_mode) {
        cJSON *s = cJSON_AddObjectToObject(o, "specific_mode");
        cJSON_AddNumberToObject(s, "protocol", a->specific_protocol);
        cJSON_AddBoolToObject(s, "implicit", a->specific_implicit);
        cJSON_AddBoolToObject(s, "changeable", a->specific_changeable);
    } else {
        cJSON_AddNullToObject(o, "specific_mode");
    }

    if (a->class_present) {
        static const char *const classes[] = {"A", "B", "C"};
        static const char *const stops[] = {"not_supported", "state_L", "state_H", "no_preference"};
        cJSON *c = cJSON_AddArrayToObject(o, "class");
        for (int i = 0; i < 3; i++)
            if (a->class_mask & (1u << i))
                cJSON_AddItemToArray(c, cJSON_CreateString(classes[i]));
        cJSON_AddStringToObject(o, "clock_stop", stops[a->clock_stop & 3]);
    } else {
        cJSON_AddNullToObject(o, "class");
        cJSON_AddNullToObject(o, "clock_stop");
    }

    add_hex(o, "historical", a->hist, a->hist_len);
    cJSON_AddItemToObject(o, "historical_decoded", hist_json(a));

    if (a->tck_present)
        cJSON_AddStringToObject(o, "tck", err == ATR_ERR_TCK_MISMATCH ? "mismatch" : "ok");
    else if (err == ATR_OK || err == ATR_ERR_TRAILING_BYTES)
        cJSON_AddStringToObject(o, "tck", "absent");
    else
        cJSON_AddNullToObject(o, "tck");
    add_rfu(o, a->rfu);
}

static cJSON *rates_json(unsigned mask)
{
    static const int kbps[4] = {106, 212, 424, 848};
    cJSON *a = cJSON_CreateArray();
    for (int r = 0; r < 4; r++)
        if (mask & (1u << r))
            cJSON_AddItemToArray(a, cJSON_CreateNumber(kbps[r]));
    return a;
}

/* PC/SC Part 3 3.1.3.2.3: what a contactless card's synthesised ATR says
 * (the type, where the historical bytes come from, a Type B card's ATQB). */
static void add_contactless(cJSON *o, const uint8_t *atr, size_t n)
{
    struct pcsc_atr_info info;
    if (pcsc_atr_decode(atr, n, &info) != PCSC_ATR_OK) {
        cJSON_AddNullToObject(o, "contactless");
        return;
    }
    cJSON *c = cJSON_AddObjectToObject(o, "contactless");
    if (info.kind == PCSC_ATR_STORAGE) {
        cJSON_AddStringToObject(c, "type", "storage");
        add_byte(c, "standard", info.standard);
        char name[5];
        snprintf(name, sizeof name, "%04X", (unsigned)info.card_name);
        cJSON_AddStringToObject(c, "card_name", name);
        return;
    }
    if (info.kind == PCSC_ATR_TYPE_A) {
        cJSON_AddStringToObject(c, "type", "A");
        cJSON_AddStringToObject(c, "historical_from", "ATS");
        return;
    }
    const struct iso14443b_atqb *q = &info.atqb;
    cJSON_AddStringToObject(c, "type", "B");
    cJSON_AddStringToObject(c, "historical_from", "ATQB");
    add_hex(c, "application_data", q->app_data, 4);
    add_hex(c, "protocol_info", q->proto, 3);
    if (q->adc == 1)
        add_byte(c, "afi", q->app_data[0]);
    cJSON_AddItemToObject(c, "picc_to_pcd_kbps", rates_json(q->ds));
    cJSON_AddItemToObject(c, "pcd_to_picc_kbps", rates_json(q->dr));
    cJSON_AddBoolToObject(c, "same_rate_both_ways", q->same_d);
    cJSON_AddNumberToObject(c, "max_frame_size", (double)iso14443_fs(q->fsci));
    cJSON_AddBoolToObject(c, "iso14443_4", q->iso_dep);
    cJSON_AddNumberToObject(c, "fwi", q->fwi);
    cJSON_AddNumberToObject(c, "fwt_ms", (double)(iso14443_fwt_ns(q->fwi) / 1000) / 1000.0);
    cJSON_AddNumberToObject(c, "adc", q->adc);
    cJSON_AddBoolToObject(c, "cid", q->cid);
    cJSON_AddBoolToObject(c, "nad", q->nad);
    cJSON_AddNumberToObject(c, "mbli", info.mbli);
}

static void print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        puts(s);
        cJSON_free(s);
    } else {
        /* Out of memory: still one line per input. */
        puts("{\"valid\":false,\"error\":\"OUT_OF_MEMORY\"}");
    }
    fflush(stdout);
    cJSON_Delete(o);
}

/* Decodes one ATR given as text; prints its line; returns true if valid. */
static bool decode_one(const char *text, size_t len, bool overlong)
{
    uint8_t bytes[BYTES_MAX];
    size_t n = 0;
    cJSON *o = cJSON_CreateObject();
    enum hex_err he = HEX_ERR_BAD_CHAR;

    if (o == NULL) {
        puts("{\"valid\":false,\"error\":\"OUT_OF_MEMORY\"}");
        return false;
    }
    if (!overlong && memchr(text, '\0', len) == NULL)
        he = hex_decode(text, len, bytes, sizeof bytes, &n);
    if (overlong || he == HEX_ERR_TOO_LONG) {
        add_echo(o, text, len);
        cJSON_AddBoolToObject(o, "valid", false);
        cJSON_AddStringToObject(o, "error", atr_err_str(ATR_ERR_TOO_LONG));
        print_json(o);
        return false;
    }
    if (he != HEX_OK) {
        add_echo(o, text, len);
        cJSON_AddBoolToObject(o, "valid", false);
        cJSON_AddStringToObject(o, "error", hex_err_str(he));
        print_json(o);
        return false;
    }

    struct atr a;
    size_t needed = 0;
    enum atr_err err = atr_parse(bytes, n, &a, &needed);
    add_hex(o, "atr", bytes, n);
    cJSON_AddBoolToObject(o, "valid", err == ATR_OK);
    if (err != ATR_OK)
        cJSON_AddStringToObject(o, "error", atr_err_str(err));
    if (err == ATR_ERR_INCOMPLETE)
        cJSON_AddNumberToObject(o, "bytes_needed", (double)needed);
    if (a.len >= 2) {
        add_fields(o, &a, err);
        add_contactless(o, bytes, n);
    }
    print_json(o);
    return err == ATR_OK;
}

static bool blank_or_comment(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '#')
            return true;
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

static int run_stdin(void)
{
    static char line[LINE_MAX_CHARS];
    bool all_valid = true;
    size_t n = 0;
    bool overlong = false;
    int c;

    for (;;) {
        c = getchar();
        if (c != EOF && c != '\n') {
            if (n < sizeof line)
                line[n++] = (char)c;
            else
                overlong = true;
            continue;
        }
        if (overlong || !blank_or_comment(line, n))
            all_valid &= decode_one(line, n, overlong);
        n = 0;
        overlong = false;
        if (c == EOF)
            break;
    }
    return all_valid ? 0 : 1;
}

int cmd_atr(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: hawiya atr HEX...   (one ATR per argument)\n"
                        "       hawiya atr -        (one hex ATR per line on stdin)\n");
        return 2;
    }
    if (argc == 2 && !strcmp(argv[1], "-"))
        return run_stdin();
    bool all_valid = true;
    for (int i = 1; i < argc; i++) {
        size_t len = strlen(argv[i]);
        all_valid &= decode_one(argv[i], len, len > LINE_MAX_CHARS);
    }
    return all_valid ? 0 : 1;
}
