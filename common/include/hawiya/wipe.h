/*
 * wipe: zeroisation of secrets (keys, PIN, CAN, session keys) that the
 * compiler may not optimise away, because the memory is written through a
 * volatile pointer.
 */
#ifndef HAWIYA_WIPE_H
#define HAWIYA_WIPE_H

#include <stddef.h>

void wipe(void *p, size_t n);

#endif
