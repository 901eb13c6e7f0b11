/* hsv3_compact.c - compact v3 descriptor entries (layout and contract: hsv3_compact.h). */
#include "hsv3_compact.h"

#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define INTRO_ENTRY_LEN (2 + 1 + 64 + 64)

static int flow_ok(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

ob_err ob_hsv3_compact_encode(const ob_hsv3_compact *c, ob_buf *out, ob_diag *d)
{
    size_t i, flow_len = strnlen(c->flow_control, sizeof(c->flow_control));

    if (c->lifetime_min < OB_HSV3_MIN_LIFETIME || c->lifetime_min > OB_HSV3_MAX_LIFETIME)
        return ob_fail(d, OB_ERR_RANGE, "compact: lifetime %u minutes is outside %d..%d",
                       c->lifetime_min, OB_HSV3_MIN_LIFETIME, OB_HSV3_MAX_LIFETIME);
    if (c->cert_len == 0 || c->cert_len > OB_CERT_MAX_LEN)
        return ob_fail(d, OB_ERR_RANGE, "compact: certificate length %zu", c->cert_len);
    if (flow_len == sizeof(c->flow_control) || !flow_ok(c->flow_control, flow_len))
        return ob_fail(d, OB_ERR_MALFORMED, "compact: flow-control is not printable text");
    if (c->n_intros > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_RANGE, "compact: %zu intro points", c->n_intros);
    ob_buf_put_u8(out, OB_HSV3_COMPACT_VERSION);
    ob_buf_put_u16(out, (uint16_t)c->lifetime_min);
    ob_buf_put(out, c->seed, 32);
    ob_buf_put_u16(out, (uint16_t)c->cert_len);
    ob_buf_put(out, c->cert, c->cert_len);
    ob_buf_put_u8(out, (uint8_t)flow_len);
    ob_buf_put(out, c->flow_control, flow_len);
    ob_buf_put(out, c->desc_sig, 64);
    ob_buf_put_u8(out, (uint8_t)c->n_intros);
    for (i = 0; i < c->n_intros; i++) {
        ob_buf_put_u16(out, c->intros[i].instance);
        ob_buf_put_u8(out, c->intros[i].intro);
        ob_buf_put(out, c->intros[i].sigs, sizeof(c->intros[i].sigs));
    }
    return ob_buf_ok(out) ? OB_OK : ob_fail(d, OB_ERR_NOMEM, "out of memory");
}

ob_err ob_hsv3_compact_decode(const uint8_t *p, size_t n, ob_hsv3_compact *c, ob_diag *d)
{
    ob_cur cur;
    uint8_t v8;
    uint16_t v16;
    size_t i;

    memset(c, 0, sizeof(*c));
    ob_cur_init(&cur, p, n);
    if (ob_cur_get_u8(&cur, &v8) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "offset 0: version: truncated");
    if (v8 != OB_HSV3_COMPACT_VERSION)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "offset 0: version %u, expected %d", (unsigned)v8,
                       OB_HSV3_COMPACT_VERSION);
    if (ob_cur_get_u16(&cur, &v16) != 0)
        goto truncated;
    if (v16 < OB_HSV3_MIN_LIFETIME || v16 > OB_HSV3_MAX_LIFETIME)
        return ob_fail(d, OB_ERR_RANGE, "offset 1: lifetime %u minutes is outside %d..%d",
                       (unsigned)v16, OB_HSV3_MIN_LIFETIME, OB_HSV3_MAX_LIFETIME);
    c->lifetime_min = v16;
    if (ob_cur_get_bytes(&cur, c->seed, 32) != 0 || ob_cur_get_u16(&cur, &v16) != 0)
        goto truncated;
    if (v16 == 0 || v16 > OB_CERT_MAX_LEN)
        return ob_fail(d, OB_ERR_RANGE, "offset 35: certificate length %u, expected 1..%d",
                       (unsigned)v16, OB_CERT_MAX_LEN);
    c->cert_len = v16;
    if (ob_cur_get_bytes(&cur, c->cert, c->cert_len) != 0 || ob_cur_get_u8(&cur, &v8) != 0)
        goto truncated;
    if (v8 >= OB_HSV3_FLOWCTL_MAX)
        return ob_fail(d, OB_ERR_RANGE, "offset %zu: flow-control length %u, at most %d",
                       cur.off - 1, (unsigned)v8, OB_HSV3_FLOWCTL_MAX - 1);
    if (ob_cur_get_bytes(&cur, c->flow_control, v8) != 0)
        goto truncated;
    if (!flow_ok(c->flow_control, v8))
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: flow-control is not printable text",
                       cur.off - v8);
    if (ob_cur_get_bytes(&cur, c->desc_sig, 64) != 0 || ob_cur_get_u8(&cur, &v8) != 0)
        goto truncated;
    if (v8 > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_RANGE, "offset %zu: %u intro points, at most %d", cur.off - 1,
                       (unsigned)v8, OB_HSV3_MAX_INTROS);
    c->n_intros = v8;
    for (i = 0; i < c->n_intros; i++) {
        ob_hsv3_compact_intro *ip = &c->intros[i];
        if (ob_cur_get_u16(&cur, &ip->instance) != 0 || ob_cur_get_u8(&cur, &ip->intro) != 0 ||
            ob_cur_get_bytes(&cur, ip->sigs, sizeof(ip->sigs)) != 0)
            goto truncated;
    }
    if (!ob_cur_is_empty(&cur))
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: %zu trailing bytes", cur.off,
                       ob_cur_left(&cur));
    return OB_OK;
truncated:
    return ob_fail(d, OB_ERR_TRUNCATED, "offset %zu: entry of %zu bytes ends early", cur.off, n);
}

ob_err ob_hsv3_compact_check(const uint8_t *p, size_t n, ob_diag *d)
{
    ob_hsv3_compact c;

    return ob_hsv3_compact_decode(p, n, &c, d);
}
