/*
 * hsv3_desc.c - v3 descriptor parsing, verification and layer decryption.
 *
 * Layout and rules: hsv3_desc.h and docs/v3-descriptors.rst.  Everything is
 * read through ob_cur; every field error names the layer and the byte
 * offset inside that layer (offsets in the encrypted layers are offsets in
 * the decrypted plaintext).
 */
#include "hsv3_desc.h"

#include "ed25519x.h"
#include "encode.h"
#include "crypto.h"
#include "hsv3_cert.h"
#include "opcount.h"
#include "secmem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIG_PREFIX      "Tor onion service descriptor sig v3"
#define CONST_OUTER     "hsdir-superencrypted-data"
#define CONST_INNER     "hsdir-encrypted-data"
#define TAG_MESSAGE     "MESSAGE"
#define MAX_AUTH_CLIENT 1024 /* far above any real service; bounds memory */
#define MAX_ARGS        8

/* How much of a descriptor is judged: everything, or nothing (ob_hsv3_desc_read). */
enum { READ_ONLY = 0, JUDGE = 1 };

const char *ob_hsv3_reason_name(ob_hsv3_reason r)
{
    switch (r) {
    case OB_HSV3_OK:
        return "ok";
    case OB_HSV3_MALFORMED:
        return "malformed";
    case OB_HSV3_TOO_LARGE:
        return "too large";
    case OB_HSV3_UNSUPPORTED:
        return "unsupported";
    case OB_HSV3_BAD_CERT:
        return "bad signing-key certificate";
    case OB_HSV3_EXPIRED:
        return "expired certificate";
    case OB_HSV3_WRONG_ADDRESS:
        return "wrong address";
    case OB_HSV3_WRONG_PERIOD:
        return "wrong time period";
    case OB_HSV3_BAD_SIGNATURE:
        return "bad signature";
    case OB_HSV3_BAD_MAC:
        return "MAC failure";
    case OB_HSV3_NEED_CLIENT_AUTH:
        return "needs client authorization";
    case OB_HSV3_BAD_CLIENT_AUTH:
        return "client authorization failed";
    case OB_HSV3_BAD_INTRO:
        return "bad introduction point";
    case OB_HSV3_TOO_MANY_INTROS:
        return "too many introduction points";
    case OB_HSV3_ERROR:
        return "internal error";
    }
    return "unknown";
}

/* Record why (when the caller wants to know) and pass the error through. */
static ob_err rej(ob_hsv3_reason *why, ob_hsv3_reason r, ob_err e)
{
    if (why != NULL && e != OB_OK)
        *why = r;
    return e;
}

/* Strict decimal: digits only, no sign, no leading zero (tor never writes one). */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        unsigned dgt;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        dgt = (unsigned)(s[i] - '0');
        if (v > (max - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

/* Split "a b  c" at runs of spaces; returns the count (at most max). */
static size_t split_args(const char *s, size_t n, const char **tok, size_t *tlen, size_t max)
{
    size_t i = 0, k = 0;

    while (i < n && k < max) {
        size_t st;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        st = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        tok[k] = s + st;
        tlen[k] = i - st;
        k++;
    }
    return k;
}

/* Printable ASCII and spaces only. */
static int is_text(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int streq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* One line; the last line of the input may lack its '\n'.  0, -1 (none left), -2 (NUL/CR). */
static int get_line(ob_cur *c, const char **line, size_t *n)
{
    int r = ob_cur_line(c, line, n);

    if (r == -1 && ob_cur_left(c) > 0) {
        const char *p = (const char *)ob_cur_ptr(c);
        size_t left = ob_cur_left(c);
        if (memchr(p, '\0', left) != NULL || memchr(p, '\r', left) != NULL)
            return -2;
        *line = p;
        *n = left;
        ob_cur_skip(c, left);
        return 0;
    }
    return r;
}

/* ---------------------------------------------------------------- layers */

int ob_hsv3_layer_keys(uint8_t key[32], uint8_t iv[16], uint8_t mac_key[32], const uint8_t *secret,
                       size_t secret_len, const uint8_t subcred[32], uint64_t rev,
                       const uint8_t salt[16], int outer)
{
    uint8_t revb[8], k[80];
    const char *cst = outer ? CONST_OUTER : CONST_INNER;
    ob_iov v[5];
    int r;

    ob_store_u64(revb, rev);
    v[0] = (ob_iov){ secret, secret_len };
    v[1] = (ob_iov){ subcred, 32 };
    v[2] = (ob_iov){ revb, 8 };
    v[3] = (ob_iov){ salt, OB_HSV3_SALT_LEN };
    v[4] = (ob_iov){ cst, strlen(cst) };
    r = ob_shake256(k, sizeof(k), v, 5);
    if (r == 0) {
        memcpy(key, k, 32);
        memcpy(iv, k + 32, 16);
        memcpy(mac_key, k + 48, 32);
    }
    ob_wipe(k, sizeof(k));
    return r;
}

static int layer_mac(uint8_t mac[32], const uint8_t mac_key[32], const uint8_t salt[16],
                     const uint8_t *ct, size_t ct_len)
{
    uint8_t l1[8], l2[8];
    ob_iov v[5];

    ob_store_u64(l1, 32);
    ob_store_u64(l2, OB_HSV3_SALT_LEN);
    v[0] = (ob_iov){ l1, 8 };
    v[1] = (ob_iov){ mac_key, 32 };
    v[2] = (ob_iov){ l2, 8 };
    v[3] = (ob_iov){ salt, OB_HSV3_SALT_LEN };
    v[4] = (ob_iov){ ct, ct_len };
    return ob_sha3_256(mac, v, 5);
}

ob_err ob_hsv3_layer_decrypt(const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                             size_t secret_len, const uint8_t subcred[32], uint64_t rev, int outer,
                             ob_buf *plain, ob_diag *d)
{
    uint8_t key[32], iv[16], mac_key[32], mac[32];
    const uint8_t *ct, *nul;
    size_t ct_len, base;
    ob_err err = OB_ERR_CRYPTO;

    if (blob_len <= OB_HSV3_SALT_LEN + OB_HSV3_MAC_LEN)
        return ob_fail(d, OB_ERR_RANGE, "%s blob is %zu bytes, must be more than %d",
                       outer ? "superencrypted" : "encrypted", blob_len,
                       OB_HSV3_SALT_LEN + OB_HSV3_MAC_LEN);
    ct = blob + OB_HSV3_SALT_LEN;
    ct_len = blob_len - OB_HSV3_SALT_LEN - OB_HSV3_MAC_LEN;
    if (ob_hsv3_layer_keys(key, iv, mac_key, secret, secret_len, subcred, rev, blob, outer) != 0 ||
        layer_mac(mac, mac_key, blob, ct, ct_len) != 0) {
        ob_fail(d, OB_ERR_CRYPTO, "layer key derivation failed");
        goto out;
    }
    if (ob_ct_memcmp(mac, blob + blob_len - OB_HSV3_MAC_LEN, 32) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "%s layer MAC does not match",
                      outer ? "superencrypted" : "encrypted");
        goto out;
    }
    if (ob_buf_reserve(plain, ct_len) != 0) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory decrypting a layer");
        goto out;
    }
    base = plain->len;
    if (ob_aes_ctr(plain->p + base, ct, ct_len, key, 32, iv) != 0) {
        ob_fail(d, OB_ERR_CRYPTO, "AES-CTR failed");
        goto out;
    }
    /* Tor cuts the plaintext at the first NUL (the outer layer's padding). */
    nul = memchr(plain->p + base, 0, ct_len);
    if (nul != NULL) {
        size_t keep = (size_t)(nul - (plain->p + base));
        ob_wipe(plain->p + base + keep, ct_len - keep);
        ct_len = keep;
    }
    if (ct_len == 0) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s layer plaintext is empty",
                      outer ? "superencrypted" : "encrypted");
        goto out;
    }
    plain->len += ct_len;
    err = OB_OK;
out:
    ob_wipe(key, sizeof(key));
    ob_wipe(iv, sizeof(iv));
    ob_wipe(mac_key, sizeof(mac_key));
    return err;
}

ob_err ob_hsv3_layer_encrypt(ob_buf *out, const uint8_t *plain, size_t plain_len,
                             const uint8_t *secret, size_t secret_len, const uint8_t subcred[32],
                             uint64_t rev, const uint8_t salt[16], int outer, ob_diag *d)
{
    uint8_t key[32], iv[16], mac_key[32];
    size_t ct_len = plain_len, base;
    uint8_t *ct;
    ob_err err = OB_ERR_CRYPTO;

    if (outer) {
        /* NUL padding up to a multiple of 10000 (tor: CEIL_DIV(len, 10000) * 10000). */
        if (plain_len > SIZE_MAX - OB_HSV3_OUTER_PAD)
            return ob_fail(d, OB_ERR_RANGE, "layer too large");
        ct_len = (plain_len + OB_HSV3_OUTER_PAD - 1) / OB_HSV3_OUTER_PAD * OB_HSV3_OUTER_PAD;
    }
    if (ct_len == 0)
        return ob_fail(d, OB_ERR_INTERNAL, "empty layer plaintext");
    if (ob_buf_reserve(out, OB_HSV3_SALT_LEN + ct_len + OB_HSV3_MAC_LEN) != 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory encrypting a layer");
    base = out->len;
    memcpy(out->p + base, salt, OB_HSV3_SALT_LEN);
    ct = out->p + base + OB_HSV3_SALT_LEN;
    memcpy(ct, plain, plain_len);
    memset(ct + plain_len, 0, ct_len - plain_len);
    if (ob_hsv3_layer_keys(key, iv, mac_key, secret, secret_len, subcred, rev, salt, outer) != 0 ||
        ob_aes_ctr(ct, ct, ct_len, key, 32, iv) != 0 ||
        layer_mac(ct + ct_len, mac_key, salt, ct, ct_len) != 0) {
        ob_wipe(out->p + base, OB_HSV3_SALT_LEN + ct_len);
        ob_fail(d, OB_ERR_CRYPTO, "layer encryption failed");
        goto out;
    }
    out->len = base + OB_HSV3_SALT_LEN + ct_len + OB_HSV3_MAC_LEN;
    err = OB_OK;
out:
    ob_wipe(key, sizeof(key));
    ob_wipe(iv, sizeof(iv));
    ob_wipe(mac_key, sizeof(mac_key));
    return err;
}

ob_err ob_hsv3_linkspec_check(const uint8_t *p, size_t n, ob_diag *d)
{
    ob_cur c;
    uint8_t nspec, i;

    ob_cur_init(&c, p, n);
    if (ob_cur_get_u8(&c, &nspec) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "link specifiers: empty block");
    if (nspec == 0)
        return ob_fail(d, OB_ERR_MALFORMED, "link specifiers: NSPEC is 0");
    for (i = 0; i < nspec; i++) {
        uint8_t type, len;
        size_t off = c.off;
        if (ob_cur_get_u8(&c, &type) != 0 || ob_cur_get_u8(&c, &len) != 0 ||
            ob_cur_skip(&c, len) != 0)
            return ob_fail(d, OB_ERR_TRUNCATED, "link specifiers: spec %u at byte %zu truncated",
                           (unsigned)i, off);
        if ((type == 0 && len != 6) || (type == 1 && len != 18) || (type == 2 && len != 20) ||
            (type == 3 && len != 32))
            return ob_fail(d, OB_ERR_MALFORMED,
                           "link specifiers: spec %u at byte %zu: type %u has length %u",
                           (unsigned)i, off, (unsigned)type, (unsigned)len);
    }
    if (!ob_cur_is_empty(&c))
        return ob_fail(d, OB_ERR_MALFORMED, "link specifiers: %zu trailing bytes at byte %zu",
                       ob_cur_left(&c), c.off);
    return OB_OK;
}

/* ----------------------------------------------------------- outer layer */

void ob_hsv3_outer_clear(ob_hsv3_outer *o)
{
    if (o == NULL)
        return;
    free(o->blob);
    memset(o, 0, sizeof(*o));
}

/* Expect the exact line `want` (a keyword and, if any, its argument prefix). */
static ob_err outer_line(ob_cur *c, const char *kw, const char **args, size_t *nargs, ob_diag *d)
{
    const char *line;
    size_t n, off = c->off, kl = strlen(kw);
    int r = get_line(c, &line, &n);

    if (r == -1)
        return ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: expected '%s', input ends", off, kw);
    if (r == -2)
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: NUL or CR in line", off);
    if (n < kl || memcmp(line, kw, kl) != 0 || (n > kl && line[kl] != ' ') ||
        (args == NULL && n != kl) || (args != NULL && n <= kl + 1)) {
        c->off = off;
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: expected '%s%s'", off, kw,
                       args != NULL ? " <value>" : "");
    }
    if (args != NULL) {
        *args = line + kl + 1;
        *nargs = n - kl - 1;
    }
    return OB_OK;
}

ob_err ob_hsv3_outer_parse(const uint8_t *text, size_t len, ob_hsv3_outer *o, ob_diag *d)
{
    ob_cur c;
    ob_buf cert, blob;
    const char *a;
    size_t an, off;
    uint64_t v;
    ob_err err;
    size_t got;

    memset(o, 0, sizeof(*o));
    ob_buf_init(&cert);
    ob_buf_init(&blob);
    if (len >= OB_HSV3_DESC_MAX_LEN) {
        err = ob_fail(d, OB_ERR_RANGE, "descriptor is %zu bytes, must be below %d", len,
                      OB_HSV3_DESC_MAX_LEN);
        goto out;
    }
    ob_cur_init(&c, text, len);
    if ((err = outer_line(&c, "hs-descriptor", &a, &an, d)) != OB_OK)
        goto out;
    if (!streq(a, an, "3")) {
        err = parse_u64(a, an, UINT64_MAX, &v) == 0
                  ? ob_fail(d, OB_ERR_UNSUPPORTED, "offset 0: descriptor version %.*s, want 3",
                            (int)(an > 20 ? 20 : an), a)
                  : ob_fail(d, OB_ERR_MALFORMED, "offset 0: bad descriptor version");
        goto out;
    }
    off = c.off;
    if ((err = outer_line(&c, "descriptor-lifetime", &a, &an, d)) != OB_OK)
        goto out;
    if (parse_u64(a, an, UINT32_MAX, &v) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: descriptor-lifetime is not a number", off);
        goto out;
    }
    if (v > OB_HSV3_MAX_LIFETIME) {
        err = ob_fail(d, OB_ERR_RANGE, "offset %zu: descriptor-lifetime %llu exceeds %d minutes",
                      off, (unsigned long long)v, OB_HSV3_MAX_LIFETIME);
        goto out;
    }
    o->lifetime_min = (unsigned)v;
    if ((err = outer_line(&c, "descriptor-signing-key-cert", NULL, NULL, d)) != OB_OK)
        goto out;
    if ((err = ob_pem_decode(&c, OB_CERT_PEM_TAG, sizeof(o->cert), &cert, d)) != OB_OK)
        goto out;
    if (!ob_buf_ok(&cert)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(o->cert, cert.p, cert.len);
    o->cert_len = cert.len;
    off = c.off;
    if ((err = outer_line(&c, "revision-counter", &a, &an, d)) != OB_OK)
        goto out;
    if (parse_u64(a, an, UINT64_MAX, &o->revision) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: revision-counter is not a number", off);
        goto out;
    }
    if ((err = outer_line(&c, "superencrypted", NULL, NULL, d)) != OB_OK)
        goto out;
    off = c.off;
    if ((err = ob_pem_decode(&c, TAG_MESSAGE, OB_HSV3_DESC_MAX_LEN, &blob, d)) != OB_OK)
        goto out;
    if (blob.len <= OB_HSV3_SALT_LEN + OB_HSV3_MAC_LEN) {
        err = ob_fail(d, OB_ERR_RANGE, "offset %zu: superencrypted blob is only %zu bytes", off,
                      blob.len);
        goto out;
    }
    o->signed_len = c.off;
    off = c.off;
    if ((err = outer_line(&c, "signature", &a, &an, d)) != OB_OK)
        goto out;
    if (an != 86 || ob_base64_decode(o->sig, sizeof(o->sig), &got, a, an, OB_B64_NOPAD) != 0 ||
        got != 64) {
        err = ob_fail(d, OB_ERR_MALFORMED,
                      "offset %zu: signature must be 86 unpadded base64 characters", off);
        goto out;
    }
    if (!ob_cur_is_empty(&c)) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: %zu bytes after the signature line", c.off,
                      ob_cur_left(&c));
        goto out;
    }
    o->blob = ob_buf_detach(&blob, &o->blob_len);
    if (o->blob == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = OB_OK;
out:
    ob_buf_free(&cert);
    ob_buf_free(&blob);
    if (err != OB_OK)
        ob_hsv3_outer_clear(o);
    return err;
}

/* -------------------------------------------------- keyword-object items */

typedef struct item {
    const char *kw;
    size_t kwlen;
    const char *args;
    size_t argslen;
    size_t off;
    int has_obj;
    char tag[32];
    ob_buf obj;
} item;

static void item_clear(item *it)
{
    ob_buf_free(&it->obj);
}

/*
 * The next "keyword [args]" line and, if the next line is a BEGIN line, its
 * object.  Returns OB_ERR_NOTFOUND at the end of the input.
 */
static ob_err next_item(ob_cur *c, const char *layer, item *it, ob_diag *d)
{
    const char *line;
    size_t n, i;
    int r;

    ob_buf_reset(&it->obj);
    it->has_obj = 0;
    it->off = c->off;
    if (ob_cur_is_empty(c))
        return OB_ERR_NOTFOUND;
    r = get_line(c, &line, &n);
    if (r == -2)
        return ob_fail(d, OB_ERR_MALFORMED, "%s layer offset %zu: NUL or CR in line", layer,
                       it->off);
    for (i = 0; i < n && line[i] != ' '; i++) {
        char ch = line[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return ob_fail(d, OB_ERR_MALFORMED, "%s layer offset %zu: bad keyword character", layer,
                           it->off);
    }
    if (i == 0)
        return ob_fail(d, OB_ERR_MALFORMED, "%s layer offset %zu: empty keyword", layer, it->off);
    it->kw = line;
    it->kwlen = i;
    it->args = i < n ? line + i + 1 : line + n;
    it->argslen = i < n ? n - i - 1 : 0;
    if (ob_cur_startswith(c, "-----BEGIN ")) {
        const char *b;
        size_t bn, boff = c->off, tl;
        ob_cur peek = *c;
        if (get_line(&peek, &b, &bn) != 0 || bn < 16 || memcmp(b + bn - 5, "-----", 5) != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "%s layer offset %zu: bad BEGIN line", layer, boff);
        tl = bn - 16;
        if (tl == 0 || tl >= sizeof(it->tag))
            return ob_fail(d, OB_ERR_MALFORMED, "%s layer offset %zu: bad object tag", layer, boff);
        memcpy(it->tag, b + 11, tl);
        it->tag[tl] = '\0';
        ob_err pe = ob_pem_decode(c, it->tag, OB_HSV3_DESC_MAX_LEN, &it->obj, d);
        if (pe != OB_OK) {
            ob_diag_prefix(d, "%s layer: ", layer);
            /* Running out of memory is not the document's fault. */
            return pe == OB_ERR_NOMEM ? OB_ERR_NOMEM : OB_ERR_MALFORMED;
        }
        if (!ob_buf_ok(&it->obj))
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        it->has_obj = 1;
    }
    return OB_OK;
}

static int kw_is(const item *it, const char *kw)
{
    return streq(it->kw, it->kwlen, kw);
}

/* A 32-byte curve25519 key in base64 (tor accepts it with or without padding). */
static int b64_key32(uint8_t out[32], const char *s, size_t n)
{
    size_t got;

    return (n == 43 || n == 44) && ob_base64_decode(out, 32, &got, s, n, OB_B64_EITHER) == 0 &&
                   got == 32
               ? 0
               : -1;
}

static int b64_exact(uint8_t *out, size_t want, const char *s, size_t n)
{
    uint8_t tmp[64];
    size_t got;

    if (want > sizeof(tmp) || ob_base64_decode(tmp, sizeof(tmp), &got, s, n, OB_B64_EITHER) != 0 ||
        got != want)
        return -1;
    memcpy(out, tmp, want);
    return 0;
}

/* ---------------------------------------------------------- middle layer */

typedef struct auth_client {
    uint8_t id[8];
    uint8_t iv[16];
    uint8_t cookie[16];
} auth_client;

typedef struct middle {
    uint8_t eph[32];
    auth_client *clients;
    size_t n_clients;
    ob_buf blob;
} middle;

static void middle_clear(middle *m)
{
    free(m->clients);
    ob_buf_free(&m->blob);
    memset(m, 0, sizeof(*m));
}

static ob_err middle_parse(const uint8_t *p, size_t n, middle *m, ob_hsv3_reason *why, ob_diag *d)
{
    ob_cur c;
    item it;
    const char *tok[MAX_ARGS];
    size_t tl[MAX_ARGS], k;
    int seen_key = 0, seen_enc = 0, first = 1;
    ob_err err;

    memset(m, 0, sizeof(*m));
    ob_buf_init(&m->blob);
    memset(&it, 0, sizeof(it));
    ob_buf_init(&it.obj);
    ob_cur_init(&c, p, n);
    for (;;) {
        err = next_item(&c, "superencrypted", &it, d);
        if (err == OB_ERR_NOTFOUND)
            break;
        if (err != OB_OK)
            goto out;
        k = split_args(it.args, it.argslen, tok, tl, MAX_ARGS);
        if (first && !kw_is(&it, "desc-auth-type")) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "superencrypted layer offset 0: must start with desc-auth-type");
            goto out;
        }
        if (kw_is(&it, "desc-auth-type")) {
            if (!first || k < 1 || it.has_obj) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "superencrypted layer offset %zu: bad desc-auth-type", it.off);
                goto out;
            }
            if (!streq(tok[0], tl[0], "x25519")) {
                err = rej(why, OB_HSV3_UNSUPPORTED,
                          ob_fail(d, OB_ERR_UNSUPPORTED,
                                  "superencrypted layer offset %zu: desc-auth-type is not x25519",
                                  it.off));
                goto out;
            }
        } else if (kw_is(&it, "desc-auth-ephemeral-key")) {
            if (seen_key++ || k < 1 || it.has_obj || b64_key32(m->eph, tok[0], tl[0]) != 0) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "superencrypted layer offset %zu: bad or repeated "
                              "desc-auth-ephemeral-key",
                              it.off);
                goto out;
            }
        } else if (kw_is(&it, "auth-client")) {
            auth_client *ac;
            if (m->n_clients >= MAX_AUTH_CLIENT) {
                err = ob_fail(d, OB_ERR_RANGE,
                              "superencrypted layer offset %zu: more than %d auth-client lines",
                              it.off, MAX_AUTH_CLIENT);
                goto out;
            }
            ac = realloc(m->clients, (m->n_clients + 1) * sizeof(*ac));
            if (ac == NULL) {
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
            m->clients = ac;
            ac += m->n_clients;
            if (k < 3 || it.has_obj || b64_exact(ac->id, 8, tok[0], tl[0]) != 0 ||
                b64_exact(ac->iv, 16, tok[1], tl[1]) != 0 ||
                b64_exact(ac->cookie, 16, tok[2], tl[2]) != 0) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "superencrypted layer offset %zu: bad auth-client", it.off);
                goto out;
            }
            m->n_clients++;
        } else if (kw_is(&it, "encrypted")) {
            if (seen_enc++ || it.argslen != 0 || !it.has_obj || strcmp(it.tag, TAG_MESSAGE) != 0) {
                err =
                    ob_fail(d, OB_ERR_MALFORMED,
                            "superencrypted layer offset %zu: bad or repeated 'encrypted'", it.off);
                goto out;
            }
            ob_buf_put(&m->blob, it.obj.p, it.obj.len);
        }
        /* Anything else: unknown keyword, ignored as tor does. */
        first = 0;
    }
    if (first || !seen_key || !seen_enc) {
        err = ob_fail(d, OB_ERR_MALFORMED, "superencrypted layer: missing %s",
                      first      ? "desc-auth-type"
                      : seen_key ? "encrypted"
                                 : "desc-auth-ephemeral-key");
        goto out;
    }
    if (!ob_buf_ok(&m->blob)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (m->blob.len <= OB_HSV3_SALT_LEN + OB_HSV3_MAC_LEN) {
        err = ob_fail(d, OB_ERR_RANGE, "superencrypted layer: encrypted blob is only %zu bytes",
                      m->blob.len);
        goto out;
    }
    err = OB_OK;
out:
    item_clear(&it);
    if (err != OB_OK) {
        middle_clear(m);
        if (why != NULL && *why == OB_HSV3_OK)
            *why = OB_HSV3_MALFORMED;
    }
    return err;
}

/*
 * Client authorization: find our auth-client entry and decrypt the
 * descriptor cookie.  1 = found (cookie set), 0 = no entry for us, -1 error.
 */
static int find_cookie(uint8_t cookie[16], const middle *m, const uint8_t sk[32],
                       const uint8_t subcred[32])
{
    uint8_t seed[32], keys[40];
    ob_iov v[2];
    size_t i;
    int ret = -1;

    if (crypto_scalarmult(seed, sk, m->eph) != 0) {
        /* A small-order ephemeral key: no entry can be ours (the backend's fault, not ours). */
        ret = 0;
        goto out;
    }
    v[0] = (ob_iov){ subcred, 32 };
    v[1] = (ob_iov){ seed, 32 };
    if (ob_shake256(keys, sizeof(keys), v, 2) != 0)
        goto out;
    ret = 0;
    for (i = 0; i < m->n_clients; i++) {
        if (ob_ct_memcmp(m->clients[i].id, keys, 8) == 0) {
            if (ob_aes_ctr(cookie, m->clients[i].cookie, 16, keys + 8, 32, m->clients[i].iv) != 0)
                ret = -1;
            else
                ret = 1;
            break;
        }
    }
out:
    ob_wipe(seed, sizeof(seed));
    ob_wipe(keys, sizeof(keys));
    return ret;
}

/* ----------------------------------------------------------- inner layer */

void ob_hsv3_intro_clear(ob_hsv3_intro *ip)
{
    if (ip == NULL)
        return;
    free(ip->link_spec);
    memset(ip, 0, sizeof(*ip));
}

void ob_hsv3_desc_free(ob_hsv3_desc *desc)
{
    size_t i;

    if (desc == NULL)
        return;
    for (i = 0; i < desc->n_intros; i++)
        ob_hsv3_intro_clear(&desc->intros[i]);
    free(desc->intros);
    ob_wipe(desc, sizeof(*desc));
    free(desc);
}

/* Check a 09/0B cert from an intro point: type, signer = signing key, signature, expiry. */
static ob_err intro_cert(ob_ed_cert *cert, const item *it, uint8_t type, const char *what,
                         size_t idx, const uint8_t signing_key[32], uint64_t now, int judge,
                         ob_hsv3_reason *why, ob_diag *d)
{
    ob_err err;

    if (!it->has_obj || strcmp(it->tag, OB_CERT_PEM_TAG) != 0)
        return rej(why, OB_HSV3_BAD_INTRO,
                   ob_fail(d, OB_ERR_MALFORMED,
                           "encrypted layer offset %zu: intro point %zu: %s has no ED25519 CERT",
                           it->off, idx, what));
    if ((err = ob_ed_cert_parse(cert, it->obj.p, it->obj.len, d)) != OB_OK) {
        ob_diag_prefix(d, "encrypted layer offset %zu: intro point %zu: %s: ", it->off, idx, what);
        return rej(why, OB_HSV3_BAD_INTRO, err);
    }
    if (cert->type != type || !cert->has_signer || memcmp(cert->signer, signing_key, 32) != 0)
        return rej(why, OB_HSV3_BAD_INTRO,
                   ob_fail(d, OB_ERR_VERIFY,
                           "encrypted layer offset %zu: intro point %zu: %s certificate is not "
                           "a type %02x certificate by the descriptor signing key",
                           it->off, idx, what, (unsigned)type));
    /* One verification: the signature first, then (now != 0) the expiry. */
    if (judge && (err = ob_ed_cert_verify(cert, signing_key, now, d)) != OB_OK) {
        ob_diag_prefix(d, "intro point %zu: %s: ", idx, what);
        return rej(why, err == OB_ERR_EXPIRED ? OB_HSV3_EXPIRED : OB_HSV3_BAD_INTRO, err);
    }
    return OB_OK;
}

typedef struct intro_state {
    int onion, auth, enc, enc_cert, legacy, legacy_cert;
    uint8_t enc_ed[32];
} intro_state;

/* What the caller expects the intro points to be (its own descriptor), or none. */
typedef struct expect {
    const ob_hsv3_intro *const *ip;
    size_t n;
} expect;

static ob_err intro_finish(const intro_state *st, ob_hsv3_intro *ip, size_t idx, size_t off,
                           int strict_enc, int judge, const expect *ex, ob_hsv3_reason *why,
                           ob_diag *d)
{
    const ob_hsv3_intro *want = ex != NULL && idx < ex->n ? ex->ip[idx] : NULL;

    if (st->onion != 1 || st->auth != 1 || st->enc != 1 || st->enc_cert != 1)
        return rej(why, OB_HSV3_BAD_INTRO,
                   ob_fail(d, OB_ERR_MALFORMED,
                           "encrypted layer offset %zu: intro point %zu needs exactly one "
                           "onion-key ntor, auth-key, enc-key and enc-key-cert",
                           off, idx));
    /*
     * The 0B cert should certify the ed25519 form (sign bit 0) of this enc
     * key, as tor's services make it.  Tor's parser does not check this and
     * stem's builder certifies the auth key instead, so a mismatch is only
     * recorded unless the caller asks for strictness; it has no effect on
     * what we publish, because the builder certifies the enc key itself,
     * with the ed25519 form kept here (reading without judging skips it).
     */
    if (!judge)
        return OB_OK;
    /* The same enc key as the one its signer converted: the same form. */
    if (want != NULL && want->has_enc_key_ed && memcmp(want->enc_key, ip->enc_key, 32) == 0) {
        memcpy(ip->enc_key_ed, want->enc_key_ed, 32);
        ip->has_enc_key_ed = 1;
    } else {
        ip->has_enc_key_ed = ob_curve25519_to_ed25519(ip->enc_key_ed, ip->enc_key, 0) == 0;
    }
    ip->enc_cert_binds = ip->has_enc_key_ed && memcmp(ip->enc_key_ed, st->enc_ed, 32) == 0;
    if (!ip->enc_cert_binds && strict_enc)
        return rej(why, OB_HSV3_BAD_INTRO,
                   ob_fail(d, OB_ERR_VERIFY,
                           "encrypted layer offset %zu: intro point %zu: enc-key-cert does not "
                           "certify the enc-key",
                           off, idx));
    return OB_OK;
}

static ob_err inner_parse(const uint8_t *p, size_t n, ob_hsv3_desc *desc, uint64_t now,
                          int strict_enc, int judge, const expect *ex, ob_hsv3_reason *why,
                          ob_diag *d)
{
    ob_cur c;
    item it;
    ob_ed_cert cert;
    const char *tok[MAX_ARGS];
    size_t tl[MAX_ARGS], k, i, ip_off = 0;
    int first = 1, seen_iar = 0, seen_so = 0, seen_fc = 0, seen_pow = 0;
    intro_state st;
    ob_hsv3_intro *ip = NULL;
    ob_err err;

    memset(&it, 0, sizeof(it));
    ob_buf_init(&it.obj);
    memset(&st, 0, sizeof(st));
    desc->intros = calloc(OB_HSV3_MAX_INTROS, sizeof(*desc->intros));
    if (desc->intros == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_cur_init(&c, p, n);
    for (;;) {
        err = next_item(&c, "encrypted", &it, d);
        if (err == OB_ERR_NOTFOUND)
            break;
        if (err != OB_OK)
            goto out;
        k = split_args(it.args, it.argslen, tok, tl, MAX_ARGS);
        if (first) {
            if (!kw_is(&it, "create2-formats")) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "encrypted layer offset 0: must start with create2-formats");
                goto out;
            }
            for (i = 0; i < k; i++)
                if (streq(tok[i], tl[i], "2"))
                    desc->create2_ntor = 1;
            if (!desc->create2_ntor) {
                err = rej(why, OB_HSV3_UNSUPPORTED,
                          ob_fail(d, OB_ERR_UNSUPPORTED,
                                  "encrypted layer offset 0: create2-formats lacks 2 (ntor)"));
                goto out;
            }
            first = 0;
            continue;
        }
        if (kw_is(&it, "introduction-point")) {
            size_t got;
            if (ip != NULL && (err = intro_finish(&st, ip, desc->n_intros - 1, ip_off, strict_enc,
                                                  judge, ex, why, d)) != OB_OK)
                goto out;
            if (desc->n_intros == OB_HSV3_MAX_INTROS) {
                err = rej(why, OB_HSV3_TOO_MANY_INTROS,
                          ob_fail(d, OB_ERR_RANGE,
                                  "encrypted layer offset %zu: more than %d introduction points",
                                  it.off, OB_HSV3_MAX_INTROS));
                goto out;
            }
            ip = &desc->intros[desc->n_intros++];
            memset(&st, 0, sizeof(st));
            ip_off = it.off;
            if (k != 1 || it.has_obj ||
                tl[0] > ob_base64_enc_len(OB_HSV3_LINKSPEC_MAX, OB_B64_PAD)) {
                err =
                    rej(why, OB_HSV3_BAD_INTRO,
                        ob_fail(d, OB_ERR_MALFORMED,
                                "encrypted layer offset %zu: bad introduction-point line", it.off));
                goto out;
            }
            ip->link_spec = malloc(ob_base64_dec_max(tl[0]) + 1);
            if (ip->link_spec == NULL) {
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
            if (ob_base64_decode(ip->link_spec, ob_base64_dec_max(tl[0]) + 1, &got, tok[0], tl[0],
                                 OB_B64_EITHER) != 0) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: intro point %zu: bad base64", it.off,
                                  desc->n_intros - 1));
                goto out;
            }
            ip->link_spec_len = got;
            if ((err = ob_hsv3_linkspec_check(ip->link_spec, got, d)) != OB_OK) {
                ob_diag_prefix(d, "encrypted layer offset %zu: intro point %zu: ", it.off,
                               desc->n_intros - 1);
                err = rej(why, OB_HSV3_BAD_INTRO, err);
                goto out;
            }
            continue;
        }
        if (ip == NULL) {
            /* Header section, before any introduction point. */
            int *seen = kw_is(&it, "intro-auth-required")    ? &seen_iar
                        : kw_is(&it, "single-onion-service") ? &seen_so
                        : kw_is(&it, "flow-control")         ? &seen_fc
                        : kw_is(&it, "pow-params")           ? &seen_pow
                                                             : NULL;
            if (seen == NULL)
                continue;
            if ((*seen)++) {
                err = ob_fail(d, OB_ERR_MALFORMED, "encrypted layer offset %zu: repeated %.*s",
                              it.off, (int)it.kwlen, it.kw);
                goto out;
            }
            if (seen == &seen_iar) {
                desc->intro_auth_required = 1;
            } else if (seen == &seen_so) {
                desc->single_onion = 1;
            } else if (seen == &seen_fc) {
                uint64_t inc;
                /* Printable only: the signer copies it into the master descriptor,
                 * and its builder refuses anything else (found by fuzz_hsv3_layers). */
                if (k != 2 || it.argslen >= sizeof(desc->flow_control) ||
                    !is_text(it.args, it.argslen) || parse_u64(tok[1], tl[1], 255, &inc) != 0) {
                    err = ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: bad flow-control", it.off);
                    goto out;
                }
                desc->has_flow_control = 1;
                memcpy(desc->flow_control, it.args, it.argslen);
                desc->flow_control[it.argslen] = '\0';
            } else {
                desc->has_pow_params = 1;
            }
            continue;
        }
        /* Inside an introduction point. */
        if (kw_is(&it, "onion-key")) {
            if (k < 2) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED, "encrypted layer offset %zu: bad onion-key",
                                  it.off));
                goto out;
            }
            if (!streq(tok[0], tl[0], "ntor"))
                continue; /* other key types are ignored, as tor does */
            if (st.onion++ || b64_key32(ip->onion_key, tok[1], tl[1]) != 0) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: bad or repeated onion-key ntor",
                                  it.off));
                goto out;
            }
        } else if (kw_is(&it, "auth-key")) {
            if (st.auth++ || k != 0) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: bad or repeated auth-key", it.off));
                goto out;
            }
            if ((err = intro_cert(&cert, &it, OB_CERT_INTRO_AUTH, "auth-key", desc->n_intros - 1,
                                  desc->signing_key, now, judge, why, d)) != OB_OK)
                goto out;
            memcpy(ip->auth_key, cert.certified, 32);
            ip->auth_cert_expiration_hours = cert.expiration_hours;
        } else if (kw_is(&it, "enc-key")) {
            if (st.enc++ || k < 2 || !streq(tok[0], tl[0], "ntor") ||
                b64_key32(ip->enc_key, tok[1], tl[1]) != 0) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: enc-key must appear once, as ntor",
                                  it.off));
                goto out;
            }
        } else if (kw_is(&it, "enc-key-cert")) {
            if (st.enc_cert++) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED,
                                  "encrypted layer offset %zu: repeated enc-key-cert", it.off));
                goto out;
            }
            if ((err = intro_cert(&cert, &it, OB_CERT_INTRO_ENC, "enc-key-cert", desc->n_intros - 1,
                                  desc->signing_key, now, judge, why, d)) != OB_OK)
                goto out;
            memcpy(st.enc_ed, cert.certified, 32);
            ip->enc_cert_expiration_hours = cert.expiration_hours;
        } else if (kw_is(&it, "legacy-key") || kw_is(&it, "legacy-key-cert")) {
            int *seen = kw_is(&it, "legacy-key") ? &st.legacy : &st.legacy_cert;
            if ((*seen)++) {
                err = rej(why, OB_HSV3_BAD_INTRO,
                          ob_fail(d, OB_ERR_MALFORMED, "encrypted layer offset %zu: repeated %.*s",
                                  it.off, (int)it.kwlen, it.kw));
                goto out;
            }
            /* Obsolete RSA cross-certification: never re-published, so not checked. */
        }
    }
    if (first) {
        err = ob_fail(d, OB_ERR_MALFORMED, "encrypted layer: no create2-formats line");
        goto out;
    }
    if (ip != NULL && (err = intro_finish(&st, ip, desc->n_intros - 1, ip_off, strict_enc, judge,
                                          ex, why, d)) != OB_OK)
        goto out;
    err = OB_OK;
out:
    item_clear(&it);
    if (err != OB_OK && why != NULL && *why == OB_HSV3_OK)
        *why = OB_HSV3_MALFORMED;
    return err;
}

ob_err ob_hsv3_middle_parse(const uint8_t *p, size_t n, size_t *n_clients, ob_buf *inner_blob,
                            ob_diag *d)
{
    middle m;
    ob_err err = middle_parse(p, n, &m, NULL, d);

    if (err != OB_OK)
        return err;
    *n_clients = m.n_clients;
    ob_buf_put(inner_blob, m.blob.p, m.blob.len);
    middle_clear(&m);
    return ob_buf_ok(inner_blob) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
}

ob_err ob_hsv3_inner_parse(const uint8_t *p, size_t n, const uint8_t signing_key[32], uint64_t now,
                           int strict_enc_cert, ob_hsv3_desc **out, ob_diag *d)
{
    ob_hsv3_desc *desc = calloc(1, sizeof(*desc));
    ob_err err;

    *out = NULL;
    if (desc == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memcpy(desc->signing_key, signing_key, 32);
    err = inner_parse(p, n, desc, now, strict_enc_cert, JUDGE, NULL, NULL, d);
    if (err != OB_OK) {
        ob_hsv3_desc_free(desc);
        return err;
    }
    *out = desc;
    return OB_OK;
}

/* --------------------------------------------------------- verification */

static ob_err check_signing_cert(ob_ed_cert *cert, const ob_hsv3_outer *o, int judge,
                                 ob_hsv3_reason *why, ob_diag *d)
{
    ob_err err;

    if ((err = ob_ed_cert_parse(cert, o->cert, o->cert_len, d)) != OB_OK) {
        ob_diag_prefix(d, "descriptor-signing-key-cert: ");
        return rej(why, OB_HSV3_BAD_CERT, err);
    }
    if (cert->type != OB_CERT_DESC_SIGNING)
        return rej(why, OB_HSV3_BAD_CERT,
                   ob_fail(d, OB_ERR_MALFORMED, "descriptor-signing-key-cert: type %02x, want 08",
                           (unsigned)cert->type));
    if (!cert->has_signer)
        return rej(why, OB_HSV3_BAD_CERT,
                   ob_fail(d, OB_ERR_MALFORMED,
                           "descriptor-signing-key-cert: no signed-with-key (04) extension"));
    /* The signature only: its expiry is checked after the descriptor's signature. */
    if (judge && (err = ob_ed_cert_verify(cert, NULL, 0, d)) != OB_OK) {
        ob_diag_prefix(d, "descriptor-signing-key-cert: ");
        return rej(why, OB_HSV3_BAD_CERT, err);
    }
    return OB_OK;
}

static ob_err check_desc_sig(const uint8_t *text, const ob_hsv3_outer *o, const uint8_t pk[32],
                             ob_hsv3_reason *why, ob_diag *d)
{
    size_t pl = strlen(SIG_PREFIX);
    uint8_t *m = malloc(pl + o->signed_len);
    int r;

    if (m == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memcpy(m, SIG_PREFIX, pl);
    memcpy(m + pl, text, o->signed_len);
    r = ob_ed25519_verify(o->sig, m, pl + o->signed_len, pk);
    free(m);
    if (r != 0)
        return rej(why, OB_HSV3_BAD_SIGNATURE,
                   ob_fail(d, OB_ERR_VERIFY,
                           "offset %zu: descriptor signature does not verify with the certified "
                           "signing key",
                           o->signed_len));
    return OB_OK;
}

/*
 * Which candidate period's blinded key signed the 08 cert: those the caller
 * knows are compared first, then the others are blinded on demand, in the
 * caller's order, and kept in cands for its next descriptor.  The index, or
 * -1 when none (or -2 when the identity key cannot be blinded).
 */
static int match_period(const uint8_t signer[32], const uint8_t A[32], ob_hsv3_period_key *cands,
                        size_t n, const ob_tp_params *tpp)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (cands[i].known && memcmp(cands[i].blinded, signer, 32) == 0)
            return (int)i;
    for (i = 0; i < n; i++) {
        if (cands[i].known)
            continue;
        if (ob_hsv3_blind_public(cands[i].blinded, A, cands[i].tp, tpp->length_min) != 0)
            return -2;
        cands[i].known = 1;
        if (memcmp(cands[i].blinded, signer, 32) == 0)
            return (int)i;
    }
    return -1;
}

/* Why no candidate matched: another period near the only one asked for, or another address. */
static ob_err wrong_blinding(const uint8_t signer[32], const uint8_t A[32],
                             const ob_hsv3_period_key *cands, size_t n, const ob_tp_params *tpp,
                             ob_hsv3_reason *why, ob_diag *d)
{
    uint64_t lo, hi, k, tp = cands[0].tp;

    if (n != 1)
        return rej(why, OB_HSV3_WRONG_ADDRESS,
                   ob_fail(d, OB_ERR_REFUSED,
                           "descriptor is not blinded for this address in any of the %zu "
                           "candidate time periods",
                           n));
    /* The neighbours tp-3..tp+3, counted so that the loop ends even where
     * tp+3 would wrap (desc_open bounds tp, but the loop must not depend on
     * that: "t <= tp + 3" never ended for tp = 2^64-4). */
    lo = tp > 3 ? tp - 3 : 0;
    hi = tp < UINT64_MAX - 3 ? tp + 3 : UINT64_MAX;
    for (k = 0; k <= hi - lo; k++) {
        uint64_t t = lo + k;
        uint8_t other[32];
        if (t == tp || ob_hsv3_blind_public(other, A, t, tpp->length_min) != 0)
            continue;
        if (memcmp(other, signer, 32) == 0)
            return rej(why, OB_HSV3_WRONG_PERIOD,
                       ob_fail(d, OB_ERR_REFUSED,
                               "descriptor is blinded for time period %llu, not %llu",
                               (unsigned long long)t, (unsigned long long)tp));
    }
    return rej(why, OB_HSV3_WRONG_ADDRESS,
               ob_fail(d, OB_ERR_REFUSED,
                       "descriptor's blinded key is not derived from this onion address (time "
                       "period %llu)",
                       (unsigned long long)tp));
}

/*
 * The one path of verify, verify_any and read.  judge == JUDGE checks every
 * signature, the blinding against cands and the expiry; READ_ONLY takes the
 * blinded key from the 08 cert and checks nothing but the structure.
 */
static ob_err desc_open(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                        ob_hsv3_period_key *cands, size_t n_cands, const ob_tp_params *tpp,
                        const ob_hsv3_verify_opts *o, int judge, const expect *ex,
                        ob_hsv3_desc **out, ob_diag *d)
{
    static const ob_hsv3_verify_opts none = { 0, NULL, NULL, 0 };
    ob_hsv3_reason why_local = OB_HSV3_OK, *why = &why_local;
    ob_hsv3_outer outer;
    ob_ed_cert cert;
    ob_hsv3_desc *desc = NULL;
    middle mid;
    ob_buf plain1, plain2;
    uint8_t Ab[32], secret[32 + OB_HSV3_COOKIE_LEN], cookie[OB_HSV3_COOKIE_LEN];
    size_t secret_len = 32, ci;
    uint64_t tp = 0;
    ob_err err;
    int r;

    if (o == NULL)
        o = &none;
    *out = NULL;
    memset(&outer, 0, sizeof(outer));
    memset(&mid, 0, sizeof(mid));
    /* The middle layer is readable by anyone who knows the address; the
     * inner one is a secret only with client authorization. */
    ob_buf_init(&plain1);
    if (o->client_auth_x25519_sk != NULL)
        ob_buf_init_secure(&plain2);
    else
        ob_buf_init(&plain2);
    ob_op_count(judge ? OB_OP_DESC_VERIFY : OB_OP_DESC_READ);
    for (ci = 0; judge && ci < n_cands; ci++) {
        if (!ob_tp_is_valid(cands[ci].tp)) {
            err = rej(why, OB_HSV3_WRONG_PERIOD,
                      ob_fail(d, OB_ERR_RANGE, "time period %llu is beyond the largest, %llu",
                              (unsigned long long)cands[ci].tp, (unsigned long long)OB_TP_MAX));
            goto out;
        }
    }
    if (len >= OB_HSV3_DESC_MAX_LEN) {
        err = rej(why, OB_HSV3_TOO_LARGE,
                  ob_fail(d, OB_ERR_RANGE, "descriptor is %zu bytes, must be below %d", len,
                          OB_HSV3_DESC_MAX_LEN));
        goto out;
    }
    if ((err = ob_hsv3_outer_parse(text, len, &outer, d)) != OB_OK) {
        rej(why, err == OB_ERR_UNSUPPORTED ? OB_HSV3_UNSUPPORTED : OB_HSV3_MALFORMED, err);
        goto out;
    }
    if ((err = check_signing_cert(&cert, &outer, judge, why, d)) != OB_OK)
        goto out;
    if (judge) {
        r = match_period(cert.signer, identity_pk, cands, n_cands, tpp);
        if (r == -2) {
            err =
                rej(why, OB_HSV3_WRONG_ADDRESS,
                    ob_fail(d, OB_ERR_REFUSED, "identity key cannot be blinded (not a valid key)"));
            goto out;
        }
        if (r < 0) {
            err = wrong_blinding(cert.signer, identity_pk, cands, n_cands, tpp, why, d);
            goto out;
        }
        tp = cands[r].tp;
        if ((err = check_desc_sig(text, &outer, cert.certified, why, d)) != OB_OK)
            goto out;
        if ((err = ob_ed_cert_check_expiry(&cert, o->now, d)) != OB_OK) {
            ob_diag_prefix(d, "descriptor-signing-key-cert: ");
            rej(why, OB_HSV3_EXPIRED, err);
            goto out;
        }
    }
    memcpy(Ab, cert.signer, 32);
    desc = calloc(1, sizeof(*desc));
    if (desc == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    desc->lifetime_min = outer.lifetime_min;
    desc->revision = outer.revision;
    desc->tp = tp;
    memcpy(desc->signing_key, cert.certified, 32);
    memcpy(desc->blinded_key, Ab, 32);
    desc->cert_expiration_hours = cert.expiration_hours;
    if (ob_hsv3_subcredential(desc->subcredential, identity_pk, Ab) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "subcredential derivation failed");
        goto out;
    }
    err = ob_hsv3_layer_decrypt(outer.blob, outer.blob_len, Ab, 32, desc->subcredential,
                                outer.revision, 1, &plain1, d);
    if (err != OB_OK) {
        rej(why, err == OB_ERR_VERIFY ? OB_HSV3_BAD_MAC : OB_HSV3_MALFORMED, err);
        goto out;
    }
    if ((err = middle_parse(plain1.p, plain1.len, &mid, why, d)) != OB_OK)
        goto out;
    desc->n_auth_clients = mid.n_clients;
    memcpy(secret, Ab, 32);
    if (o->client_auth_x25519_sk != NULL) {
        r = find_cookie(cookie, &mid, o->client_auth_x25519_sk, desc->subcredential);
        if (r < 0) {
            err = ob_fail(d, OB_ERR_CRYPTO, "client authorization key exchange failed");
            goto out;
        }
        if (r == 1) {
            memcpy(secret + 32, cookie, OB_HSV3_COOKIE_LEN);
            secret_len += OB_HSV3_COOKIE_LEN;
            desc->client_auth_used = 1;
        }
    }
    err = ob_hsv3_layer_decrypt(mid.blob.p, mid.blob.len, secret, secret_len, desc->subcredential,
                                outer.revision, 0, &plain2, d);
    if (err == OB_ERR_VERIFY) {
        if (o->client_auth_x25519_sk == NULL)
            err = rej(why, OB_HSV3_NEED_CLIENT_AUTH,
                      ob_fail(d, OB_ERR_VERIFY,
                              "encrypted layer MAC does not match: the backend probably uses "
                              "client authorization (give its client key)"));
        else
            err = rej(why, OB_HSV3_BAD_CLIENT_AUTH,
                      ob_fail(d, OB_ERR_VERIFY,
                              "encrypted layer MAC does not match with the configured client key"
                              "%s",
                              desc->client_auth_used ? "" : " (no auth-client entry for it)"));
        goto out;
    }
    if (err != OB_OK) {
        rej(why, OB_HSV3_MALFORMED, err);
        goto out;
    }
    if ((err = inner_parse(plain2.p, plain2.len, desc, judge ? o->now : 0, o->strict_enc_cert,
                           judge, ex, why, d)) != OB_OK)
        goto out;
    *out = desc;
    desc = NULL;
    err = OB_OK;
out:
    ob_wipe(secret, sizeof(secret));
    ob_wipe(cookie, sizeof(cookie));
    ob_buf_free(&plain1);
    ob_buf_free(&plain2);
    middle_clear(&mid);
    ob_hsv3_outer_clear(&outer);
    ob_hsv3_desc_free(desc);
    if (err != OB_OK && why_local == OB_HSV3_OK)
        why_local = err == OB_ERR_NOMEM || err == OB_ERR_CRYPTO || err == OB_ERR_INTERNAL
                        ? OB_HSV3_ERROR
                        : OB_HSV3_MALFORMED;
    if (o->reason != NULL)
        *o->reason = err == OB_OK ? OB_HSV3_OK : why_local;
    return err;
}

ob_err ob_hsv3_desc_verify(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                           uint64_t tp, const ob_tp_params *tpp, const ob_hsv3_verify_opts *o,
                           ob_hsv3_desc **out, ob_diag *d)
{
    ob_hsv3_period_key k;

    memset(&k, 0, sizeof(k));
    k.tp = tp;
    return desc_open(text, len, identity_pk, &k, 1, tpp, o, JUDGE, NULL, out, d);
}

ob_err ob_hsv3_desc_verify_any(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                               ob_hsv3_period_key *cands, size_t n, const ob_tp_params *tpp,
                               const ob_hsv3_verify_opts *o, ob_hsv3_desc **out, ob_diag *d)
{
    if (n == 0) {
        *out = NULL;
        if (o != NULL && o->reason != NULL)
            *o->reason = OB_HSV3_ERROR;
        return ob_fail(d, OB_ERR_INTERNAL, "no candidate time period");
    }
    return desc_open(text, len, identity_pk, cands, n, tpp, o, JUDGE, NULL, out, d);
}

ob_err ob_hsv3_desc_verify_own(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                               ob_hsv3_period_key *cand, const ob_tp_params *tpp,
                               const ob_hsv3_verify_opts *o, const ob_hsv3_intro *const *intros,
                               size_t n_intros, ob_hsv3_desc **out, ob_diag *d)
{
    expect ex = { intros, n_intros };

    return desc_open(text, len, identity_pk, cand, 1, tpp, o, JUDGE, &ex, out, d);
}

ob_err ob_hsv3_desc_read(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                         ob_hsv3_desc **out, ob_diag *d)
{
    return desc_open(text, len, identity_pk, NULL, 0, NULL, NULL, READ_ONLY, NULL, out, d);
}

ob_err ob_hsv3_desc_find_tp(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                            const uint64_t *tps, size_t n, const ob_tp_params *tpp, size_t *which,
                            ob_diag *d)
{
    ob_hsv3_period_key cand;
    ob_hsv3_outer outer;
    ob_ed_cert cert;
    size_t i;
    ob_err err;

    if ((err = ob_hsv3_outer_parse(text, len, &outer, d)) != OB_OK)
        return err;
    err = check_signing_cert(&cert, &outer, JUDGE, NULL, d);
    ob_hsv3_outer_clear(&outer);
    if (err != OB_OK)
        return err;
    for (i = 0; i < n; i++) {
        memset(&cand, 0, sizeof(cand));
        cand.tp = tps[i];
        if (match_period(cert.signer, identity_pk, &cand, 1, tpp) == 0) {
            *which = i;
            return OB_OK;
        }
    }
    return ob_fail(d, OB_ERR_REFUSED,
                   "descriptor is not blinded for this address in any of the %zu candidate time "
                   "periods",
                   n);
}

ob_err ob_hsv3_outer_check_sig(const uint8_t *text, const ob_hsv3_outer *o, const uint8_t pk[32],
                               ob_diag *d)
{
    return check_desc_sig(text, o, pk, NULL, d);
}
