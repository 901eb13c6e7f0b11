/*
 * config.c - config.yaml read through libyaml's event API (docs/config.rst).
 *
 * The file is read event by event (load_document), and every bound is
 * checked as the events arrive, before the next one is asked for: nesting
 * depth, node count, anchors, aliases, explicit tags, a second document.
 * libyaml's own loader checks none of these, and its scanner and anchor
 * table are quadratic in the first two (100,000 nested brackets took more
 * than 10 s, 40,000 anchors 5.7 s): refused here after a few dozen events.
 * The events that pass build a yaml_document_t with libyaml's document
 * functions, which is then walked by hand: the root mapping holds the
 * globals and `services:`, each service a mapping with its `instances:`
 * list.  libyaml marks are 0-based; every message prints them 1-based as
 * FILE:LINE:COLUMN.
 */
#include "config.h"
#include "encode.h"
#include "fileio.h"
#include "onion.h"
#include "secmem.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

typedef struct pctx {
    const char *path; /* for messages */
    yaml_document_t *doc;
    ob_config *c;
    ob_diag *d;
    size_t total_instances;
    int presign_line; /* line of the global presign_window, or 0 */
} pctx;

enum kind { K_UINT, K_BOOL, K_STR, K_PATH, K_SECRET, K_LOGLEVEL, K_IP };

typedef struct gkey {
    const char *name;
    enum kind kind;
    size_t off;
    unsigned min, max;
} gkey;

#define CFG_OFF(f) offsetof(ob_config, f)

/* OnionBalance's names (upper case) and meanings, then ours (lower case). */
static const gkey gkeys[] = {
    { "REFRESH_INTERVAL", K_UINT, CFG_OFF(refresh_interval), 1, 86400 },
    { "PUBLISH_CHECK_INTERVAL", K_UINT, CFG_OFF(publish_check_interval), 1, 86400 },
    { "INITIAL_DELAY", K_UINT, CFG_OFF(initial_delay), 0, 3600 },
    { "DESCRIPTOR_VALIDITY_PERIOD", K_UINT, CFG_OFF(descriptor_validity_period), 60, 604800 },
    { "DESCRIPTOR_OVERLAP_PERIOD", K_UINT, CFG_OFF(descriptor_overlap_period), 0, 86400 },
    { "DESCRIPTOR_UPLOAD_PERIOD", K_UINT, CFG_OFF(descriptor_upload_period), 60, 86400 },
    { "DISTINCT_DESCRIPTORS", K_BOOL, CFG_OFF(distinct_descriptors), 0, 1 },
    { "REPLICAS", K_UINT, CFG_OFF(replicas), 1, 2 },
    { "HSDIR_SET", K_UINT, CFG_OFF(hsdir_set), 1, 3 },
    { "MAX_INTRO_POINTS", K_UINT, CFG_OFF(max_intro_points), 1, 10 },
    { "STATUS_SOCKET_LOCATION", K_STR, CFG_OFF(status_socket_location), 0, 0 },
    /* OnionBalance 0.2's v3 spelling of the same */
    { "status-socket-location", K_STR, CFG_OFF(status_socket_location), 0, 0 },
    { "TOR_CONTROL_SOCKET", K_STR, CFG_OFF(tor_control_socket), 0, 0 },
    { "TOR_ADDRESS", K_IP, CFG_OFF(tor_address), 0, 0 },
    { "TOR_PORT", K_UINT, CFG_OFF(tor_port), 1, 65535 },
    { "TOR_CONTROL_PASSWORD", K_SECRET, CFG_OFF(tor_control_password), 0, 0 },
    { "LOG_LEVEL", K_LOGLEVEL, CFG_OFF(log_level), 0, 0 },
    { "LOG_LOCATION", K_STR, CFG_OFF(log_location), 0, 0 },
    { "time_period_length", K_UINT, CFG_OFF(time_period_length), OB_CFG_TP_LENGTH_MIN,
      OB_CFG_TP_LENGTH_MAX },
    { "descriptor_lifetime", K_UINT, CFG_OFF(descriptor_lifetime), OB_CFG_LIFETIME_MIN,
      OB_CFG_LIFETIME_MAX },
    { "presign_window", K_UINT, CFG_OFF(presign_window), 0, OB_CFG_PRESIGN_MAX_V3 },
    { "ceremony_log", K_PATH, CFG_OFF(ceremony_log), 0, 0 },
    { "inbox", K_PATH, CFG_OFF(inbox), 0, 0 },
    { "outbox", K_PATH, CFG_OFF(outbox), 0, 0 },
    { "max_clock_skew", K_UINT, CFG_OFF(max_clock_skew), 0, OB_CFG_SKEW_MAX },
    { "delegation_max_days", K_UINT, CFG_OFF(delegation_max_days), OB_CFG_DELEGATION_MIN,
      OB_CFG_DELEGATION_MAX },
    { "delegate_renew_days", K_UINT, CFG_OFF(delegate_renew_days), 0, OB_CFG_RENEW_DAYS_MAX },
};

/* ob_config.given has one bit per global key. */
_Static_assert(sizeof(gkeys) / sizeof(gkeys[0]) <= 64, "too many global keys for ob_config.given");

static const char *const service_keys[] = {
    "key",           "address", "version", "instances", "descriptor_lifetime", "presign_window",
    "min_instances", NULL
};
static const char *const instance_keys[] = { "address",     "name", "client_auth_key",
                                             "auth_cookie", "auth", NULL };
static const char *const log_levels[] = { "debug", "info", "warning", "error", "critical", NULL };

static size_t mline(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

static size_t mcol(const yaml_node_t *n)
{
    return n->start_mark.column + 1;
}

static ob_err perr(pctx *p, const yaml_node_t *n, ob_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ob_err perr(pctx *p, const yaml_node_t *n, ob_err e, const char *fmt, ...)
{
    char msg[OB_DIAG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ob_fail(p->d, e, "%s:%zu:%zu: %s", p->path, mline(n), mcol(n), msg);
}

/* Append a warning; past the cap, one last line says that more were dropped. */
static ob_err add_warning(ob_config *c, const char *msg)
{
    char **w;
    char *s;

    if (c->n_warnings > OB_CFG_MAX_WARNINGS)
        return OB_OK;
    if (c->n_warnings == OB_CFG_MAX_WARNINGS)
        msg = "further warnings suppressed";
    s = strdup(msg);
    if (s == NULL)
        return OB_ERR_NOMEM;
    w = realloc(c->warnings, (c->n_warnings + 1) * sizeof(*w));
    if (w == NULL) {
        free(s);
        return OB_ERR_NOMEM;
    }
    c->warnings = w;
    c->warnings[c->n_warnings++] = s;
    return OB_OK;
}

static ob_err pwarn(pctx *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ob_err pwarn(pctx *p, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[OB_DIAG_MAX], line[OB_DIAG_MAX + 64];
    char *q;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(line, sizeof(line), "%s:%zu:%zu: %s", p->path, mline(n), mcol(n), msg);
    /* Key names come from the file: keep the warning printable. */
    for (q = line; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
            *q = '?';
    }
    if (add_warning(p->c, line) != OB_OK)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    return OB_OK;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static size_t slen(const yaml_node_t *n)
{
    return n->data.scalar.length;
}

static int is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
           n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* YAML 1.1 null: an empty plain value, "~" or null in its three spellings. */
static int is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    size_t i;

    if (n->type != YAML_SCALAR_NODE || !is_plain(n))
        return 0;
    for (i = 0; nulls[i] != NULL; i++) {
        if (slen(n) == strlen(nulls[i]) && memcmp(sval(n), nulls[i], slen(n)) == 0)
            return 1;
    }
    return 0;
}

static int key_is(const yaml_node_t *k, const char *name)
{
    return slen(k) == strlen(name) && memcmp(sval(k), name, slen(k)) == 0;
}

/*
 * A string value: a non-null scalar without NULs or control characters, at
 * most max bytes.  what names the key in messages.
 */
static ob_err get_str(pctx *p, const yaml_node_t *v, const char *what, size_t max, char **out)
{
    size_t i;
    char *s;

    if (v->type != YAML_SCALAR_NODE)
        return perr(p, v, OB_ERR_MALFORMED, "%s: expected a string, got %s", what, kind_name(v));
    if (is_null(v) || slen(v) == 0)
        return perr(p, v, OB_ERR_MALFORMED, "%s: value is empty", what);
    if (slen(v) > max)
        return perr(p, v, OB_ERR_RANGE, "%s: value is %zu bytes long, more than the limit of %zu",
                    what, slen(v), max);
    for (i = 0; i < slen(v); i++) {
        unsigned char ch = (unsigned char)sval(v)[i];
        if (ch < 0x20 || ch == 0x7f)
            return perr(p, v, OB_ERR_MALFORMED, "%s: control character 0x%02x in value", what, ch);
    }
    s = malloc(slen(v) + 1);
    if (s == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    memcpy(s, sval(v), slen(v));
    s[slen(v)] = '\0';
    *out = s;
    return OB_OK;
}

/* As get_str(), into ob_secalloc() memory. */
static ob_err get_secret(pctx *p, const yaml_node_t *v, const char *what, char **out)
{
    char *tmp = NULL, *s = NULL;
    ob_err err;
    size_t n;

    err = get_str(p, v, what, OB_CFG_MAX_STRING, &tmp);
    if (err != OB_OK)
        goto out;
    n = strlen(tmp);
    s = ob_secalloc(n + 1);
    if (s == NULL) {
        err = ob_fail(p->d, OB_ERR_NOMEM, "%s: out of locked memory", p->path);
        goto out;
    }
    memcpy(s, tmp, n + 1);
    *out = s;
out:
    if (tmp != NULL) {
        ob_wipe(tmp, strlen(tmp));
        free(tmp);
    }
    return err;
}

/*
 * A decimal integer in [min, max], written plainly: no quotes, sign, leading
 * zero (YAML 1.1 would read 010 as octal), underscores or exponent.
 */
static ob_err get_uint(pctx *p, const yaml_node_t *v, const char *what, unsigned min, unsigned max,
                       unsigned *out)
{
    unsigned long long x = 0;
    size_t i;

    if (v->type != YAML_SCALAR_NODE)
        return perr(p, v, OB_ERR_MALFORMED, "%s: expected a number, got %s", what, kind_name(v));
    if (!is_plain(v))
        return perr(p, v, OB_ERR_MALFORMED, "%s: expected a number, got a quoted string", what);
    if (slen(v) == 0 || slen(v) > 10 || (slen(v) > 1 && sval(v)[0] == '0'))
        goto bad;
    for (i = 0; i < slen(v); i++) {
        char ch = sval(v)[i];
        if (ch < '0' || ch > '9')
            goto bad;
        x = x * 10 + (unsigned)(ch - '0');
    }
    if (x < min || x > max)
        return perr(p, v, OB_ERR_RANGE, "%s: %llu is out of range (%u..%u)", what, x, min, max);
    *out = (unsigned)x;
    return OB_OK;
bad:
    return perr(p, v, OB_ERR_MALFORMED, "%s: expected a whole number (%u..%u), got '%.*s'", what,
                min, max, (int)(slen(v) > 40 ? 40 : slen(v)), sval(v));
}

/* YAML 1.1 booleans as PyYAML reads them. */
static ob_err get_bool(pctx *p, const yaml_node_t *v, const char *what, int *out)
{
    static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
                                       "YES",  "on",   "On",   "ON",  NULL };
    static const char *const no[] = { "false", "False", "FALSE", "no",  "No",
                                      "NO",    "off",   "Off",   "OFF", NULL };
    size_t i;

    if (v->type == YAML_SCALAR_NODE && is_plain(v)) {
        for (i = 0; yes[i] != NULL; i++) {
            if (key_is(v, yes[i])) {
                *out = 1;
                return OB_OK;
            }
        }
        for (i = 0; no[i] != NULL; i++) {
            if (key_is(v, no[i])) {
                *out = 0;
                return OB_OK;
            }
        }
    }
    return perr(p, v, OB_ERR_MALFORMED, "%s: expected true or false", what);
}

/* a[0..an) "/" b[0..bn) as a new string; snprintf would be truncation-warned. */
static char *join2(const char *a, size_t an, const char *b, size_t bn)
{
    size_t slash = an > 0 && a[an - 1] == '/' ? 0 : 1; /* "/" + "x" is "/x" */
    char *s = malloc(an + slash + bn + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, a, an);
    if (slash)
        s[an] = '/';
    memcpy(s + an + slash, b, bn);
    s[an + slash + bn] = '\0';
    return s;
}

static ob_err join_path(pctx *p, const yaml_node_t *v, const char *dir, const char *rel, char **out)
{
    size_t n;
    char *s;

    if (rel[0] == '/') {
        n = strlen(rel);
        s = strdup(rel);
    } else {
        n = strlen(dir) + 1 + strlen(rel);
        s = n <= OB_CFG_MAX_PATH ? join2(dir, strlen(dir), rel, strlen(rel)) : NULL;
    }
    if (n > OB_CFG_MAX_PATH) {
        free(s);
        return perr(p, v, OB_ERR_RANGE, "path is longer than %d bytes once resolved",
                    OB_CFG_MAX_PATH);
    }
    if (s == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    *out = s;
    return OB_OK;
}

/* A path, relative ones resolved against the config file's directory. */
static ob_err get_path(pctx *p, const yaml_node_t *v, const char *what, char **out)
{
    char *rel = NULL;
    ob_err err;

    err = get_str(p, v, what, OB_CFG_MAX_PATH, &rel);
    if (err == OB_OK)
        err = join_path(p, v, p->c->dir, rel, out);
    free(rel);
    return err;
}

static void suggest(char *buf, size_t n, const yaml_node_t *k, const char *const *known,
                    const gkey *gk, size_t ngk)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; known != NULL && known[i] != NULL; i++) {
        if (slen(k) == strlen(known[i]) && strncasecmp(sval(k), known[i], slen(k)) == 0) {
            snprintf(buf, n, " (did you mean '%s'?)", known[i]);
            return;
        }
    }
    for (i = 0; i < ngk; i++) {
        if (slen(k) == strlen(gk[i].name) && strncasecmp(sval(k), gk[i].name, slen(k)) == 0) {
            snprintf(buf, n, " (did you mean '%s'?)", gk[i].name);
            return;
        }
    }
}

static ob_err unknown_key(pctx *p, const yaml_node_t *k, const char *where,
                          const char *const *known, const gkey *gk, size_t ngk)
{
    char hint[96];

    suggest(hint, sizeof(hint), k, known, gk, ngk);
    return pwarn(p, k, "unknown key '%.*s' in %s, ignored%s", (int)(slen(k) > 64 ? 64 : slen(k)),
                 sval(k), where, hint);
}

/*
 * Check a mapping's shape: its size, that every key is a plain string, and
 * that no key appears twice.
 */
static ob_err check_mapping(pctx *p, const yaml_node_t *m, const char *what)
{
    yaml_node_pair_t *a, *b;
    size_t n;

    if (m->type != YAML_MAPPING_NODE)
        return perr(p, m, OB_ERR_MALFORMED, "%s: expected a mapping, got %s", what, kind_name(m));
    n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    if (n > OB_CFG_MAX_KEYS)
        return perr(p, m, OB_ERR_RANGE, "%s has %zu keys, more than the limit of %d", what, n,
                    OB_CFG_MAX_KEYS);
    for (a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
        if (k->type != YAML_SCALAR_NODE || is_null(k) || memchr(sval(k), 0, slen(k)) != NULL)
            return perr(p, k, OB_ERR_MALFORMED, "%s: keys must be plain names, got %s", what,
                        is_null(k) ? "an empty key" : kind_name(k));
        for (b = m->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *kb = yaml_document_get_node(p->doc, b->key);
            if (slen(kb) == slen(k) && memcmp(sval(kb), sval(k), slen(k)) == 0)
                return perr(p, k, OB_ERR_MALFORMED, "duplicate key '%.*s' (first at line %zu)",
                            (int)(slen(k) > 64 ? 64 : slen(k)), sval(k), mline(kb));
        }
    }
    return OB_OK;
}

static ob_err get_onion(pctx *p, const yaml_node_t *v, const char *what, char **out, int *version,
                        uint8_t pk[32])
{
    char *s = NULL, norm[OB_ONION_V3_LEN + 1];
    ob_diag od;
    ob_err err;

    err = get_str(p, v, what, OB_CFG_MAX_STRING, &s);
    if (err != OB_OK)
        goto out;
    ob_diag_clear(&od);
    err = ob_onion_normalize_key(s, norm, version, pk, &od);
    if (err != OB_OK) {
        const char *why = od.msg;
        if (strncmp(why, "onion address: ", 15) == 0)
            why += 15;
        err = perr(p, v, err, "%s: '%.70s' is not a valid onion address: %s", what, s, why);
        goto out;
    }
    *out = strdup(norm);
    if (*out == NULL)
        err = ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
out:
    free(s);
    return err;
}

/* The cookie tor prints for a v2 client: base64 of 16 bytes without "==". */
static ob_err get_cookie(pctx *p, const yaml_node_t *v, const char *what, char **out)
{
    uint8_t raw[16];
    size_t n = 0;
    char *s = NULL;
    ob_err err;

    err = get_secret(p, v, what, &s);
    if (err != OB_OK)
        goto out;
    if (strlen(s) != 22 || ob_base64_decode(raw, sizeof(raw), &n, s, 22, OB_B64_NOPAD) != 0 ||
        n != sizeof(raw)) {
        err = perr(p, v, OB_ERR_MALFORMED,
                   "%s: expected the 22-character descriptor cookie tor gives the client", what);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    ob_wipe(raw, sizeof(raw));
    ob_secfree(s);
    return err;
}

static ob_err parse_instance(pctx *p, const yaml_node_t *m, ob_cfg_instance *in)
{
    const yaml_node_t *addr = NULL, *cak = NULL, *cookie = NULL;
    yaml_node_pair_t *pr;
    ob_err err;

    in->line = (int)mline(m);
    in->column = (int)mcol(m);
    err = check_mapping(p, m, "instance entry");
    if (err != OB_OK)
        return err;
    for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        if (key_is(k, "address")) {
            addr = v;
            err = get_onion(p, v, "instance address", &in->address, &in->version, in->key);
        } else if (is_null(v) && (key_is(k, "name") || key_is(k, "client_auth_key") ||
                                  key_is(k, "auth_cookie") || key_is(k, "auth"))) {
            /* An optional setting without a value is not set (OnionBalance's None). */
        } else if (key_is(k, "name")) {
            err = get_str(p, v, "name", OB_CFG_MAX_STRING, &in->name);
        } else if (key_is(k, "client_auth_key")) {
            cak = v;
            err = get_path(p, v, "client_auth_key", &in->client_auth_key_path);
        } else if (key_is(k, "auth_cookie") || key_is(k, "auth")) {
            if (cookie != NULL)
                return perr(p, k, OB_ERR_MALFORMED,
                            "give the v2 cookie once, as auth_cookie or auth (also at line %zu)",
                            mline(cookie));
            cookie = v;
            err = get_cookie(p, v, "auth_cookie", &in->auth_cookie);
        } else {
            err = unknown_key(p, k, "instance entry", instance_keys, NULL, 0);
        }
        if (err != OB_OK)
            return err;
    }
    if (addr == NULL)
        return perr(p, m, OB_ERR_MALFORMED, "instance entry has no 'address'");
    if (cak != NULL && in->version != 3)
        return perr(p, cak, OB_ERR_MALFORMED,
                    "client_auth_key is for v3 instances; a v2 instance takes auth_cookie");
    if (cookie != NULL && in->version != 2)
        return perr(p, cookie, OB_ERR_MALFORMED,
                    "auth_cookie is for v2 instances; a v3 instance takes client_auth_key");
    return OB_OK;
}

/* What can be checked once a service's version is known (parse or bind). */
static ob_err check_service(const ob_config *c, const ob_cfg_service *s, int presign_line,
                            ob_diag *d)
{
    unsigned max = s->version == 2 ? OB_CFG_PRESIGN_MAX_V2 : OB_CFG_PRESIGN_MAX_V3;
    size_t i;

    if (s->version == 0)
        return OB_OK;
    if (s->version == 2 && s->lifetime_line != 0)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s:%d: descriptor_lifetime applies to v3 services only; v2 descriptors "
                       "last a time period",
                       c->path, s->lifetime_line);
    if (s->presign_window > max) {
        int line = s->presign_line != 0 ? s->presign_line : presign_line;
        return ob_fail(d, OB_ERR_RANGE,
                       "%s:%d: presign_window %u is more than the v%d maximum of %u minutes "
                       "(service at line %d)",
                       c->path, line != 0 ? line : s->line, s->presign_window, s->version, max,
                       s->line);
    }
    for (i = 0; i < s->n_instances; i++) {
        const ob_cfg_instance *in = &s->instances[i];
        if (in->version != s->version)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s:%d:%d: instance %s is a v%d address but the service at line %d "
                           "is v%d",
                           c->path, in->line, in->column, in->address, in->version, s->line,
                           s->version);
        if (s->address != NULL && strcmp(in->address, s->address) == 0)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s:%d:%d: instance %s is the service's own master address", c->path,
                           in->line, in->column, in->address);
    }
    return OB_OK;
}

static int cmp_instance(const void *a, const void *b)
{
    const ob_cfg_instance *x = *(const ob_cfg_instance *const *)a;
    const ob_cfg_instance *y = *(const ob_cfg_instance *const *)b;
    int r = strcmp(x->address, y->address);

    return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

static ob_err dup_instances(pctx *p, const ob_cfg_service *s)
{
    const ob_cfg_instance **v = NULL;
    ob_err err = OB_OK;
    size_t i;

    if (s->n_instances < 2)
        return OB_OK;
    v = malloc(s->n_instances * sizeof(*v));
    if (v == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    for (i = 0; i < s->n_instances; i++)
        v[i] = &s->instances[i];
    qsort(v, s->n_instances, sizeof(*v), cmp_instance);
    for (i = 1; i < s->n_instances; i++) {
        if (strcmp(v[i - 1]->address, v[i]->address) == 0) {
            err = ob_fail(p->d, OB_ERR_MALFORMED,
                          "%s:%d:%d: instance %s is listed twice in the service at line %d "
                          "(lines %d and %d)",
                          p->path, v[i]->line, v[i]->column, v[i]->address, s->line, v[i - 1]->line,
                          v[i]->line);
            break;
        }
    }
    free(v);
    return err;
}

static ob_err parse_service(pctx *p, const yaml_node_t *m, ob_cfg_service *s)
{
    const yaml_node_t *key = NULL, *addr = NULL, *ver = NULL, *inst = NULL;
    const yaml_node_t *life = NULL, *pre = NULL, *mini = NULL;
    yaml_node_item_t *it;
    yaml_node_pair_t *pr;
    unsigned version = 0;
    size_t n, i;
    ob_err err;

    s->line = (int)mline(m);
    s->column = (int)mcol(m);
    err = check_mapping(p, m, "service entry");
    if (err != OB_OK)
        return err;
    for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        if (key_is(k, "key")) {
            key = v;
            err = get_path(p, v, "key", &s->key_path);
        } else if (key_is(k, "address")) {
            addr = v;
            err = get_onion(p, v, "service address", &s->address, &s->version, s->key);
        } else if (key_is(k, "instances")) {
            inst = v;
        } else if (is_null(v) && (key_is(k, "version") || key_is(k, "descriptor_lifetime") ||
                                  key_is(k, "presign_window") || key_is(k, "min_instances"))) {
            /* Not set: inferred, or inherited from the global value. */
        } else if (key_is(k, "version")) {
            ver = v;
            err = get_uint(p, v, "version", 2, 3, &version);
        } else if (key_is(k, "descriptor_lifetime")) {
            life = v;
            s->lifetime_line = (int)mline(v);
            err = get_uint(p, v, "descriptor_lifetime", OB_CFG_LIFETIME_MIN, OB_CFG_LIFETIME_MAX,
                           &s->descriptor_lifetime);
        } else if (key_is(k, "presign_window")) {
            pre = v;
            s->presign_line = (int)mline(v);
            err = get_uint(p, v, "presign_window", 0, OB_CFG_PRESIGN_MAX_V3, &s->presign_window);
        } else if (key_is(k, "min_instances")) {
            mini = v;
            err = get_uint(p, v, "min_instances", 1, OB_CFG_MAX_INSTANCES, &s->min_instances);
        } else {
            err = unknown_key(p, k, "service entry", service_keys, NULL, 0);
        }
        if (err != OB_OK)
            return err;
    }
    /*
     * key and address together: an offline config that names the address it
     * expects from the key (checked when the key is bound), which lets the
     * signer match a request before unlocking anything and lets several
     * services share one multi-key store.
     */
    if (key == NULL && addr == NULL)
        return perr(p, m, OB_ERR_MALFORMED,
                    "service entry needs 'key' (offline config) or 'address' (online config)");
    if (ver != NULL) {
        if (s->version != 0 && (unsigned)s->version != version)
            return perr(p, ver, OB_ERR_MALFORMED, "version %u, but the address at line %zu is v%d",
                        version, mline(addr), s->version);
        s->version = (int)version;
    }
    /* Checked again, without a column, for inherited values and bound keys. */
    if (s->version == 2 && life != NULL)
        return perr(p, life, OB_ERR_MALFORMED,
                    "descriptor_lifetime applies to v3 services only; v2 descriptors last a "
                    "time period");
    if (s->version == 2 && pre != NULL && s->presign_window > OB_CFG_PRESIGN_MAX_V2)
        return perr(p, pre, OB_ERR_RANGE, "presign_window %u is more than the v2 maximum of %u",
                    s->presign_window, OB_CFG_PRESIGN_MAX_V2);
    if (inst == NULL)
        return perr(p, m, OB_ERR_MALFORMED, "service entry has no 'instances' list");
    if (inst->type != YAML_SEQUENCE_NODE)
        return perr(p, inst, OB_ERR_MALFORMED, "instances: expected a list, got %s",
                    kind_name(inst));
    n = (size_t)(inst->data.sequence.items.top - inst->data.sequence.items.start);
    if (n == 0)
        return perr(p, inst, OB_ERR_MALFORMED,
                    "instances: the list is empty; a service needs at "
                    "least one backend instance");
    if (n > OB_CFG_MAX_INSTANCES)
        return perr(p, inst, OB_ERR_RANGE, "instances: %zu entries, more than the limit of %d", n,
                    OB_CFG_MAX_INSTANCES);
    if (n > OB_CFG_MAX_INSTANCES_TOTAL - p->total_instances)
        return perr(p, inst, OB_ERR_RANGE, "more than %d instances in all",
                    OB_CFG_MAX_INSTANCES_TOTAL);
    if (mini == NULL)
        s->min_instances = OB_CFG_MIN_INSTANCES_DEFAULT;
    else if (s->min_instances > n)
        return perr(p, mini, OB_ERR_RANGE,
                    "min_instances %u is more than the %zu instance(s) this service lists: "
                    "nothing could ever be signed",
                    s->min_instances, n);
    p->total_instances += n;
    s->instances = calloc(n, sizeof(*s->instances));
    if (s->instances == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    s->n_instances = n;
    for (i = 0, it = inst->data.sequence.items.start; i < n; i++, it++) {
        err = parse_instance(p, yaml_document_get_node(p->doc, *it), &s->instances[i]);
        if (err != OB_OK)
            return err;
        if (s->version == 0 && i > 0 && s->instances[i].version != s->instances[0].version)
            return ob_fail(p->d, OB_ERR_MALFORMED,
                           "%s:%d:%d: instance %s is v%d but the instance at line %d is v%d; "
                           "one service has instances of one version",
                           p->path, s->instances[i].line, s->instances[i].column,
                           s->instances[i].address, s->instances[i].version, s->instances[0].line,
                           s->instances[0].version);
    }
    return dup_instances(p, s);
}

static ob_err parse_services(pctx *p, const yaml_node_t *v)
{
    yaml_node_item_t *it;
    size_t n, i;
    ob_err err;

    if (v->type != YAML_SEQUENCE_NODE)
        return perr(p, v, OB_ERR_MALFORMED, "services: expected a list, got %s", kind_name(v));
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return perr(p, v, OB_ERR_MALFORMED, "services: the list is empty");
    if (n > OB_CFG_MAX_SERVICES)
        return perr(p, v, OB_ERR_RANGE, "services: %zu entries, more than the limit of %d", n,
                    OB_CFG_MAX_SERVICES);
    p->c->services = calloc(n, sizeof(*p->c->services));
    if (p->c->services == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    p->c->n_services = n;
    for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
        err = parse_service(p, yaml_document_get_node(p->doc, *it), &p->c->services[i]);
        if (err != OB_OK)
            return err;
    }
    return OB_OK;
}

static ob_err set_global(pctx *p, const gkey *g, const yaml_node_t *v)
{
    char *base = (char *)p->c + g->off;
    char **sp = (char **)(void *)base;
    char *s = NULL;
    struct in6_addr a6;
    struct in_addr a4;
    ob_err err = OB_OK;
    size_t i;

    /*
     * OnionBalance skipped a setting without a value and kept its default;
     * so do we, but say so, since "TOR_PORT:" is more often a slip.
     */
    if (is_null(v))
        return pwarn(p, v, "%s has no value; its default is used", g->name);
    switch (g->kind) {
    case K_UINT:
        return get_uint(p, v, g->name, g->min, g->max, (unsigned *)(void *)base);
    case K_BOOL:
        return get_bool(p, v, g->name, (int *)(void *)base);
    case K_STR:
    case K_IP:
    case K_LOGLEVEL:
        err = get_str(p, v, g->name, OB_CFG_MAX_PATH, &s);
        if (err != OB_OK)
            return err;
        if (g->kind == K_IP && inet_pton(AF_INET, s, &a4) != 1 &&
            inet_pton(AF_INET6, s, &a6) != 1) {
            err = perr(p, v, OB_ERR_MALFORMED, "%s: '%.64s' is not an IPv4 or IPv6 address",
                       g->name, s);
            break;
        }
        if (g->kind == K_LOGLEVEL) {
            for (i = 0; s[i] != '\0'; i++)
                s[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
            for (i = 0; log_levels[i] != NULL && strcmp(log_levels[i], s) != 0; i++)
                ;
            if (log_levels[i] == NULL) {
                err = perr(p, v, OB_ERR_MALFORMED,
                           "%s: '%.32s' is not one of debug, info, warning, error, critical",
                           g->name, s);
                break;
            }
        }
        free(*sp);
        *sp = s;
        return OB_OK;
    case K_PATH:
        err = get_path(p, v, g->name, &s);
        if (err != OB_OK)
            return err;
        free(*sp);
        *sp = s;
        return OB_OK;
    case K_SECRET:
        err = get_secret(p, v, g->name, &s);
        if (err != OB_OK)
            return err;
        ob_secfree(*sp);
        *sp = s;
        return OB_OK;
    }
    free(s);
    return err;
}

static ob_err parse_root(pctx *p, const yaml_node_t *root)
{
    const yaml_node_t *services = NULL;
    yaml_node_pair_t *pr;
    size_t i, ng = sizeof(gkeys) / sizeof(gkeys[0]);
    int sock_keys = 0;
    ob_err err;

    err = check_mapping(p, root, "the top level");
    if (err != OB_OK)
        return err;
    /* Globals first: services inherit descriptor_lifetime and presign_window. */
    for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        if (key_is(k, "services")) {
            services = v;
            continue;
        }
        for (i = 0; i < ng && !key_is(k, gkeys[i].name); i++)
            ;
        if (i < ng) {
            if (strcmp(gkeys[i].name, "presign_window") == 0)
                p->presign_line = (int)mline(v);
            if (gkeys[i].off == CFG_OFF(status_socket_location) && sock_keys++ > 0)
                return perr(p, k, OB_ERR_MALFORMED,
                            "STATUS_SOCKET_LOCATION and status-socket-location name the same "
                            "setting: give one");
            err = set_global(p, &gkeys[i], v);
            if (err == OB_OK && !is_null(v))
                p->c->given |= 1ull << i;
        } else {
            static const char *const top[] = { "services", NULL };
            err = unknown_key(p, k, "the top level", top, gkeys, ng);
        }
        if (err != OB_OK)
            return err;
    }
    if (services == NULL)
        return perr(p, root, OB_ERR_MALFORMED, "no 'services:' list at the top level");
    return parse_services(p, services);
}

/* Services the same master would be listed twice under, by address or key. */
static int cmp_by_address(const void *a, const void *b)
{
    const ob_cfg_service *x = *(const ob_cfg_service *const *)a;
    const ob_cfg_service *y = *(const ob_cfg_service *const *)b;
    int r = strcmp(x->address, y->address);

    return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

static int cmp_by_key(const void *a, const void *b)
{
    const ob_cfg_service *x = *(const ob_cfg_service *const *)a;
    const ob_cfg_service *y = *(const ob_cfg_service *const *)b;
    int r = strcmp(x->key_path, y->key_path);

    return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

static ob_err dup_services(pctx *p)
{
    const ob_cfg_service **v = NULL;
    ob_config *c = p->c;
    ob_err err = OB_OK;
    size_t i, n, pass;

    v = malloc((c->n_services + 1) * sizeof(*v));
    if (v == NULL)
        return ob_fail(p->d, OB_ERR_NOMEM, "%s: out of memory", p->path);
    for (pass = 0; pass < 2 && err == OB_OK; pass++) {
        for (i = 0, n = 0; i < c->n_services; i++) {
            const ob_cfg_service *s = &c->services[i];
            if ((pass == 0 ? s->address : s->key_path) != NULL)
                v[n++] = s;
        }
        qsort(v, n, sizeof(*v), pass == 0 ? cmp_by_address : cmp_by_key);
        for (i = 1; i < n; i++) {
            const char *a = pass == 0 ? v[i - 1]->address : v[i - 1]->key_path;
            const char *b = pass == 0 ? v[i]->address : v[i]->key_path;
            /* One key store may serve several services, each naming its address. */
            if (strcmp(a, b) == 0 &&
                !(pass == 1 && v[i - 1]->address != NULL && v[i]->address != NULL)) {
                err = ob_fail(p->d, OB_ERR_MALFORMED,
                              "%s:%d:%d: service %s %.200s is listed twice (lines %d and %d)",
                              p->path, v[i]->line, v[i]->column, pass == 0 ? "address" : "key", b,
                              v[i - 1]->line, v[i]->line);
                break;
            }
        }
    }
    free(v);
    return err;
}

static ob_err config_dir(const char *path, char **out, ob_diag *d)
{
    const char *slash = strrchr(path, '/');
    char cwd[OB_CFG_MAX_PATH + 1];
    char *dir = NULL;
    size_t n;

    if (slash != NULL && path[0] == '/') {
        n = slash == path ? 1 : (size_t)(slash - path);
        dir = strndup(path, n);
    } else {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return ob_fail(d, OB_ERR_IO, "%s: cannot tell the current directory", path);
        if (slash == NULL) {
            dir = strdup(cwd);
        } else {
            n = strlen(cwd) + 1 + (size_t)(slash - path);
            if (n > OB_CFG_MAX_PATH)
                return ob_fail(d, OB_ERR_RANGE, "%s: path too long", path);
            dir = join2(cwd, strlen(cwd), path, (size_t)(slash - path));
        }
    }
    if (dir == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
    *out = dir;
    return OB_OK;
}

/* Defaults: built in, then OnionBalance's environment variables. */
static ob_err config_new(const char *path, ob_config **out, ob_diag *d)
{
    static const struct {
        const char *env;
        size_t off;
        const char *def;
    } strs[] = {
        /* No default: as OnionBalance 0.2 (v3), no status socket unless one is
         * configured. */
        { "ONIONBALANCE_STATUS_SOCKET_LOCATION", CFG_OFF(status_socket_location), NULL },
        { "ONIONBALANCE_TOR_CONTROL_SOCKET", CFG_OFF(tor_control_socket), "/var/run/tor/control" },
        { NULL, CFG_OFF(tor_address), "127.0.0.1" },
        { "ONIONBALANCE_LOG_LEVEL", CFG_OFF(log_level), "info" },
        { "ONIONBALANCE_LOG_LOCATION", CFG_OFF(log_location), NULL },
    };
    ob_config *c = NULL;
    ob_err err = OB_ERR_NOMEM;
    size_t i, j;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->path = strdup(path)) == NULL)
        goto out;
    err = config_dir(path, &c->dir, d);
    if (err != OB_OK)
        goto out;
    err = OB_ERR_NOMEM;
    c->refresh_interval = 600;
    c->publish_check_interval = 300;
    c->initial_delay = 45;
    c->descriptor_validity_period = 86400;
    c->descriptor_overlap_period = 3600;
    c->descriptor_upload_period = 3600;
    c->distinct_descriptors = 1;
    c->replicas = 2;
    c->hsdir_set = 3;
    c->max_intro_points = 10;
    c->tor_port = 9051;
    c->time_period_length = OB_CFG_TP_LENGTH_DEFAULT;
    c->descriptor_lifetime = OB_CFG_LIFETIME_DEFAULT;
    c->presign_window = OB_CFG_PRESIGN_DEFAULT;
    c->max_clock_skew = OB_CFG_SKEW_DEFAULT;
    c->delegation_max_days = OB_CFG_DELEGATION_DEFAULT;
    c->delegate_renew_days = OB_CFG_RENEW_DAYS_DEFAULT;
    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = strs[i].env != NULL ? getenv(strs[i].env) : NULL;
        char **sp = (char **)(void *)((char *)c + strs[i].off);
        if (v == NULL || v[0] == '\0')
            v = strs[i].def;
        if (v == NULL)
            continue;
        if (strlen(v) > OB_CFG_MAX_PATH) {
            err = ob_fail(d, OB_ERR_RANGE, "%s is too long", strs[i].env);
            goto out;
        }
        if ((*sp = strdup(v)) == NULL)
            goto out;
    }
    for (i = 0; log_levels[i] != NULL && strcasecmp(c->log_level, log_levels[i]) != 0; i++)
        ;
    if (log_levels[i] == NULL) {
        err = ob_fail(d, OB_ERR_MALFORMED,
                      "ONIONBALANCE_LOG_LEVEL: '%.32s' is not one of debug, info, warning, error, "
                      "critical",
                      c->log_level);
        goto out;
    }
    for (j = 0; c->log_level[j] != '\0'; j++)
        c->log_level[j] = log_levels[i][j];
    if (strlen(c->dir) + sizeof("/ceremony.log") > OB_CFG_MAX_PATH + 1) {
        err = ob_fail(d, OB_ERR_RANGE, "%s: directory path too long", path);
        goto out;
    }
    c->ceremony_log = join2(c->dir, strlen(c->dir), "ceremony.log", strlen("ceremony.log"));
    if (c->ceremony_log == NULL)
        goto out;
    *out = c;
    c = NULL;
    err = OB_OK;
out:
    if (err == OB_ERR_NOMEM)
        ob_fail(d, err, "%s: out of memory", path);
    ob_config_free(c);
    return err;
}

static ob_err yaml_problem(const char *path, const yaml_parser_t *y, ob_diag *d)
{
    if (y->error == YAML_MEMORY_ERROR)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory while reading YAML", path);
    if (y->error == YAML_READER_ERROR)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: byte offset %zu: %s", path, y->problem_offset,
                       y->problem != NULL ? y->problem : "unreadable input");
    if (y->context != NULL)
        return ob_fail(d, OB_ERR_MALFORMED, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)",
                       path, y->problem_mark.line + 1, y->problem_mark.column + 1,
                       y->problem != NULL ? y->problem : "?", y->context, y->context_mark.line + 1);
    return ob_fail(d, OB_ERR_MALFORMED, "%s:%zu:%zu: YAML syntax error: %s", path,
                   y->problem_mark.line + 1, y->problem_mark.column + 1,
                   y->problem != NULL ? y->problem : "?");
}

/* ---- reading the events ---------------------------------------------------- */

typedef struct lstate {
    const char *path;
    yaml_parser_t *y;
    yaml_document_t *doc;
    int stack[OB_CFG_MAX_DEPTH]; /* open collections, outermost first */
    int key[OB_CFG_MAX_DEPTH];   /* a mapping's key waiting for its value, or 0 */
    size_t depth, nodes;
    ob_diag *d;
} lstate;

static ob_err ev_fail(const lstate *l, const yaml_event_t *ev, ob_err e, const char *what)
{
    return ob_fail(l->d, e, "%s:%zu:%zu: %s", l->path, ev->start_mark.line + 1,
                   ev->start_mark.column + 1, what);
}

/* What no config may hold, refused at the first event that shows it. */
static ob_err ev_check(lstate *l, const yaml_event_t *ev, const yaml_char_t *anchor,
                       const yaml_char_t *tag, const char *default_tag)
{
    if (anchor != NULL)
        return ev_fail(l, ev, OB_ERR_UNSUPPORTED,
                       "YAML anchors and aliases are not supported; write the value out");
    /* Explicit tags (!!int, !custom) would change what a value means. */
    if (tag != NULL && strcmp((const char *)tag, default_tag) != 0)
        return ev_fail(l, ev, OB_ERR_UNSUPPORTED, "explicit YAML tags are not supported");
    if (l->nodes++ >= OB_CFG_MAX_NODES) {
        char what[96];
        snprintf(what, sizeof(what), "more than %d YAML values in the file", OB_CFG_MAX_NODES);
        return ev_fail(l, ev, OB_ERR_RANGE, what);
    }
    return OB_OK;
}

/* Hang node id under the innermost open collection (the root has none). */
static ob_err ev_attach(lstate *l, int id)
{
    int parent, ok = 1;

    if (l->depth == 0)
        return OB_OK;
    parent = l->stack[l->depth - 1];
    if (yaml_document_get_node(l->doc, parent)->type == YAML_SEQUENCE_NODE) {
        ok = yaml_document_append_sequence_item(l->doc, parent, id);
    } else if (l->key[l->depth - 1] == 0) {
        l->key[l->depth - 1] = id;
    } else {
        ok = yaml_document_append_mapping_pair(l->doc, parent, l->key[l->depth - 1], id);
        l->key[l->depth - 1] = 0;
    }
    return ok ? OB_OK : ob_fail(l->d, OB_ERR_NOMEM, "%s: out of memory", l->path);
}

static ob_err ev_node(lstate *l, const yaml_event_t *ev)
{
    yaml_node_t *n;
    int id = 0;
    ob_err err;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return ev_fail(l, ev, OB_ERR_UNSUPPORTED,
                       "YAML anchors and aliases are not supported; write the value out");
    case YAML_SCALAR_EVENT:
        err = ev_check(l, ev, ev->data.scalar.anchor, ev->data.scalar.tag, YAML_DEFAULT_SCALAR_TAG);
        if (err != OB_OK)
            return err;
        id = yaml_document_add_scalar(l->doc, NULL, ev->data.scalar.value,
                                      (int)ev->data.scalar.length, ev->data.scalar.style);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int seq = ev->type == YAML_SEQUENCE_START_EVENT;
        err = seq ? ev_check(l, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag,
                             YAML_DEFAULT_SEQUENCE_TAG)
                  : ev_check(l, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag,
                             YAML_DEFAULT_MAPPING_TAG);
        if (err != OB_OK)
            return err;
        if (l->depth == OB_CFG_MAX_DEPTH) {
            char what[96];
            snprintf(what, sizeof(what), "YAML nested deeper than %d levels", OB_CFG_MAX_DEPTH);
            return ev_fail(l, ev, OB_ERR_RANGE, what);
        }
        id = seq ? yaml_document_add_sequence(l->doc, NULL, ev->data.sequence_start.style)
                 : yaml_document_add_mapping(l->doc, NULL, ev->data.mapping_start.style);
        break;
    }
    default:
        return ob_fail(l->d, OB_ERR_INTERNAL, "%s: unexpected YAML event %d", l->path,
                       (int)ev->type);
    }
    if (id == 0)
        return ob_fail(l->d, OB_ERR_NOMEM, "%s: out of memory", l->path);
    n = yaml_document_get_node(l->doc, id);
    n->start_mark = ev->start_mark;
    n->end_mark = ev->end_mark;
    if ((err = ev_attach(l, id)) != OB_OK)
        return err;
    if (ev->type != YAML_SCALAR_EVENT) {
        l->key[l->depth] = 0;
        l->stack[l->depth++] = id;
    }
    return OB_OK;
}

/*
 * The one document of the file into doc (initialised here; the caller
 * deletes it when *have_doc), or "empty".  Stops at the first event past a
 * limit, so no input makes libyaml scan far.
 */
static ob_err load_document(lstate *l, int *have_doc, int *empty)
{
    yaml_event_t ev;
    int state = 0; /* 0 stream start, 1 document start, 2 nodes, 3 document end, 4 done */
    ob_err err = OB_OK;

    *empty = 0;
    while (state != 4) {
        if (!yaml_parser_parse(l->y, &ev))
            return yaml_problem(l->path, l->y, l->d);
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
            state = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (state == 3) {
                err = ev_fail(l, &ev, OB_ERR_MALFORMED,
                              "a second YAML document; put everything in one");
                break;
            }
            if (!yaml_document_initialize(l->doc, NULL, NULL, NULL, 1, 1)) {
                err = ob_fail(l->d, OB_ERR_NOMEM, "%s: out of memory", l->path);
                break;
            }
            *have_doc = 1;
            state = 2;
            break;
        case YAML_DOCUMENT_END_EVENT:
            state = 3;
            break;
        case YAML_STREAM_END_EVENT:
            *empty = !*have_doc;
            state = 4;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            /* libyaml pairs starts and ends; depth > 0 here. */
            yaml_document_get_node(l->doc, l->stack[l->depth - 1])->end_mark = ev.end_mark;
            l->depth--;
            break;
        default:
            err = ev_node(l, &ev);
            break;
        }
        yaml_event_delete(&ev);
        if (err != OB_OK)
            return err;
    }
    return OB_OK;
}

ob_err ob_config_parse(const char *path, const char *text, size_t len, ob_config **out, ob_diag *d)
{
    yaml_parser_t y;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0, empty = 0;
    ob_config *c = NULL;
    yaml_node_t *root;
    lstate l;
    pctx p;
    ob_err err;
    size_t i;

    *out = NULL;
    if (len > OB_CFG_MAX_FILE)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu bytes, more than the limit of %u", path, len,
                       OB_CFG_MAX_FILE);
    err = config_new(path, &c, d);
    if (err != OB_OK)
        goto out;
    if (!yaml_parser_initialize(&y)) {
        err = ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    memset(&l, 0, sizeof(l));
    l.path = path;
    l.y = &y;
    l.doc = &doc;
    l.d = d;
    err = load_document(&l, &have_doc, &empty);
    if (err != OB_OK)
        goto out;
    root = empty ? NULL : yaml_document_get_root_node(&doc);
    if (root == NULL) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: empty config; expected a mapping with 'services:'",
                      path);
        goto out;
    }
    memset(&p, 0, sizeof(p));
    p.path = path;
    p.doc = &doc;
    p.c = c;
    p.d = d;
    err = parse_root(&p, root);
    for (i = 0; err == OB_OK && i < c->n_services; i++) {
        ob_cfg_service *s = &c->services[i];
        if (s->lifetime_line == 0)
            s->descriptor_lifetime = c->descriptor_lifetime;
        if (s->presign_line == 0)
            s->presign_window = c->presign_window;
        err = check_service(c, s, p.presign_line, d);
        /* A v3 ceremony signs the periods in force, nothing ahead. */
        if (err == OB_OK && s->version == 3 && s->presign_line != 0) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "%s:%d: presign_window applies to v2 services only; ignored for this v3 "
                     "service (docs/config.rst)",
                     path, s->presign_line);
            if (add_warning(c, msg) != OB_OK)
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        }
    }
    if (err == OB_OK)
        err = dup_services(&p);
    if (err != OB_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&y);
    ob_config_free(c);
    return err;
}

ob_err ob_config_load(const char *path, ob_config **out, ob_diag *d)
{
    uint8_t *text = NULL;
    size_t len = 0;
    ob_err err;

    *out = NULL;
    err = ob_file_read(path, OB_CFG_MAX_FILE, &text, &len, d);
    if (err == OB_OK)
        err = ob_config_parse(path, (const char *)text, len, out, d);
    if (text != NULL) {
        ob_wipe(text, len); /* it may hold TOR_CONTROL_PASSWORD or cookies */
        free(text);
    }
    return err;
}

void ob_config_free(ob_config *c)
{
    size_t i, j;

    if (c == NULL)
        return;
    for (i = 0; i < c->n_services; i++) {
        ob_cfg_service *s = &c->services[i];
        for (j = 0; j < s->n_instances; j++) {
            ob_cfg_instance *in = &s->instances[j];
            free(in->address);
            free(in->name);
            free(in->client_auth_key_path);
            ob_secfree(in->auth_cookie);
        }
        free(s->instances);
        free(s->key_path);
        free(s->address);
    }
    free(c->services);
    for (i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    free(c->status_socket_location);
    free(c->tor_control_socket);
    free(c->tor_address);
    ob_secfree(c->tor_control_password);
    free(c->log_level);
    free(c->log_location);
    free(c->ceremony_log);
    free(c->inbox);
    free(c->outbox);
    free(c->path);
    free(c->dir);
    free(c);
}

/* "<addr>[.onion]" in either case to the bare lower-case form; 0 or -1. */
static int bare_address(const char *in, char out[OB_ONION_V3_LEN + 1])
{
    size_t n, i;

    if (in == NULL)
        return -1;
    n = strlen(in);
    if (n > 6 && strcasecmp(in + n - 6, ".onion") == 0)
        n -= 6;
    if (n != OB_ONION_V3_LEN && n != OB_ONION_V2_LEN)
        return -1;
    for (i = 0; i < n; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] - 'A' + 'a' : in[i]);
    out[n] = '\0';
    return 0;
}

const ob_cfg_service *ob_config_find_service(const ob_config *c, const char *address)
{
    char a[OB_ONION_V3_LEN + 1];
    size_t i;

    if (c == NULL || bare_address(address, a) != 0)
        return NULL;
    for (i = 0; i < c->n_services; i++) {
        if (c->services[i].address != NULL && strcmp(c->services[i].address, a) == 0)
            return &c->services[i];
    }
    return NULL;
}

const ob_cfg_instance *ob_cfg_service_find_instance(const ob_cfg_service *s, const char *address)
{
    char a[OB_ONION_V3_LEN + 1];
    size_t i;

    if (s == NULL || bare_address(address, a) != 0)
        return NULL;
    for (i = 0; i < s->n_instances; i++) {
        if (strcmp(s->instances[i].address, a) == 0)
            return &s->instances[i];
    }
    return NULL;
}

ob_err ob_config_bind_key(ob_config *c, size_t i, const char *address, ob_diag *d)
{
    char norm[OB_ONION_V3_LEN + 1];
    uint8_t key[32];
    ob_cfg_service *s;
    int version = 0, old_version;
    char *copy = NULL;
    ob_err err;
    size_t j;

    if (c == NULL || i >= c->n_services)
        return ob_fail(d, OB_ERR_INTERNAL, "config: no service %zu", i);
    s = &c->services[i];
    err = ob_onion_normalize_key(address, norm, &version, key, d);
    if (err != OB_OK)
        return err;
    if (s->address != NULL && strcmp(s->address, norm) != 0)
        return ob_fail(d, OB_ERR_VERIFY, "%s:%d: the key is for %s, not %s", c->path, s->line, norm,
                       s->address);
    if (s->version != 0 && s->version != version)
        return ob_fail(d, OB_ERR_MALFORMED, "%s:%d: the service says version %d but its key is v%d",
                       c->path, s->line, s->version, version);
    for (j = 0; j < c->n_services; j++) {
        const ob_cfg_service *o = &c->services[j];
        if (j != i && o->address != NULL && strcmp(o->address, norm) == 0)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s:%d: the key of this service is also the key of the service at "
                           "line %d (%s)",
                           c->path, s->line, o->line, norm);
    }
    if (s->address == NULL) {
        copy = strdup(norm);
        if (copy == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "config: out of memory");
    }
    old_version = s->version;
    s->version = version;
    if (copy != NULL)
        s->address = copy;
    err = check_service(c, s, 0, d);
    if (err != OB_OK) {
        if (copy != NULL)
            s->address = NULL;
        free(copy);
        s->version = old_version;
        return err;
    }
    if (version == 3)
        memcpy(s->key, key, 32);
    return OB_OK;
}

int ob_config_given(const ob_config *c, const char *name)
{
    size_t i, ng = sizeof(gkeys) / sizeof(gkeys[0]);

    for (i = 0; i < ng; i++)
        if (strcmp(gkeys[i].name, name) == 0)
            return (c->given >> i) & 1u;
    return 0;
}
