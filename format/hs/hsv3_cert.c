/*
 * hsv3_cert.c - tor Ed25519 certificates (cert-spec 2.1, 2.2.1; layout in
 * hsv3_cert.h).  Every input byte is read through one ob_cur; the signed
 * part is whatever precedes the final 64 bytes.
 */
#include "hsv3_cert.h"

#include <string.h>

#include "buf.h"
#include "ed25519x.h"
#include "obtime.h"
#include "secmem.h"

#define EXT_SIGNED_WITH_KEY         0x04
#define EXT_FLAG_AFFECTS_VALIDATION 0x01
#define CERT_HEADER_LEN             40 /* version .. n_extensions */

ob_err ob_ed_cert_parse(ob_ed_cert *c, const uint8_t *p, size_t n, ob_diag *d)
{
    ob_cur cur;
    uint8_t version = 0, n_ext = 0;
    unsigned i;

    memset(c, 0, sizeof(*c));
    if (n > OB_CERT_MAX_LEN)
        return ob_fail(d, OB_ERR_RANGE, "certificate: %zu bytes, more than the %d allowed", n,
                       OB_CERT_MAX_LEN);
    ob_cur_init(&cur, p, n);
    if (ob_cur_get_u8(&cur, &version) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "certificate: empty");
    if (version != 1)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "certificate offset 0: version %u, expected 1",
                       (unsigned)version);
    if (ob_cur_get_u8(&cur, &c->type) != 0 || ob_cur_get_u32(&cur, &c->expiration_hours) != 0 ||
        ob_cur_get_u8(&cur, &c->key_type) != 0 || ob_cur_get_bytes(&cur, c->certified, 32) != 0 ||
        ob_cur_get_u8(&cur, &n_ext) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED,
                       "certificate offset %zu: header truncated (%zu of %d bytes)", cur.off, n,
                       CERT_HEADER_LEN);
    /* Hours since the epoch; a date past year 9999 is nothing a signer makes. */
    if ((uint64_t)c->expiration_hours > OB_TIME_MAX / 3600)
        return ob_fail(d, OB_ERR_RANGE,
                       "certificate offset 2: expiration hour %u is beyond year 9999 (limit %llu)",
                       (unsigned)c->expiration_hours, (unsigned long long)(OB_TIME_MAX / 3600));
    for (i = 0; i < n_ext; i++) {
        size_t ext_off = cur.off;
        uint16_t ext_len = 0;
        uint8_t ext_type = 0, ext_flags = 0;
        ob_cur data;

        if (ob_cur_get_u16(&cur, &ext_len) != 0 || ob_cur_get_u8(&cur, &ext_type) != 0 ||
            ob_cur_get_u8(&cur, &ext_flags) != 0)
            return ob_fail(d, OB_ERR_TRUNCATED,
                           "certificate offset %zu: extension %u header truncated", ext_off, i);
        if (ob_cur_sub(&cur, ext_len, &data) != 0)
            return ob_fail(d, OB_ERR_TRUNCATED,
                           "certificate offset %zu: extension %u claims %u bytes, %zu left",
                           ext_off, i, (unsigned)ext_len, ob_cur_left(&cur));
        if (ext_type == EXT_SIGNED_WITH_KEY) {
            if (c->has_signer)
                return ob_fail(d, OB_ERR_MALFORMED,
                               "certificate offset %zu: second signed-with-key extension", ext_off);
            if (ext_len != 32)
                return ob_fail(d, OB_ERR_MALFORMED,
                               "certificate offset %zu: signed-with-key extension is %u bytes, "
                               "expected 32",
                               ext_off, (unsigned)ext_len);
            if (ob_cur_get_bytes(&data, c->signer, 32) != 0)
                return ob_fail(d, OB_ERR_INTERNAL, "certificate: extension cursor");
            c->has_signer = 1;
        } else if (ext_flags & EXT_FLAG_AFFECTS_VALIDATION) {
            /* cert-spec: an unknown extension that affects validation makes
             * the certificate invalid. */
            return ob_fail(d, OB_ERR_UNSUPPORTED,
                           "certificate offset %zu: unknown extension type 0x%02x marked as "
                           "affecting validation",
                           ext_off, (unsigned)ext_type);
        }
    }
    c->signed_len = cur.off;
    if (ob_cur_get_bytes(&cur, c->sig, 64) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED,
                       "certificate offset %zu: signature truncated (%zu of 64 bytes)",
                       c->signed_len, ob_cur_left(&cur));
    if (!ob_cur_is_empty(&cur))
        return ob_fail(d, OB_ERR_MALFORMED,
                       "certificate offset %zu: %zu trailing bytes after the signature", cur.off,
                       ob_cur_left(&cur));
    memcpy(c->raw, p, n);
    c->raw_len = n;
    return OB_OK;
}

ob_err ob_ed_cert_verify(const ob_ed_cert *c, const uint8_t *signer, uint64_t now, ob_diag *d)
{
    const uint8_t *key = signer;

    if (key == NULL) {
        if (!c->has_signer)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "certificate has no signed-with-key extension and no signer was given");
        key = c->signer;
    } else if (c->has_signer && memcmp(c->signer, signer, 32) != 0) {
        return ob_fail(d, OB_ERR_VERIFY, "certificate names a different signing key than expected");
    }
    if (c->signed_len + 64 != c->raw_len || c->raw_len > OB_CERT_MAX_LEN)
        return ob_fail(d, OB_ERR_INTERNAL, "certificate: inconsistent lengths");
    if (ob_ed25519_verify(c->sig, c->raw, c->signed_len, key) != 0)
        return ob_fail(d, OB_ERR_VERIFY, "bad certificate signature");
    return ob_ed_cert_check_expiry(c, now, d);
}

ob_err ob_ed_cert_check_expiry(const ob_ed_cert *c, uint64_t now, ob_diag *d)
{
    if (now != 0 && now / 3600 >= (uint64_t)c->expiration_hours) {
        char when[OB_TIME_STR];

        (void)ob_time_format(when, sizeof(when), (uint64_t)c->expiration_hours * 3600, OB_TIME_SEC);
        return ob_fail(d, OB_ERR_EXPIRED, "certificate expired at %s", when);
    }
    return OB_OK;
}

/* The signed part, as tor writes it; returns where the signature goes. */
static uint8_t *cert_head(uint8_t *out, uint8_t type, const uint8_t certified[32],
                          uint32_t expiration_hours, const uint8_t signer_pub[32])
{
    uint8_t *q = out;

    /* Layout in hsv3_cert.h; written by hand because it is fixed-size. */
    *q++ = 1;
    *q++ = type;
    ob_store_u32(q, expiration_hours);
    q += 4;
    *q++ = 1; /* CERT_KEY_TYPE: tor writes 01 for every type */
    memcpy(q, certified, 32);
    q += 32;
    *q++ = 1; /* one extension */
    ob_store_u16(q, 32);
    q += 2;
    *q++ = EXT_SIGNED_WITH_KEY;
    *q++ = 0;
    memcpy(q, signer_pub, 32);
    return q + 32;
}

ob_err ob_ed_cert_create(uint8_t *out, size_t *len, uint8_t type, const uint8_t certified[32],
                         uint32_t expiration_hours, const uint8_t signer_exp[64],
                         const uint8_t signer_pub[32], ob_diag *d)
{
    uint8_t *q = cert_head(out, type, certified, expiration_hours, signer_pub);

    /* The signer verifies its signature before returning it, so a failure
     * here is in practice a signer_pub/signer_exp mismatch: a certificate
     * every relay rejects must never leave. */
    if (ob_ed25519_sign_expanded(q, out, (size_t)(q - out), signer_exp, signer_pub) != 0) {
        ob_wipe(out, OB_CERT_LEN);
        return ob_fail(d, OB_ERR_VERIFY,
                       "certificate: fresh signature does not verify (signer key pair mismatch)");
    }
    *len = OB_CERT_LEN;
    return OB_OK;
}

ob_err ob_ed_cert_create_unchecked(uint8_t *out, size_t *len, uint8_t type,
                                   const uint8_t certified[32], uint32_t expiration_hours,
                                   const uint8_t signer_exp[64], const uint8_t signer_pub[32],
                                   ob_diag *d)
{
    uint8_t *q = cert_head(out, type, certified, expiration_hours, signer_pub);

    if (ob_ed25519_sign_expanded_unchecked(q, out, (size_t)(q - out), signer_exp, signer_pub) !=
        0) {
        ob_wipe(out, OB_CERT_LEN);
        return ob_fail(d, OB_ERR_CRYPTO, "certificate: signing failed");
    }
    *len = OB_CERT_LEN;
    return OB_OK;
}

void ob_ed_cert_assemble(uint8_t out[OB_CERT_LEN], uint8_t type, const uint8_t certified[32],
                         uint32_t expiration_hours, const uint8_t signer_pub[32],
                         const uint8_t sig[64])
{
    uint8_t *q = cert_head(out, type, certified, expiration_hours, signer_pub);

    memcpy(q, sig, 64);
}

uint32_t ob_ed_cert_expiry_hours(uint64_t now, uint64_t lifetime_s)
{
    const uint64_t max = OB_TIME_MAX / 3600; /* what ob_ed_cert_parse accepts */
    uint64_t h;

    if (now > OB_TIME_MAX || lifetime_s > OB_TIME_MAX)
        return (uint32_t)max;
    h = (now + lifetime_s + 3599) / 3600;
    return h > max ? (uint32_t)max : (uint32_t)h;
}
