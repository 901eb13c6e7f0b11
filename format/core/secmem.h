/*
 * secmem.h - the one place secrets are allocated and wiped.
 *
 * Secret key bytes, passphrases and anything derived from them live in
 * libsodium's guarded allocations: mlock()ed (never swapped), surrounded by
 * guard pages, and wiped by ob_secfree().  Stack copies are wiped with
 * ob_wipe() before the function returns, on every path.
 *
 * Locking is checked.  libsodium's sodium_malloc() ignores a failed mlock()
 * (past RLIMIT_MEMLOCK, for instance), so ob_secalloc() locks the block again
 * and looks at the answer: a block the kernel will not lock is refused (NULL)
 * unless the program was told to allow swapping (ob_secmem_allow_swap(1));
 * then it is used anyway and counted in ob_secmem_unlocked_bytes().  A
 * process with CAP_IPC_LOCK (root) may lock without limit.
 */
#ifndef OB_SECMEM_H
#define OB_SECMEM_H

#include "diag.h"

#include <stddef.h>

/* Initialise libsodium once; 0 or -1.  Every program calls it first. */
int ob_secmem_init(void);
/*
 * Guarded, locked allocation, or NULL: out of memory, or (unless swap is
 * allowed) the kernel would not lock it.  ob_secmem_fail() says which.
 */
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

/*
 * allow 1: keep blocks that cannot be locked (the operator accepted that
 * secrets may reach swap); 0 (the default): refuse them.  Set once, before
 * any thread starts.
 */
void ob_secmem_allow_swap(int allow);
int ob_secmem_swap_allowed(void);
/* Bytes handed out unlocked so far (only when swap is allowed). */
size_t ob_secmem_unlocked_bytes(void);
/*
 * Text appended to a lock refusal, naming the program's way to allow swap
 * (e.g. "or give --allow-swap ..."); a static string, or NULL for none.
 */
void ob_secmem_set_hint(const char *hint);
/* Locked memory one ob_secalloc(n) takes: n plus libsodium's canary, in whole pages. */
size_t ob_secmem_cost(size_t n);
/*
 * Before an operation that will hold need bytes locked at once (a sum of
 * ob_secmem_cost()): OB_OK when the process may lock them on top of what it
 * holds already (or may lock without limit, or swap is allowed); otherwise
 * OB_ERR_NOMEM with a message naming RLIMIT_MEMLOCK, its value, what is
 * locked already and the value to raise it to.  Lets a caller refuse before
 * it asks for a passphrase, with the whole operation's figure.
 */
ob_err ob_secmem_expect(size_t need, ob_diag *d);
/*
 * The error for an ob_secalloc() that just returned NULL in this thread:
 * OB_ERR_NOMEM with the RLIMIT_MEMLOCK message above when the block could
 * not be locked, "out of secure memory" otherwise.
 */
ob_err ob_secmem_fail(ob_diag *d);

#endif
