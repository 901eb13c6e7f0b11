/*
 * hsv3_build.h - build a v3 descriptor from verified intro points.
 *
 * The caller brings the descriptor-signing key and its type-08 certificate
 * (made by whoever holds the blinded key: offline/hsv3_sign.c today, a
 * delegated signer later).  No master or blinded secret ever reaches this
 * file; the only secret it handles is the descriptor-signing key.
 *
 * The signatures made here are not verified one by one: the caller MUST
 * verify the whole result (ob_hsv3_desc_verify, strict_enc_cert) before it
 * leaves, which checks every one of them once (the offline signer does:
 * ofl_hsv3_sign_descriptor).  What is checked here instead, once per
 * descriptor, is that sign_pk is the signing key's public key, so no
 * signature is ever made under a wrong public key.
 *
 * What it writes (byte layout in hsv3_desc.h, rules in docs/v3-descriptors.rst):
 *   - each intro point's link specifiers, onion key and enc key copied
 *     verbatim, its auth key re-certified (type 09) and the ed25519 form of
 *     its enc key (sign bit 0) certified (type 0B) by the signing key, with
 *     the 08 cert's expiry;
 *   - fresh random salts for both layers, a fresh x25519 ephemeral key and 16
 *     auth-client lines (fake ones without client authorization; with it,
 *     one real line per client, padded with fake ones to a multiple of 16);
 *     or, given a public 32-byte layout seed (services without client
 *     authorization only), all of these derived from it (below);
 *   - the middle layer NUL-padded to a multiple of 10000 bytes, the inner
 *     layer unpadded; the whole document below 50000 bytes.
 */
#ifndef OB_HSV3_BUILD_H
#define OB_HSV3_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
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
    /*
     * blind(A, tp) when the caller has it (computed once per service and
     * period, or, rebuilding, the signer the 08 cert names: the result is
     * verified or compared afterwards); NULL: computed here.
     */
    const uint8_t *blinded_pk;
    const uint8_t *sign_exp; /* descriptor-signing expanded key (64), secure memory */
    const uint8_t *sign_pk;  /* its public key (32) */
    unsigned lifetime_min;   /* 0 = 180; else 30..720 */
    uint64_t revision;
    const ob_hsv3_intro *const *intros; /* 0..20 intro points (borrowed) */
    size_t n_intros;
    const char *flow_control;        /* arguments of a "flow-control" line, or NULL for none */
    const uint8_t (*client_pks)[32]; /* x25519 public keys of authorized clients, or NULL */
    size_t n_clients;

    /*
     * Deterministic layout for the compact response (hsv3_compact.h).  With
     * a seed, every value the builder would draw at random comes from
     *   SHAKE-256("onionbalance-offline hsv3 layout v1" | label | seed)
     * with the labels "outer-salt" (16), "inner-salt" (16),
     * "ephemeral-x25519" (32, the secret scalar) and "fake-auth-client"
     * (16 x 40: id 8 | iv 16 | cookie 16).  Refused with clients: then the
     * ephemeral key and the auth-client lines carry the descriptor cookie
     * and must stay secret.  Without client authorization they protect
     * nothing (anyone who knows the onion address decrypts both layers), so
     * publishing the seed tells nothing that the descriptor does not.
     */
    const uint8_t *layout_seed; /* 32, or NULL for fresh randomness */
    /*
     * Rebuild without the signing key: sign_exp NULL, and the signatures
     * come from here (per intro point: [0] of its 09 cert, [1] of its 0B
     * cert; desc_sig of the whole document).  Nothing is checked but the 08
     * cert: the caller verifies the result (ob_hsv3_desc_verify).  With
     * sign_exp and intro_sigs (desc_sig NULL), the intro point certs are
     * assembled around the given signatures and only the document is
     * signed: a further revision of a descriptor signed before
     * (hsv3_revs.h), whose certs do not depend on the counter.
     */
    const uint8_t (*intro_sigs)[2][64];
    const uint8_t *desc_sig;
    /* Optional outputs when signing: the signatures made, in the same form. */
    uint8_t (*intro_sigs_out)[2][64];
    uint8_t *desc_sig_out; /* 64 */
    /* Revisions of one descriptor built in a row (ob_hsv3_build_cache), or NULL. */
    struct ob_hsv3_build_cache *cache;
} ob_hsv3_build_in;

/*
 * What the revisions of one descriptor share.  With a layout seed only the
 * counter differs between them, and the counter only keys the two layers:
 * the inner layer's plaintext, the middle layer up to its encrypted object,
 * the salts, the blinded key and the subcredential are the same.  The first
 * build with a zeroed cache fills it (ready); each later one encrypts and
 * signs only, the floor of a revision (tests/bench/floor.c).  Its inputs
 * MUST be those of the first build but for revision, desc_sig and the
 * outputs.  A layout seed is required (the cache would otherwise fix what
 * must be fresh); nothing in it is secret (the seed is public, and clients
 * are refused with a seed).  ob_hsv3_build_cache_clear frees it.
 */
typedef struct ob_hsv3_build_cache {
    int ready;
    ob_buf inner; /* the inner layer's plaintext */
    ob_buf mid;   /* the middle layer up to and with "encrypted\n" */
    uint8_t Ab[32], subcred[32], inner_salt[OB_HSV3_SALT_LEN], outer_salt[OB_HSV3_SALT_LEN];
    unsigned lifetime;
    /* The signing key the first build checked against its public key: a
     * later build signs only with the same one (pointer and public key). */
    const uint8_t *sign_exp;
    uint8_t sign_pk[32];
} ob_hsv3_build_cache;

void ob_hsv3_build_cache_clear(ob_hsv3_build_cache *c);

#define OB_HSV3_LAYOUT_SEED_LEN 32

/*
 * Build and sign.  Checks first that the 08 cert certifies sign_pk and
 * names blind(A, tp) (ext 04) as its signer (its signature is checked with
 * the rest when the caller verifies the result), that sign_pk is sign_exp's
 * public key, and that every link specifier block is well-formed.  An intro
 * point's enc key is certified in the ed25519 form the verifier kept
 * (has_enc_key_ed), else converted here.  *out is malloc'd text (NUL-terminated, the NUL not
 * counted in *out_len); it ends in "\n" after the signature line as tor's
 * do.  OB_ERR_RANGE for a lifetime, intro count or size out of bounds,
 * OB_ERR_MALFORMED/VERIFY for a bad cert or link specifier, OB_ERR_INTERNAL
 * for a layout seed with clients or a rebuild without its signatures.
 */
ob_err ob_hsv3_build(const ob_hsv3_build_in *in, uint8_t **out, size_t *out_len, ob_diag *d);

/* The layout values of a seed (see ob_hsv3_build_in.layout_seed); 0 or -1. */
int ob_hsv3_layout_derive(uint8_t *out, size_t n, const uint8_t seed[32], const char *label);

#endif
