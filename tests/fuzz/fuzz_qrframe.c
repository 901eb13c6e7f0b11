/*
 * fuzz_qrframe.c - fuzz entry point for the QR frame parser and assembler
 * (format/transfer/qrframe.c) and the decode verb's frame reader, which
 * keeps one assembler per message (format/verbs/qr_cmd.c, compiled in for
 * its static reader).
 *
 *   make fuzz && build/fuzz/fuzz_qrframe -max_len=8192 -close_fd_mask=3 \
 *       tests/fuzz/corpus/fuzz_qrframe
 *
 * The first input byte picks a mode:
 *   bit 0 clear: the rest is a list of frames (u16 length, then the bytes).
 *         When a frame's length byte is odd its CRC is re-sealed first, so
 *         mutations get past the CRC to the field rules.
 *         bit 1 clear: fed to one assembler.  Beyond "no crash": the
 *         progress string stays bounded, and a bundle that comes out
 *         matches the message id it was read under (a bundle's own digest's
 *         first 8 bytes; another payload's SHA-256's).
 *         bit 1 set: fed to the reader of `qr decode` (bit 2: lock onto the
 *         first message, as `qr scan` does; bit 3: expect the message id in
 *         the next 8 bytes; bit 4: --any), which then writes the bundle if
 *         one message is complete; its id must match, and without --any it
 *         must parse as a bundle.  The reader prints a line per
 *         frame, hence -close_fd_mask=3.
 *   bit 0 set: the rest is a bundle; it is split at a fuzzer-chosen capacity
 *         and sent as parts and fountain frames with a fuzzer-chosen loss
 *         pattern.  Whatever completes must give back the bundle exactly.
 * Seeds: frames of real bundles in each mode (make_seeds.sh).
 */
#include "../../format/verbs/qr_cmd.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "crypto.h"
#include "fzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

/* The next frame of the list, CRC re-sealed when its length byte is odd; NULL at the end. */
static uint8_t *next_frame(ob_cur *c, uint16_t *len)
{
    const uint8_t *fr;
    uint8_t *copy;

    if (ob_cur_get_u16(c, len) != 0 || ob_cur_borrow(c, *len, &fr) != 0)
        return NULL;
    copy = malloc((size_t)*len + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, fr, *len);
    if ((*len & 1) && *len >= OB_QR_OVERHEAD)
        ob_store_u32(copy + *len - 4, (uint32_t)crc32(0L, copy, (uInt)(*len - 4)));
    return copy;
}

static void frames_mode(const uint8_t *p, size_t n)
{
    ob_qr_assembler *a = ob_qr_assembler_new();
    ob_cur c;
    uint8_t *out = NULL, *fr;
    uint16_t len;
    size_t outlen = 0;
    ob_diag d;

    if (a == NULL)
        abort();
    ob_cur_init(&c, p, n);
    while ((fr = next_frame(&c, &len)) != NULL) {
        ob_qr_add_result res;
        (void)ob_qr_assembler_add_frame(a, fr, len, &res, &d);
        free(fr);
        if (strlen(ob_qr_assembler_progress(a)) >= 256)
            abort();
    }
    if (ob_qr_assembler_take(a, &out, &outlen, &d) == OB_OK) {
        if (!fz_qr_id_matches(out, outlen, ob_qr_assembler_msgid(a)))
            abort();
        free(out);
    }
    ob_qr_assembler_free(a);
}

static void reader_mode(uint8_t mode, const uint8_t *p, size_t n)
{
    static int inited;
    uint8_t *fr, *out = NULL;
    uint16_t len;
    size_t outlen = 0, i;
    int k = -1;
    reader r;
    ob_diag d;
    ob_cur c;

    if (!inited) {
        setup();
        inited = 1;
    }
    memset(&r, 0, sizeof(r));
    r.src = "fuzz";
    r.lock_first = (mode >> 2) & 1;
    r.quiet_dups = r.lock_first;
    ob_cur_init(&c, p, n);
    if ((mode & 8) && ob_cur_get_bytes(&c, r.expect, OB_QR_MSGID_LEN) == 0)
        r.have_expect = 1;
    while ((fr = next_frame(&c, &len)) != NULL) {
        (void)on_symbol(&r, fr, len);
        free(fr);
    }
    for (i = 0; i < r.nmsg; i++)
        if (ob_qr_assembler_is_complete(r.a[i]))
            k = (int)i;
    unlink(outpath);
    /* Bit 4: --any (write what is no bundle); else only a bundle that parses. */
    if (reader_finish(&r, outpath, (mode >> 4) & 1) == OB_EXIT_OK) {
        if (k < 0 || ob_file_read(outpath, 1u << 26, &out, &outlen, &d) != OB_OK ||
            !fz_qr_id_matches(out, outlen, ob_qr_assembler_msgid(r.a[k])) ||
            (!((mode >> 4) & 1) && payload_is_bundle(out, outlen, NULL) != OB_OK))
            abort();
        free(out);
    }
    unlink(outpath);
    reader_free(&r);
}

static void bundle_mode(const uint8_t *p, size_t n)
{
    ob_qr_frames *f = NULL;
    ob_qr_assembler *a = NULL;
    uint8_t *fr = NULL, *out = NULL, loss;
    size_t cap, outlen = 0;
    uint64_t k;
    ob_diag d;

    if (n < 2)
        return;
    cap = OB_QR_MIN_FRAME + p[0] * 4u;
    loss = p[1];
    p += 2;
    n -= 2;
    if (ob_qr_split(p, n, cap, &f, &d) != OB_OK)
        return;
    a = ob_qr_assembler_new();
    fr = malloc(f->frame_len);
    if (a == NULL || fr == NULL)
        abort();
    /* Drop frame k when bit (k mod 8) of the loss byte is set (never all). */
    for (k = 0; k < 4 * f->n + 64 && !ob_qr_assembler_is_complete(a); k++) {
        ob_qr_add_result res;
        if (loss != 0xff && ((loss >> (k % 8)) & 1))
            continue;
        if (ob_qr_frame_at(f, ob_qr_sender_seq(f, k), fr, &d) != OB_OK ||
            ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d) != OB_OK)
            abort();
    }
    if (ob_qr_assembler_is_complete(a)) {
        if (ob_qr_assembler_take(a, &out, &outlen, &d) != OB_OK || outlen != n ||
            (n > 0 && memcmp(out, p, n) != 0))
            abort();
        free(out);
    }
    free(fr);
    ob_qr_assembler_free(a);
    ob_qr_frames_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        bundle_mode(data + 1, size - 1);
    else if (data[0] & 2)
        reader_mode(data[0], data + 1, size - 1);
    else
        frames_mode(data + 1, size - 1);
    return 0;
}
