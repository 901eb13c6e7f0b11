/*
 * hsv2.c - legacy (v2) onion-service descriptors.  Layout and rules in
 * hsv2.h and docs/v2.rst; sources: rend-spec-v2 1.2-1.4, 2.1, 2.2 and tor
 * maint-0.4.5 rendcommon.c, rendparse.c, rendcache.c, rendservice.c.
 */
#include "hsv2.h"

#include "crypto.h"
#include "encode.h"
#include "onion.h"
#include "secmem.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTRO_PREFIX "introduction-point "
#define MAX_UNIX     INT64_C(253402300799) /* 9999-12-31 23:59:59 */

/* ---- small helpers ------------------------------------------------------ */

static int is_b32_lower(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
            return 0;
    return 1;
}

/* 32 lower-case base32 chars into 20 bytes. */
static int b32_20(uint8_t out[20], const char *s, size_t n)
{
    size_t got = 0;

    if (n != 32 || !is_b32_lower(s, n))
        return -1;
    if (ob_base32_decode(out, 20, &got, s, n) != 0 || got != 20)
        return -1;
    return 0;
}

static int line_eq(const char *line, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(line, want, n) == 0;
}

static int line_kw(const char *line, size_t n, const char *kw, const char **arg, size_t *an)
{
    size_t k = strlen(kw);

    if (n <= k || memcmp(line, kw, k) != 0)
        return 0;
    *arg = line + k;
    *an = n - k;
    return 1;
}

/* Decimal without sign or leading zeros, at most max. */
static int parse_uint(const char *s, size_t n, uint32_t max, uint32_t *v)
{
    uint64_t x = 0;
    size_t i;

    if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > max)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* Exactly n decimal digits (leading zeros allowed). */
static int fixed_digits(const char *s, size_t n, uint32_t *v)
{
    size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (uint32_t)(s[i] - '0');
    }
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned dd)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + dd - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int parse_time(const char *s, size_t n, int64_t *t)
{
    static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    uint32_t y, mo, dd, h, mi, se;

    if (n != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return -1;
    /* Fixed-width fields: leading zeros are part of the format here. */
    if (fixed_digits(s, 4, &y) || fixed_digits(s + 5, 2, &mo) || fixed_digits(s + 8, 2, &dd) ||
        fixed_digits(s + 11, 2, &h) || fixed_digits(s + 14, 2, &mi) || fixed_digits(s + 17, 2, &se))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    if (mo == 2 && dd == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    *t = days_from_civil(y, mo, dd) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + se;
    return 0;
}

void ob_hsv2_format_time(char out[20], int64_t t)
{
    int64_t days = t / 86400, z, era, y;
    int64_t secs = t % 86400;
    unsigned doe, yoe, doy, mp, dd, m;

    if (secs < 0) {
        secs += 86400;
        days--;
    }
    /* Inverse of days_from_civil. */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    dd = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999) {
        memcpy(out, "0000-00-00 00:00:00", 20);
        return;
    }
    {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)y, m, dd,
                 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
        memcpy(out, tmp, 19);
        out[19] = '\0';
    }
}

/*
 * A PEM object at the cursor that must be byte-for-byte what our encoder
 * writes (tor's output is): decode, re-encode, compare.
 */
static ob_err pem_canonical(ob_cur *c, const char *tag, size_t max, ob_buf *out, ob_diag *d)
{
    size_t start = c->off, base = out->len;
    ob_buf re;
    ob_err err;

    ob_buf_init(&re);
    err = ob_pem_decode(c, tag, max, out, d);
    if (err != OB_OK)
        goto out;
    ob_pem_encode(&re, tag, out->p + base, out->len - base);
    if (!ob_buf_ok(&re)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (re.len != c->off - start || memcmp(re.p, c->p + start, re.len) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED,
                      "offset %zu: %s object is not in canonical form (64-char lines)", start, tag);
        goto out;
    }
out:
    ob_buf_free(&re);
    return err;
}

/* A 1024-bit RSA public key from canonical PKCS#1 DER. */
static ob_err rsa1024_from_der(const uint8_t *der, size_t n, EVP_PKEY **out, const char *what,
                               ob_diag *d)
{
    const unsigned char *p = der;
    unsigned char *re = NULL;
    EVP_PKEY *pk = NULL;
    int rl;
    ob_err err = OB_ERR_MALFORMED;

    *out = NULL;
    pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n);
    if (pk == NULL || (size_t)(p - der) != n) {
        ob_fail(d, OB_ERR_MALFORMED, "%s: not a PKCS#1 RSA public key", what);
        goto out;
    }
    rl = i2d_PublicKey(pk, &re);
    if (rl <= 0 || (size_t)rl != n || memcmp(re, der, n) != 0) {
        ob_fail(d, OB_ERR_MALFORMED, "%s: key is not in canonical DER", what);
        goto out;
    }
    if (EVP_PKEY_get_bits(pk) != 1024) {
        err = ob_fail(d, OB_ERR_UNSUPPORTED, "%s: RSA key has %d bits, v2 requires 1024", what,
                      EVP_PKEY_get_bits(pk));
        goto out;
    }
    *out = pk;
    pk = NULL;
    err = OB_OK;
out:
    OPENSSL_free(re);
    EVP_PKEY_free(pk);
    return err;
}

/* Read one canonical RSA PUBLIC KEY PEM into der[]. */
static ob_err read_key(ob_cur *c, uint8_t *der, size_t *dlen, const char *what, ob_diag *d)
{
    ob_buf b;
    EVP_PKEY *pk = NULL;
    ob_err err;

    ob_buf_init(&b);
    err = pem_canonical(c, "RSA PUBLIC KEY", OB_HSV2_KEY_DER_MAX, &b, d);
    if (err != OB_OK)
        goto out;
    err = rsa1024_from_der(b.p, b.len, &pk, what, d);
    if (err != OB_OK)
        goto out;
    memcpy(der, b.p, b.len);
    *dlen = b.len;
out:
    EVP_PKEY_free(pk);
    ob_buf_free(&b);
    return err;
}

/* ---- identifiers -------------------------------------------------------- */

uint32_t ob_hsv2_time_period(int64_t t, const uint8_t permanent_id[10])
{
    /* tor: (now + byte * 86400 / 256) / 86400, the product divided first. */
    int64_t off = (int64_t)permanent_id[0] * OB_HSV2_PERIOD / 256;

    return (uint32_t)((t + off) / OB_HSV2_PERIOD);
}

int64_t ob_hsv2_period_start(uint32_t tp, const uint8_t permanent_id[10])
{
    return (int64_t)tp * OB_HSV2_PERIOD - (int64_t)permanent_id[0] * OB_HSV2_PERIOD / 256;
}

int ob_hsv2_secret_id_part(uint8_t out[20], uint32_t tp, const uint8_t *cookie, unsigned replica)
{
    uint8_t tpb[4], r = (uint8_t)replica;
    ob_iov v[3];
    size_t nv = 0;

    ob_store_u32(tpb, tp);
    v[nv++] = (ob_iov){ tpb, 4 };
    if (cookie != NULL)
        v[nv++] = (ob_iov){ cookie, 16 };
    v[nv++] = (ob_iov){ &r, 1 };
    return ob_sha1(out, v, nv);
}

int ob_hsv2_desc_id(uint8_t out[20], const uint8_t permanent_id[10], const uint8_t sid[20])
{
    ob_iov v[2] = { { permanent_id, 10 }, { sid, 20 } };

    return ob_sha1(out, v, 2);
}

int ob_hsv2_permanent_id(uint8_t out[10], const uint8_t *der, size_t n)
{
    uint8_t h[OB_SHA1_LEN];

    if (ob_sha1_buf(h, der, n) != 0)
        return -1;
    memcpy(out, h, 10);
    return 0;
}

/* ---- descriptor parsing ------------------------------------------------- */

void ob_hsv2_desc_free(ob_hsv2_desc *desc)
{
    if (desc == NULL)
        return;
    if (desc->intro_blob != NULL) {
        ob_wipe(desc->intro_blob, desc->intro_blob_len);
        free(desc->intro_blob);
    }
    free(desc->text);
    free(desc);
}

static ob_err expect_line(ob_cur *c, const char *want, ob_diag *d)
{
    const char *line;
    size_t n, off = c->off;
    int r = ob_cur_line(c, &line, &n);

    if (r == -1)
        return ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: expected '%s', input ended", off, want);
    if (r != 0 || !line_eq(line, n, want))
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: expected '%s'", off, want);
    return OB_OK;
}

static ob_err expect_kw(ob_cur *c, const char *kw, const char **arg, size_t *an, ob_diag *d)
{
    const char *line;
    size_t n, off = c->off;
    int r = ob_cur_line(c, &line, &n);

    if (r == -1)
        return ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: expected '%s', input ended", off, kw);
    if (r != 0 || !line_kw(line, n, kw, arg, an))
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: expected '%s<value>'", off, kw);
    return OB_OK;
}

static int parse_versions(const char *s, size_t n, uint32_t *mask)
{
    size_t i = 0;

    *mask = 0;
    while (i < n) {
        size_t j = i;
        uint32_t v;
        while (j < n && s[j] != ',')
            j++;
        if (parse_uint(s + i, j - i, 31, &v) != 0 || (*mask & (1u << v)) != 0)
            return -1;
        *mask |= 1u << v;
        if (j == n)
            return 0;
        i = j + 1;
        if (i == n)
            return -1; /* trailing comma */
    }
    return -1;
}

ob_err ob_hsv2_desc_parse(const char *text, size_t len, ob_hsv2_desc **out, ob_diag *d)
{
    ob_hsv2_desc *desc = NULL;
    ob_cur c;
    ob_buf b;
    const char *arg;
    size_t an, off;
    uint8_t want_id[20];
    ob_err err;

    ob_buf_init(&b);
    *out = NULL;
    if (len > OB_HSV2_DESC_MAX) {
        err = ob_fail(d, OB_ERR_RANGE, "descriptor is %zu bytes, more than %d", len,
                      OB_HSV2_DESC_MAX);
        goto out;
    }
    if (memchr(text, '\0', len) != NULL) {
        err = ob_fail(d, OB_ERR_MALFORMED, "descriptor contains a NUL byte");
        goto out;
    }
    desc = calloc(1, sizeof(*desc));
    if (desc == NULL || (desc->text = malloc(len ? len : 1)) == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(desc->text, text, len);
    desc->text_len = len;
    ob_cur_init(&c, desc->text, len);

    off = c.off;
    if ((err = expect_kw(&c, "rendezvous-service-descriptor ", &arg, &an, d)) != OB_OK)
        goto out;
    if (b32_20(desc->desc_id, arg, an) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: descriptor-id is not 32 base32 chars", off);
        goto out;
    }
    if ((err = expect_line(&c, "version 2", d)) != OB_OK)
        goto out;
    if ((err = expect_line(&c, "permanent-key", d)) != OB_OK)
        goto out;
    if ((err = read_key(&c, desc->perm_key, &desc->perm_key_len, "permanent-key", d)) != OB_OK)
        goto out;
    if (ob_hsv2_permanent_id(desc->permanent_id, desc->perm_key, desc->perm_key_len) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    ob_onion_v2_from_der(desc->onion, desc->perm_key, desc->perm_key_len);

    off = c.off;
    if ((err = expect_kw(&c, "secret-id-part ", &arg, &an, d)) != OB_OK)
        goto out;
    if (b32_20(desc->secret_id_part, arg, an) != 0) {
        err =
            ob_fail(d, OB_ERR_MALFORMED, "offset %zu: secret-id-part is not 32 base32 chars", off);
        goto out;
    }
    off = c.off;
    if ((err = expect_kw(&c, "publication-time ", &arg, &an, d)) != OB_OK)
        goto out;
    if (parse_time(arg, an, &desc->published) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED,
                      "offset %zu: publication-time is not 'YYYY-MM-DD HH:MM:SS'", off);
        goto out;
    }
    off = c.off;
    if ((err = expect_kw(&c, "protocol-versions ", &arg, &an, d)) != OB_OK)
        goto out;
    if (parse_versions(arg, an, &desc->protocol_versions) != 0) {
        err = ob_fail(d, OB_ERR_MALFORMED,
                      "offset %zu: protocol-versions is not a list of distinct numbers", off);
        goto out;
    }
    if (ob_cur_startswith(&c, "introduction-points\n")) {
        ob_cur_skip(&c, strlen("introduction-points\n"));
        off = c.off;
        if ((err = pem_canonical(&c, "MESSAGE", OB_HSV2_DESC_MAX, &b, d)) != OB_OK)
            goto out;
        if (b.len == 0) {
            err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: empty introduction-points", off);
            goto out;
        }
        desc->intro_blob = malloc(b.len);
        if (desc->intro_blob == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(desc->intro_blob, b.p, b.len);
        desc->intro_blob_len = b.len;
        /* tor (rend_decrypt_introduction_points) tells the kinds apart so. */
        if (b.p[0] == 1)
            desc->auth = OB_HSV2_AUTH_BASIC;
        else if (b.p[0] == 2)
            desc->auth = OB_HSV2_AUTH_STEALTH;
        else if (b.len > strlen(INTRO_PREFIX) && memcmp(b.p, INTRO_PREFIX, 19) == 0)
            desc->auth = OB_HSV2_AUTH_NONE;
        else {
            err =
                ob_fail(d, OB_ERR_MALFORMED,
                        "offset %zu: introduction-points is neither plain nor auth type 1/2", off);
            goto out;
        }
        ob_buf_reset(&b);
    }
    if ((err = expect_line(&c, "signature", d)) != OB_OK)
        goto out;
    desc->signed_len = c.off;
    off = c.off;
    if ((err = pem_canonical(&c, "SIGNATURE", OB_HSV2_SIG_LEN, &b, d)) != OB_OK)
        goto out;
    if (b.len != OB_HSV2_SIG_LEN) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: signature is %zu bytes, expected %d", off,
                      b.len, OB_HSV2_SIG_LEN);
        goto out;
    }
    memcpy(desc->sig, b.p, OB_HSV2_SIG_LEN);
    if (!ob_cur_is_empty(&c)) {
        err = ob_fail(d, OB_ERR_MALFORMED, "offset %zu: trailing bytes after the signature", c.off);
        goto out;
    }
    if (ob_hsv2_desc_id(want_id, desc->permanent_id, desc->secret_id_part) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    if (memcmp(want_id, desc->desc_id, 20) != 0) {
        err =
            ob_fail(d, OB_ERR_VERIFY,
                    "descriptor-id is not SHA1(permanent-id | secret-id-part) for %s", desc->onion);
        goto out;
    }
    *out = desc;
    desc = NULL;
    err = OB_OK;
out:
    ob_buf_free(&b);
    ob_hsv2_desc_free(desc);
    return err;
}

/* ---- verification ------------------------------------------------------- */

static ob_err check_signature(const ob_hsv2_desc *desc, ob_diag *d)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t digest[OB_SHA1_LEN], rec[OB_HSV2_SIG_LEN];
    size_t rlen = sizeof(rec);
    ob_err err;

    err = rsa1024_from_der(desc->perm_key, desc->perm_key_len, &pk, "permanent-key", d);
    if (err != OB_OK)
        goto out;
    if (ob_sha1_buf(digest, desc->text, desc->signed_len) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    if (ctx == NULL || EVP_PKEY_verify_recover_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "cannot set up RSA verification");
        goto out;
    }
    /*
     * No signature md: OpenSSL then strips only the type-1 padding and hands
     * back what was signed, which tor requires to be the bare 20-byte digest.
     * A DigestInfo-wrapped signature recovers 35 bytes and fails here.
     */
    if (EVP_PKEY_verify_recover(ctx, rec, &rlen, desc->sig, OB_HSV2_SIG_LEN) <= 0) {
        err =
            ob_fail(d, OB_ERR_VERIFY, "signature of %s does not verify (bad padding)", desc->onion);
        goto out;
    }
    if (rlen != OB_SHA1_LEN || memcmp(rec, digest, OB_SHA1_LEN) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY,
                      "signature of %s does not match the descriptor (%zu-byte payload, "
                      "expected the bare 20-byte SHA-1)",
                      desc->onion, rlen);
        goto out;
    }
    err = OB_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return err;
}

/*
 * Signature, then secret-id-part for a period in [lo, hi] and replica 0/1
 * (want_replica < 2: only that one), then the publication-time window.
 */
static ob_err verify_range(ob_hsv2_desc *desc, int64_t now, const uint8_t *cookie, uint32_t lo,
                           uint32_t hi, unsigned want_replica, ob_diag *d)
{
    char when[20];
    const uint8_t *ck = NULL;
    uint32_t tp;
    unsigned r;
    ob_err err;

    desc->verified = 0;
    if ((err = check_signature(desc, d)) != OB_OK)
        return err;
    if (desc->auth == OB_HSV2_AUTH_STEALTH) {
        if (cookie == NULL)
            return ob_fail(d, OB_ERR_REFUSED,
                           "%s uses stealth auth: its descriptor cookie is needed to check "
                           "secret-id-part",
                           desc->onion);
        ck = cookie;
    }
    for (tp = lo; tp >= lo && tp <= hi; tp++) {
        for (r = 0; r < OB_HSV2_REPLICAS; r++) {
            uint8_t sid[20];
            if (want_replica < OB_HSV2_REPLICAS && r != want_replica)
                continue;
            if (ob_hsv2_secret_id_part(sid, tp, ck, r) != 0)
                return ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
            if (memcmp(sid, desc->secret_id_part, 20) == 0) {
                desc->time_period = tp;
                desc->replica = r;
                goto found;
            }
        }
    }
    ob_hsv2_format_time(when, desc->published);
    return ob_fail(d, OB_ERR_VERIFY,
                   "secret-id-part of %s matches no replica of time periods %u..%u (published "
                   "%s)%s",
                   desc->onion, lo, hi, when,
                   desc->auth == OB_HSV2_AUTH_STEALTH ? "; wrong cookie?" : "");
found:
    if (now != OB_HSV2_NOW_UNCHECKED) {
        ob_hsv2_format_time(when, desc->published);
        if (desc->published < now - OB_HSV2_MAX_AGE - OB_HSV2_MAX_SKEW)
            return ob_fail(d, OB_ERR_EXPIRED,
                           "descriptor of %s was published %s, more than 3 days ago", desc->onion,
                           when);
        if (desc->published > now + OB_HSV2_MAX_SKEW)
            return ob_fail(d, OB_ERR_EXPIRED,
                           "descriptor of %s claims publication %s, more than 1 day ahead",
                           desc->onion, when);
    }
    desc->verified = 1;
    return OB_OK;
}

ob_err ob_hsv2_desc_verify(ob_hsv2_desc *desc, int64_t now, const uint8_t *cookie, ob_diag *d)
{
    /*
     * tor computes the period from the upload time, and publication-time is
     * that time rounded down to the hour; in the last hour before a period
     * ends it also uploads the next period's descriptor.
     */
    uint32_t lo = ob_hsv2_time_period(desc->published, desc->permanent_id);
    uint32_t hi = ob_hsv2_time_period(desc->published + 3599, desc->permanent_id) + 1;

    return verify_range(desc, now, cookie, lo, hi, OB_HSV2_REPLICAS, d);
}

ob_err ob_hsv2_desc_verify_for(ob_hsv2_desc *desc, int64_t now, const uint8_t *cookie,
                               uint32_t time_period, unsigned replica, ob_diag *d)
{
    if (replica >= OB_HSV2_REPLICAS)
        return ob_fail(d, OB_ERR_RANGE, "replica must be 0 or 1");
    return verify_range(desc, now, cookie, time_period, time_period, replica, d);
}

int ob_hsv2_desc_is_newer_or_same(const ob_hsv2_desc *incoming, const ob_hsv2_desc *stored)
{
    return incoming->published >= stored->published;
}

/* ---- cookies and introduction points ------------------------------------ */

ob_err ob_hsv2_cookie_parse(const char *s, size_t n, uint8_t cookie[16], ob_hsv2_auth *auth,
                            ob_diag *d)
{
    char tmp[25];
    uint8_t raw[17];
    size_t got = 0;
    ob_err err = OB_OK;

    if (n == 22) {
        memcpy(tmp, s, 22);
        memcpy(tmp + 22, "A=", 3);
        if (ob_base64_decode(raw, sizeof(raw), &got, tmp, 24, OB_B64_PAD) != 0 || got != 17 ||
            (raw[16] != 0x00 && raw[16] != 0x10)) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "descriptor cookie is not the 22-char form tor prints");
            goto out;
        }
        *auth = raw[16] == 0 ? OB_HSV2_AUTH_BASIC : OB_HSV2_AUTH_STEALTH;
    } else if (n == 24) {
        if (ob_base64_decode(raw, sizeof(raw), &got, s, 24, OB_B64_PAD) != 0 || got != 16) {
            err = ob_fail(d, OB_ERR_MALFORMED, "descriptor cookie is not base64 of 16 bytes");
            goto out;
        }
        *auth = OB_HSV2_AUTH_UNKNOWN;
    } else {
        err = ob_fail(d, OB_ERR_MALFORMED, "descriptor cookie has %zu chars, expected 22", n);
        goto out;
    }
    memcpy(cookie, raw, 16);
out:
    ob_wipe(tmp, sizeof(tmp));
    ob_wipe(raw, sizeof(raw));
    return err;
}

static int starts_intro(const uint8_t *p, size_t n)
{
    return n >= 19 && memcmp(p, INTRO_PREFIX, 19) == 0;
}

static ob_err decrypt_basic(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_buf *out,
                            ob_diag *d)
{
    static const uint8_t zero_iv[16] = { 0 };
    const uint8_t *blob = desc->intro_blob, *iv, *ct;
    uint8_t *key = NULL, id[OB_SHA1_LEN];
    size_t nent, i, ctlen, hdr;
    ob_iov v[2];
    ob_err err = OB_ERR_VERIFY;

    if (desc->intro_blob_len < 2) {
        return ob_fail(d, OB_ERR_TRUNCATED, "basic-auth introduction-points too short");
    }
    nent = (size_t)blob[1] * 16;
    hdr = 2 + nent * 20 + 16;
    if (blob[1] == 0 || desc->intro_blob_len <= hdr)
        return ob_fail(d, OB_ERR_TRUNCATED,
                       "basic-auth introduction-points: %zu bytes, header needs more than %zu",
                       desc->intro_blob_len, hdr);
    iv = blob + 2 + nent * 20;
    ct = iv + 16;
    ctlen = desc->intro_blob_len - hdr;
    key = ob_secalloc(16);
    if (key == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    v[0] = (ob_iov){ cookie, 16 };
    v[1] = (ob_iov){ iv, 16 };
    if (ob_sha1(id, v, 2) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    for (i = 0; i < nent; i++) {
        const uint8_t *e = blob + 2 + i * 20;
        size_t base = out->len;
        if (memcmp(e, id, 4) != 0)
            continue;
        if (ob_aes_ctr(key, e + 4, 16, cookie, 16, zero_iv) != 0 ||
            ob_buf_reserve(out, ctlen) != 0) {
            err = ob_fail(d, OB_ERR_CRYPTO, "AES failed");
            goto out;
        }
        if (ob_aes_ctr(out->p + base, ct, ctlen, key, 16, iv) != 0) {
            err = ob_fail(d, OB_ERR_CRYPTO, "AES failed");
            goto out;
        }
        out->len = base + ctlen;
        if (starts_intro(out->p + base, ctlen)) {
            err = OB_OK;
            goto out;
        }
        ob_wipe(out->p + base, ctlen);
        out->len = base;
    }
    err = ob_fail(d, OB_ERR_VERIFY,
                  "introduction-points of %s do not decrypt with this cookie (basic auth)",
                  desc->onion);
out:
    ob_wipe(id, sizeof(id));
    ob_secfree(key);
    return err;
}

static ob_err decrypt_stealth(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_buf *out,
                              ob_diag *d)
{
    const uint8_t *iv = desc->intro_blob + 1;
    size_t ctlen, base = out->len;

    if (desc->intro_blob_len <= 17)
        return ob_fail(d, OB_ERR_TRUNCATED, "stealth-auth introduction-points too short");
    ctlen = desc->intro_blob_len - 17;
    if (ob_buf_reserve(out, ctlen) != 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (ob_aes_ctr(out->p + base, iv + 16, ctlen, cookie, 16, iv) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "AES failed");
    out->len = base + ctlen;
    if (!starts_intro(out->p + base, ctlen)) {
        ob_wipe(out->p + base, ctlen);
        out->len = base;
        return ob_fail(d, OB_ERR_VERIFY,
                       "introduction-points of %s do not decrypt with this cookie (stealth)",
                       desc->onion);
    }
    return OB_OK;
}

ob_err ob_hsv2_intro_plaintext(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_buf *out,
                               ob_diag *d)
{
    switch (desc->auth) {
    case OB_HSV2_AUTH_UNKNOWN:
        return ob_fail(d, OB_ERR_NOTFOUND, "descriptor of %s has no introduction points",
                       desc->onion);
    case OB_HSV2_AUTH_NONE:
        ob_buf_put(out, desc->intro_blob, desc->intro_blob_len);
        return ob_buf_ok(out) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
    case OB_HSV2_AUTH_BASIC:
    case OB_HSV2_AUTH_STEALTH:
        if (cookie == NULL)
            return ob_fail(d, OB_ERR_REFUSED,
                           "introduction points of %s are encrypted: configure its cookie",
                           desc->onion);
        return desc->auth == OB_HSV2_AUTH_BASIC ? decrypt_basic(desc, cookie, out, d)
                                                : decrypt_stealth(desc, cookie, out, d);
    }
    return ob_fail(d, OB_ERR_INTERNAL, "bad auth type");
}

static int parse_ipv4(const char *s, size_t n, uint8_t ip[4])
{
    size_t i = 0, k;

    for (k = 0; k < 4; k++) {
        size_t j = i;
        uint32_t v;
        while (j < n && s[j] != '.')
            j++;
        if (parse_uint(s + i, j - i, 255, &v) != 0)
            return -1;
        ip[k] = (uint8_t)v;
        if (k < 3) {
            if (j == n)
                return -1;
            i = j + 1;
        } else if (j != n) {
            return -1;
        }
    }
    return 0;
}

ob_err ob_hsv2_intro_parse(const uint8_t *p, size_t n, ob_hsv2_intro **intros, size_t *nintros,
                           ob_diag *d)
{
    ob_hsv2_intro *v = NULL;
    ob_cur c;
    const char *arg;
    size_t an, cnt = 0, off;
    uint32_t port;
    ob_err err;

    *intros = NULL;
    *nintros = 0;
    v = calloc(OB_HSV2_MAX_INTROS, sizeof(*v));
    if (v == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_cur_init(&c, p, n);
    while (ob_cur_startswith(&c, INTRO_PREFIX)) {
        ob_hsv2_intro *ip = &v[cnt];
        if (cnt == OB_HSV2_MAX_INTROS) {
            err = ob_fail(d, OB_ERR_RANGE, "intro offset %zu: more than %d introduction points",
                          c.off, OB_HSV2_MAX_INTROS);
            goto out;
        }
        off = c.off;
        if ((err = expect_kw(&c, INTRO_PREFIX, &arg, &an, d)) != OB_OK)
            goto out;
        if (b32_20(ip->id, arg, an) != 0) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "intro offset %zu: introduction-point is not 32 base32 chars", off);
            goto out;
        }
        off = c.off;
        if ((err = expect_kw(&c, "ip-address ", &arg, &an, d)) != OB_OK)
            goto out;
        if (parse_ipv4(arg, an, ip->ip) != 0) {
            err = ob_fail(d, OB_ERR_MALFORMED, "intro offset %zu: ip-address is not dotted IPv4",
                          off);
            goto out;
        }
        off = c.off;
        if ((err = expect_kw(&c, "onion-port ", &arg, &an, d)) != OB_OK)
            goto out;
        if (parse_uint(arg, an, 65535, &port) != 0 || port == 0) {
            err = ob_fail(d, OB_ERR_MALFORMED, "intro offset %zu: onion-port is not 1..65535", off);
            goto out;
        }
        ip->port = (uint16_t)port;
        if ((err = expect_line(&c, "onion-key", d)) != OB_OK)
            goto out;
        if ((err = read_key(&c, ip->onion_key, &ip->onion_key_len, "onion-key", d)) != OB_OK)
            goto out;
        if ((err = expect_line(&c, "service-key", d)) != OB_OK)
            goto out;
        if ((err = read_key(&c, ip->service_key, &ip->service_key_len, "service-key", d)) != OB_OK)
            goto out;
        cnt++;
    }
    if (cnt == 0) {
        err = ob_fail(d, OB_ERR_MALFORMED, "no introduction-point in introduction-points");
        goto out;
    }
    /* tor ends the list with one empty line; its stealth encoding drops it. */
    if (ob_cur_startswith(&c, "\n"))
        ob_cur_skip(&c, 1);
    if (!ob_cur_is_empty(&c)) {
        err = ob_fail(d, OB_ERR_MALFORMED, "intro offset %zu: unexpected text", c.off);
        goto out;
    }
    *intros = v;
    *nintros = cnt;
    v = NULL;
    err = OB_OK;
out:
    free(v);
    return err;
}

ob_err ob_hsv2_intro_decode(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_hsv2_intro **intros,
                            size_t *nintros, ob_diag *d)
{
    ob_buf b;
    ob_err err;

    ob_buf_init_secure(&b);
    err = ob_hsv2_intro_plaintext(desc, cookie, &b, d);
    if (err == OB_OK)
        err = ob_hsv2_intro_parse(b.p, b.len, intros, nintros, d);
    ob_buf_free(&b);
    return err;
}

void ob_hsv2_intro_encode(ob_buf *out, const ob_hsv2_intro *intros, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const ob_hsv2_intro *ip = &intros[i];
        char id[33];
        ob_base32_encode(id, ip->id, 20);
        ob_buf_printf(out, "introduction-point %s\nip-address %u.%u.%u.%u\nonion-port %u\n", id,
                      ip->ip[0], ip->ip[1], ip->ip[2], ip->ip[3], ip->port);
        ob_buf_put_str(out, "onion-key\n");
        ob_pem_encode(out, "RSA PUBLIC KEY", ip->onion_key, ip->onion_key_len);
        ob_buf_put_str(out, "service-key\n");
        ob_pem_encode(out, "RSA PUBLIC KEY", ip->service_key, ip->service_key_len);
    }
    ob_buf_put_str(out, "\n");
}

/* ---- building ----------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 20);
}

ob_err ob_hsv2_intro_encrypt(ob_buf *out, ob_hsv2_auth auth, const uint8_t (*cookies)[16],
                             size_t ncookies, const uint8_t *plain, size_t n, ob_diag *d)
{
    static const uint8_t zero_iv[16] = { 0 };
    uint8_t iv[16], *key = NULL, *ent = NULL, *ct = NULL, id[OB_SHA1_LEN];
    size_t nblocks, nent, i, base = out->len;
    ob_iov v[2];
    ob_err err = OB_ERR_CRYPTO;

    if (n == 0 || cookies == NULL)
        return ob_fail(d, OB_ERR_RANGE, "nothing to encrypt or no cookie");
    ob_random(iv, sizeof(iv));
    if ((ct = malloc(n)) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (auth == OB_HSV2_AUTH_STEALTH) {
        if (ncookies != 1) {
            err = ob_fail(d, OB_ERR_RANGE, "stealth auth encrypts for exactly one cookie");
            goto out;
        }
        if (ob_aes_ctr(ct, plain, n, cookies[0], 16, iv) != 0)
            goto fail;
        ob_buf_put_u8(out, 2);
        ob_buf_put(out, iv, 16);
        /* tor (rend_encrypt_v2_intro_points_stealth) drops the last byte. */
        ob_buf_put(out, ct, n - 1);
    } else if (auth == OB_HSV2_AUTH_BASIC) {
        if (ncookies < 1 || ncookies > 512) {
            err = ob_fail(d, OB_ERR_RANGE, "basic auth needs 1..512 cookies");
            goto out;
        }
        nblocks = 1 + (ncookies - 1) / 16;
        nent = nblocks * 16;
        key = ob_secalloc(16);
        ent = calloc(nent, 20);
        if (key == NULL || ent == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        ob_random(key, 16);
        ob_random(ent, nent * 20); /* fake entries stay random */
        for (i = 0; i < ncookies; i++) {
            v[0] = (ob_iov){ cookies[i], 16 };
            v[1] = (ob_iov){ iv, 16 };
            if (ob_sha1(id, v, 2) != 0 ||
                ob_aes_ctr(ent + i * 20 + 4, key, 16, cookies[i], 16, zero_iv) != 0)
                goto fail;
            memcpy(ent + i * 20, id, 4);
        }
        qsort(ent, nent, 20, entry_cmp);
        if (ob_aes_ctr(ct, plain, n, key, 16, iv) != 0)
            goto fail;
        ob_buf_put_u8(out, 1);
        ob_buf_put_u8(out, (uint8_t)nblocks);
        ob_buf_put(out, ent, nent * 20);
        ob_buf_put(out, iv, 16);
        ob_buf_put(out, ct, n);
    } else {
        err = ob_fail(d, OB_ERR_UNSUPPORTED, "auth type %d cannot encrypt", (int)auth);
        goto out;
    }
    err = ob_buf_ok(out) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
    goto out;
fail:
    err = ob_fail(d, OB_ERR_CRYPTO, "AES/SHA1 failed");
out:
    if (err != OB_OK && out->len > base)
        out->len = base;
    ob_secfree(key);
    free(ent);
    free(ct);
    ob_wipe(id, sizeof(id));
    return err;
}

ob_err ob_hsv2_build_unsigned(ob_buf *out, const ob_hsv2_build *b, ob_diag *d)
{
    uint8_t pid[10], sid[20], did[20];
    char s_did[33], s_sid[33], when[20];
    EVP_PKEY *pk = NULL;
    ob_hsv2_intro *ips = NULL;
    size_t nips = 0;
    int64_t pub;
    ob_buf blob;
    ob_err err;

    ob_buf_init(&blob);
    if (b->replica >= OB_HSV2_REPLICAS || b->published < 0)
        return ob_fail(d, OB_ERR_RANGE, "replica must be 0 or 1 and time not negative");
    if ((err = rsa1024_from_der(b->perm_key, b->perm_key_len, &pk, "permanent-key", d)) != OB_OK)
        goto out;
    if (b->intro_plain != NULL) {
        /* Never sign intro points we could not parse back. */
        err = ob_hsv2_intro_parse(b->intro_plain, b->intro_plain_len, &ips, &nips, d);
        if (err != OB_OK)
            goto out;
    }
    if (b->auth == OB_HSV2_AUTH_BASIC || b->auth == OB_HSV2_AUTH_STEALTH) {
        if (b->intro_plain == NULL) {
            err = ob_fail(d, OB_ERR_RANGE, "client auth without intro points");
            goto out;
        }
        err = ob_hsv2_intro_encrypt(&blob, b->auth, b->cookies, b->ncookies, b->intro_plain,
                                    b->intro_plain_len, d);
        if (err != OB_OK)
            goto out;
    } else if (b->intro_plain != NULL) {
        ob_buf_put(&blob, b->intro_plain, b->intro_plain_len);
    }
    if (!ob_buf_ok(&blob)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (ob_hsv2_permanent_id(pid, b->perm_key, b->perm_key_len) != 0 ||
        ob_hsv2_secret_id_part(sid, b->time_period,
                               b->auth == OB_HSV2_AUTH_STEALTH ? b->cookies[0] : NULL,
                               b->replica) != 0 ||
        ob_hsv2_desc_id(did, pid, sid) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    pub = b->published - b->published % 3600;
    ob_base32_encode(s_did, did, 20);
    ob_base32_encode(s_sid, sid, 20);
    ob_hsv2_format_time(when, pub);
    ob_buf_printf(out, "rendezvous-service-descriptor %s\nversion 2\npermanent-key\n", s_did);
    ob_pem_encode(out, "RSA PUBLIC KEY", b->perm_key, b->perm_key_len);
    ob_buf_printf(out, "secret-id-part %s\npublication-time %s\nprotocol-versions 2,3\n", s_sid,
                  when);
    if (b->intro_plain != NULL) {
        ob_buf_put_str(out, "introduction-points\n");
        ob_pem_encode(out, "MESSAGE", blob.p, blob.len);
    }
    ob_buf_put_str(out, "signature\n");
    if (!ob_buf_ok(out)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Room for the 128-byte signature block (~ 230 bytes). */
    if (out->len + 256 > OB_HSV2_DESC_MAX) {
        err = ob_fail(d, OB_ERR_RANGE, "descriptor would exceed %d bytes", OB_HSV2_DESC_MAX);
        goto out;
    }
    err = OB_OK;
out:
    ob_buf_free(&blob);
    free(ips);
    EVP_PKEY_free(pk);
    return err;
}

ob_err ob_hsv2_distribute(
    const ob_hsv2_intro *const *inst, const size_t *counts, size_t ninst,
    const ob_hsv2_intro *sel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP][OB_HSV2_MAX_INTROS],
    size_t nsel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP], int *distinct, ob_diag *d)
{
    const ob_hsv2_intro *order[OB_HSV2_MAX_TOTAL_INTROS];
    size_t total = 0, round, i, s, j, maxc = 0;
    const size_t nslots = OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP;

    for (i = 0; i < ninst; i++)
        if (counts[i] > maxc)
            maxc = counts[i];
    /* Round robin: first point of every instance, then the second, ... */
    for (round = 0; round < maxc && total < OB_HSV2_MAX_TOTAL_INTROS; round++)
        for (i = 0; i < ninst && total < OB_HSV2_MAX_TOTAL_INTROS; i++)
            if (round < counts[i])
                order[total++] = &inst[i][round];
    if (total == 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "no introduction points from any instance");
    *distinct = total > OB_HSV2_MAX_INTROS;
    for (s = 0; s < nslots; s++) {
        size_t k = *distinct ? OB_HSV2_MAX_INTROS : total;
        for (j = 0; j < k; j++)
            sel[s][j] = order[*distinct ? (s * OB_HSV2_MAX_INTROS + j) % total : j];
        nsel[s] = k;
    }
    return OB_OK;
}

/* ---- pre-signing and HSDirs --------------------------------------------- */

ob_err ob_hsv2_presign_periods(int64_t now, const uint8_t permanent_id[10], int64_t window,
                               ob_hsv2_slot *out, size_t max, size_t *n, ob_diag *d)
{
    int64_t pub, end, expires;
    uint32_t tp;
    size_t cnt = 0;

    *n = 0;
    if (now < 0 || now > MAX_UNIX)
        return ob_fail(d, OB_ERR_RANGE, "clock is outside 1970..9999");
    if (window < 0 || window > OB_HSV2_PRESIGN_MAX_WINDOW)
        return ob_fail(d, OB_ERR_RANGE, "presign window %lld s is outside 0..%d s",
                       (long long)window, OB_HSV2_PRESIGN_MAX_WINDOW);
    pub = now - now % 3600;
    end = now + window;
    expires = pub + OB_HSV2_MAX_AGE + OB_HSV2_MAX_SKEW;
    for (tp = ob_hsv2_time_period(now, permanent_id);; tp++) {
        int64_t start = ob_hsv2_period_start(tp, permanent_id);
        unsigned r;
        if (start - OB_HSV2_OVERLAP > end)
            break;
        for (r = 0; r < OB_HSV2_REPLICAS; r++) {
            if (cnt == max)
                return ob_fail(d, OB_ERR_RANGE, "more than %zu descriptors to pre-sign", max);
            out[cnt].time_period = tp;
            out[cnt].replica = r;
            out[cnt].published = pub;
            out[cnt].use_from = start - OB_HSV2_OVERLAP > now ? start - OB_HSV2_OVERLAP : now;
            out[cnt].use_until =
                start + OB_HSV2_PERIOD < expires ? start + OB_HSV2_PERIOD : expires;
            cnt++;
        }
    }
    *n = cnt;
    return OB_OK;
}

typedef struct {
    const uint8_t *fp;
    size_t idx;
} fp_ent;

static int fp_cmp(const void *a, const void *b)
{
    return memcmp(((const fp_ent *)a)->fp, ((const fp_ent *)b)->fp, 20);
}

ob_err ob_hsv2_responsible_hsdirs(const uint8_t desc_id[20], const uint8_t (*fingerprints)[20],
                                  const int *hsdir_flags, size_t n, size_t out[3], size_t *nout,
                                  ob_diag *d)
{
    fp_ent *v = NULL;
    size_t i, start = 0, got = 0;
    ob_err err = OB_OK;

    *nout = 0;
    if (n == 0)
        return OB_OK;
    v = calloc(n, sizeof(*v));
    if (v == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        v[i].fp = fingerprints[i];
        v[i].idx = i;
    }
    qsort(v, n, sizeof(*v), fp_cmp);
    for (i = 1; i < n; i++) {
        if (memcmp(v[i - 1].fp, v[i].fp, 20) == 0) {
            err =
                ob_fail(d, OB_ERR_MALFORMED, "relay %zu appears twice in the consensus", v[i].idx);
            goto out;
        }
    }
    /* First relay whose digest is >= desc_id (wrap to 0 if none). */
    while (start < n && memcmp(v[start].fp, desc_id, 20) < 0)
        start++;
    for (i = 0; i < n && got < OB_HSV2_HSDIRS_PER_REP; i++) {
        const fp_ent *e = &v[(start + i) % n];
        if (hsdir_flags[e->idx])
            out[got++] = e->idx;
    }
    *nout = got;
out:
    free(v);
    return err;
}
