/*
 * hsv3_build.h - build a v3 descriptor from verified intro points.
 *
 * The caller brings the descriptor-signing key and its type-08 certificate
 * (made by whoever holds the blinded key: offline/hsv3_sign.c today, a
 * delegated signer later).  No master or blinded secret ever reaches this
 * file; the only secret it handles is the descriptor-signing key.
 *
 * What it writes (byte layout in hsv3_desc.h, rules in docs/v3-descriptors.rst):
 *   - each intro point's link specifiers, onion key and enc key copied
 *     verbatim, its auth key re-certified (type 09) and the ed25519 form of
 *     its enc key (sign bit 0) certified (type 0B) by the signing key, with
 *     the 08 cert's expiry;
 *   - fresh random salts for both layers, a fresh x25519 ephemeral key and 16
 *     auth-client lines (fake ones without client authorization; with it,
 *     one real line per client, padded with fake ones to a multiple of 16);
 *   - the middle layer NUL-padded to a multiple of 10000 bytes, the inner
 *     layer unpadded; the whole document below 50000 bytes.
 */
#ifndef OB_HSV3_BUILD_H
#define OB_HSV3_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"

#define OB_HSV3_DEFAULT_LIFETIME 180 /* minutes, as tor */

typedef struct ob_hsv3_build_in {
    const uint8_t *identity_pk; /* A (32): the service's onion address key */
    uint64_t tp;                /* time period the descriptor is blinded for */
    const ob_tp_params *tpp;
    const uint8_t *signing_cert; /* type-08 cert of sign_pk by blind(A, tp) */
    size_t signing_cert_len;
    const uint8_t *sign_exp; /* descriptor-signing expanded key (64), secure memory */
    const uint8_t *sign_pk;  /* its public key (32) */
    unsigned lifetime_min;   /* 0 = 180; else 30..720 */
    uint64_t revision;
    const ob_hsv3_intro *const *intros; /* 0..20 intro points (borrowed) */
    size_t n_intros;
    const char *flow_control;        /* arguments of a "flow-control" line, or NULL for none */
    const uint8_t (*client_pks)[32]; /* x25519 public keys of authorized clients, or NULL */
    size_t n_clients;
} ob_hsv3_build_in;

/*
 * Build and sign.  Checks first that the 08 cert certifies sign_pk, is
 * signed by blind(A, tp) (ext 04 included) and that every link specifier
 * block is well-formed.  *out is malloc'd text (NUL-terminated, the NUL not
 * counted in *out_len); it ends in "\n" after the signature line as tor's
 * do.  OB_ERR_RANGE for a lifetime, intro count or size out of bounds,
 * OB_ERR_MALFORMED/VERIFY for a bad cert or link specifier.
 */
ob_err ob_hsv3_build(const ob_hsv3_build_in *in, uint8_t **out, size_t *out_len, ob_diag *d);

#endif
