/*
 * hsv2_sign.h - signing v2 master descriptors with the master RSA key.
 *
 * Only ob-offline links this: the master key never reaches the online side.
 * The text to sign always comes from ob_hsv2_build_unsigned() (format/hs/hsv2.h)
 * and every signature is checked with our own verifier before the caller
 * gets the descriptor (a signature we cannot verify is never handed out).
 *
 * Signature (rend-spec-v2 1.3; tor crypto_pk_private_sign): RSA private
 * operation on 00 01 FF..FF 00 | SHA1(text through "signature\n"), i.e.
 * PKCS#1 v1.5 type 1 over the bare digest, without DigestInfo.
 */
#ifndef OFL_HSV2_SIGN_H
#define OFL_HSV2_SIGN_H

#include "buf.h"
#include "diag.h"
#include "hsv2.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Sign an unsigned descriptor (ending in "signature\n") with key (1024-bit
 * RSA private key whose public half is the descriptor's permanent-key),
 * append the SIGNATURE object and verify the result (signature, identifiers
 * for exactly (time_period, replica) and, unless now is OB_HSV2_NOW_UNCHECKED,
 * publication-time) with ob_hsv2_desc_verify_for().  out receives the
 * complete descriptor; on error nothing is appended.
 */
ob_err ofl_hsv2_sign(EVP_PKEY *key, const uint8_t *unsigned_text, size_t n, int64_t now,
                     uint32_t time_period, unsigned replica, ob_buf *out, ob_diag *d);

/* PKCS#1 RSAPublicKey DER of key's public half into der (max bytes). */
ob_err ofl_hsv2_pubkey_der(EVP_PKEY *key, uint8_t *der, size_t max, size_t *n, ob_diag *d);

/* A backend descriptor as the request carries it, checked against config. */
typedef struct ofl_hsv2_backend {
    const char *onion; /* address from the OFFLINE config (16 chars, no .onion) */
    const char *text;  /* descriptor as collected by the online side */
    size_t len;
    const uint8_t *cookie; /* 16-byte descriptor cookie from config, or NULL */
} ofl_hsv2_backend;

/* One signed master descriptor. */
typedef struct ofl_hsv2_signed {
    uint32_t time_period;
    unsigned replica;
    int hsdir_slot; /* 0..2: for the n-th responsible HSDir; -1: for all three */
    int64_t use_from, use_until;
    char *text; /* NUL-terminated descriptor */
    size_t len;
} ofl_hsv2_signed;

/*
 * The v2 ceremony in one call: verify every backend descriptor (signature,
 * identifiers, publication-time against now, address equal to the config's,
 * intro points decrypted with the config's cookie), keep the newest one per
 * backend (an older descriptor never replaces a newer one), spread their
 * intro points as OnionBalance 0.1 did (ob_hsv2_distribute), and sign master
 * descriptors for every (time period, replica[, HSDir slot]) that
 * ob_hsv2_presign_periods(now, window) lists.  A verified backend
 * descriptor without introduction points adds none (OB_ERR_NOTFOUND if no
 * backend has any).  Master descriptors are published without client auth,
 * so intro points of auth'd backends become readable by anyone who knows
 * the master address.  A backend that fails
 * verification is an error (OB_ERR_VERIFY etc.), not skipped: the offline
 * side signs nothing it was not able to check.  Free *out with
 * ofl_hsv2_signed_free(*out, *nout).
 */
ob_err ofl_hsv2_sign_master(EVP_PKEY *key, const ofl_hsv2_backend *backends, size_t nb, int64_t now,
                            int64_t window, ofl_hsv2_signed **out, size_t *nout, ob_diag *d);
void ofl_hsv2_signed_free(ofl_hsv2_signed *v, size_t n);

#endif
