/*
 * hsdir.c - consensus facts from tor's control port and the v3 HSDir ring.
 *
 * Consensus lines read (dir-spec §3.4.1, microdesc flavour), everything else
 * is skipped:
 *
 *   network-status-version 3 microdesc        first line
 *   valid-after|fresh-until|valid-until YYYY-MM-DD HH:MM:SS   once each
 *   params K=V ...                            hsdir_interval, hsdir_n_replicas,
 *                                             hsdir_spread_store, hsdir_spread_fetch
 *   shared-rand-previous-value N <b64 32>     optional
 *   shared-rand-current-value N <b64 32>      optional
 *   r nick <b64 20-byte id> date time ip orport dirport
 *   s Flag ...                                (HSDir)
 *   pr Proto=ranges ...                       (HSDir=2)
 *   directory-footer                          end of the router list
 */
#include "hsdir.h"

#include "buf.h"
#include "encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_BATCH 64

int onl_parse_isotime(const char *s, size_t n, uint64_t *out)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int v[6], i, k = 0;
    int64_t y, m, days;

    /* YYYY-MM-DD HH:MM:SS, digits exactly where expected */
    if (n != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return -1;
    for (i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
            return -1;
    v[k++] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    for (i = 5; i < 19; i += 3)
        v[k++] = (s[i] - '0') * 10 + (s[i + 1] - '0');
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return -1;
    if (v[2] >
        mdays[v[1] - 1] + (v[1] == 2 && (v[0] % 4 == 0 && (v[0] % 100 != 0 || v[0] % 400 == 0))))
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    y = v[0] - (v[1] <= 2);
    m = v[1];
    {
        int64_t era = y / 400, yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + v[2] - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        days = era * 146097 + doe - 719468;
    }
    *out = (uint64_t)(days * 86400 + v[3] * 3600 + v[4] * 60 + v[5]);
    return 0;
}

void onl_consensus_free(onl_consensus *c)
{
    if (c == NULL)
        return;
    free(c->nodes);
    free(c->v2_ids);
    free(c->v2_flags);
    free(c->v2_nicks);
    free(c);
}

static int starts(const char *line, size_t n, const char *kw)
{
    size_t k = strlen(kw);

    return n >= k && memcmp(line, kw, k) == 0;
}

/* Parse a signed decimal int32 param value. */
static int parse_i32(const char *s, size_t n, long *out)
{
    long v = 0;
    size_t i = 0;
    int neg = 0;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 10)
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 2147483647L)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* tor's networkstatus_get_param(): default when absent, clamped to [min,max]. */
static long clamp_param(long v, long lo, long hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Does a "pr" value like "1-2,4" include 2? */
static int proto_has(const char *s, size_t n, unsigned want)
{
    size_t i = 0;

    while (i < n) {
        unsigned long lo = 0, hi;
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9' && j - i < 6)
            lo = lo * 10 + (unsigned long)(s[j++] - '0');
        if (j == i)
            return 0;
        hi = lo;
        if (j < n && s[j] == '-') {
            size_t k = ++j;
            hi = 0;
            while (j < n && s[j] >= '0' && s[j] <= '9' && j - k < 6)
                hi = hi * 10 + (unsigned long)(s[j++] - '0');
            if (j == k)
                return 0;
        }
        if (want >= lo && want <= hi)
            return 1;
        if (j < n && s[j] != ',')
            return 0;
        i = j + 1;
    }
    return 0;
}

static ob_err parse_srv(const char *line, size_t n, uint8_t out[32], ob_diag *d, size_t lineno)
{
    const char *sp1 = memchr(line, ' ', n), *sp2, *v;
    size_t vl, got = 0;

    if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line))) == NULL)
        return ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: shared-rand value needs 2 fields",
                       lineno);
    v = sp2 + 1;
    vl = n - (size_t)(v - line);
    if (ob_base64_decode(out, 32, &got, v, vl, OB_B64_EITHER) != 0 || got != 32)
        return ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: SRV is not 32 bytes of base64",
                       lineno);
    return OB_OK;
}

typedef struct rtr {
    uint8_t id[20];
    char nick[20];
    int flag, proto;
} rtr;

ob_err onl_consensus_parse(const char *doc, size_t len, int testing, onl_consensus **out,
                           ob_diag *d)
{
    onl_consensus *c = NULL;
    rtr *rs = NULL;
    size_t nrs = 0, caprs = 0, lineno = 0, i;
    ob_cur cur;
    int seen_va = 0, seen_fu = 0, seen_vu = 0, seen_params = 0, in_routers = 0;
    long interval = 1440, replicas = 2, store = 4, fetch = 3;
    ob_err e = OB_OK;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_cur_init(&cur, doc, len);
    while (!ob_cur_is_empty(&cur)) {
        const char *line = NULL;
        size_t n = 0;
        int r = ob_cur_line(&cur, &line, &n);

        lineno++;
        if (r == -1) {
            e = ob_fail(d, OB_ERR_TRUNCATED, "consensus line %zu: no final newline", lineno);
            goto out;
        }
        if (r == -2) {
            e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: NUL or CR", lineno);
            goto out;
        }
        if (lineno == 1) {
            if (!(n == 24 && memcmp(line, "network-status-version 3", 24) == 0) &&
                !(n == 34 && memcmp(line, "network-status-version 3 microdesc", 34) == 0)) {
                e = ob_fail(d, OB_ERR_UNSUPPORTED,
                            "consensus line 1: expected network-status-version 3");
                goto out;
            }
            continue;
        }
        if (starts(line, n, "directory-footer"))
            break;
        if (!in_routers && (starts(line, n, "valid-after ") || starts(line, n, "fresh-until ") ||
                            starts(line, n, "valid-until "))) {
            uint64_t *t = line[0] == 'f' ? &c->fresh_until
                                         : (line[6] == 'a' ? &c->valid_after : &c->valid_until);
            int *seen = line[0] == 'f' ? &seen_fu : (line[6] == 'a' ? &seen_va : &seen_vu);
            if (*seen || onl_parse_isotime(line + 12, n - 12, t) != 0) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: bad or repeated %.11s",
                            lineno, line);
                goto out;
            }
            *seen = 1;
        } else if (!in_routers && starts(line, n, "params")) {
            size_t p = 6;
            if (seen_params++) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: repeated params", lineno);
                goto out;
            }
            while (p < n) {
                size_t q, eq;
                long v;
                if (line[p] != ' ') {
                    e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: bad params", lineno);
                    goto out;
                }
                p++;
                q = p;
                while (q < n && line[q] != ' ')
                    q++;
                for (eq = p; eq < q && line[eq] != '='; eq++)
                    ;
                if (eq == q || eq == p || parse_i32(line + eq + 1, q - eq - 1, &v) != 0) {
                    e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: bad param at column %zu",
                                lineno, p);
                    goto out;
                }
#define PARAM(name) (eq - p == strlen(name) && memcmp(line + p, name, eq - p) == 0)
                if (PARAM("hsdir_interval"))
                    interval = v;
                else if (PARAM("hsdir_n_replicas"))
                    replicas = v;
                else if (PARAM("hsdir_spread_store"))
                    store = v;
                else if (PARAM("hsdir_spread_fetch"))
                    fetch = v;
#undef PARAM
                p = q;
            }
        } else if (!in_routers && starts(line, n, "shared-rand-previous-value ")) {
            if (c->has_srv_prev) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: repeated SRV", lineno);
                goto out;
            }
            e = parse_srv(line, n, c->srv_prev, d, lineno);
            if (e != OB_OK)
                goto out;
            c->has_srv_prev = 1;
        } else if (!in_routers && starts(line, n, "shared-rand-current-value ")) {
            if (c->has_srv_cur) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: repeated SRV", lineno);
                goto out;
            }
            e = parse_srv(line, n, c->srv_cur, d, lineno);
            if (e != OB_OK)
                goto out;
            c->has_srv_cur = 1;
        } else if (starts(line, n, "r ")) {
            const char *tok[10];
            size_t tl[10], nt = 0, p = 2, got = 0;
            in_routers = 1;
            while (p <= n && nt < 10) {
                size_t q = p;
                while (q < n && line[q] != ' ')
                    q++;
                tok[nt] = line + p;
                tl[nt++] = q - p;
                p = q + 1;
            }
            if ((nt != 7 && nt != 8) || p <= n || tl[0] == 0 || tl[0] > 19) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: bad r line", lineno);
                goto out;
            }
            if (nrs >= ONL_HSDIR_MAX_RELAYS) {
                e = ob_fail(d, OB_ERR_RANGE, "consensus lists over %u relays",
                            ONL_HSDIR_MAX_RELAYS);
                goto out;
            }
            if (nrs == caprs) {
                size_t nc = caprs ? caprs * 2 : 256;
                rtr *nr = realloc(rs, nc * sizeof(*nr));
                if (nr == NULL) {
                    e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                    goto out;
                }
                rs = nr;
                caprs = nc;
            }
            memset(&rs[nrs], 0, sizeof(rs[nrs]));
            if (ob_base64_decode(rs[nrs].id, 20, &got, tok[1], tl[1], OB_B64_EITHER) != 0 ||
                got != 20) {
                e = ob_fail(d, OB_ERR_MALFORMED, "consensus line %zu: identity is not 20 bytes",
                            lineno);
                goto out;
            }
            memcpy(rs[nrs].nick, tok[0], tl[0]);
            rs[nrs].nick[tl[0]] = '\0';
            nrs++;
        } else if (in_routers && nrs > 0 && (starts(line, n, "s ") || (n == 1 && line[0] == 's'))) {
            size_t p = 1;
            while (p < n) {
                size_t q = ++p;
                while (q < n && line[q] != ' ')
                    q++;
                if (q - p == 5 && memcmp(line + p, "HSDir", 5) == 0)
                    rs[nrs - 1].flag = 1;
                p = q;
            }
        } else if (in_routers && nrs > 0 && starts(line, n, "pr ")) {
            size_t p = 2;
            while (p < n) {
                size_t q = ++p;
                while (q < n && line[q] != ' ')
                    q++;
                if (q - p > 6 && memcmp(line + p, "HSDir=", 6) == 0)
                    rs[nrs - 1].proto = proto_has(line + p + 6, q - p - 6, 2);
                p = q;
            }
        }
    }
    if (!seen_va || !seen_fu || !seen_vu) {
        e = ob_fail(d, OB_ERR_MALFORMED,
                    "consensus: valid-after, fresh-until or valid-until "
                    "missing");
        goto out;
    }
    if (c->fresh_until <= c->valid_after || c->valid_until < c->fresh_until ||
        c->fresh_until - c->valid_after > 86400) {
        e = ob_fail(d, OB_ERR_RANGE, "consensus: times out of order");
        goto out;
    }
    c->voting_interval = c->fresh_until - c->valid_after;
    /* Without the local tor's word, a voting interval under an hour means a
     * test network (the live network votes hourly). */
    c->testing = testing >= 0 ? testing : (c->voting_interval < 3600);
    c->tp.offset_min = (12 * c->voting_interval) / 60;
    if (c->testing)
        c->tp.length_min = (24 * c->voting_interval) / 60;
    else
        c->tp.length_min = (uint64_t)clamp_param(interval, 30, 14400);
    if (c->tp.length_min == 0) {
        e = ob_fail(d, OB_ERR_RANGE, "consensus: voting interval too short for a time period");
        goto out;
    }
    c->n_replicas = (unsigned)clamp_param(replicas, 1, 16);
    c->spread_store = (unsigned)clamp_param(store, 1, 128);
    c->spread_fetch = (unsigned)clamp_param(fetch, 1, 128);
    c->n_relays = nrs;
    if (nrs > 0) {
        /* v2 HSDirs need only the flag (tor 0.4.5 rendcommon.c,
         * hid_serv_get_responsible_directories). */
        c->v2_ids = calloc(nrs, sizeof(*c->v2_ids));
        c->v2_flags = calloc(nrs, sizeof(*c->v2_flags));
        c->v2_nicks = calloc(nrs, sizeof(*c->v2_nicks));
        if (c->v2_ids == NULL || c->v2_flags == NULL || c->v2_nicks == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < nrs; i++) {
            memcpy(c->v2_ids[i], rs[i].id, 20);
            c->v2_flags[i] = rs[i].flag;
            memcpy(c->v2_nicks[i], rs[i].nick, sizeof(rs[i].nick));
        }
    }
    for (i = 0; i < nrs; i++)
        if (rs[i].flag && rs[i].proto)
            c->n_nodes++;
    if (c->n_nodes > 0) {
        size_t k = 0;
        c->nodes = calloc(c->n_nodes, sizeof(*c->nodes));
        if (c->nodes == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < nrs; i++) {
            if (!(rs[i].flag && rs[i].proto))
                continue;
            memcpy(c->nodes[k].rsa_id, rs[i].id, 20);
            memcpy(c->nodes[k].nick, rs[i].nick, sizeof(rs[i].nick));
            c->nodes[k].is_hsdir = 1;
            k++;
        }
    }
out:
    free(rs);
    if (e != OB_OK) {
        onl_consensus_free(c);
        return e;
    }
    *out = c;
    return OB_OK;
}

ob_err onl_consensus_set_md(onl_consensus *c, size_t i, const char *md, size_t len, ob_diag *d)
{
    ob_cur cur;
    size_t lineno = 0;
    int found = 0;
    uint8_t ed[32];

    if (i >= c->n_nodes)
        return ob_fail(d, OB_ERR_INTERNAL, "node index out of range");
    ob_cur_init(&cur, md, len);
    while (!ob_cur_is_empty(&cur)) {
        const char *line = NULL;
        size_t n = 0, got = 0;
        int r = ob_cur_line(&cur, &line, &n);

        lineno++;
        if (r != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "microdescriptor line %zu: %s", lineno,
                           r == -1 ? "no final newline" : "NUL or CR");
        if (!starts(line, n, "id ed25519 "))
            continue;
        if (found)
            return ob_fail(d, OB_ERR_MALFORMED, "microdescriptor line %zu: repeated ed25519 id",
                           lineno);
        if (ob_base64_decode(ed, 32, &got, line + 11, n - 11, OB_B64_EITHER) != 0 || got != 32)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "microdescriptor line %zu: ed25519 id is not "
                           "32 bytes of base64",
                           lineno);
        found = 1;
    }
    if (!found)
        return ob_fail(d, OB_ERR_NOTFOUND, "microdescriptor has no ed25519 id");
    memcpy(c->nodes[i].ed_id, ed, 32);
    c->nodes[i].has_ed = 1;
    return OB_OK;
}

size_t onl_consensus_ring_size(const onl_consensus *c)
{
    size_t i, n = 0;

    for (i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].is_hsdir && c->nodes[i].has_ed)
            n++;
    return n;
}

int onl_consensus_slot_srv(const onl_consensus *c, const ob_hsv3_slot *slot, uint8_t srv[32])
{
    if (slot->use_current_srv && c->has_srv_cur) {
        memcpy(srv, c->srv_cur, 32);
        return 0;
    }
    if (!slot->use_current_srv && c->has_srv_prev) {
        memcpy(srv, c->srv_prev, 32);
        return 0;
    }
    return ob_hsv3_disaster_srv(srv, c->tp.length_min, slot->tp) == 0 ? 1 : -1;
}

typedef struct ring_ent {
    uint8_t idx[32];
    size_t node;
} ring_ent;

static int ring_cmp(const void *a, const void *b)
{
    return memcmp(((const ring_ent *)a)->idx, ((const ring_ent *)b)->idx, 32);
}

ob_err onl_hsdir_responsible(const onl_consensus *c, const uint8_t Ab[32], uint64_t tp,
                             const uint8_t srv[32], unsigned spread, size_t *out, size_t max,
                             size_t *n, ob_diag *d)
{
    ring_ent *ring = NULL;
    unsigned char *taken = NULL;
    size_t nr = 0, i, got = 0;
    unsigned rep;
    ob_err e = OB_OK;

    *n = 0;
    if (c->n_nodes > 0) {
        ring = calloc(c->n_nodes, sizeof(*ring));
        taken = calloc(c->n_nodes, 1);
        if (ring == NULL || taken == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (i = 0; i < c->n_nodes; i++) {
        if (!c->nodes[i].is_hsdir || !c->nodes[i].has_ed)
            continue;
        if (ob_hsv3_hsdir_index(ring[nr].idx, c->nodes[i].ed_id, srv, tp, c->tp.length_min) != 0) {
            e = ob_fail(d, OB_ERR_CRYPTO, "SHA3-256 failed");
            goto out;
        }
        ring[nr++].node = i;
    }
    if (nr == 0) {
        e = ob_fail(d, OB_ERR_NOTFOUND,
                    "the consensus has no usable HSDir (HSDir flag, "
                    "HSDir=2 and an ed25519 id)");
        goto out;
    }
    qsort(ring, nr, sizeof(*ring), ring_cmp);
    for (rep = 1; rep <= c->n_replicas; rep++) {
        uint8_t hs[32];
        size_t lo = 0, hi = nr, start, j;
        unsigned added = 0;

        if (ob_hsv3_hs_index(hs, Ab, rep, c->tp.length_min, tp) != 0) {
            e = ob_fail(d, OB_ERR_CRYPTO, "SHA3-256 failed");
            goto out;
        }
        while (lo < hi) { /* first entry >= hs */
            size_t mid = lo + (hi - lo) / 2;
            if (memcmp(ring[mid].idx, hs, 32) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        start = lo == nr ? 0 : lo;
        j = start;
        /* tor's hs_get_responsible_hsdirs(): walk once round the ring at most */
        while (added < spread) {
            if (!taken[j]) {
                taken[j] = 1;
                added++;
                if (got < max)
                    out[got] = ring[j].node;
                got++;
            }
            if (++j == nr)
                j = 0;
            if (j == start)
                break;
        }
    }
    *n = got < max ? got : max;
out:
    free(ring);
    free(taken);
    return e;
}

/* GETCONF TestingTorNetwork: 1, 0, or -1 when tor will not say. */
static int tor_testing(onl_ctl *ctl)
{
    onl_ctl_reply r = { 0 };
    int v = -1;

    if (onl_ctl_command(ctl, "GETCONF TestingTorNetwork", &r, 0, NULL) == OB_OK && r.code == 250 &&
        r.n == 1) {
        if (strcmp(r.lines[0].text, "TestingTorNetwork=1") == 0)
            v = 1;
        else if (strcmp(r.lines[0].text, "TestingTorNetwork=0") == 0)
            v = 0;
    }
    onl_ctl_reply_free(&r);
    return v;
}

static void hexfp(char out[41], const uint8_t id[20])
{
    static const char hx[] = "0123456789ABCDEF";
    int i;

    for (i = 0; i < 20; i++) {
        out[2 * i] = hx[id[i] >> 4];
        out[2 * i + 1] = hx[id[i] & 15];
    }
    out[40] = '\0';
}

/* md/id/<fp> for nodes [from, to); a node tor has no md for is left without ed. */
static ob_err fetch_mds(onl_ctl *ctl, onl_consensus *c, size_t from, size_t to, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_buf cmd;
    ob_err e;
    size_t i;
    char fp[41], key[52];

    ob_buf_init(&cmd);
    ob_buf_put_str(&cmd, "GETINFO");
    for (i = from; i < to; i++) {
        hexfp(fp, c->nodes[i].rsa_id);
        ob_buf_printf(&cmd, " md/id/%s", fp);
    }
    ob_buf_nul(&cmd);
    if (!ob_buf_ok(&cmd)) {
        ob_buf_free(&cmd);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    e = onl_ctl_command(ctl, (const char *)cmd.p, &r, 0, d);
    ob_buf_free(&cmd);
    if (e != OB_OK)
        return e;
    if (r.code != 250) {
        onl_ctl_reply_free(&r);
        /* One unknown relay fails the whole batch: ask one by one. */
        if (to - from > 1) {
            for (i = from; i < to; i++) {
                e = fetch_mds(ctl, c, i, i + 1, d);
                if (e != OB_OK)
                    return e;
            }
        }
        return OB_OK;
    }
    for (i = from; i < to; i++) {
        const char *md;
        size_t ml = 0;
        hexfp(fp, c->nodes[i].rsa_id);
        snprintf(key, sizeof(key), "md/id/%s", fp);
        md = onl_ctl_reply_value(&r, key, &ml);
        if (md != NULL)
            (void)onl_consensus_set_md(c, i, md, ml, NULL); /* no ed id: not in the ring */
    }
    onl_ctl_reply_free(&r);
    return OB_OK;
}

ob_err onl_consensus_fetch(onl_ctl *ctl, onl_consensus **out, ob_diag *d)
{
    onl_consensus *c = NULL;
    char *doc = NULL;
    size_t len = 0, i;
    int testing;
    ob_err e;

    *out = NULL;
    testing = tor_testing(ctl);
    if (!onl_ctl_is_connected(ctl))
        return ob_fail(d, OB_ERR_NET, "lost the control connection asking GETCONF");
    e = onl_ctl_getinfo(ctl, "dir/status-vote/current/consensus-microdesc", &doc, &len, d);
    if (e == OB_ERR_REFUSED)
        return ob_fail(d, OB_ERR_NOTFOUND, "tor has no consensus yet (%d)", onl_ctl_last_code(ctl));
    if (e != OB_OK)
        return e;
    if (len == 0) {
        free(doc);
        return ob_fail(d, OB_ERR_NOTFOUND, "tor has no consensus yet");
    }
    e = onl_consensus_parse(doc, len, testing, &c, d);
    free(doc);
    if (e != OB_OK)
        return e;
    for (i = 0; i < c->n_nodes; i += MD_BATCH) {
        size_t to = i + MD_BATCH < c->n_nodes ? i + MD_BATCH : c->n_nodes;
        e = fetch_mds(ctl, c, i, to, d);
        if (e != OB_OK) {
            onl_consensus_free(c);
            return e;
        }
    }
    *out = c;
    return OB_OK;
}
