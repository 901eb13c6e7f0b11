/* hsv3_revs.c - revision lists of a v3 master descriptor (layout and contract: hsv3_revs.h). */
#include "hsv3_revs.h"

#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_compact.h"
#include "hsv3_desc.h"
#include "ed25519x.h"

#include <stdlib.h>
#include <string.h>

static ob_err check_header(uint64_t first, uint32_t step, size_t n, uint64_t valid_from,
                           uint64_t valid_until, ob_diag *d)
{
    uint64_t last;

    if (n < 1 || n > OB_HSV3_REVS_MAX)
        return ob_fail(d, OB_ERR_RANGE, "offset 12: %zu revisions, expected 1..%d", n,
                       OB_HSV3_REVS_MAX);
    if (step < OB_HSV3_REVS_MIN_STEP || step > OB_HSV3_REVS_MAX_STEP)
        return ob_fail(d, OB_ERR_RANGE, "offset 8: step %lu s is outside %d..%d",
                       (unsigned long)step, OB_HSV3_REVS_MIN_STEP, OB_HSV3_REVS_MAX_STEP);
    /* n <= 1024 and step <= 21600, so (n-1)*step < 2^25: only the sum can wrap. */
    last = first + (uint64_t)(n - 1) * step;
    if (first < valid_from || last < first || last >= valid_until)
        return ob_fail(d, OB_ERR_RANGE,
                       "offset 0: revisions from %llu to %llu, outside the descriptor's window "
                       "%llu..%llu",
                       (unsigned long long)first, (unsigned long long)last,
                       (unsigned long long)valid_from, (unsigned long long)valid_until);
    return OB_OK;
}

ob_err ob_hsv3_revs_encode(uint64_t first, uint32_t step, const uint64_t *counters,
                           const uint8_t (*sigs)[64], size_t n, ob_buf *out, ob_diag *d)
{
    size_t i;
    ob_err err;

    /* The window is the record's business; here only the list's own rules. */
    if ((err = check_header(first, step, n, 0, UINT64_MAX, d)) != OB_OK)
        return err;
    for (i = 1; i < n; i++)
        if (counters[i] <= counters[i - 1])
            return ob_fail(d, OB_ERR_RANGE, "revision %zu: counter %llu does not exceed %llu",
                           i + 1, (unsigned long long)counters[i],
                           (unsigned long long)counters[i - 1]);
    ob_buf_put_u64(out, first);
    ob_buf_put_u32(out, step);
    ob_buf_put_u16(out, (uint16_t)n);
    for (i = 0; i < n; i++) {
        ob_buf_put_u64(out, counters[i]);
        ob_buf_put(out, sigs[i], 64);
    }
    return ob_buf_ok(out) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
}

ob_err ob_hsv3_revs_decode(const uint8_t *p, size_t n, uint64_t base_revision, uint64_t valid_from,
                           uint64_t valid_until, ob_hsv3_revs *out, ob_diag *d)
{
    uint64_t prev = base_revision, c;
    size_t i;
    ob_err err;

    memset(out, 0, sizeof(*out));
    if (n < OB_HSV3_REVS_HDR_LEN)
        return ob_fail(d, OB_ERR_TRUNCATED, "offset 0: %zu bytes, the header alone is %d", n,
                       OB_HSV3_REVS_HDR_LEN);
    out->first = ob_load_u64(p);
    out->step = ob_load_u32(p + 8);
    out->n = ob_load_u16(p + 12);
    if (n != OB_HSV3_REVS_HDR_LEN + out->n * OB_HSV3_REVS_ENTRY_LEN)
        return ob_fail(d,
                       n < OB_HSV3_REVS_HDR_LEN + out->n * OB_HSV3_REVS_ENTRY_LEN
                           ? OB_ERR_TRUNCATED
                           : OB_ERR_MALFORMED,
                       "offset 12: %zu revisions need %zu bytes, the list has %zu", out->n,
                       (size_t)OB_HSV3_REVS_HDR_LEN + out->n * OB_HSV3_REVS_ENTRY_LEN, n);
    if ((err = check_header(out->first, out->step, out->n, valid_from, valid_until, d)) != OB_OK)
        return err;
    for (i = 0; i < out->n; i++) {
        c = ob_load_u64(p + OB_HSV3_REVS_HDR_LEN + i * OB_HSV3_REVS_ENTRY_LEN);
        if (c <= prev)
            return ob_fail(d, OB_ERR_RANGE,
                           "offset %zu: revision %zu has counter %llu, not above %llu",
                           (size_t)OB_HSV3_REVS_HDR_LEN + i * OB_HSV3_REVS_ENTRY_LEN, i + 1,
                           (unsigned long long)c, (unsigned long long)prev);
        prev = c;
    }
    out->entries = p + OB_HSV3_REVS_HDR_LEN;
    return OB_OK;
}

uint64_t ob_hsv3_revs_from(const ob_hsv3_revs *r, size_t i)
{
    return r->first + (uint64_t)(i - 1) * r->step;
}

uint64_t ob_hsv3_revs_counter(const ob_hsv3_revs *r, size_t i)
{
    return ob_load_u64(r->entries + (i - 1) * OB_HSV3_REVS_ENTRY_LEN);
}

const uint8_t *ob_hsv3_revs_sig(const ob_hsv3_revs *r, size_t i)
{
    return r->entries + (i - 1) * OB_HSV3_REVS_ENTRY_LEN + 8;
}

size_t ob_hsv3_revs_plan(uint64_t now, uint64_t run_start, uint64_t until, unsigned lifetime_min,
                         unsigned rev_offset, uint64_t *first, uint32_t *step)
{
    uint64_t t;
    size_t n = 0;

    if (lifetime_min < OB_HSV3_MIN_LIFETIME || lifetime_min > OB_HSV3_MAX_LIFETIME)
        lifetime_min = OB_HSV3_DEFAULT_LIFETIME;
    *step = (uint32_t)lifetime_min * 30;
    *first = now + *step;
    if (now < run_start || *first < now)
        return 0;
    /* Each counter must be below tor's cap on T, or it would not grow. */
    for (t = *first; t < until && n < OB_HSV3_REVS_MAX; t += *step, n++)
        if (t - run_start + 1 + rev_offset >= OB_HSV3_REV_T_MAX)
            break;
    return n;
}

/* ---- rebuilding a revision ---- */

struct ob_hsv3_revbase {
    uint8_t A[32];
    uint64_t tp;
    ob_tp_params tpp;
    ob_hsv3_compact c;
    ob_hsv3_desc *desc; /* revision 0, verified: its intro points */
    const ob_hsv3_intro *ips[OB_HSV3_MAX_INTROS];
    ob_buf inner0; /* revision 0's inner layer, decrypted: what every revision carries */
    ob_hsv3_build_cache cache; /* filled by the first build */
};

void ob_hsv3_revbase_free(ob_hsv3_revbase *b)
{
    if (b == NULL)
        return;
    ob_hsv3_desc_free(b->desc);
    ob_buf_free(&b->inner0);
    ob_hsv3_build_cache_clear(&b->cache);
    free(b);
}

/*
 * Both layers of the parsed outer document o decrypted (their MACs
 * checked) with the blinded key Ab and o's counter; the inner plaintext is
 * appended to inner.
 */
static ob_err open_layers(const ob_hsv3_outer *o, const uint8_t A[32], const uint8_t Ab[32],
                          ob_buf *inner, ob_diag *d)
{
    ob_buf mid, blob;
    uint8_t sub[32];
    size_t clients = 0;
    ob_err err;

    ob_buf_init(&mid);
    ob_buf_init(&blob);
    if (ob_hsv3_subcredential(sub, A, Ab) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "subcredential derivation failed");
        goto out;
    }
    if ((err = ob_hsv3_layer_decrypt(o->blob, o->blob_len, Ab, 32, sub, o->revision, 1, &mid, d)) !=
            OB_OK ||
        (err = ob_hsv3_middle_parse(mid.p, mid.len, &clients, &blob, d)) != OB_OK ||
        (err = ob_hsv3_layer_decrypt(blob.p, blob.len, Ab, 32, sub, o->revision, 0, inner, d)) !=
            OB_OK)
        goto out;
    err = ob_buf_ok(inner) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
out:
    ob_buf_free(&mid);
    ob_buf_free(&blob);
    return err;
}

ob_err ob_hsv3_revbase_new(const uint8_t *base, size_t base_len, const uint8_t A[32], uint64_t tp,
                           const ob_tp_params *tpp, const uint8_t *compact, size_t compact_len,
                           ob_hsv3_revbase **out, ob_diag *d)
{
    ob_hsv3_revbase *b;
    ob_hsv3_outer o;
    size_t i;
    ob_err err;

    *out = NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_buf_init(&b->inner0);
    memcpy(b->A, A, 32);
    b->tp = tp;
    b->tpp = *tpp;
    if ((err = ob_hsv3_compact_decode(compact, compact_len, &b->c, d)) != OB_OK) {
        ob_diag_prefix(d, "compact entry: ");
        goto fail;
    }
    /* Read, not judged: whoever expanded (or signed) it verified it, and
     * every revision built from it is checked as a whole. */
    if ((err = ob_hsv3_desc_read(base, base_len, A, &b->desc, d)) != OB_OK) {
        ob_diag_prefix(d, "revision 0: ");
        goto fail;
    }
    if (b->desc->n_intros != b->c.n_intros || b->desc->lifetime_min != b->c.lifetime_min) {
        err = ob_fail(d, OB_ERR_MALFORMED, "revision 0 does not match its compact entry");
        goto fail;
    }
    for (i = 0; i < b->desc->n_intros; i++) {
        ob_hsv3_intro *ip = &b->desc->intros[i];

        /* The ed25519 form of its enc key, for every revision's 0B cert
         * (a key with none is refused by the builder). */
        ip->has_enc_key_ed = ob_curve25519_to_ed25519(ip->enc_key_ed, ip->enc_key, 0) == 0;
        b->ips[i] = ip;
    }
    /* What a full check compares every revision's inner layer with. */
    memset(&o, 0, sizeof(o));
    if ((err = ob_hsv3_outer_parse(base, base_len, &o, d)) == OB_OK)
        err = open_layers(&o, A, b->desc->blinded_key, &b->inner0, d);
    ob_hsv3_outer_clear(&o);
    if (err != OB_OK) {
        ob_diag_prefix(d, "revision 0: ");
        goto fail;
    }
    *out = b;
    return OB_OK;
fail:
    ob_hsv3_revbase_free(b);
    return err;
}

/*
 * The outer document: counter, lifetime, the entry's cert, the signature;
 * with inner non-NULL, both layers opened too (open_layers), from the same
 * parse.
 */
static ob_err check_outer(const ob_hsv3_revbase *b, const uint8_t *text, size_t len,
                          uint64_t counter, const ob_ed_cert *cert, ob_buf *inner, ob_diag *d)
{
    ob_hsv3_outer o;
    ob_err err;

    memset(&o, 0, sizeof(o));
    if ((err = ob_hsv3_outer_parse(text, len, &o, d)) != OB_OK)
        goto out;
    if (o.revision != counter || o.lifetime_min != b->c.lifetime_min ||
        o.cert_len != b->c.cert_len || memcmp(o.cert, b->c.cert, o.cert_len) != 0) {
        err = ob_fail(d, OB_ERR_INTERNAL, "the rebuilt descriptor differs from its entry");
        goto out;
    }
    if ((err = ob_hsv3_outer_check_sig(text, &o, cert->certified, d)) == OB_OK && inner != NULL)
        err = open_layers(&o, b->A, b->desc->blinded_key, inner, d);
out:
    ob_hsv3_outer_clear(&o);
    return err;
}

ob_err ob_hsv3_revbase_build(ob_hsv3_revbase *b, uint64_t counter, const uint8_t sig[64], int full,
                             uint8_t **out, size_t *out_len, ob_diag *d)
{
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64];
    ob_hsv3_build_in in;
    ob_ed_cert cert;
    ob_buf inner;
    size_t i;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = ob_ed_cert_parse(&cert, b->c.cert, b->c.cert_len, d)) != OB_OK)
        return err;
    for (i = 0; i < b->c.n_intros; i++)
        memcpy(sigs[i], b->c.intros[i].sigs, sizeof(sigs[i]));
    memset(&in, 0, sizeof(in));
    in.identity_pk = b->A;
    in.blinded_pk = b->desc->blinded_key; /* revision 0's, verified with it */
    in.tp = b->tp;
    in.tpp = &b->tpp;
    in.signing_cert = b->c.cert;
    in.signing_cert_len = b->c.cert_len;
    in.sign_pk = cert.certified;
    in.lifetime_min = b->c.lifetime_min;
    in.revision = counter;
    in.intros = b->ips;
    in.n_intros = b->c.n_intros;
    in.flow_control = b->c.flow_control[0] != '\0' ? b->c.flow_control : NULL;
    in.layout_seed = b->c.seed;
    in.intro_sigs = (const uint8_t(*)[2][64])sigs;
    in.desc_sig = sig;
    in.cache = &b->cache;
    if ((err = ob_hsv3_build(&in, out, out_len, d)) != OB_OK)
        return err;
    if (!full) {
        if ((err = check_outer(b, *out, *out_len, counter, &cert, NULL, d)) != OB_OK) {
            ob_diag_prefix(d, "revision %llu: ", (unsigned long long)counter);
            free(*out);
            *out = NULL;
            *out_len = 0;
        }
        return err;
    }
    /*
     * Full: as a client reads it, each signature checked once.  Its own
     * signature and counter, both layers decrypted with its
     * counter and their MACs checked, and its inner layer byte for byte
     * revision 0's: the same intro points under the same certificates,
     * whose signatures revision 0's check verified (the 08 cert is the
     * entry's, the same as revision 0's too).  Verifying those 40 or so
     * signatures again for every revision was most of a ceremony's time.
     */
    ob_buf_init(&inner);
    err = check_outer(b, *out, *out_len, counter, &cert, &inner, d);
    if (err != OB_OK)
        ob_diag_prefix(d, "revision %llu does not verify: ", (unsigned long long)counter);
    else if (inner.len != b->inner0.len || memcmp(inner.p, b->inner0.p, inner.len) != 0)
        err =
            ob_fail(d, OB_ERR_INTERNAL, "revision %llu: its inner layer differs from revision 0's",
                    (unsigned long long)counter);
    ob_buf_free(&inner);
    if (err != OB_OK) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    return err;
}
