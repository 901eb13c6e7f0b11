/*
 * hsv3_compact.h - the compact form of a signed v3 master descriptor.
 *
 * A signed descriptor is ~28 KB for 20 intro points, mostly ciphertext.
 * Almost all of it can be rebuilt by the online side from the request it
 * sent: the intro point material comes from the backend descriptors in the
 * request, and the builder (hsv3_build.c) is deterministic given a public
 * layout seed.  What only the offline side can make are the signatures and
 * the signing key's 08 cert.  So a response may carry, instead of the
 * descriptor bytes, this entry (bundle tag 0x870B, docs/bundle-format.rst):
 *
 *   off  size
 *     0     1  version         1
 *     1     2  lifetime        minutes, 30..720, big-endian
 *     3    32  layout seed     ob_hsv3_build_in.layout_seed
 *    35     2  cert_len        1..1024
 *    37     .  cert            type-08 cert of the descriptor signing key
 *     .     1  flow_len        0 (no flow-control line) .. 63
 *     .     .  flow            the flow-control arguments, printable ASCII
 *     .    64  desc_sig        the descriptor's signature
 *     .     1  n_intros        0..20
 *     .  n*131 per intro point, in descriptor order:
 *                instance u16  index in the request service's instances
 *                intro    u8   index among that instance's intro points
 *                auth_sig 64   signature of its 09 cert
 *                enc_sig  64   signature of its 0B cert
 *
 * No trailing bytes.  Service, period and revision counter come from the
 * descriptor record around the entry.  Every byte is checked: a changed
 * byte either fails decoding or changes the rebuilt document or one of its
 * certs, so a signature fails in ob_hsv3_desc_verify.
 *
 * Only for services without client authorization: then the seed's values
 * protect nothing (hsv3_build.h).  With client authorization, or when a
 * backend descriptor cannot be read without a client key, the full bytes
 * are sent (ob_hsv3_compact_make in bundle/compact.h returns OB_ERR_UNSUPPORTED).
 */
#ifndef OB_HSV3_COMPACT_H
#define OB_HSV3_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "diag.h"
#include "hsv3_cert.h"
#include "hsv3_desc.h"

#define OB_HSV3_COMPACT_VERSION 1
#define OB_HSV3_COMPACT_MAX     (3 + 32 + 2 + OB_CERT_MAX_LEN + 1 + 64 + 64 + 1 + 20 * 131)

typedef struct ob_hsv3_compact_intro {
    uint16_t instance;
    uint8_t intro;
    uint8_t sigs[2][64]; /* [0] 09 cert, [1] 0B cert */
} ob_hsv3_compact_intro;

typedef struct ob_hsv3_compact {
    unsigned lifetime_min;
    uint8_t seed[32];
    uint8_t cert[OB_CERT_MAX_LEN];
    size_t cert_len;
    char flow_control[OB_HSV3_FLOWCTL_MAX]; /* "" = no flow-control line */
    uint8_t desc_sig[64];
    size_t n_intros;
    ob_hsv3_compact_intro intros[OB_HSV3_MAX_INTROS];
} ob_hsv3_compact;

/* Append the encoding to out.  OB_ERR_RANGE/MALFORMED for a member out of bounds. */
ob_err ob_hsv3_compact_encode(const ob_hsv3_compact *c, ob_buf *out, ob_diag *d);

/* Strict decode of an entry; errors name the byte offset. */
ob_err ob_hsv3_compact_decode(const uint8_t *p, size_t n, ob_hsv3_compact *c, ob_diag *d);
/* The same checks without keeping the result (the bundle parser). */
ob_err ob_hsv3_compact_check(const uint8_t *p, size_t n, ob_diag *d);

#endif
