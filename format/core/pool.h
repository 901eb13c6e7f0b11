/*
 * pool.h - independent jobs spread over the machine's cores.
 *
 * For work that splits into jobs that share nothing but what they read:
 * signing a ceremony's descriptors (offline/sign.c), rebuilding and
 * verifying a response's (bundle/compact.c), building delegated ones
 * online.  Each job runs exactly once, on one thread; a job that needs
 * secret memory allocates its own (ob_secalloc is thread-safe), so every
 * thread's secrets sit in their own guarded pages and are wiped by the job
 * that made them.  Results are the caller's to store by job index, so the
 * outcome does not depend on which thread ran what: the caller assembles
 * them in index order afterwards.  Anything random a job needs must come
 * from the job's index, not from the order jobs happen to run in
 * (offline/sign.c derives each descriptor's randomness from one seed).
 */
#ifndef OB_POOL_H
#define OB_POOL_H

#include <stddef.h>

#include "diag.h"

#define OB_POOL_MAX_THREADS 256

/*
 * One job.  slot is the running thread's number, 0 .. threads-1: a thread
 * runs one job at a time, so jobs can reuse per-slot scratch the caller set
 * up (guarded memory allocated once per thread, not once per job: every
 * sodium_malloc and free is a handful of mmap, mprotect and mlock calls that
 * the process's other threads wait for).  d is the job's own diagnostic; a
 * failure's message is kept only if it is the failure with the lowest
 * index.
 */
typedef ob_err (*ob_pool_fn)(void *ctx, size_t i, unsigned slot, ob_diag *d);

/*
 * The number of threads a command uses: opt (its --threads value) when not
 * NULL, else the environment's OB_THREADS when set, else the cores online.
 * 0, or -1 when the value given is not a number from 1 to
 * OB_POOL_MAX_THREADS (*out is then the default).
 */
int ob_pool_threads(const char *opt, unsigned *out);

/*
 * Run fn(ctx, i, d) for every i in [0, n) on up to `threads` threads, the
 * caller's included (0 means ob_pool_threads(NULL)).  OB_OK when every job
 * succeeded; otherwise the error and message of the failed job with the
 * lowest index, exactly as if the jobs had run in order and stopped at the
 * first failure (jobs after it may have run or not; every job before it
 * has).  A thread that cannot be started leaves its share to the others.
 */
ob_err ob_pool_run(size_t n, unsigned threads, ob_pool_fn fn, void *ctx, ob_diag *d);

/* How many slots ob_pool_run(n, threads, ...) uses: the threads it starts, at most n. */
unsigned ob_pool_slots(size_t n, unsigned threads);

#endif
