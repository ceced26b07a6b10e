#define _GNU_SOURCE /* MADV_DONTDUMP, malloc_usable_size */
#include "harden.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hawiya/wipe.h"

bool harden_process(void)
{
    struct rlimit cur, none = {0, 0};
    /* Under systemd LimitCORE=0 has done it (and setrlimit may be filtered out). */
    bool ok = (getrlimit(RLIMIT_CORE, &cur) == 0 && cur.rlim_cur == 0 && cur.rlim_max == 0) ||
              setrlimit(RLIMIT_CORE, &none) == 0;
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

bool secret_region(void *p, size_t n)
{
    return madvise(p, pages(n), MADV_DONTDUMP) == 0;
}

/*
 * The vector registers keep what the last memcpy or strlen moved through
 * them (glibc's string functions use ymm0-15, or ymm16-31 on AVX-512) until
 * something overwrites them; the dynamic linker's lazy binding saves them
 * all on the stack at a library's first call to a function (Debian's
 * libasan is not linked -z now), so a CAN printed long ago turned up in a
 * waiting CLI's stack. All of them are caller-saved (System V x86-64 ABI):
 * a noinline function may clear them.
 */
__attribute__((noinline)) static void wipe_vector_registers(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        __asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                         "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                         "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                         "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                         "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                         "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                         "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                         "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"
                         "vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                         "vpxord %%zmm2, %%zmm2, %%zmm2\n\tvpxord %%zmm3, %%zmm3, %%zmm3\n\t"
                         "vpxord %%zmm4, %%zmm4, %%zmm4\n\tvpxord %%zmm5, %%zmm5, %%zmm5\n\t"
                         "vpxord %%zmm6, %%zmm6, %%zmm6\n\tvpxord %%zmm7, %%zmm7, %%zmm7\n\t"
                         "vpxord %%zmm8, %%zmm8, %%zmm8\n\tvpxord %%zmm9, %%zmm9, %%zmm9\n\t"
                         "vpxord %%zmm10, %%zmm10, %%zmm10\n\tvpxord %%zmm11, %%zmm11, %%zmm11\n\t"
                         "vpxord %%zmm12, %%zmm12, %%zmm12\n\tvpxord %%zmm13, %%zmm13, %%zmm13\n\t"
                         "vpxord %%zmm14, %%zmm14, %%zmm14\n\tvpxord %%zmm15, %%zmm15, %%zmm15\n\t"
                         "vzeroupper" ::
                             : "memory");
    else if (__builtin_cpu_supports("avx"))
        __asm__ volatile("vzeroall" ::: "memory");
    else
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                         "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                         "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                         "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                         "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
                         "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15" ::
                             : "memory");
#endif
}

__attribute__((noinline)) void wipe_stack(size_t n)
{
    uint8_t buf[65536];
    if (n > sizeof buf)
        n = sizeof buf;
    wipe(buf, n);
    __asm__ volatile("" : : "r"(buf) : "memory");
    wipe_vector_registers();
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
