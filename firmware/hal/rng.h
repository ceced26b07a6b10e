/*
 * hal/rng: the board's true random number generator, which seeds the
 * firmware's DRBG (nonces, PACE ephemeral keys, the device key).
 */
#ifndef HAWIYA_HAL_RNG_H
#define HAWIYA_HAL_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills buf with n random bytes; false on hardware failure. */
bool hal_rng(uint8_t *buf, size_t n);

#endif
