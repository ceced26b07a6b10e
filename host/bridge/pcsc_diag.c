#include "pcsc_diag.h"

#include <dirent.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/pcsclite.h>

#include "pcsc_card.h"

#define PLIST_DEFAULT "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist"
#define PLIST_MAX     (1u << 20)
#define MAX_IDS       4096u

void pcsc_diag_init(struct pcsc_diag *d)
{
    const char *root = getenv("HAWIYA_SYSFS_ROOT"), *plist = getenv("HAWIYA_CCID_INFO_PLIST");
    snprintf(d->sysfs, sizeof d->sysfs, "%s", root && root[0] ? root : "/sys");
    snprintf(d->plist, sizeof d->plist, "%s", plist && plist[0] ? plist : PLIST_DEFAULT);
}

/* The <array> after <key>KEY</key>: its "0x...." strings, as numbers. */
static long plist_array(const char *t, size_t len, const char *key, uint16_t *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "<key>%s</key>", key);
    size_t pl = strlen(pat);
    const char *end = t + len, *p = NULL;
    for (const char *q = t; q + pl <= end; q++)
        if (!memcmp(q, pat, pl)) {
            p = q + pl;
            break;
        }
    if (!p)
        return -1;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if ((size_t)(end - p) < 7 || memcmp(p, "<array>", 7))
        return -1;
    p += 7;
    size_t n = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if ((size_t)(end - p) >= 8 && !memcmp(p, "</array>", 8))
            return (long)n;
        /* <string>0xHHHH</string> */
        if ((size_t)(end - p) < 8 + 6 + 9 || memcmp(p, "<string>0x", 10))
            return -1;
        p += 10;
        unsigned v = 0, digits = 0;
        while (p < end && digits < 4) {
            char c = *p;
            unsigned h = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (h == 16)
                break;
            v = v << 4 | h;
            digits++;
            p++;
        }
        if (digits == 0 || (size_t)(end - p) < 9 || memcmp(p, "</string>", 9))
            return -1;
        p += 9;
        if (n < cap)
            out[n] = (uint16_t)v;
        n++;
    }
}

long pcsc_diag_plist_ids(const char *text, size_t len, struct pcsc_usb_id *out, size_t cap)
{
    uint16_t *v = malloc(MAX_IDS * sizeof *v), *p = malloc(MAX_IDS * sizeof *p);
    long nv = -1, np = -1;
    if (v && p) {
        nv = plist_array(text, len, "ifdVendorID", v, MAX_IDS);
        np = plist_array(text, len, "ifdProductID", p, MAX_IDS);
    }
    long n = -1;
    if (nv >= 0 && nv == np && (size_t)nv <= MAX_IDS) {
        n = nv;
        for (long i = 0; i < n && (size_t)i < cap; i++)
            out[i] = (struct pcsc_usb_id){v[i], p[i]};
    }
    free(v);
    free(p);
    return n;
}

/* A small sysfs attribute, its first line. */
static bool read_attr(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok;
}

static bool device_ids(const struct pcsc_diag *d, const char *dev, struct pcsc_usb_id *id,
                       char *product, size_t cap)
{
    char path[512], v[16], p[16];
    snprintf(path, sizeof path, "%s/bus/usb/devices/%s/idVendor", d->sysfs, dev);
    if (!read_attr(path, v, sizeof v))
        return false;
    snprintf(path, sizeof path, "%s/bus/usb/devices/%s/idProduct", d->sysfs, dev);
    if (!read_attr(path, p, sizeof p))
        return false;
    snprintf(path, sizeof path, "%s/bus/usb/devices/%s/product", d->sysfs, dev);
    if (!read_attr(path, product, cap))
        product[0] = '\0';
    for (char *c = product; *c; c++)
        if (*c < 0x20 || *c >= 0x7F || *c == '"')
            *c = '?';
    id->vendor = (uint16_t)strtoul(v, NULL, 16);
    id->product = (uint16_t)strtoul(p, NULL, 16);
    return true;
}

static struct pcsc_usb_id *load_plist(const struct pcsc_diag *d, long *n)
{
    *n = -1;
    FILE *f = fopen(d->plist, "r");
    if (!f)
        return NULL;
    char *text = malloc(PLIST_MAX);
    size_t len = text ? fread(text, 1, PLIST_MAX, f) : 0;
    fclose(f);
    struct pcsc_usb_id *ids = text ? malloc(MAX_IDS * sizeof *ids) : NULL;
    if (ids)
        *n = pcsc_diag_plist_ids(text, len, ids, MAX_IDS);
    free(text);
    if (*n > (long)MAX_IDS)
        *n = MAX_IDS;
    return ids;
}

/* USB interfaces ("1-1:1.0") of class 0x0B (USB CCID 1.1 §4.2) whose device libccid does not know.
 */
static void readers_without_driver(const struct pcsc_diag *d, bridge_problem_fn add, void *ctx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bus/usb/devices", d->sysfs);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    long n_ids = -1;
    struct pcsc_usb_id *ids = NULL;
    struct dirent *e;
    while ((e = readdir(dir))) {
        const char *colon = strchr(e->d_name, ':');
        char cls[8];
        snprintf(path, sizeof path, "%s/bus/usb/devices/%s/bInterfaceClass", d->sysfs, e->d_name);
        if (!colon || !read_attr(path, cls, sizeof cls) || strtoul(cls, NULL, 16) != 0x0B)
            continue;
        char dev[64], product[128], msg[300];
        snprintf(dev, sizeof dev, "%.*s", (int)(colon - e->d_name), e->d_name);
        struct pcsc_usb_id id;
        if (!device_ids(d, dev, &id, product, sizeof product))
            continue;
        if (!ids)
            ids = load_plist(d, &n_ids);
        bool known = false;
        for (long i = 0; ids && i < n_ids && !known; i++)
            known = ids[i].vendor == id.vendor && ids[i].product == id.product;
        if (known)
            continue;
        snprintf(msg, sizeof msg,
                 "USB smart-card reader %04x:%04x%s%s%s has no driver: %s does not list it, so "
                 "pcscd does not drive it",
                 id.vendor, id.product, product[0] ? " (" : "", product, product[0] ? ")" : "",
                 n_ids < 0 ? "the CCID driver is not installed or its Info.plist" : d->plist);
        add(ctx, "READER_WITHOUT_DRIVER", "error", NULL, msg);
    }
    closedir(dir);
    free(ids);
}

/* Interfaces bound to the kernel's NFC driver for PN533-based readers. */
static void pn533_bound(const struct pcsc_diag *d, bridge_problem_fn add, void *ctx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bus/usb/drivers/pn533_usb", d->sysfs);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        const char *colon = strchr(e->d_name, ':');
        if (!colon || e->d_name[0] < '0' || e->d_name[0] > '9')
            continue; /* bind, unbind, module, new_id, ... */
        char dev[64], product[128] = "", msg[360];
        snprintf(dev, sizeof dev, "%.*s", (int)(colon - e->d_name), e->d_name);
        struct pcsc_usb_id id = {0, 0};
        bool ids = device_ids(d, dev, &id, product, sizeof product);
        snprintf(msg, sizeof msg,
                 "the kernel's pn533_usb driver holds the contactless reader %04x:%04x%s%s%s at "
                 "USB %s, so pcscd cannot use it: blacklist pn533_usb and pn533 "
                 "(/etc/modprobe.d) and plug the reader in again",
                 ids ? id.vendor : 0, ids ? id.product : 0, product[0] ? " (" : "", product,
                 product[0] ? ")" : "", dev);
        add(ctx, "PN533_HOLDS_READER", "error", NULL, msg);
    }
    closedir(dir);
}

enum pcsc_service pcsc_diag_service(LONG rv)
{
    if (rv == SCARD_S_SUCCESS)
        return PCSC_SERVICE_UP;
    if (rv == SCARD_E_NO_ACCESS || rv == SCARD_W_SECURITY_VIOLATION)
        return PCSC_SERVICE_REFUSED;
    if (rv != SCARD_E_NO_SERVICE && rv != SCARD_E_SERVICE_STOPPED && rv != SCARD_F_COMM_ERROR)
        return PCSC_SERVICE_ERROR;
    /* Is anyone there? The socket libpcsclite uses (pcsclite.h's default). */
    const char *path = getenv("PCSCLITE_CSOCK_NAME");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path && path[0] ? path : "/run/pcscd/pcscd.comm");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return PCSC_SERVICE_ERROR;
    bool listening = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return listening ? PCSC_SERVICE_REFUSED : PCSC_SERVICE_NOT_RUNNING;
}

void pcsc_diag_report(const struct pcsc_diag *d, enum pcsc_service service, LONG rv,
                      bridge_problem_fn add, void *ctx)
{
    char msg[200];
    switch (service) {
    case PCSC_SERVICE_UP: break;
    case PCSC_SERVICE_NOT_RUNNING:
        add(ctx, "PCSCD_NOT_RUNNING", "error", NULL,
            "pcscd is not running: start it (systemctl start pcscd.socket)");
        break;
    case PCSC_SERVICE_REFUSED:
        add(ctx, "PCSCD_ACCESS_DENIED", "error", NULL,
            "pcscd closes the bridge's connection unserved: polkit's "
            "org.debian.pcsc-lite.access_pcsc must allow the bridge's user");
        break;
    case PCSC_SERVICE_ERROR:
        snprintf(msg, sizeof msg, "pcscd: %s", pcsc_rv_name(rv));
        add(ctx, "PCSCD_ERROR", "error", NULL, msg);
        break;
    }
    readers_without_driver(d, add, ctx);
    pn533_bound(d, add, ctx);
}
