/*
 * test_hsv3_blind.c - blinded expanded secret keys (offline side) against
 * tor's raw-parameter vectors, tor's test_blinding_basics and the two
 * sample descriptors; signatures made with blinded keys.
 *
 * OB_HSV3_EXTRA_VECTORS, when set, names an extra vector file (written by
 * tests/interop/test_hsv3_stem.sh with stem and python-cryptography) whose
 * [case N] records are checked too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "secmem.h"
#include "vecfile.h"

static void test_tor_raw_param_vectors(void **state)
{
    vec_file *vf = vec_load("ed25519/tor_ed25519_blinding_vectors.txt");
    size_t i, nvec;

    (void)state;
    assert_non_null(vf);
    nvec = vec_count_sections(vf, "vector ");
    assert_int_equal(nvec, 10);
    for (i = 0; i < nvec; i++) {
        char sec[32];
        uint8_t exp[64], pk[32], h[32], bexp_want[64], bpk_want[32], bpk[32], pk2[32], sig[64];
        uint8_t *bexp = ob_secalloc(64);

        assert_non_null(bexp);
        snprintf(sec, sizeof(sec), "vector %zu", i);
        assert_int_equal(vec_hex(vf, sec, "expanded_secret_key", exp, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "public_key", pk, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "blinding_param", h, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "blinded_expanded_secret_key", bexp_want, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "blinded_public_key", bpk_want, 32), 0);
        ob_hsv3_clamp_param(h);

        assert_int_equal(ofl_hsv3_blind_secret_with_param(bexp, exp, h), 0);
        assert_memory_equal(bexp, bexp_want, 64);
        assert_int_equal(ob_hsv3_blind_public_with_param(bpk, pk, h), 0);
        assert_memory_equal(bpk, bpk_want, 32);
        /* the blinded secret's public key is the blinded public key */
        assert_int_equal(ob_ed25519_pub_from_expanded(pk2, bexp), 0);
        assert_memory_equal(pk2, bpk_want, 32);
        /* and it signs for it */
        assert_int_equal(ob_ed25519_sign_expanded(sig, pk, 32, bexp, bpk), 0);
        assert_int_equal(ob_ed25519_verify(sig, pk, 32, bpk), 0);
        assert_int_equal(ob_ed25519_verify(sig, pk, 32, pk), -1);
        ob_secfree(bexp);
    }
    vec_free(vf);
}

static void test_blinding_basics(void **state)
{
    vec_file *vf = vec_load("v3/tor_hs_common_vectors.txt");
    const char *sec = "blinding_basics";
    uint8_t exp[64], A[32], want[64], Ab[32], msg[128], sig_want[64], sig[64];
    uint8_t *bexp = ob_secalloc(64);
    uint64_t tp = 0, len = 0;
    const char *mhex;

    (void)state;
    assert_non_null(vf);
    assert_non_null(bexp);
    assert_int_equal(vec_hex(vf, sec, "master_expanded_seckey", exp, 64), 0);
    assert_int_equal(vec_hex(vf, sec, "master_pubkey", A, 32), 0);
    assert_int_equal(vec_u64(vf, sec, "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_u64(vf, sec, "period_length", 0, &len), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_expanded_seckey", want, 64), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_pubkey", Ab, 32), 0);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, tp, len), 0);
    assert_memory_equal(bexp, want, 64);

    /* the extra deterministic signature vector */
    mhex = vec_get(vf, sec, "sign_message_hex", 0);
    assert_non_null(mhex);
    assert_true(strlen(mhex) / 2 <= sizeof(msg));
    assert_int_equal(ob_hex_decode(msg, strlen(mhex) / 2, mhex, strlen(mhex)), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_signature", sig_want, 64), 0);
    assert_int_equal(ob_ed25519_sign_expanded(sig, msg, strlen(mhex) / 2, bexp, Ab), 0);
    assert_memory_equal(sig, sig_want, 64);
    assert_int_equal(ob_ed25519_verify(sig, msg, strlen(mhex) / 2, Ab), 0);

    /* another period gives another key */
    assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, tp + 1, len), 0);
    assert_memory_not_equal(bexp, want, 64);
    ob_secfree(bexp);
    vec_free(vf);
}

/* The key test for blinded signing: the known-key descriptor's 08 cert. */
static void test_known_key_cert_resign(void **state)
{
    vec_file *vf = vec_load("v3/expected_values.txt");
    const char *sec = "known_key_v3_descriptor";
    uint8_t exp[64], A[32], want[64], Ab[32], cert[OB_CERT_LEN], sig[64], mine[OB_CERT_LEN];
    uint8_t *bexp = ob_secalloc(64);
    uint64_t tp = 0, len = 0;
    size_t n = 0;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(vf);
    assert_non_null(bexp);
    assert_int_equal(vec_hex(vf, sec, "identity_expanded_seckey", exp, 64), 0);
    assert_int_equal(vec_hex(vf, sec, "identity_pubkey", A, 32), 0);
    assert_int_equal(vec_u64(vf, sec, "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_u64(vf, sec, "period_length", 0, &len), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_expanded_seckey", want, 64), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_pubkey", Ab, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "signing_cert_hex", cert, sizeof(cert)), 0);

    assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, tp, len), 0);
    assert_memory_equal(bexp, want, 64);
    /* re-sign the 76-byte body: exactly the cert's signature */
    assert_int_equal(ob_ed25519_sign_expanded(sig, cert, 76, bexp, Ab), 0);
    assert_memory_equal(sig, cert + 76, 64);
    /* and building the whole cert from its fields gives the same 140 bytes */
    assert_int_equal(ob_ed_cert_parse(&c, cert, sizeof(cert), &d), OB_OK);
    assert_int_equal(
        ob_ed_cert_create(mine, &n, c.type, c.certified, c.expiration_hours, bexp, Ab, &d), OB_OK);
    assert_int_equal(n, sizeof(cert));
    assert_memory_equal(mine, cert, sizeof(cert));
    ob_secfree(bexp);
    vec_free(vf);
}

/* Optional independent cross-check: values stem / python-cryptography made. */
static void test_extra_vectors(void **state)
{
    const char *path = getenv("OB_HSV3_EXTRA_VECTORS");
    vec_file *vf;
    size_t i, ncase;

    (void)state;
    if (path == NULL || *path == '\0')
        skip();
    assert_true(path[0] == '/');
    vf = vec_load(path);
    assert_non_null(vf);
    ncase = vec_count_sections(vf, "case ");
    assert_true(ncase > 0);
    for (i = 0; i < ncase; i++) {
        char sec[32];
        uint8_t exp[64], A[32], Ab[32], Abw[32], bexpw[64], msg[64], sigw[64], sig[64], rkey[32];
        uint8_t *bexp = ob_secalloc(64);
        uint64_t tp = 0, len = 0, now = 0, start = 0, revw = 0, rev = 0;

        assert_non_null(bexp);
        snprintf(sec, sizeof(sec), "case %zu", i);
        assert_int_equal(vec_hex(vf, sec, "expanded_seckey", exp, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "pubkey", A, 32), 0);
        assert_int_equal(vec_u64(vf, sec, "tp", 0, &tp), 0);
        assert_int_equal(vec_u64(vf, sec, "length", 0, &len), 0);
        assert_int_equal(vec_hex(vf, sec, "blinded_pubkey", Abw, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "blinded_expanded_seckey", bexpw, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "message", msg, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "blinded_signature", sigw, 64), 0);
        assert_int_equal(vec_u64(vf, sec, "now", 0, &now), 0);
        assert_int_equal(vec_u64(vf, sec, "run_start", 0, &start), 0);
        assert_int_equal(vec_u64(vf, sec, "rev_counter", 0, &revw), 0);

        assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, len), 0);
        assert_memory_equal(Ab, Abw, 32);
        assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, tp, len), 0);
        assert_memory_equal(bexp, bexpw, 64);
        assert_int_equal(ob_ed25519_sign_expanded(sig, msg, 64, bexp, Ab), 0);
        assert_memory_equal(sig, sigw, 64);
        /* tor's OPE key of the blinded key, then its counter at now */
        assert_int_equal(ofl_hsv3_rev_counter_key(rkey, bexp), 0);
        assert_int_equal(ob_hsv3_rev_counter_from_key(&rev, rkey, now, start), 0);
        assert_int_equal(rev, revw);
        ob_secfree(bexp);
    }
    vec_free(vf);
}

static void test_blind_random_keys(void **state)
{
    int round;

    (void)state;
    for (round = 0; round < 20; round++) {
        uint8_t *exp = ob_secalloc(64), *bexp = ob_secalloc(64);
        uint8_t A[32], Ab[32], Ab2[32], sig[64], msg[32];
        uint64_t tp = 19000 + (uint64_t)round;

        assert_non_null(exp);
        assert_non_null(bexp);
        assert_int_equal(ob_ed25519_keygen(exp, A), 0);
        assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, tp, 1440), 0);
        assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, 1440), 0);
        assert_int_equal(ob_ed25519_pub_from_expanded(Ab2, bexp), 0);
        assert_memory_equal(Ab, Ab2, 32);
        assert_int_equal(ob_ed25519_pub_is_valid(Ab), 0);
        ob_random(msg, sizeof(msg));
        assert_int_equal(ob_ed25519_sign_expanded(sig, msg, sizeof(msg), bexp, Ab), 0);
        assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), Ab), 0);
        assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), A), -1);
        ob_secfree(exp);
        ob_secfree(bexp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_raw_param_vectors), cmocka_unit_test(test_blinding_basics),
        cmocka_unit_test(test_known_key_cert_resign), cmocka_unit_test(test_blind_random_keys),
        cmocka_unit_test(test_extra_vectors),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
