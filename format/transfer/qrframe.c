/*
 * qrframe.c - QR transport framing (layout in qrframe.h and
 * docs/qr-transfer.rst).
 */
#include "qrframe.h"

#include "buf.h"
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A fountain frame not yet resolved: the XOR of the fragments in idx[]
 * (those still unknown; known ones are XORed out as they become known). */
typedef struct qr_mix {
    uint16_t *idx;
    size_t deg;
    uint8_t *data;
    uint32_t seq;
} qr_mix;

struct ob_qr_assembler {
    int locked;
    uint8_t msgid[OB_QR_MSGID_LEN];
    size_t n, stream_len, frag_len;
    uint8_t *have; /* n flags */
    size_t nhave;
    uint8_t *data; /* n * frag_len */
    qr_mix *mix;   /* held fountain frames */
    size_t nmix, max_mix;
    uint16_t *scratch; /* n entries, for deriving mix sets */
    char progress[256];
};

static size_t div_ceil(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

/*
 * The fountain rule (docs/qr-transfer.rst, "Fountain frames"): a SHA-256
 * counter-mode generator seeded from the frame's identity yields one bit per
 * fragment, most significant bit of each 32-bit word first; the frame mixes
 * the fragments whose bit is 1 (fragment seq mod n if none is).  Such dense,
 * independent mixes suit the Gauss-Jordan solver below: m random rows over u
 * unknowns have full rank with probability about 1 - 2^(u-m), so a receiver
 * needs only a frame or two more than it lacks (measured in the doc).
 */
typedef struct qr_prng {
    uint8_t seed[32];
    uint8_t block[32];
    uint32_t ctr;
    size_t used;
} qr_prng;

static void prng_init(qr_prng *r, const uint8_t msgid[OB_QR_MSGID_LEN], size_t n, size_t len,
                      uint32_t seq)
{
    static const char label[] = "OQ fountain v1";
    uint8_t tail[10];
    ob_iov v[3];

    ob_store_u16(tail, (uint16_t)n);
    ob_store_u32(tail + 2, (uint32_t)len);
    ob_store_u32(tail + 6, seq);
    v[0].p = label;
    v[0].n = sizeof(label) - 1;
    v[1].p = msgid;
    v[1].n = OB_QR_MSGID_LEN;
    v[2].p = tail;
    v[2].n = sizeof(tail);
    (void)ob_sha256(r->seed, v, 3);
    r->ctr = 0;
    r->used = sizeof(r->block);
}

static uint32_t prng_u32(qr_prng *r)
{
    if (r->used == sizeof(r->block)) {
        uint8_t c[4];
        ob_iov v[2];
        ob_store_u32(c, r->ctr++);
        v[0].p = r->seed;
        v[0].n = sizeof(r->seed);
        v[1].p = c;
        v[1].n = sizeof(c);
        (void)ob_sha256(r->block, v, 2);
        r->used = 0;
    }
    r->used += 4;
    return ob_load_u32(r->block + r->used - 4);
}

/* The set of fountain frame seq (seq >= n) into idx (n entries of room);
 * returns its size. */
static size_t mix_set(const uint8_t msgid[OB_QR_MSGID_LEN], size_t n, size_t len, uint32_t seq,
                      uint16_t *idx)
{
    qr_prng r;
    uint32_t word = 0;
    size_t deg = 0, i;

    prng_init(&r, msgid, n, len, seq);
    for (i = 0; i < n; i++) {
        if (i % 32 == 0)
            word = prng_u32(&r);
        if ((word >> (31 - i % 32)) & 1)
            idx[deg++] = (uint16_t)i;
    }
    if (deg == 0 && n > 0)                /* n >= 1 for every parsed or split message */
        idx[deg++] = (uint16_t)(seq % n); /* an empty mix would carry nothing */
    return deg;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        dst[i] ^= src[i];
}

void ob_qr_short_digest(const uint8_t id[OB_QR_MSGID_LEN], char out[20])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < OB_QR_MSGID_LEN; i++) {
        if (i == 4)
            out[o++] = ' ';
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 15];
    }
    out[o] = '\0';
}

int ob_qr_message_id(const uint8_t *p, size_t n, uint8_t id[OB_QR_MSGID_LEN])
{
    uint8_t h[32];
    int self = 0;

    /* Ends with the SHA-256 of what precedes it: a bundle, named by that. */
    if (n > 32 && ob_sha256_buf(h, p, n - 32) == 0 && memcmp(h, p + n - 32, 32) == 0)
        self = 1;
    else if (ob_sha256_buf(h, p, n) != 0)
        memset(h, 0, sizeof(h));
    memcpy(id, self ? p + n - 32 : h, OB_QR_MSGID_LEN);
    return self;
}

void ob_qr_frames_free(ob_qr_frames *f)
{
    size_t i;

    if (f == NULL)
        return;
    if (f->frame != NULL) {
        for (i = 0; i < f->n; i++)
            free(f->frame[i]);
        free(f->frame);
    }
    free(f->stream);
    free(f);
}

/* The transport stream: header, then the bundle or its zlib form. */
static ob_err build_stream(const uint8_t *bundle, size_t len, const uint8_t digest[32], ob_buf *s,
                           int *compressed, ob_diag *d)
{
    uLongf zlen = 0;
    uint8_t *z = NULL;
    ob_err e = OB_OK;

    *compressed = 0;
    if (len > 0) {
        zlen = compressBound((uLong)len);
        z = malloc(zlen);
        if (z == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory compressing %zu bytes", len);
            goto out;
        }
        if (compress2(z, &zlen, bundle, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
            e = ob_fail(d, OB_ERR_INTERNAL, "zlib failed to compress the bundle");
            goto out;
        }
        /* Ciphertext does not shrink; then the flag stays clear and the
         * receiver is spared an inflate. */
        *compressed = zlen < len;
    }
    ob_buf_put_u8(s, *compressed ? OB_QR_FLAG_ZLIB : 0);
    ob_buf_put_u32(s, (uint32_t)len);
    ob_buf_put(s, digest, 32);
    if (*compressed)
        ob_buf_put(s, z, zlen);
    else
        ob_buf_put(s, bundle, len);
    if (!ob_buf_ok(s))
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory building the transport stream");
out:
    free(z);
    return e;
}

ob_err ob_qr_split(const uint8_t *bundle, size_t len, size_t max_frame, ob_qr_frames **out,
                   ob_diag *d)
{
    ob_qr_frames *f = NULL;
    ob_buf s;
    size_t i, cap, n, frag;
    ob_err e = OB_OK;

    ob_buf_init(&s);
    *out = NULL;
    if (len > OB_QR_MAX_BUNDLE) {
        e = ob_fail(d, OB_ERR_RANGE, "bundle is %zu bytes, more than the %u a QR transfer carries",
                    len, OB_QR_MAX_BUNDLE);
        goto out;
    }
    if (max_frame < OB_QR_MIN_FRAME) {
        e = ob_fail(d, OB_ERR_RANGE, "QR capacity %zu bytes is below the %d-byte minimum frame",
                    max_frame, OB_QR_MIN_FRAME);
        goto out;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (ob_sha256_buf(f->digest, bundle, len) != 0) {
        e = ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
        goto out;
    }
    f->self_digest = ob_qr_message_id(bundle, len, f->msgid);
    e = build_stream(bundle, len, f->digest, &s, &f->compressed, d);
    if (e != OB_OK)
        goto out;
    cap = max_frame - OB_QR_OVERHEAD;
    n = div_ceil(s.len, cap);
    if (n > OB_QR_MAX_PARTS) {
        e = ob_fail(d, OB_ERR_RANGE,
                    "bundle needs %zu frames, more than %u: use a larger QR version", n,
                    OB_QR_MAX_PARTS);
        goto out;
    }
    /* Balanced fragments: every part carries at least one stream byte
     * ((n-1) * frag < L), which the decoder insists on. */
    frag = div_ceil(s.len, n);
    f->n = n;
    f->bundle_len = len;
    f->stream_len = s.len;
    f->frame_len = OB_QR_OVERHEAD + frag;
    f->frame = calloc(n, sizeof(*f->frame));
    f->stream = calloc(n, frag);
    if (f->frame == NULL || f->stream == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        uint8_t *p;
        size_t off = i * frag, take = s.len - off < frag ? s.len - off : frag;
        uLong crc;

        p = calloc(1, f->frame_len);
        if (p == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        f->frame[i] = p;
        p[0] = OB_QR_MAGIC0;
        p[1] = OB_QR_MAGIC1;
        p[2] = OB_QR_VERSION;
        p[3] = OB_QR_TYPE_PART;
        memcpy(p + 4, f->msgid, OB_QR_MSGID_LEN);
        ob_store_u32(p + 12, (uint32_t)i);
        ob_store_u16(p + 16, (uint16_t)n);
        ob_store_u32(p + 18, (uint32_t)s.len);
        memcpy(p + OB_QR_HEADER_LEN, s.p + off, take); /* the rest stays zero padding */
        memcpy(f->stream + off, s.p + off, take);
        crc = crc32(0L, p, (uInt)(OB_QR_HEADER_LEN + frag));
        ob_store_u32(p + OB_QR_HEADER_LEN + frag, (uint32_t)crc);
    }
    *out = f; /* ownership to the caller */
    f = NULL;
out:
    ob_qr_frames_free(f);
    ob_buf_free(&s);
    return e;
}

ob_err ob_qr_frame_at(const ob_qr_frames *f, uint32_t seq, uint8_t *out, ob_diag *d)
{
    size_t frag = f->frame_len - OB_QR_OVERHEAD, deg, i;
    uint16_t *idx = NULL;

    if (seq < f->n) {
        memcpy(out, f->frame[seq], f->frame_len);
        return OB_OK;
    }
    idx = calloc(f->n, sizeof(*idx));
    if (idx == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memcpy(out, f->frame[0], OB_QR_HEADER_LEN);
    out[3] = OB_QR_TYPE_FOUNTAIN;
    ob_store_u32(out + 12, seq);
    memset(out + OB_QR_HEADER_LEN, 0, frag);
    deg = mix_set(f->msgid, f->n, f->stream_len, seq, idx);
    for (i = 0; i < deg; i++)
        xor_into(out + OB_QR_HEADER_LEN, f->stream + (size_t)idx[i] * frag, frag);
    ob_store_u32(out + OB_QR_HEADER_LEN + frag,
                 (uint32_t)crc32(0L, out, (uInt)(OB_QR_HEADER_LEN + frag)));
    free(idx);
    return OB_OK;
}

uint32_t ob_qr_sender_seq(const ob_qr_frames *f, uint64_t k)
{
    if (f->n > OB_QR_FOUNTAIN_MAX)
        return (uint32_t)(k % f->n);
    return (uint32_t)(k % ((uint64_t)UINT32_MAX + 1));
}

ob_qr_assembler *ob_qr_assembler_new(void)
{
    return calloc(1, sizeof(ob_qr_assembler));
}

void ob_qr_assembler_free(ob_qr_assembler *a)
{
    size_t i;

    if (a == NULL)
        return;
    for (i = 0; i < a->nmix; i++) {
        free(a->mix[i].idx);
        free(a->mix[i].data);
    }
    free(a->mix);
    free(a->scratch);
    free(a->have);
    free(a->data);
    free(a);
}

size_t ob_qr_assembler_have(const ob_qr_assembler *a)
{
    return a->nhave;
}

size_t ob_qr_assembler_count(const ob_qr_assembler *a)
{
    return a->locked ? a->n : 0;
}

int ob_qr_assembler_is_complete(const ob_qr_assembler *a)
{
    return a->locked && a->nhave == a->n;
}

const uint8_t *ob_qr_assembler_msgid(const ob_qr_assembler *a)
{
    return a->locked ? a->msgid : NULL;
}

/* Header fields of one frame, after the checks that need no state. */
typedef struct frame_hdr {
    uint8_t msgid[OB_QR_MSGID_LEN];
    uint32_t seq;
    uint16_t n;
    uint32_t stream_len;
    uint8_t type;
    size_t frag_len;
    const uint8_t *frag;
} frame_hdr;

static ob_err parse_frame(const uint8_t *frame, size_t len, frame_hdr *h, ob_diag *d)
{
    ob_cur c;
    uint8_t m0, m1, ver, type;
    uint32_t crc;

    ob_cur_init(&c, frame, len);
    if (ob_cur_get_u8(&c, &m0) != 0 || ob_cur_get_u8(&c, &m1) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "frame of %zu bytes: too short for the magic", len);
    if (m0 != OB_QR_MAGIC0 || m1 != OB_QR_MAGIC1)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "frame offset 0: magic is not \"OQ\" (not our QR code)");
    if (ob_cur_get_u8(&c, &ver) != 0 || ob_cur_get_u8(&c, &type) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "frame of %zu bytes: truncated at offset %zu", len,
                       c.off);
    if (ver != OB_QR_VERSION)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "frame offset 2: format version %u, expected %u", ver,
                       OB_QR_VERSION);
    if (ob_cur_get_bytes(&c, h->msgid, sizeof(h->msgid)) != 0 || ob_cur_get_u32(&c, &h->seq) != 0 ||
        ob_cur_get_u16(&c, &h->n) != 0 || ob_cur_get_u32(&c, &h->stream_len) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "frame of %zu bytes: header truncated at offset %zu",
                       len, c.off);
    /* The CRC is checked before any field is believed. */
    if (len < OB_QR_OVERHEAD + 1)
        return ob_fail(d, OB_ERR_TRUNCATED, "frame of %zu bytes: no fragment and CRC", len);
    crc = ob_load_u32(frame + len - OB_QR_CRC_LEN);
    if (crc != (uint32_t)crc32(0L, frame, (uInt)(len - OB_QR_CRC_LEN)))
        return ob_fail(d, OB_ERR_VERIFY, "frame offset %zu: CRC-32 mismatch (damaged frame)",
                       len - OB_QR_CRC_LEN);
    if (type != OB_QR_TYPE_PART && type != OB_QR_TYPE_FOUNTAIN)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "frame offset 3: frame type %u is not supported",
                       type);
    h->type = type;
    if (h->n == 0)
        return ob_fail(d, OB_ERR_RANGE, "frame offset 16: fragment count is 0");
    if (h->stream_len < OB_QR_STREAM_HDR || h->stream_len > OB_QR_STREAM_HDR + OB_QR_MAX_BUNDLE)
        return ob_fail(d, OB_ERR_RANGE, "frame offset 18: stream length %u out of range",
                       h->stream_len);
    h->frag_len = div_ceil(h->stream_len, h->n);
    if ((size_t)(h->n - 1) * h->frag_len >= h->stream_len)
        return ob_fail(d, OB_ERR_RANGE,
                       "frame offset 16: %u fragments for a %u-byte stream leave a part empty",
                       h->n, h->stream_len);
    if (len != OB_QR_OVERHEAD + h->frag_len)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "frame is %zu bytes, its header implies %zu (fragment of %zu)", len,
                       OB_QR_OVERHEAD + h->frag_len, h->frag_len);
    if (type == OB_QR_TYPE_PART && h->seq >= h->n)
        return ob_fail(d, OB_ERR_RANGE, "frame offset 12: part %u of %u", h->seq, h->n);
    h->frag = frame + OB_QR_HEADER_LEN;
    if (h->seq == (uint32_t)h->n - 1) {
        size_t used = h->stream_len - (size_t)h->seq * h->frag_len, i;
        for (i = used; i < h->frag_len; i++)
            if (h->frag[i] != 0)
                return ob_fail(d, OB_ERR_MALFORMED, "frame offset %zu: padding is not zero",
                               OB_QR_HEADER_LEN + i);
    }
    return OB_OK;
}

ob_err ob_qr_frame_msgid(const uint8_t *frame, size_t len, uint8_t msgid[OB_QR_MSGID_LEN],
                         ob_diag *d)
{
    frame_hdr h;
    ob_err e;

    memset(&h, 0, sizeof(h));
    e = parse_frame(frame, len, &h, d);
    if (e == OB_OK)
        memcpy(msgid, h.msgid, OB_QR_MSGID_LEN);
    return e;
}

int ob_qr_parse_msgid(const char *text, uint8_t msgid[OB_QR_MSGID_LEN])
{
    uint8_t full[32];
    size_t nd = 0;
    const char *p;

    for (p = text; *p != '\0'; p++) {
        int v;
        if (*p == ' ')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            return -1;
        if (nd == 64)
            return -1;
        if (nd % 2 == 0)
            full[nd / 2] = (uint8_t)(v << 4);
        else
            full[nd / 2] |= (uint8_t)v;
        nd++;
    }
    if (nd != 2 * OB_QR_MSGID_LEN && nd != 64)
        return -1;
    memcpy(msgid, full, OB_QR_MSGID_LEN);
    return 0;
}

static void drop_mix(ob_qr_assembler *a, size_t i)
{
    free(a->mix[i].idx);
    free(a->mix[i].data);
    a->mix[i] = a->mix[--a->nmix];
    /* No stale pointers past nmix (also when i was the last). */
    memset(&a->mix[a->nmix], 0, sizeof(a->mix[a->nmix]));
}

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/*
 * Fragment k is now known (its bytes at frag): store it and peel it out of
 * every held fountain frame; frames left with one unknown fragment yield it
 * in turn.  Uses a->scratch as the stack of fragments to peel.
 */
static void learn(ob_qr_assembler *a, size_t k, const uint8_t *frag)
{
    size_t top = 0, i, m;

    memcpy(a->data + k * a->frag_len, frag, a->frag_len);
    a->have[k] = 1;
    a->nhave++;
    a->scratch[top++] = (uint16_t)k;
    while (top > 0) {
        size_t j = a->scratch[--top];
        const uint8_t *known = a->data + j * a->frag_len;
        for (m = 0; m < a->nmix;) {
            qr_mix *x = &a->mix[m];
            for (i = 0; i < x->deg && x->idx[i] != j; i++)
                ;
            if (i == x->deg) {
                m++;
                continue;
            }
            xor_into(x->data, known, a->frag_len);
            x->idx[i] = x->idx[--x->deg];
            if (x->deg == 1 && !a->have[x->idx[0]]) {
                size_t r = x->idx[0];
                /* Every fragment is pushed at most once: when it is learned. */
                memcpy(a->data + r * a->frag_len, x->data, a->frag_len);
                a->have[r] = 1;
                a->nhave++;
                a->scratch[top++] = (uint16_t)r;
                drop_mix(a, m);
            } else if (x->deg <= 1) {
                /* Fully known (its last fragment is being peeled now): nothing
                 * left to learn; the SHA-256 check catches any disagreement. */
                drop_mix(a, m);
            } else {
                m++;
            }
        }
    }
}

/*
 * Peeling stalls when every held frame still mixes two or more unknown
 * fragments, although together they may determine them all.  Then, once
 * there are at least as many held frames as unknown fragments, solve the
 * system by Gauss-Jordan elimination over GF(2).  Bounded to
 * OB_QR_FOUNTAIN_MAX unknowns (the cost grows with their square); past that
 * only peeling is used.  Returns -1 only when memory ran out.
 */
static int try_solve(ob_qr_assembler *a)
{
    size_t u = a->n - a->nhave, m = a->nmix, words, r, c, i, rank = 0, k;
    uint64_t *bits = NULL;
    uint8_t *data = NULL;
    uint16_t *col_of = NULL; /* fragment -> column, for unknown fragments */
    uint16_t *frag_of = NULL;
    int rc = 0;

    if (u == 0 || u > OB_QR_FOUNTAIN_MAX || m < u)
        return 0;
    words = (u + 63) / 64;
    bits = calloc(m * words, sizeof(*bits));
    data = malloc(m * a->frag_len);
    col_of = calloc(a->n, sizeof(*col_of));
    frag_of = calloc(u, sizeof(*frag_of));
    if (bits == NULL || data == NULL || col_of == NULL || frag_of == NULL) {
        rc = -1;
        goto out;
    }
    for (i = 0, c = 0; i < a->n; i++) {
        if (!a->have[i]) {
            col_of[i] = (uint16_t)c;
            frag_of[c++] = (uint16_t)i;
        }
    }
    /* Held frames hold unknown fragments only (known ones are peeled out). */
    for (r = 0; r < m; r++) {
        for (k = 0; k < a->mix[r].deg; k++) {
            c = col_of[a->mix[r].idx[k]];
            bits[r * words + c / 64] |= (uint64_t)1 << (c % 64);
        }
        memcpy(data + r * a->frag_len, a->mix[r].data, a->frag_len);
    }
    for (c = 0; c < u; c++) {
        uint64_t bit = (uint64_t)1 << (c % 64);
        for (r = rank; r < m && !(bits[r * words + c / 64] & bit); r++)
            ;
        if (r == m)
            goto out; /* not determined yet; wait for more frames */
        if (r != rank) {
            for (k = 0; k < words; k++) {
                uint64_t t = bits[r * words + k];
                bits[r * words + k] = bits[rank * words + k];
                bits[rank * words + k] = t;
            }
            for (k = 0; k < a->frag_len; k++) {
                uint8_t t = data[r * a->frag_len + k];
                data[r * a->frag_len + k] = data[rank * a->frag_len + k];
                data[rank * a->frag_len + k] = t;
            }
        }
        for (r = 0; r < m; r++) {
            if (r == rank || !(bits[r * words + c / 64] & bit))
                continue;
            for (k = 0; k < words; k++)
                bits[r * words + k] ^= bits[rank * words + k];
            xor_into(data + r * a->frag_len, data + rank * a->frag_len, a->frag_len);
        }
        rank++;
    }
    /* Row c is now fragment frag_of[c] alone. */
    for (c = 0; c < u; c++) {
        memcpy(a->data + (size_t)frag_of[c] * a->frag_len, data + c * a->frag_len, a->frag_len);
        a->have[frag_of[c]] = 1;
        a->nhave++;
    }
    while (a->nmix > 0)
        drop_mix(a, a->nmix - 1);
out:
    free(bits);
    free(data);
    free(col_of);
    free(frag_of);
    return rc;
}

static ob_err add_mix(ob_qr_assembler *a, const frame_hdr *h, ob_qr_add_result *res, ob_diag *d)
{
    uint16_t *idx = NULL, *shrunk;
    uint8_t *data = NULL;
    size_t deg, i, unknown = 0;
    qr_mix *grown;
    ob_err e = OB_OK;

    idx = calloc(a->n, sizeof(*idx));
    data = malloc(a->frag_len);
    if (idx == NULL || data == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(data, h->frag, a->frag_len);
    deg = mix_set(a->msgid, a->n, a->stream_len, h->seq, idx);
    for (i = 0; i < deg; i++) {
        if (a->have[idx[i]])
            xor_into(data, a->data + (size_t)idx[i] * a->frag_len, a->frag_len);
        else
            idx[unknown++] = idx[i];
    }
    if (unknown == 0) {
        if (!is_zero(data, a->frag_len)) {
            e = ob_fail(d, OB_ERR_VERIFY, "fountain frame %u disagrees with the parts already read",
                        h->seq);
            goto out;
        }
        *res = OB_QR_ADD_DUPLICATE;
        goto out;
    }
    if (unknown == 1) {
        learn(a, idx[0], data);
        *res = OB_QR_ADD_NEW;
        goto out;
    }
    for (i = 0; i < a->nmix; i++) {
        if (a->mix[i].seq == h->seq) {
            *res = OB_QR_ADD_DUPLICATE; /* the camera saw this frame again */
            goto out;
        }
    }
    if (a->nmix == a->max_mix) {
        /* Bounded memory: with this many held, fresh frames are worth more. */
        drop_mix(a, 0);
    }
    if (a->mix == NULL) {
        grown = calloc(a->max_mix, sizeof(*grown));
        if (grown == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        a->mix = grown;
    }
    /* Keep only the unknown entries: a held frame of a large message
     * would otherwise pin n of them, n^2 in all. */
    shrunk = realloc(idx, unknown * sizeof(*idx));
    if (shrunk != NULL)
        idx = shrunk;
    a->mix[a->nmix].idx = idx;
    a->mix[a->nmix].deg = unknown;
    a->mix[a->nmix].data = data;
    a->mix[a->nmix].seq = h->seq;
    a->nmix++;
    idx = NULL; /* ownership to the held frame */
    data = NULL;
    *res = OB_QR_ADD_HELD;
    if (try_solve(a) != 0)
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory solving the fountain frames");
    else if (a->nhave == a->n)
        *res = OB_QR_ADD_NEW;
out:
    free(idx);
    free(data);
    return e;
}

ob_err ob_qr_assembler_add_frame(ob_qr_assembler *a, const uint8_t *frame, size_t len,
                                 ob_qr_add_result *res, ob_diag *d)
{
    frame_hdr h;
    ob_err e;
    uint8_t *slot;

    memset(&h, 0, sizeof(h));
    e = parse_frame(frame, len, &h, d);
    if (e != OB_OK)
        return e;
    if (!a->locked) {
        a->have = calloc(h.n, 1);
        a->data = calloc(h.n, h.frag_len);
        a->scratch = calloc(h.n, sizeof(*a->scratch));
        if (a->have == NULL || a->data == NULL || a->scratch == NULL) {
            free(a->have);
            free(a->data);
            free(a->scratch);
            a->have = a->data = NULL;
            a->scratch = NULL;
            return ob_fail(d, OB_ERR_NOMEM, "out of memory for %u parts", h.n);
        }
        memcpy(a->msgid, h.msgid, sizeof(a->msgid));
        a->n = h.n;
        a->stream_len = h.stream_len;
        a->frag_len = h.frag_len;
        /* Past OB_QR_FOUNTAIN_MAX parts the solver is off and senders do not
         * send fountain frames; a few held ones then bound the memory (each
         * may mix up to n fragments) that a hostile sequence could pin. */
        a->max_mix = a->n <= OB_QR_FOUNTAIN_MAX ? 2 * a->n + 16 : 64;
        a->locked = 1;
    } else if (memcmp(a->msgid, h.msgid, sizeof(a->msgid)) != 0 || a->n != h.n ||
               a->stream_len != h.stream_len) {
        *res = OB_QR_ADD_FOREIGN;
        return OB_OK;
    }
    if (h.seq >= a->n)
        return add_mix(a, &h, res, d);
    /* A part (type 1, or type 2 with seq < n: the same bytes). */
    slot = a->data + (size_t)h.seq * a->frag_len;
    if (a->have[h.seq]) {
        if (memcmp(slot, h.frag, a->frag_len) != 0)
            return ob_fail(d, OB_ERR_VERIFY, "part %u differs from an earlier copy of it",
                           h.seq + 1);
        *res = OB_QR_ADD_DUPLICATE;
        return OB_OK;
    }
    learn(a, h.seq, h.frag);
    *res = OB_QR_ADD_NEW;
    return OB_OK;
}

const char *ob_qr_assembler_progress(ob_qr_assembler *a)
{
    size_t i, o, listed = 0;
    int w;

    if (!a->locked) {
        snprintf(a->progress, sizeof(a->progress), "0/?, no frame yet");
        return a->progress;
    }
    w = snprintf(a->progress, sizeof(a->progress), "%zu/%zu", a->nhave, a->n);
    o = (size_t)w;
    if (a->nhave < a->n) {
        w = snprintf(a->progress + o, sizeof(a->progress) - o, ", missing");
        o += (size_t)w;
        for (i = 0; i < a->n; i++) {
            if (a->have[i])
                continue;
            if (listed == 24) {
                snprintf(a->progress + o, sizeof(a->progress) - o, " ... and %zu more",
                         a->n - a->nhave - listed);
                break;
            }
            /* 24 entries of at most 6 characters fit in the buffer. */
            w = snprintf(a->progress + o, sizeof(a->progress) - o, " %zu", i + 1);
            o += (size_t)w;
            listed++;
        }
        o = strlen(a->progress);
        if (a->nmix > 0)
            snprintf(a->progress + o, sizeof(a->progress) - o, "; %zu fountain frame%s held",
                     a->nmix, a->nmix == 1 ? "" : "s");
    }
    return a->progress;
}

ob_err ob_qr_assembler_take(ob_qr_assembler *a, uint8_t **out, size_t *len, ob_diag *d)
{
    ob_cur c;
    uint8_t flags, digest[32], want[32], id[OB_QR_MSGID_LEN];
    uint32_t blen;
    uint8_t *bundle = NULL;
    ob_err e = OB_OK;

    *out = NULL;
    *len = 0;
    if (!a->locked)
        return ob_fail(d, OB_ERR_TRUNCATED, "no QR frame was read");
    if (a->nhave < a->n)
        return ob_fail(d, OB_ERR_TRUNCATED, "incomplete: %s", ob_qr_assembler_progress(a));
    /* Fragments learned from fountain frames were not checked on arrival. */
    if (!is_zero(a->data + a->stream_len, a->n * a->frag_len - a->stream_len))
        return ob_fail(d, OB_ERR_VERIFY, "stream padding is not zero (inconsistent frames)");
    ob_cur_init(&c, a->data, a->stream_len);
    if (ob_cur_get_u8(&c, &flags) != 0 || ob_cur_get_u32(&c, &blen) != 0 ||
        ob_cur_get_bytes(&c, want, sizeof(want)) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "stream offset %zu: header truncated", c.off);
    if ((flags & ~OB_QR_FLAG_ZLIB) != 0)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "stream offset 0: unknown flags 0x%02x", flags);
    if (blen > OB_QR_MAX_BUNDLE)
        return ob_fail(d, OB_ERR_RANGE, "stream offset 1: bundle length %u over the %u cap", blen,
                       OB_QR_MAX_BUNDLE);
    /* +1 so that a zero-length bundle still gets a real allocation. */
    bundle = malloc((size_t)blen + 1);
    if (bundle == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory for a %u-byte bundle", blen);
    if (flags & OB_QR_FLAG_ZLIB) {
        uLongf dlen = blen;
        uLong slen = (uLong)ob_cur_left(&c);
        int zr = uncompress2(bundle, &dlen, ob_cur_ptr(&c), &slen);
        if (zr != Z_OK || dlen != blen || slen != ob_cur_left(&c)) {
            e = ob_fail(d, OB_ERR_MALFORMED,
                        "stream offset %d: zlib data is damaged or does not hold exactly %u bytes",
                        OB_QR_STREAM_HDR, blen);
            goto out;
        }
    } else {
        if (ob_cur_left(&c) != blen) {
            e = ob_fail(d, OB_ERR_MALFORMED, "stream holds %zu bundle bytes, its header says %u",
                        ob_cur_left(&c), blen);
            goto out;
        }
        memcpy(bundle, ob_cur_ptr(&c), blen);
    }
    if (ob_sha256_buf(digest, bundle, blen) != 0) {
        e = ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
        goto out;
    }
    if (memcmp(digest, want, sizeof(digest)) != 0) {
        e = ob_fail(d, OB_ERR_VERIFY, "reassembled bundle does not match its SHA-256");
        goto out;
    }
    (void)ob_qr_message_id(bundle, blen, id);
    if (memcmp(id, a->msgid, OB_QR_MSGID_LEN) != 0) {
        e = ob_fail(d, OB_ERR_VERIFY, "the frames' message id is not the reassembled bundle's");
        goto out;
    }
    *out = bundle; /* ownership to the caller */
    *len = blen;
    bundle = NULL;
out:
    free(bundle);
    return e;
}
