/*
 * test_alloc_hsv3_desc.c - failing-malloc run of the v3 descriptor verifier
 * (style.md habit 12).  buf.c and hsv3_desc.c are compiled into this test
 * with their allocator calls routed through a budget, so every ob_buf growth
 * and every allocation of the verifier fails in turn: each must give
 * OB_ERR_NOMEM (or, where the failure only loses an optional copy, OB_OK),
 * no descriptor, and no leak (ASan's leak check runs at exit).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ed25519x.h"
#include "encode.h"
#include "fileio.h"
#include "hsv3_cert.h"
#include "hsv3_desc.h"
#include "onion.h"
#include "secmem.h"

static long alloc_budget = -1; /* allocations left; -1 = unlimited */
static long alloc_count;

static int alloc_take(void)
{
    alloc_count++;
    if (alloc_budget < 0)
        return 1;
    if (alloc_budget == 0)
        return 0;
    alloc_budget--;
    return 1;
}

static void *t_malloc(size_t n)
{
    return alloc_take() ? malloc(n) : NULL;
}

static void *t_calloc(size_t a, size_t b)
{
    return alloc_take() ? calloc(a, b) : NULL;
}

static void *t_realloc(void *p, size_t n)
{
    return alloc_take() ? realloc(p, n) : NULL;
}

static void *t_secalloc(size_t n)
{
    return alloc_take() ? ob_secalloc(n) : NULL;
}

#define malloc      t_malloc
#define calloc      t_calloc
#define realloc     t_realloc
#define ob_secalloc t_secalloc
#include "../../format/core/buf.c"
#include "../../format/hs/hsv3_desc.c"
#undef malloc
#undef calloc
#undef realloc
#undef ob_secalloc

#define TOR_ADDR "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad"
#define TOR_TP   17391

static uint8_t *load(const char *name, size_t *n)
{
    char path[1024];
    const char *shared = getenv("OB_TESTDATA");
    uint8_t *p = NULL;
    ob_diag d;

    snprintf(path, sizeof(path), "%s/v3/%s", shared ? shared : "tests/data/vectors", name);
    if (ob_file_read(path, 1 << 20, &p, n, &d) != OB_OK)
        fail_msg("%s: %s", path, d.msg);
    return p;
}

static ob_err verify_once(const uint8_t *t, size_t n, ob_hsv3_desc **desc, ob_diag *d)
{
    uint8_t A[32];
    ob_hsv3_verify_opts o;

    memset(&o, 0, sizeof(o));
    assert_int_equal(ob_onion_v3_decode(A, TOR_ADDR, strlen(TOR_ADDR), d), OB_OK);
    return ob_hsv3_desc_verify(t, n, A, TOR_TP, &OB_TP_LIVE, &o, desc, d);
}

static void test_verify_alloc_failures(void **state)
{
    size_t n = 0;
    uint8_t *t = load("hidden_service_v3", &n);
    ob_hsv3_desc *desc = NULL;
    ob_diag d;
    long k, total, nomem = 0;
    ob_err e;

    (void)state;
    ob_diag_clear(&d);
    alloc_count = 0;
    assert_int_equal(verify_once(t, n, &desc, &d), OB_OK);
    total = alloc_count;
    ob_hsv3_desc_free(desc);
    desc = NULL;
    assert_true(total > 10);
    for (k = 0; k < total; k++) {
        ob_diag_clear(&d);
        alloc_budget = k;
        e = verify_once(t, n, &desc, &d);
        alloc_budget = -1;
        if (e == OB_OK) {
            /* Only acceptable if nothing was lost: the result is whole. */
            assert_non_null(desc);
            ob_hsv3_desc_free(desc);
            desc = NULL;
            continue;
        }
        if (e != OB_ERR_NOMEM)
            fail_msg("allocation %ld of %ld failing gave %s: %s", k, total, ob_err_name(e), d.msg);
        assert_null(desc);
        nomem++;
    }
    /* Almost every allocation matters: a run that succeeds throughout did
     * not exercise anything. */
    assert_true(nomem > total / 2);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_alloc_failures),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
