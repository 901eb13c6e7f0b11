/*
 * fuzz_qrframe.c - fuzz entry point for the QR frame parser and assembler
 * (format/transfer/qrframe.c).
 *
 *   make fuzz && build/fuzz/fuzz_qrframe -max_len=8192 CORPUS_DIR
 *
 * Replay without libFuzzer: compile with -DOB_FUZZ_MAIN and pass files.
 *
 * The first input byte picks a mode:
 *   even: the rest is a list of frames (u16 length, then the bytes), fed to
 *         one assembler.  When a frame's length byte is odd its CRC is
 *         re-sealed first, so mutations get past the CRC to the field rules.
 *         Beyond "no crash": the progress string stays bounded, and a bundle
 *         that comes out matches the message id it was read under.
 *   odd:  the rest is a bundle; it is split at a fuzzer-chosen capacity and
 *         sent as parts and fountain frames with a fuzzer-chosen loss
 *         pattern.  Whatever completes must give back the bundle exactly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "crypto.h"
#include "qrframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frames_mode(const uint8_t *p, size_t n)
{
    ob_qr_assembler *a = ob_qr_assembler_new();
    ob_cur c;
    uint8_t *out = NULL, dig[32];
    size_t outlen = 0;
    ob_diag d;

    if (a == NULL)
        abort();
    ob_cur_init(&c, p, n);
    for (;;) {
        uint16_t len;
        const uint8_t *fr;
        uint8_t *copy;
        ob_qr_add_result res;
        if (ob_cur_get_u16(&c, &len) != 0 || ob_cur_borrow(&c, len, &fr) != 0)
            break;
        copy = malloc((size_t)len + 1);
        if (copy == NULL)
            abort();
        memcpy(copy, fr, len);
        if ((len & 1) && len >= OB_QR_OVERHEAD)
            ob_store_u32(copy + len - 4, (uint32_t)crc32(0L, copy, (uInt)(len - 4)));
        (void)ob_qr_assembler_add_frame(a, copy, len, &res, &d);
        free(copy);
        if (strlen(ob_qr_assembler_progress(a)) >= 256)
            abort();
    }
    if (ob_qr_assembler_take(a, &out, &outlen, &d) == OB_OK) {
        if (ob_sha256_buf(dig, out, outlen) != 0 ||
            memcmp(dig, ob_qr_assembler_msgid(a), OB_QR_MSGID_LEN) != 0)
            abort();
        free(out);
    }
    ob_qr_assembler_free(a);
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
    else
        frames_mode(data + 1, size - 1);
    return 0;
}

#ifdef OB_FUZZ_MAIN
int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        long n;
        if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
            fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            if (fp != NULL)
                fclose(fp);
            free(buf);
            return 2;
        }
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
    }
    return 0;
}
#endif
