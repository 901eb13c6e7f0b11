/*
 * secmem.h - the one place secrets are allocated and wiped.
 *
 * Secret key bytes, passphrases and anything derived from them live in
 * libsodium's guarded allocations: mlock()ed (never swapped), surrounded by
 * guard pages, and wiped by ob_secfree().  Stack copies are wiped with
 * ob_wipe() before the function returns, on every path.
 */
#ifndef OB_SECMEM_H
#define OB_SECMEM_H

#include <stddef.h>

/* Initialise libsodium once; 0 or -1.  Every program calls it first. */
int ob_secmem_init(void);
/* Guarded, locked allocation, or NULL. */
void *ob_secalloc(size_t n);
/* Wipe and release an ob_secalloc() block; NULL-tolerant. */
void ob_secfree(void *p);
/* Wipe memory the compiler may not optimise away. */
void ob_wipe(void *p, size_t n);
/* Constant-time comparison of secret-derived bytes: 0 if equal. */
int ob_ct_memcmp(const void *a, const void *b, size_t n);
/*
 * Offline hardening: no core dumps, not ptrace-attachable (PR_SET_DUMPABLE 0).
 * 0 or -1.
 */
int ob_secmem_harden_process(void);

#endif
