/*
 * test_hsv3_desc.c - v3 descriptor verification against the samples in
 * $OB_TESTDATA/v3 (a tor-made descriptor and one with known keys),
 * the layer key vectors in expected_values.txt, the exact decrypted layers,
 * and one regression per rejection reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "fileio.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "onion.h"
#include "secmem.h"

#define TOR_ADDR "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad"
#define KK_ADDR  "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd"
#define TOR_TP   17391
#define KK_TP    19000
#define KK_EXP_H 498751u /* its 08 cert */
#define KK_IP_H  456042u /* its intro point certs (2022-01-09 18:00) */

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

static void addr_key(uint8_t pk[32], const char *addr)
{
    ob_diag d;

    assert_int_equal(ob_onion_v3_decode(pk, addr, strlen(addr), &d), OB_OK);
}

static void hex(uint8_t *out, size_t n, const char *h)
{
    assert_int_equal(ob_hex_decode(out, n, h, strlen(h)), 0);
}

/* Verify text and return the reason (desc freed unless wanted). */
static ob_hsv3_reason verify(const uint8_t *t, size_t n, const char *addr, uint64_t tp,
                             uint64_t now, ob_hsv3_desc **keep, ob_diag *d)
{
    uint8_t A[32];
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_reason why = OB_HSV3_MALFORMED;
    ob_hsv3_verify_opts o;
    ob_err e;

    memset(&o, 0, sizeof(o));
    o.now = now;
    o.reason = &why;
    addr_key(A, addr);
    e = ob_hsv3_desc_verify(t, n, A, tp, &OB_TP_LIVE, &o, &desc, d);
    if (e == OB_OK) {
        assert_int_equal(why, OB_HSV3_OK);
        assert_non_null(desc);
    } else {
        assert_null(desc);
        assert_int_not_equal(why, OB_HSV3_OK);
        assert_true(strlen(d->msg) > 0);
    }
    if (keep != NULL)
        *keep = desc;
    else
        ob_hsv3_desc_free(desc);
    return why;
}

/* A copy of t with the first occurrence of `from` replaced by `to`. */
static uint8_t *edit(const uint8_t *t, size_t n, const char *from, const char *to, size_t *nn)
{
    const char *at = strstr((const char *)t, from);
    size_t off, fl = strlen(from), tl = strlen(to);
    uint8_t *o;

    assert_non_null(at);
    off = (size_t)(at - (const char *)t);
    o = malloc(n - fl + tl + 1);
    assert_non_null(o);
    memcpy(o, t, off);
    memcpy(o + off, to, tl);
    memcpy(o + off + tl, t + off + fl, n - off - fl);
    *nn = n - fl + tl;
    o[*nn] = 0;
    return o;
}

static void test_tor_sample(void **state)
{
    size_t n;
    uint8_t *t = load("hidden_service_v3", &n);
    uint8_t want[32];
    ob_hsv3_desc *desc;
    ob_diag d;
    static const uint8_t ls0[] = { 2,    2,    20,   0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
                                   0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
                                   0x43, 0,    6,    1,    2,    3,    4,    0x23, 0x29 };

    (void)state;
    assert_int_equal(n, 14103);
    assert_int_equal(verify(t, n, TOR_ADDR, TOR_TP, 0, &desc, &d), OB_HSV3_OK);
    assert_int_equal(desc->lifetime_min, 180);
    assert_int_equal(desc->revision, 42);
    assert_int_equal(desc->cert_expiration_hours, 417407);
    hex(want, 32, "548697defd6777a7f33be03a61b0670831e7bf9e943d053ce4cc2c93c959836f");
    assert_memory_equal(desc->blinded_key, want, 32);
    hex(want, 32, "92e680fa57552e7d484c9d2a3edb46fbc076e54ea90b77bb84e3e6d5657d52a1");
    assert_memory_equal(desc->signing_key, want, 32);
    hex(want, 32, "25501477410d52b310ab77dfc1905ff11d56618a868d01c2288629cb8f5fa992");
    assert_memory_equal(desc->subcredential, want, 32);
    assert_int_equal(desc->n_auth_clients, 16);
    assert_int_equal(desc->client_auth_used, 0);
    assert_true(desc->create2_ntor);
    assert_true(desc->intro_auth_required);
    assert_true(desc->single_onion);
    assert_int_equal(desc->n_intros, 4);
    assert_int_equal(desc->intros[0].link_spec_len, sizeof(ls0));
    assert_memory_equal(desc->intros[0].link_spec, ls0, sizeof(ls0));
    memset(want, 0, 32);
    assert_memory_equal(desc->intros[0].onion_key, want, 32);
    assert_memory_equal(desc->intros[0].enc_key, want, 32);
    ob_hsv3_desc_free(desc);
    /* Its certificates expired in 2017: with a clock, the descriptor is refused for that. */
    assert_int_equal(verify(t, n, TOR_ADDR, TOR_TP, 1795000000, NULL, &d), OB_HSV3_EXPIRED);
    assert_non_null(strstr(d.msg, "expired"));
    free(t);
}

static void test_known_key_sample(void **state)
{
    size_t n;
    uint8_t *t = load("known_key_v3_descriptor", &n);
    uint8_t want[65];
    ob_hsv3_desc *desc;
    ob_diag d;
    uint64_t expiry = (uint64_t)KK_IP_H * 3600;

    (void)state;
    assert_int_equal(verify(t, n, KK_ADDR, KK_TP, expiry - 60, &desc, &d), OB_HSV3_OK);
    assert_int_equal(desc->revision, 1234567);
    hex(want, 32, "b7b89947173d48b709da6a56f2c97e6a76b4be9e48f431b77d8c56211f4f8139");
    assert_memory_equal(desc->blinded_key, want, 32);
    hex(want, 32, "e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0");
    assert_memory_equal(desc->signing_key, want, 32);
    hex(want, 32, "e31c230fc055e5ed357d564fb0e41a0caec64ce234418161a6e75293e00f7eb4");
    assert_memory_equal(desc->subcredential, want, 32);
    assert_int_equal(desc->n_intros, 3);
    hex(want, 65,
        "030006c000020a23290214a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a00320"
        "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
    assert_int_equal(desc->intros[0].link_spec_len, 65);
    assert_memory_equal(desc->intros[0].link_spec, want, 65);
    /* stem's builder certifies the auth key in the 0B cert: recorded, tolerated like tor. */
    assert_int_equal(desc->intros[0].enc_cert_binds, 0);
    ob_hsv3_desc_free(desc);
    /* Expired intro point certs, then an expired 08 cert. */
    assert_int_equal(verify(t, n, KK_ADDR, KK_TP, expiry, NULL, &d), OB_HSV3_EXPIRED);
    assert_non_null(strstr(d.msg, "intro point 0: auth-key"));
    assert_int_equal(verify(t, n, KK_ADDR, KK_TP, (uint64_t)KK_EXP_H * 3600, NULL, &d),
                     OB_HSV3_EXPIRED);
    assert_non_null(strstr(d.msg, "descriptor-signing-key-cert"));
    {
        uint8_t A[32];
        ob_hsv3_desc *x = NULL;
        ob_hsv3_verify_opts o;
        ob_hsv3_reason why;
        memset(&o, 0, sizeof(o));
        o.reason = &why;
        o.strict_enc_cert = 1;
        addr_key(A, KK_ADDR);
        assert_int_equal(ob_hsv3_desc_verify(t, n, A, KK_TP, &OB_TP_LIVE, &o, &x, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(why, OB_HSV3_BAD_INTRO);
        assert_non_null(strstr(d.msg, "enc-key-cert"));
    }
    free(t);
}

static void check_keys(const ob_hsv3_outer *o, const uint8_t *secret, const uint8_t subcred[32],
                       const uint8_t *salt, int outer, const char *k, const char *iv,
                       const char *mk)
{
    uint8_t key[32], ivb[16], mac[32], w[32];

    assert_int_equal(
        ob_hsv3_layer_keys(key, ivb, mac, secret, 32, subcred, o->revision, salt, outer), 0);
    hex(w, 32, k);
    assert_memory_equal(key, w, 32);
    hex(w, 16, iv);
    assert_memory_equal(ivb, w, 16);
    hex(w, 32, mk);
    assert_memory_equal(mac, w, 32);
}

/* Layer keys from the listed salts, and both plaintexts byte for byte. */
static void test_layers(void **state)
{
    size_t n, en, mn;
    uint8_t *t = load("hidden_service_v3", &n);
    uint8_t *exp_mid = load("hidden_service_v3.expected_superencrypted_plaintext", &mn);
    uint8_t *exp_in = load("hidden_service_v3.expected_encrypted_plaintext", &en);
    uint8_t Ab[32], sub[32], salt[16];
    ob_hsv3_outer o;
    ob_buf p1, p2;
    ob_diag d;
    const char *m, *e;
    size_t i, text_len;
    uint8_t *inner_blob = NULL;
    size_t inner_len = 0;

    (void)state;
    hex(Ab, 32, "548697defd6777a7f33be03a61b0670831e7bf9e943d053ce4cc2c93c959836f");
    hex(sub, 32, "25501477410d52b310ab77dfc1905ff11d56618a868d01c2288629cb8f5fa992");
    assert_int_equal(ob_hsv3_outer_parse(t, n, &o, &d), OB_OK);
    assert_int_equal(o.blob_len, 10048);
    assert_int_equal(o.signed_len, 14006);
    hex(salt, 16, "266bbae965e7d3e0832d754cd369fce6");
    assert_memory_equal(o.blob, salt, 16);
    check_keys(&o, Ab, sub, salt, 1,
               "6f963da1e629a5c822d4048aa62b3f419fec4016895b7f9c7dc8427f5799e7fd",
               "517feddef553f7246eac7bebb9630c11",
               "d037d60fc14a3a534042e8d2fe89eb484025e3d7bc1a20c7548a62efcba74325");
    ob_buf_init(&p1);
    ob_buf_init(&p2);
    assert_int_equal(ob_hsv3_layer_decrypt(o.blob, o.blob_len, Ab, 32, sub, o.revision, 1, &p1, &d),
                     OB_OK);
    /* The expected file holds the padding too: our plaintext is its text part. */
    assert_int_equal(mn, 10000);
    text_len = strnlen((const char *)exp_mid, mn);
    assert_int_equal(p1.len, text_len);
    assert_int_equal(text_len, 10000 - 3278);
    assert_memory_equal(p1.p, exp_mid, text_len);
    for (i = text_len; i < mn; i++)
        assert_int_equal(exp_mid[i], 0);
    /* The inner blob, taken from the middle layer, and its keys. */
    m = strstr((const char *)exp_mid, "encrypted\n-----BEGIN MESSAGE-----\n");
    assert_non_null(m);
    {
        ob_cur c;
        ob_buf blob;
        ob_buf_init(&blob);
        ob_cur_init(&c, m + 10, text_len - (size_t)(m + 10 - (const char *)exp_mid));
        assert_int_equal(ob_pem_decode(&c, "MESSAGE", 50000, &blob, &d), OB_OK);
        inner_len = blob.len;
        inner_blob = ob_buf_detach(&blob, NULL);
    }
    assert_int_equal(inner_len, 4029);
    hex(salt, 16, "f1c8335ef3f6ce9dd132c3bfd96014cc");
    assert_memory_equal(inner_blob, salt, 16);
    check_keys(&o, Ab, sub, salt, 0,
               "1808326d2c4ac72ae5093e0271bf4674295f83fe4c4d0f706b8e305bb6935852",
               "511c153ecb1cb0efd6e2c1f760584bcf",
               "830c617e1652e567fdbcf8339ee855b2aaa7d72fffd4ac887eaff15947f354b8");
    assert_int_equal(
        ob_hsv3_layer_decrypt(inner_blob, inner_len, Ab, 32, sub, o.revision, 0, &p2, &d), OB_OK);
    assert_int_equal(p2.len, en);
    assert_memory_equal(p2.p, exp_in, en);
    /* MAC failure: any flipped ciphertext byte, and the wrong layer constant. */
    inner_blob[100] ^= 1;
    ob_buf_reset(&p2);
    assert_int_equal(
        ob_hsv3_layer_decrypt(inner_blob, inner_len, Ab, 32, sub, o.revision, 0, &p2, &d),
        OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "MAC"));
    inner_blob[100] ^= 1;
    assert_int_equal(
        ob_hsv3_layer_decrypt(inner_blob, inner_len, Ab, 32, sub, o.revision, 1, &p2, &d),
        OB_ERR_VERIFY);
    assert_int_equal(ob_hsv3_layer_decrypt(inner_blob, 48, Ab, 32, sub, o.revision, 0, &p2, &d),
                     OB_ERR_RANGE);
    e = NULL;
    (void)e;
    free(inner_blob);
    ob_buf_free(&p1);
    ob_buf_free(&p2);
    ob_hsv3_outer_clear(&o);
    free(t);
    free(exp_mid);
    free(exp_in);
}

/* Every rejection has its own reason, and the message says where. */
static void test_rejections(void **state)
{
    size_t n, nn;
    uint8_t *t = load("known_key_v3_descriptor", &n), *x;
    ob_diag d;
    char *sig;
    uint64_t now = (uint64_t)KK_IP_H * 3600 - 3600;

    (void)state;
    /* Flipped signature character. */
    x = malloc(n + 1);
    memcpy(x, t, n + 1);
    sig = strstr((char *)x, "\nsignature ") + 11;
    *sig = *sig == 'A' ? 'B' : 'A';
    assert_int_equal(verify(x, n, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_BAD_SIGNATURE);
    /* Any flipped byte in the signed part (here a revision digit). */
    memcpy(x, t, n + 1);
    *(strstr((char *)x, "revision-counter 1234567") + 17) = '2';
    assert_int_equal(verify(x, n, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_BAD_SIGNATURE);
    free(x);
    /* Wrong period / wrong address / expired. */
    assert_int_equal(verify(t, n, KK_ADDR, KK_TP + 1, now, NULL, &d), OB_HSV3_WRONG_PERIOD);
    assert_non_null(strstr(d.msg, "19000"));
    assert_int_equal(verify(t, n, TOR_ADDR, KK_TP, now, NULL, &d), OB_HSV3_WRONG_ADDRESS);
    assert_int_equal(verify(t, n, KK_ADDR, KK_TP, (uint64_t)KK_EXP_H * 3600 + 1, NULL, &d),
                     OB_HSV3_EXPIRED);
    /* Unsupported version, lifetime too long, unknown line, reordered lines. */
    x = edit(t, n, "hs-descriptor 3", "hs-descriptor 4", &nn);
    assert_int_equal(verify(x, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_UNSUPPORTED);
    free(x);
    x = edit(t, n, "descriptor-lifetime 180", "descriptor-lifetime 721", &nn);
    assert_int_equal(verify(x, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_MALFORMED);
    assert_non_null(strstr(d.msg, "offset 16"));
    free(x);
    x = edit(t, n, "descriptor-lifetime 180", "descriptor-lifetime 0180", &nn);
    assert_int_equal(verify(x, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_MALFORMED);
    free(x);
    x = edit(t, n, "revision-counter", "extra-line\nrevision-counter", &nn);
    assert_int_equal(verify(x, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_MALFORMED);
    free(x);
    /* A tampered cert byte (inside its base64): the cert signature fails first. */
    x = edit(t, n, "-----BEGIN ED25519 CERT-----\nAQgAB", "-----BEGIN ED25519 CERT-----\nAQgAC",
             &nn);
    assert_int_equal(verify(x, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_BAD_CERT);
    free(x);
    /* Truncated: every cut refuses cleanly. */
    for (nn = 0; nn < n; nn += 97)
        assert_int_equal(verify(t, nn, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_MALFORMED);
    /* Trailing bytes after the signature line. */
    x = malloc(n + 8);
    memcpy(x, t, n);
    memcpy(x + n, "\nfoo\n", 6);
    assert_int_equal(verify(x, n + 5, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_MALFORMED);
    free(x);
    /* Too large. */
    x = calloc(1, 50000);
    memcpy(x, t, n);
    assert_int_equal(verify(x, 50000, KK_ADDR, KK_TP, now, NULL, &d), OB_HSV3_TOO_LARGE);
    free(x);
    free(t);
}

/*
 * Issue 14: "for (t = tp - 3; t <= tp + 3; t++)" never ended for tp = 2^64-4
 * (tp + 3 = UINT64_MAX), and publish/run hung on such a response.  Now a
 * period beyond 2^32 is refused before anything is blinded, and the loop over
 * the neighbours ends at the top of the range.  The alarm turns a hang back
 * into a failure.
 */
static void test_period_out_of_range(void **state)
{
    size_t n;
    uint8_t *t = load("known_key_v3_descriptor", &n);
    uint64_t now = (uint64_t)KK_IP_H * 3600 - 3600;
    ob_diag d;

    (void)state;
    alarm(60);
    assert_int_equal(verify(t, n, KK_ADDR, UINT64_MAX - 3, now, NULL, &d), OB_HSV3_WRONG_PERIOD);
    assert_non_null(strstr(d.msg, "time period 18446744073709551612 is beyond the largest"));
    assert_int_equal(verify(t, n, KK_ADDR, UINT64_MAX, now, NULL, &d), OB_HSV3_WRONG_PERIOD);
    assert_int_equal(verify(t, n, KK_ADDR, OB_TP_MAX + 1, now, NULL, &d), OB_HSV3_WRONG_PERIOD);
    /* The largest accepted period: its neighbours run past it and the loop ends. */
    assert_int_equal(verify(t, n, KK_ADDR, OB_TP_MAX, now, NULL, &d), OB_HSV3_WRONG_ADDRESS);
    /* Period 0 at the bottom, as before. */
    assert_int_equal(verify(t, n, KK_ADDR, 0, now, NULL, &d), OB_HSV3_WRONG_ADDRESS);
    alarm(0);
    free(t);
}

static void test_find_tp(void **state)
{
    size_t n, which = 99;
    uint8_t *t = load("known_key_v3_descriptor", &n), A[32];
    uint64_t tps[3] = { 18999, 19001, 19000 };
    ob_diag d;

    (void)state;
    addr_key(A, KK_ADDR);
    assert_int_equal(ob_hsv3_desc_find_tp(t, n, A, tps, 3, &OB_TP_LIVE, &which, &d), OB_OK);
    assert_int_equal(which, 2);
    assert_int_equal(ob_hsv3_desc_find_tp(t, n, A, tps, 2, &OB_TP_LIVE, &which, &d),
                     OB_ERR_REFUSED);
    addr_key(A, TOR_ADDR);
    assert_int_equal(ob_hsv3_desc_find_tp(t, n, A, tps, 3, &OB_TP_LIVE, &which, &d),
                     OB_ERR_REFUSED);
    free(t);
}

static void test_linkspec(void **state)
{
    ob_diag d;
    static const uint8_t ok[] = { 2, 0, 6, 1, 2, 3, 4, 0, 80, 9, 1, 0xff };
    static const uint8_t empty[] = { 0 };
    static const uint8_t badlen[] = { 1, 0, 5, 1, 2, 3, 4, 0 };
    static const uint8_t trunc[] = { 1, 2, 20, 1, 2 };
    static const uint8_t trail[] = { 1, 9, 0, 7 };

    (void)state;
    assert_int_equal(ob_hsv3_linkspec_check(ok, sizeof(ok), &d), OB_OK);
    assert_int_equal(ob_hsv3_linkspec_check(ok, 0, &d), OB_ERR_TRUNCATED);
    assert_int_equal(ob_hsv3_linkspec_check(empty, 1, &d), OB_ERR_MALFORMED);
    assert_int_equal(ob_hsv3_linkspec_check(badlen, sizeof(badlen), &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "byte 1"));
    assert_int_equal(ob_hsv3_linkspec_check(trunc, sizeof(trunc), &d), OB_ERR_TRUNCATED);
    assert_int_equal(ob_hsv3_linkspec_check(trail, sizeof(trail), &d), OB_ERR_MALFORMED);
}

/* Inner-layer parser on its own: bad inputs and where they are reported. */
static void inner_expect(const uint8_t *t, size_t n, const char *from, const char *to, ob_err want,
                         const char *msg)
{
    uint8_t key[32], *x;
    size_t nn;
    ob_hsv3_desc *desc = NULL;
    ob_diag d;

    hex(key, 32, "92e680fa57552e7d484c9d2a3edb46fbc076e54ea90b77bb84e3e6d5657d52a1");
    x = edit(t, n, from, to, &nn);
    assert_int_equal(ob_hsv3_inner_parse(x, nn, key, 0, 0, &desc, &d), want);
    if (want == OB_OK)
        ob_hsv3_desc_free(desc);
    else
        assert_null(desc);
    if (want != OB_OK && strstr(d.msg, msg) == NULL)
        fail_msg("'%s' not in '%s'", msg, d.msg);
    free(x);
}

static void test_inner_layer(void **state)
{
    size_t n, i;
    uint8_t *t = load("hidden_service_v3_inner_layer", &n), key[32], *big;
    ob_hsv3_desc *desc = NULL;
    ob_diag d;
    const char *first_ip;
    size_t hdr;

    (void)state;
    hex(key, 32, "92e680fa57552e7d484c9d2a3edb46fbc076e54ea90b77bb84e3e6d5657d52a1");
    assert_int_equal(ob_hsv3_inner_parse(t, n, key, 0, 0, &desc, &d), OB_OK);
    assert_int_equal(desc->n_intros, 4);
    ob_hsv3_desc_free(desc);
    /* The intro certs are by this key only. */
    key[0] ^= 1;
    assert_int_equal(ob_hsv3_inner_parse(t, n, key, 0, 0, &desc, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "intro point 0"));
    inner_expect(t, n, "create2-formats 2", "create2-formats 3", OB_ERR_UNSUPPORTED, "lacks 2");
    inner_expect(t, n, "create2-formats 2\n", "", OB_ERR_MALFORMED, "must start with create2");
    inner_expect(t, n, "single-onion-service\n", "single-onion-service\nsingle-onion-service\n",
                 OB_ERR_MALFORMED, "repeated single-onion-service");
    inner_expect(t, n, "enc-key ntor", "enc-key foo", OB_ERR_MALFORMED,
                 "enc-key must appear once, as ntor");
    /* flow-control: printable only, as the signer's builder copies it (fuzz_hsv3_layers) */
    inner_expect(t, n, "create2-formats 2\n", "create2-formats 2\nflow-control 1-2 31\n", OB_OK,
                 "");
    inner_expect(t, n, "create2-formats 2\n", "create2-formats 2\nflow-control 1-\xe6\xe6 31\n",
                 OB_ERR_MALFORMED, "bad flow-control");
    inner_expect(t, n, "create2-formats 2\n", "create2-formats 2\nflow-control 1-\x7f 31\n",
                 OB_ERR_MALFORMED, "bad flow-control");
    inner_expect(t, n, "onion-key ntor", "onion-key x25519", OB_ERR_MALFORMED,
                 "intro point 0 needs exactly one onion-key ntor");
    inner_expect(t, n, "introduction-point AgIUQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0MABgECAwQjKQ==",
                 "introduction-point AA==", OB_ERR_MALFORMED, "NSPEC is 0");
    inner_expect(t, n, "introduction-point AgIUQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0MABgECAwQjKQ==",
                 "introduction-point AgIUQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0MABgECAwQjKQ", OB_OK, "");
    inner_expect(t, n, "-----END ED25519 CERT-----\nenc-key", "-----END ED25519 CERX-----\nenc-key",
                 OB_ERR_MALFORMED, "offset 200: bad base64");
    /* 24 intro points: the whole block of four repeated six times. */
    first_ip = strstr((const char *)t, "introduction-point ");
    hdr = (size_t)(first_ip - (const char *)t);
    big = malloc(hdr + 6 * (n - hdr));
    assert_non_null(big);
    memcpy(big, t, hdr);
    for (i = 0; i < 6; i++)
        memcpy(big + hdr + i * (n - hdr), first_ip, n - hdr);
    assert_int_equal(ob_hsv3_inner_parse(big, hdr + 6 * (n - hdr), key, 0, 0, &desc, &d),
                     OB_ERR_VERIFY); /* key still flipped: the first intro point fails */
    key[0] ^= 1;
    assert_int_equal(ob_hsv3_inner_parse(big, hdr + 6 * (n - hdr), key, 0, 0, &desc, &d),
                     OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "more than 20 introduction points"));
    free(big);
    free(t);
}

static void test_middle_layer(void **state)
{
    size_t n, clients = 0, nn;
    uint8_t *t = load("hidden_service_v3_outer_layer", &n), *x;
    ob_buf blob;
    ob_diag d;

    (void)state;
    n = strnlen((const char *)t, n);
    ob_buf_init(&blob);
    assert_int_equal(ob_hsv3_middle_parse(t, n, &clients, &blob, &d), OB_OK);
    assert_int_equal(clients, 16);
    assert_int_equal(blob.len, 4029);
    ob_buf_reset(&blob);
    x = edit(t, n, "desc-auth-type x25519", "desc-auth-type foo", &nn);
    assert_int_equal(ob_hsv3_middle_parse(x, nn, &clients, &blob, &d), OB_ERR_UNSUPPORTED);
    free(x);
    x = edit(t, n, "desc-auth-ephemeral-key WjZCU9sV1oxkxaPcd7/YozeZgq0lEs6DhWyrdYRNJR4=\n", "",
             &nn);
    assert_int_equal(ob_hsv3_middle_parse(x, nn, &clients, &blob, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "missing desc-auth-ephemeral-key"));
    free(x);
    x = edit(t, n, "auth-client JNil86N07AA ", "auth-client JNil86N07A ", &nn);
    assert_int_equal(ob_hsv3_middle_parse(x, nn, &clients, &blob, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "offset 91: bad auth-client"));
    free(x);
    x = edit(t, n, "encrypted\n", "encrypted\nfuture-keyword 1\n", &nn);
    assert_int_equal(ob_hsv3_middle_parse(x, nn, &clients, &blob, &d), OB_ERR_MALFORMED);
    free(x);
    x = edit(t, n, "auth-client JNil86N07AA", "future-keyword 1\nauth-client JNil86N07AA", &nn);
    assert_int_equal(ob_hsv3_middle_parse(x, nn, &clients, &blob, &d), OB_OK); /* ignored */
    free(x);
    ob_buf_free(&blob);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_sample),   cmocka_unit_test(test_known_key_sample),
        cmocka_unit_test(test_layers),       cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_find_tp),      cmocka_unit_test(test_period_out_of_range),
        cmocka_unit_test(test_linkspec),     cmocka_unit_test(test_inner_layer),
        cmocka_unit_test(test_middle_layer),
    };

    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
