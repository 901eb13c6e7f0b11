/* test_encode.c - base32/base64/hex/PEM codecs: RFC 4648 vectors and strictness. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "encode.h"
#include "secmem.h"

static void test_base32_rfc4648(void **state)
{
    /* RFC 4648 section 10, lower-cased and without padding. */
    static const struct {
        const char *in, *out;
    } v[] = { { "", "" },
              { "f", "my" },
              { "fo", "mzxq" },
              { "foo", "mzxw6" },
              { "foob", "mzxw6yq" },
              { "fooba", "mzxw6ytb" },
              { "foobar", "mzxw6ytboi" } };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char enc[64];
        uint8_t dec[64];
        size_t n = 0;
        ob_base32_encode(enc, (const uint8_t *)v[i].in, strlen(v[i].in));
        assert_string_equal(enc, v[i].out);
        assert_int_equal(ob_base32_enc_len(strlen(v[i].in)), strlen(v[i].out));
        assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, enc, strlen(enc)), 0);
        assert_int_equal(n, strlen(v[i].in));
        assert_memory_equal(dec, v[i].in, n);
    }
}

static void test_base32_strict(void **state)
{
    uint8_t dec[16];
    size_t n;

    (void)state;
    assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, "MZXW6", 5), 0); /* upper ok */
    assert_memory_equal(dec, "foo", 3);
    assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, "mzxw7", 5), -1); /* stray bits */
    assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, "m", 1), -1);     /* bad length */
    assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, "mzxw1", 5), -1); /* '1' */
    assert_int_equal(ob_base32_decode(dec, sizeof(dec), &n, "my==", 4), -1);  /* padding */
    assert_int_equal(ob_base32_decode(dec, 2, &n, "mzxw6", 5), -1);           /* overflow */
}

static void test_base64_rfc4648(void **state)
{
    static const struct {
        const char *in, *pad, *nopad;
    } v[] = { { "", "", "" },
              { "f", "Zg==", "Zg" },
              { "fo", "Zm8=", "Zm8" },
              { "foo", "Zm9v", "Zm9v" },
              { "foob", "Zm9vYg==", "Zm9vYg" },
              { "fooba", "Zm9vYmE=", "Zm9vYmE" },
              { "foobar", "Zm9vYmFy", "Zm9vYmFy" } };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char enc[64];
        uint8_t dec[64];
        size_t n = 0, len = strlen(v[i].in);
        ob_base64_encode(enc, (const uint8_t *)v[i].in, len, OB_B64_PAD);
        assert_string_equal(enc, v[i].pad);
        ob_base64_encode(enc, (const uint8_t *)v[i].in, len, OB_B64_NOPAD);
        assert_string_equal(enc, v[i].nopad);
        assert_int_equal(ob_base64_enc_len(len, OB_B64_NOPAD), strlen(v[i].nopad));
        assert_int_equal(
            ob_base64_decode(dec, sizeof(dec), &n, v[i].pad, strlen(v[i].pad), OB_B64_PAD), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, v[i].in, len);
        assert_int_equal(
            ob_base64_decode(dec, sizeof(dec), &n, v[i].nopad, strlen(v[i].nopad), OB_B64_NOPAD),
            0);
        assert_int_equal(n, len);
        assert_int_equal(
            ob_base64_decode(dec, sizeof(dec), &n, v[i].nopad, strlen(v[i].nopad), OB_B64_EITHER),
            0);
    }
}

static void test_base64_strict(void **state)
{
    uint8_t dec[16];
    size_t n;

    (void)state;
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Zg", 2, OB_B64_PAD), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Zg==", 4, OB_B64_NOPAD), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Zh==", 4, OB_B64_PAD), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Zg=", 3, OB_B64_EITHER), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Z===", 4, OB_B64_PAD), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Zm 9v", 5, OB_B64_EITHER), -1);
    assert_int_equal(ob_base64_decode(dec, sizeof(dec), &n, "Z", 1, OB_B64_NOPAD), -1);
    assert_int_equal(ob_base64_decode(dec, 2, &n, "Zm9v", 4, OB_B64_PAD), -1);
}

/*
 * The decoder reads four digits at a time through a table; the rules are
 * the one-digit-at-a-time decoder's.  Here that simple decoder, written
 * again from the rules, judges random strings over the alphabet, '=' and
 * a few bytes that are not base64, at every length and output size.
 */
static int ref_val(unsigned char c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c != 0 ? strchr(a, c) : NULL;

    return p != NULL ? (int)(p - a) : -1;
}

static int ref_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t n,
                      int pad)
{
    size_t i, o = 0, npad = 0, data;
    uint32_t acc = 0;
    int bits = 0;

    while (npad < 2 && npad < n && in[n - 1 - npad] == '=')
        npad++;
    if ((npad > 0 && !(pad & OB_B64_PAD)) || (npad > 0 && n % 4 != 0) ||
        (npad == 0 && pad == OB_B64_PAD && n % 4 != 0))
        return -1;
    data = n - npad;
    if (data % 4 == 1 || (npad > 0 && (data % 4) + npad != 4))
        return -1;
    for (i = 0; i < data; i++) {
        int v = ref_val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outmax)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    *outlen = o;
    return 0;
}

static void test_base64_against_reference(void **state)
{
    static const char extra[] = "=\xff\x80 \n-_.\0A";
    char in[48];
    uint8_t a[40], b[40], rnd[64];
    size_t n, na = 0, nb = 0, i, k, outmax;
    int round, pad, ra, rb, ok = 0;

    (void)state;
    for (round = 0; round < 200000; round++) {
        randombytes_buf(rnd, sizeof(rnd));
        n = rnd[0] % 41;
        outmax = rnd[1] % 33;
        pad = 1 + rnd[2] % 3; /* OB_B64_PAD, OB_B64_NOPAD, OB_B64_EITHER */
        for (i = 0; i < n; i++) {
            k = rnd[3 + i] % 80;
            in[i] = k < 64 ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[k]
                           : extra[k % (sizeof(extra) - 1)];
        }
        /* Often a valid encoding, so the accepting paths are compared too. */
        if (rnd[60] % 2) {
            ob_base64_encode(in, rnd + 3, n * 3 / 4, rnd[61] % 2 ? OB_B64_PAD : OB_B64_NOPAD);
            n = strlen(in);
        }
        ra = ob_base64_decode(a, outmax, &na, in, n, pad);
        rb = ref_decode(b, outmax, &nb, in, n, pad);
        if (ra != rb)
            fail_msg("'%.*s' (pad %d, outmax %zu): %d, reference %d", (int)n, in, pad, outmax, ra,
                     rb);
        if (ra == 0) {
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
            ok++;
        }
    }
    assert_true(ok > 1000);
}

static void test_hex(void **state)
{
    uint8_t b[3] = { 0x00, 0xab, 0xff }, d[3];
    char h[7];

    (void)state;
    ob_hex_encode(h, b, 3);
    assert_string_equal(h, "00abff");
    assert_int_equal(ob_hex_decode(d, 3, "00ABff", 6), 0);
    assert_memory_equal(d, b, 3);
    assert_int_equal(ob_hex_decode(d, 3, "00abf", 5), -1);
    assert_int_equal(ob_hex_decode(d, 3, "00abfg", 6), -1);
}

static void test_pem_round_trip(void **state)
{
    uint8_t data[100];
    ob_buf out, dec;
    ob_cur c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    ob_buf_init(&out);
    ob_buf_init(&dec);
    ob_pem_encode(&out, "ED25519 CERT", data, sizeof(data));
    assert_true(ob_buf_ok(&out));
    /* 100 bytes -> 136 base64 chars -> lines of 64, 64, 8 */
    assert_int_equal(out.len, strlen("-----BEGIN ED25519 CERT-----\n") + 65 + 65 + 9 +
                                  strlen("-----END ED25519 CERT-----\n"));
    ob_cur_init(&c, out.p, out.len);
    assert_int_equal(ob_pem_decode(&c, "ED25519 CERT", 1000, &dec, NULL), OB_OK);
    assert_true(ob_cur_is_empty(&c));
    assert_int_equal(dec.len, sizeof(data));
    assert_memory_equal(dec.p, data, sizeof(data));
    ob_buf_free(&out);
    ob_buf_free(&dec);
}

static void test_pem_errors(void **state)
{
    static const char *bad[] = {
        "-----BEGIN X-----\nZm9v\n",                    /* no END */
        "-----BEGIN Y-----\nZm9v\n-----END Y-----\n",   /* wrong tag */
        "-----BEGIN X-----\nZm9\n-----END X-----\n",    /* bad base64 */
        "-----BEGIN X-----\nZm9v\r\n-----END X-----\n", /* CR */
        "-----BEGIN X-----\n\n-----END X-----\n",       /* empty line */
    };
    ob_diag d;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ob_buf dec;
        ob_cur c;
        ob_buf_init(&dec);
        ob_cur_init(&c, bad[i], strlen(bad[i]));
        d.msg[0] = '\0';
        assert_int_not_equal(ob_pem_decode(&c, "X", 1000, &dec, &d), OB_OK);
        assert_int_equal(c.off, 0); /* the cursor does not move on failure */
        assert_true(strstr(d.msg, "offset") != NULL);
        ob_buf_free(&dec);
    }
}

/* An empty cursor may hold NULL: reading a line from it is "need more",
 * not a memchr(NULL) (UBSan's nonnull check flagged the old code path). */
static void test_cursor_line_empty(void **state)
{
    ob_cur c;
    const char *line = NULL;
    size_t n = 7;

    (void)state;
    ob_cur_init(&c, NULL, 5);
    assert_int_equal(ob_cur_left(&c), 0);
    assert_int_equal(ob_cur_line(&c, &line, &n), -1);
    assert_null(line);
    assert_int_equal(n, 7);
    ob_cur_init(&c, "ab\n", 3);
    assert_int_equal(ob_cur_line(&c, &line, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ob_cur_line(&c, &line, &n), -1);
}

/* Lines with a NUL or CR anywhere are refused (-2), whatever the byte's
 * place among the eight read at a time; bytes next to those values pass. */
static void test_cursor_line_nul_cr(void **state)
{
    static const uint8_t bad[] = { 0x00, 0x0d }, good[] = { 0x01, 0x0c, 0x0e, 0x80, 0x8d, 0xff };
    char buf[40];
    const char *line;
    size_t n, len, pos, k;
    ob_cur c;

    (void)state;
    for (len = 1; len < 30; len++)
        for (pos = 0; pos < len; pos++) {
            for (k = 0; k < sizeof(bad); k++) {
                memset(buf, 'a', len);
                buf[pos] = (char)bad[k];
                buf[len] = '\n';
                ob_cur_init(&c, buf, len + 1);
                assert_int_equal(ob_cur_line(&c, &line, &n), -2);
            }
            for (k = 0; k < sizeof(good); k++) {
                memset(buf, 'a', len);
                buf[pos] = (char)good[k];
                buf[len] = '\n';
                ob_cur_init(&c, buf, len + 1);
                assert_int_equal(ob_cur_line(&c, &line, &n), 0);
                assert_int_equal(n, len);
            }
        }
}

/* A key's PEM decodes into secure memory, its base64 staging too (the
 * staging buffer follows out's kind; this checks the round trip through it
 * and that out stays secure and grows). */
static void test_pem_secure_out(void **state)
{
    uint8_t key[48];
    ob_buf pem, der;
    ob_cur c;
    size_t i;

    (void)state;
    assert_int_equal(ob_secmem_init(), 0);
    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7);
    ob_buf_init_secure(&pem);
    ob_buf_init_secure(&der);
    ob_pem_encode(&pem, "PRIVATE KEY", key, sizeof(key));
    assert_true(ob_buf_ok(&pem));
    ob_cur_init(&c, pem.p, pem.len);
    assert_int_equal(ob_pem_decode(&c, "PRIVATE KEY", 4096, &der, NULL), OB_OK);
    assert_true(der.secure);
    assert_int_equal(der.len, sizeof(key));
    assert_memory_equal(der.p, key, sizeof(key));
    ob_buf_free(&pem);
    ob_buf_free(&der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_rfc4648),     cmocka_unit_test(test_base32_strict),
        cmocka_unit_test(test_base64_rfc4648),     cmocka_unit_test(test_base64_against_reference),
        cmocka_unit_test(test_base64_strict),      cmocka_unit_test(test_hex),
        cmocka_unit_test(test_pem_round_trip),     cmocka_unit_test(test_pem_errors),
        cmocka_unit_test(test_cursor_line_empty),  cmocka_unit_test(test_pem_secure_out),
        cmocka_unit_test(test_cursor_line_nul_cr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
