/*
 * hal/flash on this board: the record store's two 16 KiB sectors and the
 * 512-byte OTP area of the STM32F405 (RM0090 §3.3 Table 5, §3.8). The
 * linker script keeps sectors 1 and 2 (0x08004000-0x0800BFFF) out of the
 * image for them.
 *
 * QEMU 7.2 models no flash controller (its "Flash Int" registers read as
 * zero and its flash is ROM), so under QEMU the two sectors and the OTP
 * area are host files reached through semihosting, STATE.flash and
 * STATE.otp (STATE from the command line), made all 0xFF when absent (a
 * new chip). The board keeps the flash's rules on them as the silicon
 * would: an erase sets a sector to 0xFF, a program (4-byte units: the x32
 * parallelism of RM0090 §3.5.2) only clears bits and is refused over bytes
 * that are not erased, OTP bytes are programmed once. What runs as on
 * silicon is the record store above (firmware/src/store.c) and its layout;
 * the flash controller's sequences (unlock, PSIZE, SER/SNB, PG, BSY) are
 * not written yet.
 */
#include <string.h>

#include "board.h"
#include "hal/flash.h"
#include "semihost.h"

#define SECTOR_SIZE 16384u
#define SECTORS     2u
#define PROG_UNIT   4u
#define OTP_SIZE    512u

static int flash_fd = -1, otp_fd = -1;
static bool usable, otp_usable;

static bool path_of(const char *suffix, char *path, size_t cap)
{
    size_t a = strlen(board_config.state), b = strlen(suffix);
    if (a + b + 1 > cap)
        return false;
    memcpy(path, board_config.state, a);
    memcpy(path + a, suffix, b + 1);
    return true;
}

/* The image of `size` bytes, made all 0xFF if there is none. */
static int open_image(const char *suffix, long size)
{
    char path[160];
    if (!path_of(suffix, path, sizeof path))
        return -1;
    int fd = semihost_open(path, SEMIHOST_MODE_RPB);
    if (fd >= 0) {
        if (semihost_flen(fd) == size)
            return fd;
        semihost_close(fd); /* another size: not this chip's flash */
        return -1;
    }
    fd = semihost_open(path, SEMIHOST_MODE_WPB);
    if (fd < 0)
        return -1;
    uint8_t ff[256];
    memset(ff, 0xFF, sizeof ff);
    for (long off = 0; off < size; off += (long)sizeof ff)
        if (!semihost_write(fd, ff, sizeof ff)) {
            semihost_close(fd);
            return -1;
        }
    return fd;
}

static void open_flash(void)
{
    static bool tried;
    if (tried)
        return;
    tried = true;
    if (!board_emulated)
        return;
    flash_fd = open_image(".flash", (long)SECTOR_SIZE * SECTORS);
    otp_fd = open_image(".otp", OTP_SIZE);
    usable = flash_fd >= 0;
    otp_usable = otp_fd >= 0;
}

bool hal_flash_info(struct hal_flash_info *info)
{
    open_flash();
    if (!usable)
        return false;
    *info = (struct hal_flash_info){.sector_size = SECTOR_SIZE,
                                    .sectors = SECTORS,
                                    .prog_unit = PROG_UNIT,
                                    .otp_size = otp_usable ? OTP_SIZE : 0};
    return true;
}

static bool at(int fd, uint32_t off, bool write, uint8_t *buf, size_t n)
{
    if (!semihost_seek(fd, off))
        return false;
    return write ? semihost_write(fd, buf, n) : semihost_read(fd, buf, n);
}

static bool in_flash(uint32_t sector, uint32_t offset, size_t n)
{
    open_flash();
    return usable && sector < SECTORS && offset <= SECTOR_SIZE && n <= SECTOR_SIZE - offset;
}

bool hal_flash_read(uint32_t sector, uint32_t offset, uint8_t *buf, size_t n)
{
    return in_flash(sector, offset, n) &&
           at(flash_fd, sector * SECTOR_SIZE + offset, false, buf, n);
}

/* Clears bits of erased bytes only, as the store expects of every flash. */
static bool program(int fd, uint32_t off, const uint8_t *buf, size_t n)
{
    uint8_t old[64];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof old ? n - done : sizeof old;
        if (!at(fd, off + (uint32_t)done, false, old, k))
            return false;
        for (size_t i = 0; i < k; i++) {
            if (old[i] != 0xFF)
                return false;
            old[i] = buf[done + i];
        }
        if (!at(fd, off + (uint32_t)done, true, old, k))
            return false;
        done += k;
    }
    return true;
}

bool hal_flash_program(uint32_t sector, uint32_t offset, const uint8_t *buf, size_t n)
{
    if (!in_flash(sector, offset, n) || offset % PROG_UNIT || n % PROG_UNIT)
        return false;
    return program(flash_fd, sector * SECTOR_SIZE + offset, buf, n);
}

bool hal_flash_erase(uint32_t sector)
{
    uint8_t ff[256];
    if (!in_flash(sector, 0, SECTOR_SIZE))
        return false;
    memset(ff, 0xFF, sizeof ff);
    for (uint32_t off = 0; off < SECTOR_SIZE; off += sizeof ff)
        if (!at(flash_fd, sector * SECTOR_SIZE + off, true, ff, sizeof ff))
            return false;
    return true;
}

bool hal_otp_read(uint32_t offset, uint8_t *buf, size_t n)
{
    open_flash();
    return otp_usable && offset <= OTP_SIZE && n <= OTP_SIZE - offset &&
           at(otp_fd, offset, false, buf, n);
}

bool hal_otp_program(uint32_t offset, const uint8_t *buf, size_t n)
{
    open_flash();
    return otp_usable && offset <= OTP_SIZE && n <= OTP_SIZE - offset &&
           program(otp_fd, offset, buf, n);
}
