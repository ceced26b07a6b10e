#define _GNU_SOURCE /* MADV_DONTDUMP, malloc_usable_size */
#include "harden.h"

#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hawiya/wipe.h"

bool harden_process(void)
{
    struct rlimit none = {0, 0};
    bool ok = setrlimit(RLIMIT_CORE, &none) == 0;
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && ok;
}

static size_t pages(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

void *secret_alloc(size_t n)
{
    size_t len = pages(n ? n : 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, len, MADV_DONTDUMP);
    (void)mlock(p, len); /* best effort: RLIMIT_MEMLOCK may say no */
    return p;
}

void secret_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t len = pages(n ? n : 1);
    wipe(p, len);
    munlock(p, len);
    munmap(p, len);
}

static void wiping_free(void *p)
{
    if (p)
        wipe(p, malloc_usable_size(p));
    free(p);
}

void harden_cjson(void)
{
    /* With its own free, cJSON also stops using realloc (which would leave
     * the old block behind unwiped): it allocates, copies and frees. */
    cJSON_Hooks hooks = {.malloc_fn = malloc, .free_fn = wiping_free};
    cJSON_InitHooks(&hooks);
}
