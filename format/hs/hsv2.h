/*
 * hsv2.h - legacy (v2, RSA-1024) onion-service descriptors: parse, verify,
 * decode introduction points, build the unsigned text, HSDir choice and the
 * pre-signing plan.  Signing with the master key is not here: it lives in
 * offline/hsv2_sign.h, so ob-online never links master-key signing code.
 *
 * Document (rend-spec-v2 section 1.3; every line ends in one '\n'):
 *
 *   rendezvous-service-descriptor <descriptor-id, 32 base32>
 *   version 2
 *   permanent-key
 *   <PEM "RSA PUBLIC KEY", PKCS#1 DER, 1024-bit, 64-char lines>
 *   secret-id-part <32 base32>
 *   publication-time YYYY-MM-DD HH:MM:SS
 *   protocol-versions <n>[,<n>...]
 *   introduction-points                      (optional)
 *   <PEM "MESSAGE">
 *   signature                                <- signed bytes end here
 *   <PEM "SIGNATURE", 128 bytes>
 *
 *   permanent-id   = SHA1(DER(permanent-key))[:10]
 *   secret-id-part = SHA1(INT4(time-period) | [cookie, stealth only] | INT1(replica))
 *   descriptor-id  = SHA1(permanent-id | secret-id-part)
 *   time-period    = (t + permanent-id[0] * 86400 / 256) / 86400
 *   signature      = RSA private op on 00 01 FF..FF 00 | SHA1(signed bytes)
 *                    (PKCS#1 v1.5 type 1 over the bare digest, no DigestInfo)
 *
 * Introduction-points plaintext, per point (at most 10 per descriptor):
 *
 *   introduction-point <32 base32 of the relay identity digest>
 *   ip-address <dotted IPv4>
 *   onion-port <port>
 *   onion-key
 *   <PEM "RSA PUBLIC KEY">
 *   service-key
 *   <PEM "RSA PUBLIC KEY">
 *
 * then one more '\n'.  Basic auth wraps it as 0x01 | N | N*16 entries of
 * CLIENT_ID(4) | AES-CTR(cookie, 0-IV)(session key)(16) | IV(16) | AES-CTR;
 * stealth as 0x02 | IV(16) | AES-CTR(cookie, IV) with the last byte dropped
 * (a tor quirk we tolerate).  See docs/v2.rst.
 *
 * Parsing is strict: tor's exact line order, canonical PEM (64-char lines,
 * the same bytes our encoder writes), canonical DER keys, no trailing bytes.
 */
#ifndef OB_HSV2_H
#define OB_HSV2_H

#include "buf.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

#define OB_HSV2_DESC_MAX       20480 /* tor REND_DESC_MAX_SIZE */
#define OB_HSV2_KEY_DER_MAX    300   /* PKCS#1 DER of a 1024-bit key, any e <= n */
#define OB_HSV2_SIG_LEN        128
#define OB_HSV2_MAX_INTROS     10 /* tor MAX_INTRO_POINTS (rendcache.h) */
#define OB_HSV2_REPLICAS       2  /* REND_NUMBER_OF_NON_CONSECUTIVE_REPLICAS */
#define OB_HSV2_HSDIRS_PER_REP 3  /* REND_NUMBER_OF_CONSECUTIVE_REPLICAS */
/* OnionBalance 0.1 distinct descriptors: 2 replicas x 3 HSDirs x 10. */
#define OB_HSV2_MAX_TOTAL_INTROS (OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP * OB_HSV2_MAX_INTROS)
#define OB_HSV2_PERIOD           86400
#define OB_HSV2_MAX_AGE          (2 * 86400) /* REND_CACHE_MAX_AGE */
#define OB_HSV2_MAX_SKEW         86400       /* REND_CACHE_MAX_SKEW */
#define OB_HSV2_OVERLAP          3600        /* REND_TIME_PERIOD_OVERLAPPING_V2_DESCS */
/*
 * Longest pre-signing window: descriptors carry the ceremony's hour as
 * publication-time and HSDirs (and clients) drop them REND_CACHE_MAX_AGE +
 * REND_CACHE_MAX_SKEW after it; the hour rounding can take up to 3600 s of
 * that.  docs/v2.rst derives it.
 */
#define OB_HSV2_PRESIGN_MAX_WINDOW (OB_HSV2_MAX_AGE + OB_HSV2_MAX_SKEW - 3600)

/* "now" value that skips the publication-time window (test vectors). */
#define OB_HSV2_NOW_UNCHECKED ((int64_t)-1)

typedef enum {
    OB_HSV2_AUTH_UNKNOWN = 0, /* no introduction-points block */
    OB_HSV2_AUTH_NONE = 1,
    OB_HSV2_AUTH_BASIC = 2,
    OB_HSV2_AUTH_STEALTH = 3
} ob_hsv2_auth;

typedef struct ob_hsv2_desc {
    uint8_t desc_id[20];
    uint8_t perm_key[OB_HSV2_KEY_DER_MAX]; /* PKCS#1 RSAPublicKey DER */
    size_t perm_key_len;
    uint8_t permanent_id[10];
    char onion[17]; /* base32(permanent_id), no ".onion" */
    uint8_t secret_id_part[20];
    int64_t published;          /* publication-time, Unix seconds */
    uint32_t protocol_versions; /* bit n set for version n */
    uint8_t *intro_blob;        /* decoded MESSAGE object, NULL if absent */
    size_t intro_blob_len;
    ob_hsv2_auth auth; /* from the blob's first byte */
    uint8_t sig[OB_HSV2_SIG_LEN];
    uint8_t *text; /* the whole document (owned copy) */
    size_t text_len;
    size_t signed_len; /* bytes covered by the signature */
    /* Set by ob_hsv2_desc_verify(). */
    int verified;
    uint32_t time_period;
    unsigned replica;
} ob_hsv2_desc;

typedef struct ob_hsv2_intro {
    uint8_t id[20]; /* relay RSA identity digest */
    uint8_t ip[4];
    uint16_t port;
    uint8_t onion_key[OB_HSV2_KEY_DER_MAX];
    size_t onion_key_len;
    uint8_t service_key[OB_HSV2_KEY_DER_MAX];
    size_t service_key_len;
} ob_hsv2_intro;

/*
 * Parse one descriptor (the whole of text, nothing before or after it; strip
 * a CollecTor "@type" annotation first).  Checks syntax, field order, key
 * sizes and descriptor-id = SHA1(permanent-id | secret-id-part), but not the
 * signature or time: call ob_hsv2_desc_verify().  *out is freed with
 * ob_hsv2_desc_free().
 */
ob_err ob_hsv2_desc_parse(const char *text, size_t len, ob_hsv2_desc **out, ob_diag *d);
void ob_hsv2_desc_free(ob_hsv2_desc *desc);

/*
 * Verify a parsed descriptor: the RSA signature exactly as tor makes it (a
 * DigestInfo-wrapped signature is rejected), secret-id-part against the time
 * period of the publication-time (or the next one or two, as tor uploads the
 * next period's descriptor during the last hour) and replica 0 or 1 (with
 * cookie hashed in for stealth; cookie is 16 bytes or NULL), and, unless now
 * is OB_HSV2_NOW_UNCHECKED, publication-time within [now - 3 days,
 * now + 1 day] as HSDirs require.  On success sets desc->verified,
 * time_period and replica.  Errors: OB_ERR_VERIFY, OB_ERR_EXPIRED.
 */
ob_err ob_hsv2_desc_verify(ob_hsv2_desc *desc, int64_t now, const uint8_t *cookie, ob_diag *d);

/*
 * The same checks, but secret-id-part must be exactly that of (time_period,
 * replica): for pre-signed master descriptors, whose period may lie days
 * after their publication-time (HSDirs and clients do not relate the two;
 * they check descriptor-id and the publication-time window only).
 */
ob_err ob_hsv2_desc_verify_for(ob_hsv2_desc *desc, int64_t now, const uint8_t *cookie,
                               uint32_t time_period, unsigned replica, ob_diag *d);

/*
 * OnionBalance 0.1's replay rule: may `incoming` replace `stored` (same
 * service)?  1 if incoming's publication-time is not older, 0 if it is
 * (an older descriptor never replaces a newer one).
 */
int ob_hsv2_desc_is_newer_or_same(const ob_hsv2_desc *incoming, const ob_hsv2_desc *stored);

/*
 * Parse a descriptor cookie as users write it: the 22-char form of
 * HidServAuth (base64 of cookie | (auth_type-1) << 4, "A=" dropped), which
 * sets *auth to BASIC or STEALTH, or the plain padded 24-char base64 of the
 * 16 bytes (*auth = UNKNOWN).  cookie should be secure memory.
 */
ob_err ob_hsv2_cookie_parse(const char *s, size_t n, uint8_t cookie[16], ob_hsv2_auth *auth,
                            ob_diag *d);

/*
 * Decode (no auth) or decrypt (basic/stealth, cookie = 16 bytes) the
 * introduction-points block into out (use a secure ob_buf for authorised
 * services).  A wrong cookie gives OB_ERR_VERIFY.
 */
ob_err ob_hsv2_intro_plaintext(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_buf *out,
                               ob_diag *d);

/* Parse an introduction-points plaintext; *intros is free()d by the caller. */
ob_err ob_hsv2_intro_parse(const uint8_t *p, size_t n, ob_hsv2_intro **intros, size_t *nintros,
                           ob_diag *d);

/* ob_hsv2_intro_plaintext() then ob_hsv2_intro_parse(). */
ob_err ob_hsv2_intro_decode(const ob_hsv2_desc *desc, const uint8_t *cookie, ob_hsv2_intro **intros,
                            size_t *nintros, ob_diag *d);

/*
 * Encrypt an intro-point plaintext as tor does (rend-spec-v2 2.1, 2.2):
 * basic auth for 1..512 cookies (random session key and IV, fake entries
 * up to a multiple of 16, entries sorted), or stealth for exactly one
 * cookie (with tor's dropped last byte).  Appends the MESSAGE payload.
 */
ob_err ob_hsv2_intro_encrypt(ob_buf *out, ob_hsv2_auth auth, const uint8_t (*cookies)[16],
                             size_t ncookies, const uint8_t *plain, size_t n, ob_diag *d);

/* Append the plaintext for n intro points (with the final extra '\n'). */
void ob_hsv2_intro_encode(ob_buf *out, const ob_hsv2_intro *intros, size_t n);

/* Identifiers. */
uint32_t ob_hsv2_time_period(int64_t t, const uint8_t permanent_id[10]);
/* Unix time at which time period tp starts for this service. */
int64_t ob_hsv2_period_start(uint32_t tp, const uint8_t permanent_id[10]);
int ob_hsv2_secret_id_part(uint8_t out[20], uint32_t tp, const uint8_t *cookie, unsigned replica);
int ob_hsv2_desc_id(uint8_t out[20], const uint8_t permanent_id[10], const uint8_t sid[20]);
/* permanent-id from a PKCS#1 DER key; 0 or -1. */
int ob_hsv2_permanent_id(uint8_t out[10], const uint8_t *der, size_t n);

/* What ob_hsv2_build_unsigned() writes. */
typedef struct ob_hsv2_build {
    const uint8_t *perm_key; /* PKCS#1 DER of the master key */
    size_t perm_key_len;
    uint32_t time_period;
    unsigned replica;
    int64_t published;          /* rounded down to the hour by the builder */
    const uint8_t *intro_plain; /* NULL: no introduction-points line */
    size_t intro_plain_len;
    /*
     * Client auth for the intro points (zero: none, as master descriptors
     * are published).  BASIC: encrypted for every cookie; STEALTH: exactly
     * one cookie, also hashed into secret-id-part (and perm_key is then the
     * per-client key).  Used to make auth'd backend descriptors in tests.
     */
    ob_hsv2_auth auth;
    const uint8_t (*cookies)[16];
    size_t ncookies;
} ob_hsv2_build;

/*
 * Write the unsigned descriptor, up to and including "signature\n", into out.
 */
ob_err ob_hsv2_build_unsigned(ob_buf *out, const ob_hsv2_build *b, ob_diag *d);

/*
 * Spread the intro points of ninst instances (inst[i] has counts[i] points)
 * over master descriptors as OnionBalance 0.1 did: points are taken round-
 * robin across instances (at most OB_HSV2_MAX_TOTAL_INTROS in all).  With
 * at most 10, every descriptor carries all of them and *distinct = 0; with
 * more, each of the 2x3 (replica, HSDir slot) descriptors gets its own 10
 * consecutive points of the round-robin order (wrapping) and *distinct = 1.
 * sel[slot][k] receive pointers into inst; nsel[slot] their counts; slot =
 * replica * 3 + hsdir index.
 */
ob_err ob_hsv2_distribute(
    const ob_hsv2_intro *const *inst, const size_t *counts, size_t ninst,
    const ob_hsv2_intro *sel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP][OB_HSV2_MAX_INTROS],
    size_t nsel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP], int *distinct, ob_diag *d);

/* One descriptor to pre-sign. */
typedef struct ob_hsv2_slot {
    uint32_t time_period;
    unsigned replica;
    int64_t published;
    int64_t use_from;  /* first second the online side should publish it */
    int64_t use_until; /* first second it is no longer needed */
} ob_hsv2_slot;

/*
 * Which descriptors a ceremony at `now` signs to cover [now, now + window]:
 * every time period whose upload interval [start - 1 h, start + 1 day)
 * meets the window, both replicas, publication-time = now rounded down to
 * the hour.  window must be 0..OB_HSV2_PRESIGN_MAX_WINDOW (OB_ERR_RANGE).
 * Writes at most max slots (OB_ERR_RANGE if more are needed).
 */
ob_err ob_hsv2_presign_periods(int64_t now, const uint8_t permanent_id[10], int64_t window,
                               ob_hsv2_slot *out, size_t max, size_t *n, ob_diag *d);

/*
 * HSDirs responsible for desc_id (rend-spec-v2 1.4): sort the n relays by
 * identity digest, take the first with digest >= desc_id, then it and the
 * following relays (wrapping) that carry the HSDir flag, up to 3.  out[]
 * gets indices into fingerprints; returns how many (0..3) in *nout.
 * Duplicate fingerprints are OB_ERR_MALFORMED.
 */
ob_err ob_hsv2_responsible_hsdirs(const uint8_t desc_id[20], const uint8_t (*fingerprints)[20],
                                  const int *hsdir_flags, size_t n, size_t out[3], size_t *nout,
                                  ob_diag *d);

/* "YYYY-MM-DD HH:MM:SS" (19 chars + NUL) for t. */
void ob_hsv2_format_time(char out[20], int64_t t);

#endif
