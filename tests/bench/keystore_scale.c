/*
 * keystore_scale.c - a key store of N keys: build it, open it, and report
 * the time and the locked memory (make bench; docs/keys.rst quotes it).
 *
 *   keystore_scale N STORE PASSFILE
 *
 * The store is built as an operator would grow one: batches of at most
 * 1000 new keys added with ofl_keystore_open() + ofl_keystore_rewrite()
 * (what `import` does), so no more than 1000 keys are ever held one block
 * each.  Then it is opened with ofl_keystore_load_all(), as `sign` does,
 * and VmLck (/proc/self/status) is printed: with every key in one locked
 * block it stays near N * 64 bytes.  The cost is the real one unless
 * OB_INSECURE_TEST_KDF=1 is set.  Exit 0, or 1 with the error.
 */
#include "keystore.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1000

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double cpu(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static long vm_kib(const char *field)
{
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return v;
}

/* Add up to BATCH fresh keys to the store at path (made when have == 0). */
static ob_err add_batch(const char *path, const char *pass, size_t have, size_t add, ob_diag *d)
{
    ofl_key **old = NULL, **all = NULL;
    ofl_store *st = NULL;
    size_t n = 0, i;
    ofl_kdf kdf;
    ob_err e = OB_OK;

    if (have > 0 && (e = ofl_keystore_open(path, pass, strlen(pass), &old, &n, &st, d)) != OB_OK)
        return e;
    if ((all = calloc(n + add, sizeof(*all))) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < add && e == OB_OK; i++)
        e = ofl_key_generate(3, &all[n + i], d);
    if (e != OB_OK)
        goto out;
    memcpy(all, old, n * sizeof(*all));
    if (st != NULL) {
        e = ofl_keystore_rewrite(st, all, n + add, d);
    } else {
        ofl_kdf_default(&kdf);
        e = ofl_keystore_write(path, all, add, pass, strlen(pass), &kdf, 0, d);
    }
out:
    for (i = 0; all != NULL && i < add; i++)
        ofl_key_free(all[n + i]);
    free(all);
    ofl_keys_free(old, n);
    ofl_store_free(st);
    return e;
}

int main(int argc, char **argv)
{
    const char *pass = "correct horse";
    ofl_key **keys = NULL;
    size_t n = 0, want, have = 0;
    double t0, t1, c0, c1;
    ob_diag d;
    ob_err e;

    if (argc != 4 || (want = strtoul(argv[1], NULL, 10)) == 0 || want > OFL_STORE_MAX_KEYS) {
        fprintf(stderr, "usage: keystore_scale N(1..%d) STORE PASSFILE\n", OFL_STORE_MAX_KEYS);
        return 2;
    }
    ob_diag_clear(&d);
    if (ob_secmem_init() != 0 || ofl_keystore_init_openssl() != 0)
        return 1;
    t0 = now();
    for (have = 0; have < want; have += BATCH) {
        size_t add = want - have < BATCH ? want - have : BATCH;
        if ((e = add_batch(argv[2], pass, have, add, &d)) != OB_OK) {
            fprintf(stderr, "build: %s\n", d.msg);
            return 1;
        }
    }
    t1 = now();
    printf("  build %zu keys in batches of %d: %.1f s\n", want, BATCH, t1 - t0);
    printf("  before open: VmLck %ld KiB\n", vm_kib("VmLck"));
    t0 = now();
    c0 = cpu();
    if ((e = ofl_keystore_load_all(argv[2], argv[3], &keys, &n, &d)) != OB_OK) {
        fprintf(stderr, "open: %s\n", d.msg);
        return 1;
    }
    t1 = now();
    c1 = cpu();
    printf("  open %zu keys: %.2f s wall, %.2f s CPU (Argon2id included); VmLck %ld KiB while "
           "open (%zu bytes of secrets)\n",
           n, t1 - t0, c1 - c0, vm_kib("VmLck"), n * 64);
    ofl_keys_free(keys, n);
    printf("  after free: VmLck %ld KiB\n", vm_kib("VmLck"));
    return n == want ? 0 : 1;
}
