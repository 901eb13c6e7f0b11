/*
 * hsv3_desc.h - v3 onion-service descriptors: parse, verify, decrypt.
 *
 * A descriptor has three layers (protocol digest B.5-B.8):
 *
 *   outer (plain)        hs-descriptor 3
 *                        descriptor-lifetime <min>
 *                        descriptor-signing-key-cert  + ED25519 CERT (type 08, ext 04 = A')
 *                        revision-counter <u64>
 *                        superencrypted               + MESSAGE (salt | ct | mac)
 *                        signature <86 chars>         Ed25519 by the signing key over
 *                                                     "Tor onion service descriptor sig v3" |
 *                                                     bytes up to and incl. the '\n' before it
 *   middle (ct, padded)  desc-auth-type x25519
 *                        desc-auth-ephemeral-key <b64 44>
 *                        auth-client <id> <iv> <cookie>   (16 or more)
 *                        encrypted                    + MESSAGE
 *   inner (ct)           create2-formats 2
 *                        [intro-auth-required ...] [single-onion-service] [flow-control ...]
 *                        introduction-point <b64 link specifiers>   (0..20 of these blocks)
 *                        onion-key ntor <b64 44>
 *                        auth-key                     + ED25519 CERT (type 09)
 *                        enc-key ntor <b64 44>
 *                        enc-key-cert                 + ED25519 CERT (type 0B)
 *
 * Each layer:  keys = SHAKE-256(SECRET_DATA | subcred | INT8(rev) | salt | const)[0:80]
 *              -> AES-256-CTR key(32) | iv(16) | mac key(32);
 *              mac = SHA3-256(INT8(32) | mac key | INT8(16) | salt | ct).
 *
 * The outer document is read strictly in tor's order; the two encrypted
 * layers accept what tor's tokenizer accepts (unknown keywords and their
 * objects are skipped; known ones must appear as often as tor allows).  An
 * intro point that fails any check rejects the whole descriptor: the offline
 * signer must not guess which parts of a backend's signed document to trust.
 */
#ifndef OB_HSV3_DESC_H
#define OB_HSV3_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "diag.h"
#include "hsv3_common.h"

#define OB_HSV3_DESC_MAX_LEN 50000 /* a descriptor must be shorter than this */
#define OB_HSV3_MAX_LIFETIME 720   /* minutes */
#define OB_HSV3_MIN_LIFETIME 30
#define OB_HSV3_MAX_INTROS   20
#define OB_HSV3_SALT_LEN     16
#define OB_HSV3_MAC_LEN      32
#define OB_HSV3_COOKIE_LEN   16 /* descriptor cookie (tor; the spec says 32) */
#define OB_HSV3_OUTER_PAD    10000
#define OB_HSV3_LINKSPEC_MAX 512 /* bytes of one intro point's link specifier block */
#define OB_HSV3_FLOWCTL_MAX  64

/* Why a descriptor was refused; ob_hsv3_reason_name() gives a short name. */
typedef enum ob_hsv3_reason {
    OB_HSV3_OK = 0,
    OB_HSV3_MALFORMED,        /* syntax/structure; the diagnostic names line or offset */
    OB_HSV3_TOO_LARGE,        /* >= 50000 bytes */
    OB_HSV3_UNSUPPORTED,      /* not version 3, unknown auth type, no ntor */
    OB_HSV3_BAD_CERT,         /* signing-key certificate: wrong type, no ext 04, bad signature */
    OB_HSV3_EXPIRED,          /* a certificate is past its expiry at the given time */
    OB_HSV3_WRONG_ADDRESS,    /* blinded key is not derived from this onion address */
    OB_HSV3_WRONG_PERIOD,     /* blinded for this address, but another time period */
    OB_HSV3_BAD_SIGNATURE,    /* descriptor signature does not verify */
    OB_HSV3_BAD_MAC,          /* superencrypted layer MAC mismatch */
    OB_HSV3_NEED_CLIENT_AUTH, /* inner layer MAC mismatch and no client key given */
    OB_HSV3_BAD_CLIENT_AUTH,  /* inner layer MAC mismatch with the client key given */
    OB_HSV3_BAD_INTRO,        /* an introduction point failed a check */
    OB_HSV3_TOO_MANY_INTROS,  /* more than 20 introduction points */
    OB_HSV3_ERROR             /* not the descriptor's fault: memory or crypto library failure */
} ob_hsv3_reason;

const char *ob_hsv3_reason_name(ob_hsv3_reason r);

typedef struct ob_hsv3_intro {
    uint8_t *link_spec; /* NSPEC | (LSTYPE LSLEN LSPEC)*, copied verbatim; malloc'd */
    size_t link_spec_len;
    uint8_t onion_key[32]; /* ntor onion key (curve25519) */
    uint8_t auth_key[32];  /* ed25519 key certified by the 09 cert */
    uint8_t enc_key[32];   /* ntor encryption key (curve25519) */
    uint32_t auth_cert_expiration_hours;
    uint32_t enc_cert_expiration_hours;
    int enc_cert_binds; /* the 0B cert certifies ed25519(enc_key, sign 0), as tor makes it */
    /* ed25519(enc_key, sign 0), computed once when the descriptor was
     * judged, for the builder to certify (has_enc_key_ed 0: not computed). */
    int has_enc_key_ed;
    uint8_t enc_key_ed[32];
} ob_hsv3_intro;

typedef struct ob_hsv3_desc {
    unsigned lifetime_min;
    uint64_t revision;
    uint64_t tp;               /* the time period it verified for */
    uint8_t signing_key[32];   /* certified by the 08 cert */
    uint8_t blinded_key[32];   /* A', the 08 cert's signer */
    uint8_t subcredential[32]; /* derived from the address and A' */
    uint32_t cert_expiration_hours;
    size_t n_auth_clients;   /* auth-client lines in the middle layer */
    int client_auth_used;    /* the inner layer needed a descriptor cookie */
    int create2_ntor;        /* create2-formats lists 2 (always 1 after verify) */
    int intro_auth_required; /* legacy "intro-auth-required" line present */
    int single_onion;        /* "single-onion-service" present */
    int has_flow_control;
    char flow_control[OB_HSV3_FLOWCTL_MAX]; /* the line's arguments, e.g. "1-2 31" */
    int has_pow_params;                     /* "pow-params" present (not carried over) */
    ob_hsv3_intro *intros;
    size_t n_intros;
} ob_hsv3_desc;

typedef struct ob_hsv3_verify_opts {
    uint64_t now;                         /* unix seconds; 0 = do not check expiry */
    const uint8_t *client_auth_x25519_sk; /* 32 bytes, or NULL (no client authorization) */
    ob_hsv3_reason *reason;               /* if not NULL, receives why it was refused */
    int strict_enc_cert; /* refuse an intro point whose 0B cert does not certify its enc key */
} ob_hsv3_verify_opts;

/*
 * Verify a descriptor as a backend publishes it, for the service whose
 * identity key is identity_pk, blinded for period tp (tpp gives the period
 * length).  text need not be NUL-terminated.  On success *out is a new
 * ob_hsv3_desc (free with ob_hsv3_desc_free).  Checks, in order: size,
 * outer syntax, 08 cert (type, ext 04, signature), blinded key = blind(A,
 * tp) (else WRONG_PERIOD if it matches tp-3..tp+3, else WRONG_ADDRESS),
 * descriptor signature, cert expiry at o->now, outer MAC, middle layer,
 * inner MAC (with the client key when given), inner layer, every intro
 * point (link specifiers, ntor keys, 09 and 0B certs signed by the
 * descriptor signing key, unexpired; the 0B cert certifying the enc key's
 * ed25519 form is recorded in enc_cert_binds and enforced only with
 * o->strict_enc_cert, because tor does not check it and stem's builder gets
 * it wrong), at most 20.  Errors: OB_ERR_MALFORMED/TRUNCATED/RANGE/UNSUPPORTED
 * (syntax), OB_ERR_VERIFY (signatures, MAC), OB_ERR_EXPIRED, OB_ERR_REFUSED
 * (wrong address or period), OB_ERR_NOMEM/CRYPTO.
 */
ob_err ob_hsv3_desc_verify(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                           uint64_t tp, const ob_tp_params *tpp, const ob_hsv3_verify_opts *o,
                           ob_hsv3_desc **out, ob_diag *d);

/* A candidate period and the blinded key of an identity key for it. */
typedef struct ob_hsv3_period_key {
    uint64_t tp;
    int known;           /* blinded holds blind(identity_pk, tp); 0: not computed yet */
    uint8_t blinded[32]; /* ob_hsv3_blind_public(identity_pk, tp, length) */
} ob_hsv3_period_key;

/*
 * ob_hsv3_desc_verify for a descriptor blinded for one of the periods
 * cands[0..n): the 08 cert's signer picks the period, so nothing is tried
 * and blinded twice.  The signer is compared with the candidates whose key
 * is known first; the others are blinded on demand, in the caller's order
 * (put the likeliest first), and kept in cands, so a caller that keeps
 * cands per identity key blinds each (key, period) at most once, however
 * many descriptors it verifies.  (*out)->tp is the period found.  No
 * candidate: OB_ERR_REFUSED "not blinded for this address in any of the N
 * candidate time periods" (reason WRONG_ADDRESS; with n == 1 the message
 * and reason of ob_hsv3_desc_verify).
 */
ob_err ob_hsv3_desc_verify_any(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                               ob_hsv3_period_key *cands, size_t n, const ob_tp_params *tpp,
                               const ob_hsv3_verify_opts *o, ob_hsv3_desc **out, ob_diag *d);

/*
 * ob_hsv3_desc_verify_any with one candidate, for a signer's self-check of
 * the descriptor it just built from intros[0..n_intros): every check is
 * made, and an intro point's 0B certificate is compared with the ed25519
 * form of its enc key that intros[i] carries (has_enc_key_ed, when the enc
 * keys are equal) instead of converting it again.
 */
ob_err ob_hsv3_desc_verify_own(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                               ob_hsv3_period_key *cand, const ob_tp_params *tpp,
                               const ob_hsv3_verify_opts *o, const ob_hsv3_intro *const *intros,
                               size_t n_intros, ob_hsv3_desc **out, ob_diag *d);

/*
 * Read a descriptor WITHOUT judging it: the layers are decrypted with the
 * blinded key its 08 cert names, and no signature, blinding, period or
 * expiry is checked; enc_cert_binds and has_enc_key_ed stay 0 and tp is 0.
 * Only for rebuilding a master descriptor from backend descriptors whose
 * judging is not this reader's job (the online side rebuilding a compact
 * response from its own request, compact.h): what comes out of it is
 * verified as a whole afterwards.  Never use it to decide whether to trust
 * a descriptor.  Errors as ob_hsv3_desc_verify's for the structure.
 */
ob_err ob_hsv3_desc_read(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                         ob_hsv3_desc **out, ob_diag *d);

/*
 * Which of the candidate periods tps[0..n) was the descriptor blinded for?
 * Reads the outer document and its 08 cert (signature checked, expiry not)
 * and compares the cert's signer with blind(identity_pk, tps[i]).  *which
 * gets the index.  OB_ERR_REFUSED when none matches.
 */
ob_err ob_hsv3_desc_find_tp(const uint8_t *text, size_t len, const uint8_t identity_pk[32],
                            const uint64_t *tps, size_t n, const ob_tp_params *tpp, size_t *which,
                            ob_diag *d);

void ob_hsv3_desc_free(ob_hsv3_desc *desc);
/* Free the link specifiers of an intro point array built by hand (tests). */
void ob_hsv3_intro_clear(ob_hsv3_intro *ip);

/* ---- lower layers, shared with the builder and used by tests ---- */

/* The outer document's fields (pointers into an internal copy). */
typedef struct ob_hsv3_outer {
    unsigned lifetime_min;
    uint64_t revision;
    uint8_t cert[1024];
    size_t cert_len;
    uint8_t *blob; /* superencrypted SALT | CT | MAC, malloc'd */
    size_t blob_len;
    uint8_t sig[64];
    size_t signed_len; /* bytes of text the signature covers (after the prefix) */
} ob_hsv3_outer;

/* Parse (no crypto) the outer document strictly in tor's order. */
ob_err ob_hsv3_outer_parse(const uint8_t *text, size_t len, ob_hsv3_outer *o, ob_diag *d);
void ob_hsv3_outer_clear(ob_hsv3_outer *o);

/*
 * Layer keys: SHAKE-256(secret | subcred | INT8(rev) | salt | constant)
 * split into key(32) iv(16) mac_key(32).  outer selects the constant.
 * 0 or -1.
 */
int ob_hsv3_layer_keys(uint8_t key[32], uint8_t iv[16], uint8_t mac_key[32], const uint8_t *secret,
                       size_t secret_len, const uint8_t subcred[32], uint64_t rev,
                       const uint8_t salt[16], int outer);

/*
 * Check the MAC of blob (SALT | CT | MAC), then decrypt into plain (appended;
 * use a secure buffer when the content is sensitive) and cut it at the first
 * NUL.  OB_ERR_VERIFY on MAC mismatch, OB_ERR_RANGE if blob is too short, or
 * OB_ERR_MALFORMED if the plaintext is empty.
 */
ob_err ob_hsv3_layer_decrypt(const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                             size_t secret_len, const uint8_t subcred[32], uint64_t rev, int outer,
                             ob_buf *plain, ob_diag *d);

/* Encrypt plain into out as SALT | CT | MAC with the given salt (outer: NUL-padded). */
ob_err ob_hsv3_layer_encrypt(ob_buf *out, const uint8_t *plain, size_t plain_len,
                             const uint8_t *secret, size_t secret_len, const uint8_t subcred[32],
                             uint64_t rev, const uint8_t salt[16], int outer, ob_diag *d);

/*
 * The two decrypted layers on their own (tests, fuzzing, diagnostics).
 * Middle: *n_clients auth-client lines; the inner blob is appended to
 * inner_blob.  Inner: a new ob_hsv3_desc with only the inner-layer fields
 * set; intro point certs are checked against signing_key (expiry at now,
 * unless 0).
 */
ob_err ob_hsv3_middle_parse(const uint8_t *p, size_t n, size_t *n_clients, ob_buf *inner_blob,
                            ob_diag *d);
ob_err ob_hsv3_inner_parse(const uint8_t *p, size_t n, const uint8_t signing_key[32], uint64_t now,
                           int strict_enc_cert, ob_hsv3_desc **out, ob_diag *d);

/*
 * Check the structure of a link specifier block: NSPEC >= 1, each spec
 * within bounds, known types (0 IPv4, 1 IPv6, 2 legacy id, 3 ed25519 id)
 * with their fixed lengths, no trailing bytes.  Unknown types are allowed
 * (clients pass the block through).
 */
ob_err ob_hsv3_linkspec_check(const uint8_t *p, size_t n, ob_diag *d);

/*
 * The descriptor signature of text (parsed into o) with signing key pk,
 * alone: for bytes whose content is known good otherwise (hsv3_revs.h).
 * OB_ERR_VERIFY when it does not verify.
 */
ob_err ob_hsv3_outer_check_sig(const uint8_t *text, const ob_hsv3_outer *o, const uint8_t pk[32],
                               ob_diag *d);

#endif
