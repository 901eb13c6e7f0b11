/*
 * onion.h - onion service addresses (rend-spec-v3 section 6, rend-spec-v2).
 *
 * v3: 56 base32 characters of
 *
 *     +----------------------+-------------+---------+
 *     | PUBKEY (32 bytes)    | CHECKSUM(2) | VER (1) |
 *     +----------------------+-------------+---------+
 *     CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[:2], VERSION = 0x03
 *
 * v2: 16 base32 characters of SHA1(DER PKCS#1 RSAPublicKey)[:10].
 *
 * Addresses are written lower case without ".onion"; decoders accept either
 * case and an optional ".onion" suffix, because people type them.
 */
#ifndef OB_ONION_H
#define OB_ONION_H

#include "diag.h"

#include <stddef.h>
#include <stdint.h>

#define OB_ONION_V3_LEN 56 /* chars, without ".onion" */
#define OB_ONION_V2_LEN 16

/* base32(A | checksum | 0x03), lower case; out gets 56 chars + NUL. */
void ob_onion_v3_encode(char out[OB_ONION_V3_LEN + 1], const uint8_t pk[32]);

/*
 * Decode "<56>" or "<56>.onion" (n chars, either case) into the public key.
 * Checks the length, the alphabet, the version byte and the checksum, and
 * refuses keys that are not a valid point of the prime-order subgroup (small
 * order or torsion components), as tor does: such a key can never be a
 * service identity.  Errors: OB_ERR_MALFORMED, OB_ERR_UNSUPPORTED (version),
 * OB_ERR_VERIFY (checksum or bad key).
 */
ob_err ob_onion_v3_decode(uint8_t pk[32], const char *s, size_t n, ob_diag *d);

/* v2: base32(SHA1(DER PKCS#1 RSAPublicKey)[:10]); out gets 16 chars + NUL. */
void ob_onion_v2_from_der(char out[OB_ONION_V2_LEN + 1], const uint8_t *der, size_t n);

/*
 * Normalise a user- or config-supplied address: strips ".onion", lower-cases,
 * validates (a v3 address fully, as ob_onion_v3_decode(); a v2 address as 16
 * base32 characters) and sets *version to 2 or 3.  out gets the bare address
 * and a NUL (room for 56 + 1).  s must be NUL-terminated.
 */
ob_err ob_onion_normalize(const char *s, char out[OB_ONION_V3_LEN + 1], int *version, ob_diag *d);
/* The same, and for v3 the public key the address names (pk may be NULL). */
ob_err ob_onion_normalize_key(const char *s, char out[OB_ONION_V3_LEN + 1], int *version,
                              uint8_t pk[32], ob_diag *d);

#endif
