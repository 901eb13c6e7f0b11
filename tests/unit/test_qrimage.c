/* test_qrimage.c - QR pictures: capacity, PNG round trip, zbar reads binary
 * frames back byte for byte, also from degraded pictures, and the terminal
 * rendering holds the same modules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "qrframe.h"
#include "qrimage.h"

typedef struct got {
    uint8_t data[3000];
    size_t len;
    int n;
} got;

static int collect(void *ctx, const uint8_t *data, size_t len)
{
    got *g = ctx;
    g->n++;
    assert_true(len <= sizeof(g->data));
    memcpy(g->data, data, len);
    g->len = len;
    return 0;
}

static void test_capacity(void **state)
{
    size_t cap = 0;
    ob_diag d;

    (void)state;
    /* ISO/IEC 18004 table 7, byte mode. */
    assert_int_equal(ob_qrimage_capacity(20, OB_QR_LEVEL_M, &cap, &d), OB_OK);
    assert_int_equal(cap, 666);
    assert_int_equal(ob_qrimage_capacity(1, OB_QR_LEVEL_L, &cap, &d), OB_OK);
    assert_int_equal(cap, 17);
    assert_int_equal(ob_qrimage_capacity(40, OB_QR_LEVEL_L, &cap, &d), OB_OK);
    assert_int_equal(cap, 2953);
    assert_int_equal(ob_qrimage_capacity(41, OB_QR_LEVEL_M, &cap, &d), OB_ERR_RANGE);
}

static void test_levels(void **state)
{
    ob_qr_level l;

    (void)state;
    assert_int_equal(ob_qrimage_parse_level("m", &l), 0);
    assert_int_equal(l, OB_QR_LEVEL_M);
    assert_int_equal(ob_qrimage_parse_level("H", &l), 0);
    assert_int_equal(l, OB_QR_LEVEL_H);
    assert_int_equal(ob_qrimage_parse_level("X", &l), -1);
    assert_int_equal(ob_qrimage_parse_level("MM", &l), -1);
    assert_int_equal(ob_qrimage_parse_level("", &l), -1);
}

/* A full binary frame at the defaults, through PNG bytes and zbar. */
static ob_gray *frame_picture(uint8_t *payload, size_t len)
{
    ob_qrcode *q = NULL;
    ob_gray *g = NULL, *back = NULL;
    ob_buf png;
    ob_diag d;

    ob_buf_init(&png);
    assert_int_equal(
        ob_qrimage_encode(payload, len, OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_LEVEL, &q, &d), OB_OK);
    assert_int_equal(q->width, 97);
    assert_int_equal(ob_qrimage_render(q, OB_QR_DEFAULT_SCALE, &g, &d), OB_OK);
    assert_int_equal(g->w, (97 + 8) * OB_QR_DEFAULT_SCALE);
    assert_int_equal(ob_qrimage_png_encode(g, &png, &d), OB_OK);
    assert_memory_equal(png.p, "\x89PNG", 4);
    assert_int_equal(ob_qrimage_png_decode(png.p, png.len, &back, &d), OB_OK);
    assert_int_equal(back->w, g->w);
    assert_memory_equal(back->px, g->px, (size_t)g->w * (size_t)g->h);
    ob_buf_free(&png);
    ob_gray_free(g);
    ob_qrcode_free(q);
    return back;
}

static int scan(ob_qrscan *s, const ob_gray *g, got *out, int *retried)
{
    ob_diag d;
    int found = 0;

    memset(out, 0, sizeof(*out));
    assert_int_equal(ob_qrscan_gray(s, g, collect, out, &found, retried, &d), OB_OK);
    return found;
}

static void test_binary_roundtrip_and_degradations(void **state)
{
    uint8_t payload[666];
    ob_qrscan *s = ob_qrscan_new();
    ob_gray *g, *t;
    got out;
    int retried, i;

    (void)state;
    assert_non_null(s);
    /* Worst case for a text-guessing decoder: every byte value, NULs, and
     * runs that look like UTF-8 and 1-D barcodes. */
    for (i = 0; i < 666; i++)
        payload[i] = (uint8_t)(i * 7 + (i >> 8));
    payload[0] = 0;
    payload[1] = 0xc3;
    payload[2] = 0x28;
    g = frame_picture(payload, sizeof(payload));

    assert_int_equal(scan(s, g, &out, &retried), 1);
    assert_int_equal(out.len, 666);
    assert_memory_equal(out.data, payload, 666);
    assert_int_equal(retried, 0);

    /* Scaled down to 2 pixels per module (a small photo). */
    t = ob_gray_scale(g, 2.0 / OB_QR_DEFAULT_SCALE);
    assert_int_equal(scan(s, t, &out, &retried), 1);
    assert_memory_equal(out.data, payload, 666);
    ob_gray_free(t);

    /* Blurred. */
    t = ob_gray_scale(g, 1.0);
    ob_gray_blur(t, 2);
    assert_int_equal(scan(s, t, &out, &retried), 1);
    assert_memory_equal(out.data, payload, 666);
    ob_gray_free(t);

    /* Rotated slightly, both ways. */
    t = ob_gray_rotate(g, 3.0);
    assert_int_equal(scan(s, t, &out, &retried), 1);
    assert_memory_equal(out.data, payload, 666);
    ob_gray_free(t);
    t = ob_gray_rotate(g, -5.0);
    assert_int_equal(scan(s, t, &out, &retried), 1);
    assert_memory_equal(out.data, payload, 666);
    ob_gray_free(t);

    /* Heavy noise. */
    t = ob_gray_scale(g, 1.0);
    ob_gray_noise(t, 110, 12345);
    assert_int_equal(scan(s, t, &out, &retried), 1);
    assert_memory_equal(out.data, payload, 666);
    ob_gray_free(t);

    /* Everything at once: a smaller, tilted, soft, noisy picture (4 pixels
     * per module; docs/qr-transfer.rst gives the measured limits). */
    t = ob_gray_rotate(g, 2.0);
    {
        ob_gray *u = ob_gray_scale(t, 4.0 / OB_QR_DEFAULT_SCALE);
        ob_gray_blur(u, 1);
        ob_gray_noise(u, 40, 99);
        assert_int_equal(scan(s, u, &out, &retried), 1);
        assert_memory_equal(out.data, payload, 666);
        ob_gray_free(u);
    }
    ob_gray_free(t);

    /* A blank picture holds nothing, and the blurred retry was tried. */
    t = ob_gray_new(200, 200);
    assert_int_equal(scan(s, t, &out, &retried), 0);
    assert_int_equal(retried, 1);
    ob_gray_free(t);

    ob_gray_free(g);
    ob_qrscan_free(s);
}

/* Noise that defeats the first pass is rescued by the blurred retry. */
static void test_blur_retry_rescues(void **state)
{
    uint8_t payload[600];
    ob_qrscan *s = ob_qrscan_new();
    ob_gray *g, *t;
    got out;
    int retried = 0, amp, rescued = 0;

    (void)state;
    ob_random(payload, sizeof(payload));
    g = frame_picture(payload, sizeof(payload));
    for (amp = 100; amp <= 250 && !rescued; amp += 10) {
        int found;
        t = ob_gray_scale(g, 1.0);
        ob_gray_noise(t, amp, (uint32_t)amp);
        found = scan(s, t, &out, &retried);
        if (found == 1 && retried) {
            assert_memory_equal(out.data, payload, sizeof(payload));
            rescued = 1;
        }
        ob_gray_free(t);
    }
    assert_true(rescued);
    ob_gray_free(g);
    ob_qrscan_free(s);
}

static void test_too_big_and_bad_png(void **state)
{
    uint8_t big[700] = { 0 };
    ob_qrcode *q = (ob_qrcode *)1;
    ob_gray *g = (ob_gray *)1;
    ob_diag d;
    static const uint8_t notpng[] = "\x89PNG\r\n\x1a\nthis is not a png";

    (void)state;
    assert_int_equal(ob_qrimage_encode(big, sizeof(big), 20, OB_QR_LEVEL_M, &q, &d), OB_ERR_RANGE);
    assert_null(q);
    assert_int_equal(ob_qrimage_png_decode(notpng, sizeof(notpng) - 1, &g, &d), OB_ERR_MALFORMED);
    assert_null(g);
    assert_null(ob_gray_new(OB_GRAY_MAX_SIDE + 1, 10));
}

/* The half-block picture, read back cell by cell, is the symbol. */
static void test_utf8_rendering(void **state)
{
    uint8_t payload[100];
    ob_qrcode *q = NULL;
    ob_buf b;
    ob_diag d;
    int cols, rows, y, x, side;
    const char *p;

    (void)state;
    memset(payload, 'A', sizeof(payload));
    ob_buf_init(&b);
    assert_int_equal(ob_qrimage_encode(payload, sizeof(payload), 7, OB_QR_LEVEL_M, &q, &d), OB_OK);
    side = q->width + 2 * OB_QR_BORDER;
    ob_qrimage_utf8_size(q, 0, &cols, &rows);
    assert_int_equal(cols, side);
    assert_int_equal(rows, (side + 1) / 2);
    ob_qrimage_render_utf8(q, 0, &b);
    ob_buf_nul(&b);
    p = (const char *)b.p;
    for (y = 0; y < rows; y++) {
        assert_int_equal(strncmp(p, "\x1b[30;107m", 9), 0);
        p += 9;
        for (x = 0; x < cols; x++) {
            int mx = x - OB_QR_BORDER, my = 2 * y - OB_QR_BORDER, top = 0, bot = 0;
            if (mx >= 0 && mx < q->width && my >= 0 && my < q->width)
                top = q->mod[my * q->width + mx];
            if (mx >= 0 && mx < q->width && my + 1 >= 0 && my + 1 < q->width)
                bot = q->mod[(my + 1) * q->width + mx];
            if (*p == ' ') {
                assert_false(top || bot);
                p++;
                continue;
            }
            assert_int_equal(strncmp(p, "\xe2\x96", 2), 0);
            if ((uint8_t)p[2] == 0x88)
                assert_true(top && bot);
            else if ((uint8_t)p[2] == 0x80)
                assert_true(top && !bot);
            else if ((uint8_t)p[2] == 0x84)
                assert_true(!top && bot);
            else
                fail_msg("unexpected glyph");
            p += 3;
        }
        assert_int_equal(strncmp(p, "\x1b[0m\n", 5), 0);
        p += 5;
    }
    assert_int_equal(*p, '\0');
    ob_buf_free(&b);
    ob_qrcode_free(q);
}

typedef struct feed {
    ob_qr_assembler *a;
    ob_err last;
    ob_diag d;
} feed;

static int to_assembler(void *ctx, const uint8_t *data, size_t len)
{
    feed *f = ctx;
    ob_qr_add_result res;

    f->last = ob_qr_assembler_add_frame(f->a, data, len, &res, &f->d);
    return 0;
}

/* Frames through pictures and zbar into the assembler; a frame damaged
 * before it was drawn (so the QR code itself is intact) is caught by the
 * CRC and changes nothing. */
static void test_frames_through_pictures(void **state)
{
    uint8_t bundle[1500], *out = NULL;
    ob_qr_frames *fr = NULL;
    ob_qrscan *s = ob_qrscan_new();
    feed f;
    size_t i, outlen;
    ob_diag d;

    (void)state;
    ob_random(bundle, sizeof(bundle));
    memset(&f, 0, sizeof(f));
    f.a = ob_qr_assembler_new();
    assert_int_equal(ob_qr_split(bundle, sizeof(bundle), 666, &fr, &d), OB_OK);
    assert_int_equal(fr->n, 3);
    for (i = 0; i < fr->n; i++) {
        ob_qrcode *q = NULL;
        ob_gray *g = NULL;
        int found = 0;
        uint8_t saved = fr->frame[i][40];
        if (i == 1) {
            /* Damaged first: the CRC refuses it. */
            fr->frame[i][40] ^= 0x08;
            assert_int_equal(
                ob_qrimage_encode(fr->frame[i], fr->frame_len, 20, OB_QR_LEVEL_M, &q, &d), OB_OK);
            assert_int_equal(ob_qrimage_render(q, 4, &g, &d), OB_OK);
            assert_int_equal(ob_qrscan_gray(s, g, to_assembler, &f, &found, NULL, &d), OB_OK);
            assert_int_equal(found, 1);
            assert_int_equal(f.last, OB_ERR_VERIFY);
            assert_non_null(strstr(f.d.msg, "CRC-32"));
            assert_int_equal(ob_qr_assembler_have(f.a), 1);
            fr->frame[i][40] = saved;
            ob_gray_free(g);
            ob_qrcode_free(q);
            g = NULL;
            q = NULL;
        }
        assert_int_equal(ob_qrimage_encode(fr->frame[i], fr->frame_len, 20, OB_QR_LEVEL_M, &q, &d),
                         OB_OK);
        assert_int_equal(ob_qrimage_render(q, 4, &g, &d), OB_OK);
        assert_int_equal(ob_qrscan_gray(s, g, to_assembler, &f, &found, NULL, &d), OB_OK);
        assert_int_equal(f.last, OB_OK);
        ob_gray_free(g);
        ob_qrcode_free(q);
    }
    assert_true(ob_qr_assembler_is_complete(f.a));
    assert_int_equal(ob_qr_assembler_take(f.a, &out, &outlen, &d), OB_OK);
    assert_int_equal(outlen, sizeof(bundle));
    assert_memory_equal(out, bundle, sizeof(bundle));
    free(out);
    ob_qr_assembler_free(f.a);
    ob_qr_frames_free(fr);
    ob_qrscan_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_binary_roundtrip_and_degradations),
        cmocka_unit_test(test_blur_retry_rescues),
        cmocka_unit_test(test_too_big_and_bad_png),
        cmocka_unit_test(test_utf8_rendering),
        cmocka_unit_test(test_frames_through_pictures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
