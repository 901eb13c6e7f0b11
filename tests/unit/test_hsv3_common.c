/*
 * test_hsv3_common.c - time periods, public blinding, credentials, ring
 * indices, the B.10 publish schedule and the revision counter, against
 * testdata/v3/tor_hs_common_vectors.txt and testdata/v3/expected_values.txt
 * (read at run time).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_common.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "secmem.h"
#include "vecfile.h"

#define HS_VECTORS "v3/tor_hs_common_vectors.txt"

/* The checked start of a period that must be in range. */
static uint64_t tp_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 1;

    assert_int_equal(ob_hsv3_tp_start(tp, p, &s), 0);
    return s;
}

static uint64_t run_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 1;

    assert_int_equal(ob_hsv3_srv_run_start(tp, p, &s), 0);
    return s;
}

static void test_time_period_vectors(void **state)
{
    vec_file *vf = vec_load(HS_VECTORS);
    size_t i;
    uint64_t t = 0, tp = 0;
    int have_t = 0, checked = 0;

    (void)state;
    assert_non_null(vf);
    /* The section is an ordered list: each unix_time is followed by what
     * must hold for it. */
    for (i = 0; i < vf->n; i++) {
        const vec_entry *e = &vf->e[i];
        uint64_t v = strtoull(e->value, NULL, 10);
        if (strcmp(e->section, "time_period") != 0)
            continue;
        if (strcmp(e->key, "unix_time") == 0) {
            t = v;
            have_t = 1;
        } else if (strcmp(e->key, "tp") == 0) {
            assert_true(have_t);
            tp = ob_hsv3_tp_num(t, &OB_TP_LIVE);
            assert_int_equal(tp, v);
            checked++;
        } else if (strcmp(e->key, "next_tp") == 0) {
            assert_int_equal(ob_hsv3_tp_num(t, &OB_TP_LIVE) + 1, v);
            checked++;
        } else if (strcmp(e->key, "next_tp_start") == 0) {
            assert_int_equal(tp_start(ob_hsv3_tp_num(t, &OB_TP_LIVE) + 1, &OB_TP_LIVE), v);
            checked++;
        }
    }
    assert_true(checked >= 7);
    /* the brief's two: 2016-04-13 11:00 and 12:00 UTC */
    assert_int_equal(ob_hsv3_tp_num(1460545200, &OB_TP_LIVE), 16903);
    assert_int_equal(ob_hsv3_tp_num(1460548800, &OB_TP_LIVE), 16904);
    assert_int_equal(tp_start(16904, &OB_TP_LIVE), 1460548800);
    /* every period starts where the previous one ends */
    for (tp = 16900; tp < 16910; tp++) {
        uint64_t s = tp_start(tp, &OB_TP_LIVE);
        assert_int_equal(ob_hsv3_tp_num(s, &OB_TP_LIVE), tp);
        assert_int_equal(ob_hsv3_tp_num(s - 1, &OB_TP_LIVE), tp - 1);
    }
    vec_free(vf);
}

static void test_onion_address_vectors(void **state)
{
    vec_file *vf = vec_load(HS_VECTORS);
    static const char *const secs[] = { "onion_address_1", "onion_address_2" };
    char addr[OB_ONION_V3_LEN + 1];
    uint8_t pk[32], back[32];
    const char *bad;
    size_t i;
    ob_diag d;

    (void)state;
    assert_non_null(vf);
    for (i = 0; i < 2; i++) {
        const char *want = vec_get(vf, secs[i], "address", 0);
        assert_non_null(want);
        assert_int_equal(vec_hex(vf, secs[i], "pubkey", pk, 32), 0);
        ob_onion_v3_encode(addr, pk);
        assert_string_equal(addr, want);
        assert_int_equal(ob_onion_v3_decode(back, want, strlen(want), &d), OB_OK);
        assert_memory_equal(back, pk, 32);
    }
    bad = vec_get(vf, "onion_address_bad_checksum", "address", 0);
    assert_non_null(bad);
    assert_int_not_equal(ob_onion_v3_decode(back, bad, strlen(bad), &d), OB_OK);
    vec_free(vf);
}

static void test_blinding_and_credentials(void **state)
{
    vec_file *vf = vec_load(HS_VECTORS);
    const char *sec = "blinding_basics";
    uint8_t A[32], hw[32], h[32], Abw[32], Ab[32], subw[32], sub[32];
    uint64_t tp = 0, len = 0;

    (void)state;
    assert_non_null(vf);
    assert_int_equal(vec_hex(vf, sec, "master_pubkey", A, 32), 0);
    assert_int_equal(vec_u64(vf, sec, "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_u64(vf, sec, "period_length", 0, &len), 0);
    assert_int_equal(vec_hex(vf, sec, "blinding_param", hw, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_pubkey", Abw, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "subcredential", subw, 32), 0);

    /* the vector is the raw hash; ours comes clamped */
    ob_hsv3_clamp_param(hw);
    assert_int_equal(ob_hsv3_blind_param(h, A, tp, len), 0);
    assert_memory_equal(h, hw, 32);
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, len), 0);
    assert_memory_equal(Ab, Abw, 32);
    assert_int_equal(ob_hsv3_subcredential(sub, A, Ab), 0);
    assert_memory_equal(sub, subw, 32);
    /* a different period or length changes the key */
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp + 1, len), 0);
    assert_memory_not_equal(Ab, Abw, 32);
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, len + 1), 0);
    assert_memory_not_equal(Ab, Abw, 32);
    /* small-order keys cannot be blinded */
    memset(A, 0, 32);
    A[0] = 1;
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, len), -1);
    vec_free(vf);
}

static void check_descriptor_derivations(const vec_file *vf, const char *sec)
{
    uint8_t A[32], hw[32], h[32], Abw[32], Ab[32], credw[32], cred[32], subw[32], sub[32];
    uint64_t tp = 0, len = 1440;

    assert_int_equal(vec_hex(vf, sec, "identity_pubkey", A, 32), 0);
    assert_int_equal(vec_u64(vf, sec, "time_period_num", 0, &tp), 0);
    if (vec_get(vf, sec, "period_length", 0) != NULL)
        assert_int_equal(vec_u64(vf, sec, "period_length", 0, &len), 0);
    assert_int_equal(vec_hex(vf, sec, "blinding_param", hw, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "blinded_pubkey", Abw, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "credential", credw, 32), 0);
    assert_int_equal(vec_hex(vf, sec, "subcredential", subw, 32), 0);
    ob_hsv3_clamp_param(hw);
    assert_int_equal(ob_hsv3_blind_param(h, A, tp, len), 0);
    assert_memory_equal(h, hw, 32);
    assert_int_equal(ob_hsv3_blind_public(Ab, A, tp, len), 0);
    assert_memory_equal(Ab, Abw, 32);
    assert_int_equal(ob_hsv3_credential(cred, A), 0);
    assert_memory_equal(cred, credw, 32);
    assert_int_equal(ob_hsv3_subcredential(sub, A, Ab), 0);
    assert_memory_equal(sub, subw, 32);
}

static void test_sample_descriptor_derivations(void **state)
{
    vec_file *vf = vec_load("v3/expected_values.txt");

    (void)state;
    assert_non_null(vf);
    check_descriptor_derivations(vf, "hidden_service_v3");
    check_descriptor_derivations(vf, "known_key_v3_descriptor");
    vec_free(vf);
}

static void test_ring_indices(void **state)
{
    vec_file *vf = vec_load(HS_VECTORS);
    uint8_t a[32], b[32], want[32], out[32];
    uint64_t replica = 0, len = 0, tp = 0;

    (void)state;
    assert_non_null(vf);
    assert_int_equal(vec_hex(vf, "hs_index", "blinded_pubkey", a, 32), 0);
    assert_int_equal(vec_u64(vf, "hs_index", "replica", 0, &replica), 0);
    assert_int_equal(vec_u64(vf, "hs_index", "period_length", 0, &len), 0);
    assert_int_equal(vec_u64(vf, "hs_index", "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_hex(vf, "hs_index", "hs_index", want, 32), 0);
    assert_int_equal(ob_hsv3_hs_index(out, a, replica, len, tp), 0);
    assert_memory_equal(out, want, 32);
    assert_int_equal(ob_hsv3_hs_index(out, a, replica + 1, len, tp), 0);
    assert_memory_not_equal(out, want, 32);

    assert_int_equal(vec_hex(vf, "hsdir_index", "node_ed25519_id", a, 32), 0);
    assert_int_equal(vec_hex(vf, "hsdir_index", "srv", b, 32), 0);
    assert_int_equal(vec_u64(vf, "hsdir_index", "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_u64(vf, "hsdir_index", "period_length", 0, &len), 0);
    assert_int_equal(vec_hex(vf, "hsdir_index", "hsdir_index", want, 32), 0);
    assert_int_equal(ob_hsv3_hsdir_index(out, a, b, tp, len), 0);
    assert_memory_equal(out, want, 32);
    /* swapped tp/L (the classic mistake) must not match */
    assert_int_equal(ob_hsv3_hsdir_index(out, a, b, len, tp), 0);
    assert_memory_not_equal(out, want, 32);

    assert_int_equal(vec_u64(vf, "disaster_srv", "period_length", 0, &len), 0);
    assert_int_equal(vec_u64(vf, "disaster_srv", "time_period_num", 0, &tp), 0);
    assert_int_equal(vec_hex(vf, "disaster_srv", "srv", want, 32), 0);
    assert_int_equal(ob_hsv3_disaster_srv(out, len, tp), 0);
    assert_memory_equal(out, want, 32);
    vec_free(vf);
}

/*
 * B.10 table: 00:00-12:00 first = (current TP, previous SRV), second =
 * (next TP, current SRV); 12:00-00:00 first = (previous TP, previous SRV),
 * second = (current TP, current SRV).
 */
static void test_publish_slots(void **state)
{
    /* seconds into the UTC day 2016-04-13 (day start 1460505600) */
    static const uint64_t offs[] = { 0,
                                     1,
                                     3600,
                                     6 * 3600,
                                     11 * 3600 + 3599,
                                     12 * 3600,
                                     12 * 3600 + 1,
                                     18 * 3600,
                                     23 * 3600 + 3599,
                                     86400 };
    const uint64_t day0 = 1460505600;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        uint64_t va = day0 + offs[i];
        uint64_t cur = ob_hsv3_tp_num(va, &OB_TP_LIVE);
        uint64_t hour = (va % 86400) / 3600;
        ob_hsv3_slot s[2];

        ob_hsv3_publish_slots(va, &OB_TP_LIVE, s);
        assert_int_equal(s[0].use_current_srv, 0);
        assert_int_equal(s[1].use_current_srv, 1);
        if (hour < 12) {
            assert_int_equal(s[0].tp, cur);
            assert_int_equal(s[1].tp, cur + 1);
        } else {
            assert_int_equal(s[0].tp, cur - 1);
            assert_int_equal(s[1].tp, cur);
        }
    }
    /* absolute: all of 2016-04-13 publishes TPs 16903 and 16904 (the
     * 12:00 period change does not move them; the 00:00 SRV does) */
    for (i = 0; i + 1 < sizeof(offs) / sizeof(offs[0]); i++) {
        ob_hsv3_slot s[2];
        ob_hsv3_publish_slots(day0 + offs[i], &OB_TP_LIVE, s);
        assert_int_equal(s[0].tp, 16903);
        assert_int_equal(s[1].tp, 16904);
    }
    {
        ob_hsv3_slot s[2];
        ob_hsv3_publish_slots(day0 + 86400, &OB_TP_LIVE, s);
        assert_int_equal(s[0].tp, 16904);
        assert_int_equal(s[1].tp, 16905);
    }
    /* the SRV run a descriptor counts its revision from: 12 h before its TP
     * starts, i.e. 00:00 UTC; never after valid_after */
    for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        ob_hsv3_slot s[2];
        uint64_t va = day0 + offs[i];
        ob_hsv3_publish_slots(va, &OB_TP_LIVE, s);
        assert_int_equal(run_start(s[0].tp, &OB_TP_LIVE) % 86400, 0);
        assert_int_equal(run_start(s[1].tp, &OB_TP_LIVE) % 86400, 0);
        assert_true(run_start(s[0].tp, &OB_TP_LIVE) <= va);
        assert_true(run_start(s[1].tp, &OB_TP_LIVE) <= va);
        assert_int_equal(run_start(s[1].tp, &OB_TP_LIVE) - run_start(s[0].tp, &OB_TP_LIVE), 86400);
    }
}

/*
 * Issue 14: (tp * length + offset) * 60 wrapped, so period tp + 2^57 started
 * at the same minute as tp and was signed.  Every period computation now
 * refuses what it cannot represent, and the bounds hold at their edges.
 */
static void test_period_bounds(void **state)
{
    static const ob_tp_params longest = { OB_HSV3_TP_LENGTH_MAX, OB_HSV3_TP_LENGTH_MAX - 1 };
    static const ob_tp_params zero = { 0, 0 }, wide = { OB_HSV3_TP_LENGTH_MAX + 1, 0 };
    const uint64_t tp = 20778, wrap = tp + (UINT64_C(1) << 57);
    uint64_t s = 1, from = 1, until = 1, last;
    ob_hsv3_slot sl[2];

    (void)state;
    /* The reproduction: refused, not the same start as tp. */
    assert_int_equal(ob_hsv3_tp_start(wrap, &OB_TP_LIVE, &s), -1);
    assert_int_equal(s, 0);
    assert_int_equal(ob_hsv3_srv_run_start(wrap, &OB_TP_LIVE, &s), -1);
    assert_int_equal(ob_hsv3_desc_window(wrap, &OB_TP_LIVE, &from, &until), -1);
    assert_int_equal(ob_hsv3_tp_start(UINT64_MAX, &OB_TP_LIVE, &s), -1);
    assert_int_equal(ob_hsv3_tp_start(UINT64_MAX - 3, &OB_TP_LIVE, &s), -1);
    /* Period numbers beyond 2^32 - 1, and (live) those starting after 9999. */
    assert_int_equal(ob_hsv3_tp_start(OB_TP_MAX + 1, &(ob_tp_params){ 1, 0 }, &s), -1);
    assert_int_equal(ob_hsv3_tp_start(OB_TP_MAX, &OB_TP_LIVE, &s), -1);
    /* The last live period that starts in year 9999, and the first that does not. */
    last = (OB_TIME_MAX / 60 - 720) / 1440;
    assert_true(tp_start(last, &OB_TP_LIVE) <= OB_TIME_MAX);
    assert_int_equal(ob_hsv3_tp_start(last + 1, &OB_TP_LIVE, &s), -1);
    /* Even one-minute periods pass year 9999 before 2^32 - 1. */
    assert_int_equal(ob_hsv3_tp_start(OB_TP_MAX, &(ob_tp_params){ 1, 0 }, &s), -1);
    assert_int_equal(tp_start(OB_TIME_MAX / 60, &(ob_tp_params){ 1, 0 }), OB_TIME_MAX / 60 * 60);
    assert_int_equal(ob_hsv3_tp_start(OB_TIME_MAX / 60 + 1, &(ob_tp_params){ 1, 0 }, &s), -1);
    /* Parameters: a zero or over-long length is refused, not divided by. */
    assert_int_equal(ob_hsv3_tp_start(tp, &zero, &s), -1);
    assert_int_equal(ob_hsv3_tp_start(tp, &wide, &s), -1);
    assert_int_equal(ob_hsv3_publish_slots(1795316400, &zero, sl), -1);
    assert_int_equal(sl[0].tp, 0);
    assert_int_equal(sl[1].tp, 0);
    /* The longest parameters never wrap: checked arithmetic, not luck. */
    assert_int_equal(ob_hsv3_tp_start(OB_TP_MAX, &longest, &s), -1);
    assert_int_equal(ob_hsv3_tp_start(100, &longest, &s), 0);
    assert_int_equal(s, (100 * (uint64_t)OB_HSV3_TP_LENGTH_MAX + OB_HSV3_TP_LENGTH_MAX - 1) * 60);
    /* A publish window that would end past year 9999. */
    assert_int_equal(ob_hsv3_desc_window(last, &OB_TP_LIVE, &from, &until), -1);
    assert_int_equal(ob_hsv3_desc_window(tp, &OB_TP_LIVE, &from, &until), 0);
    assert_int_equal(from, run_start(tp, &OB_TP_LIVE));
    assert_int_equal(until - from, 2 * 86400);
    /* valid_after: the clock's or the consensus', bounded the same way. */
    assert_int_equal(ob_hsv3_publish_slots(OB_TIME_MAX + 1, &OB_TP_LIVE, sl), -1);
    assert_int_equal(ob_hsv3_publish_slots(UINT64_MAX, &OB_TP_LIVE, sl), -1);
    assert_int_equal(ob_hsv3_publish_slots(1795316400, &OB_TP_LIVE, sl), 0);
    assert_int_equal(sl[1].tp, sl[0].tp + 1);
}

/* The time formatter never shows a wrapped time as a date. */
static void test_time_format(void **state)
{
    char s[OB_TIME_STR];

    (void)state;
    assert_int_equal(ob_time_format(s, sizeof(s), 1795316400, OB_TIME_SEC), 0);
    assert_string_equal(s, "2026-11-22 03:00:00 UTC");
    assert_int_equal(ob_time_format(s, sizeof(s), OB_TIME_MAX, OB_TIME_ISO), 0);
    assert_string_equal(s, "9999-12-31T23:59:59Z");
    /* 2^64-1 printed as 1969-12-31 before (time_t -1). */
    assert_int_equal(ob_time_format(s, sizeof(s), UINT64_MAX, OB_TIME_MIN), -1);
    assert_string_equal(s, "@18446744073709551615 (out of range)");
    assert_int_equal(ob_time_format(s, sizeof(s), OB_TIME_MAX + 1, OB_TIME_PLAIN), -1);
    assert_string_equal(s, "@253402300800 (out of range)");
    assert_true(ob_time_is_valid(OB_TIME_MAX));
    assert_false(ob_time_is_valid(OB_TIME_MAX + 1));
    assert_true(ob_tp_is_valid(OB_TP_MAX));
    assert_false(ob_tp_is_valid(OB_TP_MAX + 1));
}

static void test_rev_counter(void **state)
{
    static const char prefix[] = "rev-counter-generation";
    uint8_t *bexp = ob_secalloc(64);
    uint8_t key[32], iv[16] = { 0 };
    static uint8_t ks[2 * 5001]; /* words 0..5000 */
    uint64_t start = 1460505600, prev = 0, c = 0, t;

    (void)state;
    assert_non_null(bexp);
    ob_random(bexp, 64);
    {
        ob_iov v[2] = { { prefix, sizeof(prefix) }, { bexp, 64 } };
        assert_int_equal(ob_sha3_256(key, v, 2), 0);
    }
    /* one long keystream; the counter steps by 1 + w_i for each second,
     * including across the function's 2048-word chunk boundary */
    memset(ks, 0, sizeof(ks));
    assert_int_equal(ob_aes_ctr(ks, ks, sizeof(ks), key, 32, iv), 0);
    for (t = 0; t < 5000; t += (t < 20 || (t > 2030 && t < 2060) || t > 4080) ? 1 : 97) {
        uint64_t w;
        assert_int_equal(ob_hsv3_rev_counter_from_key(&c, key, start + t, start), 0);
        if (t > 0) {
            assert_true(c > prev);
        } else {
            w = (uint64_t)ks[0] | ((uint64_t)ks[1] << 8);
            assert_int_equal(c, 1 + w);
        }
        {
            uint64_t next = 0;
            assert_int_equal(ob_hsv3_rev_counter_from_key(&next, key, start + t + 1, start), 0);
            w = (uint64_t)ks[2 * (t + 1)] | ((uint64_t)ks[2 * (t + 1) + 1] << 8);
            assert_int_equal(next - c, 1 + w);
        }
        prev = c;
    }
    /* T is capped at 2^18 seconds */
    assert_int_equal(ob_hsv3_rev_counter_from_key(&c, key, start + (1u << 18) - 1, start), 0);
    assert_int_equal(ob_hsv3_rev_counter_from_key(&prev, key, start + (1u << 18) + 500, start), 0);
    assert_int_equal(c, prev);
    /* before the run start: refused */
    assert_int_equal(ob_hsv3_rev_counter_from_key(&c, key, start - 1, start), -1);
    /* a different key gives a different counter */
    assert_int_equal(ob_hsv3_rev_counter_from_key(&prev, key, start + 1000, start), 0);
    key[7] ^= 1;
    assert_int_equal(ob_hsv3_rev_counter_from_key(&c, key, start + 1000, start), 0);
    assert_int_not_equal(c, prev);
    /* T and the OPE alone, as the delegated builder searches them */
    assert_int_equal(ob_hsv3_rev_t(start + 1000, start), 1001);
    assert_int_equal(ob_hsv3_rev_t(start - 1, start), 0);
    assert_int_equal(ob_hsv3_rev_t(start + (1u << 20), start), OB_HSV3_REV_T_MAX);
    assert_int_equal(ob_hsv3_rev_ope(&prev, key, 1001), 0);
    assert_int_equal(c, prev);
    assert_int_equal(ob_hsv3_rev_ope(&c, key, 0), -1);
    assert_int_equal(ob_hsv3_rev_ope(&c, key, OB_HSV3_REV_T_MAX + 1), -1);
    assert_int_equal(ob_hsv3_rev_ope(&c, key, OB_HSV3_REV_T_MAX), 0);
    /* many counters in one pass: the same as one at a time, across chunk
     * boundaries, repeated T's included; T's out of order or range refused */
    {
        uint64_t ts[] = {
            1, 2, 2047, 2048, 2049, 2049, 4096, 4097, 6000, 70000, OB_HSV3_REV_T_MAX
        };
        uint64_t many[sizeof(ts) / sizeof(ts[0])], one;
        size_t k, n = sizeof(ts) / sizeof(ts[0]);

        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts, n), 0);
        for (k = 0; k < n; k++) {
            assert_int_equal(ob_hsv3_rev_ope(&one, key, ts[k]), 0);
            assert_int_equal(many[k], one);
        }
        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts + 3, 1), 0);
        ts[4] = 100;
        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts, n), -1);
        ts[4] = 2049;
        ts[0] = 0;
        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts, n), -1);
        ts[0] = 1;
        ts[n - 1] = OB_HSV3_REV_T_MAX + 1;
        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts, n), -1);
        assert_int_equal(ob_hsv3_rev_ope_many(many, key, ts, 0), 0);
    }
    ob_wipe(key, sizeof(key));
    ob_secfree(bexp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_period_vectors),
        cmocka_unit_test(test_onion_address_vectors),
        cmocka_unit_test(test_blinding_and_credentials),
        cmocka_unit_test(test_sample_descriptor_derivations),
        cmocka_unit_test(test_ring_indices),
        cmocka_unit_test(test_publish_slots),
        cmocka_unit_test(test_rev_counter),
        cmocka_unit_test(test_period_bounds),
        cmocka_unit_test(test_time_format),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
