/*
 * qrimage.h - QR symbols as pictures: encoding with libqrencode (byte mode,
 * a fixed version), PNG files with libpng, terminal rendering with UTF-8 half
 * blocks, and reading with zbar restricted to binary QR codes.
 *
 * zbar is configured so that it cannot corrupt a binary payload: every
 * symbology but QR is disabled (otherwise it finds 1-D barcodes inside a QR
 * code and appends their text) and ZBAR_CFG_BINARY keeps the bytes as they
 * are (otherwise it guesses a text encoding and converts).  An image in which
 * nothing is found is blurred lightly and scanned once more, which rescues
 * noisy camera frames.
 */
#ifndef OB_QRIMAGE_H
#define OB_QRIMAGE_H

#include "buf.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

/* Error correction levels, as libqrencode numbers them. */
typedef enum { OB_QR_LEVEL_L = 0, OB_QR_LEVEL_M, OB_QR_LEVEL_Q, OB_QR_LEVEL_H } ob_qr_level;

#define OB_QR_DEFAULT_VERSION 20
#define OB_QR_DEFAULT_LEVEL   OB_QR_LEVEL_M
#define OB_QR_DEFAULT_SCALE   6 /* pixels per module in PNG frames */
#define OB_QR_BORDER          4 /* quiet zone, in modules, as the standard asks */
#define OB_GRAY_MAX_SIDE      8192
#define OB_PNG_MAX_FILE       (32u * 1024 * 1024)

/* A QR symbol: width x width modules, mod[y * width + x] is 1 for dark. */
typedef struct ob_qrcode {
    int width;
    int version;
    uint8_t *mod;
} ob_qrcode;

/* An 8-bit grayscale picture, 0 = black, 255 = white. */
typedef struct ob_gray {
    int w, h;
    uint8_t *px;
} ob_gray;

/* "L", "M", "Q", "H" (either case) to a level; 0 or -1. */
int ob_qrimage_parse_level(const char *s, ob_qr_level *out);

/*
 * The most bytes one symbol of this version and level carries in byte mode
 * (found by asking libqrencode, so it is what ob_qrimage_encode accepts).
 */
ob_err ob_qrimage_capacity(int version, ob_qr_level level, size_t *cap, ob_diag *d);

/* Encode bytes in byte mode at exactly this version (OB_ERR_RANGE if they do
 * not fit).  *out is owned by the caller. */
ob_err ob_qrimage_encode(const uint8_t *data, size_t len, int version, ob_qr_level level,
                         ob_qrcode **out, ob_diag *d);
void ob_qrcode_free(ob_qrcode *q);

ob_gray *ob_gray_new(int w, int h); /* white; NULL if too large or no memory */
void ob_gray_free(ob_gray *g);

/* Draw a symbol with a border of OB_QR_BORDER modules, scale pixels each. */
ob_err ob_qrimage_render(const ob_qrcode *q, int scale, ob_gray **out, ob_diag *d);

/* PNG (8-bit gray) in memory, and back (any PNG colour type; converted to gray). */
ob_err ob_qrimage_png_encode(const ob_gray *g, ob_buf *out, ob_diag *d);
ob_err ob_qrimage_png_decode(const uint8_t *p, size_t n, ob_gray **out, ob_diag *d);
/* Read a PNG file (no symlinks, at most OB_PNG_MAX_FILE bytes). */
ob_err ob_qrimage_png_read(const char *path, ob_gray **out, ob_diag *d);
/* Write a PNG file atomically; never overwrites (OB_ERR_EXISTS). */
ob_err ob_qrimage_png_write(const ob_gray *g, const char *path, ob_diag *d);

/*
 * Terminal picture: black on bright white (ANSI colours, so it reads the same
 * on dark and light terminals), quiet zone included.  wide = 0: one column
 * and half a row per module (UTF-8 half blocks); wide = 1: two columns and
 * one row per module.  Columns and rows needed are returned by
 * ob_qrimage_utf8_size.
 */
void ob_qrimage_render_utf8(const ob_qrcode *q, int wide, ob_buf *out);
void ob_qrimage_utf8_size(const ob_qrcode *q, int wide, int *cols, int *rows);

/* Called for every QR symbol found; return non-zero to stop scanning. */
typedef int (*ob_qrscan_fn)(void *ctx, const uint8_t *data, size_t len);

typedef struct ob_qrscan ob_qrscan;
ob_qrscan *ob_qrscan_new(void); /* NULL if zbar could not be set up */
void ob_qrscan_free(ob_qrscan *s);
/*
 * Find QR symbols in g and call fn for each; if none is found, blur lightly
 * and try once more.  *found (may be NULL) gets the number of symbols and
 * *retried whether the blurred retry was needed.
 */
ob_err ob_qrscan_gray(ob_qrscan *s, const ob_gray *g, ob_qrscan_fn fn, void *ctx, int *found,
                      int *retried, ob_diag *d);

/* Degradations, for tests and measurements (and the blur for the retry). */
ob_gray *ob_gray_scale(const ob_gray *g, double factor);      /* bilinear */
ob_gray *ob_gray_rotate(const ob_gray *g, double degrees);    /* about the centre, white fill */
void ob_gray_blur(ob_gray *g, int radius);                    /* box blur, in place */
void ob_gray_noise(ob_gray *g, int amplitude, uint32_t seed); /* uniform +-amplitude */

#endif
