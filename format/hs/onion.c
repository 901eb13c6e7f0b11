/* onion.c - v3 and v2 onion address encoding and validation. */
#include "onion.h"

#include "crypto.h"
#include "encode.h"
#include <strings.h>

#include <sodium.h>
#include <string.h>

#define V3_VERSION   3
#define V3_RAW_LEN   35 /* pubkey 32 + checksum 2 + version 1 */
#define V2_RAW_LEN   10
#define SUFFIX       ".onion"
#define SUFFIX_LEN   6
#define CHECKSUM_TAG ".onion checksum"

static int v3_checksum(uint8_t out[2], const uint8_t pk[32])
{
    static const uint8_t ver = V3_VERSION;
    uint8_t h[OB_SHA3_256_LEN];
    ob_iov v[3] = { { CHECKSUM_TAG, sizeof(CHECKSUM_TAG) - 1 }, { pk, 32 }, { &ver, 1 } };

    if (ob_sha3_256(h, v, 3) != 0)
        return -1;
    memcpy(out, h, 2);
    return 0;
}

void ob_onion_v3_encode(char out[OB_ONION_V3_LEN + 1], const uint8_t pk[32])
{
    uint8_t raw[V3_RAW_LEN];

    memcpy(raw, pk, 32);
    /* SHA3 over 48 bytes in memory cannot fail short of a broken OpenSSL;
     * a zero checksum then makes the address fail every decoder, loudly. */
    if (v3_checksum(raw + 32, pk) != 0)
        memset(raw + 32, 0, 2);
    raw[34] = V3_VERSION;
    ob_base32_encode(out, raw, sizeof(raw));
}

/* Length of s without a trailing ".onion" (any case). */
static size_t strip_suffix(const char *s, size_t n)
{
    if (n >= SUFFIX_LEN && strncasecmp(s + n - SUFFIX_LEN, SUFFIX, SUFFIX_LEN) == 0)
        return n - SUFFIX_LEN;
    return n;
}

ob_err ob_onion_v3_decode(uint8_t pk[32], const char *s, size_t n, ob_diag *d)
{
    uint8_t raw[V3_RAW_LEN], want[2];
    size_t len = 0;

    n = strip_suffix(s, n);
    if (n != OB_ONION_V3_LEN)
        return ob_fail(d, OB_ERR_MALFORMED, "onion address: expected %d base32 characters, got %zu",
                       OB_ONION_V3_LEN, n);
    if (ob_base32_decode(raw, sizeof(raw), &len, s, n) != 0 || len != V3_RAW_LEN)
        return ob_fail(d, OB_ERR_MALFORMED, "onion address: not base32 (a-z, 2-7)");
    if (raw[34] != V3_VERSION)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "onion address: version byte %u, expected 3",
                       raw[34]);
    if (v3_checksum(want, raw) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "onion address: SHA3-256 failed");
    if (memcmp(want, raw + 32, 2) != 0)
        return ob_fail(d, OB_ERR_VERIFY,
                       "onion address: checksum mismatch (stored %02x%02x, computed %02x%02x); "
                       "check for a typo",
                       raw[32], raw[33], want[0], want[1]);
    if (crypto_core_ed25519_is_valid_point(raw) != 1)
        return ob_fail(d, OB_ERR_VERIFY,
                       "onion address: public key is not a valid ed25519 point of prime order");
    memcpy(pk, raw, 32);
    return OB_OK;
}

void ob_onion_v2_from_der(char out[OB_ONION_V2_LEN + 1], const uint8_t *der, size_t n)
{
    uint8_t h[OB_SHA1_LEN];

    if (ob_sha1_buf(h, der, n) != 0)
        memset(h, 0, sizeof(h));
    ob_base32_encode(out, h, V2_RAW_LEN);
}

ob_err ob_onion_normalize(const char *s, char out[OB_ONION_V3_LEN + 1], int *version, ob_diag *d)
{
    return ob_onion_normalize_key(s, out, version, NULL, d);
}

ob_err ob_onion_normalize_key(const char *s, char out[OB_ONION_V3_LEN + 1], int *version,
                              uint8_t pk_out[32], ob_diag *d)
{
    uint8_t raw[V3_RAW_LEN], pk[32];
    size_t n, len = 0, i;
    ob_err e;

    n = strip_suffix(s, strnlen(s, OB_ONION_V3_LEN + SUFFIX_LEN + 1));
    if (n == OB_ONION_V2_LEN) {
        if (ob_base32_decode(raw, sizeof(raw), &len, s, n) != 0 || len != V2_RAW_LEN)
            return ob_fail(d, OB_ERR_MALFORMED, "onion address: not base32 (a-z, 2-7)");
        *version = 2;
    } else if (n == OB_ONION_V3_LEN) {
        if ((e = ob_onion_v3_decode(pk, s, n, d)) != OB_OK)
            return e;
        if (pk_out != NULL)
            memcpy(pk_out, pk, 32);
        *version = 3;
    } else {
        return ob_fail(d, OB_ERR_MALFORMED,
                       "onion address: expected %d (v3) or %d (v2) base32 characters, got %zu",
                       OB_ONION_V3_LEN, OB_ONION_V2_LEN, n);
    }
    for (i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = '\0';
    return OB_OK;
}
