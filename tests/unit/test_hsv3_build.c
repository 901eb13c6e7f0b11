/*
 * test_hsv3_build.c - v3 master descriptors: build, sign, self-verify,
 * select intro points.
 *
 * Backends are simulated with throwaway keys: each "instance" gets its own
 * identity key and intro points (random link specifiers and keys), and its
 * descriptor is built with the same builder, then verified with the
 * verifier, which yields the ob_hsv3_desc the master side selects from.
 * The master descriptors are checked by our own verifier here and by stem
 * in tests/interop/test_v3_stem.sh, which runs this program with
 * OB_V3_INTEROP_DIR set (see interop_main below).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "ed25519x.h"
#include "encode.h"
#include "fileio.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "hsv3_sign.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "secmem.h"
#include "fake_intro.h"

/* 2026-11-22 12:00:00 UTC is the start of a live time period. */
#define T0 1795348800ull

typedef struct key {
    uint8_t *exp; /* secure memory */
    uint8_t pk[32];
} key;

static void key_new(key *k)
{
    k->exp = ob_secalloc(64);
    assert_non_null(k->exp);
    assert_int_equal(ob_ed25519_keygen(k->exp, k->pk), 0);
}

static void key_free(key *k)
{
    ob_secfree(k->exp);
    k->exp = NULL;
}

/* A backend: identity key plus a signed descriptor for tp, verified into *desc. */
typedef struct backend {
    key id;
    uint8_t *text;
    size_t len;
    ob_hsv3_desc *desc;
} backend;

static void backend_make(backend *b, unsigned n_intros, uint64_t tp, uint64_t now)
{
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    ofl_hsv3_sign_in in;
    ob_hsv3_verify_opts o;
    ob_diag d;
    unsigned i;

    key_new(&b->id);
    for (i = 0; i < n_intros; i++) {
        assert_int_equal(ob_test_fake_intro(&ips[i], i), 0);
        ptr[i] = &ips[i];
    }
    memset(&in, 0, sizeof(in));
    in.master_exp = b->id.exp;
    in.master_pk = b->id.pk;
    in.tp = tp;
    in.tpp = &OB_TP_LIVE;
    in.now = now;
    in.intros = ptr;
    in.n_intros = n_intros;
    in.flow_control = "1-2 31";
    if (ofl_hsv3_sign_descriptor(&in, &b->text, &b->len, NULL, &d) != OB_OK)
        fail_msg("backend: %s", d.msg);
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.strict_enc_cert = 1;
    if (ob_hsv3_desc_verify(b->text, b->len, b->id.pk, tp, &OB_TP_LIVE, &o, &b->desc, &d) != OB_OK)
        fail_msg("backend verify: %s", d.msg);
    for (i = 0; i < n_intros; i++)
        ob_hsv3_intro_clear(&ips[i]);
}

static void backend_free(backend *b)
{
    key_free(&b->id);
    free(b->text);
    ob_hsv3_desc_free(b->desc);
}

static int intro_eq(const ob_hsv3_intro *a, const ob_hsv3_intro *b)
{
    return memcmp(a->auth_key, b->auth_key, 32) == 0 &&
           memcmp(a->onion_key, b->onion_key, 32) == 0 && memcmp(a->enc_key, b->enc_key, 32) == 0 &&
           a->link_spec_len == b->link_spec_len &&
           memcmp(a->link_spec, b->link_spec, a->link_spec_len) == 0;
}

/* Re-sign text (in place) with the descriptor signing key after editing the signed part. */
static void resign(uint8_t *text, size_t n, const uint8_t *sexp, const uint8_t pk[32])
{
    static const char prefix[] = "Tor onion service descriptor sig v3";
    char *sig = strstr((char *)text, "\nsignature ") + 1;
    size_t signed_len = (size_t)(sig - (char *)text), pl = strlen(prefix);
    uint8_t *m = malloc(pl + signed_len), s[64];
    char b64[100];

    assert_non_null(m);
    memcpy(m, prefix, pl);
    memcpy(m + pl, text, signed_len);
    assert_int_equal(ob_ed25519_sign_expanded(s, m, pl + signed_len, sexp, pk), 0);
    ob_base64_encode(b64, s, 64, OB_B64_NOPAD);
    assert_true(signed_len + 10 + 86 <= n);
    memcpy(sig + 10, b64, 86);
    free(m);
}

/* With the known keys of testdata: the 08 cert is deterministic and must match byte for byte. */
static void test_known_key_cert_and_build(void **state)
{
    uint8_t seed[32], A[32], sign_pk[32], cert[OB_CERT_LEN], want[140], Ab[32];
    uint8_t *exp = ob_secalloc(64), *bexp = ob_secalloc(64), *sexp = ob_secalloc(64);
    uint8_t *kk = NULL, *text = NULL;
    size_t cl, kn, tn, i;
    ob_hsv3_desc *src = NULL, *got = NULL;
    const ob_hsv3_intro *ptr[3];
    ob_hsv3_build_in b;
    ob_hsv3_verify_opts o;
    ob_hsv3_outer outer;
    ob_diag d;
    char path[1024];
    const char *shared = getenv("OB_TESTDATA");

    (void)state;
    assert_int_equal(
        ob_hex_decode(seed, 32, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
                      64),
        0);
    assert_int_equal(ob_ed25519_expand_seed(exp, seed), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(A, exp), 0);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, exp, A, 19000, 1440), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(
        ob_hex_decode(seed, 32, "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
                      64),
        0);
    assert_int_equal(ob_ed25519_expand_seed(sexp, seed), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(sign_pk, sexp), 0);
    assert_int_equal(
        ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, sign_pk, 498751, bexp, Ab, &d), OB_OK);
    assert_int_equal(
        ob_hex_decode(want, 140,
                      "010800079c3f01e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2"
                      "f00100200400b7b89947173d48b709da6a56f2c97e6a76b4be9e48f431b77d8c56211f4f8139"
                      "9f900488d4e5cc36e757a2d03f345e6fd7087eebdc6d5898adb19a0417574b0331ae519ce4ca"
                      "204d49b67448273006fef59b5ea570ca5d453a288abee4ca700d",
                      280),
        0);
    assert_int_equal(cl, 140);
    assert_memory_equal(cert, want, 140);

    /* Rebuild the sample's intro points under the same keys, and read them back. */
    snprintf(path, sizeof(path), "%s/v3/known_key_v3_descriptor",
             shared ? shared : "tests/data/vectors");
    assert_int_equal(ob_file_read(path, 100000, &kk, &kn, &d), OB_OK);
    memset(&o, 0, sizeof(o));
    assert_int_equal(ob_hsv3_desc_verify(kk, kn, A, 19000, &OB_TP_LIVE, &o, &src, &d), OB_OK);
    for (i = 0; i < 3; i++)
        ptr[i] = &src->intros[i];
    memset(&b, 0, sizeof(b));
    b.identity_pk = A;
    b.tp = 19000;
    b.tpp = &OB_TP_LIVE;
    b.signing_cert = cert;
    b.signing_cert_len = cl;
    b.sign_exp = sexp;
    b.sign_pk = sign_pk;
    b.revision = 1234568;
    b.intros = ptr;
    b.n_intros = 3;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_OK);
    assert_int_equal(strlen((char *)text), tn);
    assert_int_equal(text[tn - 1], '\n');
    o.strict_enc_cert = 1; /* ours certify the enc key, unlike stem's */
    o.now = 498751ull * 3600 - 1;
    assert_int_equal(ob_hsv3_desc_verify(text, tn, A, 19000, &OB_TP_LIVE, &o, &got, &d), OB_OK);
    assert_int_equal(got->n_intros, 3);
    assert_int_equal(got->revision, 1234568);
    assert_int_equal(got->lifetime_min, 180);
    assert_memory_equal(got->signing_key, sign_pk, 32);
    for (i = 0; i < 3; i++) {
        assert_true(intro_eq(&got->intros[i], &src->intros[i]));
        assert_true(got->intros[i].enc_cert_binds);
        assert_int_equal(got->intros[i].auth_cert_expiration_hours, 498751);
    }
    assert_int_equal(got->n_auth_clients, 16);
    /* Outer layer padded to a multiple of 10000. */
    assert_int_equal(ob_hsv3_outer_parse(text, tn, &outer, &d), OB_OK);
    assert_int_equal((outer.blob_len - 48) % 10000, 0);
    ob_hsv3_outer_clear(&outer);
    ob_hsv3_desc_free(got);
    /* A validly signed descriptor whose superencrypted blob was changed: MAC failure. */
    {
        char *blob = strstr((char *)text, "superencrypted\n-----BEGIN MESSAGE-----\n") + 60;
        ob_hsv3_reason why;
        *blob = *blob == 'A' ? 'B' : 'A';
        resign(text, tn, sexp, sign_pk);
        o.reason = &why;
        assert_int_equal(ob_hsv3_desc_verify(text, tn, A, 19000, &OB_TP_LIVE, &o, &got, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(why, OB_HSV3_BAD_MAC);
        assert_non_null(strstr(d.msg, "superencrypted layer MAC"));
        o.reason = NULL;
    }
    free(text);
    /* 20 intro points with the largest link specifiers we accept do not fit 50000 bytes. */
    {
        ob_hsv3_intro big[20];
        const ob_hsv3_intro *bp[20];
        size_t k;
        for (i = 0; i < 20; i++) {
            big[i] = src->intros[i % 3];
            big[i].link_spec = malloc(511);
            assert_non_null(big[i].link_spec);
            big[i].link_spec[0] = 15;
            for (k = 0; k < 15; k++) {
                big[i].link_spec[1 + 34 * k] = 4; /* unknown type: passed through */
                big[i].link_spec[2 + 34 * k] = 32;
                memset(big[i].link_spec + 3 + 34 * k, (int)k, 32);
            }
            big[i].link_spec_len = 511;
            bp[i] = &big[i];
        }
        b.intros = bp;
        b.n_intros = 20;
        assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_RANGE);
        assert_non_null(strstr(d.msg, "below 50000"));
        assert_null(text);
        b.n_intros = 8; /* fewer of them fit */
        assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_OK);
        assert_true(tn < 50000);
        free(text);
        for (i = 0; i < 20; i++)
            free(big[i].link_spec);
        b.intros = ptr;
        b.n_intros = 3;
    }

    /* Revisions in a row through the build cache: each the same bytes as
     * a build of its own; a cache needs a layout seed. */
    {
        uint8_t lseed[OB_HSV3_LAYOUT_SEED_LEN], *one = NULL, *alone = NULL;
        size_t on = 0, an = 0;
        uint64_t revs[3] = { 1000, 2000, 3000 };
        ob_hsv3_build_cache cache;

        memset(lseed, 7, sizeof(lseed));
        memset(&cache, 0, sizeof(cache));
        b.cache = &cache;
        assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_INTERNAL);
        assert_null(text);
        assert_false(cache.ready);
        b.layout_seed = lseed;
        for (i = 0; i < 3; i++) {
            b.revision = revs[i];
            b.cache = &cache;
            assert_int_equal(ob_hsv3_build(&b, &one, &on, &d), OB_OK);
            assert_true(cache.ready);
            b.cache = NULL;
            assert_int_equal(ob_hsv3_build(&b, &alone, &an, &d), OB_OK);
            assert_int_equal(on, an);
            assert_memory_equal(one, alone, on);
            o.now = 498751ull * 3600 - 1;
            assert_int_equal(ob_hsv3_desc_verify(one, on, A, 19000, &OB_TP_LIVE, &o, &got, &d),
                             OB_OK);
            assert_int_equal(got->revision, revs[i]);
            ob_hsv3_desc_free(got);
            free(one);
            free(alone);
        }
        /* a later revision under another signing key is refused */
        b.cache = &cache;
        b.sign_pk = A;
        assert_int_equal(ob_hsv3_build(&b, &one, &on, &d), OB_ERR_INTERNAL);
        assert_null(one);
        b.sign_pk = sign_pk;
        b.cache = NULL;
        ob_hsv3_build_cache_clear(&cache);
        assert_false(cache.ready);
        b.layout_seed = NULL;
        b.revision = 1234568;
    }

    /* Builder refusals: lifetime, intro count, a cert for another key or period. */
    b.lifetime_min = 721;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_RANGE);
    b.lifetime_min = 29;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_RANGE);
    b.lifetime_min = 720;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_OK);
    free(text);
    b.lifetime_min = 0;
    b.n_intros = 21;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_RANGE);
    b.n_intros = 3;
    b.tp = 19001;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_VERIFY);
    b.tp = 19000;
    b.sign_pk = A;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_VERIFY);
    assert_null(text);
    ob_hsv3_desc_free(src);
    free(kk);
    ob_secfree(exp);
    ob_secfree(bexp);
    ob_secfree(sexp);
}

/* The offline signer: window, revision counter growth, expiry, self-check. */
static void test_sign(void **state)
{
    backend be;
    key m;
    ofl_hsv3_sign_in in;
    uint8_t *t1 = NULL, *t2 = NULL;
    size_t n1, n2, i;
    uint64_t r1, r2, tp = ob_hsv3_tp_num(T0 + 3600, &OB_TP_LIVE);
    const ob_hsv3_intro *ptr[3];
    ob_hsv3_desc *got = NULL;
    ob_hsv3_verify_opts o;
    ob_diag d;

    (void)state;
    {
        uint64_t start = 0;
        assert_int_equal(ob_hsv3_tp_start(tp, &OB_TP_LIVE, &start), 0);
        assert_int_equal(start, T0);
    }
    backend_make(&be, 3, tp, T0 + 60);
    key_new(&m);
    for (i = 0; i < 3; i++)
        ptr[i] = &be.desc->intros[i];
    memset(&in, 0, sizeof(in));
    in.master_exp = m.exp;
    in.master_pk = m.pk;
    in.tp = tp;
    in.tpp = &OB_TP_LIVE;
    in.now = T0 + 3600;
    in.intros = ptr;
    in.n_intros = 3;
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t1, &n1, &r1, &d), OB_OK);
    in.now += 10;
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t2, &n2, &r2, &d), OB_OK);
    assert_true(r2 > r1); /* a later ceremony always wins at the HSDir */
    in.rev_offset = 1;
    free(t2);
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t2, &n2, &r1, &d), OB_OK);
    assert_true(r1 > r2);
    in.rev_offset = 0;
    memset(&o, 0, sizeof(o));
    o.now = T0 + 3600;
    o.strict_enc_cert = 1;
    assert_int_equal(ob_hsv3_desc_verify(t1, n1, m.pk, tp, &OB_TP_LIVE, &o, &got, &d), OB_OK);
    /* The certs outlive the descriptor's whole publication window plus its lifetime. */
    assert_int_equal(got->cert_expiration_hours,
                     ob_hsv3_cert_expiry_hours(tp, &OB_TP_LIVE, OB_HSV3_DEFAULT_LIFETIME));
    assert_true((uint64_t)got->cert_expiration_hours * 3600 >= T0 + 36 * 3600 + 180 * 60);
    for (i = 0; i < 3; i++)
        assert_true(intro_eq(&got->intros[i], ptr[i]));
    ob_hsv3_desc_free(got);
    /* Still valid when last published; not for a backend's address; not for the next period. */
    o.now = T0 + 36 * 3600 - 1 + 180 * 60;
    assert_int_equal(ob_hsv3_desc_verify(t1, n1, m.pk, tp, &OB_TP_LIVE, &o, &got, &d), OB_OK);
    ob_hsv3_desc_free(got);
    assert_int_equal(ob_hsv3_desc_verify(t1, n1, be.id.pk, tp, &OB_TP_LIVE, &o, &got, &d),
                     OB_ERR_REFUSED);
    assert_int_equal(ob_hsv3_desc_verify(t1, n1, m.pk, tp + 1, &OB_TP_LIVE, &o, &got, &d),
                     OB_ERR_REFUSED);
    /* Outside the signing window: refused, nothing produced. */
    free(t2);
    t2 = NULL;
    in.now = T0 - 12 * 3600 - 1;
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t2, &n2, NULL, &d), OB_ERR_REFUSED);
    assert_null(t2);
    in.now = T0 + 36 * 3600;
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t2, &n2, NULL, &d), OB_ERR_REFUSED);
    in.now = T0 - 12 * 3600; /* the second-descriptor slot starts here */
    assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t2, &n2, NULL, &d), OB_OK);
    free(t2);
    free(t1);
    key_free(&m);
    backend_free(&be);
}

/*
 * The delegated signer: the offline side certifies a signing key for a
 * period and derives the period's revision-counter key; the online side,
 * holding only those, signs with ob_hsv3_sign_desc.  Its descriptors verify
 * against the master address and count on the ceremony's scale.
 */
static void test_sign_delegated(void **state)
{
    backend be;
    key m, sk;
    uint8_t *bexp = ob_secalloc(64), Ab[32], cert[OB_CERT_LEN], other[OB_CERT_LEN];
    uint8_t revkey[OB_HSV3_REV_KEY_LEN], *t1 = NULL, *t2 = NULL;
    size_t cl, ol, n1, n2, i;
    uint64_t tp = ob_hsv3_tp_num(T0 + 3600, &OB_TP_LIVE), from, until, r1, r2;
    const ob_hsv3_intro *ptr[3];
    ob_hsv3_sign_desc_in in;
    ob_hsv3_compact c;
    ob_hsv3_desc *got = NULL;
    ob_hsv3_verify_opts o;
    ob_diag d;

    (void)state;
    backend_make(&be, 3, tp, T0 + 60);
    key_new(&m);
    key_new(&sk);
    for (i = 0; i < 3; i++)
        ptr[i] = &be.desc->intros[i];
    assert_int_equal(ob_hsv3_desc_window(tp, &OB_TP_LIVE, &from, &until), 0);
    assert_int_equal(from, T0 - 12 * 3600);
    assert_int_equal(until, T0 + 36 * 3600);
    /* "offline": certify sk for tp, and for tp + 1 (a cert of the wrong period) */
    assert_non_null(bexp);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, m.exp, m.pk, tp, OB_TP_LIVE.length_min), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, sk.pk,
                                       ob_hsv3_cert_expiry_hours(tp, &OB_TP_LIVE, 180), bexp, Ab,
                                       &d),
                     OB_OK);
    assert_int_equal(ofl_hsv3_rev_counter_key(revkey, bexp), 0);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, m.exp, m.pk, tp + 1, OB_TP_LIVE.length_min), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed_cert_create(other, &ol, OB_CERT_DESC_SIGNING, sk.pk,
                                       ob_hsv3_cert_expiry_hours(tp + 1, &OB_TP_LIVE, 180), bexp,
                                       Ab, &d),
                     OB_OK);
    ob_secfree(bexp);

    /* "online": the signing key, its cert and the counter key only */
    memset(&in, 0, sizeof(in));
    in.identity_pk = m.pk;
    in.tp = tp;
    in.tpp = &OB_TP_LIVE;
    in.now = T0 + 3600;
    in.sign_exp = sk.exp;
    in.sign_pk = sk.pk;
    in.signing_cert = cert;
    in.signing_cert_len = cl;
    assert_int_equal(ob_hsv3_rev_ope(&r1, revkey, ob_hsv3_rev_t(in.now, from)), 0);
    in.revision = r1;
    in.intros = ptr;
    in.n_intros = 3;
    in.flow_control = "1-2 31";
    in.compact = &c;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t1, &n1, &d), OB_OK);
    memset(&o, 0, sizeof(o));
    o.now = in.now;
    o.strict_enc_cert = 1;
    assert_int_equal(ob_hsv3_desc_verify(t1, n1, m.pk, tp, &OB_TP_LIVE, &o, &got, &d), OB_OK);
    assert_int_equal(got->revision, r1);
    assert_memory_equal(got->signing_key, sk.pk, 32);
    assert_int_equal(got->cert_expiration_hours, ob_hsv3_cert_expiry_hours(tp, &OB_TP_LIVE, 180));
    assert_string_equal(got->flow_control, "1-2 31");
    for (i = 0; i < 3; i++)
        assert_true(intro_eq(&got->intros[i], ptr[i]));
    ob_hsv3_desc_free(got);
    /* the compact form carries the given cert and the signatures made */
    assert_int_equal(c.cert_len, cl);
    assert_memory_equal(c.cert, cert, cl);
    assert_int_equal(c.n_intros, 3);
    assert_string_equal(c.flow_control, "1-2 31");

    /* a rebuild one second later counts higher */
    in.compact = NULL;
    in.now += 1;
    assert_int_equal(ob_hsv3_rev_ope(&r2, revkey, ob_hsv3_rev_t(in.now, from)), 0);
    assert_true(r2 > r1);
    in.revision = r2;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_OK);
    assert_int_equal(ob_hsv3_desc_verify(t2, n2, m.pk, tp, &OB_TP_LIVE, &o, &got, &d), OB_OK);
    assert_int_equal(got->revision, r2);
    ob_hsv3_desc_free(got);
    free(t2);
    t2 = NULL;

    /* refusals, nothing produced: a cert of another period, another signing key,
     * a clock outside the window */
    in.signing_cert = other;
    in.signing_cert_len = ol;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_ERR_VERIFY);
    assert_null(t2);
    in.signing_cert = cert;
    in.signing_cert_len = cl;
    in.sign_pk = m.pk;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_ERR_VERIFY);
    assert_null(t2);
    in.sign_pk = sk.pk;
    in.now = from - 1;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_ERR_REFUSED);
    in.now = until;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_ERR_REFUSED);
    assert_null(t2);
    in.now = until - 1;
    assert_int_equal(ob_hsv3_sign_desc(&in, &t2, &n2, &d), OB_OK);
    free(t2);
    free(t1);
    ob_wipe(revkey, sizeof(revkey));
    key_free(&sk);
    key_free(&m);
    backend_free(&be);
}

/* Client authorization on a backend: decrypted with the client key only. */
static void test_client_auth(void **state)
{
    key id;
    uint8_t sign_pk[32], cert[OB_CERT_LEN], cpk[2][32], csk[2][32], other_sk[32], other_pk[32];
    uint8_t *bexp = ob_secalloc(64), *sexp = ob_secalloc(64), *text = NULL, Ab[32];
    size_t cl, tn;
    ob_hsv3_intro ip;
    const ob_hsv3_intro *ptr[1] = { &ip };
    ob_hsv3_build_in b;
    ob_hsv3_verify_opts o;
    ob_hsv3_reason why;
    ob_hsv3_desc *got = NULL;
    ob_diag d;
    int i;

    (void)state;
    key_new(&id);
    assert_int_equal(ob_test_fake_intro(&ip, 1), 0);
    for (i = 0; i < 2; i++)
        crypto_box_keypair(cpk[i], csk[i]);
    crypto_box_keypair(other_pk, other_sk);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, id.exp, id.pk, 20000, 1440), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed25519_keygen(sexp, sign_pk), 0);
    assert_int_equal(
        ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, sign_pk, 600000, bexp, Ab, &d), OB_OK);
    memset(&b, 0, sizeof(b));
    b.identity_pk = id.pk;
    b.tp = 20000;
    b.tpp = &OB_TP_LIVE;
    b.signing_cert = cert;
    b.signing_cert_len = cl;
    b.sign_exp = sexp;
    b.sign_pk = sign_pk;
    b.revision = 7;
    b.intros = ptr;
    b.n_intros = 1;
    b.client_pks = (const uint8_t(*)[32])cpk;
    b.n_clients = 2;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_OK);
    memset(&o, 0, sizeof(o));
    o.reason = &why;
    assert_int_equal(ob_hsv3_desc_verify(text, tn, id.pk, 20000, &OB_TP_LIVE, &o, &got, &d),
                     OB_ERR_VERIFY);
    assert_int_equal(why, OB_HSV3_NEED_CLIENT_AUTH);
    o.client_auth_x25519_sk = other_sk;
    assert_int_equal(ob_hsv3_desc_verify(text, tn, id.pk, 20000, &OB_TP_LIVE, &o, &got, &d),
                     OB_ERR_VERIFY);
    assert_int_equal(why, OB_HSV3_BAD_CLIENT_AUTH);
    for (i = 0; i < 2; i++) {
        o.client_auth_x25519_sk = csk[i];
        assert_int_equal(ob_hsv3_desc_verify(text, tn, id.pk, 20000, &OB_TP_LIVE, &o, &got, &d),
                         OB_OK);
        assert_true(got->client_auth_used);
        assert_int_equal(got->n_auth_clients, 16);
        assert_int_equal(got->n_intros, 1);
        assert_true(intro_eq(&got->intros[0], &ip));
        ob_hsv3_desc_free(got);
    }
    free(text);
    ob_hsv3_intro_clear(&ip);
    ob_wipe(csk, sizeof(csk));
    ob_wipe(other_sk, sizeof(other_sk));
    key_free(&id);
    ob_secfree(bexp);
    ob_secfree(sexp);
}

static int in_instance(const ob_hsv3_intro *ip, const backend *bs, size_t n)
{
    size_t i, k;

    for (i = 0; i < n; i++)
        for (k = 0; k < bs[i].desc->n_intros; k++)
            if (intro_eq(ip, &bs[i].desc->intros[k]))
                return (int)i;
    return -1;
}

static void test_select_shapes(void **state)
{
    ob_hsv3_desc descs[60];
    const ob_hsv3_desc *ptr[60];
    ob_hsv3_intro ips[60][3];
    ob_hsv3_selection *s = NULL;
    ob_diag d;
    size_t i, k, g;
    int seen[60][3];

    (void)state;
    memset(descs, 0, sizeof(descs));
    memset(ips, 0, sizeof(ips));
    for (i = 0; i < 60; i++) {
        for (k = 0; k < 3; k++)
            ips[i][k].auth_key[0] = (uint8_t)(i * 3 + k);
        descs[i].intros = ips[i];
        descs[i].n_intros = 3;
        ptr[i] = &descs[i];
    }
    /* 5 x 3: one group, round-robin order. */
    assert_int_equal(ob_hsv3_select(ptr, 5, 0, 0, &s, &d), OB_OK);
    assert_int_equal(s->n_groups, 1);
    assert_int_equal(s->groups[0].n, 15);
    assert_ptr_equal(s->groups[0].intros[0], &ips[0][0]);
    assert_ptr_equal(s->groups[0].intros[1], &ips[1][0]);
    assert_ptr_equal(s->groups[0].intros[5], &ips[0][1]);
    assert_int_equal(s->groups[0].instance[6], 1);
    ob_hsv3_selection_free(s);
    /* NULL instances are skipped. */
    ptr[1] = NULL;
    assert_int_equal(ob_hsv3_select(ptr, 3, 0, 0, &s, &d), OB_OK);
    assert_int_equal(s->groups[0].n, 6);
    assert_ptr_equal(s->groups[0].intros[1], &ips[2][0]);
    ob_hsv3_selection_free(s);
    ptr[1] = &descs[1];
    /* 10 x 3: two full groups covering all 30, no duplicates inside a group. */
    assert_int_equal(ob_hsv3_select(ptr, 10, 0, 0, &s, &d), OB_OK);
    assert_int_equal(s->n_groups, 2);
    assert_int_equal(s->n_used, 30);
    memset(seen, 0, sizeof(seen));
    for (g = 0; g < 2; g++) {
        int in_g[60][3];
        memset(in_g, 0, sizeof(in_g));
        assert_int_equal(s->groups[g].n, 20);
        for (k = 0; k < 20; k++) {
            size_t v = s->groups[g].intros[k]->auth_key[0];
            assert_int_equal(in_g[v / 3][v % 3]++, 0);
            seen[v / 3][v % 3] = 1;
        }
    }
    for (i = 0; i < 10; i++)
        for (k = 0; k < 3; k++)
            assert_true(seen[i][k]);
    ob_hsv3_selection_free(s);
    /* 60 x 3 = 180: capped at 6 groups (120 used); every instance still appears. */
    assert_int_equal(ob_hsv3_select(ptr, 60, 0, 0, &s, &d), OB_OK);
    assert_int_equal(s->n_groups, OB_HSV3_MAX_GROUPS);
    assert_int_equal(s->n_offered, 180);
    assert_int_equal(s->n_used, 120);
    memset(seen, 0, sizeof(seen));
    for (g = 0; g < s->n_groups; g++)
        for (k = 0; k < s->groups[g].n; k++)
            seen[s->groups[g].instance[k]][0] = 1;
    for (i = 0; i < 60; i++)
        assert_true(seen[i][0]);
    ob_hsv3_selection_free(s);
    /* Nothing to offer. */
    for (i = 0; i < 4; i++)
        ptr[i] = NULL;
    assert_int_equal(ob_hsv3_select(ptr, 4, 0, 0, &s, &d), OB_ERR_NOTFOUND);
    assert_null(s);
    assert_int_equal(ob_hsv3_select(ptr, 4, 21, 0, &s, &d), OB_ERR_RANGE);
    /* HSDir assignment: with 2 and 3 groups, each group gets 3 or 2 of the 6 fetch slots. */
    for (g = 2; g <= 3; g++) {
        size_t count[3] = { 0, 0, 0 }, r, p;
        for (r = 0; r < 2; r++)
            for (p = 0; p < 3; p++)
                count[ob_hsv3_group_for_hsdir(r, p, 3, g)]++;
        for (k = 0; k < g; k++)
            assert_int_equal(count[k], 6 / g);
    }
    assert_int_equal(ob_hsv3_group_for_hsdir(1, 3, 3, 1), 0);
}

/*
 * The goal: 10 backends with 3 intro points each give, per period,
 * master descriptors holding 20 intro points, all among the backends'.
 */
static void test_ten_backends(void **state)
{
    backend bs[10];
    const ob_hsv3_desc *ptr[10];
    ob_hsv3_selection *s = NULL;
    ob_hsv3_slot slots[2];
    key m;
    ob_diag d;
    size_t i, g, k, sl;
    uint64_t now = T0 + 5 * 3600; /* 17:00 UTC: first = tp-1, second = tp */

    (void)state;
    key_new(&m);
    ob_hsv3_publish_slots(now, &OB_TP_LIVE, slots);
    for (sl = 0; sl < 2; sl++) {
        int covered[10][3];
        memset(covered, 0, sizeof(covered));
        for (i = 0; i < 10; i++) {
            backend_make(&bs[i], 3, slots[sl].tp, now);
            ptr[i] = bs[i].desc;
        }
        assert_int_equal(ob_hsv3_select(ptr, 10, 0, 0, &s, &d), OB_OK);
        assert_int_equal(s->n_groups, 2);
        for (g = 0; g < s->n_groups; g++) {
            ofl_hsv3_sign_in in;
            ob_hsv3_verify_opts o;
            ob_hsv3_desc *got = NULL;
            uint8_t *t = NULL;
            size_t n;
            memset(&in, 0, sizeof(in));
            in.master_exp = m.exp;
            in.master_pk = m.pk;
            in.tp = slots[sl].tp;
            in.tpp = &OB_TP_LIVE;
            in.now = now;
            in.rev_offset = (unsigned)g;
            in.intros = s->groups[g].intros;
            in.n_intros = s->groups[g].n;
            in.flow_control = ob_hsv3_group_flow_control(s, g, ptr);
            assert_string_equal(in.flow_control, "1-2 31");
            assert_int_equal(ofl_hsv3_sign_descriptor(&in, &t, &n, NULL, &d), OB_OK);
            assert_true(n < OB_HSV3_DESC_MAX_LEN);
            memset(&o, 0, sizeof(o));
            o.now = now;
            o.strict_enc_cert = 1;
            assert_int_equal(
                ob_hsv3_desc_verify(t, n, m.pk, slots[sl].tp, &OB_TP_LIVE, &o, &got, &d), OB_OK);
            assert_int_equal(got->n_intros, 20);
            assert_true(got->has_flow_control);
            for (k = 0; k < got->n_intros; k++) {
                int inst = in_instance(&got->intros[k], bs, 10);
                assert_true(inst >= 0);
                for (i = 0; i < 3; i++)
                    if (intro_eq(&got->intros[k], &bs[inst].desc->intros[i]))
                        covered[inst][i] = 1;
            }
            ob_hsv3_desc_free(got);
            free(t);
        }
        for (i = 0; i < 10; i++)
            for (k = 0; k < 3; k++)
                assert_true(covered[i][k]);
        ob_hsv3_selection_free(s);
        for (i = 0; i < 10; i++)
            backend_free(&bs[i]);
    }
    key_free(&m);
}

/*
 * Interop mode (tests/interop/test_v3_stem.sh): read backend descriptors
 * listed in DIR/backends.txt ("<file> <address> <tp>" per line), verify each
 * with ours and write "<file> <reason>" lines to DIR/verify.txt; then sign
 * master descriptors for each listed period from every backend that verified
 * (file names starting with "ok-"), with a fresh master key, and write
 * DIR/master.txt ("<master address>") and DIR/master-<tp>-<g>.desc.
 */
static int interop_main(const char *dir)
{
    char path[1200], line[1024], fname[512], addr[128], out[256];
    FILE *in, *vout;
    ob_hsv3_desc *descs[64];
    uint64_t tps[64], tp;
    size_t nd = 0, i, g;
    key m;
    ob_diag d;
    uint64_t now = (uint64_t)time(NULL);
    int rc = 1;

    if (ob_secmem_init() != 0)
        return 2;
    key_new(&m);
    snprintf(path, sizeof(path), "%s/backends.txt", dir);
    in = fopen(path, "r");
    snprintf(path, sizeof(path), "%s/verify.txt", dir);
    vout = fopen(path, "w");
    if (in == NULL || vout == NULL)
        return 2;
    while (fgets(line, sizeof(line), in) != NULL && nd < 64) {
        unsigned long long t;
        uint8_t A[32], *text = NULL;
        size_t n;
        ob_hsv3_reason why = OB_HSV3_OK;
        ob_hsv3_verify_opts o;
        ob_hsv3_desc *desc = NULL;
        if (sscanf(line, "%511s %127s %llu", fname, addr, &t) != 3)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, fname);
        if (ob_file_read(path, 1 << 20, &text, &n, &d) != OB_OK ||
            ob_onion_v3_decode(A, addr, strlen(addr), &d) != OB_OK) {
            fprintf(stderr, "%s: %s\n", fname, d.msg);
            goto out;
        }
        memset(&o, 0, sizeof(o));
        o.now = now;
        o.reason = &why;
        if (ob_hsv3_desc_verify(text, n, A, t, &OB_TP_LIVE, &o, &desc, &d) != OB_OK)
            fprintf(stderr, "%s: %s\n", fname, d.msg);
        fprintf(vout, "%s %s\n", fname, why == OB_HSV3_OK ? "ok" : ob_hsv3_reason_name(why));
        free(text);
        if (desc != NULL && strncmp(fname, "ok-", 3) == 0) {
            descs[nd] = desc;
            tps[nd++] = t;
        } else {
            ob_hsv3_desc_free(desc);
        }
    }
    fclose(vout);
    vout = NULL;
    ob_onion_v3_encode(out, m.pk);
    snprintf(path, sizeof(path), "%s/master.txt", dir);
    if (ob_file_write_atomic(path, out, strlen(out), 0644, 0, &d) != OB_OK)
        goto out;
    for (i = 0; i < nd; i++) {
        const ob_hsv3_desc *ptr[64];
        ob_hsv3_selection *s = NULL;
        size_t k, nk = 0;
        tp = tps[i];
        for (k = 0; k < i; k++)
            if (tps[k] == tp)
                break;
        if (k < i)
            continue; /* period already done */
        for (k = 0; k < nd; k++)
            ptr[nk++] = tps[k] == tp ? descs[k] : NULL;
        if (ob_hsv3_select(ptr, nk, 0, 0, &s, &d) != OB_OK) {
            fprintf(stderr, "select: %s\n", d.msg);
            goto out;
        }
        for (g = 0; g < s->n_groups; g++) {
            ofl_hsv3_sign_in si;
            uint8_t *t = NULL;
            size_t n;
            memset(&si, 0, sizeof(si));
            si.master_exp = m.exp;
            si.master_pk = m.pk;
            si.tp = tp;
            si.tpp = &OB_TP_LIVE;
            si.now = now;
            si.rev_offset = (unsigned)g;
            si.intros = s->groups[g].intros;
            si.n_intros = s->groups[g].n;
            si.flow_control = ob_hsv3_group_flow_control(s, g, ptr);
            if (ofl_hsv3_sign_descriptor(&si, &t, &n, NULL, &d) != OB_OK) {
                fprintf(stderr, "sign: %s\n", d.msg);
                ob_hsv3_selection_free(s);
                goto out;
            }
            snprintf(path, sizeof(path), "%s/master-%llu-%zu.desc", dir, (unsigned long long)tp, g);
            if (ob_file_write_atomic(path, t, n, 0644, 0, &d) != OB_OK) {
                free(t);
                ob_hsv3_selection_free(s);
                goto out;
            }
            free(t);
        }
        ob_hsv3_selection_free(s);
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "interop: %s\n", d.msg);
    for (i = 0; i < nd; i++)
        ob_hsv3_desc_free(descs[i]);
    if (vout != NULL)
        fclose(vout);
    fclose(in);
    key_free(&m);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_key_cert_and_build),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_sign_delegated),
        cmocka_unit_test(test_client_auth),
        cmocka_unit_test(test_select_shapes),
        cmocka_unit_test(test_ten_backends),
    };
    const char *dir = getenv("OB_V3_INTEROP_DIR");

    if (dir != NULL)
        return interop_main(dir);
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
