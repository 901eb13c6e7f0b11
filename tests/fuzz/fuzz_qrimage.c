/*
 * fuzz_qrimage.c - `qr decode` from the picture on: a PNG file decoded
 * (format/transfer/qrimage.c, libpng), scanned for QR symbols (zbar), and
 * every symbol found given to the decode verb's frame reader
 * (format/verbs/qr_cmd.c, compiled in for its static reader), which keeps
 * one assembler per message and writes the bundle when one completes.
 *
 *   make fuzz && build/fuzz/fuzz_qrimage -max_len=300000 -close_fd_mask=3 \
 *       tests/fuzz/corpus/fuzz_qrimage
 *
 * The reader prints a line per frame (as the verb does): -close_fd_mask=3
 * keeps libFuzzer's output readable.  libpng refuses a chunk whose CRC is
 * wrong, which would stop almost every mutation at the first chunk, so the
 * target fixes every chunk's CRC before decoding (as fuzz_bundle re-seals
 * the digest).  Only pictures of at most 1024 x 1024
 * pixels are scanned (zbar's time grows with the area); larger ones are
 * decoded only.
 * Seeds: frames `ob-offline qr encode` made of small bundles (make_seeds.sh).
 *
 * Beyond "no crash": a picture that decodes has its stated size; a bundle
 * the reader writes has the message id its frames named.
 */
#include "../../format/verbs/qr_cmd.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "crypto.h"
#include "fzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SCAN_MAX_AREA (1024 * 1024)

static char outdir[4096], outpath[4200];

static void cleanup(void)
{
    unlink(outpath);
    rmdir(outdir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(outdir, sizeof(outdir), "%s/ob-fuzz-qr.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(outdir) == NULL)
        abort();
    snprintf(outpath, sizeof(outpath), "%s/out.obb", outdir);
    atexit(cleanup);
}

/* A copy of the PNG with every chunk's CRC made right. */
static uint8_t *reseal(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n > 0 ? n : 1);
    size_t off = 8;

    if (q == NULL)
        abort();
    memcpy(q, p, n);
    while (off + 12 <= n) {
        uint32_t len = ob_load_u32(q + off);
        if (len > n - off - 12)
            break;
        ob_store_u32(q + off + 8 + len, (uint32_t)crc32(0L, q + off + 4, (uInt)(len + 4)));
        off += 12 + (size_t)len;
    }
    return q;
}

/* What `qr decode` does after the pictures: pick a message and write it. */
static void finish(reader *r)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_diag d;
    int k = -1;
    size_t i;

    for (i = 0; i < r->nmsg; i++)
        if (ob_qr_assembler_is_complete(r->a[i]))
            k = (int)i;
    unlink(outpath);
    /* --any: the pictures are the target here, not the payload's kind. */
    if (reader_finish(r, outpath, 1) == OB_EXIT_OK) {
        if (k < 0 || ob_file_read(outpath, 1u << 26, &p, &n, &d) != OB_OK ||
            !fz_qr_id_matches(p, n, ob_qr_assembler_msgid(r->a[k])))
            abort();
        free(p);
    }
    unlink(outpath);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    ob_gray *g = NULL;
    reader r;
    ob_diag d;
    ob_err e;
    int found = 0;

    uint8_t *png;

    if (!inited) {
        setup();
        inited = 1;
    }
    png = reseal(data, size);
    e = ob_qrimage_png_decode(png, size, &g, &d);
    free(png);
    fz_note("png", e, &d);
    if (e != OB_OK)
        return 0;
    if (g->w < 1 || g->h < 1 || g->w > OB_GRAY_MAX_SIDE || g->h > OB_GRAY_MAX_SIDE)
        abort();
    if ((size_t)g->w * (size_t)g->h <= SCAN_MAX_AREA) {
        memset(&r, 0, sizeof(r));
        r.scan = ob_qrscan_new();
        if (r.scan == NULL)
            abort();
        r.src = "fuzz.png";
        e = reader_gray(&r, g, &found, &d);
        fz_note("scan", e, &d);
        finish(&r);
        reader_free(&r);
    }
    ob_gray_free(g);
    return 0;
}
