/*
 * daemon.c - `ob-online run` (daemon.h): collect, request, take responses,
 * publish and republish, status socket, signals, reconnects.
 */
#include "daemon.h"
#include "deleg_daemon.h"
#include "delegate.h"
#include "reqstore.h"

#include "bundle.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "fetch.h"
#include "fileio.h"
#include "hsdir.h"
#include "hsv3_desc.h"
#include "obtime.h"
#include "onion.h"
#include "publish.h"
#include "revisions.h"
#include "revsched.h"
#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum { L_DEBUG = 0, L_INFO, L_WARNING, L_ERROR, L_CRITICAL };

static const char *const level_names[] = { "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" };
static const int syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };

static int g_level = L_INFO;
static int g_syslog;
static FILE *g_logf;
static volatile sig_atomic_t g_stop, g_hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_hup = 1;
    else
        g_stop = 1;
}

static void fmt_utc(char out[OB_TIME_STR], uint64_t t)
{
    (void)ob_time_format(out, OB_TIME_STR, t, OB_TIME_PLAIN);
}

static void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dlog(int level, const char *fmt, ...)
{
    char msg[1024], ts[OB_TIME_STR];
    va_list ap;

    if (level < g_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g_syslog) {
        syslog(syslog_prio[level], "%s", msg);
        return;
    }
    fmt_utc(ts, (uint64_t)time(NULL));
    fprintf(g_logf != NULL ? g_logf : stderr, "%s [%s] %s\n", ts, level_names[level], msg);
    fflush(g_logf != NULL ? g_logf : stderr);
}

static int parse_level(const char *s)
{
    static const char *const names[] = { "debug", "info", "warning", "error", "critical" };
    int i;

    for (i = 0; s != NULL && i < 5; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return L_INFO;
}

static void setup_log(const ob_config *cfg, const char *verbosity)
{
    if (g_logf != NULL)
        fclose(g_logf);
    g_logf = NULL;
    if (g_syslog)
        closelog();
    g_syslog = 0;
    g_level = parse_level(verbosity != NULL ? verbosity : cfg->log_level);
    if (cfg->log_location != NULL && strcmp(cfg->log_location, "syslog") == 0) {
        openlog("ob-online", LOG_PID, LOG_DAEMON);
        g_syslog = 1;
    } else if (cfg->log_location != NULL && cfg->log_location[0] != '\0') {
        g_logf = fopen(cfg->log_location, "a");
        if (g_logf == NULL)
            dlog(L_ERROR, "cannot open LOG_LOCATION %s: %s; logging to stderr", cfg->log_location,
                 strerror(errno));
    }
}

/* What the daemon remembers of one instance. */
typedef struct inst_state {
    char addr[57];
    int have;        /* key valid */
    uint8_t key[32]; /* digest of its intro point set */
    unsigned n_intro;
    uint64_t received, modified;
} inst_state;

/*
 * A bundle of the inbox already looked at, by its digest (its content: a
 * corrected file under the same name is a new one).  One refused for a
 * passing reason (the disk, memory: ob_err OB_ERR_IO, OB_ERR_NOMEM, such as
 * a key store whose mode the operator is fixing) is looked at again from
 * retry_at, the wait doubling from INBOX_RETRY_MIN to INBOX_RETRY_MAX; any
 * other refusal is final for this run.
 */
#define INBOX_RETRY_MIN 5
#define INBOX_RETRY_MAX 600
typedef struct seen_bundle {
    uint8_t dg[32];
    uint64_t retry_at; /* 0: never again */
    uint32_t wait;     /* the last wait before a retry, s */
} seen_bundle;

/* A response taken from the inbox. */
typedef struct held {
    ob_response *r;
    char name[256];
} held;

/*
 * What the HSDirs hold of one descriptor slot, whichever response it came
 * from: (service, version, period, group, group count), with its upload
 * schedule (revsched.h).
 */
typedef struct stream {
    char service[57];
    uint8_t version;
    uint64_t tp;
    uint16_t group, group_count;
    onl_rs_stream rs;
    int seen; /* in force in the current publish round */
} stream;

typedef struct dstate {
    const onl_daemon_opts *o;
    ob_config *cfg;
    const char *inbox, *outbox;
    onl_ctl_opts co;
    onl_ctl *ctl;
    int ever_connected, reported_down;
    uint64_t next_connect, backoff;
    onl_consensus *c;
    int no_consensus_logged;
    inst_state *inst;
    size_t n_inst, cap_inst;
    int written;
    uint8_t written_key[32];
    uint64_t last_request;
    held held[ONL_DAEMON_MAX_HELD];
    size_t n_held;
    seen_bundle *seen;
    size_t n_seen, cap_seen;
    uint64_t next_refresh, next_publish, next_inbox;
    int publish_now;
    int republish_all; /* after a reconnect: retry what may have been lost at once */
    stream *streams;
    size_t n_streams, cap_streams;
    uint64_t next_rev;                /* when the next revision (or retry) is due */
    uint64_t *pub_first, *pub_second; /* per config service */
    uint8_t *low_warned;
    int status_fd;
    char *status_path;
    int outbox_warned;
    onl_dd *dd;                  /* the delegated mode (deleg_daemon.h) */
    uint64_t c_at;               /* when s->c was fetched */
    uint64_t clk_wall, clk_mono; /* the clocks at the last look, ms (clock_check) */
} dstate;

static void held_clear(held *h)
{
    ob_response_free(h->r);
    memset(h, 0, sizeof(*h));
}

static inst_state *inst_get(dstate *s, const char *addr)
{
    size_t i;

    for (i = 0; i < s->n_inst; i++)
        if (strcmp(s->inst[i].addr, addr) == 0)
            return &s->inst[i];
    if (s->n_inst == s->cap_inst) {
        size_t nc = s->cap_inst ? 2 * s->cap_inst : 64;
        inst_state *p = realloc(s->inst, nc * sizeof(*p));
        if (p == NULL)
            return NULL;
        s->inst = p;
        s->cap_inst = nc;
    }
    memset(&s->inst[s->n_inst], 0, sizeof(s->inst[0]));
    snprintf(s->inst[s->n_inst].addr, sizeof(s->inst[0].addr), "%s", addr);
    return &s->inst[s->n_inst++];
}

static seen_bundle *seen_find(const dstate *s, const uint8_t dg[32])
{
    size_t i;

    for (i = 0; i < s->n_seen; i++)
        if (memcmp(s->seen[i].dg, dg, 32) == 0)
            return &s->seen[i];
    return NULL;
}

/* Looked at before, and not due for another try at now? */
static int seen_has(const dstate *s, const uint8_t dg[32], uint64_t now)
{
    const seen_bundle *b = seen_find(s, dg);

    return b != NULL && (b->retry_at == 0 || now < b->retry_at);
}

/* Mark dg as looked at: for good, or (retry) to be tried again later. */
static uint32_t seen_add(dstate *s, const uint8_t dg[32], int retry, uint64_t now)
{
    seen_bundle *b = seen_find(s, dg);

    if (b == NULL) {
        if (s->n_seen == s->cap_seen) {
            size_t nc = s->cap_seen ? 2 * s->cap_seen : 32;
            seen_bundle *p = realloc(s->seen, nc * sizeof(*p));
            if (p == NULL)
                return 0;
            s->seen = p;
            s->cap_seen = nc;
        }
        b = &s->seen[s->n_seen++];
        memset(b, 0, sizeof(*b));
        memcpy(b->dg, dg, 32);
    }
    if (!retry) {
        b->retry_at = 0;
        return 0;
    }
    b->wait = b->wait == 0                     ? INBOX_RETRY_MIN
              : b->wait >= INBOX_RETRY_MAX / 2 ? INBOX_RETRY_MAX
                                               : 2 * b->wait;
    b->retry_at = now + b->wait;
    return b->wait;
}

/* A refusal that may not hold next time: the operating system or memory said no. */
static int passing(ob_err err)
{
    return err == OB_ERR_IO || err == OB_ERR_NOMEM;
}

static ob_err per_service_arrays(dstate *s)
{
    size_t n = s->cfg->n_services ? s->cfg->n_services : 1;

    free(s->pub_first);
    free(s->pub_second);
    free(s->low_warned);
    s->pub_first = calloc(n, sizeof(uint64_t));
    s->pub_second = calloc(n, sizeof(uint64_t));
    s->low_warned = calloc(n, 1);
    return s->pub_first && s->pub_second && s->low_warned ? OB_OK : OB_ERR_NOMEM;
}

static ob_err load_config(dstate *s, ob_diag *d)
{
    ob_config *cfg = NULL;
    ob_err err = ob_config_load(s->o->config_path, &cfg, d);
    size_t k;

    if (err != OB_OK)
        return err;
    for (k = 0; k < cfg->n_warnings; k++)
        dlog(L_WARNING, "config: %s", cfg->warnings[k]);
    err = onl_fetch_ctl_opts(cfg, s->o->n_tor_args, s->o->tor_args, &s->co, d);
    if (err != OB_OK) {
        ob_config_free(cfg);
        return err;
    }
    ob_config_free(s->cfg);
    s->cfg = cfg;
    s->inbox = s->o->inbox != NULL ? s->o->inbox : cfg->inbox;
    s->outbox = s->o->outbox != NULL ? s->o->outbox : cfg->outbox;
    setup_log(cfg, s->o->verbosity);
    return per_service_arrays(s);
}

/* ---- the clock ----------------------------------------------------------- */

/*
 * The daemon's timers are wall-clock times (time(NULL)), and a step of the
 * clock (an NTP correction, `date -s`) moves them: an hour back and nothing
 * would fall due for an hour (no inbox scan, no refresh, no republishing, no
 * reconnect), an hour forward and everything at once.  CLOCK_MONOTONIC says
 * how much time really passed; when the wall clock moved more than that by
 * CLOCK_STEP_MIN seconds or more, it stepped, and every time the daemon keeps
 * (when something happened, when it is due) moves with it, keeping its real
 * distance from now.  Periods and validity windows stay the wall clock's.
 */
#define CLOCK_STEP_MIN 5

/* t moved by step s; 0 (never, or at once) stays as it is. */
static void shift(uint64_t *t, int64_t step)
{
    if (*t == 0 || *t == UINT64_MAX)
        return;
    if (step < 0)
        *t = *t > (uint64_t)-step ? *t - (uint64_t)-step : 1;
    else
        *t = *t < UINT64_MAX - (uint64_t)step ? *t + (uint64_t)step : UINT64_MAX - 1;
}

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void clock_check(dstate *s)
{
    uint64_t wall = clock_ms(CLOCK_REALTIME), mono = clock_ms(CLOCK_MONOTONIC);
    int64_t ms, step;
    size_t i;

    if (wall == 0 || mono == 0)
        return;
    /* In ms, then rounded: whole seconds read a moment apart would be 1 s off. */
    ms = (int64_t)(wall - s->clk_wall) - (int64_t)(mono - s->clk_mono);
    step = (ms < 0 ? ms - 500 : ms + 500) / 1000;
    if (s->clk_mono != 0 && (step >= CLOCK_STEP_MIN || step <= -CLOCK_STEP_MIN)) {
        dlog(L_WARNING,
             "the clock jumped %s by %lld s; the daemon's timers keep their real intervals",
             step < 0 ? "back" : "forward", (long long)(step < 0 ? -step : step));
        shift(&s->next_connect, step);
        shift(&s->next_refresh, step);
        shift(&s->next_publish, step);
        shift(&s->next_inbox, step);
        for (i = 0; i < s->n_seen; i++)
            shift(&s->seen[i].retry_at, step);
        shift(&s->last_request, step);
        shift(&s->c_at, step);
        for (i = 0; i < s->n_inst; i++) {
            shift(&s->inst[i].received, step);
            shift(&s->inst[i].modified, step);
        }
        shift(&s->next_rev, step);
        for (i = 0; i < s->n_streams; i++)
            onl_rs_clock_step(&s->streams[i].rs, step);
        for (i = 0; i < (s->cfg->n_services ? s->cfg->n_services : 1); i++) {
            shift(&s->pub_first[i], step);
            shift(&s->pub_second[i], step);
        }
        onl_dd_clock_step(s->dd, step);
    }
    s->clk_wall = wall;
    s->clk_mono = mono;
}

/* ---- tor ---------------------------------------------------------------- */

static int tor_up(const dstate *s)
{
    return s->ctl != NULL && onl_ctl_is_connected(s->ctl);
}

static void tor_lost(dstate *s, const char *why)
{
    dlog(L_WARNING, "lost the connection to tor (%s); reconnecting", why);
    s->next_connect = 0;
    s->backoff = 1;
}

static void tor_try(dstate *s)
{
    uint64_t now = (uint64_t)time(NULL);
    ob_diag d;
    ob_err err;

    if (tor_up(s) || now < s->next_connect)
        return;
    if (s->ctl == NULL)
        err = onl_ctl_connect(&s->co, &s->ctl, &d);
    else
        err = onl_ctl_reconnect(s->ctl, 1000, &d);
    if (err != OB_OK) {
        if (!s->reported_down)
            dlog(L_WARNING, "cannot reach tor: %s; retrying with backoff", d.msg);
        s->reported_down = 1;
        s->backoff = s->backoff ? (s->backoff * 2 > 30 ? 30 : s->backoff * 2) : 1;
        s->next_connect = now + s->backoff;
        return;
    }
    dlog(L_INFO, "%s to tor at %s (%s, tor %s)", s->ever_connected ? "reconnected" : "connected",
         onl_ctl_endpoint(s->ctl), onl_ctl_auth_method(s->ctl), onl_ctl_tor_version(s->ctl));
    if (s->ever_connected)
        s->republish_all = 1; /* an upload in flight may have been lost */
    s->ever_connected = 1;
    s->reported_down = 0;
    s->backoff = 0;
    s->publish_now = 1;
    if (s->next_refresh > now + 5)
        s->next_refresh = now + 5; /* a restarted tor may have new backends' state */
}

static void serve_status(dstate *s);

/* Long fetch and upload rounds keep answering the status socket. */
static void tick(void *ctx)
{
    serve_status(ctx);
}

/* ---- collecting and requests ------------------------------------------- */

/* Digest of an instance's intro point set (auth keys, sorted). */
static int intro_key(const char *addr, const uint8_t *p, size_t n, const ob_consensus_facts *f,
                     uint64_t now, uint8_t key[32], unsigned *n_intro)
{
    ob_tp_params tpp = { f->tp_length_min, f->tp_offset_min };
    uint8_t A[32], keys[OB_HSV3_MAX_INTROS][32], tmp[32];
    uint64_t cur = ob_hsv3_tp_num(now, &tpp), tps[3] = { cur - 1, cur, cur + 1 };
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_verify_opts o;
    size_t which = 0, i, j, k;
    ob_diag d;
    int rc = -1;

    if (ob_onion_v3_decode(A, addr, strlen(addr), &d) != OB_OK ||
        ob_hsv3_desc_find_tp(p, n, A, tps, 3, &tpp, &which, &d) != OB_OK)
        return -1;
    memset(&o, 0, sizeof(o));
    o.now = now;
    if (ob_hsv3_desc_verify(p, n, A, tps[which], &tpp, &o, &desc, &d) != OB_OK) {
        /* client-authorised backends: the bytes stand in for the set */
        *n_intro = 0;
        return ob_sha256_buf(key, p, n);
    }
    k = desc->n_intros < OB_HSV3_MAX_INTROS ? desc->n_intros : OB_HSV3_MAX_INTROS;
    for (i = 0; i < k; i++)
        memcpy(keys[i], desc->intros[i].auth_key, 32);
    for (i = 1; i < k; i++) /* insertion sort: at most 20 */
        for (j = i; j > 0 && memcmp(keys[j - 1], keys[j], 32) > 0; j--) {
            memcpy(tmp, keys[j], 32);
            memcpy(keys[j], keys[j - 1], 32);
            memcpy(keys[j - 1], tmp, 32);
        }
    *n_intro = (unsigned)k;
    rc = ob_sha256_buf(key, keys, k * 32);
    ob_hsv3_desc_free(desc);
    return rc;
}

/*
 * When the signed descriptors held for service run out, from now on; 0 when
 * none is held.  v3: the first moment a publish slot has nothing usable
 * (onl_publish_gap: the one answer hsv3_cover.h gives, also the signer's
 * "Next ceremony needed by"), with *gap set; v2: the end of the last
 * descriptor's window, gap->slot = -1.
 */
static uint64_t signed_until(const dstate *s, const char *service, uint64_t now, ob_hsv3_gap *gap)
{
    const ob_cfg_service *cs = ob_config_find_service(s->cfg, service);
    const ob_response *rs[ONL_DAEMON_MAX_HELD];
    uint64_t until = 0;
    size_t i, j;

    gap->slot = -1;
    for (i = 0; i < s->n_held; i++)
        rs[i] = s->held[i].r;
    if (cs != NULL && cs->version == 3) {
        ob_tp_params tpp = onl_publish_tp_params(s->cfg, s->c);
        return onl_publish_gap(rs, s->n_held, service, &tpp, now, gap) ? gap->at : 0;
    }
    for (i = 0; i < s->n_held; i++)
        for (j = 0; j < s->held[i].r->n_descriptors; j++) {
            const ob_resp_descriptor *rd = &s->held[i].r->descriptors[j];
            if (strcmp(rd->service, service) == 0 && rd->valid_until > until)
                until = rd->valid_until;
        }
    return until;
}

int onl_daemon_request_due(uint64_t now, uint64_t last_request, uint64_t ran_out_at)
{
    /* A v3 period becomes signable at a moment (its SRV run start): a
     * request written before it could not ask for it, so that one does not
     * count against the hourly limit, which is for requests nobody answers. */
    return last_request < ran_out_at || now >= last_request + ONL_DAEMON_REQUEST_EVERY;
}

uint64_t onl_daemon_ran_out(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n,
                            uint64_t last_request, uint64_t now)
{
    uint64_t at = ob_hsv3_covered_until(p, c, n, last_request);

    return at > last_request && at <= now ? at : 0;
}

/* Since when a v3 service's signed descriptors in hand have run out (onl_daemon_ran_out). */
static uint64_t ran_out_since_request(const dstate *s, const char *service, uint64_t now)
{
    ob_hsv3_cover c[ONL_PUB_MAX_COVERS];
    ob_tp_params tpp = onl_publish_tp_params(s->cfg, s->c);
    size_t i, n = 0;

    for (i = 0; i < s->n_held; i++)
        onl_publish_covers(s->held[i].r, service, c, ONL_PUB_MAX_COVERS, &n);
    return onl_daemon_ran_out(&tpp, c, n, s->last_request, now);
}

/*
 * Warns once per service when its signed descriptors run out within
 * ONL_DAEMON_LOW_WATER, and says whether a new request is worth writing:
 * v2, within ONL_DAEMON_LOW_WATER (a v2 ceremony may pre-sign); v3, once a
 * slot needed now has nothing (the period it lacks cannot be signed before
 * that moment, so an earlier request would ask for the same periods again);
 * either, when nothing at all is held.  *since: the latest moment passed at
 * which a service's signed descriptors ran out after the last request
 * written (0: none; onl_daemon_ran_out).
 */
static int running_low(dstate *s, uint64_t now, uint64_t *since)
{
    size_t i;
    int need = 0;

    *since = 0;
    for (i = 0; i < s->cfg->n_services; i++) {
        const char *a = s->cfg->services[i].address;
        ob_hsv3_gap g;
        uint64_t u;
        if (a == NULL || onl_dd_active(s->dd, a))
            continue; /* the delegated mode signs it (renewal: deleg_daemon.c) */
        u = signed_until(s, a, now, &g);
        if (u > now + ONL_DAEMON_LOW_WATER) {
            s->low_warned[i] = 0;
            continue;
        }
        if (u == 0 || (g.slot >= 0 ? u <= now : 1)) {
            uint64_t r = g.slot >= 0 ? ran_out_since_request(s, a, now) : 0;
            need = 1;
            if (r > *since)
                *since = r; /* a request written before then could not cover it */
        }
        if (!s->low_warned[i] && u != 0) {
            char t[OB_TIME_STR], text[400];
            ob_tp_params tpp = onl_publish_tp_params(s->cfg, s->c);
            fmt_utc(t, u);
            if (g.slot >= 0 && onl_publish_gap_text(a, &g, &tpp, now, text, sizeof(text)) >= 0)
                dlog(L_WARNING, "signed descriptors of %s", text);
            else
                dlog(L_WARNING,
                     "signed descriptors of %s.onion run out at %s UTC: a ceremony is needed "
                     "before then",
                     a, t);
        }
        s->low_warned[i] = 1;
    }
    return need;
}

static void write_request(dstate *s, ob_request *req, const char *why)
{
    char path[OB_CFG_MAX_PATH + 128], ts[32], shrt[OB_BUNDLE_SHORT_LEN];
    ob_buf b;
    ob_diag d;
    ob_err err;
    struct tm tm;
    time_t now = time(NULL);
    int n;

    if (s->outbox == NULL) {
        if (!s->outbox_warned)
            dlog(L_WARNING, "no outbox (--outbox or config key outbox): request not written");
        s->outbox_warned = 1;
        return;
    }
    ob_buf_init(&b);
    err = ob_request_serialize(req, &b, &d);
    if (err != OB_OK) {
        dlog(L_ERROR, "request: %s", d.msg);
        goto out;
    }
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    ob_bundle_digest_short(req->digest, shrt);
    shrt[8] = '\0';
    for (n = 0; n < 100; n++) {
        if (n == 0)
            snprintf(path, sizeof(path), "%s/request-%s-%s.obb", s->outbox, ts, shrt);
        else
            snprintf(path, sizeof(path), "%s/request-%s-%s-%d.obb", s->outbox, ts, shrt, n);
        err = ob_bundle_write_file(path, b.p, b.len, OB_WRITE_EXCL, &d);
        if (err != OB_ERR_EXISTS)
            break;
    }
    if (err != OB_OK) {
        dlog(L_ERROR, "outbox: %s", d.msg);
        goto out;
    }
    s->last_request = (uint64_t)now;
    dlog(L_INFO, "outbox: wrote signing request %s (%s)", path, why);
    /* Kept so its compact response can be rebuilt (reqstore.h). */
    if (onl_reqstore_save(s->cfg, req, &d) != OB_OK)
        dlog(L_ERROR, "request store: %s", d.msg);
out:
    ob_buf_free(&b);
}

static void refresh(dstate *s)
{
    onl_fetch_opts fo;
    onl_collect_stats st;
    ob_request *req = NULL, *creq = NULL;
    uint8_t all[32];
    ob_buf keys;
    uint64_t now = (uint64_t)time(NULL), since = 0;
    int have = 0, changed;
    size_t i, j;
    ob_diag d;
    ob_err err;

    onl_fetch_opts_init(&fo);
    fo.reconnect_ms = 2000; /* the main loop does the long waiting */
    fo.cancel = &g_stop;
    fo.tick = tick;
    fo.tick_ctx = s;
    ob_buf_init(&keys);
    dlog(L_DEBUG, "fetching the descriptors of every instance");
    err = onl_fetch_collect(s->ctl, s->cfg, &fo, &req, &st, &have, &d);
    if (err == OB_ERR_NET) {
        tor_lost(s, d.msg);
        goto out;
    }
    if (err != OB_OK) {
        dlog(L_ERROR, "collect: %s", d.msg);
        goto out;
    }
    if (g_stop)
        goto out; /* cancelled: what came is not a full picture */
    dlog(L_INFO, "refreshed %zu service(s): %zu instance(s) ok, %zu missing, %zu invalid%s",
         st.services, st.ok, st.missing, st.invalid, have ? "" : " (tor has no consensus yet)");
    /* What the delegated mode signs needs no ceremony: the request keeps only the rest. */
    onl_dd_scan(s->dd, s->cfg, req, now);
    for (i = 0; i < req->n_services; i++) {
        const ob_req_service *rs = &req->services[i];
        int deleg = onl_dd_signs_all(s->dd, rs); /* nothing of it left for a ceremony */
        for (j = 0; j < rs->n_instances; j++) {
            const ob_req_instance *in = &rs->instances[j];
            inst_state *is = inst_get(s, in->address);
            uint8_t k[32];
            unsigned ni = 0;
            if (in->status != OB_INSTANCE_OK) {
                dlog(L_DEBUG, "instance %s.onion: %s", in->address,
                     in->reason ? in->reason : "no descriptor");
                continue;
            }
            if (is == NULL || intro_key(in->address, in->descriptor, in->descriptor_len,
                                        &req->consensus, now, k, &ni) != 0)
                continue;
            if (!is->have || memcmp(is->key, k, 32) != 0) {
                dlog(L_INFO, "instance %s.onion: introduction points %s (%u now)", in->address,
                     is->have ? "changed" : "first seen", ni);
                is->modified = now;
            }
            is->have = 1;
            memcpy(is->key, k, 32);
            is->n_intro = ni;
            is->received = in->fetched_at;
            if (deleg)
                continue;
            ob_buf_put(&keys, in->address, strlen(in->address));
            ob_buf_put(&keys, k, 32);
        }
    }
    if (keys.len == 0 || ob_sha256_buf(all, keys.p, keys.len) != 0)
        goto out;
    if (onl_dd_filter_request(s->dd, req, &creq, &d) != OB_OK) {
        dlog(L_ERROR, "request: %s", d.msg);
        goto out;
    }
    if (creq == NULL)
        goto out;
    changed = !s->written || memcmp(all, s->written_key, 32) != 0;
    if (changed) {
        write_request(s, creq, s->written ? "introduction points changed" : "first collection");
        memcpy(s->written_key, all, 32);
        s->written = 1;
    } else if (running_low(s, now, &since) && onl_daemon_request_due(now, s->last_request, since)) {
        write_request(s, creq, "signed descriptors run out soon");
    }
out:
    if (req != NULL && err == OB_OK && !g_stop) {
        onl_dd_take_request(s->dd, req); /* the delegated mode builds from it */
        req = NULL;
    }
    ob_buf_free(&keys);
    ob_request_free(creq);
    ob_request_free(req);
}

/* ---- inbox and publishing ------------------------------------------------ */

static int is_superseded(const dstate *s, size_t hi, const ob_resp_descriptor *rd)
{
    size_t i, j;

    for (i = 0; i < s->n_held; i++) {
        const ob_response *o = s->held[i].r;
        if (i == hi || o->created < s->held[hi].r->created ||
            (o->created == s->held[hi].r->created && i < hi))
            continue;
        for (j = 0; j < o->n_descriptors; j++) {
            const ob_resp_descriptor *x = &o->descriptors[j];
            if (strcmp(x->service, rd->service) == 0 && x->tp == rd->tp && x->group == rd->group &&
                x->version == rd->version)
                return 1;
        }
    }
    return 0;
}

static void log_runout(const dstate *s, const ob_response *r)
{
    size_t i, j;

    for (i = 0; i < r->n_descriptors; i++) {
        int dup = 0;
        for (j = 0; j < i; j++)
            dup |= strcmp(r->descriptors[j].service, r->descriptors[i].service) == 0;
        if (!dup) {
            char t[OB_TIME_STR];
            ob_hsv3_gap g;
            fmt_utc(t, signed_until(s, r->descriptors[i].service, (uint64_t)time(NULL), &g));
            if (g.slot >= 0)
                dlog(L_INFO,
                     "signed descriptors of %s.onion run out at %s UTC (then the %s descriptor "
                     "needs period %llu)",
                     r->descriptors[i].service, t, g.slot ? "second" : "first",
                     (unsigned long long)g.tp);
            else
                dlog(L_INFO, "signed descriptors of %s.onion run out at %s UTC",
                     r->descriptors[i].service, t);
        }
    }
}

static stream *stream_get(dstate *s, const ob_resp_descriptor *rd)
{
    size_t i;

    for (i = 0; i < s->n_streams; i++) {
        stream *x = &s->streams[i];
        if (strcmp(x->service, rd->service) == 0 && x->version == rd->version && x->tp == rd->tp &&
            x->group == rd->group && x->group_count == rd->group_count)
            return x;
    }
    if (s->n_streams == s->cap_streams) {
        size_t nc = s->cap_streams ? 2 * s->cap_streams : 16;
        stream *p = realloc(s->streams, nc * sizeof(*p));
        if (p == NULL)
            return NULL;
        s->streams = p;
        s->cap_streams = nc;
    }
    memset(&s->streams[s->n_streams], 0, sizeof(stream));
    snprintf(s->streams[s->n_streams].service, sizeof(s->streams[0].service), "%s", rd->service);
    s->streams[s->n_streams].version = rd->version;
    s->streams[s->n_streams].tp = rd->tp;
    s->streams[s->n_streams].group = rd->group;
    s->streams[s->n_streams].group_count = rd->group_count;
    return &s->streams[s->n_streams++];
}

/* Streams not in force in this round are over (their period left the slots). */
static void streams_prune(dstate *s)
{
    size_t i = 0;

    while (i < s->n_streams) {
        if (!s->streams[i].seen)
            s->streams[i] = s->streams[--s->n_streams];
        else
            s->streams[i++].seen = 0;
    }
}

/* The descriptor's own lifetime in seconds (the config's when it cannot be read). */
static uint64_t desc_lifetime(const dstate *s, const ob_resp_descriptor *rd)
{
    const ob_cfg_service *sv = ob_config_find_service(s->cfg, rd->service);
    uint64_t life = sv != NULL ? (uint64_t)sv->descriptor_lifetime * 60 : 10800;
    ob_hsv3_outer o;
    ob_diag d;

    memset(&o, 0, sizeof(o));
    if (rd->version == 3 &&
        ob_hsv3_outer_parse(rd->descriptor, rd->descriptor_len, &o, &d) == OB_OK)
        life = (uint64_t)o.lifetime_min * 60;
    ob_hsv3_outer_clear(&o);
    return life != 0 ? life : 10800;
}

/* One descriptor's part of a publish round: its schedule's inputs and decision. */
typedef struct pending {
    stream *st;
    onl_rs_rev *revs;
    uint8_t ids[ONL_RS_MAX_HSDIRS][20];
    size_t sent_to[ONL_RS_MAX_HSDIRS]; /* plan HSDir j -> ids[sent_to[j]] */
    uint8_t src[32];
    onl_rs_in in;
    onl_rs_out out;
    uint8_t *body;
} pending;

static void pending_clear(pending *q, size_t n)
{
    size_t i;

    for (i = 0; q != NULL && i < n; i++) {
        free(q[i].revs);
        free(q[i].body);
    }
    free(q);
}

/*
 * Decide for item it of held response hd: which revision goes to which of
 * its HSDirs now (revsched.h).  Returns 1 when something is to be sent (the
 * item then lists only those HSDirs and carries the revision's bytes).
 */
static int plan_item(dstate *s, const held *hd, size_t hi, onl_pub_item *it,
                     const ob_tp_params *tpp, uint64_t now, pending *q)
{
    const ob_resp_descriptor *rd = &hd->r->descriptors[it->desc];
    size_t n = ob_resp_revision_count(rd), j, k;
    uint32_t idx = (uint32_t)it->desc;
    ob_iov v[2];
    ob_diag d;
    ob_err err;

    q->st = stream_get(s, rd);
    q->revs = calloc(n, sizeof(*q->revs));
    if (q->st == NULL || q->revs == NULL) {
        dlog(L_ERROR, "publish: out of memory");
        return 0;
    }
    q->st->seen = 1;
    if (is_superseded(s, hi, rd))
        return 0; /* a newer response has this one's successor */
    for (j = 0; j < n; j++)
        ob_resp_revision_info(rd, j, &q->revs[j].from, &q->revs[j].counter);
    for (j = 0; j < it->n_hsdirs && j < ONL_RS_MAX_HSDIRS; j++)
        memcpy(q->ids[j], s->c->nodes[it->hsdirs[j]].rsa_id, 20);
    v[0].p = hd->r->digest;
    v[0].n = 32;
    v[1].p = &idx;
    v[1].n = sizeof(idx);
    if (ob_sha256(q->src, v, 2) != 0)
        memset(q->src, 0, 32);
    q->in.now = now;
    q->in.revs = q->revs;
    q->in.n_revs = n;
    q->in.lifetime = desc_lifetime(s, rd);
    q->in.step = ob_resp_revision_step(rd) ? ob_resp_revision_step(rd) : q->in.lifetime / 2;
    q->in.retry = s->cfg->publish_check_interval;
    q->in.ids = (const uint8_t(*)[20])q->ids;
    q->in.n_ids = j;
    q->in.source = q->src;
    onl_rs_decide(&q->st->rs, &q->in, &q->out);
    if (q->out.rev < 0)
        return 0;
    if (q->out.rev > 0) {
        err = ob_resp_revision_bytes(rd, tpp, (size_t)q->out.rev, &q->body, &it->body_len, &d);
        if (err != OB_OK) {
            dlog(L_ERROR, "%s.onion period %llu: revision %d: %s", rd->service,
                 (unsigned long long)rd->tp, q->out.rev, d.msg);
            q->out.rev = -1;
            return 0;
        }
        it->body = q->body;
    }
    it->revision = (unsigned)q->out.rev;
    /* Only the HSDirs the schedule names. */
    for (j = 0, k = 0; j < q->in.n_ids; j++) {
        if (!q->out.send[j])
            continue;
        it->hsdirs[k] = it->hsdirs[j];
        q->sent_to[k++] = j;
    }
    it->n_hsdirs = k;
    return k > 0;
}

/* Feed the upload's outcome back into the schedule, and log it. */
static void record_item(dstate *s, const held *hd, const onl_pub_item *it, pending *q)
{
    const ob_resp_descriptor *rd = &hd->r->descriptors[it->desc];
    const ob_cfg_service *sv;
    uint8_t res[ONL_RS_MAX_HSDIRS];
    const char *why = NULL;
    char rv[128] = "";
    size_t j, ok = 0, n = ob_resp_revision_count(rd);

    memset(res, ONL_RS_NOT_SENT, sizeof(res));
    for (j = 0; j < it->n_hsdirs; j++) {
        uint8_t r = ONL_RS_FAILED;
        if (it->result[j] == ONL_PUB_UPLOADED)
            r = ONL_RS_ACCEPTED;
        else if (it->result[j] == ONL_PUB_FAILED && strcmp(it->reason[j], "UPLOAD_REJECTED") == 0)
            r = ONL_RS_REJECTED;
        res[q->sent_to[j]] = r;
        ok += r == ONL_RS_ACCEPTED;
        if (r != ONL_RS_ACCEPTED && why == NULL)
            why = it->result[j] == ONL_PUB_FAILED ? it->reason[j] : "no answer";
    }
    q->in.now = (uint64_t)time(NULL);
    onl_rs_record(&q->st->rs, &q->in, q->out.rev, res);
    if (n > 1)
        snprintf(rv, sizeof(rv), " revision %d of %zu%s", q->out.rev, n - 1,
                 q->out.ahead ? " (ahead of its time, to replace an older response's)" : "");
    dlog(ok ? L_INFO : L_WARNING,
         "published %s.onion period %llu group %u/%u (%s descriptor)%s: uploaded to %zu of %zu "
         "HSDirs%s%s",
         rd->service, (unsigned long long)rd->tp, rd->group + 1u, (unsigned)rd->group_count,
         it->slot ? "second" : "first", rv, ok, it->n_hsdirs, why ? "; first failure: " : "",
         why ? why : "");
    sv = ob_config_find_service(s->cfg, rd->service);
    if (sv != NULL && ok > 0) {
        size_t si = (size_t)(sv - s->cfg->services);
        if (it->slot)
            s->pub_second[si] = q->in.now;
        else
            s->pub_first[si] = q->in.now;
    }
    /* What comes next for it. */
    onl_rs_decide(&q->st->rs, &q->in, &q->out);
}

/* Tor's consensus into s->c, unless the one in hand is younger than max_age s; 0 or -1. */
static int fetch_consensus(dstate *s, uint64_t max_age)
{
    uint64_t now = (uint64_t)time(NULL);
    ob_diag d;
    ob_err err;

    if (s->c != NULL && max_age > 0 && now < s->c_at + max_age)
        return 0;
    onl_consensus_free(s->c);
    s->c = NULL;
    err = onl_consensus_fetch(s->ctl, &s->c, &d);
    if (err == OB_ERR_NOTFOUND) {
        if (!s->no_consensus_logged)
            dlog(L_WARNING, "tor has no consensus yet: publishing waits until it has one");
        s->no_consensus_logged = 1;
        return -1;
    }
    if (err == OB_ERR_NET) {
        tor_lost(s, d.msg);
        return -1;
    }
    if (err != OB_OK) {
        dlog(L_ERROR, "consensus: %s", d.msg);
        return -1;
    }
    s->no_consensus_logged = 0;
    s->c_at = now;
    return 0;
}

static void publish_cycle(dstate *s)
{
    onl_pub_opts po;
    uint64_t now = (uint64_t)time(NULL);
    ob_tp_params tpp;
    size_t h, i;
    ob_diag d;
    ob_err err;

    /* Planned anew below; until then only PUBLISH_CHECK_INTERVAL brings a round. */
    s->next_rev = ONL_RS_NEVER;
    if (s->n_held == 0 || !tor_up(s))
        return;
    if (fetch_consensus(s, 0) != 0)
        return;
    tpp = onl_publish_tp_params(s->cfg, s->c);
    onl_pub_opts_init(&po);
    po.reconnect_ms = 2000;
    po.cancel = &g_stop;
    po.tick = tick;
    po.tick_ctx = s;
    if (s->republish_all)
        for (i = 0; i < s->n_streams; i++)
            onl_rs_kick(&s->streams[i].rs);
    for (h = 0; h < s->n_held; h++) {
        held *hd = &s->held[h];
        onl_pub_plan *p = NULL;
        pending *q = NULL;
        size_t due = 0;
        err = onl_publish_plan(s->cfg, hd->r, s->c, now, &p, &d);
        if (err != OB_OK) {
            dlog(L_ERROR, "%s: %s", hd->name, d.msg);
            continue;
        }
        q = calloc(p->n + 1, sizeof(*q));
        if (q == NULL) {
            dlog(L_ERROR, "publish: out of memory");
            onl_pub_plan_free(p);
            continue;
        }
        for (i = 0; i < p->n; i++) {
            onl_pub_item *it = &p->items[i];
            q[i].out.rev = -1;
            q[i].out.next = ONL_RS_NEVER;
            if (it->status != ONL_PUB_SEND)
                continue;
            if (onl_dd_covers(s->dd, hd->r->descriptors[it->desc].service,
                              hd->r->descriptors[it->desc].tp)) {
                it->n_hsdirs = 0; /* the delegated mode signs and publishes this period */
                continue;
            }
            if (plan_item(s, hd, h, it, &tpp, now, &q[i]))
                due++;
            else
                it->n_hsdirs = 0;
        }
        if (due > 0) {
            err = onl_publish_run(s->ctl, hd->r, s->c, p, &po, &d);
            if (err == OB_ERR_NET) {
                tor_lost(s, d.msg);
                pending_clear(q, p->n);
                onl_pub_plan_free(p);
                return;
            }
            for (i = 0; i < p->n; i++)
                if (p->items[i].status == ONL_PUB_SEND && q[i].out.rev >= 0 &&
                    p->items[i].n_hsdirs > 0)
                    record_item(s, hd, &p->items[i], &q[i]);
        }
        for (i = 0; i < p->n; i++)
            if (q[i].out.next < s->next_rev)
                s->next_rev = q[i].out.next;
        pending_clear(q, p->n);
        onl_pub_plan_free(p);
    }
    streams_prune(s);
    s->republish_all = 0;
}

/* ---- the delegated mode (deleg_daemon.h) ---------------------------------- */

/*
 * The highest revision counter of a held response for (service, tp), over
 * every revision of each record: builds count above it.  Not only revision
 * 0's: the publisher may have uploaded a later revision, even one ahead of
 * its time (revsched.h), and a build below it would be refused by the HSDirs
 * that hold it.  The delegated counters may then start above the clock's;
 * they still fit (the revisions lie inside the period's window, well below
 * OB_HSV3_REV_T_MAX).
 */
static uint64_t held_floor(void *ctx, const char *service, uint64_t tp)
{
    const dstate *s = ctx;
    uint64_t m = 0, c;
    size_t i, j;

    for (i = 0; i < s->n_held; i++)
        for (j = 0; j < s->held[i].r->n_descriptors; j++) {
            const ob_resp_descriptor *rd = &s->held[i].r->descriptors[j];
            if (rd->version == 3 && rd->tp == tp && strcmp(rd->service, service) == 0 &&
                (c = ob_resp_revision_max(rd)) > m)
                m = c;
        }
    return m;
}

/* Does a held response still have something to publish for (service, tp)? */
static int held_has(void *ctx, const char *service, uint64_t tp)
{
    const dstate *s = ctx;
    uint64_t now = (uint64_t)time(NULL);
    size_t i, j;

    for (i = 0; i < s->n_held; i++)
        for (j = 0; j < s->held[i].r->n_descriptors; j++) {
            const ob_resp_descriptor *rd = &s->held[i].r->descriptors[j];
            if (rd->version == 3 && rd->tp == tp && strcmp(rd->service, service) == 0 &&
                rd->valid_from <= now && now < rd->valid_until)
                return 1;
        }
    return 0;
}

/*
 * Renewal (deleg_daemon.h cert_request): a key-certification request for one
 * service, for ONL_DELEGATE_DAYS_DEFAULT days, written into the outbox as
 * keyrequest-<service>-<UTC time>.obb with the consensus' period length.
 * With short periods (test networks) fewer days, at least one, so that it
 * asks for at most RENEW_MAX_PERIODS keys: each is a file written and
 * synced while the daemon waits, and a request holds at most
 * OB_BUNDLE_MAX_KEY_PERIODS.
 */
#define RENEW_MAX_PERIODS 400
static ob_err deleg_cert_request(void *ctx, const ob_config *cfg, const char *service,
                                 const char *outbox, char *written, size_t written_len, ob_diag *d)
{
    dstate *s = ctx;
    uint64_t now = (uint64_t)time(NULL), fit;
    unsigned days;
    size_t n_keys = 0, n_v2 = 0;
    char path[4096], ts[32], shrt[OB_BUNDLE_SHORT_LEN];
    time_t tt = (time_t)now;
    struct tm tm;
    ob_keyrequest *req = NULL;
    ob_err err;

    if (s->c == NULL)
        return ob_fail(d, OB_ERR_NOTFOUND, "no consensus: the period length is unknown");
    if (gmtime_r(&tt, &tm) == NULL || strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm) == 0)
        snprintf(ts, sizeof(ts), "%llu", (unsigned long long)now);
    if ((size_t)snprintf(path, sizeof(path), "%s/keyrequest-%.16s-%s.obb", outbox, service, ts) >=
        sizeof(path))
        return ob_fail(d, OB_ERR_RANGE, "%s: outbox path too long", outbox);
    snprintf(written, written_len, "%s", path);
    fit = s->c->tp.length_min * RENEW_MAX_PERIODS / 1440;
    days = fit >= ONL_DELEGATE_DAYS_DEFAULT ? ONL_DELEGATE_DAYS_DEFAULT
           : fit > 1                        ? (unsigned)fit
                                            : 1;
    err = onl_delegate_request_write(cfg, service, &s->c->tp, now, days, path, &req, &n_keys, &n_v2,
                                     d);
    if (err == OB_OK) {
        /* The digest goes into the log: the operator compares it with certify's summary, the
         * check against a request swapped in the outbox or on the way (docs/delegation.rst). */
        ob_bundle_digest_short(req->digest, shrt);
        snprintf(written, written_len, "%s (digest %s)", path, shrt);
    }
    ob_keyrequest_free(req);
    return err;
}

static void deleg_cycle(dstate *s)
{
    onl_dd_env env;
    onl_pub_opts po;
    uint64_t now = (uint64_t)time(NULL);

    if (!tor_up(s) || !onl_dd_due(s->dd, now) || fetch_consensus(s, 60) != 0)
        return;
    onl_pub_opts_init(&po);
    po.reconnect_ms = 2000;
    po.cancel = &g_stop;
    po.tick = tick;
    po.tick_ctx = s;
    memset(&env, 0, sizeof(env));
    env.cfg = s->cfg;
    env.ctl = s->ctl;
    env.c = s->c;
    env.po = &po;
    env.outbox = s->outbox;
    env.log = dlog;
    env.ceremony_floor = held_floor;
    env.ceremony_has = held_has;
    env.cert_request = deleg_cert_request;
    env.ctx = s;
    if (onl_dd_cycle(s->dd, &env, (uint64_t)time(NULL)) == OB_ERR_NET)
        tor_lost(s, "an upload of the delegated mode was cut off");
}

/*
 * A key-certification response in the inbox: installed as `delegate install`
 * installs it (every certificate checked first; all or nothing), then the
 * delegated mode is woken to build with the new keys.
 */
static void take_cert_response(dstate *s, const char *path, const char *name, const uint8_t dg[32],
                               const char *shrt)
{
    onl_install_report rep;
    uint64_t now = (uint64_t)time(NULL);
    ob_diag d;
    ob_err err;

    if ((err = onl_delegate_install_file(s->cfg, path, now, &rep, &d)) != OB_OK) {
        char again[64] = "";
        if (passing(err))
            snprintf(again, sizeof(again), " (trying again in %u s)",
                     (unsigned)seen_add(s, dg, 1, now));
        dlog(L_ERROR, "inbox: refusing key-certification response %s (digest %s): %s%s", name, shrt,
             d.msg, again);
        return;
    }
    if (rep.n_installed > 0)
        dlog(L_INFO,
             "inbox: installed key-certification response %s (digest %s): %zu certificates for "
             "%zu service(s), periods %llu .. %llu",
             name, shrt, rep.n_installed, rep.n_services, (unsigned long long)rep.first_tp,
             (unsigned long long)rep.last_tp);
    else
        dlog(L_INFO,
             "inbox: key-certification response %s (digest %s): nothing new (%zu installed "
             "before, %zu periods over)",
             name, shrt, rep.n_already, rep.n_over);
    onl_dd_wake(s->dd);
}

static void take_response(dstate *s, const char *path, const char *name)
{
    uint8_t *p = NULL, dg[32];
    size_t n = 0;
    int kind = 0;
    ob_response *r = NULL;
    onl_pub_plan *plan = NULL;
    char shrt[OB_BUNDLE_SHORT_LEN];
    held *hd;
    ob_diag d;
    ob_err err;

    err = ob_bundle_read_file(path, &p, &n, &d);
    if (err != OB_OK) {
        dlog(L_ERROR, "inbox: %s", d.msg);
        goto out;
    }
    err = ob_bundle_peek(p, n, &kind, dg, &d);
    if (err == OB_OK && seen_has(s, dg, (uint64_t)time(NULL)))
        goto out;
    if (err != OB_OK) {
        /* Maybe still being copied: try again at the next scan. */
        dlog(L_DEBUG, "inbox: %s: %s", name, d.msg);
        goto out;
    }
    seen_add(s, dg, 0, 0);
    ob_bundle_digest_short(dg, shrt);
    if (kind == OB_BUNDLE_CERT_RESPONSE) {
        take_cert_response(s, path, name, dg, shrt);
        goto out;
    }
    if (kind != OB_BUNDLE_RESPONSE) {
        dlog(L_INFO, "inbox: ignoring %s (a %s, not a signed response)", name,
             ob_bundle_kind_name(kind));
        goto out;
    }
    err = ob_response_parse(p, n, &r, &d);
    if (err == OB_OK)
        err = onl_response_expand_for(s->cfg, r, NULL, &d);
    /* Without a consensus the period length is unknown on a test network:
     * the signatures are then checked when publishing. */
    if (err == OB_OK)
        err = s->c != NULL ? onl_publish_plan(s->cfg, r, s->c, (uint64_t)time(NULL), &plan, &d)
                           : onl_publish_check_services(s->cfg, r, &d);
    if (err != OB_OK) {
        char again[64] = "";
        if (passing(err))
            snprintf(again, sizeof(again), " (trying again in %u s)",
                     (unsigned)seen_add(s, dg, 1, (uint64_t)time(NULL)));
        dlog(L_ERROR, "inbox: refusing response %s (digest %s): %s%s", name, shrt, d.msg, again);
        goto out;
    }
    if (s->n_held == ONL_DAEMON_MAX_HELD) {
        size_t oldest = 0, i;
        for (i = 1; i < s->n_held; i++)
            if (s->held[i].r->created < s->held[oldest].r->created)
                oldest = i;
        held_clear(&s->held[oldest]);
        s->held[oldest] = s->held[--s->n_held];
    }
    hd = &s->held[s->n_held];
    memset(hd, 0, sizeof(*hd));
    snprintf(hd->name, sizeof(hd->name), "%s", name);
    hd->r = r;
    r = NULL;
    s->n_held++;
    dlog(L_INFO, "inbox: picked up response %s (digest %s, %zu descriptors)", name, shrt,
         hd->r->n_descriptors);
    log_runout(s, hd->r);
    s->publish_now = 1;
out:
    onl_pub_plan_free(plan);
    ob_response_free(r);
    free(p);
}

static void scan_inbox(dstate *s)
{
    DIR *dir;
    struct dirent *e;
    static int warned;

    if (s->inbox == NULL)
        return;
    dir = opendir(s->inbox);
    if (dir == NULL) {
        if (!warned)
            dlog(L_WARNING, "inbox %s: %s (will keep looking)", s->inbox, strerror(errno));
        warned = 1;
        return;
    }
    warned = 0;
    while ((e = readdir(dir)) != NULL) {
        char path[OB_CFG_MAX_PATH + 300];
        size_t l = strlen(e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".obb") != 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->inbox, e->d_name) >= sizeof(path))
            continue;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        take_response(s, path, e->d_name);
    }
    closedir(dir);
}

/* ---- status -------------------------------------------------------------- */

static void serve_status(dstate *s)
{
    struct pollfd pf;
    onl_status st;
    size_t i, j;

    if (s->status_fd < 0)
        return;
    pf.fd = s->status_fd;
    pf.events = POLLIN;
    pf.revents = 0;
    if (poll(&pf, 1, 0) <= 0)
        return;
    memset(&st, 0, sizeof(st));
    st.services = calloc(s->cfg->n_services ? s->cfg->n_services : 1, sizeof(*st.services));
    if (st.services == NULL)
        return;
    for (i = 0; i < s->cfg->n_services; i++) {
        const ob_cfg_service *sv = &s->cfg->services[i];
        onl_status_service *o = &st.services[st.n_services];
        if (sv->address == NULL)
            continue;
        st.n_services++;
        snprintf(o->address, sizeof(o->address), "%s", sv->address);
        o->publish_first = s->pub_first[i];
        o->publish_second = s->pub_second[i];
        {
            ob_hsv3_gap g;
            o->signed_until = signed_until(s, sv->address, (uint64_t)time(NULL), &g);
            o->certified_until = onl_dd_certified_until(s->dd, sv->address);
            if (onl_dd_active(s->dd, sv->address)) {
                uint64_t f, c;
                onl_dd_publish_times(s->dd, sv->address, &f, &c);
                o->publish_first = f > o->publish_first ? f : o->publish_first;
                o->publish_second = c > o->publish_second ? c : o->publish_second;
            }
        }
        o->instances = calloc(sv->n_instances ? sv->n_instances : 1, sizeof(*o->instances));
        if (o->instances == NULL)
            continue;
        o->n_instances = sv->n_instances;
        for (j = 0; j < sv->n_instances; j++) {
            onl_status_instance *oi = &o->instances[j];
            const inst_state *is = NULL;
            size_t k;
            snprintf(oi->address, sizeof(oi->address), "%s", sv->instances[j].address);
            for (k = 0; k < s->n_inst && is == NULL; k++)
                if (strcmp(s->inst[k].addr, oi->address) == 0)
                    is = &s->inst[k];
            if (is != NULL && is->have) {
                oi->received = is->received;
                oi->intro_modified = is->modified;
                oi->n_intro = is->n_intro;
            }
        }
    }
    onl_status_serve(s->status_fd, &st);
    onl_status_free(&st);
}

/* ---- the loop ------------------------------------------------------------ */

int onl_daemon_main(const onl_daemon_opts *o)
{
    dstate s;
    struct sigaction sa;
    ob_diag d;
    ob_err err;
    uint64_t since;
    size_t i;
    int rc = OB_EXIT_USAGE;

    memset(&s, 0, sizeof(s));
    s.o = o;
    s.next_rev = ONL_RS_NEVER;
    s.status_fd = -1;
    s.dd = onl_dd_new();
    if (s.dd == NULL) {
        ob_msg("out of memory");
        goto out;
    }
    err = load_config(&s, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (s.cfg->status_socket_location != NULL && s.cfg->status_socket_location[0] != '\0') {
        s.status_path = strdup(s.cfg->status_socket_location);
        s.status_fd = s.status_path ? onl_status_listen(s.status_path, &d) : -1;
        if (s.status_fd < 0)
            dlog(L_ERROR, "status socket: %s", s.status_path ? d.msg : "out of memory");
        else
            dlog(L_INFO, "status socket at %s", s.status_path);
    }
    dlog(L_INFO, "ob-online %s running: %zu service(s), inbox %s, outbox %s", OB_VERSION,
         s.cfg->n_services, s.inbox ? s.inbox : "(none)", s.outbox ? s.outbox : "(none)");
    while (!g_stop) {
        uint64_t now;
        onl_ctl_event *ev = NULL;

        if (g_hup) {
            g_hup = 0;
            err = load_config(&s, &d);
            if (err != OB_OK) {
                dlog(L_ERROR, "SIGHUP: config not reloaded, keeping the old one: %s", d.msg);
            } else {
                dlog(L_INFO, "SIGHUP: reloaded config %s (%zu service(s))", o->config_path,
                     s.cfg->n_services);
                onl_ctl_close(s.ctl); /* the control-port settings may have changed */
                s.ctl = NULL;
                s.next_connect = 0;
                s.next_refresh = 0;
                onl_dd_wake(s.dd);
            }
        }
        clock_check(&s);
        tor_try(&s);
        now = (uint64_t)time(NULL);
        /* The inbox first: a certification or a response waiting there
         * decides what the refresh asks the offline side for. */
        if (now >= s.next_inbox) {
            scan_inbox(&s);
            s.next_inbox = now + ONL_DAEMON_INBOX_POLL;
        }
        if (tor_up(&s) && now >= s.next_refresh) {
            refresh(&s);
            s.next_refresh = (uint64_t)time(NULL) + s.cfg->refresh_interval;
        }
        deleg_cycle(&s); /* before the ceremony's: it says which periods it publishes */
        if (tor_up(&s) && (s.publish_now || now >= s.next_publish || now >= s.next_rev)) {
            s.publish_now = 0;
            publish_cycle(&s);
            s.next_publish = (uint64_t)time(NULL) + s.cfg->publish_check_interval;
        }
        if (s.n_held > 0)
            (void)running_low(&s, now, &since);
        serve_status(&s);
        if (tor_up(&s)) {
            err = onl_ctl_next_event(s.ctl, &ev, 250, &d);
            if (err == OB_ERR_NET)
                tor_lost(&s, d.msg);
            onl_ctl_event_free(ev); /* events outside a fetch or upload are stale */
        } else {
            struct pollfd pf = { s.status_fd, POLLIN, 0 };
            (void)poll(&pf, s.status_fd >= 0 ? 1 : 0, 250);
        }
    }
    dlog(L_INFO, "signal received: exiting");
    rc = OB_EXIT_OK;
out:
    onl_status_close(s.status_fd, s.status_path);
    free(s.status_path);
    onl_ctl_close(s.ctl);
    onl_consensus_free(s.c);
    for (i = 0; i < s.n_held; i++)
        held_clear(&s.held[i]);
    free(s.inst);
    free(s.seen);
    free(s.pub_first);
    free(s.pub_second);
    free(s.streams);
    free(s.low_warned);
    onl_dd_free(s.dd);
    ob_config_free(s.cfg);
    if (g_logf != NULL)
        fclose(g_logf);
    g_logf = NULL;
    return rc;
}
