/* test_qrframe.c - QR framing: round trips, any order, duplicates, foreign
 * frames, CRC and digest checks, strict header parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "crypto.h"
#include "qrframe.h"

#define CAP 666 /* byte capacity of QR version 20-M */
/* SHA-256 of fountain frame 7 of fixed_bytes(3000, 2) at capacity 666, as
 * computed by tests/bench/qr_fountain_ref.py (written from the doc alone). */
#define PINNED_FOUNTAIN_7 "2da10b938c018d63d606a578e062df2010dd2b84e85dc467a9717ad3302cc2f3"

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n + 1);
    assert_non_null(p);
    ob_random(p, n);
    return p;
}

/* Recompute a frame's CRC after a test edits it. */
static void refresh_crc(uint8_t *f, size_t len)
{
    ob_store_u32(f + len - 4, (uint32_t)crc32(0L, f, (uInt)(len - 4)));
}

static ob_qr_assembler *feed_all(const ob_qr_frames *f, const size_t *order, size_t n)
{
    ob_qr_assembler *a = ob_qr_assembler_new();
    size_t i;

    assert_non_null(a);
    for (i = 0; i < n; i++) {
        ob_qr_add_result r;
        ob_diag d;
        size_t k = order ? order[i] : i;
        assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[k], f->frame_len, &r, &d), OB_OK);
    }
    return a;
}

static void roundtrip(const uint8_t *data, size_t len, size_t cap, size_t want_frames)
{
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a;
    uint8_t *out = NULL, dig[32];
    size_t outlen = 99, i, *order;
    ob_diag d;

    assert_int_equal(ob_qr_split(data, len, cap, &f, &d), OB_OK);
    if (want_frames)
        assert_int_equal(f->n, want_frames);
    assert_true(f->frame_len <= cap);
    assert_int_equal(ob_sha256_buf(dig, data, len), 0);
    assert_memory_equal(f->digest, dig, 32);
    /* Reverse order, every frame twice. */
    order = calloc(2 * f->n, sizeof(*order));
    assert_non_null(order);
    for (i = 0; i < f->n; i++) {
        order[2 * i] = f->n - 1 - i;
        order[2 * i + 1] = f->n - 1 - i;
    }
    a = feed_all(f, order, 2 * f->n);
    assert_true(ob_qr_assembler_is_complete(a));
    {
        char want[64];
        snprintf(want, sizeof(want), "%zu/%zu", f->n, f->n);
        assert_string_equal(ob_qr_assembler_progress(a), want);
    }
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_OK);
    assert_int_equal(outlen, len);
    if (len > 0)
        assert_memory_equal(out, data, len);
    free(out);
    free(order);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
}

static void test_roundtrip_sizes(void **state)
{
    uint8_t *r = random_bytes(100000);

    (void)state;
    roundtrip(r, 0, CAP, 1); /* an empty file crosses as one frame */
    roundtrip(r, 1, CAP, 1);
    /* Exactly one full frame of incompressible data. */
    roundtrip(r, CAP - OB_QR_OVERHEAD - OB_QR_STREAM_HDR, CAP, 1);
    roundtrip(r, CAP - OB_QR_OVERHEAD - OB_QR_STREAM_HDR + 1, CAP, 2);
    roundtrip(r, 30000, CAP, 0);
    roundtrip(r, 100000, CAP, 0);
    roundtrip(r, 1000, OB_QR_MIN_FRAME, 1037); /* one stream byte per frame */
    free(r);
}

static void test_compression_only_when_it_helps(void **state)
{
    uint8_t *r = random_bytes(20000), *t = malloc(20000);
    ob_qr_frames *f = NULL;
    ob_diag d;
    size_t i;

    (void)state;
    assert_non_null(t);
    for (i = 0; i < 20000; i++)
        t[i] = (uint8_t) "introduction-point AAAA\n"[i % 24];
    assert_int_equal(ob_qr_split(r, 20000, CAP, &f, &d), OB_OK);
    assert_int_equal(f->compressed, 0);
    assert_int_equal(f->stream_len, 20000 + OB_QR_STREAM_HDR);
    ob_qr_frames_free(f);
    assert_int_equal(ob_qr_split(t, 20000, CAP, &f, &d), OB_OK);
    assert_int_equal(f->compressed, 1);
    assert_int_equal(f->n, 1);
    ob_qr_frames_free(f);
    roundtrip(t, 20000, CAP, 1);
    free(r);
    free(t);
}

static void test_missing_parts_named(void **state)
{
    uint8_t *r = random_bytes(5200), *out = (uint8_t *)"x";
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a;
    size_t order[] = { 0, 1, 3, 4, 5, 7 }, outlen;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(r, 5200, CAP, &f, &d), OB_OK);
    assert_int_equal(f->n, 9);
    a = ob_qr_assembler_new();
    assert_string_equal(ob_qr_assembler_progress(a), "0/?, no frame yet");
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_TRUNCATED);
    ob_qr_assembler_free(a);
    a = feed_all(f, order, 6);
    assert_false(ob_qr_assembler_is_complete(a));
    assert_int_equal(ob_qr_assembler_have(a), 6);
    assert_int_equal(ob_qr_assembler_count(a), 9);
    assert_string_equal(ob_qr_assembler_progress(a), "6/9, missing 3 7 9");
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_TRUNCATED);
    assert_null(out);
    assert_non_null(strstr(d.msg, "missing 3 7 9"));
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    free(r);
}

static void test_progress_list_is_capped(void **state)
{
    uint8_t *r = random_bytes(40000);
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a;
    size_t one = 0;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(r, 40000, CAP, &f, &d), OB_OK);
    a = feed_all(f, &one, 1);
    assert_non_null(strstr(ob_qr_assembler_progress(a), " 25 ... and 38 more"));
    assert_null(strstr(ob_qr_assembler_progress(a), " 26"));
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    free(r);
}

static void test_foreign_frames_ignored(void **state)
{
    uint8_t *r = random_bytes(3000), *s = random_bytes(3000), *out = NULL;
    ob_qr_frames *f = NULL, *g = NULL, *h = NULL;
    ob_qr_assembler *a;
    ob_qr_add_result res;
    size_t i, outlen;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(r, 3000, CAP, &f, &d), OB_OK);
    assert_int_equal(ob_qr_split(s, 3000, CAP, &g, &d), OB_OK);
    /* The same bundle cut differently has the same id but another geometry. */
    assert_int_equal(ob_qr_split(r, 3000, 300, &h, &d), OB_OK);
    a = ob_qr_assembler_new();
    for (i = 0; i < f->n; i++) {
        assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d), OB_OK);
        assert_int_equal(res, OB_QR_ADD_NEW);
        assert_int_equal(ob_qr_assembler_add_frame(a, g->frame[i], g->frame_len, &res, &d), OB_OK);
        assert_int_equal(res, OB_QR_ADD_FOREIGN);
        assert_int_equal(ob_qr_assembler_add_frame(a, h->frame[i], h->frame_len, &res, &d), OB_OK);
        assert_int_equal(res, OB_QR_ADD_FOREIGN);
        assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d), OB_OK);
        assert_int_equal(res, OB_QR_ADD_DUPLICATE);
    }
    assert_memory_equal(ob_qr_assembler_msgid(a), f->msgid, OB_QR_MSGID_LEN);
    assert_memory_equal(f->msgid, f->digest, OB_QR_MSGID_LEN); /* not a bundle */
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_OK);
    assert_int_equal(outlen, 3000);
    assert_memory_equal(out, r, 3000);
    free(out);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    ob_qr_frames_free(g);
    ob_qr_frames_free(h);
    free(r);
    free(s);
}

static void expect_bad(const uint8_t *fr, size_t len, ob_err want, const char *needle)
{
    ob_qr_assembler *a = ob_qr_assembler_new();
    ob_qr_add_result res;
    ob_diag d;

    memset(&d, 0, sizeof(d));
    assert_int_equal(ob_qr_assembler_add_frame(a, fr, len, &res, &d), want);
    if (strstr(d.msg, needle) == NULL)
        fail_msg("diag '%s' lacks '%s'", d.msg, needle);
    /* A refused frame changes nothing. */
    assert_int_equal(ob_qr_assembler_count(a), 0);
    ob_qr_assembler_free(a);
}

static void test_bad_frames(void **state)
{
    uint8_t *r = random_bytes(2000), *c;
    ob_qr_frames *f = NULL;
    size_t len, i;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(r, 2000, CAP, &f, &d), OB_OK);
    len = f->frame_len;
    c = malloc(len + 8);
    assert_non_null(c);

    /* Every single bit flip anywhere is caught (by the magic, version or CRC). */
    for (i = 0; i < len * 8; i += 7) {
        ob_qr_assembler *a = ob_qr_assembler_new();
        ob_qr_add_result res;
        memcpy(c, f->frame[0], len);
        c[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(ob_qr_assembler_add_frame(a, c, len, &res, &d), OB_OK);
        ob_qr_assembler_free(a);
    }
    memcpy(c, f->frame[1], len);
    c[100] ^= 1;
    expect_bad(c, len, OB_ERR_VERIFY, "CRC-32 mismatch");

    memcpy(c, f->frame[1], len);
    c[0] = 'X';
    expect_bad(c, len, OB_ERR_MALFORMED, "magic");
    memcpy(c, f->frame[1], len);
    c[2] = 2;
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_UNSUPPORTED, "format version 2");
    memcpy(c, f->frame[1], len);
    c[3] = 3; /* types 1 and 2 exist */
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_UNSUPPORTED, "frame type 3");
    memcpy(c, f->frame[1], len);
    ob_store_u32(c + 12, (uint32_t)f->n);
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_RANGE, "offset 12");
    memcpy(c, f->frame[1], len);
    ob_store_u16(c + 16, 0);
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_RANGE, "count is 0");
    memcpy(c, f->frame[1], len);
    ob_store_u32(c + 18, 10);
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_RANGE, "stream length");
    /* A trailing byte. */
    memcpy(c, f->frame[1], len);
    c[len] = 0;
    refresh_crc(c, len + 1);
    expect_bad(c, len + 1, OB_ERR_MALFORMED, "header implies");
    expect_bad(f->frame[1], 10, OB_ERR_TRUNCATED, "truncated");
    expect_bad(f->frame[1], 1, OB_ERR_TRUNCATED, "magic");
    /* Non-zero padding in the last part. */
    memcpy(c, f->frame[f->n - 1], len);
    assert_true(f->n * (len - OB_QR_OVERHEAD) > f->stream_len);
    c[len - 5] = 1;
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_MALFORMED, "padding");
    free(c);
    ob_qr_frames_free(f);
    free(r);
}

static void test_digest_checked(void **state)
{
    uint8_t *r = random_bytes(2000), *out = NULL;
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a;
    ob_qr_add_result res;
    size_t outlen, i;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(r, 2000, CAP, &f, &d), OB_OK);
    assert_int_equal(f->compressed, 0);
    /* A valid-looking frame (CRC recomputed) whose content was changed. */
    f->frame[2][OB_QR_HEADER_LEN + 5] ^= 0x40;
    refresh_crc(f->frame[2], f->frame_len);
    a = feed_all(f, NULL, f->n);
    assert_true(ob_qr_assembler_is_complete(a));
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_VERIFY);
    assert_null(out);
    ob_qr_assembler_free(a);

    /* Two copies of one part that disagree are refused. */
    a = ob_qr_assembler_new();
    assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[2], f->frame_len, &res, &d), OB_OK);
    f->frame[2][OB_QR_HEADER_LEN + 5] ^= 0x40;
    refresh_crc(f->frame[2], f->frame_len);
    assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[2], f->frame_len, &res, &d),
                     OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "part 3 differs"));
    for (i = 0; i < f->n; i++)
        (void)ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d);
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_VERIFY);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    free(r);
}

static void test_split_limits(void **state)
{
    uint8_t b[4] = { 0 };
    ob_qr_frames *f = (ob_qr_frames *)1;
    ob_diag d;
    char s[20];
    uint8_t dig[32];

    (void)state;
    assert_int_equal(ob_qr_split(b, 4, OB_QR_MIN_FRAME - 1, &f, &d), OB_ERR_RANGE);
    assert_null(f);
    assert_int_equal(ob_qr_split(b, OB_QR_MAX_BUNDLE + 1, CAP, &f, &d), OB_ERR_RANGE);
    for (size_t i = 0; i < 32; i++)
        dig[i] = (uint8_t)(i * 17);
    ob_qr_short_digest(dig, s);
    assert_string_equal(s, "00112233 44556677"); /* as ob_bundle_digest_short writes */
}

/* Deterministic incompressible bytes, so fountain runs are reproducible. */
static uint8_t *fixed_bytes(size_t n, uint8_t tag)
{
    uint8_t *p = malloc(n + 32), blk[32];
    size_t i;

    assert_non_null(p);
    for (i = 0; i < n; i += 32) {
        uint8_t in[9] = { tag };
        ob_store_u64(in + 1, i);
        assert_int_equal(ob_sha256_buf(blk, in, sizeof(in)), 0);
        memcpy(p + i, blk, 32);
    }
    return p;
}

static void test_fountain_frames(void **state)
{
    uint8_t *b = fixed_bytes(20000, 1), *fr, *out = NULL;
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a;
    ob_qr_add_result res;
    size_t i, outlen, used;
    uint32_t seq;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(b, 20000, CAP, &f, &d), OB_OK);
    assert_int_equal(f->n, 32);
    fr = malloc(f->frame_len);
    assert_non_null(fr);
    /* Below n the sender's frames are the parts themselves. */
    for (i = 0; i < f->n; i++) {
        assert_int_equal(ob_qr_frame_at(f, (uint32_t)i, fr, &d), OB_OK);
        assert_memory_equal(fr, f->frame[i], f->frame_len);
        assert_int_equal(ob_qr_sender_seq(f, i), i);
    }
    assert_int_equal(ob_qr_sender_seq(f, 1000), 1000);

    /* Fountain frames alone complete the transfer, with few spare frames. */
    a = ob_qr_assembler_new();
    for (seq = (uint32_t)f->n; !ob_qr_assembler_is_complete(a); seq++) {
        assert_true(seq < 3 * f->n);
        assert_int_equal(ob_qr_frame_at(f, seq, fr, &d), OB_OK);
        assert_int_equal(fr[3], OB_QR_TYPE_FOUNTAIN);
        assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_OK);
        assert_true(res == OB_QR_ADD_HELD || res == OB_QR_ADD_NEW);
        if (!ob_qr_assembler_is_complete(a) && ob_qr_assembler_have(a) == 0 && seq > f->n)
            assert_non_null(strstr(ob_qr_assembler_progress(a), "fountain frames held"));
    }
    used = seq - f->n;
    print_message("fountain-only: %zu frames for %zu parts\n", used, f->n);
    assert_true(used <= f->n + 16);
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_OK);
    assert_int_equal(outlen, 20000);
    assert_memory_equal(out, b, 20000);
    free(out);
    /* Once complete, a fountain frame brings nothing new. */
    assert_int_equal(ob_qr_frame_at(f, 5000, fr, &d), OB_OK);
    assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_OK);
    assert_int_equal(res, OB_QR_ADD_DUPLICATE);
    /* ... and one that disagrees with the parts is refused. */
    fr[OB_QR_HEADER_LEN] ^= 1;
    refresh_crc(fr, f->frame_len);
    assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "disagrees"));
    ob_qr_assembler_free(a);

    /* Every third part lost: fountain frames fill the gaps, repeats are
     * recognised. */
    a = ob_qr_assembler_new();
    for (i = 0; i < f->n; i++)
        if (i % 3 != 1)
            assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d),
                             OB_OK);
    assert_false(ob_qr_assembler_is_complete(a));
    for (seq = (uint32_t)f->n; !ob_qr_assembler_is_complete(a); seq++) {
        assert_true(seq < 2 * f->n);
        assert_int_equal(ob_qr_frame_at(f, seq, fr, &d), OB_OK);
        assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_OK);
        if (res == OB_QR_ADD_HELD) {
            assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_OK);
            assert_int_equal(res, OB_QR_ADD_DUPLICATE);
        }
    }
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_OK);
    assert_memory_equal(out, b, 20000);
    free(out);
    ob_qr_assembler_free(a);

    /* A damaged fountain frame that passes the CRC (recomputed) can only
     * spoil the result, which the SHA-256 check then refuses. */
    a = ob_qr_assembler_new();
    for (i = 1; i < f->n; i++)
        assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d), OB_OK);
    for (seq = (uint32_t)f->n; !ob_qr_assembler_is_complete(a); seq++) {
        assert_int_equal(ob_qr_frame_at(f, seq, fr, &d), OB_OK);
        fr[OB_QR_HEADER_LEN + 7] ^= 0x10;
        refresh_crc(fr, f->frame_len);
        (void)ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d);
    }
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_VERIFY);
    assert_null(out);
    ob_qr_assembler_free(a);

    free(fr);
    ob_qr_frames_free(f);
    free(b);
}

/* The fountain rule is part of the format: one frame's bytes must equal what
 * an independent implementation of docs/qr-transfer.rst makes (a change here
 * is a format change and needs a new frame type). */
static void test_fountain_rule_pinned(void **state)
{
    uint8_t *b = fixed_bytes(3000, 2), *fr, dig[32];
    ob_qr_frames *f = NULL;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_qr_split(b, 3000, CAP, &f, &d), OB_OK);
    assert_int_equal(f->n, 5);
    fr = malloc(f->frame_len);
    assert_non_null(fr);
    assert_int_equal(ob_qr_frame_at(f, 7, fr, &d), OB_OK);
    assert_int_equal(ob_sha256_buf(dig, fr, f->frame_len), 0);
    {
        char hex[65];
        size_t i;
        for (i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", dig[i]);
        print_message("fountain frame 7 sha256 %s\n", hex);
        assert_string_equal(hex, PINNED_FOUNTAIN_7);
    }
    free(fr);
    ob_qr_frames_free(f);
    free(b);
}

/* Frames are sorted by message before any assembler sees them. */
static void test_frame_msgid(void **state)
{
    uint8_t *b = random_bytes(1000), id[OB_QR_MSGID_LEN], want[32];
    ob_qr_frames *f = NULL;
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    assert_int_equal(ob_qr_split(b, 1000, CAP, &f, &d), OB_OK);
    assert_int_equal(ob_sha256_buf(want, b, 1000), 0);
    assert_int_equal(ob_qr_frame_msgid(f->frame[1], f->frame_len, id, &d), OB_OK);
    assert_memory_equal(id, want, OB_QR_MSGID_LEN);
    /* A damaged frame gives no id. */
    f->frame[1][30] ^= 1;
    memset(id, 0, sizeof(id));
    assert_int_equal(ob_qr_frame_msgid(f->frame[1], f->frame_len, id, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "CRC-32"));
    assert_int_equal(ob_qr_frame_msgid(f->frame[1], 10, id, &d), OB_ERR_TRUNCATED);
    ob_qr_frames_free(f);
    free(b);
}

static void test_parse_msgid(void **state)
{
    static const uint8_t want[OB_QR_MSGID_LEN] = { 0xab, 0x12, 0xcd, 0x34, 0xef, 0x56, 0x78, 0x90 };
    uint8_t id[OB_QR_MSGID_LEN];
    char full[65];

    (void)state;
    assert_int_equal(ob_qr_parse_msgid("ab12 cd34 ef56 7890", id), 0);
    assert_memory_equal(id, want, sizeof(want));
    memset(id, 0, sizeof(id));
    assert_int_equal(ob_qr_parse_msgid("AB12CD34EF567890", id), 0);
    assert_memory_equal(id, want, sizeof(want));
    memset(full, '0', 64);
    memcpy(full, "ab12cd34ef567890", 16);
    full[64] = '\0';
    assert_int_equal(ob_qr_parse_msgid(full, id), 0);
    assert_memory_equal(id, want, sizeof(want));
    assert_int_equal(ob_qr_parse_msgid("", id), -1);
    assert_int_equal(ob_qr_parse_msgid("ab12 cd34 ef56 789", id), -1);
    assert_int_equal(ob_qr_parse_msgid("ab12 cd34 ef56 78901", id), -1);
    assert_int_equal(ob_qr_parse_msgid("ab12 cd34 ef56 789g", id), -1);
    assert_int_equal(ob_qr_parse_msgid("ab12-cd34-ef56-7890", id), -1);
    full[63] = '\0'; /* 63 digits */
    assert_int_equal(ob_qr_parse_msgid(full, id), -1);
}

/* A message past OB_QR_FOUNTAIN_MAX parts holds few fountain frames: a
 * stream of them must not pin memory growing with n squared. */
static void test_held_frames_bounded_for_large_messages(void **state)
{
    size_t len = 40000, cap = OB_QR_OVERHEAD + 64, i;
    uint8_t *b = random_bytes(len), *fr;
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a = ob_qr_assembler_new();
    ob_qr_add_result res;
    ob_diag d;

    (void)state;
    assert_non_null(a);
    ob_diag_clear(&d);
    assert_int_equal(ob_qr_split(b, len, cap, &f, &d), OB_OK);
    assert_true(f->n > OB_QR_FOUNTAIN_MAX);
    fr = malloc(f->frame_len);
    assert_non_null(fr);
    for (i = 0; i < 300; i++) {
        assert_int_equal(ob_qr_frame_at(f, (uint32_t)(f->n + i), fr, &d), OB_OK);
        assert_int_equal(ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d), OB_OK);
    }
    assert_non_null(strstr(ob_qr_assembler_progress(a), "; 64 fountain frames held"));
    /* The parts still complete it. */
    for (i = 0; i < f->n; i++)
        assert_int_equal(ob_qr_assembler_add_frame(a, f->frame[i], f->frame_len, &res, &d), OB_OK);
    assert_true(ob_qr_assembler_is_complete(a));
    free(fr);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    free(b);
}

/*
 * A payload that ends with its own SHA-256 (a bundle) is named by that
 * digest, so the QR screens show what inspect, collect and sign show; any
 * other payload by its SHA-256; and frames whose id is not their payload's
 * are refused when the message is taken.
 */
static void test_bundle_message_id(void **state)
{
    uint8_t *b = fixed_bytes(2000, 5), id[OB_QR_MSGID_LEN], sha[32], *out = NULL;
    ob_qr_frames *f = NULL, *g = NULL;
    ob_qr_assembler *a;
    size_t outlen = 0, i;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_sha256_buf(b + 2000, b, 2000), 0); /* now b is "self-digesting" */
    assert_int_equal(ob_sha256_buf(sha, b, 2032), 0);
    assert_int_equal(ob_qr_message_id(b, 2032, id), 1);
    assert_memory_equal(id, b + 2000, OB_QR_MSGID_LEN);
    assert_memory_not_equal(id, sha, OB_QR_MSGID_LEN);
    assert_int_equal(ob_qr_split(b, 2032, CAP, &f, &d), OB_OK);
    assert_int_equal(f->self_digest, 1);
    assert_memory_equal(f->msgid, b + 2000, OB_QR_MSGID_LEN);
    for (i = 0; i < f->n; i++) {
        uint8_t fid[OB_QR_MSGID_LEN];
        assert_int_equal(ob_qr_frame_msgid(f->frame[i], f->frame_len, fid, &d), OB_OK);
        assert_memory_equal(fid, b + 2000, OB_QR_MSGID_LEN);
    }
    a = feed_all(f, NULL, f->n);
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_OK);
    assert_int_equal(outlen, 2032);
    assert_memory_equal(out, b, 2032);
    free(out);
    out = NULL;
    ob_qr_assembler_free(a);
    /* One byte less: no longer ends with its digest, named by SHA-256. */
    assert_int_equal(ob_qr_message_id(b, 2031, id), 0);
    assert_int_equal(ob_sha256_buf(sha, b, 2031), 0);
    assert_memory_equal(id, sha, OB_QR_MSGID_LEN);
    /* Frames of that payload relabelled with the bundle's id (CRC made
     * right): complete, SHA-256 right, but the id is not the payload's. */
    assert_int_equal(ob_qr_split(b, 2031, CAP, &g, &d), OB_OK);
    assert_int_equal(g->self_digest, 0);
    for (i = 0; i < g->n; i++) {
        memcpy(g->frame[i] + 4, b + 2000, OB_QR_MSGID_LEN);
        refresh_crc(g->frame[i], g->frame_len);
    }
    a = feed_all(g, NULL, g->n);
    assert_int_equal(ob_qr_assembler_take(a, &out, &outlen, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "message id"));
    assert_null(out);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
    ob_qr_frames_free(g);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_compression_only_when_it_helps),
        cmocka_unit_test(test_missing_parts_named),
        cmocka_unit_test(test_progress_list_is_capped),
        cmocka_unit_test(test_foreign_frames_ignored),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_digest_checked),
        cmocka_unit_test(test_split_limits),
        cmocka_unit_test(test_fountain_frames),
        cmocka_unit_test(test_fountain_rule_pinned),
        cmocka_unit_test(test_frame_msgid),
        cmocka_unit_test(test_bundle_message_id),
        cmocka_unit_test(test_parse_msgid),
        cmocka_unit_test(test_held_frames_bounded_for_large_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
