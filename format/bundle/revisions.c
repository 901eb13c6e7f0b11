/* revisions.c - the revisions of a response's descriptor records (contract: revisions.h). */
#include "revisions.h"

#include "hsv3_revs.h"
#include "onion.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

/* The record's list; 0 when it has none (the parser has checked it). */
static int get_list(const ob_resp_descriptor *rd, ob_hsv3_revs *rv)
{
    ob_diag ignored;

    if (rd->version != 3 || rd->revisions == NULL || rd->revisions_len == 0)
        return 0;
    return ob_hsv3_revs_decode(rd->revisions, rd->revisions_len, rd->revision, rd->valid_from,
                               rd->valid_until, rv, &ignored) == OB_OK;
}

size_t ob_resp_revision_count(const ob_resp_descriptor *rd)
{
    ob_hsv3_revs rv;

    return get_list(rd, &rv) ? 1 + rv.n : 1;
}

uint64_t ob_resp_revision_max(const ob_resp_descriptor *rd)
{
    ob_hsv3_revs rv;

    return get_list(rd, &rv) && rv.n > 0 ? ob_hsv3_revs_counter(&rv, rv.n) : rd->revision;
}

uint32_t ob_resp_revision_step(const ob_resp_descriptor *rd)
{
    ob_hsv3_revs rv;

    return get_list(rd, &rv) ? rv.step : 0;
}

size_t ob_resp_revision_at(const ob_resp_descriptor *rd, uint64_t now)
{
    ob_hsv3_revs rv;
    size_t i, at = 0;

    if (!get_list(rd, &rv))
        return 0;
    for (i = 1; i <= rv.n && ob_hsv3_revs_from(&rv, i) <= now; i++)
        at = i;
    return at;
}

void ob_resp_revision_info(const ob_resp_descriptor *rd, size_t i, uint64_t *from,
                           uint64_t *counter)
{
    ob_hsv3_revs rv;

    if (i == 0 || !get_list(rd, &rv) || i > rv.n) {
        *from = rd->valid_from;
        *counter = rd->revision;
        return;
    }
    *from = ob_hsv3_revs_from(&rv, i);
    *counter = ob_hsv3_revs_counter(&rv, i);
}

static ob_err base_new(const ob_resp_descriptor *rd, const ob_tp_params *tpp, ob_hsv3_revbase **b,
                       ob_diag *d)
{
    uint8_t A[32];
    ob_err err;

    *b = NULL;
    if (rd->descriptor == NULL || rd->descriptor_len == 0 || rd->compact == NULL ||
        rd->compact_len == 0)
        return ob_fail(d, OB_ERR_INTERNAL, "revisions need the expanded record and its entry");
    if ((err = ob_onion_v3_decode(A, rd->service, strlen(rd->service), d)) != OB_OK)
        return err;
    return ob_hsv3_revbase_new(rd->descriptor, rd->descriptor_len, A, rd->tp, tpp, rd->compact,
                               rd->compact_len, b, d);
}

ob_err ob_resp_revision_bytes(const ob_resp_descriptor *rd, const ob_tp_params *tpp, size_t i,
                              uint8_t **out, size_t *out_len, ob_diag *d)
{
    ob_hsv3_revbase *b = NULL;
    ob_hsv3_revs rv;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if (i == 0) {
        if (rd->descriptor == NULL || rd->descriptor_len == 0)
            return ob_fail(d, OB_ERR_INTERNAL, "the record is not expanded");
        *out = malloc(rd->descriptor_len + 1);
        if (*out == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        memcpy(*out, rd->descriptor, rd->descriptor_len);
        (*out)[rd->descriptor_len] = '\0';
        *out_len = rd->descriptor_len;
        return OB_OK;
    }
    if (!get_list(rd, &rv) || i > rv.n)
        return ob_fail(d, OB_ERR_RANGE, "revision %zu of %zu", i, ob_resp_revision_count(rd));
    if ((err = base_new(rd, tpp, &b, d)) == OB_OK)
        err = ob_hsv3_revbase_build(b, ob_hsv3_revs_counter(&rv, i), ob_hsv3_revs_sig(&rv, i), 0,
                                    out, out_len, d);
    ob_hsv3_revbase_free(b);
    return err;
}

typedef struct check_ctx {
    const ob_response *resp;
    const ob_tp_params *tpp;
    int full;
} check_ctx;

/*
 * One record's further revisions, rebuilt and checked (a job:
 * format/core/pool.h).  With full, the first as a client reads it (both
 * layers decrypted, its inner layer compared with revision 0's) and each
 * later one by its counter, certificate and signature over the rebuilt
 * bytes: they differ from the first only in the counter that keys their
 * layers, encrypted by the same code from the same text (the build cache),
 * so decrypting each again would check that code again, not the revision.
 */
static ob_err check_record(void *ctx, size_t k, unsigned slot, ob_diag *d)
{
    const check_ctx *x = ctx;
    const ob_resp_descriptor *rd = &x->resp->descriptors[k];
    ob_hsv3_revbase *b = NULL;
    ob_hsv3_revs rv;
    uint8_t *text = NULL;
    size_t i, at = 0, len = 0;
    ob_err err;

    (void)slot;
    if (!get_list(rd, &rv))
        return OB_OK;
    err = base_new(rd, x->tpp, &b, d);
    for (i = 1; err == OB_OK && i <= rv.n; i++) {
        at = i;
        err = ob_hsv3_revbase_build(b, ob_hsv3_revs_counter(&rv, i), ob_hsv3_revs_sig(&rv, i),
                                    x->full && i == 1, &text, &len, d);
        free(text);
        text = NULL;
    }
    ob_hsv3_revbase_free(b);
    if (err != OB_OK)
        ob_diag_prefix(d, "descriptor %zu (%s.onion period %llu group %u), revision %zu: ", k,
                       rd->service, (unsigned long long)rd->tp, (unsigned)rd->group, at);
    return err;
}

ob_err ob_response_check_revisions_on(const ob_response *resp, const ob_tp_params *tpp, int full,
                                      unsigned threads, ob_diag *d)
{
    check_ctx x = { resp, tpp, full };

    return ob_pool_run(resp->n_descriptors, threads, check_record, &x, d);
}

ob_err ob_response_check_revisions(const ob_response *resp, const ob_tp_params *tpp, int full,
                                   ob_diag *d)
{
    return ob_response_check_revisions_on(resp, tpp, full, 0, d);
}
