/* secmem.c - libsodium guarded memory, checked locking, process hardening. */
#include "secmem.h"

#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define CAP_IPC_LOCK_BIT 14 /* linux/capability.h */

static int allow_swap;
static const char *swap_hint;
static atomic_size_t unlocked_bytes;
/* Why this thread's last ob_secalloc() failed: bytes it could not lock, 0 otherwise. */
static _Thread_local size_t last_lock_fail;
static _Thread_local int last_lock_errno;

int ob_secmem_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void ob_secmem_allow_swap(int allow)
{
    allow_swap = allow != 0;
}

int ob_secmem_swap_allowed(void)
{
    return allow_swap;
}

size_t ob_secmem_unlocked_bytes(void)
{
    return atomic_load(&unlocked_bytes);
}

void ob_secmem_set_hint(const char *hint)
{
    swap_hint = hint;
}

size_t ob_secmem_cost(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    n += 16; /* sodium_malloc's canary shares the locked pages */
    return (n + page - 1) / page * page;
}

void *ob_secalloc(size_t n)
{
    void *p;

    last_lock_fail = 0;
    /* sodium_malloc(0) is legal but useless; keep callers simple. */
    if (n == 0)
        n = 1;
    if ((p = sodium_malloc(n)) == NULL)
        return NULL;
    /*
     * sodium_malloc() has tried mlock() and ignored the answer.  Asking again
     * costs nothing when the pages are locked already and tells us when they
     * are not.
     */
    if (sodium_mlock(p, n) != 0) {
        if (!allow_swap) {
            last_lock_errno = errno;
            last_lock_fail = ob_secmem_cost(n);
            sodium_free(p);
            return NULL;
        }
        atomic_fetch_add(&unlocked_bytes, ob_secmem_cost(n));
    }
    return p;
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

/* ---- what the kernel allows ---- */

typedef struct lock_state {
    int unlimited;             /* CAP_IPC_LOCK or RLIM_INFINITY */
    unsigned long long limit;  /* bytes */
    unsigned long long locked; /* bytes locked by this process now (VmLck) */
} lock_state;

static void lock_state_get(lock_state *s)
{
    struct rlimit rl;
    char line[256];
    unsigned long long v;
    FILE *f;

    memset(s, 0, sizeof(*s));
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        s->unlimited = 1;
    else
        s->limit = (unsigned long long)rl.rlim_cur;
    if ((f = fopen("/proc/self/status", "re")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmLck: %llu kB", &v) == 1)
            s->locked = v * 1024;
        else if (sscanf(line, "CapEff: %llx", &v) == 1 && (v >> CAP_IPC_LOCK_BIT) & 1)
            s->unlimited = 1;
    }
    fclose(f);
}

static unsigned long long kib(unsigned long long bytes)
{
    return (bytes + 1023) / 1024;
}

/* "RLIMIT_MEMLOCK allows L KiB ... raise it to at least R KiB ..." after what. */
static ob_err lock_refusal(ob_diag *d, const char *what, const lock_state *s,
                           unsigned long long need)
{
    unsigned long long want = kib(s->locked + need);

    return ob_fail(d, OB_ERR_NOMEM,
                   "%s: RLIMIT_MEMLOCK allows %llu KiB of locked memory and %llu KiB are locked "
                   "already; raise it to at least %llu KiB (`ulimit -l %llu` in the shell, "
                   "LimitMEMLOCK=%lluK in a systemd unit)%s",
                   what, kib(s->limit), kib(s->locked), want, want, want,
                   swap_hint != NULL ? swap_hint : "");
}

ob_err ob_secmem_expect(size_t need, ob_diag *d)
{
    char what[128];
    lock_state s;

    if (allow_swap)
        return OB_OK;
    lock_state_get(&s);
    if (s.unlimited || s.locked + need <= s.limit)
        return OB_OK;
    snprintf(what, sizeof(what), "secrets need %llu KiB of locked memory",
             kib((unsigned long long)need));
    return lock_refusal(d, what, &s, need);
}

ob_err ob_secmem_fail(ob_diag *d)
{
    char what[160];
    lock_state s;

    if (last_lock_fail == 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    lock_state_get(&s);
    snprintf(what, sizeof(what), "cannot lock %llu KiB of secrets in memory (mlock: %s)",
             kib((unsigned long long)last_lock_fail), strerror(last_lock_errno));
    /* Within the limit, the kernel had another reason (memory, mappings). */
    if (s.unlimited || s.locked + last_lock_fail <= s.limit)
        return ob_fail(d, OB_ERR_NOMEM, "%s%s", what, swap_hint != NULL ? swap_hint : "");
    return lock_refusal(d, what, &s, last_lock_fail);
}
