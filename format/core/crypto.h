/*
 * crypto.h - thin wrappers over OpenSSL 3 EVP and libsodium.
 *
 * Every hash takes a list of parts (ob_iov) because the protocol hashes
 * concatenations everywhere; no caller has to build the concatenation in a
 * temporary buffer (which, for secrets, would be one more copy to wipe).
 * All functions return 0 on success and -1 if the library failed.
 */
#ifndef OB_CRYPTO_H
#define OB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

typedef struct ob_iov {
    const void *p;
    size_t n;
} ob_iov;

#define OB_SHA1_LEN     20
#define OB_SHA256_LEN   32
#define OB_SHA3_256_LEN 32
#define OB_SHA512_LEN   64

int ob_sha1(uint8_t out[OB_SHA1_LEN], const ob_iov *v, size_t nv);
int ob_sha256(uint8_t out[OB_SHA256_LEN], const ob_iov *v, size_t nv);
int ob_sha3_256(uint8_t out[OB_SHA3_256_LEN], const ob_iov *v, size_t nv);
int ob_sha512(uint8_t out[OB_SHA512_LEN], const ob_iov *v, size_t nv);
/* SHAKE-256 squeezed to outlen bytes. */
int ob_shake256(uint8_t *out, size_t outlen, const ob_iov *v, size_t nv);
/* One-part conveniences. */
int ob_sha256_buf(uint8_t out[OB_SHA256_LEN], const void *p, size_t n);
int ob_sha3_256_buf(uint8_t out[OB_SHA3_256_LEN], const void *p, size_t n);
int ob_sha1_buf(uint8_t out[OB_SHA1_LEN], const void *p, size_t n);

int ob_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const ob_iov *v, size_t nv);

/*
 * AES-CTR with a 16-byte big-endian counter block (OpenSSL's CTR mode, which
 * is what tor uses).  keylen is 16 or 32.  out may equal in.
 */
int ob_aes_ctr(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *key, size_t keylen,
               const uint8_t iv[16]);

/* Cryptographically secure random bytes (libsodium). */
void ob_random(void *p, size_t n);

#endif
