/*
 * test_hsv3_revs.c - further revisions of a signed v3 master descriptor
 * (format/hs/hsv3_revs.h, format/bundle/revisions.h): the list's encoding
 * and every refusal with its offset, the signer's plan, and the round trip
 * that matters: revisions signed by ofl_hsv3_sign_descriptor, rebuilt from
 * revision 0 and the compact entry, each verifying as a client verifies,
 * with strictly increasing counters; a changed signature or counter is
 * refused.  The same through a response bundle (serialize, parse,
 * ob_resp_revision_bytes).  stem checks the signer's real output in
 * tests/interop/test_ceremony_stem.sh and tests/cli/test_compact_flow.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_build.h"
#include "hsv3_common.h"
#include "hsv3_compact.h"
#include "hsv3_desc.h"
#include "hsv3_revs.h"
#include "hsv3_sign.h"
#include "onion.h"
#include "revisions.h"
#include "secmem.h"
#include "fake_intro.h"

/* 2026-11-22 12:00:00 UTC starts live period 20779; its run started at 00:00. */
#define T0  1795348800ull
#define RUN (T0 - 12 * 3600)
#define NOW (RUN + 1800) /* a ceremony at 00:30 UTC */

static void sig_fill(uint8_t (*sigs)[64], size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        memset(sigs[i], (int)(i + 1), 64);
}

static void test_encode_decode(void **state)
{
    uint64_t c[3] = { 101, 202, 303 };
    uint8_t sigs[3][64];
    ob_hsv3_revs rv;
    ob_buf b;
    ob_diag d;

    (void)state;
    sig_fill(sigs, 3);
    ob_buf_init(&b);
    assert_int_equal(ob_hsv3_revs_encode(5000, 900, c, (const uint8_t(*)[64])sigs, 3, &b, &d),
                     OB_OK);
    assert_int_equal(b.len, OB_HSV3_REVS_HDR_LEN + 3 * OB_HSV3_REVS_ENTRY_LEN);
    /* the layout of docs/bundle-format.rst */
    assert_int_equal(ob_load_u64(b.p), 5000);
    assert_int_equal(ob_load_u32(b.p + 8), 900);
    assert_int_equal(ob_load_u16(b.p + 12), 3);
    assert_int_equal(ob_load_u64(b.p + 14 + 72), 202);
    assert_memory_equal(b.p + 14 + 72 + 8, sigs[1], 64);
    assert_int_equal(ob_hsv3_revs_decode(b.p, b.len, 100, 1000, 7000, &rv, &d), OB_OK);
    assert_int_equal(rv.n, 3);
    assert_int_equal(ob_hsv3_revs_from(&rv, 1), 5000);
    assert_int_equal(ob_hsv3_revs_from(&rv, 3), 6800);
    assert_int_equal(ob_hsv3_revs_counter(&rv, 3), 303);
    assert_memory_equal(ob_hsv3_revs_sig(&rv, 2), sigs[1], 64);
    ob_buf_free(&b);
}

static void expect_bad(const uint8_t *p, size_t n, uint64_t base, uint64_t from, uint64_t until,
                       ob_err want, const char *msg)
{
    ob_hsv3_revs rv;
    ob_diag d;

    assert_int_equal(ob_hsv3_revs_decode(p, n, base, from, until, &rv, &d), want);
    if (strstr(d.msg, msg) == NULL)
        fail_msg("'%s' does not say '%s'", d.msg, msg);
}

static void test_refusals(void **state)
{
    uint64_t c[3] = { 101, 202, 303 };
    uint8_t sigs[3][64], x[OB_HSV3_REVS_HDR_LEN + 4 * 72 + 1];
    ob_buf b;
    ob_diag d;

    (void)state;
    sig_fill(sigs, 3);
    ob_buf_init(&b);
    assert_int_equal(ob_hsv3_revs_encode(5000, 900, c, (const uint8_t(*)[64])sigs, 3, &b, &d),
                     OB_OK);
    memcpy(x, b.p, b.len);
    expect_bad(x, 10, 100, 1000, 7000, OB_ERR_TRUNCATED, "offset 0: 10 bytes");
    expect_bad(x, b.len - 1, 100, 1000, 7000, OB_ERR_TRUNCATED, "offset 12: 3 revisions need 230");
    x[b.len] = 0;
    expect_bad(x, b.len + 1, 100, 1000, 7000, OB_ERR_MALFORMED, "the list has 231");
    /* the window: first before valid_from, the last at valid_until */
    expect_bad(x, b.len, 100, 5001, 7000, OB_ERR_RANGE, "outside the descriptor's window");
    expect_bad(x, b.len, 100, 1000, 6800, OB_ERR_RANGE, "outside the descriptor's window");
    /* counters: the first must be above the record's own, then increase */
    expect_bad(x, b.len, 101, 1000, 7000, OB_ERR_RANGE, "offset 14: revision 1 has counter 101");
    ob_store_u64(x + 14 + 2 * 72, 202);
    expect_bad(x, b.len, 100, 1000, 7000, OB_ERR_RANGE, "offset 158: revision 3 has counter 202");
    memcpy(x, b.p, b.len);
    ob_store_u32(x + 8, 59);
    expect_bad(x, b.len, 100, 1000, 7000, OB_ERR_RANGE, "offset 8: step 59 s");
    ob_store_u32(x + 8, OB_HSV3_REVS_MAX_STEP + 1);
    expect_bad(x, b.len, 100, 1000, 7000, OB_ERR_RANGE, "offset 8: step 21601 s");
    memcpy(x, b.p, b.len);
    ob_store_u16(x + 12, 0);
    expect_bad(x, OB_HSV3_REVS_HDR_LEN, 100, 1000, 7000, OB_ERR_RANGE, "0 revisions");
    /* a first time so late the last one wraps */
    memcpy(x, b.p, b.len);
    ob_store_u64(x, UINT64_MAX - 100);
    expect_bad(x, b.len, 100, 1000, UINT64_MAX, OB_ERR_RANGE, "outside the descriptor's window");
    /* the encoder refuses what the decoder would */
    c[2] = 202;
    ob_buf_reset(&b);
    assert_int_equal(ob_hsv3_revs_encode(5000, 900, c, (const uint8_t(*)[64])sigs, 3, &b, &d),
                     OB_ERR_RANGE);
    assert_int_equal(ob_hsv3_revs_encode(5000, 900, c, (const uint8_t(*)[64])sigs, 0, &b, &d),
                     OB_ERR_RANGE);
    assert_int_equal(b.len, 0);
    ob_buf_free(&b);
}

static void test_plan(void **state)
{
    uint64_t first = 0, until = RUN + 2 * 86400;
    uint32_t step = 0;

    (void)state;
    /* lifetime 180: every 90 minutes from 02:00 to the window's end */
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, RUN + 86400, 180, 0, &first, &step), 15);
    assert_int_equal(step, 5400);
    assert_int_equal(first, NOW + 5400);
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, until, 180, 0, &first, &step), 31);
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, until, 30, 0, &first, &step), 189);
    assert_int_equal(step, 900);
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, until, 720, 0, &first, &step), 7);
    /* out of range: tor's default */
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, until, 7, 0, &first, &step), 31);
    /* none fit, or before the run: none */
    assert_int_equal(ob_hsv3_revs_plan(until - 60, RUN, until, 30, 0, &first, &step), 0);
    assert_int_equal(ob_hsv3_revs_plan(RUN - 1, RUN, until, 30, 0, &first, &step), 0);
    /* a long window stops below the counter's cap (2^18 s after the run starts) */
    assert_int_equal(ob_hsv3_revs_plan(NOW, RUN, RUN + 10 * 86400, 30, 0, &first, &step),
                     (OB_HSV3_REV_T_MAX - 1 - (NOW + 900 - RUN)) / 900 + 1);
}

#define N_INTROS 5
#define N_REVS   4

typedef struct signed_desc {
    uint8_t pk[32];
    char addr[OB_ONION_V3_LEN + 1];
    uint64_t tp;
    uint8_t *text; /* revision 0 */
    size_t len;
    uint64_t rev0;
    uint8_t *entry; /* compact entry */
    size_t entry_len;
    uint64_t first;
    uint32_t step;
    uint64_t counters[N_REVS];
    uint8_t sigs[N_REVS][64];
} signed_desc;

/* A master descriptor for the period starting at T0 with N_REVS further revisions. */
static void sign_one(signed_desc *s)
{
    ob_hsv3_intro ips[N_INTROS];
    const ob_hsv3_intro *ptr[N_INTROS];
    uint8_t *exp = ob_secalloc(64);
    ob_hsv3_compact c;
    ofl_hsv3_sign_in in;
    ob_buf b;
    ob_diag d;
    size_t i;

    memset(s, 0, sizeof(*s));
    assert_non_null(exp);
    assert_int_equal(ob_ed25519_keygen(exp, s->pk), 0);
    ob_onion_v3_encode(s->addr, s->pk);
    s->tp = ob_hsv3_tp_num(T0, &OB_TP_LIVE);
    for (i = 0; i < N_INTROS; i++) {
        assert_int_equal(ob_test_fake_intro(&ips[i], (unsigned)i), 0);
        ptr[i] = &ips[i];
    }
    memset(&in, 0, sizeof(in));
    memset(&c, 0, sizeof(c));
    in.master_exp = exp;
    in.master_pk = s->pk;
    in.tp = s->tp;
    in.tpp = &OB_TP_LIVE;
    in.now = NOW;
    in.lifetime_min = 30;
    in.intros = ptr;
    in.n_intros = N_INTROS;
    in.compact = &c;
    in.revs_n = N_REVS;
    in.revs_first = NOW + 900;
    in.revs_step = 900;
    in.revs_counters = s->counters;
    in.revs_sigs = s->sigs;
    if (ofl_hsv3_sign_descriptor(&in, &s->text, &s->len, &s->rev0, &d) != OB_OK)
        fail_msg("sign: %s", d.msg);
    s->first = in.revs_first;
    s->step = in.revs_step;
    ob_buf_init(&b);
    assert_int_equal(ob_hsv3_compact_encode(&c, &b, &d), OB_OK);
    s->entry = ob_buf_detach(&b, &s->entry_len);
    for (i = 0; i < N_INTROS; i++)
        ob_hsv3_intro_clear(&ips[i]);
    ob_secfree(exp);
}

static void signed_free(signed_desc *s)
{
    free(s->text);
    free(s->entry);
}

static void test_signed_revisions(void **state)
{
    signed_desc s;
    ob_hsv3_revbase *b = NULL;
    ob_hsv3_verify_opts o;
    ob_hsv3_desc *desc = NULL;
    uint8_t *text = NULL, bad[64];
    size_t len = 0, i;
    uint64_t prev;
    ob_diag d;

    (void)state;
    sign_one(&s);
    /* the counters are tor's at first + i * step: strictly increasing from revision 0's */
    prev = s.rev0;
    for (i = 0; i < N_REVS; i++) {
        assert_true(s.counters[i] > prev);
        prev = s.counters[i];
    }
    if (ob_hsv3_revbase_new(s.text, s.len, s.pk, s.tp, &OB_TP_LIVE, s.entry, s.entry_len, &b, &d) !=
        OB_OK)
        fail_msg("revbase: %s", d.msg);
    for (i = 0; i < N_REVS; i++) {
        int full;
        for (full = 0; full < 2; full++) {
            if (ob_hsv3_revbase_build(b, s.counters[i], s.sigs[i], full, &text, &len, &d) != OB_OK)
                fail_msg("revision %zu (full %d): %s", i + 1, full, d.msg);
            /* what a client checks, whatever the mode */
            memset(&o, 0, sizeof(o));
            o.now = NOW;
            o.strict_enc_cert = 1;
            if (ob_hsv3_desc_verify(text, len, s.pk, s.tp, &OB_TP_LIVE, &o, &desc, &d) != OB_OK)
                fail_msg("revision %zu does not verify: %s", i + 1, d.msg);
            assert_int_equal(desc->revision, s.counters[i]);
            assert_int_equal(desc->n_intros, N_INTROS);
            assert_int_equal(desc->lifetime_min, 30);
            ob_hsv3_desc_free(desc);
            desc = NULL;
            assert_true(len != s.len || memcmp(text, s.text, len) != 0);
            free(text);
            text = NULL;
        }
    }
    /* a changed signature, or a counter it was not made for: refused either way */
    memcpy(bad, s.sigs[1], 64);
    bad[7] ^= 0x20;
    assert_int_equal(ob_hsv3_revbase_build(b, s.counters[1], bad, 0, &text, &len, &d),
                     OB_ERR_VERIFY);
    assert_null(text);
    assert_int_not_equal(ob_hsv3_revbase_build(b, s.counters[1], bad, 1, &text, &len, &d), OB_OK);
    assert_int_equal(ob_hsv3_revbase_build(b, s.counters[1] + 1, s.sigs[1], 0, &text, &len, &d),
                     OB_ERR_VERIFY);
    assert_int_not_equal(ob_hsv3_revbase_build(b, s.counters[2], s.sigs[1], 1, &text, &len, &d),
                         OB_OK);
    ob_hsv3_revbase_free(b);
    /* revision 0 must be the one the entry and signatures belong to: the
     * base is only read (it was verified when expanded), so another
     * descriptor as the base gives revisions whose signature fails */
    {
        signed_desc t;
        sign_one(&t);
        if (ob_hsv3_revbase_new(t.text, t.len, t.pk, t.tp, &OB_TP_LIVE, s.entry, s.entry_len, &b,
                                &d) == OB_OK) {
            assert_int_not_equal(
                ob_hsv3_revbase_build(b, s.counters[0], s.sigs[0], 0, &text, &len, &d), OB_OK);
            assert_null(text);
            ob_hsv3_revbase_free(b);
            b = NULL;
        }
        /* and a damaged base does not even read */
        t.text[t.len / 2] ^= 0x01;
        assert_int_not_equal(ob_hsv3_revbase_new(t.text, t.len, t.pk, t.tp, &OB_TP_LIVE, t.entry,
                                                 t.entry_len, &b, &d),
                             OB_OK);
        assert_null(b);
        signed_free(&t);
    }
    signed_free(&s);
}

static void test_response_record(void **state)
{
    signed_desc s;
    ob_response *r = ob_response_new(), *back = NULL;
    ob_resp_descriptor rd;
    uint64_t from, counter;
    uint8_t *text = NULL;
    size_t len = 0, i;
    ob_buf b, list;
    ob_diag d;

    (void)state;
    sign_one(&s);
    assert_non_null(r);
    ob_buf_init(&list);
    assert_int_equal(ob_hsv3_revs_encode(s.first, s.step, s.counters, (const uint8_t(*)[64])s.sigs,
                                         N_REVS, &list, &d),
                     OB_OK);
    memset(r->request_digest, 0x42, 32);
    r->created = NOW;
    memset(&rd, 0, sizeof(rd));
    rd.service = s.addr;
    rd.version = 3;
    rd.tp = s.tp;
    rd.group_count = 1;
    rd.valid_from = RUN;
    rd.valid_until = RUN + 2 * 86400;
    rd.revision = s.rev0;
    rd.descriptor = s.text;
    rd.descriptor_len = s.len;
    rd.compact = s.entry;
    rd.compact_len = s.entry_len;
    rd.revisions = list.p;
    rd.revisions_len = list.len;
    assert_int_equal(ob_response_add_descriptor(r, &rd), OB_OK);
    /* in memory, expanded: every revision's bytes, each checked */
    assert_int_equal(ob_resp_revision_count(&r->descriptors[0]), N_REVS + 1);
    assert_int_equal(ob_resp_revision_step(&r->descriptors[0]), 900);
    assert_int_equal(ob_resp_revision_at(&r->descriptors[0], NOW), 0);
    assert_int_equal(ob_resp_revision_at(&r->descriptors[0], NOW + 900), 1);
    assert_int_equal(ob_resp_revision_at(&r->descriptors[0], NOW + 10 * 900), N_REVS);
    /* what an HSDir may hold: the last revision's counter, above revision 0's */
    assert_true(s.counters[N_REVS - 1] > s.rev0);
    assert_int_equal(ob_resp_revision_max(&r->descriptors[0]), s.counters[N_REVS - 1]);
    assert_int_equal(ob_resp_revision_max(&rd), s.counters[N_REVS - 1]);
    rd.revisions = NULL;
    rd.revisions_len = 0;
    assert_int_equal(ob_resp_revision_max(&rd), s.rev0); /* no list: revision 0 only */
    for (i = 0; i <= N_REVS; i++) {
        ob_resp_revision_info(&r->descriptors[0], i, &from, &counter);
        assert_int_equal(from, i == 0 ? RUN : NOW + 900 * i);
        assert_int_equal(counter, i == 0 ? s.rev0 : s.counters[i - 1]);
        if (ob_resp_revision_bytes(&r->descriptors[0], &OB_TP_LIVE, i, &text, &len, &d) != OB_OK)
            fail_msg("revision %zu: %s", i, d.msg);
        free(text);
        text = NULL;
    }
    assert_int_equal(ob_response_check_revisions(r, &OB_TP_LIVE, 1, &d), OB_OK);
    /* on the wire: compact and the list, parsed back byte for byte */
    ob_buf_init(&b);
    assert_int_equal(ob_response_serialize(r, &b, &d), OB_OK);
    if (ob_response_parse(b.p, b.len, &back, &d) != OB_OK)
        fail_msg("parse: %s", d.msg);
    assert_null(back->descriptors[0].descriptor);
    assert_int_equal(back->descriptors[0].revisions_len, list.len);
    assert_memory_equal(back->descriptors[0].revisions, list.p, list.len);
    assert_int_equal(back->descriptors[0].ext.n, 0);
    ob_response_free(back);
    back = NULL;
    /* a damaged list is refused with the field and offset named */
    memcpy(r->descriptors[0].revisions + 14 + 72, r->descriptors[0].revisions + 14, 8);
    ob_buf_reset(&b);
    assert_int_equal(ob_response_serialize(r, &b, &d), OB_ERR_RANGE);
    if (strstr(d.msg, "revisions: offset 86: revision 2") == NULL)
        fail_msg("%s", d.msg);
    ob_store_u64(r->descriptors[0].revisions + 14 + 72, s.counters[1]);
    /* a damaged signature: the bytes are refused when rebuilt */
    r->descriptors[0].revisions[14 + 72 + 8 + 10] ^= 1;
    assert_int_equal(ob_resp_revision_bytes(&r->descriptors[0], &OB_TP_LIVE, 2, &text, &len, &d),
                     OB_ERR_VERIFY);
    assert_int_not_equal(ob_response_check_revisions(r, &OB_TP_LIVE, 0, &d), OB_OK);
    assert_non_null(strstr(d.msg, "revision 2"));
    r->descriptors[0].revisions[14 + 72 + 8 + 10] ^= 1;
    /* revisions without a compact entry: refused */
    free(r->descriptors[0].compact);
    r->descriptors[0].compact = NULL;
    r->descriptors[0].compact_len = 0;
    ob_buf_reset(&b);
    assert_int_equal(ob_response_serialize(r, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "revisions without a compact descriptor"));
    ob_buf_free(&b);
    ob_buf_free(&list);
    ob_response_free(r);
    signed_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_signed_revisions),
        cmocka_unit_test(test_response_record),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
