/*
 * qr_measure.c - the numbers in docs/qr-transfer.rst, "Measurements".
 *
 * For synthetic bundles the size of a signing request with 1, 2, 5 and 10
 * backends and of a signed response (two v3 descriptors), it reports: bundle
 * and stream size, frames at the chosen QR version and level, bytes per
 * frame, CPU time to draw a frame (libqrencode + picture), CPU time for zbar to read
 * one frame placed in a 1280x720 camera-sized picture (and a degraded copy),
 * and how many frames a receiver must see to complete at 10/20/30% frame loss
 * with plain numbered parts in a loop versus parts followed by fountain
 * frames.
 *
 * The payloads are synthetic, shaped like v3 descriptors: a short text head,
 * then a base64 "superencrypted" blob of random bytes (which is what makes a
 * real descriptor incompressible apart from base64's 6 bits per character).
 * Real bundles will be measured when collect/sign produce them.
 *
 * usage: qr_measure [--quick]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "qrframe.h"
#include "qrimage.h"

/* CPU time, not wall time: the numbers should not depend on what else the
 * machine is doing (a camera loop has a core to itself). */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A descriptor-shaped text of about size bytes. */
static void fake_descriptor(ob_buf *b, size_t size)
{
    static const char head[] = "hs-descriptor 3\ndescriptor-lifetime 180\n"
                               "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n";
    uint8_t raw[48];
    char line[80];
    size_t start = b->len, i;

    ob_buf_put_str(b, head);
    for (i = 0; i < 3; i++) {
        ob_random(raw, sizeof(raw));
        ob_base64_encode(line, raw, sizeof(raw), 1);
        ob_buf_printf(b, "%s\n", line);
    }
    ob_buf_put_str(b, "-----END ED25519 CERT-----\nrevision-counter 1234567\n"
                      "superencrypted\n-----BEGIN MESSAGE-----\n");
    while (b->len - start + 150 < size) {
        ob_random(raw, sizeof(raw));
        ob_base64_encode(line, raw, sizeof(raw), 1);
        ob_buf_printf(b, "%s\n", line);
    }
    ob_random(raw, sizeof(raw));
    ob_base64_encode(line, raw, sizeof(raw), 1);
    ob_buf_printf(b, "-----END MESSAGE-----\nsignature %s\n", line);
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Mean frames seen / n until complete, over trials, starting at a random
 * point of the sender's sequence within the first n frames. */
static double frames_needed(const ob_qr_frames *f, double loss, int fountain, int trials)
{
    uint8_t *fr = malloc(f->frame_len);
    double sum = 0;
    int t;
    ob_diag d;

    for (t = 0; t < trials; t++) {
        ob_qr_assembler *a = ob_qr_assembler_new();
        uint64_t k = (uint64_t)(unif() * (double)f->n), shown = 0;
        while (!ob_qr_assembler_is_complete(a)) {
            uint32_t seq = fountain ? ob_qr_sender_seq(f, k) : (uint32_t)(k % f->n);
            ob_qr_add_result res;
            k++;
            shown++;
            if (unif() < loss)
                continue;
            if (ob_qr_frame_at(f, seq, fr, &d) != OB_OK ||
                ob_qr_assembler_add_frame(a, fr, f->frame_len, &res, &d) != OB_OK) {
                fprintf(stderr, "frame error: %s\n", d.msg);
                exit(1);
            }
        }
        sum += (double)shown / (double)f->n;
        ob_qr_assembler_free(a);
    }
    free(fr);
    return sum / trials;
}

static int count_cb(void *ctx, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

/* Place a picture in the middle of a white 1280x720 one. */
static ob_gray *camera_frame(const ob_gray *g)
{
    ob_gray *c = ob_gray_new(1280, 720);
    int x, y, ox = (1280 - g->w) / 2, oy = (720 - g->h) / 2;

    if (c == NULL || ox < 0 || oy < 0)
        exit(1);
    for (y = 0; y < g->h; y++)
        for (x = 0; x < g->w; x++)
            c->px[(size_t)(y + oy) * 1280 + (size_t)(x + ox)] = g->px[(size_t)y * g->w + x];
    return c;
}

static void measure(const char *name, const uint8_t *bundle, size_t len, int version,
                    ob_qr_level level, int quick)
{
    ob_qr_frames *f = NULL;
    ob_qrscan *s = ob_qrscan_new();
    size_t cap = 0, i, sample;
    double t_draw = 0, t_read = 0, t_read_bad = 0;
    int found = 0, found_bad = 0, trials = quick ? 40 : 300;
    ob_diag d;

    if (ob_qrimage_capacity(version, level, &cap, &d) != OB_OK ||
        ob_qr_split(bundle, len, cap, &f, &d) != OB_OK) {
        fprintf(stderr, "%s: %s\n", name, d.msg);
        exit(1);
    }
    sample = f->n < 8 ? f->n : 8;
    for (i = 0; i < sample; i++) {
        ob_qrcode *q = NULL;
        ob_gray *g = NULL, *cam, *bad, *tmp;
        double t0 = now_ms();
        if (ob_qrimage_encode(f->frame[i], f->frame_len, version, level, &q, &d) != OB_OK ||
            ob_qrimage_render(q, OB_QR_DEFAULT_SCALE, &g, &d) != OB_OK)
            exit(1);
        t_draw += now_ms() - t0;
        /* A camera frame: the QR at 5 pixels per module in 1280x720. */
        tmp = ob_gray_scale(g, 5.0 / OB_QR_DEFAULT_SCALE);
        cam = camera_frame(tmp);
        t0 = now_ms();
        (void)ob_qrscan_gray(s, cam, count_cb, &found, NULL, NULL, &d);
        t_read += now_ms() - t0;
        bad = ob_gray_rotate(cam, 2.0);
        ob_gray_blur(bad, 1);
        ob_gray_noise(bad, 60, (uint32_t)i + 1);
        t0 = now_ms();
        (void)ob_qrscan_gray(s, bad, count_cb, &found_bad, NULL, NULL, &d);
        t_read_bad += now_ms() - t0;
        ob_gray_free(tmp);
        ob_gray_free(cam);
        ob_gray_free(bad);
        ob_gray_free(g);
        ob_qrcode_free(q);
    }
    printf("%-22s %7zu %7zu %4s %6zu %5zu %7.1f %7.1f %7.1f %3d/%zu", name, len, f->stream_len,
           f->compressed ? "zlib" : "raw", f->n, f->frame_len, t_draw / sample, t_read / sample,
           t_read_bad / sample, found_bad, sample);
    printf(" %5.2f %5.2f %5.2f %5.2f\n", frames_needed(f, 0.10, 0, trials),
           frames_needed(f, 0.10, 1, trials), frames_needed(f, 0.20, 1, trials),
           frames_needed(f, 0.30, 1, trials));
    if (found != (int)sample)
        printf("  warning: only %d of %zu clean camera frames read\n", found, sample);
    ob_qr_frames_free(f);
    ob_qrscan_free(s);
}

int main(int argc, char **argv)
{
    static const int backends[] = { 1, 2, 5, 10 };
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t i;
    int k;

    printf("QR %d-M, frames drawn at %d px/module; read from a 1280x720 picture at 5 px/module\n",
           OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_SCALE);
    printf("synthetic descriptor-shaped payloads (see the source); times are CPU ms per frame;\n"
           "'seen/n' = frames a receiver sees / frames in the message, starting anywhere\n\n");
    printf("%-22s %7s %7s %4s %6s %5s %7s %7s %7s %5s %5s %5s %5s %5s\n", "payload", "bytes",
           "stream", "", "frames", "B/fr", "draw", "read", "rd-bad", "ok", "p10%", "f10%", "f20%",
           "f30%");
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        ob_buf b;
        char name[64];
        ob_buf_init(&b);
        ob_buf_put_str(&b, "request header and service fields, about 200 bytes ...");
        for (k = 0; k < backends[i]; k++)
            fake_descriptor(&b, 22000);
        snprintf(name, sizeof(name), "request, %d backend%s", backends[i],
                 backends[i] == 1 ? "" : "s");
        measure(name, b.p, b.len, OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_LEVEL, quick);
        ob_buf_free(&b);
    }
    {
        ob_buf b;
        ob_buf_init(&b);
        ob_buf_put_str(&b, "response header ...");
        fake_descriptor(&b, 28000);
        fake_descriptor(&b, 28000);
        measure("response, 2 x 28 KB", b.p, b.len, OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_LEVEL,
                quick);
        ob_buf_free(&b);
    }
    printf("\np10%% = plain parts in a loop at 10%% loss; fNN%% = parts then fountain frames "
           "at NN%% loss\n");
    return 0;
}
