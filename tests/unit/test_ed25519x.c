/*
 * test_ed25519x.c - expanded-key Ed25519 against tor's ed25519 vectors
 * (testdata/ed25519/tor_ed25519_blinding_vectors.txt, read at run time),
 * the known-key descriptor's keys, and forgery/round-trip checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "ed25519x.h"
#include "secmem.h"
#include "vecfile.h"

#define ED_VECTORS "ed25519/tor_ed25519_blinding_vectors.txt"

static void test_tor_vectors(void **state)
{
    vec_file *vf = vec_load(ED_VECTORS);
    size_t i, nvec;

    (void)state;
    assert_non_null(vf);
    nvec = vec_count_sections(vf, "vector ");
    assert_int_equal(nvec, 10);
    for (i = 0; i < nvec; i++) {
        char sec[32];
        uint8_t seed[32], exp_want[64], pk_want[32], sig_want[64], curve[32];
        uint8_t *exp = ob_secalloc(64);
        uint8_t pk[32], sig[64], ed[32];

        assert_non_null(exp);
        snprintf(sec, sizeof(sec), "vector %zu", i);
        assert_int_equal(vec_hex(vf, sec, "seed", seed, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "expanded_secret_key", exp_want, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "public_key", pk_want, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "self_signature", sig_want, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "curve25519_public_key", curve, 32), 0);

        assert_int_equal(ob_ed25519_expand_seed(exp, seed), 0);
        assert_memory_equal(exp, exp_want, 64);
        assert_int_equal(ob_ed25519_pub_from_expanded(pk, exp), 0);
        assert_memory_equal(pk, pk_want, 32);
        assert_int_equal(ob_ed25519_pub_is_valid(pk), 0);

        /* self_signature: message = the 32-byte public key */
        assert_int_equal(ob_ed25519_sign_expanded(sig, pk, 32, exp, pk), 0);
        assert_memory_equal(sig, sig_want, 64);
        assert_int_equal(ob_ed25519_verify(sig, pk, 32, pk), 0);
        sig[i % 64] ^= 0x01;
        assert_int_equal(ob_ed25519_verify(sig, pk, 32, pk), -1);

        /* Edwards form of the x25519 key: equal up to the sign bit */
        assert_int_equal(ob_curve25519_to_ed25519(ed, curve, pk_want[31] >> 7), 0);
        assert_memory_equal(ed, pk_want, 32);
        assert_int_equal(ob_curve25519_to_ed25519(ed, curve, !(pk_want[31] >> 7)), 0);
        assert_memory_not_equal(ed, pk_want, 32);
        ob_secfree(exp);
    }
    vec_free(vf);
}

static void test_known_key(void **state)
{
    vec_file *vf = vec_load("v3/expected_values.txt");
    const char *sec = "known_key_v3_descriptor";
    uint8_t seed[32], want[64], pk[32], pkw[32];
    uint8_t *exp = ob_secalloc(64);

    (void)state;
    assert_non_null(vf);
    assert_non_null(exp);
    assert_int_equal(vec_hex(vf, sec, "identity_seed", seed, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "identity_expanded_seckey", want, 64), 0);
    assert_int_equal(vec_hex(vf, sec, "identity_pubkey", pkw, 32), 0);
    assert_int_equal(ob_ed25519_expand_seed(exp, seed), 0);
    assert_memory_equal(exp, want, 64);
    assert_int_equal(ob_ed25519_pub_from_expanded(pk, exp), 0);
    assert_memory_equal(pk, pkw, 32);

    assert_int_equal(vec_hex(vf, sec, "desc_signing_seed", seed, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "desc_signing_pubkey", pkw, 32), 0);
    assert_int_equal(ob_ed25519_expand_seed(exp, seed), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(pk, exp), 0);
    assert_memory_equal(pk, pkw, 32);
    ob_secfree(exp);
    vec_free(vf);
}

/* libsodium's own seed-based signer is an independent reference for the
 * composition: both must agree byte for byte on random keys/messages. */
static void test_matches_libsodium(void **state)
{
    int round;

    (void)state;
    for (round = 0; round < 50; round++) {
        uint8_t seed[32], pk[32], pk2[32], sk[64], msg[200], sig[64], sig2[64];
        uint8_t *exp = ob_secalloc(64);
        size_t mlen = (size_t)round * 4;

        assert_non_null(exp);
        ob_random(seed, sizeof(seed));
        ob_random(msg, sizeof(msg));
        assert_int_equal(crypto_sign_ed25519_seed_keypair(pk2, sk, seed), 0);
        assert_int_equal(ob_ed25519_expand_seed(exp, seed), 0);
        assert_int_equal(ob_ed25519_pub_from_expanded(pk, exp), 0);
        assert_memory_equal(pk, pk2, 32);
        assert_int_equal(ob_ed25519_sign_expanded(sig, msg, mlen, exp, pk), 0);
        assert_int_equal(crypto_sign_ed25519_detached(sig2, NULL, msg, mlen, sk), 0);
        assert_memory_equal(sig, sig2, 64);
        sodium_memzero(sk, sizeof(sk));
        ob_secfree(exp);
    }
}

static void test_keygen_roundtrip_and_forgery(void **state)
{
    uint8_t *exp = ob_secalloc(64);
    uint8_t pk[32], pk2[32], sig[64], msg[100];
    size_t bit;

    (void)state;
    assert_non_null(exp);
    assert_int_equal(ob_ed25519_keygen(exp, pk), 0);
    assert_int_equal(ob_ed25519_pub_is_valid(pk), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(pk2, exp), 0);
    assert_memory_equal(pk, pk2, 32);
    ob_random(msg, sizeof(msg));
    assert_int_equal(ob_ed25519_sign_expanded(sig, msg, sizeof(msg), exp, pk), 0);
    assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk), 0);
    /* every single flipped bit of the signature, message or key fails */
    for (bit = 0; bit < 64 * 8; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk), -1);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (bit = 0; bit < sizeof(msg) * 8; bit += 7) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk), -1);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (bit = 0; bit < 32 * 8; bit++) {
        memcpy(pk2, pk, 32);
        pk2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk2), -1);
    }
    /* a second key does not verify the first key's signature */
    assert_int_equal(ob_ed25519_keygen(exp, pk2), 0);
    assert_memory_not_equal(pk, pk2, 32);
    assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk2), -1);
    ob_secfree(exp);
}

static void test_curve_edge_cases(void **state)
{
    uint8_t u[32], ed[32];

    (void)state;
    /* u = p - 1 = -1: u + 1 = 0 has no inverse */
    memset(u, 0xff, 32);
    u[0] = 0xec;
    u[31] = 0x7f;
    assert_int_equal(ob_curve25519_to_ed25519(ed, u, 0), -1);
    /* u = 0 maps to y = -1 = p - 1 (the point of order 2) */
    memset(u, 0, 32);
    assert_int_equal(ob_curve25519_to_ed25519(ed, u, 0), 0);
    assert_int_equal(ed[0], 0xec);
    assert_int_equal(ed[31], 0x7f);
    assert_int_equal(ob_curve25519_to_ed25519(ed, u, 2), -1);
    /* small-order points are not valid public keys */
    memset(u, 0, 32);
    u[0] = 1; /* the neutral element */
    assert_int_equal(ob_ed25519_pub_is_valid(u), -1);
    assert_int_equal(ob_ed25519_pub_is_valid(ed), -1);
}

/* A public key that is not the signer's: no signature comes out (the
 * self-check refuses it), so no two signatures of one message with one r. */
static void test_sign_refuses_wrong_public_key(void **state)
{
    uint8_t exp[64], pk[32], exp2[64], pk2[32], sig[64], zero[64];
    static const uint8_t msg[] = "descriptor";

    (void)state;
    memset(zero, 0, sizeof(zero));
    assert_int_equal(ob_ed25519_keygen(exp, pk), 0);
    assert_int_equal(ob_ed25519_keygen(exp2, pk2), 0);
    assert_int_equal(ob_ed25519_sign_expanded(sig, msg, sizeof(msg), exp, pk), 0);
    assert_int_equal(ob_ed25519_verify(sig, msg, sizeof(msg), pk), 0);
    memset(sig, 0xaa, sizeof(sig));
    assert_int_equal(ob_ed25519_sign_expanded(sig, msg, sizeof(msg), exp, pk2), -1);
    assert_memory_equal(sig, zero, sizeof(sig));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_vectors),
        cmocka_unit_test(test_known_key),
        cmocka_unit_test(test_matches_libsodium),
        cmocka_unit_test(test_keygen_roundtrip_and_forgery),
        cmocka_unit_test(test_curve_edge_cases),
        cmocka_unit_test(test_sign_refuses_wrong_public_key),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
