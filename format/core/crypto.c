/* crypto.c - OpenSSL EVP digests, HMAC, AES-CTR; libsodium randomness. */
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sodium.h>

/*
 * The algorithms fetched once per process.  EVP_sha3_256() and friends are
 * looked up in OpenSSL's provider store again on every EVP_DigestInit_ex,
 * under a lock every thread shares; a descriptor takes hundreds of hashes.
 * NULL (a failed fetch) falls back to the implicit lookup.
 */
enum { MD_SHA1, MD_SHA256, MD_SHA3_256, MD_SHA512, MD_SHAKE256, MD_N };
static EVP_MD *md_fetched[MD_N];
static EVP_CIPHER *aes_fetched[2]; /* 128, 256 CTR */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    static const char *const names[MD_N] = { "SHA1", "SHA256", "SHA3-256", "SHA512", "SHAKE256" };
    int i;

    for (i = 0; i < MD_N; i++)
        md_fetched[i] = EVP_MD_fetch(NULL, names[i], NULL);
    aes_fetched[0] = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    aes_fetched[1] = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
}

static const EVP_MD *md(int which, const EVP_MD *fallback)
{
    pthread_once(&fetch_once, fetch_all);
    return md_fetched[which] != NULL ? md_fetched[which] : fallback;
}

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
    return digest(md(MD_SHA1, EVP_sha1()), out, OB_SHA1_LEN, 0, v, nv);
}

int ob_sha256(uint8_t out[OB_SHA256_LEN], const ob_iov *v, size_t nv)
{
    return digest(md(MD_SHA256, EVP_sha256()), out, OB_SHA256_LEN, 0, v, nv);
}

int ob_sha3_256(uint8_t out[OB_SHA3_256_LEN], const ob_iov *v, size_t nv)
{
    return digest(md(MD_SHA3_256, EVP_sha3_256()), out, OB_SHA3_256_LEN, 0, v, nv);
}

int ob_sha512(uint8_t out[OB_SHA512_LEN], const ob_iov *v, size_t nv)
{
    return digest(md(MD_SHA512, EVP_sha512()), out, OB_SHA512_LEN, 0, v, nv);
}

int ob_shake256(uint8_t *out, size_t outlen, const ob_iov *v, size_t nv)
{
    return digest(md(MD_SHAKE256, EVP_shake256()), out, outlen, 1, v, nv);
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
    const EVP_CIPHER *c = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    int rc = -1, len;
    size_t done = 0;

    pthread_once(&fetch_once, fetch_all);
    if (keylen == 16)
        c = aes_fetched[0] != NULL ? aes_fetched[0] : EVP_aes_128_ctr();
    else if (keylen == 32)
        c = aes_fetched[1] != NULL ? aes_fetched[1] : EVP_aes_256_ctr();
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
