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
    assert_memory_equal(ob_qr_assembler_msgid(a), f->digest, OB_QR_MSGID_LEN);
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
    c[3] = 2; /* reserved for fountain frames */
    refresh_crc(c, len);
    expect_bad(c, len, OB_ERR_UNSUPPORTED, "frame type 2");
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
    assert_string_equal(s, "0011 2233 4455 6677");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
