/*
 * qrimage.c - QR symbols as pictures (see qrimage.h).
 */
#include "qrimage.h"

#include "fileio.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

struct ob_qrscan {
    zbar_image_scanner_t *scanner;
};

int ob_qrimage_parse_level(const char *s, ob_qr_level *out)
{
    static const char names[] = "LMQH";
    size_t i;

    if (s == NULL || s[0] == '\0' || s[1] != '\0')
        return -1;
    for (i = 0; i < 4; i++) {
        if (s[0] == names[i] || s[0] == names[i] + ('a' - 'A')) {
            *out = (ob_qr_level)i;
            return 0;
        }
    }
    return -1;
}

static QRecLevel to_qr_level(ob_qr_level l)
{
    switch (l) {
    case OB_QR_LEVEL_L:
        return QR_ECLEVEL_L;
    case OB_QR_LEVEL_Q:
        return QR_ECLEVEL_Q;
    case OB_QR_LEVEL_H:
        return QR_ECLEVEL_H;
    case OB_QR_LEVEL_M:
    default:
        return QR_ECLEVEL_M;
    }
}

/* Does a len-byte payload fit in one symbol of exactly this version? */
static int fits(const uint8_t *scratch, size_t len, int version, ob_qr_level level)
{
    QRcode *q = QRcode_encodeData((int)len, scratch, version, to_qr_level(level));
    int ok = q != NULL && q->version == version;

    QRcode_free(q);
    return ok;
}

/* Capacities found so far, [version - 1][level]; 0 = not yet. */
static _Atomic size_t cap_known[40][4];

/*
 * The byte-mode capacities of ISO/IEC 18004 (L, M, Q, H), as a first guess
 * that two encodings confirm (it fits, one byte more does not); a search
 * costs a dozen, and sign asks on every run.  A wrong entry only costs the
 * search.
 */
static const uint16_t cap_table[40][4] = {
    { 17, 14, 11, 7 },          { 32, 26, 20, 14 },         { 53, 42, 32, 24 },
    { 78, 62, 46, 34 },         { 106, 84, 60, 44 },        { 134, 106, 74, 58 },
    { 154, 122, 86, 64 },       { 192, 152, 108, 84 },      { 230, 180, 130, 98 },
    { 271, 213, 151, 119 },     { 321, 251, 177, 137 },     { 367, 287, 203, 155 },
    { 425, 331, 241, 177 },     { 458, 362, 258, 194 },     { 520, 412, 292, 220 },
    { 586, 450, 322, 250 },     { 644, 504, 364, 280 },     { 718, 560, 394, 310 },
    { 792, 624, 442, 338 },     { 858, 666, 482, 382 },     { 929, 711, 509, 403 },
    { 1003, 779, 565, 439 },    { 1091, 857, 611, 461 },    { 1171, 911, 661, 511 },
    { 1273, 997, 715, 535 },    { 1367, 1059, 751, 593 },   { 1465, 1125, 805, 625 },
    { 1528, 1190, 868, 658 },   { 1628, 1264, 908, 698 },   { 1732, 1370, 982, 742 },
    { 1840, 1452, 1030, 790 },  { 1952, 1538, 1112, 842 },  { 2068, 1628, 1168, 898 },
    { 2188, 1722, 1228, 958 },  { 2303, 1809, 1283, 983 },  { 2431, 1911, 1351, 1051 },
    { 2563, 1989, 1423, 1093 }, { 2699, 2099, 1499, 1139 }, { 2809, 2213, 1579, 1219 },
    { 2953, 2331, 1663, 1273 },
};

ob_err ob_qrimage_capacity(int version, ob_qr_level level, size_t *cap, ob_diag *d)
{
    /* Version 40-L carries 2953 bytes; nothing carries more. */
    enum { MAXCAP = 2953 };
    uint8_t *scratch = NULL;
    size_t lo = 0, hi = MAXCAP + 1;
    ob_err e = OB_OK;

    *cap = 0;
    if (version < 1 || version > 40)
        return ob_fail(d, OB_ERR_RANGE, "QR version %d is outside 1..40", version);
    if ((unsigned)level < 4 && (*cap = atomic_load(&cap_known[version - 1][level])) != 0)
        return OB_OK;
    scratch = calloc(MAXCAP + 1, 1);
    if (scratch == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if ((unsigned)level < 4) {
        size_t guess = cap_table[version - 1][level];
        if (fits(scratch, guess, version, level) &&
            (guess == MAXCAP || !fits(scratch, guess + 1, version, level)))
            lo = hi = guess;
    }
    /* Invariant: lo fits (0 trivially), hi does not. */
    while (hi > lo && hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (fits(scratch, mid, version, level))
            lo = mid;
        else
            hi = mid;
    }
    if (lo == 0)
        e = ob_fail(d, OB_ERR_INTERNAL, "libqrencode encodes nothing at version %d", version);
    else if ((unsigned)level < 4)
        atomic_store(&cap_known[version - 1][level], lo);
    *cap = lo;
    free(scratch);
    return e;
}

void ob_qrcode_free(ob_qrcode *q)
{
    if (q == NULL)
        return;
    free(q->mod);
    free(q);
}

ob_err ob_qrimage_encode(const uint8_t *data, size_t len, int version, ob_qr_level level,
                         ob_qrcode **out, ob_diag *d)
{
    QRcode *qr = NULL;
    ob_qrcode *q = NULL;
    size_t i, nmod;
    ob_err e = OB_OK;

    *out = NULL;
    if (version < 1 || version > 40)
        return ob_fail(d, OB_ERR_RANGE, "QR version %d is outside 1..40", version);
    if (len == 0 || len > 2953)
        return ob_fail(d, OB_ERR_RANGE, "%zu bytes cannot be one QR symbol", len);
    errno = 0;
    qr = QRcode_encodeData((int)len, data, version, to_qr_level(level));
    if (qr == NULL) {
        e = ob_fail(d, errno == ENOMEM ? OB_ERR_NOMEM : OB_ERR_RANGE,
                    "libqrencode could not encode %zu bytes", len);
        goto out;
    }
    if (qr->version != version) {
        e = ob_fail(d, OB_ERR_RANGE, "%zu bytes need QR version %d, more than %d", len, qr->version,
                    version);
        goto out;
    }
    q = calloc(1, sizeof(*q));
    nmod = (size_t)qr->width * (size_t)qr->width;
    if (q == NULL || (q->mod = malloc(nmod)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    q->width = qr->width;
    q->version = qr->version;
    /* Bit 0 of each libqrencode byte is "dark"; the rest is its bookkeeping. */
    for (i = 0; i < nmod; i++)
        q->mod[i] = qr->data[i] & 1;
    *out = q; /* ownership to the caller */
    q = NULL;
out:
    ob_qrcode_free(q);
    QRcode_free(qr);
    return e;
}

ob_gray *ob_gray_new(int w, int h)
{
    ob_gray *g;

    if (w < 1 || h < 1 || w > OB_GRAY_MAX_SIDE || h > OB_GRAY_MAX_SIDE)
        return NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->px = malloc((size_t)w * (size_t)h);
    if (g->px == NULL) {
        free(g);
        return NULL;
    }
    memset(g->px, 255, (size_t)w * (size_t)h);
    g->w = w;
    g->h = h;
    return g;
}

void ob_gray_free(ob_gray *g)
{
    if (g == NULL)
        return;
    free(g->px);
    free(g);
}

ob_err ob_qrimage_render(const ob_qrcode *q, int scale, ob_gray **out, ob_diag *d)
{
    ob_gray *g;
    int side, x, y;

    *out = NULL;
    if (scale < 1 || scale > 64)
        return ob_fail(d, OB_ERR_RANGE, "scale %d is outside 1..64", scale);
    side = (q->width + 2 * OB_QR_BORDER) * scale;
    g = ob_gray_new(side, side);
    if (g == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "cannot make a %dx%d picture", side, side);
    for (y = 0; y < side; y++) {
        int my = y / scale - OB_QR_BORDER;
        for (x = 0; x < side; x++) {
            int mx = x / scale - OB_QR_BORDER;
            if (mx >= 0 && my >= 0 && mx < q->width && my < q->width &&
                q->mod[(size_t)my * (size_t)q->width + (size_t)mx])
                g->px[(size_t)y * (size_t)side + (size_t)x] = 0;
        }
    }
    *out = g;
    return OB_OK;
}

ob_err ob_qrimage_png_encode(const ob_gray *g, ob_buf *out, ob_diag *d)
{
    png_image img;
    png_alloc_size_t size = 0;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)g->w;
    img.height = (png_uint_32)g->h;
    img.format = PNG_FORMAT_GRAY;
    /* Room for the worst case, then one compression (a sizing call first
     * would compress the picture twice). */
    size = PNG_IMAGE_PNG_SIZE_MAX(img);
    if (ob_buf_reserve(out, size) != 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory for a %zu-byte PNG", (size_t)size);
    if (!png_image_write_to_memory(&img, out->p + out->len, &size, 0, g->px, g->w, NULL))
        return ob_fail(d, OB_ERR_INTERNAL, "libpng: %s", img.message);
    out->len += size;
    return OB_OK;
}

ob_err ob_qrimage_png_decode(const uint8_t *p, size_t n, ob_gray **out, ob_diag *d)
{
    png_image img;
    ob_gray *g = NULL;
    ob_err e = OB_OK;

    *out = NULL;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, p, n)) {
        e = ob_fail(d, OB_ERR_MALFORMED, "not a readable PNG: %s", img.message);
        goto out;
    }
    /* Sizes are checked before anything is allocated. */
    if (img.width < 1 || img.height < 1 || img.width > OB_GRAY_MAX_SIDE ||
        img.height > OB_GRAY_MAX_SIDE) {
        e = ob_fail(d, OB_ERR_RANGE, "PNG is %ux%u, the limit is %dx%d", (unsigned)img.width,
                    (unsigned)img.height, OB_GRAY_MAX_SIDE, OB_GRAY_MAX_SIDE);
        goto out;
    }
    img.format = PNG_FORMAT_GRAY;
    g = ob_gray_new((int)img.width, (int)img.height);
    if (g == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory for the picture");
        goto out;
    }
    /* A transparent background is composed onto white, as a screen shows it. */
    {
        png_color white = { 255, 255, 255 };
        if (!png_image_finish_read(&img, &white, g->px, g->w, NULL)) {
            e = ob_fail(d, OB_ERR_MALFORMED, "PNG data is damaged: %s", img.message);
            goto out;
        }
    }
    *out = g;
    g = NULL;
out:
    png_image_free(&img);
    ob_gray_free(g);
    return e;
}

ob_err ob_qrimage_png_read(const char *path, ob_gray **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_err e;

    *out = NULL;
    e = ob_file_read(path, OB_PNG_MAX_FILE, &p, &n, d);
    if (e == OB_OK)
        e = ob_qrimage_png_decode(p, n, out, d);
    free(p);
    return e;
}

ob_err ob_qrimage_png_write(const ob_gray *g, const char *path, ob_diag *d)
{
    ob_buf b;
    ob_err e;

    ob_buf_init(&b);
    e = ob_qrimage_png_encode(g, &b, d);
    if (e == OB_OK)
        e = ob_file_write_atomic(path, b.p, b.len, 0644, OB_WRITE_EXCL, d);
    ob_buf_free(&b);
    return e;
}

static int module_at(const ob_qrcode *q, int x, int y)
{
    x -= OB_QR_BORDER;
    y -= OB_QR_BORDER;
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->mod[(size_t)y * (size_t)q->width + (size_t)x];
}

void ob_qrimage_utf8_size(const ob_qrcode *q, int wide, int *cols, int *rows)
{
    int side = q->width + 2 * OB_QR_BORDER;

    *cols = wide ? 2 * side : side;
    *rows = wide ? side : (side + 1) / 2;
}

void ob_qrimage_render_utf8(const ob_qrcode *q, int wide, ob_buf *out)
{
    /* Foreground black, background bright white: dark modules are drawn. */
    static const char on[] = "\x1b[30;107m", off[] = "\x1b[0m";
    int side = q->width + 2 * OB_QR_BORDER, x, y;

    for (y = 0; y < side; y += wide ? 1 : 2) {
        ob_buf_put_str(out, on);
        for (x = 0; x < side; x++) {
            int top = module_at(q, x, y), bottom = wide ? top : module_at(q, x, y + 1);
            if (wide)
                ob_buf_put_str(out, top ? "\u2588\u2588" : "  ");
            else if (top && bottom)
                ob_buf_put_str(out, "\u2588");
            else if (top)
                ob_buf_put_str(out, "\u2580");
            else if (bottom)
                ob_buf_put_str(out, "\u2584");
            else
                ob_buf_put_str(out, " ");
        }
        ob_buf_put_str(out, off);
        ob_buf_put_str(out, "\n");
    }
}

ob_qrscan *ob_qrscan_new(void)
{
    ob_qrscan *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->scanner = zbar_image_scanner_create();
    if (s->scanner == NULL ||
        zbar_image_scanner_set_config(s->scanner, 0, ZBAR_CFG_ENABLE, 0) != 0 ||
        zbar_image_scanner_set_config(s->scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) != 0 ||
        zbar_image_scanner_set_config(s->scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1) != 0) {
        ob_qrscan_free(s);
        return NULL;
    }
    return s;
}

void ob_qrscan_free(ob_qrscan *s)
{
    if (s == NULL)
        return;
    if (s->scanner != NULL)
        zbar_image_scanner_destroy(s->scanner);
    free(s);
}

/* One zbar pass over px; returns the number of QR symbols handed to fn, or
 * -1 if zbar failed. */
static int scan_once(ob_qrscan *s, int w, int h, const uint8_t *px, ob_qrscan_fn fn, void *ctx)
{
    zbar_image_t *img = zbar_image_create();
    const zbar_symbol_t *sym;
    int n, count = 0;

    if (img == NULL)
        return -1;
    zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(img, (unsigned)w, (unsigned)h);
    /* zbar only reads the pixels; no cleanup handler, the caller owns them. */
    zbar_image_set_data(img, px, (unsigned long)w * (unsigned long)h, NULL);
    n = zbar_scan_image(s->scanner, img);
    if (n < 0) {
        zbar_image_destroy(img);
        return -1;
    }
    for (sym = zbar_image_first_symbol(img); sym != NULL; sym = zbar_symbol_next(sym)) {
        if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
            continue;
        count++;
        if (fn((void *)ctx, (const uint8_t *)zbar_symbol_get_data(sym),
               zbar_symbol_get_data_length(sym)) != 0)
            break;
    }
    zbar_image_destroy(img);
    return count;
}

ob_err ob_qrscan_gray(ob_qrscan *s, const ob_gray *g, ob_qrscan_fn fn, void *ctx, int *found,
                      int *retried, ob_diag *d)
{
    ob_gray *b = NULL;
    int n;
    ob_err e = OB_OK;

    if (found != NULL)
        *found = 0;
    if (retried != NULL)
        *retried = 0;
    n = scan_once(s, g->w, g->h, g->px, fn, ctx);
    if (n == 0) {
        b = ob_gray_new(g->w, g->h);
        if (b == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory for the blurred retry");
            goto out;
        }
        memcpy(b->px, g->px, (size_t)g->w * (size_t)g->h);
        ob_gray_blur(b, 1);
        if (retried != NULL)
            *retried = 1;
        n = scan_once(s, b->w, b->h, b->px, fn, ctx);
    }
    if (n < 0) {
        e = ob_fail(d, OB_ERR_INTERNAL, "zbar failed to scan a %dx%d picture", g->w, g->h);
        goto out;
    }
    if (found != NULL)
        *found = n;
out:
    ob_gray_free(b);
    return e;
}

/* No libm in the link line; these serve the test degradations only. */
static int floor_int(double v)
{
    int i = (int)v;
    return (double)i > v ? i - 1 : i;
}

/* sin and cos by their series; exact enough for |r| <= pi. */
static void sin_cos(double r, double *s, double *c)
{
    double term_s = r, term_c = 1;
    int k;

    *s = 0;
    *c = 0;
    for (k = 1; k < 20; k++) {
        *s += term_s;
        *c += term_c;
        term_s *= -r * r / ((2.0 * k) * (2.0 * k + 1));
        term_c *= -r * r / ((2.0 * k - 1) * (2.0 * k));
    }
}

static uint8_t sample(const ob_gray *g, double x, double y)
{
    int x0 = floor_int(x), y0 = floor_int(y);
    double fx = x - x0, fy = y - y0, v = 0;
    int i, j;

    for (j = 0; j < 2; j++) {
        for (i = 0; i < 2; i++) {
            int xx = x0 + i, yy = y0 + j;
            double wgt = (i ? fx : 1 - fx) * (j ? fy : 1 - fy);
            double p = 255;
            if (xx >= 0 && yy >= 0 && xx < g->w && yy < g->h)
                p = g->px[(size_t)yy * (size_t)g->w + (size_t)xx];
            v += wgt * p;
        }
    }
    if (v < 0)
        v = 0;
    if (v > 255)
        v = 255;
    return (uint8_t)(v + 0.5 > 255 ? 255 : v + 0.5);
}

ob_gray *ob_gray_scale(const ob_gray *g, double factor)
{
    int w = (int)(g->w * factor), h = (int)(g->h * factor), x, y;
    ob_gray *o;

    if (factor <= 0)
        return NULL;
    o = ob_gray_new(w, h);
    if (o == NULL)
        return NULL;
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            /* Area-ish downscale: sample at the centre of the source span. */
            double sx = (x + 0.5) / factor - 0.5, sy = (y + 0.5) / factor - 0.5;
            o->px[(size_t)y * (size_t)w + (size_t)x] = sample(g, sx, sy);
        }
    }
    return o;
}

ob_gray *ob_gray_rotate(const ob_gray *g, double degrees)
{
    double r = degrees * 3.14159265358979323846 / 180.0, c, s;
    double cx = g->w / 2.0, cy = g->h / 2.0;
    ob_gray *o = ob_gray_new(g->w, g->h);
    int x, y;

    if (o == NULL)
        return NULL;
    sin_cos(r, &s, &c);
    for (y = 0; y < g->h; y++) {
        for (x = 0; x < g->w; x++) {
            double dx = x - cx, dy = y - cy;
            double sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
            o->px[(size_t)y * (size_t)g->w + (size_t)x] = sample(g, sx, sy);
        }
    }
    return o;
}

void ob_gray_blur(ob_gray *g, int radius)
{
    uint8_t *tmp;
    int x, y, k;

    if (radius < 1)
        return;
    tmp = malloc((size_t)g->w * (size_t)g->h);
    if (tmp == NULL)
        return;
    /* Separable box blur: rows into tmp, then columns back into g. */
    for (y = 0; y < g->h; y++) {
        for (x = 0; x < g->w; x++) {
            int sum = 0, cnt = 0;
            for (k = -radius; k <= radius; k++) {
                int xx = x + k;
                if (xx >= 0 && xx < g->w) {
                    sum += g->px[(size_t)y * (size_t)g->w + (size_t)xx];
                    cnt++;
                }
            }
            tmp[(size_t)y * (size_t)g->w + (size_t)x] = (uint8_t)(sum / cnt);
        }
    }
    for (y = 0; y < g->h; y++) {
        for (x = 0; x < g->w; x++) {
            int sum = 0, cnt = 0;
            for (k = -radius; k <= radius; k++) {
                int yy = y + k;
                if (yy >= 0 && yy < g->h) {
                    sum += tmp[(size_t)yy * (size_t)g->w + (size_t)x];
                    cnt++;
                }
            }
            g->px[(size_t)y * (size_t)g->w + (size_t)x] = (uint8_t)(sum / cnt);
        }
    }
    free(tmp);
}

void ob_gray_noise(ob_gray *g, int amplitude, uint32_t seed)
{
    size_t i, n = (size_t)g->w * (size_t)g->h;
    uint32_t st = seed ? seed : 1;

    for (i = 0; i < n; i++) {
        int v;
        /* xorshift32: reproducible noise, not cryptography. */
        st ^= st << 13;
        st ^= st >> 17;
        st ^= st << 5;
        v = g->px[i] + (int)(st % (uint32_t)(2 * amplitude + 1)) - amplitude;
        g->px[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
