/*
 * A file of the test PKI (pki_data) read whole into buf by a fuzz target's
 * LLVMFuzzerInitialize; aborts when it is missing (run pki_data first).
 */
#ifndef HAWIYA_FUZZ_PKI_FILE_H
#define HAWIYA_FUZZ_PKI_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static size_t pki_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

#endif
