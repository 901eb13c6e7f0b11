/* secmem.c - libsodium guarded memory and process hardening. */
#include "secmem.h"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int ob_secmem_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void *ob_secalloc(size_t n)
{
    /* sodium_malloc(0) is legal but useless; keep callers simple. */
    return sodium_malloc(n == 0 ? 1 : n);
}

void ob_secfree(void *p)
{
    if (p != NULL)
        sodium_free(p); /* wipes before unmapping */
}

void ob_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

int ob_ct_memcmp(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0 ? 0 : -1;
}

int ob_secmem_harden_process(void)
{
    struct rlimit rl = { 0, 0 };

    if (setrlimit(RLIMIT_CORE, &rl) != 0)
        return -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -1;
    return 0;
}
