/*
 * semihost: ARM semihosting (the "Semihosting for AArch32 and AArch64"
 * specification, v2.0): the firmware asks the debugger, here QEMU with
 * -semihosting, to do host I/O with BKPT 0xAB. The board uses it only for
 * what QEMU's STM32F405 does not model: the flash that keeps the device key
 * and counter (a host file), the hardware RNG (the host's /dev/urandom), its
 * command line (-append) and log lines. On silicon without a debugger a BKPT
 * would fault, so none of this runs there (board.c says which path runs).
 */
#ifndef HAWIYA_SEMIHOST_H
#define HAWIYA_SEMIHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SYS_OPEN modes (ISO C fopen modes in the order of the specification). */
#define SEMIHOST_MODE_RB  1
#define SEMIHOST_MODE_RPB 3 /* "r+b" */
#define SEMIHOST_MODE_WB  5
#define SEMIHOST_MODE_WPB 7 /* "w+b" */

/* Returns a handle, or -1. */
int semihost_open(const char *path, int mode);
void semihost_close(int fd);
/* Whole transfers: true when all n bytes moved. */
bool semihost_read(int fd, void *buf, size_t n);
bool semihost_write(int fd, const void *buf, size_t n);
bool semihost_seek(int fd, uint32_t pos);
/* The file's length, or -1. */
long semihost_flen(int fd);
bool semihost_rename(const char *from, const char *to);
/* A line of text on QEMU's stderr. */
void semihost_log(const char *s);
/* The command line (-append), NUL-terminated; false if none. */
bool semihost_cmdline(char *buf, size_t cap);
/* Host time since QEMU started, in ns (SYS_ELAPSED, SYS_TICKFREQ = 1 GHz in QEMU). */
uint64_t semihost_elapsed_ns(void);
/* Ends the emulation with this exit status. */
void semihost_exit(int status) __attribute__((noreturn));

#endif
