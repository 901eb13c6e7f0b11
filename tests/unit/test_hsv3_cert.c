/*
 * test_hsv3_cert.c - Ed25519 certificates: the two sample descriptors'
 * type-08 certs (testdata/v3/expected_values.txt, read at run time), strict
 * parsing (every truncation, trailing bytes, bad extensions), forgery and
 * expiry with an injected clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ed25519x.h"
#include "encode.h"
#include "hsv3_cert.h"
#include "obtime.h"
#include "secmem.h"
#include "vecfile.h"

#define EXPECTED "v3/expected_values.txt"

static void test_sample_certs(void **state)
{
    static const char *const secs[] = { "hidden_service_v3", "known_key_v3_descriptor" };
    vec_file *vf = vec_load(EXPECTED);
    size_t i;

    (void)state;
    assert_non_null(vf);
    for (i = 0; i < 2; i++) {
        uint8_t raw[OB_CERT_LEN], Ab[32], certified[32], other[32];
        uint64_t exp_h = 0;
        ob_ed_cert c;
        ob_diag d;

        assert_int_equal(vec_hex(vf, secs[i], "signing_cert_hex", raw, sizeof(raw)), 0);
        assert_int_equal(vec_hex(vf, secs[i], "blinded_pubkey", Ab, 32), 0);
        assert_int_equal(vec_u64(vf, secs[i], "signing_cert_expiration_hours", 0, &exp_h), 0);
        if (i == 0)
            assert_int_equal(vec_hex(vf, secs[i], "signing_cert_certified_key", certified, 32), 0);
        else
            assert_int_equal(vec_hex(vf, secs[i], "desc_signing_pubkey", certified, 32), 0);

        assert_int_equal(ob_ed_cert_parse(&c, raw, sizeof(raw), &d), OB_OK);
        assert_int_equal(c.type, OB_CERT_DESC_SIGNING);
        assert_int_equal(c.expiration_hours, exp_h);
        assert_int_equal(c.key_type, 1);
        assert_memory_equal(c.certified, certified, 32);
        assert_true(c.has_signer);
        assert_memory_equal(c.signer, Ab, 32);
        assert_int_equal(c.signed_len, 76);
        assert_int_equal(c.raw_len, sizeof(raw));
        assert_memory_equal(c.sig, raw + 76, 64);

        /* expiry off: valid, with the ext-04 key and with the explicit key */
        assert_int_equal(ob_ed_cert_verify(&c, NULL, 0, &d), OB_OK);
        assert_int_equal(ob_ed_cert_verify(&c, Ab, 0, &d), OB_OK);
        /* clock one second before / at / after the expiry hour */
        assert_int_equal(ob_ed_cert_verify(&c, NULL, exp_h * 3600 - 1, &d), OB_OK);
        assert_int_equal(ob_ed_cert_verify(&c, NULL, exp_h * 3600, &d), OB_ERR_EXPIRED);
        assert_non_null(strstr(d.msg, "certificate expired at"));
        assert_int_equal(ob_ed_cert_verify(&c, NULL, exp_h * 3600 + 1, &d), OB_ERR_EXPIRED);
        /* an explicit signer that differs from ext 04 */
        memcpy(other, Ab, 32);
        other[3] ^= 0x20;
        assert_int_equal(ob_ed_cert_verify(&c, other, 0, &d), OB_ERR_VERIFY);
    }
    /* hidden_service_v3 expired 2017-08-13 23:00:00 UTC */
    {
        uint8_t raw[OB_CERT_LEN];
        ob_ed_cert c;
        ob_diag d;
        assert_int_equal(vec_hex(vf, "hidden_service_v3", "signing_cert_hex", raw, sizeof(raw)), 0);
        assert_int_equal(ob_ed_cert_parse(&c, raw, sizeof(raw), &d), OB_OK);
        assert_int_equal(ob_ed_cert_verify(&c, NULL, 1795000000, &d), OB_ERR_EXPIRED);
        assert_string_equal(d.msg, "certificate expired at 2017-08-13 23:00:00 UTC");
    }
    vec_free(vf);
}

static void test_every_bit_flip_fails(void **state)
{
    vec_file *vf = vec_load(EXPECTED);
    uint8_t raw[OB_CERT_LEN];
    size_t bit;

    (void)state;
    assert_non_null(vf);
    assert_int_equal(vec_hex(vf, "known_key_v3_descriptor", "signing_cert_hex", raw, sizeof(raw)),
                     0);
    for (bit = 0; bit < sizeof(raw) * 8; bit++) {
        ob_ed_cert c;
        ob_diag d;
        ob_err e;
        raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        e = ob_ed_cert_parse(&c, raw, sizeof(raw), &d);
        if (e == OB_OK)
            e = ob_ed_cert_verify(&c, NULL, 0, &d);
        /* a flip in the header may break the structure instead; either way it must not pass */
        assert_int_not_equal(e, OB_OK);
        raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    vec_free(vf);
}

static void test_truncation_and_trailing(void **state)
{
    vec_file *vf = vec_load(EXPECTED);
    uint8_t raw[OB_CERT_LEN + 1];
    size_t n;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(vf);
    assert_int_equal(vec_hex(vf, "known_key_v3_descriptor", "signing_cert_hex", raw, OB_CERT_LEN),
                     0);
    for (n = 0; n < OB_CERT_LEN; n++) {
        assert_int_equal(ob_ed_cert_parse(&c, raw, n, &d), OB_ERR_TRUNCATED);
        assert_non_null(strstr(d.msg, "certificate"));
    }
    assert_int_equal(ob_ed_cert_parse(&c, raw, OB_CERT_LEN, &d), OB_OK);
    raw[OB_CERT_LEN] = 0;
    assert_int_equal(ob_ed_cert_parse(&c, raw, OB_CERT_LEN + 1, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "offset 140"));
    assert_non_null(strstr(d.msg, "trailing"));
    {
        static uint8_t big[OB_CERT_MAX_LEN + 1];
        memcpy(big, raw, OB_CERT_LEN);
        assert_int_equal(ob_ed_cert_parse(&c, big, sizeof(big), &d), OB_ERR_RANGE);
    }
    vec_free(vf);
}

/* Build a cert with arbitrary extensions and sign it properly, so that only
 * the parser's structural rules can reject it. */
static size_t build_cert(uint8_t *out, const uint8_t *exts, size_t ext_len, uint8_t n_ext,
                         const uint8_t exp[64], const uint8_t pk[32], uint8_t version)
{
    size_t n = 0;
    out[n++] = version;
    out[n++] = OB_CERT_INTRO_AUTH;
    ob_store_u32(out + n, 500000);
    n += 4;
    out[n++] = 1;
    memset(out + n, 0x5a, 32);
    n += 32;
    out[n++] = n_ext;
    memcpy(out + n, exts, ext_len);
    n += ext_len;
    assert_int_equal(ob_ed25519_sign_expanded(out + n, out, n, exp, pk), 0);
    return n + 64;
}

static void test_extensions(void **state)
{
    uint8_t *exp = ob_secalloc(64);
    uint8_t pk[32], cert[400], ext[200];
    size_t n, e;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(exp);
    assert_int_equal(ob_ed25519_keygen(exp, pk), 0);

    /* ext 04 + an unknown ext with flags 00: accepted, unknown ignored */
    e = 0;
    ob_store_u16(ext + e, 32);
    ext[e + 2] = 0x04;
    ext[e + 3] = 0;
    memcpy(ext + e + 4, pk, 32);
    e += 36;
    ob_store_u16(ext + e, 3);
    ext[e + 2] = 0x77;
    ext[e + 3] = 0x00;
    memcpy(ext + e + 4, "abc", 3);
    e += 7;
    n = build_cert(cert, ext, e, 2, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_OK);
    assert_int_equal(c.signed_len, n - 64);
    assert_int_equal(ob_ed_cert_verify(&c, NULL, 0, &d), OB_OK);

    /* the same unknown ext with flag 01 (affects validation): rejected */
    ext[36 + 3] = 0x01;
    n = build_cert(cert, ext, e, 2, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "offset 76"));

    /* ext 04 twice */
    memcpy(ext + 36, ext, 36);
    n = build_cert(cert, ext, 72, 2, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_MALFORMED);

    /* ext 04 with a wrong length */
    ob_store_u16(ext, 31);
    n = build_cert(cert, ext, 35, 1, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_MALFORMED);

    /* an extension length running past the end */
    ob_store_u16(ext, 0xffff);
    n = build_cert(cert, ext, 36, 1, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_TRUNCATED);
    assert_non_null(strstr(d.msg, "offset 40"));

    /* no extensions: parses, but verify needs an explicit signer */
    n = build_cert(cert, ext, 0, 0, exp, pk, 1);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_OK);
    assert_false(c.has_signer);
    assert_int_equal(ob_ed_cert_verify(&c, NULL, 0, &d), OB_ERR_MALFORMED);
    assert_int_equal(ob_ed_cert_verify(&c, pk, 0, &d), OB_OK);

    /* version 2 */
    ob_store_u16(ext, 32);
    n = build_cert(cert, ext, 36, 1, exp, pk, 2);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "offset 0"));
    ob_secfree(exp);
}

static void test_create_and_expiry(void **state)
{
    uint8_t *exp = ob_secalloc(64), *exp2 = ob_secalloc(64);
    uint8_t pk[32], pk2[32], certified[32], cert[OB_CERT_LEN];
    uint64_t now = 1795000000; /* 2026-11-18 */
    uint32_t eh;
    size_t n = 0;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(exp);
    assert_non_null(exp2);
    assert_int_equal(ob_ed25519_keygen(exp, pk), 0);
    assert_int_equal(ob_ed25519_keygen(exp2, pk2), 0);
    ob_random(certified, 32);

    /* tor: CEIL((now + lifetime) / 3600) */
    eh = ob_ed_cert_expiry_hours(now, 54 * 3600);
    assert_int_equal(eh, (now + 54 * 3600 + 3599) / 3600);
    assert_int_equal(ob_ed_cert_expiry_hours(3600, 0), 1);
    assert_int_equal(ob_ed_cert_expiry_hours(3601, 0), 2);

    assert_int_equal(ob_ed_cert_create(cert, &n, OB_CERT_INTRO_ENC, certified, eh, exp, pk, &d),
                     OB_OK);
    assert_int_equal(n, OB_CERT_LEN);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_OK);
    assert_int_equal(c.type, OB_CERT_INTRO_ENC);
    assert_memory_equal(c.certified, certified, 32);
    assert_memory_equal(c.signer, pk, 32);
    assert_int_equal(ob_ed_cert_verify(&c, pk, now, &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, pk, (uint64_t)eh * 3600 - 1, &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, pk, (uint64_t)eh * 3600, &d), OB_ERR_EXPIRED);
    assert_int_equal(ob_ed_cert_verify(&c, pk, (uint64_t)eh * 3600 + 1, &d), OB_ERR_EXPIRED);
    assert_int_equal(ob_ed_cert_verify(&c, pk2, 0, &d), OB_ERR_VERIFY);

    /* deterministic */
    {
        uint8_t again[OB_CERT_LEN];
        assert_int_equal(
            ob_ed_cert_create(again, &n, OB_CERT_INTRO_ENC, certified, eh, exp, pk, &d), OB_OK);
        assert_memory_equal(again, cert, OB_CERT_LEN);
    }
    /* a mismatched key pair is caught by the self-check */
    assert_int_equal(ob_ed_cert_create(cert, &n, OB_CERT_INTRO_AUTH, certified, eh, exp, pk2, &d),
                     OB_ERR_VERIFY);

    /* Expiration hours past year 9999 (a time a signer never makes): refused
     * by the parser with the offset, and never made by the helper. */
    assert_int_equal(ob_ed_cert_expiry_hours(UINT64_MAX - 10, 3600), OB_TIME_MAX / 3600);
    assert_int_equal(ob_ed_cert_expiry_hours(OB_TIME_MAX, 54 * 3600), OB_TIME_MAX / 3600);
    assert_int_equal(ob_ed_cert_create(cert, &n, OB_CERT_INTRO_ENC, certified,
                                       (uint32_t)(OB_TIME_MAX / 3600), exp, pk, &d),
                     OB_OK);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, pk, now, &d), OB_OK);
    assert_int_equal(ob_ed_cert_create(cert, &n, OB_CERT_INTRO_ENC, certified,
                                       (uint32_t)(OB_TIME_MAX / 3600) + 1, exp, pk, &d),
                     OB_OK);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "offset 2: expiration hour 70389528 is beyond year 9999"));
    assert_int_equal(
        ob_ed_cert_create(cert, &n, OB_CERT_INTRO_ENC, certified, UINT32_MAX, exp, pk, &d), OB_OK);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_ERR_RANGE);

    /* a forged signature (signed by another key, ext 04 still naming pk) */
    assert_int_equal(ob_ed_cert_create(cert, &n, OB_CERT_DESC_SIGNING, certified, eh, exp, pk, &d),
                     OB_OK);
    assert_int_equal(ob_ed25519_sign_expanded(cert + 76, cert, 76, exp2, pk2), 0);
    assert_int_equal(ob_ed_cert_parse(&c, cert, n, &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, NULL, 0, &d), OB_ERR_VERIFY);
    assert_string_equal(d.msg, "bad certificate signature");
    ob_secfree(exp);
    ob_secfree(exp2);
}

static void test_pem_round_trip(void **state)
{
    vec_file *vf = vec_load(EXPECTED);
    uint8_t raw[OB_CERT_LEN];
    ob_buf pem, back;
    ob_cur cur;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(vf);
    assert_int_equal(vec_hex(vf, "known_key_v3_descriptor", "signing_cert_hex", raw, sizeof(raw)),
                     0);
    ob_buf_init(&pem);
    ob_buf_init(&back);
    ob_pem_encode(&pem, OB_CERT_PEM_TAG, raw, sizeof(raw));
    assert_true(ob_buf_ok(&pem));
    assert_true(pem.len > 28);
    assert_memory_equal(pem.p, "-----BEGIN ED25519 CERT-----\n", 29);
    ob_cur_init(&cur, pem.p, pem.len);
    assert_int_equal(ob_pem_decode(&cur, OB_CERT_PEM_TAG, OB_CERT_MAX_LEN, &back, &d), OB_OK);
    assert_int_equal(back.len, sizeof(raw));
    assert_int_equal(ob_ed_cert_parse(&c, back.p, back.len, &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, NULL, 0, &d), OB_OK);
    ob_buf_free(&pem);
    ob_buf_free(&back);
    vec_free(vf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_certs),
        cmocka_unit_test(test_every_bit_flip_fails),
        cmocka_unit_test(test_truncation_and_trailing),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_create_and_expiry),
        cmocka_unit_test(test_pem_round_trip),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
