/*
 * hsv3_blind.h - blinding the master (identity) secret key; offline only.
 *
 * The blinded expanded key for period tp is
 *     a'  = a * h mod l                     (h = ob_hsv3_blind_param(A, tp, L))
 *     RH' = SHA-512("Derive temporary signing key hash input" | RH)[:32]
 * and its public key is ob_hsv3_blind_public(A, tp, L).  This is the only
 * key that signs type-08 descriptor-signing-key certificates.
 */
#ifndef OFL_HSV3_BLIND_H
#define OFL_HSV3_BLIND_H

#include <stdint.h>

/*
 * out_exp: caller's secure memory (64 bytes).  exp: the identity expanded
 * key, A its public key.  0 or -1; every intermediate is wiped, and out_exp
 * is wiped on failure.
 */
int ofl_hsv3_blind_secret(uint8_t out_exp[64], const uint8_t exp[64], const uint8_t A[32],
                          uint64_t tp, uint64_t length_min);

/* The same for an already clamped blinding factor h (tor's raw-parameter vectors). */
int ofl_hsv3_blind_secret_with_param(uint8_t out_exp[64], const uint8_t exp[64],
                                     const uint8_t h[32]);

/*
 * The period's revision-counter key, as tor derives it for its OPE cipher
 * (hs_service.c, generate_ope_cipher_for_desc; the prefix is hashed with its
 * NUL):
 *     key = SHA3-256("rev-counter-generation\0" | blinded expanded key (64))
 * One-way: the key gives nothing of the blinded secret.  The ceremony mode
 * counts with it here; the delegated mode sends it to the online side
 * (ob_hsv3_rev_counter_from_key counts with it on either side).  0 or -1.
 */
int ofl_hsv3_rev_counter_key(uint8_t key[32], const uint8_t blinded_exp[64]);

#endif
