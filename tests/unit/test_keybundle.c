/*
 * test_keybundle.c - bundle kinds 3 and 4 (key-certification request and
 * response, docs/bundle-format.rst): canonical round trips (fixed and
 * randomised), a hand encoding of the documented layout, every truncation
 * and bit flip, each record rule with its error and offset, unknown fields,
 * and the size of a 31-period response.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bundle.h"
#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "onion.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The start of a period in range (the checked API, hsv3_common.h). */
static uint64_t tp_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 0;

    assert_int_equal(ob_hsv3_tp_start(tp, p, &s), 0);
    return s;
}

#define V3A "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
#define V3B "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"

static const ob_tp_params LIVE = { 1440, 720 };

static int setup(void **state)
{
    (void)state;
    return ob_secmem_init();
}

static void key_for(uint8_t out[32], unsigned i)
{
    memset(out, 0, 32);
    out[0] = 0x10;
    out[1] = (uint8_t)(i >> 8);
    out[2] = (uint8_t)i;
}

/* n periods from tp for each given address. */
static ob_keyrequest *make_request(const char *const *addr, size_t na, uint64_t tp, size_t n)
{
    ob_keyrequest *r = ob_keyrequest_new();
    size_t i, j;

    assert_non_null(r);
    r->created = tp_start(tp, &LIVE) + 100;
    assert_int_equal(ob_bundle_set_text(&r->origin, "ob-online 0.1.0 (test)"), OB_OK);
    r->tp_length_min = 1440;
    r->tp_offset_min = 720;
    for (i = 0; i < na; i++) {
        ob_keyreq_service *s = NULL;
        assert_int_equal(ob_keyrequest_add_service(r, addr[i], &s), OB_OK);
        for (j = 0; j < n; j++) {
            uint8_t k[32];
            key_for(k, (unsigned)(i * 1000 + j));
            assert_int_equal(ob_keyreq_service_add_period(s, tp + j, tp_start(tp + j, &LIVE),
                                                          tp_start(tp + j + 1, &LIVE), k),
                             OB_OK);
        }
    }
    return r;
}

/* A response with real certificates (a random signer stands in for the blinded key). */
static ob_keyresponse *make_response(const char *const *addr, size_t na, uint64_t tp, size_t n)
{
    ob_keyresponse *r = ob_keyresponse_new();
    uint8_t *sk = ob_secalloc(64), pk[32], signer[32], cert[OB_CERT_LEN], rev[32];
    size_t i, j, len = 0;

    assert_non_null(r);
    assert_non_null(sk);
    assert_int_equal(ob_ed25519_keygen(sk, signer), 0);
    memset(r->request_digest, 0x42, 32);
    r->created = tp_start(tp, &LIVE) + 200;
    r->tp_length_min = 1440;
    r->tp_offset_min = 720;
    for (i = 0; i < na; i++) {
        ob_keyresp_service *s = NULL;
        assert_int_equal(ob_keyresponse_add_service(r, addr[i], &s), OB_OK);
        for (j = 0; j < n; j++) {
            uint32_t exp_h = (uint32_t)((tp_start(tp + j + 1, &LIVE) + 3600) / 3600 + 4);
            key_for(pk, (unsigned)(i * 1000 + j));
            ob_random(rev, sizeof(rev));
            assert_int_equal(
                ob_ed_cert_create(cert, &len, OB_CERT_DESC_SIGNING, pk, exp_h, sk, signer, NULL),
                OB_OK);
            assert_int_equal(len, OB_CERT_LEN);
            assert_int_equal(ob_keyresp_service_add_cert(s, tp + j, pk, (uint64_t)exp_h * 3600,
                                                         cert + OB_CERT_LEN - 64, rev),
                             OB_OK);
        }
    }
    ob_secfree(sk);
    return r;
}

static void ser_kq(ob_keyrequest *r, ob_buf *b)
{
    ob_diag d = { "" };

    ob_buf_init(b);
    if (ob_keyrequest_serialize(r, b, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
}

static void ser_ks(ob_keyresponse *r, ob_buf *b)
{
    ob_diag d = { "" };

    ob_buf_init(b);
    if (ob_keyresponse_serialize(r, b, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
}

/* Parse as the kind in byte 9; 0 on success.  The message in d. */
static ob_err parse_any(const uint8_t *p, size_t n, ob_diag *d)
{
    ob_keyrequest *q = NULL;
    ob_keyresponse *s = NULL;
    ob_err err;

    if (n > 9 && p[9] == 4) {
        err = ob_keyresponse_parse(p, n, &s, d);
        ob_keyresponse_free(s);
    } else {
        err = ob_keyrequest_parse(p, n, &q, d);
        ob_keyrequest_free(q);
    }
    return err;
}

static void expect_fail(const uint8_t *p, size_t n, ob_err want, const char *substr)
{
    ob_diag d = { "" };
    ob_err err = parse_any(p, n, &d);

    if (err != want || strstr(d.msg, substr) == NULL)
        fail_msg("expected error %d with \"%s\", got %d: \"%s\"", want, substr, err, d.msg);
    assert_non_null(strstr(d.msg, "offset "));
}

static void reseal(uint8_t *p, size_t n)
{
    assert_int_equal(ob_sha256_buf(p + n - 32, p, n - 32), 0);
}

/* Offset of the value of the k-th (0-based) field with this tag; the tag is unique enough. */
static size_t value_at(const uint8_t *p, size_t n, uint16_t tag, unsigned k)
{
    size_t i;

    for (i = 16; i + 6 <= n; i++) {
        if (p[i] == (tag >> 8) && p[i + 1] == (tag & 0xff) && p[i + 2] == 0) {
            if (k-- == 0)
                return i + 6;
        }
    }
    fail_msg("tag 0x%04x not found", tag);
    return 0;
}

static void test_roundtrip(void **state)
{
    const char *addr[] = { V3A, V3B };
    ob_keyrequest *r = make_request(addr, 2, 20790, 31), *q = NULL;
    ob_keyresponse *s = make_response(addr, 2, 20790, 31), *t = NULL;
    ob_buf a, b, c;
    ob_diag d;

    (void)state;
    ser_kq(r, &a);
    assert_int_equal(ob_keyrequest_parse(a.p, a.len, &q, &d), OB_OK);
    assert_memory_equal(q->digest, r->digest, 32);
    assert_int_equal(q->n_services, 2);
    assert_int_equal(q->services[1].n_periods, 31);
    assert_int_equal(q->services[1].periods[30].tp, 20790 + 30);
    assert_memory_equal(q->services[1].periods[30].signing_key,
                        r->services[1].periods[30].signing_key, 32);
    assert_string_equal(q->origin, "ob-online 0.1.0 (test)");
    ser_kq(q, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len); /* canonical */
    ob_buf_free(&b);

    ser_ks(s, &b);
    assert_int_equal(ob_keyresponse_parse(b.p, b.len, &t, &d), OB_OK);
    assert_memory_equal(t->request_digest, s->request_digest, 32);
    assert_int_equal(t->services[0].n_certs, 31);
    assert_memory_equal(t->services[0].certs[3].signing_key, s->services[0].certs[3].signing_key,
                        32);
    assert_memory_equal(t->services[0].certs[3].signature, s->services[0].certs[3].signature, 64);
    assert_memory_equal(t->services[0].certs[3].rev_key, s->services[0].certs[3].rev_key, 32);
    assert_int_equal(t->services[0].certs[3].expires, s->services[0].certs[3].expires);
    ser_ks(t, &c);
    assert_int_equal(b.len, c.len);
    assert_memory_equal(b.p, c.p, b.len);
    /* Kinds are not interchangeable. */
    ob_keyrequest_free(q);
    assert_int_equal(ob_keyrequest_parse(b.p, b.len, &q, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "offset 9: kind 4 (key-certification response), expected 3"));
    assert_null(q);
    ob_buf_free(&a);
    ob_buf_free(&b);
    ob_buf_free(&c);
    ob_keyrequest_free(r);
    ob_keyresponse_free(s);
    ob_keyresponse_free(t);
}

/* The documented layout, encoded by hand: the library must read it and write it back. */
static void test_layout_matches_doc(void **state)
{
    static const uint8_t key[32] = { 1, 2, 3 };
    uint8_t buf[512];
    size_t n = 16, body;
    ob_keyrequest *q = NULL;
    ob_buf out;
    ob_diag d;

#define PUT16(v) (buf[n++] = (uint8_t)((v) >> 8), buf[n++] = (uint8_t)(v))
#define PUT32(v) (PUT16((v) >> 16), PUT16((v)&0xffff))
#define PUT64(v) (PUT32((uint64_t)(v) >> 32), PUT32((uint64_t)(v)&0xffffffffu))
    (void)state;
    memcpy(buf, "\x89OBB\r\n\x1a\n\x01\x03\x00\x00", 12);
    PUT16(0x9001);
    PUT32(8);
    PUT64(1796299200);
    PUT16(0x9003);
    PUT32(4);
    PUT32(1440);
    PUT16(0x9004);
    PUT32(4);
    PUT32(720);
    PUT16(0x9005);
    PUT32(6 + 56 + 6 + 4 * 6 + 3 * 8 + 32);
    PUT16(0x9101);
    PUT32(56);
    memcpy(buf + n, V3A, 56);
    n += 56;
    PUT16(0x9102);
    PUT32(4 * 6 + 3 * 8 + 32);
    PUT16(0x9201);
    PUT32(8);
    PUT64(20790);
    PUT16(0x9202);
    PUT32(8);
    PUT64(tp_start(20790, &LIVE));
    PUT16(0x9203);
    PUT32(8);
    PUT64(tp_start(20791, &LIVE));
    PUT16(0x9204);
    PUT32(32);
    memcpy(buf + n, key, 32);
    n += 32;
    body = n - 16;
    buf[12] = (uint8_t)(body >> 24);
    buf[13] = (uint8_t)(body >> 16);
    buf[14] = (uint8_t)(body >> 8);
    buf[15] = (uint8_t)body;
    n += 32;
    reseal(buf, n);
#undef PUT16
#undef PUT32
#undef PUT64
    if (ob_keyrequest_parse(buf, n, &q, &d) != OB_OK)
        fail_msg("%s", d.msg);
    assert_int_equal(q->tp_length_min, 1440);
    assert_int_equal(q->services[0].periods[0].tp, 20790);
    assert_memory_equal(q->services[0].periods[0].signing_key, key, 32);
    ob_buf_init(&out);
    assert_int_equal(ob_keyrequest_serialize(q, &out, &d), OB_OK);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, buf, n);
    ob_buf_free(&out);
    ob_keyrequest_free(q);
}

static void test_random_roundtrip(void **state)
{
    const char *addr[] = { V3A, V3B };
    int round;

    (void)state;
    for (round = 0; round < 40; round++) {
        uint8_t rnd[4];
        size_t n, na;
        uint64_t tp;
        ob_keyrequest *r, *q = NULL;
        ob_keyresponse *s, *t = NULL;
        ob_buf a, b;
        ob_diag d;
        ob_random(rnd, sizeof(rnd));
        n = 1 + rnd[0] % 40;
        na = 1 + rnd[1] % 2;
        tp = 19000 + rnd[2] * 7u;
        r = make_request(addr, na, tp, n);
        s = make_response(addr, na, tp, n);
        if (rnd[3] & 1)
            assert_int_equal(ob_bundle_set_text(&s->note, "renewal"), OB_OK);
        ser_kq(r, &a);
        assert_int_equal(ob_keyrequest_parse(a.p, a.len, &q, &d), OB_OK);
        ser_kq(q, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        ob_buf_free(&a);
        ob_buf_free(&b);
        ser_ks(s, &a);
        assert_int_equal(ob_keyresponse_parse(a.p, a.len, &t, &d), OB_OK);
        ser_ks(t, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        ob_buf_free(&a);
        ob_buf_free(&b);
        ob_keyrequest_free(r);
        ob_keyrequest_free(q);
        ob_keyresponse_free(s);
        ob_keyresponse_free(t);
    }
}

/* Every truncation and every bit flip is refused with an offset, never misread. */
static void test_damage(void **state)
{
    const char *addr[] = { V3A };
    ob_keyresponse *s = make_response(addr, 1, 20790, 2);
    uint8_t *c;
    size_t i;
    ob_buf a;
    ob_diag d;

    (void)state;
    ser_ks(s, &a);
    c = malloc(a.len);
    assert_non_null(c);
    for (i = 0; i < a.len; i++) {
        ob_keyresponse *t = NULL;
        assert_int_not_equal(ob_keyresponse_parse(a.p, i, &t, &d), OB_OK);
        assert_null(t);
        assert_non_null(strstr(d.msg, "offset "));
    }
    for (i = 0; i < a.len * 8; i++) {
        ob_keyresponse *t = NULL;
        memcpy(c, a.p, a.len);
        c[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(ob_keyresponse_parse(c, a.len, &t, &d), OB_OK);
        assert_null(t);
    }
    free(c);
    ob_buf_free(&a);
    ob_keyresponse_free(s);
}

static void test_request_rules(void **state)
{
    const char *addr[] = { V3A, V3B };
    ob_keyrequest *r = make_request(addr, 2, 20790, 3);
    uint8_t *c;
    size_t off;
    ob_buf a, b;
    ob_diag d;

    (void)state;
    ser_kq(r, &a);
    c = malloc(a.len);
    assert_non_null(c);

    /* A period whose start does not follow from tp, length and offset. */
    memcpy(c, a.p, a.len);
    off = value_at(c, a.len, 0x9202, 1);
    c[off + 7] ^= 1;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "period 20791 runs from");
    /* Periods out of order: swap the first two period records (80 bytes each). */
    memcpy(c, a.p, a.len);
    {
        uint8_t tmp[80];
        size_t p0 = value_at(c, a.len, 0x9201, 0) - 6, p1 = value_at(c, a.len, 0x9201, 1) - 6;
        assert_int_equal(p1 - p0, 86);
        memcpy(tmp, c + p0, 80);
        memmove(c + p0, c + p1, 80);
        memcpy(c + p1, tmp, 80);
    }
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "time period 20790 does not follow 20791");
    /* The same signing key for two periods. */
    memcpy(c, a.p, a.len);
    memcpy(c + value_at(c, a.len, 0x9204, 2), c + value_at(c, a.len, 0x9204, 0), 32);
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "a signing key is listed for two periods");
    /* The same service twice. */
    memcpy(c, a.p, a.len);
    memcpy(c + value_at(c, a.len, 0x9101, 1), V3A, 56);
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "service 1 repeats address " V3A);
    /* An offset not below the length. */
    memcpy(c, a.p, a.len);
    off = value_at(c, a.len, 0x9004, 0);
    c[off + 2] = 0x05;
    c[off + 3] = 0xa0;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_RANGE, "rotation offset 1440 minutes is not less than");
    /* A critical bit cleared. */
    memcpy(c, a.p, a.len);
    c[value_at(c, a.len, 0x9204, 0) - 6] = 0x12;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "(keyperiod.signing_key): critical bit must be set");
    /* An address with a character outside base32. */
    memcpy(c, a.p, a.len);
    c[value_at(c, a.len, 0x9101, 0) + 3] = '1';
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "(keyservice.address): byte 3 is not a base32");
    free(c);
    ob_buf_free(&a);

    /* The writer refuses what the reader would, naming the member. */
    r->services[0].periods[1].valid_until++;
    ob_buf_init(&b);
    assert_int_equal(ob_keyrequest_serialize(r, &b, &d), OB_ERR_MALFORMED);
    assert_int_equal(b.len, 0);
    assert_non_null(strstr(d.msg, "keyrequest: service 0: period 1: period 20791 runs from"));
    r->services[0].periods[1].valid_until--;
    r->services[0].periods[1].tp = UINT64_C(1) << 32;
    assert_int_equal(ob_keyrequest_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "time period 4294967296 is out of range"));
    r->services[0].periods[1].tp = 20791;
    free(r->services[1].address);
    r->services[1].address = strdup("facebookcorewwwi");
    assert_int_equal(ob_keyrequest_serialize(r, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "a v3 address has 56"));
    assert_int_equal(b.len, 0);
    ob_buf_free(&b);
    ob_keyrequest_free(r);
}

static void test_response_rules(void **state)
{
    const char *addr[] = { V3A };
    ob_keyresponse *s = make_response(addr, 1, 20790, 3);
    uint8_t *c;
    size_t off;
    ob_buf a, b;
    ob_diag d;

    (void)state;
    ser_ks(s, &a);
    c = malloc(a.len);
    assert_non_null(c);
    /* An expiry that is not a whole hour (a certificate counts hours). */
    memcpy(c, a.p, a.len);
    c[value_at(c, a.len, 0x9503, 1) + 7] ^= 1;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "is not a whole hour");
    /* A signature of the wrong width. */
    memcpy(c, a.p, a.len);
    off = value_at(c, a.len, 0x9504, 0);
    c[off - 1] = 63;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "(keycert.signature): length 63, expected 64");
    /* A field of the wrong width. */
    memcpy(c, a.p, a.len);
    off = value_at(c, a.len, 0x9505, 0);
    c[off - 1] = 31;
    reseal(c, a.len);
    expect_fail(c, a.len, OB_ERR_MALFORMED, "(keycert.rev_key): length 31, expected 32");
    free(c);
    ob_buf_free(&a);

    /* Unknown non-critical fields are kept and written back in place; critical ones refused. */
    {
        ob_bundle_ext *e = calloc(1, sizeof(*e));
        ob_keyresponse *t = NULL;
        assert_non_null(e);
        e->tag = 0x1510;
        e->val = (uint8_t *)strdup("later");
        e->len = 5;
        s->services[0].certs[1].ext.v = e;
        s->services[0].certs[1].ext.n = 1;
        ser_ks(s, &a);
        assert_int_equal(ob_keyresponse_parse(a.p, a.len, &t, &d), OB_OK);
        assert_int_equal(t->services[0].certs[1].ext.n, 1);
        assert_int_equal(t->services[0].certs[1].ext.v[0].tag, 0x1510);
        ser_ks(t, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        ob_buf_free(&b);
        ob_keyresponse_free(t);
        c = malloc(a.len);
        assert_non_null(c);
        memcpy(c, a.p, a.len);
        off = value_at(c, a.len, 0x1510, 0);
        c[off - 6] = 0x95;
        reseal(c, a.len);
        expect_fail(c, a.len, OB_ERR_UNSUPPORTED,
                    "field 0x9510 in keycert record: unknown critical field");
        free(c);
        ob_buf_free(&a);
    }
    /* Writer: periods out of order. */
    s->services[0].certs[2].tp = 20790;
    ob_buf_init(&b);
    assert_int_equal(ob_keyresponse_serialize(s, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "keyresponse: service 0: cert 2: time period 20790 does not "
                                  "follow 20791"));
    assert_int_equal(b.len, 0);
    ob_buf_free(&b);
    ob_keyresponse_free(s);
}

/*
 * The certificate travels in parts; put together with the signer derived
 * from the address it is byte for byte the one the blinded key signed, and
 * verifies.  A wrong period or address gives one that does not.
 */
static void test_keycert_assembles(void **state)
{
    uint8_t *id = ob_secalloc(64), *bexp = ob_secalloc(64);
    uint8_t A[32], Ab[32], key[32], cert[OB_CERT_LEN], raw[OB_CERT_LEN], rev[32] = { 0 };
    char addr[OB_ONION_V3_LEN + 1];
    uint64_t tp = 20790;
    size_t len = 0;
    ob_keyresponse *r = ob_keyresponse_new();
    ob_keyresp_service *s = NULL;
    ob_ed_cert c;
    ob_diag d;

    (void)state;
    assert_non_null(id);
    assert_non_null(bexp);
    assert_int_equal(ob_ed25519_keygen(id, A), 0);
    ob_onion_v3_encode(addr, A);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, id, A, tp, 1440), 0);
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, 1440), 0);
    key_for(key, 7);
    assert_int_equal(ob_ed_cert_create(cert, &len, OB_CERT_DESC_SIGNING, key, 499000, bexp, Ab, &d),
                     OB_OK);
    assert_int_equal(ob_keyresponse_add_service(r, addr, &s), OB_OK);
    assert_int_equal(ob_keyresp_service_add_cert(s, tp, key, 499000ull * 3600, cert + 76, rev),
                     OB_OK);
    assert_int_equal(ob_keycert_cert(&s->certs[0], addr, 1440, raw, &d), OB_OK);
    assert_memory_equal(raw, cert, OB_CERT_LEN);
    assert_int_equal(ob_ed_cert_parse(&c, raw, sizeof(raw), &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, Ab, 0, &d), OB_OK);
    /* Another period: another signer, the signature fails. */
    s->certs[0].tp = tp + 1;
    assert_int_equal(ob_keycert_cert(&s->certs[0], addr, 1440, raw, &d), OB_OK);
    assert_int_equal(ob_ed_cert_parse(&c, raw, sizeof(raw), &d), OB_OK);
    assert_int_equal(ob_ed_cert_verify(&c, c.signer, 0, &d), OB_ERR_VERIFY);
    /* Not an address. */
    assert_int_not_equal(ob_keycert_cert(&s->certs[0], V3A "x", 1440, raw, &d), OB_OK);
    ob_keyresponse_free(r);
    ob_secfree(id);
    ob_secfree(bexp);
}

/* One service and 31 periods must stay small enough for a short QR transfer. */
static void test_size_31_periods(void **state)
{
    const char *addr[] = { V3A };
    ob_keyresponse *s = make_response(addr, 1, 20790, 31);
    ob_buf a;

    (void)state;
    ser_ks(s, &a);
    print_message("    31-period response: %zu bytes\n", a.len);
    /* tp 14 + signing_key 38 + expires 14 + signature 70 + rev_key 38 + record 6 per period. */
    assert_int_equal(a.len, 16 + 32 + 38 + 14 + 10 + 10 + 6 + 62 + 31 * 180);
    /* OB_KEYBUNDLE_OUT=FILE keeps it, to measure its QR frames with `qr encode`. */
    if (getenv("OB_KEYBUNDLE_OUT") != NULL)
        assert_int_equal(ob_bundle_write_file(getenv("OB_KEYBUNDLE_OUT"), a.p, a.len, 0, NULL),
                         OB_OK);
    ob_buf_free(&a);
    ob_keyresponse_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),         cmocka_unit_test(test_layout_matches_doc),
        cmocka_unit_test(test_random_roundtrip),  cmocka_unit_test(test_damage),
        cmocka_unit_test(test_request_rules),     cmocka_unit_test(test_response_rules),
        cmocka_unit_test(test_keycert_assembles), cmocka_unit_test(test_size_31_periods),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
