/*
 * qrframe.h - splitting a bundle into QR frames and putting it back together.
 *
 * The bundle is treated as opaque bytes.  It is wrapped in a small transport
 * stream (flags, length, SHA-256), the stream is cut into n equal fragments
 * and each fragment travels in one frame.  docs/qr-transfer.rst is the
 * specification; the layouts, for reference:
 *
 *   transport stream                     frame (one QR symbol, byte mode)
 *   off  len  field                      off  len  field
 *   0    1    flags (bit 0: zlib)        0    2    magic "OQ"
 *   1    4    bundle length (BE)         2    1    format version (1)
 *   5    32   SHA-256(bundle)            3    1    frame type (1 part, 2 fountain)
 *   37   ...  bundle, or zlib(bundle)    4    8    message id (below)
 *                                        12   4    sequence number
 *                                        16   2    fragment count n
 *                                        18   4    stream length L
 *                                        22   F    fragment data, F = ceil(L / n)
 *                                        22+F 4    CRC-32 of bytes 0 .. 22+F-1
 *
 * Type 1 (part): sequence number i < n, the data is fragment i (the last one
 * zero padded).  Type 2 (fountain): any sequence number; the data is the XOR
 * of the fragments in a set derived from (message id, n, L, seq) by a fixed
 * pseudo-random rule (docs/qr-transfer.rst), as in BC-UR.  A sender shows
 * parts 0..n-1 and then an endless run of fountain frames, so a receiver that
 * missed some parts completes from whatever frames come next instead of
 * waiting for the loop to come round.
 *
 * The message id names the transfer on both screens.  A bundle ends with
 * its own digest (SHA-256 of every byte before it, docs/bundle-format.rst),
 * which inspect, collect and sign print as "bdf7d661 d68b1f59": for any
 * payload that ends so, the id is the first 8 bytes of that digest, so the
 * QR screens show the same name.  For any other payload it is the first 8
 * bytes of SHA-256(payload).  The stream's SHA-256 is the integrity check
 * either way.
 */
#ifndef OB_QRFRAME_H
#define OB_QRFRAME_H

#include "diag.h"

#include <stddef.h>
#include <stdint.h>

#define OB_QR_MAGIC0        'O'
#define OB_QR_MAGIC1        'Q'
#define OB_QR_VERSION       1
#define OB_QR_TYPE_PART     1
#define OB_QR_TYPE_FOUNTAIN 2
#define OB_QR_HEADER_LEN    22
#define OB_QR_CRC_LEN       4
#define OB_QR_OVERHEAD      (OB_QR_HEADER_LEN + OB_QR_CRC_LEN)
#define OB_QR_STREAM_HDR    37
#define OB_QR_FLAG_ZLIB     0x01
#define OB_QR_MSGID_LEN     8
#define OB_QR_MAX_BUNDLE    (8u * 1024 * 1024)
#define OB_QR_MAX_PARTS     65535u
#define OB_QR_MIN_FRAME     (OB_QR_OVERHEAD + 1)
/* Receivers solve fountain frames for up to this many missing parts; a
 * sender with more parts shows the plain parts in a loop instead. */
#define OB_QR_FOUNTAIN_MAX 512

/* A bundle cut into frames.  frame[i] (i < n) is part i; all frames, parts
 * and fountain frames, are frame_len bytes. */
typedef struct ob_qr_frames {
    size_t n;
    size_t frame_len;
    uint8_t **frame;
    uint8_t *stream;                /* n * (frame_len - OB_QR_OVERHEAD) bytes, zero padded */
    uint8_t digest[32];             /* SHA-256 of the bundle */
    uint8_t msgid[OB_QR_MSGID_LEN]; /* its message id (above) */
    int self_digest;                /* the id is the bundle's own digest */
    size_t bundle_len;
    size_t stream_len;
    int compressed; /* the stream carries zlib(bundle) */
} ob_qr_frames;

/*
 * Split a bundle into frames of at most max_frame bytes each (the byte-mode
 * capacity of the chosen QR version and level).  zlib is used only when it
 * makes the stream shorter.  The fragments are balanced: n is the least count
 * that fits and F = ceil(L / n).  *out is owned by the caller.
 */
ob_err ob_qr_split(const uint8_t *bundle, size_t len, size_t max_frame, ob_qr_frames **out,
                   ob_diag *d);
void ob_qr_frames_free(ob_qr_frames *f);

/*
 * The frame with sequence number seq of the endless sender sequence: part seq
 * for seq < n, else fountain frame seq.  out must hold f->frame_len bytes.
 */
ob_err ob_qr_frame_at(const ob_qr_frames *f, uint32_t seq, uint8_t *out, ob_diag *d);

/* The sequence number to show as the k-th frame (k = 0, 1, ...): k itself,
 * or k mod n when there are more than OB_QR_FOUNTAIN_MAX parts. */
uint32_t ob_qr_sender_seq(const ob_qr_frames *f, uint64_t k);

/*
 * Check one frame (magic, version, CRC, header rules) without an assembler
 * and copy out its message id, so a reader can sort frames of several
 * messages before offering them.  Same errors as ob_qr_assembler_add_frame.
 */
ob_err ob_qr_frame_msgid(const uint8_t *frame, size_t len, uint8_t msgid[OB_QR_MSGID_LEN],
                         ob_diag *d);

/*
 * Parse a message id as people type it: the 16 hex digits ob_qr_short_digest
 * prints ("bdf7d661 d68b1f59", spaces optional anywhere) or a whole digest
 * in hex (64 digits: a bundle's digest as collect and sign print it, or
 * sha256sum's for another file; its first 8 bytes are the id).
 * Returns 0, or -1 when text is neither.
 */
int ob_qr_parse_msgid(const char *text, uint8_t msgid[OB_QR_MSGID_LEN]);

/* What one frame did to an assembler. */
typedef enum {
    OB_QR_ADD_NEW,       /* one or more parts not seen before */
    OB_QR_ADD_HELD,      /* a fountain frame kept until more parts are known */
    OB_QR_ADD_DUPLICATE, /* nothing new (a part already held, or a fountain
                            frame of parts all known) */
    OB_QR_ADD_FOREIGN    /* a valid frame of another message (or another
                            encoding of it): ignored, nothing mixed in */
} ob_qr_add_result;

typedef struct ob_qr_assembler ob_qr_assembler;

ob_qr_assembler *ob_qr_assembler_new(void);
void ob_qr_assembler_free(ob_qr_assembler *a);

/*
 * Offer one decoded QR payload.  The first valid frame fixes the message
 * (id, n, L); later frames of other messages are reported as
 * OB_QR_ADD_FOREIGN.  One assembler reads one message: a reader that may see
 * several (pictures of two transfers in one folder) keeps one assembler per
 * message id, see qr_cmd.c.  Errors: OB_ERR_VERIFY (CRC mismatch, or a part that
 * differs from an earlier copy), OB_ERR_MALFORMED / OB_ERR_TRUNCATED /
 * OB_ERR_RANGE (header), OB_ERR_UNSUPPORTED (version or frame type).  A
 * frame that fails changes nothing.
 */
ob_err ob_qr_assembler_add_frame(ob_qr_assembler *a, const uint8_t *frame, size_t len,
                                 ob_qr_add_result *res, ob_diag *d);

/*
 * "14/19, missing 3 7 12" (parts numbered from 1 for people; at most 24
 * missing parts are listed, then "... and N more"), or "0/?, no frame yet".  The string
 * lives in the assembler until the next call.
 */
const char *ob_qr_assembler_progress(ob_qr_assembler *a);
size_t ob_qr_assembler_have(const ob_qr_assembler *a);
size_t ob_qr_assembler_count(const ob_qr_assembler *a); /* 0 before the first frame */
int ob_qr_assembler_is_complete(const ob_qr_assembler *a);
/* The message id of the locked message (NULL before the first frame). */
const uint8_t *ob_qr_assembler_msgid(const ob_qr_assembler *a);

/*
 * Reassemble, decompress and check the bundle against the SHA-256 carried in
 * the stream (and the message id).  Only on OB_OK is *out (malloc()ed, owned
 * by the caller) set.  OB_ERR_TRUNCATED when parts are missing (the message
 * names them), OB_ERR_VERIFY when the digest does not match.
 */
ob_err ob_qr_assembler_take(ob_qr_assembler *a, uint8_t **out, size_t *len, ob_diag *d);

/*
 * The message id of payload p (n bytes), as split() gives it (see the top);
 * returns 1 when it is the payload's own trailing digest (a bundle), else 0.
 */
int ob_qr_message_id(const uint8_t *p, size_t n, uint8_t id[OB_QR_MSGID_LEN]);

/* "bdf7d661 d68b1f59": a message id as people compare it on two screens,
 * written as ob_bundle_digest_short writes a bundle's.  out: 20 bytes. */
void ob_qr_short_digest(const uint8_t id[OB_QR_MSGID_LEN], char out[20]);

#endif
