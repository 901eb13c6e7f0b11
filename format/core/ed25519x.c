/*
 * ed25519x.c - Ed25519 signing from expanded keys, composed from libsodium's
 * scalar/point primitives; curve25519 -> ed25519 with OpenSSL BIGNUM.
 *
 * Why not crypto_sign_detached(): it wants a 32-byte seed and re-derives
 * (a, RH) from it, but tor's identity keys and every blinded key exist only
 * as (a, RH).  The composition below is RFC 8032 section 5.1.6 step for step
 * with the seed hash replaced by the stored expanded key.
 */
#include "ed25519x.h"

#include <openssl/bn.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"
#include "opcount.h"
#include "secmem.h"

int ob_ed25519_expand_seed(uint8_t exp[64], const uint8_t seed[32])
{
    ob_iov v[1] = { { seed, 32 } };

    if (ob_sha512(exp, v, 1) != 0) {
        ob_wipe(exp, 64);
        return -1;
    }
    exp[0] &= 248;
    exp[31] &= 127;
    exp[31] |= 64;
    return 0;
}

int ob_ed25519_pub_from_expanded(uint8_t pk[32], const uint8_t exp[64])
{
    /* noclamp: a is already clamped, and blinded a' = a*h mod l must not be
     * clamped again (that would change it). */
    if (crypto_scalarmult_ed25519_base_noclamp(pk, exp) != 0)
        return -1;
    return 0;
}

int ob_ed25519_sign_expanded_unchecked(uint8_t sig[64], const uint8_t *m, size_t mlen,
                                       const uint8_t exp[64], const uint8_t pk[32])
{
    uint8_t wide[64], r[32], k[32], ka[32], R[32];
    int ret = -1;

    ob_op_count(OB_OP_ED25519_SIGN);
    /* r = SHA-512(RH | M) mod l: the deterministic nonce. */
    {
        ob_iov v[2] = { { exp + 32, 32 }, { m, mlen } };
        if (ob_sha512(wide, v, 2) != 0)
            goto out;
    }
    crypto_core_ed25519_scalar_reduce(r, wide);
    if (crypto_scalarmult_ed25519_base_noclamp(R, r) != 0)
        goto out; /* r == 0: probability 2^-252 */

    /* k = SHA-512(R | A | M) mod l. */
    {
        ob_iov v[3] = { { R, 32 }, { pk, 32 }, { m, mlen } };
        if (ob_sha512(wide, v, 3) != 0)
            goto out;
    }
    crypto_core_ed25519_scalar_reduce(k, wide);

    /* S = r + k*a mod l.  scalar_mul accepts the unreduced clamped a. */
    crypto_core_ed25519_scalar_mul(ka, k, exp);
    memcpy(sig, R, 32);
    crypto_core_ed25519_scalar_add(sig + 32, r, ka);
    ret = 0;
out:
    ob_wipe(wide, sizeof(wide));
    ob_wipe(r, sizeof(r));
    ob_wipe(ka, sizeof(ka));
    ob_wipe(k, sizeof(k));
    ob_wipe(R, sizeof(R));
    if (ret != 0)
        ob_wipe(sig, 64);
    return ret;
}

int ob_ed25519_sign_expanded(uint8_t sig[64], const uint8_t *m, size_t mlen, const uint8_t exp[64],
                             const uint8_t pk[32])
{
    /* Self-check (style.md habit 8); also refuses a pk that is not a's. */
    if (ob_ed25519_sign_expanded_unchecked(sig, m, mlen, exp, pk) != 0 ||
        ob_ed25519_verify(sig, m, mlen, pk) != 0) {
        ob_wipe(sig, 64);
        return -1;
    }
    return 0;
}

int ob_ed25519_verify(const uint8_t sig[64], const uint8_t *m, size_t mlen, const uint8_t pk[32])
{
    ob_op_count(OB_OP_ED25519_VERIFY);
    /* libsodium rejects non-canonical S, small-order R and small-order keys. */
    return crypto_sign_ed25519_verify_detached(sig, m, mlen, pk) == 0 ? 0 : -1;
}

int ob_ed25519_keygen(uint8_t exp[64], uint8_t pk[32])
{
    uint8_t seed[32];
    int ret = -1;

    ob_random(seed, sizeof(seed));
    if (ob_ed25519_expand_seed(exp, seed) != 0)
        goto out;
    if (ob_ed25519_pub_from_expanded(pk, exp) != 0) {
        ob_wipe(exp, 64);
        goto out;
    }
    ret = 0;
out:
    ob_wipe(seed, sizeof(seed));
    return ret;
}

int ob_curve25519_to_ed25519(uint8_t ed[32], const uint8_t u[32], int signbit)
{
    /* Public values only, so variable-time BIGNUM arithmetic is fine. */
    static const uint8_t p_be[32] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed };
    uint8_t ul[32];
    BN_CTX *ctx = NULL;
    BIGNUM *p = NULL, *x = NULL, *num = NULL, *den = NULL, *y = NULL;
    int ret = -1;

    if (signbit != 0 && signbit != 1)
        return -1;
    /* Like tor (fe_frombytes), the top bit of u is ignored and u is taken mod p. */
    memcpy(ul, u, 32);
    ul[31] &= 127;
    ctx = BN_CTX_new();
    p = BN_bin2bn(p_be, 32, NULL);
    x = BN_lebin2bn(ul, 32, NULL);
    num = BN_new();
    den = BN_new();
    y = BN_new();
    if (ctx == NULL || p == NULL || x == NULL || num == NULL || den == NULL || y == NULL)
        goto out;
    if (!BN_nnmod(x, x, p, ctx))
        goto out;
    /* y = (u - 1) / (u + 1) mod p */
    if (!BN_copy(num, x) || !BN_sub_word(num, 1) || !BN_nnmod(num, num, p, ctx))
        goto out;
    if (!BN_copy(den, x) || !BN_add_word(den, 1) || !BN_nnmod(den, den, p, ctx))
        goto out;
    if (BN_is_zero(den))
        goto out; /* u = -1: not the u-coordinate of an Edwards point */
    if (BN_mod_inverse(den, den, p, ctx) == NULL)
        goto out;
    if (!BN_mod_mul(y, num, den, p, ctx))
        goto out;
    if (BN_bn2lebinpad(y, ed, 32) != 32)
        goto out;
    ed[31] = (uint8_t)((ed[31] & 127) | (signbit << 7));
    ret = 0;
out:
    BN_free(y);
    BN_free(den);
    BN_free(num);
    BN_free(x);
    BN_free(p);
    BN_CTX_free(ctx);
    return ret;
}

int ob_ed25519_pub_is_valid(const uint8_t pk[32])
{
    /* canonical encoding, on the curve, not small order, no torsion part */
    return crypto_core_ed25519_is_valid_point(pk) == 1 ? 0 : -1;
}
