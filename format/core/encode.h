/*
 * encode.h - base32 (onion addresses), base64 (descriptors), hex, PEM armor.
 *
 * Decoders are strict: no whitespace, no characters outside the alphabet,
 * and the unused low bits of the last symbol must be zero, so every byte
 * string has exactly one accepted encoding.  They return 0 on success and -1
 * on any violation, and never write more than outmax bytes.
 */
#ifndef OB_ENCODE_H
#define OB_ENCODE_H

#include "buf.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

/* RFC 4648 base32, lower case, no padding (tor's onion address alphabet). */
size_t ob_base32_enc_len(size_t n);
/* Writes ob_base32_enc_len(n) chars and a NUL. */
void ob_base32_encode(char *out, const uint8_t *in, size_t n);
/* Accepts lower or upper case (addresses typed by people); no padding. */
int ob_base32_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t n);

enum ob_b64_pad {
    OB_B64_PAD = 1,   /* '=' padding required (and written) */
    OB_B64_NOPAD = 2, /* padding forbidden (and not written) */
    OB_B64_EITHER = 3 /* decoding only: accept both forms */
};
size_t ob_base64_enc_len(size_t n, int pad);
/* Writes ob_base64_enc_len(n, pad) chars and a NUL. */
void ob_base64_encode(char *out, const uint8_t *in, size_t n, int pad);
int ob_base64_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *in, size_t n,
                     int pad);
/* Upper bound of the decoded size of n base64 chars. */
size_t ob_base64_dec_max(size_t n);

/* Lower-case hex; writes 2n chars and a NUL. */
void ob_hex_encode(char *out, const uint8_t *in, size_t n);
/* Exactly 2*outlen hex chars (either case) into outlen bytes. */
int ob_hex_decode(uint8_t *out, size_t outlen, const char *in, size_t n);

/*
 * PEM armor as tor and OpenSSL write it:
 *   -----BEGIN <tag>-----\n <base64, padded, 64-char lines>\n -----END <tag>-----\n
 */
void ob_pem_encode(ob_buf *out, const char *tag, const uint8_t *p, size_t n);
/*
 * Read one PEM object with the given tag at the cursor (the BEGIN line must
 * come first) and append its decoded bytes to out.  Body lines are 1..76
 * base64 chars; the END line must end in '\n' unless it ends the input.
 * At most max decoded bytes.  Errors name the line offset.
 */
ob_err ob_pem_decode(ob_cur *c, const char *tag, size_t max, ob_buf *out, ob_diag *d);

#endif
