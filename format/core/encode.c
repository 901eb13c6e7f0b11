/* encode.c - strict base32/base64/hex codecs and PEM armor. */
#include "encode.h"

#include "secmem.h"

#include <pthread.h>
#include <string.h>

static const char b32_alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ob_base32_enc_len(size_t n)
{
    return (n * 8 + 4) / 5;
}

void ob_base32_encode(char *out, const uint8_t *in, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alpha[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alpha[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

static int b32_val(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int ob_base32_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;

    /* Lengths that leave 1, 3 or 6 symbols over are not the encoding of anything. */
    if ((n * 5) % 8 >= 5)
        return -1;
    for (i = 0; i < n; i++) {
        int v = b32_val(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outmax)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1; /* non-canonical: leftover bits must be zero */
    *outlen = o;
    return 0;
}

size_t ob_base64_enc_len(size_t n, int pad)
{
    if (pad == OB_B64_PAD)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t ob_base64_dec_max(size_t n)
{
    return n / 4 * 3 + 3;
}

/*
 * Tables made once from b64_alpha (b64_tables).  Encoding: two digits per
 * 12 bits, half the lookups of one per 6 bits.  Decoding: one table per
 * position in a group of four, each entry the digit's value at its place in
 * the group's 24 bits and a bit of its own (24..27) that only digits have,
 * every other byte 0, so one test finds any byte that is not a digit.
 * Tables, not range tests: descriptors are mostly base64, and this is their
 * hot loop.
 */
static char b64_pairs[4096][2];
static uint32_t b64_dec[4][256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;
#define B64_ALL_DIGITS 0x0f000000u

static void b64_tables(void)
{
    unsigned i, k;

    for (i = 0; i < 4096; i++) {
        b64_pairs[i][0] = b64_alpha[i >> 6];
        b64_pairs[i][1] = b64_alpha[i & 63];
    }
    for (i = 0; i < 64; i++)
        for (k = 0; k < 4; k++)
            b64_dec[k][(uint8_t)b64_alpha[i]] = (uint32_t)i << (18 - 6 * k) | 1u << (24 + k);
}

void ob_base64_encode(char *out, const uint8_t *in, size_t n, int pad)
{
    size_t i, o = 0;

    pthread_once(&b64_once, b64_tables);
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out + o, b64_pairs[v >> 12], 2);
        memcpy(out + o + 2, b64_pairs[v & 4095], 2);
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alpha[(v >> 18) & 63];
        out[o++] = b64_alpha[(v >> 12) & 63];
        if (pad == OB_B64_PAD) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alpha[(v >> 18) & 63];
        out[o++] = b64_alpha[(v >> 12) & 63];
        out[o++] = b64_alpha[(v >> 6) & 63];
        if (pad == OB_B64_PAD)
            out[o++] = '=';
    }
    out[o] = '\0';
}

/* 0..63, or -1. */
static int b64_val(char c)
{
    uint32_t v = b64_dec[3][(uint8_t)c];

    return v != 0 ? (int)(v & 63) : -1;
}

int ob_base64_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t n, int pad)
{
    size_t i, o = 0, npad = 0, data, whole;
    uint32_t acc = 0;
    int bits = 0;

    pthread_once(&b64_once, b64_tables);
    while (npad < 2 && npad < n && in[n - 1 - npad] == '=')
        npad++;
    if (npad > 0 && !(pad & OB_B64_PAD))
        return -1;
    if (npad > 0 && n % 4 != 0)
        return -1;
    if (npad == 0 && pad == OB_B64_PAD && n % 4 != 0)
        return -1;
    data = n - npad;
    if (data % 4 == 1)
        return -1;
    if (npad > 0 && (data % 4) + npad != 4)
        return -1;
    /* Whole groups of four digits give three bytes each. */
    whole = data / 4 * 4;
    if (whole / 4 * 3 > outmax)
        return -1;
    for (i = 0; i < whole; i += 4) {
        uint32_t v = b64_dec[0][(uint8_t)in[i]] | b64_dec[1][(uint8_t)in[i + 1]] |
                     b64_dec[2][(uint8_t)in[i + 2]] | b64_dec[3][(uint8_t)in[i + 3]];
        if ((v & B64_ALL_DIGITS) != B64_ALL_DIGITS)
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    /* The tail: 2 or 3 digits, whose leftover bits must be zero. */
    for (; i < data; i++) {
        int v = b64_val(in[i]);
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

void ob_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ob_hex_decode(uint8_t *out, size_t outlen, const char *in, size_t n)
{
    size_t i;

    if (n != 2 * outlen)
        return -1;
    for (i = 0; i < outlen; i++) {
        int hi = hex_val(in[2 * i]), lo = hex_val(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void ob_pem_encode(ob_buf *out, const char *tag, const uint8_t *p, size_t n)
{
    size_t tl = strlen(tag), enc = ob_base64_enc_len(n, OB_B64_PAD), i, k;

    /* Straight into out (secure memory when the caller's is): no copy of
     * the base64, which for a key is the key, is left anywhere else.
     * BEGIN/END lines, the base64, a newline per 64 characters, a NUL. */
    if (ob_buf_reserve(out, 2 * (tl + 16) + enc + (n + 47) / 48 + 1) != 0)
        return;
    ob_buf_put(out, "-----BEGIN ", 11);
    ob_buf_put(out, tag, tl);
    ob_buf_put(out, "-----\n", 6);
    for (i = 0; i < n; i += 48) {
        k = n - i < 48 ? n - i : 48;
        ob_base64_encode((char *)out->p + out->len, p + i, k, OB_B64_PAD);
        out->len += ob_base64_enc_len(k, OB_B64_PAD);
        out->p[out->len++] = '\n'; /* over the encoder's NUL */
    }
    ob_buf_put(out, "-----END ", 9);
    ob_buf_put(out, tag, tl);
    ob_buf_put(out, "-----\n", 6);
}

static int line_is(const char *line, size_t n, const char *what, const char *tag)
{
    size_t wl = strlen(what), tl = strlen(tag);

    return n == 5 + wl + tl + 5 && memcmp(line, "-----", 5) == 0 &&
           memcmp(line + 5, what, wl) == 0 && memcmp(line + 5 + wl, tag, tl) == 0 &&
           memcmp(line + 5 + wl + tl, "-----", 5) == 0;
}

ob_err ob_pem_decode(ob_cur *c, const char *tag, size_t max, ob_buf *out, ob_diag *d)
{
    ob_buf b64;
    const char *line;
    size_t n, start = c->off, got, base, limit, room;
    ob_err err = OB_ERR_MALFORMED;
    int r;

    /* The base64 text of a secret is as secret as the decoded bytes: it goes
     * where the caller wants those (secure memory for keys). */
    if (out->secure)
        ob_buf_init_secure(&b64);
    else
        ob_buf_init(&b64);
    if (ob_cur_line(c, &line, &n) != 0 || !line_is(line, n, "BEGIN ", tag)) {
        c->off = start;
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: expected '-----BEGIN %s-----'", start,
                       tag);
    }
    /* Room for all of it at once: at most what is left of the input, and
     * at most one line past the limit checked below. */
    limit = max / 3 * 4 + 8;
    room = ob_cur_left(c);
    if (room > limit + 77 && limit + 77 > limit)
        room = limit + 77;
    if (ob_buf_reserve(&b64, room) != 0) {
        c->off = start;
        return ob_fail(d, OB_ERR_NOMEM, "out of memory decoding %s object", tag);
    }
    for (;;) {
        size_t loff = c->off;
        r = ob_cur_line(c, &line, &n);
        if (r == -1 && ob_cur_left(c) > 0) {
            /* The last line of the input may lack its '\n'. */
            line = (const char *)ob_cur_ptr(c);
            n = ob_cur_left(c);
            if (memchr(line, '\0', n) != NULL || memchr(line, '\r', n) != NULL) {
                ob_fail(d, OB_ERR_MALFORMED, "offset %zu: NUL or CR inside %s object", loff, tag);
                goto out;
            }
            if (!line_is(line, n, "END ", tag)) {
                err = ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: %s object is not terminated", loff,
                              tag);
                goto out;
            }
            ob_cur_skip(c, n);
            break;
        }
        if (r == -1) {
            err =
                ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: %s object is not terminated", loff, tag);
            goto out;
        }
        if (r == -2) {
            ob_fail(d, OB_ERR_MALFORMED, "offset %zu: NUL or CR inside %s object", loff, tag);
            goto out;
        }
        if (line_is(line, n, "END ", tag))
            break;
        if (n == 0 || n > 76) {
            ob_fail(d, OB_ERR_MALFORMED, "offset %zu: bad line length %zu in %s object", loff, n,
                    tag);
            goto out;
        }
        memcpy(b64.p + b64.len, line, n); /* reserved above */
        b64.len += n;
        if (b64.len > limit) {
            err = ob_fail(d, OB_ERR_RANGE, "offset %zu: %s object larger than %zu bytes", loff, tag,
                          max);
            goto out;
        }
    }
    if (!ob_buf_ok(&b64) || ob_buf_reserve(out, ob_base64_dec_max(b64.len)) != 0) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory decoding %s object", tag);
        goto out;
    }
    base = out->len;
    if (ob_base64_decode(out->p + base, out->cap - base, &got, (const char *)b64.p, b64.len,
                         OB_B64_PAD) != 0) {
        ob_fail(d, OB_ERR_MALFORMED, "offset %zu: bad base64 in %s object", start, tag);
        goto out;
    }
    if (got > max) {
        err = ob_fail(d, OB_ERR_RANGE, "offset %zu: %s object larger than %zu bytes", start, tag,
                      max);
        goto out;
    }
    out->len += got;
    err = OB_OK;
out:
    if (err != OB_OK)
        c->off = start;
    ob_buf_free(&b64);
    return err;
}
