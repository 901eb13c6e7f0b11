/* crypto.c - OpenSSL EVP digests, HMAC, AES-CTR; libsodium randomness. */
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

static int digest(const EVP_MD *md, uint8_t *out, size_t outlen, int xof, const ob_iov *v,
                  size_t nv)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int rc = -1;
    size_t i;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        goto out;
    for (i = 0; i < nv; i++) {
        if (v[i].n > 0 && EVP_DigestUpdate(ctx, v[i].p, v[i].n) != 1)
            goto out;
    }
    if (xof) {
        if (EVP_DigestFinalXOF(ctx, out, outlen) != 1)
            goto out;
    } else {
        if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != outlen)
            goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ob_sha1(uint8_t out[OB_SHA1_LEN], const ob_iov *v, size_t nv)
{
    return digest(EVP_sha1(), out, OB_SHA1_LEN, 0, v, nv);
}

int ob_sha256(uint8_t out[OB_SHA256_LEN], const ob_iov *v, size_t nv)
{
    return digest(EVP_sha256(), out, OB_SHA256_LEN, 0, v, nv);
}

int ob_sha3_256(uint8_t out[OB_SHA3_256_LEN], const ob_iov *v, size_t nv)
{
    return digest(EVP_sha3_256(), out, OB_SHA3_256_LEN, 0, v, nv);
}

int ob_sha512(uint8_t out[OB_SHA512_LEN], const ob_iov *v, size_t nv)
{
    return digest(EVP_sha512(), out, OB_SHA512_LEN, 0, v, nv);
}

int ob_shake256(uint8_t *out, size_t outlen, const ob_iov *v, size_t nv)
{
    return digest(EVP_shake256(), out, outlen, 1, v, nv);
}

int ob_sha256_buf(uint8_t out[OB_SHA256_LEN], const void *p, size_t n)
{
    ob_iov v = { p, n };

    return ob_sha256(out, &v, 1);
}

int ob_sha3_256_buf(uint8_t out[OB_SHA3_256_LEN], const void *p, size_t n)
{
    ob_iov v = { p, n };

    return ob_sha3_256(out, &v, 1);
}

int ob_sha1_buf(uint8_t out[OB_SHA1_LEN], const void *p, size_t n)
{
    ob_iov v = { p, n };

    return ob_sha1(out, &v, 1);
}

int ob_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const ob_iov *v, size_t nv)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t len = 0, i;
    int rc = -1;

    if (mac == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, keylen, params) != 1)
        goto out;
    for (i = 0; i < nv; i++) {
        if (v[i].n > 0 && EVP_MAC_update(ctx, v[i].p, v[i].n) != 1)
            goto out;
    }
    if (EVP_MAC_final(ctx, out, &len, 32) != 1 || len != 32)
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

int ob_aes_ctr(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *key, size_t keylen,
               const uint8_t iv[16])
{
    const EVP_CIPHER *c = keylen == 16   ? EVP_aes_128_ctr()
                          : keylen == 32 ? EVP_aes_256_ctr()
                                         : NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    int rc = -1, len;
    size_t done = 0;

    if (c == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto out;
    if (EVP_EncryptInit_ex(ctx, c, NULL, key, iv) != 1)
        goto out;
    /* EVP lengths are int: feed large inputs in chunks. */
    while (done < n) {
        size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
        if (EVP_EncryptUpdate(ctx, out + done, &len, in + done, (int)k) != 1 || (size_t)len != k)
            goto out;
        done += k;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

void ob_random(void *p, size_t n)
{
    randombytes_buf(p, n);
}
