/*
 * hsv3_cert.h - tor's Ed25519 certificates (cert-spec section 2.1; B.4).
 *
 *   offset size
 *        0    1  VERSION        0x01
 *        1    1  CERT_TYPE      0x08 desc signing / 0x09 intro auth / 0x0B intro enc
 *        2    4  EXPIRATION     hours since the epoch, big-endian
 *        6    1  CERT_KEY_TYPE  0x01 for everything tor writes
 *        7   32  CERTIFIED_KEY
 *       39    1  N_EXTENSIONS
 *       40       extensions, each: ExtLength(2) ExtType(1) ExtFlags(1) ExtData(ExtLength)
 *                  type 0x04 = signed-with-ed25519-key, ExtLength 32
 *      ...   64  SIGNATURE      Ed25519 by the signer over every preceding byte
 *
 * With the single 04 extension the cert is 140 bytes and the signed part 76.
 * In descriptors it appears as "-----BEGIN ED25519 CERT-----" PEM (base64,
 * 64-char lines); use format/core/encode.h ob_pem_encode/ob_pem_decode with the
 * tag "ED25519 CERT".
 */
#ifndef OB_HSV3_CERT_H
#define OB_HSV3_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define OB_CERT_DESC_SIGNING 0x08
#define OB_CERT_INTRO_AUTH   0x09
#define OB_CERT_INTRO_ENC    0x0B
#define OB_CERT_MAX_LEN      1024
#define OB_CERT_LEN          140 /* with exactly the 04 extension, as ob_ed_cert_create writes */
#define OB_CERT_PEM_TAG      "ED25519 CERT"

typedef struct ob_ed_cert {
    uint8_t type;
    uint32_t expiration_hours;
    uint8_t key_type;
    uint8_t certified[32];
    int has_signer; /* ext 04 present */
    uint8_t signer[32];
    uint8_t sig[64];
    size_t signed_len; /* bytes covered by sig: raw[0..signed_len) */
    uint8_t raw[OB_CERT_MAX_LEN];
    size_t raw_len;
} ob_ed_cert;

/*
 * Parse a binary cert.  Strict: version 1, every extension length in bounds,
 * a 04 extension must be 32 bytes and appear at most once, an unknown
 * extension with flag 01 (affects validation) is rejected, trailing bytes are
 * rejected, n <= OB_CERT_MAX_LEN, an expiration past year 9999 (OB_TIME_MAX)
 * is rejected (OB_ERR_RANGE).  Errors name the byte offset.
 */
ob_err ob_ed_cert_parse(ob_ed_cert *c, const uint8_t *p, size_t n, ob_diag *d);

/*
 * Verify the signature with `signer` (NULL: use the ext-04 key, which must be
 * present; non-NULL with an ext-04 key present: the two must match).  If
 * now != 0 also check expiry: expired when now >= expiration_hours*3600.
 * OB_ERR_VERIFY "bad certificate signature", OB_ERR_EXPIRED "certificate
 * expired at <UTC time>".  The signature is checked before the expiry, so a
 * forged expired cert reports the forgery.  The type and certified key are
 * not checked here: callers compare c->type and c->certified themselves.
 */
ob_err ob_ed_cert_verify(const ob_ed_cert *c, const uint8_t *signer, uint64_t now, ob_diag *d);

/*
 * Only the expiry, for a cert whose signature was verified already: OB_OK,
 * or OB_ERR_EXPIRED with the same message as ob_ed_cert_verify.
 */
ob_err ob_ed_cert_check_expiry(const ob_ed_cert *c, uint64_t now, ob_diag *d);

/*
 * Create a cert with the ext-04 signer key included, signed with the
 * signer's expanded key (and verified before returning).  out must hold
 * OB_CERT_LEN (140) bytes; *len receives the length.
 */
ob_err ob_ed_cert_create(uint8_t *out, size_t *len, uint8_t type, const uint8_t certified[32],
                         uint32_t expiration_hours, const uint8_t signer_exp[64],
                         const uint8_t signer_pub[32], ob_diag *d);

/*
 * The same without verifying the signature, for the descriptor builder,
 * which has checked that signer_pub is signer_exp's public key and whose
 * caller verifies the whole descriptor, every cert in it included, before
 * it leaves (ob_ed25519_sign_expanded_unchecked, hsv3_build.h).
 */
ob_err ob_ed_cert_create_unchecked(uint8_t *out, size_t *len, uint8_t type,
                                   const uint8_t certified[32], uint32_t expiration_hours,
                                   const uint8_t signer_exp[64], const uint8_t signer_pub[32],
                                   ob_diag *d);

/*
 * The bytes ob_ed_cert_create writes, from their parts and a signature made
 * elsewhere (a key-certification response carries only the parts the online
 * side cannot derive: bundle.h ob_keycert).  Nothing is checked: verify the
 * result with ob_ed_cert_parse and ob_ed_cert_verify.
 */
void ob_ed_cert_assemble(uint8_t out[OB_CERT_LEN], uint8_t type, const uint8_t certified[32],
                         uint32_t expiration_hours, const uint8_t signer_pub[32],
                         const uint8_t sig[64]);

/*
 * Tor's expiration field for a cert made at `now` with a lifetime:
 * ceil((now + lifetime_s) / 3600), at most the last hour of year 9999 (a
 * later one ob_ed_cert_parse refuses).
 */
uint32_t ob_ed_cert_expiry_hours(uint64_t now, uint64_t lifetime_s);

#endif
