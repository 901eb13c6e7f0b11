/* pool.c - jobs over threads, results by index, errors in index order (pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pool {
    size_t n;
    ob_pool_fn fn;
    void *ctx;
    atomic_size_t next;   /* the next job to hand out */
    atomic_size_t lowest; /* lowest failed index so far, or n */
    pthread_mutex_t lock; /* guards err and d */
    ob_err err;
    ob_diag d;
} pool;

typedef struct slot {
    pool *p;
    unsigned n;
} slot;

static void *worker(void *arg)
{
    const slot *s = arg;
    pool *p = s->p;
    ob_diag d;
    size_t i;
    ob_err e;

    for (;;) {
        i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        /* After a failure, a later job cannot change the outcome. */
        if (i > atomic_load(&p->lowest))
            continue;
        ob_diag_clear(&d);
        e = p->fn(p->ctx, i, s->n, &d);
        if (e == OB_OK)
            continue;
        pthread_mutex_lock(&p->lock);
        if (i < atomic_load(&p->lowest)) {
            atomic_store(&p->lowest, i);
            p->err = e;
            p->d = d;
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static unsigned cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);

    if (c < 1)
        return 1;
    return c > OB_POOL_MAX_THREADS ? OB_POOL_MAX_THREADS : (unsigned)c;
}

static int parse_count(const char *s, unsigned *out)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v < 1 || v > OB_POOL_MAX_THREADS)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int ob_pool_threads(const char *opt, unsigned *out)
{
    const char *env = getenv("OB_THREADS");

    *out = cores();
    if (opt != NULL)
        return parse_count(opt, out) == 0 ? 0 : (*out = cores(), -1);
    if (env != NULL && *env != '\0')
        return parse_count(env, out) == 0 ? 0 : (*out = cores(), -1);
    return 0;
}

unsigned ob_pool_slots(size_t n, unsigned threads)
{
    if (threads == 0)
        (void)ob_pool_threads(NULL, &threads);
    if (threads > OB_POOL_MAX_THREADS)
        threads = OB_POOL_MAX_THREADS;
    if (threads > n)
        threads = (unsigned)n;
    return threads == 0 ? 1 : threads;
}

ob_err ob_pool_run(size_t n, unsigned threads, ob_pool_fn fn, void *ctx, ob_diag *d)
{
    pthread_t tid[OB_POOL_MAX_THREADS];
    slot slots[OB_POOL_MAX_THREADS];
    unsigned started = 0, t;
    pool p;

    if (n == 0)
        return OB_OK;
    threads = ob_pool_slots(n, threads);
    memset(&p, 0, sizeof(p));
    p.n = n;
    p.fn = fn;
    p.ctx = ctx;
    atomic_init(&p.next, 0);
    atomic_init(&p.lowest, n);
    if (pthread_mutex_init(&p.lock, NULL) != 0)
        return ob_fail(d, OB_ERR_NOMEM, "cannot set up a lock for %u threads", threads);
    for (t = 0; t < threads; t++)
        slots[t] = (slot){ &p, t };
    for (t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, worker, &slots[t]) != 0)
            break;
        started++;
    }
    worker(&slots[0]); /* the caller works too, as slot 0 */
    for (t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p.lock);
    if (atomic_load(&p.lowest) < n) {
        *d = p.d;
        return p.err;
    }
    return OB_OK;
}
