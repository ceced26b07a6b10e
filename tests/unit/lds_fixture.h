/* Test helper: loads a file of tests/data/lds (HAWIYA_TEST_DATA) into a static buffer. */
#ifndef LDS_FIXTURE_H
#define LDS_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FIXTURE_MAX 4096

struct fixture {
    uint8_t b[FIXTURE_MAX];
    size_t n;
};

static inline void fixture_load(struct fixture *f, const char *name)
{
    const char *dir = getenv("HAWIYA_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/lds/%s", dir != NULL ? dir : "tests/data", name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    f->n = fread(f->b, 1, sizeof f->b, fp);
    fclose(fp);
}

#endif
