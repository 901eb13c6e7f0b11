/*
 * test_hsv3_compact.c - compact signed responses: the online side rebuilds
 * the exact descriptor bytes from the request and a compact entry.
 *
 * Backends are throwaway services whose descriptors are signed by the same
 * signer (so they are real, verifiable v3 descriptors); they go into a real
 * request bundle, the master side selects and signs with the compact
 * output, and the entry is rebuilt from the parsed request.  Measurements
 * for docs/qr-transfer.rst are printed by test_measure ("measure:" lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bundle.h"
#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "compact.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "hsv3_sign.h"
#include "onion.h"
#include "qrframe.h"
#include "qrimage.h"
#include "secmem.h"

/* 2026-11-22 12:00:00 UTC starts a live time period; at NOW both it and the next can be signed. */
#define T0  1795348800ull
#define NOW (T0 + 13 * 3600)

typedef struct key {
    uint8_t *exp;
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

static uint32_t rnd(uint32_t n)
{
    return randombytes_uniform(n);
}

/* IPv4 + legacy id + ed25519 id (sometimes an IPv6 spec too), fresh keys. */
static void fake_intro(ob_hsv3_intro *ip, unsigned seq)
{
    uint8_t ls[1 + 8 + 22 + 34 + 20], sk[32], e[64];
    size_t k = 0;
    int v6 = rnd(2) == 0;

    memset(ip, 0, sizeof(*ip));
    ls[k++] = v6 ? 4 : 3;
    ls[k++] = 0;
    ls[k++] = 6;
    ls[k++] = 10;
    ls[k++] = (uint8_t)(seq >> 8);
    ls[k++] = (uint8_t)seq;
    ls[k++] = 1;
    ls[k++] = 0x23;
    ls[k++] = 0x29;
    ls[k++] = 2;
    ls[k++] = 20;
    ob_random(ls + k, 20);
    k += 20;
    ls[k++] = 3;
    ls[k++] = 32;
    ob_random(ls + k, 32);
    k += 32;
    if (v6) {
        ls[k++] = 1;
        ls[k++] = 18;
        ob_random(ls + k, 18);
        k += 18;
    }
    ip->link_spec = malloc(k);
    assert_non_null(ip->link_spec);
    memcpy(ip->link_spec, ls, k);
    ip->link_spec_len = k;
    crypto_box_keypair(ip->onion_key, sk);
    crypto_box_keypair(ip->enc_key, sk);
    assert_int_equal(ob_ed25519_keygen(e, ip->auth_key), 0);
    ob_wipe(e, sizeof(e));
    ob_wipe(sk, sizeof(sk));
}

/* A backend descriptor for tp signed by a fresh identity; *text is malloc'd. */
static void backend_make(key *id, unsigned n_intros, uint64_t tp, const char *flow, uint8_t **text,
                         size_t *len)
{
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    ofl_hsv3_sign_in in;
    ob_diag d;
    unsigned i;

    key_new(id);
    for (i = 0; i < n_intros; i++) {
        fake_intro(&ips[i], i);
        ptr[i] = &ips[i];
    }
    memset(&in, 0, sizeof(in));
    in.master_exp = id->exp;
    in.master_pk = id->pk;
    in.tp = tp;
    in.tpp = &OB_TP_LIVE;
    in.now = NOW;
    in.intros = ptr;
    in.n_intros = n_intros;
    in.flow_control = flow;
    if (ofl_hsv3_sign_descriptor(&in, text, len, NULL, &d) != OB_OK)
        fail_msg("backend: %s", d.msg);
    for (i = 0; i < n_intros; i++)
        ob_hsv3_intro_clear(&ips[i]);
}

/* A scenario: master key, request (parsed back from its bytes), signed response. */
typedef struct scen {
    key master;
    char addr[OB_ONION_V3_LEN + 1];
    ob_request *req;
    ob_response *full;    /* descriptor bytes only */
    ob_response *compact; /* same descriptors, with compact entries where possible */
    size_t n_compact;
} scen;

static ob_request *make_request(const scen *s, size_t n_back, const unsigned *n_intros,
                                const char *flow, int drop_first)
{
    ob_request *r = ob_request_new(), *back = NULL;
    ob_req_service *svc = NULL;
    ob_buf b;
    ob_diag d;
    size_t i;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);

    assert_non_null(r);
    r->created = NOW;
    r->consensus.valid_after = NOW - 600;
    r->consensus.fresh_until = NOW + 3000;
    r->consensus.valid_until = NOW + 9000;
    r->consensus.tp_length_min = 1440;
    r->consensus.tp_offset_min = 720;
    assert_int_equal(ob_request_add_service(r, s->addr, 3, &svc), OB_OK);
    assert_int_equal(ob_req_service_add_period(svc, tp, T0 - 12 * 3600, T0 + 36 * 3600), OB_OK);
    assert_int_equal(ob_req_service_add_period(svc, tp + 1, T0 + 12 * 3600, T0 + 60 * 3600), OB_OK);
    if (drop_first)
        assert_int_equal(ob_req_service_add_instance(svc, s->addr, "gone", OB_INSTANCE_MISSING,
                                                     "no descriptor", NOW, NULL, 0),
                         OB_OK);
    for (i = 0; i < n_back; i++) {
        key id;
        uint8_t *text = NULL;
        size_t len = 0;
        char a[OB_ONION_V3_LEN + 1];
        /* Backends may sit in either period (their own clocks). */
        backend_make(&id, n_intros[i], tp + rnd(2), flow, &text, &len);
        ob_onion_v3_encode(a, id.pk);
        assert_int_equal(
            ob_req_service_add_instance(svc, a, NULL, OB_INSTANCE_OK, NULL, NOW, text, len), OB_OK);
        free(text);
        key_free(&id);
    }
    ob_buf_init(&b);
    if (ob_request_serialize(r, &b, &d) != OB_OK)
        fail_msg("request: %s", d.msg);
    if (ob_request_parse(b.p, b.len, &back, &d) != OB_OK)
        fail_msg("request parse: %s", d.msg);
    assert_memory_equal(back->digest, r->digest, 32);
    ob_buf_free(&b);
    ob_request_free(r);
    return back;
}

/* Sign every period x group as the ceremony does, with the compact output. */
static void sign_all(scen *s, int want_compact)
{
    const ob_req_service *svc = &s->req->services[0];
    const ob_hsv3_desc **descs = calloc(svc->n_instances + 1, sizeof(*descs));
    ob_hsv3_desc **owned = calloc(svc->n_instances + 1, sizeof(*owned));
    ob_hsv3_selection *sel = NULL;
    ob_diag d;
    size_t i, g;

    assert_non_null(descs);
    assert_non_null(owned);
    for (i = 0; i < svc->n_instances; i++) {
        const ob_req_instance *ri = &svc->instances[i];
        uint8_t pk[32];
        uint64_t tps[2] = { svc->periods[0].tp, svc->periods[1].tp };
        size_t which = 0;
        ob_hsv3_verify_opts o;
        if (ri->status != OB_INSTANCE_OK)
            continue;
        assert_int_equal(ob_onion_v3_decode(pk, ri->address, strlen(ri->address), &d), OB_OK);
        assert_int_equal(ob_hsv3_desc_find_tp(ri->descriptor, ri->descriptor_len, pk, tps, 2,
                                              &OB_TP_LIVE, &which, &d),
                         OB_OK);
        memset(&o, 0, sizeof(o));
        o.now = NOW;
        if (ob_hsv3_desc_verify(ri->descriptor, ri->descriptor_len, pk, tps[which], &OB_TP_LIVE, &o,
                                &owned[i], &d) != OB_OK)
            fail_msg("backend %zu: %s", i, d.msg);
        descs[i] = owned[i];
    }
    assert_int_equal(ob_hsv3_select(descs, svc->n_instances, 0, 0, &sel, &d), OB_OK);
    s->full = ob_response_new();
    s->compact = ob_response_new();
    memcpy(s->full->request_digest, s->req->digest, 32);
    memcpy(s->compact->request_digest, s->req->digest, 32);
    s->full->created = s->compact->created = NOW;
    for (i = 0; i < svc->n_periods; i++) {
        for (g = 0; g < sel->n_groups; g++) {
            ofl_hsv3_sign_in in;
            ob_hsv3_compact c;
            ob_resp_descriptor rd;
            uint8_t *text = NULL, *entry = NULL;
            size_t len = 0, elen = 0;
            uint64_t rev = 0;
            ob_err err;
            memset(&in, 0, sizeof(in));
            in.master_exp = s->master.exp;
            in.master_pk = s->master.pk;
            in.tp = svc->periods[i].tp;
            in.tpp = &OB_TP_LIVE;
            in.now = NOW;
            in.rev_offset = (unsigned)g;
            in.lifetime_min = 30 + rnd(691);
            in.intros = sel->groups[g].intros;
            in.n_intros = sel->groups[g].n;
            in.flow_control = ob_hsv3_group_flow_control(sel, g, descs);
            in.compact = &c;
            if (ofl_hsv3_sign_descriptor(&in, &text, &len, &rev, &d) != OB_OK)
                fail_msg("sign: %s", d.msg);
            memset(&rd, 0, sizeof(rd));
            rd.service = s->addr;
            rd.version = 3;
            rd.tp = in.tp;
            rd.slot = (uint8_t)i;
            rd.group = (uint16_t)g;
            rd.group_count = (uint16_t)sel->n_groups;
            rd.valid_from = T0;
            rd.valid_until = T0 + 86400;
            rd.revision = rev;
            rd.descriptor = text;
            rd.descriptor_len = len;
            assert_int_equal(ob_response_add_descriptor(s->full, &rd), OB_OK);
            err = ob_hsv3_compact_make(&c, s->req, &rd, in.intros, in.n_intros, &entry, &elen, &d);
            if (want_compact && err != OB_OK)
                fail_msg("compact: %s", d.msg);
            if (err == OB_OK) {
                rd.compact = entry;
                rd.compact_len = elen;
                s->n_compact++;
            } else {
                assert_int_equal(err, OB_ERR_UNSUPPORTED);
            }
            assert_int_equal(ob_response_add_descriptor(s->compact, &rd), OB_OK);
            free(entry);
            free(text);
        }
    }
    ob_hsv3_selection_free(sel);
    for (i = 0; i < svc->n_instances; i++)
        ob_hsv3_desc_free(owned[i]);
    free(owned);
    free(descs);
}

static void scen_make(scen *s, size_t n_back, const unsigned *n_intros, const char *flow,
                      int drop_first)
{
    memset(s, 0, sizeof(*s));
    key_new(&s->master);
    ob_onion_v3_encode(s->addr, s->master.pk);
    s->req = make_request(s, n_back, n_intros, flow, drop_first);
    sign_all(s, 1);
}

static void scen_free(scen *s)
{
    key_free(&s->master);
    ob_request_free(s->req);
    ob_response_free(s->full);
    ob_response_free(s->compact);
}

/* Serialize, parse back (the bytes that cross), expand with the request. */
static ob_response *cross(ob_response *r, ob_buf *wire)
{
    ob_response *back = NULL;
    ob_diag d;

    ob_buf_init(wire);
    if (ob_response_serialize(r, wire, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
    if (ob_response_parse(wire->p, wire->len, &back, &d) != OB_OK)
        fail_msg("parse: %s", d.msg);
    return back;
}

static void check_expands(scen *s)
{
    ob_response *back;
    ob_buf wire;
    ob_diag d;
    size_t i;

    back = cross(s->compact, &wire);
    for (i = 0; i < back->n_descriptors; i++) {
        assert_null(back->descriptors[i].descriptor);
        assert_non_null(back->descriptors[i].compact);
    }
    if (ob_response_expand(back, s->req, &d) != OB_OK)
        fail_msg("expand: %s", d.msg);
    assert_int_equal(back->n_descriptors, s->full->n_descriptors);
    for (i = 0; i < back->n_descriptors; i++) {
        assert_null(back->descriptors[i].compact);
        assert_int_equal(back->descriptors[i].descriptor_len,
                         s->full->descriptors[i].descriptor_len);
        assert_memory_equal(back->descriptors[i].descriptor, s->full->descriptors[i].descriptor,
                            s->full->descriptors[i].descriptor_len);
    }
    ob_response_free(back);
    ob_buf_free(&wire);
}

/* Many shapes: instance counts, intro counts, groups, flow-control or not. */
static void test_rebuild_random(void **state)
{
    unsigned n_intros[8];
    int round;

    (void)state;
    for (round = 0; round < 10; round++) {
        scen s;
        size_t n_back = 1 + rnd(round < 8 ? 4 : 8), i;
        const char *flow = rnd(2) ? "1-2 31" : NULL;
        for (i = 0; i < n_back; i++)
            n_intros[i] = 1 + rnd(20);
        if (round == 0) {
            n_back = 1;
            n_intros[0] = 1;
        }
        scen_make(&s, n_back, n_intros, flow, round % 3 == 1);
        assert_int_equal(s.n_compact, s.full->n_descriptors);
        check_expands(&s);
        scen_free(&s);
    }
}

/* Every byte of an entry matters: any change is refused, with a message. */
static void test_flipped_bytes(void **state)
{
    unsigned n_intros[2] = { 2, 1 };
    scen s;
    ob_resp_descriptor *rd;
    uint8_t *text = NULL;
    size_t len = 0, i, fails = 0;
    ob_diag d;
    ob_err err;

    (void)state;
    scen_make(&s, 2, n_intros, "1-2 31", 0);
    rd = &s.compact->descriptors[0];
    assert_int_equal(ob_hsv3_compact_rebuild(s.req, rd, &text, &len, &d), OB_OK);
    free(text);
    for (i = 0; i < rd->compact_len; i++) {
        uint8_t bit = (uint8_t)(1u << rnd(8));
        rd->compact[i] ^= bit;
        d.msg[0] = '\0';
        err = ob_hsv3_compact_rebuild(s.req, rd, &text, &len, &d);
        if (err == OB_OK)
            fail_msg("byte %zu (bit 0x%02x) flipped and still rebuilt", i, bit);
        assert_null(text);
        assert_true(strlen(d.msg) > 10);
        fails++;
        rd->compact[i] ^= bit;
    }
    assert_int_equal(fails, rd->compact_len);
    /* A signature change is reported as such. */
    rd->compact[rd->compact_len - 1] ^= 1;
    assert_int_equal(ob_hsv3_compact_rebuild(s.req, rd, &text, &len, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "does not verify"));
    rd->compact[rd->compact_len - 1] ^= 1;
    /* Truncation and trailing bytes name the offset. */
    rd->compact_len--;
    assert_int_equal(ob_hsv3_compact_rebuild(s.req, rd, &text, &len, &d), OB_ERR_TRUNCATED);
    assert_non_null(strstr(d.msg, "offset"));
    rd->compact_len++;
    scen_free(&s);
}

/* The response names its request: another request (another digest) is refused. */
static void test_other_request(void **state)
{
    unsigned n_intros[1] = { 3 };
    scen s, t;
    ob_response *back;
    ob_buf wire;
    ob_diag d;

    (void)state;
    scen_make(&s, 1, n_intros, NULL, 0);
    scen_make(&t, 1, n_intros, NULL, 0);
    back = cross(s.compact, &wire);
    assert_int_equal(ob_response_expand(back, t.req, &d), OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "answers request"));
    assert_non_null(back->descriptors[0].compact);
    assert_null(back->descriptors[0].descriptor);
    /* Same service, same digest claimed, but the instance data differs: fails to verify. */
    memcpy(t.req->digest, s.req->digest, 32);
    assert_int_not_equal(ob_response_expand(back, t.req, &d), OB_OK);
    ob_response_free(back);
    ob_buf_free(&wire);
    scen_free(&s);
    scen_free(&t);
}

/* The bundle field: v3 only, one form per record, decoded strictly. */
static void test_bundle_field(void **state)
{
    unsigned n_intros[1] = { 2 };
    scen s;
    ob_buf b;
    ob_diag d;
    ob_resp_descriptor *rd;
    uint8_t *saved;
    char *svc;

    (void)state;
    scen_make(&s, 1, n_intros, NULL, 0);
    rd = &s.compact->descriptors[0];
    ob_buf_init(&b);
    svc = rd->service;
    rd->version = 2;
    rd->service = (char *)"3g2upl4pq6kufc4m";
    assert_int_equal(ob_response_serialize(s.compact, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "version 3"));
    rd->service = svc;
    rd->version = 3;
    rd->compact[0] = 9;
    assert_int_equal(ob_response_serialize(s.compact, &b, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "compact"));
    rd->compact[0] = OB_HSV3_COMPACT_VERSION;
    saved = rd->descriptor;
    rd->descriptor = NULL;
    free(rd->compact);
    rd->compact = NULL;
    rd->compact_len = 0;
    assert_int_equal(ob_response_serialize(s.compact, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "neither body nor compact"));
    rd->descriptor = saved;
    assert_int_equal(b.len, 0);
    ob_buf_free(&b);
    scen_free(&s);
}

/* Client authorization: no public seed, and unreadable backends mean full bytes. */
static void test_client_auth_fallback(void **state)
{
    key id, master;
    uint8_t sign_pk[32], cert[OB_CERT_LEN], cpk[32], csk[32], seed[32], Ab[32];
    uint8_t *bexp = ob_secalloc(64), *sexp = ob_secalloc(64), *text = NULL;
    size_t cl, tn, i;
    ob_hsv3_intro ip[2];
    const ob_hsv3_intro *ptr[2] = { &ip[0], &ip[1] };
    ob_hsv3_build_in b;
    ob_diag d;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);
    scen s;

    (void)state;
    key_new(&id);
    fake_intro(&ip[0], 1);
    fake_intro(&ip[1], 2);
    crypto_box_keypair(cpk, csk);
    ob_random(seed, sizeof(seed));
    assert_int_equal(ofl_hsv3_blind_secret(bexp, id.exp, id.pk, tp, 1440), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed25519_keygen(sexp, sign_pk), 0);
    assert_int_equal(ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, sign_pk,
                                       (uint32_t)(NOW / 3600 + 100), bexp, Ab, &d),
                     OB_OK);
    memset(&b, 0, sizeof(b));
    b.identity_pk = id.pk;
    b.tp = tp;
    b.tpp = &OB_TP_LIVE;
    b.signing_cert = cert;
    b.signing_cert_len = cl;
    b.sign_exp = sexp;
    b.sign_pk = sign_pk;
    b.revision = 7;
    b.intros = ptr;
    b.n_intros = 2;
    b.client_pks = (const uint8_t(*)[32])cpk;
    b.n_clients = 1;
    b.layout_seed = seed;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "client authorization"));
    assert_null(text);
    /* A backend with client authorization (as a master built from it would need). */
    b.layout_seed = NULL;
    assert_int_equal(ob_hsv3_build(&b, &text, &tn, &d), OB_OK);

    /* The master's request carries that backend: the signer must fall back. */
    memset(&s, 0, sizeof(s));
    key_new(&s.master);
    master = s.master;
    ob_onion_v3_encode(s.addr, master.pk);
    {
        unsigned n_intros[1] = { 2 };
        ob_request *r = make_request(&s, 1, n_intros, NULL, 0);
        ob_buf w;
        ob_request *back = NULL;
        char a[OB_ONION_V3_LEN + 1];
        /* Replace the readable backend by the client-auth one. */
        ob_onion_v3_encode(a, id.pk);
        free(r->services[0].instances[0].address);
        r->services[0].instances[0].address = strdup(a);
        free(r->services[0].instances[0].descriptor);
        r->services[0].instances[0].descriptor = text;
        r->services[0].instances[0].descriptor_len = tn;
        text = NULL;
        ob_buf_init(&w);
        assert_int_equal(ob_request_serialize(r, &w, &d), OB_OK);
        assert_int_equal(ob_request_parse(w.p, w.len, &back, &d), OB_OK);
        ob_buf_free(&w);
        ob_request_free(r);
        s.req = back;
    }
    {
        /* The offline signer reads it with the client key; the online side could not. */
        ob_hsv3_compact c;
        ofl_hsv3_sign_in in;
        ob_resp_descriptor rd;
        uint8_t *entry = NULL;
        size_t elen = 0;
        uint64_t rev;
        memset(&in, 0, sizeof(in));
        in.master_exp = master.exp;
        in.master_pk = master.pk;
        in.tp = tp;
        in.tpp = &OB_TP_LIVE;
        in.now = NOW;
        in.intros = ptr;
        in.n_intros = 2;
        in.compact = &c;
        assert_int_equal(ofl_hsv3_sign_descriptor(&in, &text, &tn, &rev, &d), OB_OK);
        memset(&rd, 0, sizeof(rd));
        rd.service = s.addr;
        rd.version = 3;
        rd.tp = tp;
        rd.revision = rev;
        rd.descriptor = text;
        rd.descriptor_len = tn;
        assert_int_equal(ob_hsv3_compact_make(&c, s.req, &rd, ptr, 2, &entry, &elen, &d),
                         OB_ERR_UNSUPPORTED);
        assert_null(entry);
        assert_non_null(strstr(d.msg, "client authorization"));
        free(text);
    }
    for (i = 0; i < 2; i++)
        ob_hsv3_intro_clear(&ip[i]);
    ob_wipe(csk, sizeof(csk));
    key_free(&id);
    scen_free(&s);
    ob_secfree(bexp);
    ob_secfree(sexp);
}

static size_t zlen(const uint8_t *p, size_t n)
{
    uLongf out = compressBound(n);
    uint8_t *z = malloc(out);

    assert_non_null(z);
    assert_int_equal(compress2(z, &out, p, n, 9), Z_OK);
    free(z);
    return out;
}

static size_t frames(const uint8_t *p, size_t n)
{
    ob_qr_frames *f = NULL;
    size_t cap = 0, k;
    ob_diag d;

    assert_int_equal(ob_qrimage_capacity(20, OB_QR_LEVEL_M, &cap, &d), OB_OK);
    if (ob_qr_split(p, n, cap, &f, &d) != OB_OK)
        fail_msg("split: %s", d.msg);
    k = f->n;
    ob_qr_frames_free(f);
    return k;
}

/* The goal of issue 6: one v3 service, two descriptors of 20 intro points, <= 12 frames. */
static void test_measure(void **state)
{
    unsigned n_intros[2] = { 10, 10 };
    scen s;
    ob_buf wf, wc;
    ob_response *bf, *bc;
    size_t fz, cz, ff, fc;

    (void)state;
    scen_make(&s, 2, n_intros, "1-2 31", 0);
    assert_int_equal(s.full->n_descriptors, 2);
    assert_int_equal(s.full->descriptors[0].descriptor_len > 20000, 1);
    bf = cross(s.full, &wf);
    bc = cross(s.compact, &wc);
    fz = zlen(wf.p, wf.len);
    cz = zlen(wc.p, wc.len);
    ff = frames(wf.p, wf.len);
    fc = frames(wc.p, wc.len);
    printf("measure: descriptors %zu + %zu bytes\n", s.full->descriptors[0].descriptor_len,
           s.full->descriptors[1].descriptor_len);
    printf("measure: full response %zu bytes, zlib %zu, %zu frames at 20-M\n", wf.len, fz, ff);
    printf("measure: compact response %zu bytes, zlib %zu, %zu frames at 20-M "
           "(entries %zu + %zu bytes)\n",
           wc.len, cz, fc, s.compact->descriptors[0].compact_len,
           s.compact->descriptors[1].compact_len);
    assert_true(fc <= 12);
    assert_true(wc.len * 8 < wf.len);
    ob_response_free(bf);
    ob_response_free(bc);
    ob_buf_free(&wf);
    ob_buf_free(&wc);
    scen_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild_random),       cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_other_request),        cmocka_unit_test(test_bundle_field),
        cmocka_unit_test(test_client_auth_fallback), cmocka_unit_test(test_measure),
    };

    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
