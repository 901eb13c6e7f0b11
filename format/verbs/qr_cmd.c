/*
 * qr_cmd.c - `qr show|encode|decode|scan`, shared by both programs (the
 * framing is in qrframe.c, the pictures in qrimage.c; docs/qr-transfer.rst).
 *
 * Like cli.c this is program code: it prints and returns exit statuses.
 */
#include "qr_cmd.h"

#include "buf.h"
#include "bundle.h"
#include "cli.h"
#include "fileio.h"
#include "qrframe.h"
#include "qrimage.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <zbar.h>

/* Options shared by the verbs; each verb accepts only its own. */
typedef struct qr_opts {
    const char *out;    /* -o */
    const char *device; /* --device */
    const char *expect; /* --expect */
    unsigned fps;
    int version;
    int scale;
    int any; /* --any: write a payload that is not a bundle */
    ob_qr_level level;
    char **pos; /* positional arguments */
    int npos;
} qr_opts;

/* --qr-version's range: below 5 a frame carries too little to be worth it. */
#define OB_QR_MIN_VERSION 5
#define OB_QR_MAX_VERSION 40

enum { OPT_OUT = 1, OPT_DEVICE = 4, OPT_FPS = 8, OPT_PICTURE = 16, OPT_EXPECT = 32, OPT_ANY = 64 };

/* Parse argv[2..]; usage error (exit 2) on anything not in allowed. */
static void parse_opts(int argc, char **argv, unsigned allowed, qr_opts *o)
{
    const char *verb = "qr";
    int i, only_pos = 0;
    unsigned long long v;

    memset(o, 0, sizeof(*o));
    o->fps = 5;
    o->version = OB_QR_DEFAULT_VERSION;
    o->level = OB_QR_DEFAULT_LEVEL;
    o->scale = OB_QR_DEFAULT_SCALE;
    o->pos = argv + 2;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            o->pos[o->npos++] = argv[i]; /* compacts in place; never overtakes i */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if ((allowed & OPT_ANY) && strcmp(a, "--any") == 0) {
            o->any = 1;
            continue;
        }
        if (val == NULL) {
            ob_msg("qr %s: option %s needs a value", argv[1], a);
            ob_usage_verb(verb);
        }
        if ((allowed & OPT_OUT) && strcmp(a, "-o") == 0) {
            o->out = val;
        } else if ((allowed & OPT_DEVICE) && strcmp(a, "--device") == 0) {
            o->device = val;
        } else if ((allowed & OPT_EXPECT) && strcmp(a, "--expect") == 0) {
            uint8_t id[OB_QR_MSGID_LEN];
            if (ob_qr_parse_msgid(val, id) != 0) {
                ob_msg("qr %s: --expect wants a message id as encode and show print it "
                       "(\"ab12 cd34 ef56 7890\") or a SHA-256 in hex, not '%s'",
                       argv[1], val);
                ob_usage_verb(verb);
            }
            o->expect = val;
        } else if ((allowed & OPT_FPS) && strcmp(a, "--fps") == 0) {
            if (ob_parse_u64(val, 1, 30, &v) != 0) {
                ob_msg("qr %s: --fps wants a number from 1 to 30, not '%s'", argv[1], val);
                ob_usage_verb(verb);
            }
            o->fps = (unsigned)v;
        } else if ((allowed & OPT_PICTURE) && strcmp(a, "--qr-version") == 0) {
            if (ob_parse_u64(val, OB_QR_MIN_VERSION, OB_QR_MAX_VERSION, &v) != 0) {
                ob_msg("qr %s: --qr-version wants %d to %d, not '%s'", argv[1], OB_QR_MIN_VERSION,
                       OB_QR_MAX_VERSION, val);
                ob_usage_verb(verb);
            }
            o->version = (int)v;
        } else if ((allowed & OPT_PICTURE) && strcmp(a, "--level") == 0) {
            if (ob_qrimage_parse_level(val, &o->level) != 0) {
                ob_msg("qr %s: --level wants L, M, Q or H, not '%s'", argv[1], val);
                ob_usage_verb(verb);
            }
        } else if ((allowed & OPT_PICTURE) && (allowed & OPT_OUT) && strcmp(a, "--scale") == 0) {
            if (ob_parse_u64(val, 1, 32, &v) != 0) {
                ob_msg("qr %s: --scale wants 1 to 32 pixels per module, not '%s'", argv[1], val);
                ob_usage_verb(verb);
            }
            o->scale = (int)v;
        } else {
            ob_msg("qr %s: unknown option '%s'", argv[1], a);
            ob_usage_verb(verb);
        }
        i++;
    }
}

static const char *level_name(ob_qr_level l)
{
    return l == OB_QR_LEVEL_L ? "L" : l == OB_QR_LEVEL_Q ? "Q" : l == OB_QR_LEVEL_H ? "H" : "M";
}

/* Read a bundle and cut it into frames for the chosen QR version. */
static ob_err load_frames(const char *path, const qr_opts *o, ob_qr_frames **f, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0, cap = 0;
    ob_err e;

    e = ob_qrimage_capacity(o->version, o->level, &cap, d);
    if (e == OB_OK)
        e = ob_file_read(path, OB_QR_MAX_BUNDLE, &p, &n, d);
    if (e == OB_OK)
        e = ob_qr_split(p, n, cap, f, d);
    free(p);
    return e;
}

/* Narrow rendering of version v: columns and rows, the status line included. */
static void show_size(int v, int *cols, int *rows)
{
    int side = 17 + 4 * v + 2 * OB_QR_BORDER;

    *cols = side;
    *rows = (side + 1) / 2 + 2;
}

/*
 * The terminal cannot hold the picture: say what size it needs, and suggest
 * --qr-version only when a smaller version would fit this terminal.
 */
static ob_err too_small(const struct winsize *ws, const qr_opts *o, int cols, int rows, ob_diag *d)
{
    int v, c, r, fits = 0;

    for (v = o->version - 1; v >= OB_QR_MIN_VERSION && !fits; v--) {
        show_size(v, &c, &r);
        if (c <= ws->ws_col && r <= ws->ws_row)
            fits = v;
    }
    if (fits != 0)
        return ob_fail(d, OB_ERR_IO,
                       "the terminal is %ux%u; QR version %d needs %dx%d: enlarge the window, use "
                       "a smaller font, or --qr-version %d (the largest that fits; more frames)",
                       ws->ws_col, ws->ws_row, o->version, cols, rows, fits);
    show_size(OB_QR_MIN_VERSION, &c, &r);
    return ob_fail(d, OB_ERR_IO,
                   "the terminal is %ux%u; qr show needs at least %dx%d (QR version %d, the "
                   "smallest) and %dx%d for version %d: enlarge the window or use a smaller font, "
                   "or write PNG images with 'qr encode'",
                   ws->ws_col, ws->ws_row, c, r, OB_QR_MIN_VERSION, cols, rows, o->version);
}

static void print_summary(const char *path, const ob_qr_frames *f, const qr_opts *o)
{
    char dg[20];

    ob_qr_short_digest(f->msgid, dg);
    /* A bundle is named by its digest, as inspect, collect and sign name it. */
    printf("%s: %zu bytes, %s %s, %zu frame%s of %zu bytes (QR %d-%s, %s)\n", path, f->bundle_len,
           f->self_digest ? "digest" : "id", dg, f->n, f->n == 1 ? "" : "s", f->frame_len,
           o->version, level_name(o->level), f->compressed ? "zlib" : "not compressed");
}

/* The QR symbol of the sender's frame with sequence number seq. */
static ob_err code_at(const ob_qr_frames *f, uint32_t seq, const qr_opts *o, ob_qrcode **q,
                      ob_diag *d)
{
    uint8_t *fr = malloc(f->frame_len);
    ob_err e;

    *q = NULL;
    if (fr == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    e = ob_qr_frame_at(f, seq, fr, d);
    if (e == OB_OK)
        e = ob_qrimage_encode(fr, f->frame_len, o->version, o->level, q, d);
    free(fr);
    return e;
}

/* ---- encode ---------------------------------------------------------- */

static int frame_digits(size_t n)
{
    int w = 3;
    size_t lim = 1000;

    while (n >= lim && w < 6) {
        w++;
        lim *= 10;
    }
    return w;
}

static int cmd_encode(int argc, char **argv)
{
    qr_opts o;
    ob_qr_frames *f = NULL;
    char **names = NULL;
    ob_diag d;
    ob_err e = OB_OK;
    struct stat st;
    size_t i;
    int rc = OB_EXIT_OK, w;

    parse_opts(argc, argv, OPT_OUT | OPT_PICTURE, &o);
    if (o.npos != 1 || o.out == NULL) {
        ob_msg("qr encode: needs one FILE and -o DIR");
        ob_usage_verb("qr");
    }
    ob_diag_clear(&d);
    e = load_frames(o.pos[0], &o, &f, &d);
    if (e != OB_OK)
        goto out;
    if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
        e = ob_fail(&d, OB_ERR_IO, "%s: cannot create directory: %s", o.out, strerror(errno));
        goto out;
    }
    if (lstat(o.out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        e = ob_fail(&d, OB_ERR_IO, "%s: not a directory (symbolic links are not followed)", o.out);
        goto out;
    }
    names = calloc(f->n, sizeof(*names));
    if (names == NULL) {
        e = ob_fail(&d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    w = frame_digits(f->n);
    /* Every name is checked before the first is written: no half-written
     * set next to someone else's frames. */
    for (i = 0; i < f->n; i++) {
        size_t len = strlen(o.out) + 32;
        char num[24];
        names[i] = malloc(len);
        if (names[i] == NULL) {
            e = ob_fail(&d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        /* Zero padded to w (3..6) digits; n <= 65535 keeps to 6. */
        snprintf(num, sizeof(num), "%06zu", i + 1);
        snprintf(names[i], len, "%s/frame-%s.png", o.out, num + 6 - w);
        if (ob_path_exists(names[i])) {
            e = ob_fail(&d, OB_ERR_EXISTS,
                        "%s exists; frames are never overwritten (use an "
                        "empty directory)",
                        names[i]);
            goto out;
        }
    }
    for (i = 0; i < f->n && e == OB_OK; i++) {
        ob_qrcode *q = NULL;
        ob_gray *g = NULL;
        e = ob_qrimage_encode(f->frame[i], f->frame_len, o.version, o.level, &q, &d);
        if (e == OB_OK)
            e = ob_qrimage_render(q, o.scale, &g, &d);
        if (e == OB_OK)
            e = ob_qrimage_png_write(g, names[i], &d);
        ob_gray_free(g);
        ob_qrcode_free(q);
    }
    if (e != OB_OK)
        goto out;
    print_summary(o.pos[0], f, &o);
    printf("wrote %s/frame-%0*d.png .. frame-%0*zu.png\n", o.out, w, 1, w, f->n);
out:
    if (e != OB_OK)
        rc = ob_report(e, &d);
    for (i = 0; f != NULL && names != NULL && i < f->n; i++)
        free(names[i]);
    free(names);
    ob_qr_frames_free(f);
    return rc;
}

/* ---- show ------------------------------------------------------------ */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The terminal picture of the sender's frame seq. */
static ob_err utf8_at(const ob_qr_frames *f, uint32_t seq, const qr_opts *o, int wide, ob_buf *out,
                      ob_diag *d)
{
    ob_qrcode *q = NULL;
    ob_err e = code_at(f, seq, o, &q, d);

    ob_buf_reset(out);
    if (e == OB_OK) {
        ob_qrimage_render_utf8(q, wide, out);
        if (!ob_buf_ok(out))
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    ob_qrcode_free(q);
    return e;
}

static int cmd_show(int argc, char **argv)
{
    qr_opts o;
    ob_qr_frames *f = NULL;
    ob_qrcode *first = NULL;
    ob_buf pic;
    struct termios saved, raw;
    struct sigaction sa, old_int, old_term;
    struct winsize ws;
    int have_termios = 0, have_signals = 0, screen = 0, wide = 0, cols = 0, rows = 0;
    char dg[20];
    ob_diag d;
    ob_err e = OB_OK;
    uint64_t k;
    size_t i;
    int rc = OB_EXIT_OK;

    ob_buf_init(&pic);
    parse_opts(argc, argv, OPT_FPS | OPT_PICTURE, &o);
    if (o.npos != 1) {
        ob_msg("qr show: needs one FILE");
        ob_usage_verb("qr");
    }
    ob_diag_clear(&d);
    e = load_frames(o.pos[0], &o, &f, &d);
    if (e != OB_OK)
        goto out;
    ob_qr_short_digest(f->msgid, dg);

    if (!isatty(STDOUT_FILENO)) {
        /* Not a terminal (a pipe, a file, a test): the n parts, once. */
        print_summary(o.pos[0], f, &o);
        for (i = 0; i < f->n && e == OB_OK; i++) {
            e = utf8_at(f, (uint32_t)i, &o, 0, &pic, &d);
            if (e == OB_OK) {
                printf("frame %zu/%zu\n", i + 1, f->n);
                fwrite(pic.p, 1, pic.len, stdout);
            }
        }
        goto out;
    }

    /* Two columns per module when the terminal has room: easier to read. */
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
        ws.ws_col = 80;
        ws.ws_row = 24;
    }
    e = code_at(f, 0, &o, &first, &d);
    if (e != OB_OK)
        goto out;
    ob_qrimage_utf8_size(first, 1, &cols, &rows);
    wide = cols <= ws.ws_col && rows + 2 <= ws.ws_row;
    if (!wide) {
        ob_qrimage_utf8_size(first, 0, &cols, &rows);
        if (cols > ws.ws_col || rows + 2 > ws.ws_row) {
            e = too_small(&ws, &o, cols, rows + 2, &d);
            goto out;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() returns at once and the loop ends. */
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    have_signals = 1;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            have_termios = 1;
    }
    /* Alternate screen, cursor hidden. */
    fputs("\x1b[?1049h\x1b[?25l", stdout);
    screen = 1;
    /* Parts first, then fountain frames (or the parts again, for very large
     * bundles): a receiver that missed some completes from what follows. */
    for (k = 0; !stop_flag; k++) {
        struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
        uint32_t seq = ob_qr_sender_seq(f, k);
        e = utf8_at(f, seq, &o, wide, &pic, &d);
        if (e != OB_OK)
            break;
        fputs("\x1b[H", stdout);
        fwrite(pic.p, 1, pic.len, stdout);
        if (seq < f->n)
            printf("\x1b[K part %u/%zu  %s %s  %u/s  any key or Ctrl-C stops\x1b[K\n", seq + 1,
                   f->n, f->self_digest ? "digest" : "id", dg, o.fps);
        else
            printf("\x1b[K mixed frame %u (%zu parts)  %s %s  %u/s  any key or Ctrl-C "
                   "stops\x1b[K\n",
                   seq + 1, f->n, f->self_digest ? "digest" : "id", dg, o.fps);
        fflush(stdout);
        if (poll(&pfd, 1, (int)(1000 / o.fps)) > 0 && (pfd.revents & (POLLIN | POLLHUP)))
            break;
    }
out:
    if (screen) {
        fputs("\x1b[?25h\x1b[?1049l", stdout);
        fflush(stdout);
    }
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (have_signals) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (screen && f != NULL)
        printf("showed %s: %s %s, %zu parts\n", o.pos[0], f->self_digest ? "digest" : "id", dg,
               f->n);
    if (e != OB_OK)
        rc = ob_report(e, &d);
    ob_qrcode_free(first);
    ob_buf_free(&pic);
    ob_qr_frames_free(f);
    return rc;
}

/* ---- decode and scan: one frame handler ------------------------------- */

/*
 * Pictures of two transfers may sit in one folder, in any order, so decode
 * keeps one assembler per message (up to QR_MAX_MESSAGES) and finishes the
 * one that completes; the first frame read does not decide.  A camera sees
 * one screen, so scan locks onto the first message and says so.  --expect ID
 * names the message wanted; frames of any other are then ignored at once.
 * Messages are never mixed: each assembler takes frames of one (id, n, L).
 */
#define QR_MAX_MESSAGES 4
#define QR_MAX_FOREIGN  8

typedef struct foreign_id {
    uint8_t id[OB_QR_MSGID_LEN];
    size_t frames;
} foreign_id;

typedef struct reader {
    ob_qr_assembler *a[QR_MAX_MESSAGES];
    size_t frames[QR_MAX_MESSAGES]; /* valid frames offered to a[i] */
    size_t nmsg;
    foreign_id foreign[QR_MAX_FOREIGN]; /* messages not read, by id */
    size_t nforeign, foreign_other;     /* ... and frames past that table */
    uint8_t expect[OB_QR_MSGID_LEN];
    int have_expect;
    int lock_first; /* scan: the first message read is the only one */
    ob_qrscan *scan;
    const char *src;  /* the picture being read, for messages */
    int quiet_dups;   /* a camera sees each frame many times */
    size_t notes;     /* frames ignored */
    size_t last_have; /* for progress lines */
} reader;

static void msgid_text(const uint8_t id[OB_QR_MSGID_LEN], char out[20])
{
    ob_qr_short_digest(id, out);
}

/* Count a frame of a message not being read; 1 the first time its id is
 * seen, so a camera's stream of them is noted once. */
static int note_foreign(reader *r, const uint8_t id[OB_QR_MSGID_LEN])
{
    size_t i;

    r->notes++;
    for (i = 0; i < r->nforeign; i++) {
        if (memcmp(r->foreign[i].id, id, OB_QR_MSGID_LEN) == 0) {
            r->foreign[i].frames++;
            return 0;
        }
    }
    if (r->nforeign == QR_MAX_FOREIGN) {
        r->foreign_other++;
        return 0;
    }
    memcpy(r->foreign[r->nforeign].id, id, OB_QR_MSGID_LEN);
    r->foreign[r->nforeign++].frames = 1;
    return 1;
}

/* The assembler for this frame's message: an existing one that takes it, a
 * new one, or -1 (a message not read).  The frame has been added when >= 0. */
static int route_frame(reader *r, const uint8_t *data, size_t len, ob_qr_add_result *res,
                       ob_diag *d, ob_err *err)
{
    size_t i;

    *err = OB_OK;
    for (i = 0; i < r->nmsg; i++) {
        *err = ob_qr_assembler_add_frame(r->a[i], data, len, res, d);
        if (*err != OB_OK || *res != OB_QR_ADD_FOREIGN) {
            if (*err == OB_OK)
                r->frames[i]++;
            return (int)i;
        }
    }
    if (r->nmsg == QR_MAX_MESSAGES || (r->lock_first && r->nmsg > 0))
        return -1;
    r->a[r->nmsg] = ob_qr_assembler_new();
    if (r->a[r->nmsg] == NULL) {
        *err = ob_fail(d, OB_ERR_NOMEM, "out of memory for another message");
        return -1;
    }
    *err = ob_qr_assembler_add_frame(r->a[r->nmsg], data, len, res, d);
    if (*err != OB_OK) {
        ob_qr_assembler_free(r->a[r->nmsg]);
        r->a[r->nmsg] = NULL;
        return -1;
    }
    r->frames[r->nmsg] = 1;
    return (int)r->nmsg++;
}

static int on_symbol(void *ctx, const uint8_t *data, size_t len)
{
    reader *r = ctx;
    ob_qr_add_result res = OB_QR_ADD_NEW;
    uint8_t id[OB_QR_MSGID_LEN];
    char idt[20];
    ob_diag d;
    ob_err e;
    int k;

    ob_diag_clear(&d);
    e = ob_qr_frame_msgid(data, len, id, &d);
    if (e != OB_OK) {
        r->notes++;
        ob_msg("%s: frame ignored: %s", r->src, d.msg);
        return 0;
    }
    msgid_text(id, idt);
    if (r->have_expect && memcmp(id, r->expect, sizeof(id)) != 0) {
        if (note_foreign(r, id) || !r->quiet_dups)
            ob_msg("%s: frame of message %s ignored (not the expected one)", r->src, idt);
        return 0;
    }
    k = route_frame(r, data, len, &res, &d, &e);
    if (e != OB_OK) {
        r->notes++;
        ob_msg("%s: frame ignored: %s", r->src, d.msg);
        return 0;
    }
    if (k < 0) {
        if (note_foreign(r, id) || !r->quiet_dups)
            ob_msg("%s: frame of message %s ignored (%s)", r->src, idt,
                   r->lock_first ? "reading another message; --expect chooses"
                                 : "too many messages in one run");
        return 0;
    }
    if (r->lock_first && r->frames[k] == 1)
        ob_msg("%s: reading message %s (%zu parts); frames of other messages are ignored", r->src,
               idt, ob_qr_assembler_count(r->a[k]));
    switch (res) {
    case OB_QR_ADD_DUPLICATE:
        if (!r->quiet_dups)
            ob_msg("%s: nothing new: %s %s", r->src, idt, ob_qr_assembler_progress(r->a[k]));
        break;
    case OB_QR_ADD_FOREIGN: /* not reached: route_frame finds the taker */
    case OB_QR_ADD_NEW:
    case OB_QR_ADD_HELD:
    default:
        ob_msg("%s: %s %s", r->src, idt, ob_qr_assembler_progress(r->a[k]));
        break;
    }
    return 0;
}

static ob_err reader_gray(reader *r, const ob_gray *g, int *found, ob_diag *d)
{
    int retried = 0;
    ob_err e = ob_qrscan_gray(r->scan, g, on_symbol, r, found, &retried, d);

    return e;
}

static int reader_is_complete(const reader *r)
{
    size_t i;

    for (i = 0; i < r->nmsg; i++)
        if (ob_qr_assembler_is_complete(r->a[i]))
            return 1;
    return 0;
}

/*
 * Which message to write: the one complete message (several complete ones
 * with different ids need --expect); with none complete, the only message
 * read, so that its missing parts are named.  -1: ambiguous (told).
 */
static int reader_pick(reader *r)
{
    size_t i;
    int pick = -1;
    char idt[20];

    for (i = 0; i < r->nmsg; i++) {
        if (!ob_qr_assembler_is_complete(r->a[i]))
            continue;
        if (pick >= 0 && memcmp(ob_qr_assembler_msgid(r->a[pick]), ob_qr_assembler_msgid(r->a[i]),
                                OB_QR_MSGID_LEN) != 0) {
            ob_msg("frames of several complete messages were read; name the one wanted with "
                   "--expect ID:");
            for (i = 0; i < r->nmsg; i++) {
                msgid_text(ob_qr_assembler_msgid(r->a[i]), idt);
                ob_msg("  message %s: %s", idt, ob_qr_assembler_progress(r->a[i]));
            }
            return -1;
        }
        if (pick < 0)
            pick = (int)i;
    }
    if (pick >= 0 || r->nmsg <= 1)
        return pick >= 0 ? pick : 0;
    ob_msg("none of the %zu messages read is complete; nothing written:", r->nmsg);
    for (i = 0; i < r->nmsg; i++) {
        msgid_text(ob_qr_assembler_msgid(r->a[i]), idt);
        ob_msg("  message %s: %s", idt, ob_qr_assembler_progress(r->a[i]));
    }
    return -1;
}

/*
 * Is the payload a bundle that parses, every field of it (what inspect and
 * the programs that read it accept)?  A digest that matches only says the
 * frames arrived whole; an empty or foreign payload must not be written
 * as if it were a bundle.
 */
static ob_err payload_is_bundle(const uint8_t *p, size_t n, ob_diag *d)
{
    ob_request *q = NULL;
    ob_response *s = NULL;
    ob_keyrequest *kq = NULL;
    ob_keyresponse *ks = NULL;
    int kind = 0;
    ob_err e;

    if ((e = ob_bundle_peek(p, n, &kind, NULL, d)) != OB_OK)
        return e;
    switch (kind) {
    case OB_BUNDLE_REQUEST:
        e = ob_request_parse(p, n, &q, d);
        break;
    case OB_BUNDLE_RESPONSE:
        e = ob_response_parse(p, n, &s, d);
        break;
    case OB_BUNDLE_CERT_REQUEST:
        e = ob_keyrequest_parse(p, n, &kq, d);
        break;
    default:
        e = ob_keyresponse_parse(p, n, &ks, d);
        break;
    }
    ob_request_free(q);
    ob_response_free(s);
    ob_keyrequest_free(kq);
    ob_keyresponse_free(ks);
    return e;
}

/* Write the bundle if (and only if) it is complete, its digest matches and
 * it parses (any payload with --any). */
static int reader_finish(reader *r, const char *out, int any)
{
    uint8_t *bundle = NULL;
    ob_qr_assembler *empty = NULL;
    size_t len = 0, i;
    char dg[20];
    ob_diag d;
    ob_err e;
    int k;

    ob_diag_clear(&d);
    k = reader_pick(r);
    if (k < 0)
        return OB_EXIT_BAD;
    for (i = 0; i < r->nmsg; i++) {
        if ((int)i == k)
            continue;
        msgid_text(ob_qr_assembler_msgid(r->a[i]), dg);
        ob_msg("ignored %zu frame%s of another message %s (%s)", r->frames[i],
               r->frames[i] == 1 ? "" : "s", dg, ob_qr_assembler_progress(r->a[i]));
    }
    for (i = 0; i < r->nforeign; i++) {
        msgid_text(r->foreign[i].id, dg);
        ob_msg("ignored %zu frame%s of another message %s", r->foreign[i].frames,
               r->foreign[i].frames == 1 ? "" : "s", dg);
    }
    if (r->foreign_other > 0)
        ob_msg("ignored %zu frames of yet other messages", r->foreign_other);
    if (r->nmsg == 0) {
        empty = ob_qr_assembler_new(); /* says "no QR frame was read" */
        if (empty == NULL)
            return ob_report(ob_fail(&d, OB_ERR_NOMEM, "out of memory"), &d);
    }
    e = ob_qr_assembler_take(empty != NULL ? empty : r->a[k], &bundle, &len, &d);
    ob_qr_assembler_free(empty);
    if (e != OB_OK) {
        if (r->have_expect && e == OB_ERR_TRUNCATED && r->nmsg == 0) {
            msgid_text(r->expect, dg);
            ob_msg("no frame of the expected message %s was read; nothing written", dg);
        } else {
            ob_msg("%s; nothing written", d.msg);
        }
        return OB_EXIT_BAD;
    }
    {
        uint8_t id[OB_QR_MSGID_LEN];
        int self = ob_qr_message_id(bundle, len, id);
        ob_diag bd;
        ob_err be;
        ob_qr_short_digest(id, dg);
        ob_diag_clear(&bd);
        be = payload_is_bundle(bundle, len, &bd);
        if (be != OB_OK && !any) {
            ob_msg("message %s: the %zu bytes read are not a bundle (%s); nothing written (--any "
                   "writes a file that is not one)",
                   dg, len, bd.msg);
            free(bundle);
            return OB_EXIT_BAD;
        }
        e = ob_file_write_atomic(out, bundle, len, 0644, OB_WRITE_EXCL, &d);
        if (e == OB_OK && be == OB_OK)
            printf("wrote %s: %zu bytes, %s %s (checked: digest and every field)\n", out, len,
                   self ? "digest" : "id", dg);
        else if (e == OB_OK)
            printf("wrote %s: %zu bytes, id %s (not a bundle: only its SHA-256 is checked)\n", out,
                   len, dg);
    }
    free(bundle);
    return ob_report(e, &d);
}

static ob_err reader_init(reader *r, const qr_opts *o, ob_diag *d)
{
    memset(r, 0, sizeof(*r));
    /* Checked early to spare the work; the write itself is exclusive too. */
    if (ob_path_exists(o->out))
        return ob_fail(d, OB_ERR_EXISTS, "%s exists; it is never overwritten", o->out);
    /* Checked by parse_opts. */
    if (o->expect != NULL && ob_qr_parse_msgid(o->expect, r->expect) == 0)
        r->have_expect = 1;
    r->scan = ob_qrscan_new();
    if (r->scan == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "cannot set up the QR reader");
    return OB_OK;
}

static void reader_free(reader *r)
{
    size_t i;

    for (i = 0; i < r->nmsg; i++)
        ob_qr_assembler_free(r->a[i]);
    ob_qrscan_free(r->scan);
}

static int cmd_decode(int argc, char **argv)
{
    qr_opts o;
    reader r;
    ob_diag d;
    ob_err e;
    int i, rc = OB_EXIT_OK;

    parse_opts(argc, argv, OPT_OUT | OPT_EXPECT | OPT_ANY, &o);
    if (o.npos < 1 || o.out == NULL) {
        ob_msg("qr decode: needs -o FILE and at least one IMAGE");
        ob_usage_verb("qr");
    }
    ob_diag_clear(&d);
    e = reader_init(&r, &o, &d);
    if (e != OB_OK) {
        rc = ob_report(e, &d);
        goto out;
    }
    for (i = 0; i < o.npos; i++) {
        ob_gray *g = NULL;
        int found = 0;
        r.src = o.pos[i];
        e = ob_qrimage_png_read(o.pos[i], &g, &d);
        if (e == OB_ERR_IO || e == OB_ERR_NOMEM) {
            rc = ob_report(e, &d); /* a missing or unreadable file: the operator's to fix */
            goto out;
        }
        if (e != OB_OK) {
            r.notes++;
            ob_msg("%s: picture ignored: %s", o.pos[i], d.msg);
            continue;
        }
        e = reader_gray(&r, g, &found, &d);
        ob_gray_free(g);
        if (e != OB_OK) {
            rc = ob_report(e, &d);
            goto out;
        }
        if (found == 0) {
            r.notes++;
            ob_msg("%s: no QR code found (also not after the blurred retry)", o.pos[i]);
        }
    }
    rc = reader_finish(&r, o.out, o.any);
out:
    reader_free(&r);
    return rc;
}

static int cmd_scan(int argc, char **argv)
{
    qr_opts o;
    reader r;
    ob_diag d;
    zbar_video_t *video = NULL;
    struct sigaction sa, old_int;
    struct stat st;
    int rc = OB_EXIT_OK, enabled = 0, have_signals = 0;
    ob_gray *g = NULL;
    ob_err e;

    parse_opts(argc, argv, OPT_OUT | OPT_DEVICE | OPT_EXPECT | OPT_ANY, &o);
    if (o.npos != 0 || o.out == NULL) {
        ob_msg("qr scan: needs -o FILE");
        ob_usage_verb("qr");
    }
    if (o.device == NULL)
        o.device = "/dev/video0";
    ob_diag_clear(&d);
    e = reader_init(&r, &o, &d);
    if (e != OB_OK) {
        rc = ob_report(e, &d);
        goto out;
    }
    r.src = o.device;
    r.quiet_dups = 1;
    r.lock_first = 1;
    if (stat(o.device, &st) != 0 || !S_ISCHR(st.st_mode)) {
        ob_msg("%s: no such device (a camera is /dev/videoN; 'qr decode' reads picture files)",
               o.device);
        rc = OB_EXIT_USAGE;
        goto out;
    }
    video = zbar_video_create();
    /* Without a window, zbar picks the camera format cheapest to turn into
     * grey (Y800), which is what the scanner reads. */
    if (video == NULL || zbar_video_open(video, o.device) != 0 ||
        zbar_negotiate_format(video, NULL) != 0 || zbar_video_enable(video, 1) != 0) {
        ob_msg("%s: cannot use this video device: %s", o.device,
               video ? zbar_video_error_string(video, 0) : "out of memory");
        rc = OB_EXIT_USAGE;
        goto out;
    }
    enabled = 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    have_signals = 1;
    ob_msg("reading from %s; Ctrl-C stops", o.device);
    while (!stop_flag && !reader_is_complete(&r)) {
        zbar_image_t *img = zbar_video_next_image(video), *y800 = NULL;
        unsigned w, h;

        if (img == NULL) {
            if (stop_flag)
                break;
            ob_msg("%s: the camera stopped delivering pictures", o.device);
            rc = OB_EXIT_USAGE;
            goto out;
        }
        y800 = zbar_image_convert(img, zbar_fourcc('Y', '8', '0', '0'));
        zbar_image_destroy(img);
        if (y800 == NULL)
            continue;
        w = zbar_image_get_width(y800);
        h = zbar_image_get_height(y800);
        g = ob_gray_new((int)w, (int)h);
        if (g != NULL && zbar_image_get_data_length(y800) >= (unsigned long)w * h) {
            memcpy(g->px, zbar_image_get_data(y800), (size_t)w * h);
            e = reader_gray(&r, g, NULL, &d);
            if (e != OB_OK) {
                zbar_image_destroy(y800);
                rc = ob_report(e, &d);
                goto out;
            }
        }
        ob_gray_free(g);
        g = NULL;
        zbar_image_destroy(y800);
    }
    rc = reader_finish(&r, o.out, o.any);
out:
    ob_gray_free(g);
    if (have_signals)
        sigaction(SIGINT, &old_int, NULL);
    if (enabled)
        zbar_video_enable(video, 0);
    if (video != NULL)
        zbar_video_destroy(video);
    reader_free(&r);
    return rc;
}

int ob_cmd_qr(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } verbs[] = { { "show", cmd_show },
                  { "encode", cmd_encode },
                  { "decode", cmd_decode },
                  { "scan", cmd_scan } };
    size_t i;

    if (argc < 2)
        ob_usage_verb("qr");
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc, argv);
    ob_msg("qr: unknown verb '%s'", argv[1]);
    ob_usage_verb("qr");
}
