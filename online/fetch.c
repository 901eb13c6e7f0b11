/*
 * fetch.c - HSFETCH many instances with a bounded window and retries, and
 * the live `collect` built on it (fetch.h).
 */
#include "fetch.h"

#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t onl_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int onl_env_timeout_ms(const char *name, int dflt)
{
    const char *env = getenv(name);
    char *end = NULL;
    long v;

    if (env == NULL || env[0] == '\0')
        return dflt;
    v = strtol(env, &end, 10);
    return *end == '\0' && v > 0 && v <= 3600000 ? (int)v : dflt;
}

void onl_fetch_opts_init(onl_fetch_opts *o)
{
    o->window = ONL_FETCH_WINDOW;
    o->timeout_ms = ONL_FETCH_TIMEOUT_MS;
    o->tries = ONL_FETCH_TRIES;
    o->reconnect_ms = ONL_FETCH_RECONNECT;
    o->cancel = NULL;
    o->tick = NULL;
    o->tick_ctx = NULL;
    o->timeout_ms = onl_env_timeout_ms("OB_FETCH_TIMEOUT_MS", o->timeout_ms);
}

void onl_fetch_items_clear(onl_fetch_item *items, size_t n)
{
    size_t i;

    for (i = 0; items != NULL && i < n; i++) {
        free(items[i].desc);
        items[i].desc = NULL;
        items[i].len = 0;
    }
}

/* The outstanding item for an event's address, or NULL (stale or foreign). */
static onl_fetch_item *find_out(onl_fetch_item *items, size_t n, const char *addr)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (items[i].state == ONL_FETCH_OUT && strcmp(items[i].address, addr) == 0)
            return &items[i];
    return NULL;
}

/*
 * Whether an HS_DESC_CONTENT body begins as a descriptor of the address's
 * version does (rend-spec-v3 2.4 "hs-descriptor", rend-spec-v2 1.3
 * "rendezvous-service-descriptor").  Anything else is no descriptor, and
 * the instance is missing rather than invalid.
 */
static int looks_like_desc(const char *addr, const char *body, size_t len)
{
    const char *kw = strlen(addr) == 16 ? "rendezvous-service-descriptor " : "hs-descriptor ";
    size_t kl = strlen(kw);

    return len >= kl && memcmp(body, kw, kl) == 0;
}

/* An attempt ended without a descriptor: try again or give up. */
static void attempt_failed(onl_fetch_item *it, unsigned tries, const char *why)
{
    if (why != NULL)
        snprintf(it->why, sizeof(it->why), "%s", why);
    it->state = it->attempts < tries ? ONL_FETCH_IDLE : ONL_FETCH_FAILED;
}

static void on_event(onl_fetch_item *items, size_t n, const onl_ctl_event *ev, unsigned tries)
{
    onl_fetch_item *it;
    char why[256];

    if (ev->malformed || (ev->kind != ONL_EV_HS_DESC && ev->kind != ONL_EV_HS_DESC_CONTENT))
        return;
    it = find_out(items, n, ev->address);
    if (it == NULL)
        return;
    if (ev->kind == ONL_EV_HS_DESC_CONTENT) {
        if (ev->body_len == 0) {
            attempt_failed(it, tries, it->failed_seen ? NULL : "no HSDir had it");
            return;
        }
        if (!looks_like_desc(it->address, ev->body, ev->body_len)) {
            /* Not a descriptor at all: the fetch failed, it is not a
             * descriptor that fails verification ("invalid"). */
            snprintf(why, sizeof(why), "HSDir %s sent no descriptor (%zu bytes not starting %s)",
                     ev->hsdir[0] ? ev->hsdir : "(unknown)", ev->body_len,
                     strlen(it->address) == 16 ? "rendezvous-service-descriptor" : "hs-descriptor");
            attempt_failed(it, tries, why);
            return;
        }
        it->desc = malloc(ev->body_len);
        if (it->desc == NULL) {
            attempt_failed(it, tries, "out of memory");
            return;
        }
        memcpy(it->desc, ev->body, ev->body_len);
        it->len = ev->body_len;
        it->fetched_at = (uint64_t)time(NULL);
        it->why[0] = '\0';
        it->state = ONL_FETCH_OK;
    } else if (ev->action == ONL_HSA_FAILED) {
        /* Tor asks one HSDir per HSFETCH without SERVER=, and follows a
         * failure with an empty HS_DESC_CONTENT: that ends the attempt, so
         * it is not taken for the answer to the next one.  Should it not
         * come, the attempt ends soon anyway. */
        uint64_t soon = onl_mono_ms() + 2000;
        snprintf(why, sizeof(why), "HSDir %s: %s", ev->hsdir[0] ? ev->hsdir : "(unknown)",
                 ev->reason[0] ? ev->reason : "failed");
        snprintf(it->why, sizeof(it->why), "%s", why);
        it->failed_seen = 1;
        if (it->deadline > soon)
            it->deadline = soon;
    }
}

static int is_v2addr(const char *s)
{
    size_t i;

    for (i = 0; i < 16; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
            return 0;
    return s[16] == '\0';
}

/*
 * HSFETCH by a 16-char v2 address, as tor <= 0.4.5 took it (control-spec
 * 3.26; tor 0.4.5.10 control_cmd.c).  onl_ctl_hsfetch takes v3 only.
 */
static ob_err hsfetch_v2(onl_ctl *ctl, const char *addr16, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    char cmd[32], msg[160];
    ob_err err;

    if (!is_v2addr(addr16))
        return ob_fail(d, OB_ERR_MALFORMED, "HSFETCH: not a v2 onion address");
    snprintf(cmd, sizeof(cmd), "HSFETCH %s", addr16);
    err = onl_ctl_command(ctl, cmd, &r, 0, d);
    if (err == OB_OK && r.code != 250) {
        snprintf(msg, sizeof(msg), "%.150s",
                 r.n > 0 && r.lines[r.n - 1].text != NULL ? r.lines[r.n - 1].text : "");
        onl_ctl_sanitize(msg);
        err = ob_fail(d, OB_ERR_REFUSED, "%d %s", r.code, msg);
    }
    onl_ctl_reply_free(&r);
    return err;
}

static ob_err reconnect(onl_ctl *ctl, onl_fetch_item *items, size_t n, const onl_fetch_opts *o,
                        ob_diag *d)
{
    size_t i;
    ob_err err = onl_ctl_reconnect(ctl, o->reconnect_ms, d);

    if (err != OB_OK)
        return err;
    /* Their answers went with the old connection. */
    for (i = 0; i < n; i++)
        if (items[i].state == ONL_FETCH_OUT)
            items[i].state = ONL_FETCH_IDLE;
    return OB_OK;
}

ob_err onl_fetch_run(onl_ctl *ctl, onl_fetch_item *items, size_t n, const onl_fetch_opts *o,
                     ob_diag *d)
{
    onl_ctl_event *ev = NULL;
    ob_diag ld;
    ob_err err;
    size_t i;

    err = onl_ctl_setevents(ctl, "HS_DESC HS_DESC_CONTENT", d);
    if (err == OB_ERR_NET)
        err = reconnect(ctl, items, n, o, d);
    if (err != OB_OK)
        return err;
    for (;;) {
        uint64_t now = onl_mono_ms(), next = UINT64_MAX;
        size_t active = 0, open = 0;
        int wait;

        if (o->tick != NULL)
            o->tick(o->tick_ctx);
        if (o->cancel != NULL && *o->cancel) {
            for (i = 0; i < n; i++)
                if (items[i].state == ONL_FETCH_OUT || items[i].state == ONL_FETCH_IDLE) {
                    items[i].state = ONL_FETCH_FAILED;
                    snprintf(items[i].why, sizeof(items[i].why), "cancelled");
                }
            return OB_OK;
        }
        for (i = 0; i < n; i++) {
            onl_fetch_item *it = &items[i];
            if (it->state == ONL_FETCH_OUT && now >= it->deadline) {
                char why[96];
                snprintf(why, sizeof(why), "no answer from tor within %d s",
                         (o->timeout_ms + 999) / 1000);
                attempt_failed(it, o->tries, it->failed_seen ? NULL : why);
            }
            active += it->state == ONL_FETCH_OUT;
        }
        for (i = 0; i < n && active < o->window; i++) {
            onl_fetch_item *it = &items[i];
            if (it->state != ONL_FETCH_IDLE)
                continue;
            if (strlen(it->address) == 16)
                err = hsfetch_v2(ctl, it->address, &ld);
            else
                err = onl_ctl_hsfetch(ctl, it->address, NULL, 0, &ld);
            if (err == OB_ERR_NET) {
                err = reconnect(ctl, items, n, o, d);
                if (err != OB_OK)
                    return err;
                active = 0;
                i = (size_t)-1; /* start the window again */
                continue;
            }
            it->attempts++;
            if (err != OB_OK) {
                /* Tor refused the command (e.g. 552 for an address it
                 * does not take): asking again will not help.  A v2
                 * address answered 513 means a tor without v2. */
                if (strlen(it->address) == 16 && onl_ctl_last_code(ctl) == 513)
                    snprintf(it->why, sizeof(it->why), "%s (tor said: %.80s)", ONL_FETCH_NO_V2,
                             ld.msg);
                else
                    snprintf(it->why, sizeof(it->why), "tor refused HSFETCH: %.200s", ld.msg);
                it->state = ONL_FETCH_FAILED;
                continue;
            }
            it->state = ONL_FETCH_OUT;
            it->failed_seen = 0;
            it->deadline = onl_mono_ms() + (uint64_t)o->timeout_ms;
            active++;
        }
        for (i = 0; i < n; i++) {
            if (items[i].state == ONL_FETCH_OUT || items[i].state == ONL_FETCH_IDLE)
                open++;
            if (items[i].state == ONL_FETCH_OUT && items[i].deadline < next)
                next = items[i].deadline;
        }
        if (open == 0)
            return OB_OK;
        now = onl_mono_ms();
        wait = next == UINT64_MAX ? 100
               : next <= now      ? 0
                                  : (int)(next - now > 1000 ? 1000 : next - now);
        err = onl_ctl_next_event(ctl, &ev, wait, &ld);
        if (err == OB_ERR_NET) {
            err = reconnect(ctl, items, n, o, d);
            if (err != OB_OK)
                return err;
            continue;
        }
        if (err != OB_OK)
            return ob_fail(d, err, "%s", ld.msg);
        if (ev != NULL) {
            on_event(items, n, ev, o->tries);
            onl_ctl_event_free(ev);
            ev = NULL;
        }
    }
}

ob_err onl_fetch_ctl_opts(const ob_config *cfg, int argc, char **argv, onl_ctl_opts *o, ob_diag *d)
{
    int i;

    onl_ctl_opts_init(o);
    if (cfg != NULL) {
        if (cfg->tor_control_socket != NULL)
            o->socket_path = cfg->tor_control_socket;
        if (cfg->tor_address != NULL)
            o->host = cfg->tor_address;
        if (cfg->tor_port != 0)
            o->port = cfg->tor_port;
        if (cfg->tor_control_password != NULL)
            o->password = cfg->tor_control_password;
    }
    for (i = 0; i < argc; i++) {
        int r = onl_ctl_opts_arg(o, argc, argv, &i, d);
        if (r < 0)
            return OB_ERR_MALFORMED;
        if (r == 0)
            return ob_fail(d, OB_ERR_MALFORMED, "unexpected argument '%s'", argv[i]);
    }
    return OB_OK;
}

void onl_fetch_facts(const onl_consensus *c, ob_consensus_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->valid_after = c->valid_after;
    f->fresh_until = c->fresh_until;
    f->valid_until = c->valid_until;
    f->tp_length_min = (uint32_t)c->tp.length_min;
    f->tp_offset_min = (uint32_t)c->tp.offset_min;
    f->has_srv_current = c->has_srv_cur;
    memcpy(f->srv_current, c->srv_cur, 32);
    f->has_srv_previous = c->has_srv_prev;
    memcpy(f->srv_previous, c->srv_prev, 32);
}

/* What onl_collect_build's fetch callback looks results up in. */
typedef struct fetch_table {
    onl_fetch_item *items;
    size_t n;
    const char *why_all; /* non-NULL: every instance is missing for this reason */
    const char *why_v2;  /* non-NULL: every v2 instance is missing for this reason */
} fetch_table;

static ob_err table_fetch(void *ctx, const ob_cfg_service *s, const ob_cfg_instance *in,
                          uint8_t **desc, size_t *len, uint64_t *fetched_at, char *why,
                          size_t why_len, ob_diag *d)
{
    fetch_table *t = ctx;
    size_t i;

    (void)s;
    (void)d;
    if (t->why_all != NULL) {
        snprintf(why, why_len, "%s", t->why_all);
        return OB_ERR_NOTFOUND;
    }
    if (in->version != 3 && t->why_v2 != NULL) {
        snprintf(why, why_len, "%s", t->why_v2);
        return OB_ERR_NOTFOUND;
    }
    for (i = 0; i < t->n; i++) {
        onl_fetch_item *it = &t->items[i];
        if (strcmp(it->address, in->address) != 0)
            continue;
        if (it->state != ONL_FETCH_OK) {
            snprintf(why, why_len, "not fetched after %u attempt(s): %s", it->attempts,
                     it->why[0] ? it->why : "no reason");
            return OB_ERR_NOTFOUND;
        }
        /* Hand the body over; a second service with the same instance
         * gets "not fetched" below, so give it a copy instead. */
        *desc = malloc(it->len);
        if (*desc == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        memcpy(*desc, it->desc, it->len);
        *len = it->len;
        *fetched_at = it->fetched_at;
        return OB_OK;
    }
    snprintf(why, why_len, "not fetched");
    return OB_ERR_NOTFOUND;
}

int onl_fetch_version_has_v2(const char *ver)
{
    unsigned long v[4] = { 0, 0, 0, 0 };
    const char *p = ver;
    char *end = NULL;
    int i;

    for (i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        v[i] = strtoul(p, &end, 10);
        p = end;
        if (i < 3) {
            if (*p != '.')
                return -1;
            p++;
        }
    }
    if (*p != '\0' && *p != '-' && *p != ' ')
        return -1;
    if (v[0] != 0)
        return 0;
    if (v[1] < 3 || (v[1] == 3 && v[2] < 5))
        return 1;
    if (v[1] == 3 && v[2] == 5)
        return v[3] < 17;
    if (v[1] == 4 && v[2] <= 4)
        return 1;
    if (v[1] == 4 && v[2] == 5)
        return v[3] < 11;
    return 0;
}

int onl_fetch_tor_has_v2(onl_ctl *ctl, char *ver, size_t ver_len)
{
    const char *pv = onl_ctl_tor_version(ctl);
    char *val = NULL;
    size_t len = 0;
    int r;

    if (pv != NULL && pv[0] != '\0') {
        snprintf(ver, ver_len, "%s", pv);
    } else if (onl_ctl_getinfo(ctl, "version", &val, &len, NULL) == OB_OK && len > 0) {
        snprintf(ver, ver_len, "%s", val);
        onl_ctl_sanitize(ver);
    } else {
        snprintf(ver, ver_len, "unknown");
    }
    free(val);
    r = onl_fetch_version_has_v2(ver);
    return r;
}

ob_err onl_fetch_collect(onl_ctl *ctl, const ob_config *cfg, const onl_fetch_opts *o,
                         ob_request **out, onl_collect_stats *stats, int *consensus_ok, ob_diag *d)
{
    onl_consensus *c = NULL;
    onl_fetch_item *items = NULL;
    fetch_table t;
    ob_consensus_facts f;
    uint64_t now = (uint64_t)time(NULL);
    size_t i, j, k, n = 0, total = 0, n_v2 = 0;
    char ver[64], why_v2[OB_BUNDLE_MAX_TEXT];
    int has_v2 = -1;
    ob_err err;

    *out = NULL;
    *consensus_ok = 0;
    memset(&t, 0, sizeof(t));
    err = onl_consensus_fetch(ctl, &c, d);
    if (err == OB_ERR_NOTFOUND) {
        onl_collect_clock_facts(cfg, now, &f);
        t.why_all = "tor has no consensus yet, so it can reach no HSDir (is its network "
                    "enabled? wait for bootstrap)";
        err = onl_collect_build(cfg, &f, now, table_fetch, &t, out, stats, d);
        goto out;
    }
    if (err != OB_OK)
        goto out;
    *consensus_ok = 1;
    onl_fetch_facts(c, &f);
    for (i = 0; i < cfg->n_services; i++)
        total += cfg->services[i].n_instances;
    items = calloc(total ? total : 1, sizeof(*items));
    if (items == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < cfg->n_services; i++)
        for (j = 0; j < cfg->services[i].n_instances; j++)
            n_v2 += cfg->services[i].instances[j].version == 2;
    if (n_v2 > 0) {
        has_v2 = onl_fetch_tor_has_v2(ctl, ver, sizeof(ver));
        if (!onl_ctl_is_connected(ctl)) {
            err = ob_fail(d, OB_ERR_NET, "lost tor asking for its version");
            goto out;
        }
        if (has_v2 == 0) {
            snprintf(why_v2, sizeof(why_v2), "%s (tor %.40s)", ONL_FETCH_NO_V2, ver);
            t.why_v2 = why_v2;
        }
    }
    for (i = 0; i < cfg->n_services; i++) {
        for (j = 0; j < cfg->services[i].n_instances; j++) {
            const ob_cfg_instance *in = &cfg->services[i].instances[j];
            int dup = 0;
            if (!(in->version == 3 && strlen(in->address) == 56) &&
                !(in->version == 2 && strlen(in->address) == 16 && has_v2 != 0))
                continue;
            for (k = 0; k < n && !dup; k++)
                dup = strcmp(items[k].address, in->address) == 0;
            if (dup)
                continue;
            memcpy(items[n].address, in->address, strlen(in->address) + 1);
            n++;
        }
    }
    err = onl_fetch_run(ctl, items, n, o, d);
    if (err != OB_OK)
        goto out;
    t.items = items;
    t.n = n;
    err = onl_collect_build(cfg, &f, now, table_fetch, &t, out, stats, d);
out:
    onl_fetch_items_clear(items, n);
    free(items);
    onl_consensus_free(c);
    return err;
}

ob_err onl_fetch_collect_cli(const ob_config *cfg, int argc, char **argv, ob_request **out,
                             onl_collect_stats *stats, ob_diag *d)
{
    onl_ctl_opts co;
    onl_fetch_opts fo;
    onl_ctl *ctl = NULL;
    int have = 0;
    ob_err err;

    *out = NULL;
    memset(stats, 0, sizeof(*stats));
    err = onl_fetch_ctl_opts(cfg, argc, argv, &co, d);
    if (err != OB_OK)
        return err;
    err = onl_ctl_connect(&co, &ctl, d);
    if (err != OB_OK)
        goto out;
    onl_fetch_opts_init(&fo);
    err = onl_fetch_collect(ctl, cfg, &fo, out, stats, &have, d);
out:
    onl_ctl_close(ctl);
    return err;
}
