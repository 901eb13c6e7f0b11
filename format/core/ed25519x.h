/*
 * ed25519x.h - Ed25519 with tor's 64-byte expanded secret keys.
 *
 * Tor keeps onion-service identity keys as the expanded form
 *
 *     +----------------------+----------------------+
 *     | a (32, clamped, LE)  | RH (32, nonce prefix)|
 *     +----------------------+----------------------+
 *
 * i.e. SHA-512(seed) with the first half clamped, and it has no seed.  A
 * blinded key (a', RH') only ever exists in this form, so signing must work
 * from (a, RH) directly.  libsodium only signs from seeds, so the signature
 * is composed here from its scalar and point primitives; verification is
 * plain libsodium.  No curve arithmetic is written by hand.
 *
 * All functions return 0 on success and -1 on failure (bad point, library
 * failure).  Secret intermediates are wiped on every path.
 */
#ifndef OB_ED25519X_H
#define OB_ED25519X_H

#include <stddef.h>
#include <stdint.h>

#define OB_ED25519_PUB_LEN  32
#define OB_ED25519_EXP_LEN  64
#define OB_ED25519_SIG_LEN  64
#define OB_ED25519_SEED_LEN 32

/* exp = SHA-512(seed), first half clamped.  exp should be secure memory. */
int ob_ed25519_expand_seed(uint8_t exp[64], const uint8_t seed[32]);

/* pk = a*B for the scalar a = exp[0..32] (not clamped again). */
int ob_ed25519_pub_from_expanded(uint8_t pk[32], const uint8_t exp[64]);

/*
 * Ed25519 signature from an expanded key (a | RH), as tor does:
 * r = SHA512(RH|M) mod l, R = rB, k = SHA512(R|A|M) mod l, S = r + k a.
 * pk must be the public key of exp (it is hashed, not recomputed).
 * Deterministic.  Wipes r and every other secret intermediate.  The
 * signature is verified against pk before it is returned: a pk that does not
 * belong to exp gives -1 and a zeroed sig, never a signature (two signatures
 * of one message under different pk share r and would give away a).
 */
int ob_ed25519_sign_expanded(uint8_t sig[64], const uint8_t *m, size_t mlen, const uint8_t exp[64],
                             const uint8_t pk[32]);

/*
 * The same signature without the verification, for a signer that makes
 * many signatures with one key and verifies everything it signed once, as
 * a whole, before any of it leaves (the descriptor builder: hsv3_build.h).
 * The caller must have established that pk is exp's public key
 * (ob_ed25519_pub_from_expanded, once per key), which keeps the property
 * above: no signature under a wrong pk is ever made.
 */
int ob_ed25519_sign_expanded_unchecked(uint8_t sig[64], const uint8_t *m, size_t mlen,
                                       const uint8_t exp[64], const uint8_t pk[32]);

/* 0 if sig is a valid Ed25519 signature of m by pk, -1 if not. */
int ob_ed25519_verify(const uint8_t sig[64], const uint8_t *m, size_t mlen, const uint8_t pk[32]);

/* A fresh random key: exp (caller's secure memory) and its public key. */
int ob_ed25519_keygen(uint8_t exp[64], uint8_t pk[32]);

/*
 * Montgomery u (an x25519 public key) -> Edwards y = (u-1)/(u+1) mod p,
 * little-endian, with the top bit set to signbit (0 or 1).  Tor uses sign
 * bit 0 for the 0B intro-point encryption-key certificates.  -1 when u+1 is
 * 0 mod p (no such point) or signbit is not 0/1.
 */
int ob_curve25519_to_ed25519(uint8_t ed[32], const uint8_t u[32], int signbit);

/* 0 if pk is a canonical point in the prime-order subgroup (no torsion), -1 if not. */
int ob_ed25519_pub_is_valid(const uint8_t pk[32]);

#endif
