/*
 * cmd_delegate.c - "ob-online delegate": key certification for the
 * delegated mode (docs/delegation.rst).
 *
 *   ob-online delegate request -c CONFIG -o REQUEST [--days N]
 *   ob-online delegate install -c CONFIG RESPONSE
 *   ob-online delegate status -c CONFIG
 *
 * request: a fresh descriptor-signing keypair per v3 service and time
 * period (the periods in use now and those that begin within N days,
 * default 30); the private halves go to the delegated key store, the public
 * ones into REQUEST (never written over an existing file).  The period
 * length comes from tor's consensus as for collect, or from the config's
 * time_period_length when tor cannot be reached.
 * install: check every certificate of RESPONSE and install them all, or
 * none.  status: per service, the certified periods and until when.
 *
 * Exit: 0 done; 1 refused (bad bundle, a certificate that does not check, a
 * key this machine does not hold); 2 usage, I/O.
 */
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "delegate.h"
#include "dkeys.h"
#include "fetch.h"
#include "fileio.h"
#include "hsdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void utc(char out[32], uint64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t > OB_BUNDLE_MAX_TIME || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, 32, "@%llu", (unsigned long long)t);
}

/*
 * The period length and offset: from tor's consensus when tor answers (as
 * collect takes them), else from the config (offset half the length, as
 * collect --descriptors-from does).  *from_tor says which.
 */
static void period_params(const ob_config *cfg, ob_tp_params *tpp, int *from_tor, char *why,
                          size_t why_len)
{
    onl_ctl_opts co;
    onl_ctl *ctl = NULL;
    onl_consensus *c = NULL;
    ob_diag d = { "" };

    *from_tor = 0;
    tpp->length_min = cfg->time_period_length;
    tpp->offset_min = cfg->time_period_length / 2;
    snprintf(why, why_len, "tor not asked");
    if (onl_fetch_ctl_opts(cfg, 0, NULL, &co, &d) != OB_OK ||
        onl_ctl_connect(&co, &ctl, &d) != OB_OK) {
        snprintf(why, why_len, "tor is not reachable: %.200s", d.msg);
        goto out;
    }
    if (onl_consensus_fetch(ctl, &c, &d) != OB_OK) {
        snprintf(why, why_len, "tor has no consensus: %.200s", d.msg);
        goto out;
    }
    *tpp = c->tp;
    *from_tor = 1;
out:
    onl_consensus_free(c);
    onl_ctl_close(ctl);
}

static int cmd_request(int argc, char **argv)
{
    const char *cfg_path = NULL, *out_path = NULL;
    unsigned long long days = ONL_DELEGATE_DAYS_DEFAULT;
    char why[300], a[32], b[32], hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN];
    ob_config *cfg = NULL;
    ob_keyrequest *req = NULL;
    size_t n_keys = 0, n_v2 = 0, i;
    ob_tp_params tpp;
    uint64_t now = (uint64_t)time(NULL);
    int from_tor = 0, rc = OB_EXIT_USAGE;
    ob_diag d;
    ob_err err;

    for (i = 1; i < (size_t)argc; i++) {
        if (i + 1 >= (size_t)argc) {
            ob_msg("delegate request: unexpected argument '%s'", argv[i]);
            ob_usage_verb("delegate");
        }
        if (strcmp(argv[i], "-c") == 0) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0) {
            out_path = argv[++i];
        } else if (strcmp(argv[i], "--days") == 0) {
            if (ob_parse_u64(argv[++i], 1, ONL_DELEGATE_DAYS_MAX, &days) != 0) {
                ob_msg("--days %s: expected a whole number of days, 1..%d", argv[i],
                       ONL_DELEGATE_DAYS_MAX);
                ob_usage_verb("delegate");
            }
        } else {
            ob_msg("delegate request: unexpected argument '%s'", argv[i]);
            ob_usage_verb("delegate");
        }
    }
    if (cfg_path == NULL || out_path == NULL) {
        ob_msg("delegate request needs -c CONFIG and -o REQUEST");
        ob_usage_verb("delegate");
    }
    if (ob_cli_load_config(cfg_path, &cfg, &rc) != 0)
        goto out;
    rc = OB_EXIT_USAGE;
    if (ob_path_exists(out_path)) {
        ob_msg("%s: exists; refusing to overwrite a request (remove it or choose another name)",
               out_path);
        goto out;
    }
    period_params(cfg, &tpp, &from_tor, why, sizeof(why));
    if (from_tor)
        printf("Time periods of %llu min (offset %llu) from tor's consensus\n",
               (unsigned long long)tpp.length_min, (unsigned long long)tpp.offset_min);
    else
        printf("Time periods of %llu min (offset %llu) from the config (time_period_length): "
               "%s\n",
               (unsigned long long)tpp.length_min, (unsigned long long)tpp.offset_min, why);
    err = onl_delegate_request_write(cfg, NULL, &tpp, now, (unsigned)days, out_path, &req, &n_keys,
                                     &n_v2, &d);
    if (err != OB_OK) {
        rc = err == OB_ERR_EXISTS ? (ob_msg("%s", d.msg), OB_EXIT_USAGE) : ob_report(err, &d);
        goto out;
    }
    for (i = 0; i < req->n_services; i++) {
        const ob_keyreq_service *s = &req->services[i];
        utc(a, s->periods[0].valid_from);
        utc(b, s->periods[s->n_periods - 1].valid_until);
        printf("%s.onion: %zu periods, %llu .. %llu (%s .. %s)\n", s->address, s->n_periods,
               (unsigned long long)s->periods[0].tp,
               (unsigned long long)s->periods[s->n_periods - 1].tp, a, b);
    }
    if (n_v2 > 0)
        printf("%zu v2 service%s left out: v2 has no delegated signing keys\n", n_v2,
               n_v2 == 1 ? "" : "s");
    ob_bundle_digest_hex(req->digest, hex);
    ob_bundle_digest_short(req->digest, shrt);
    printf("key request %s written (%zu keys), digest %s\n  (%s)\n", out_path, n_keys, shrt, hex);
    printf("Next: ob-offline certify -c CONFIG -i %s -o RESPONSE on the offline machine, then "
           "ob-online delegate install -c %s RESPONSE\n",
           out_path, cfg_path);
    rc = OB_EXIT_OK;
out:
    ob_keyrequest_free(req);
    ob_config_free(cfg);
    return rc;
}

static int cmd_install(int argc, char **argv)
{
    const char *cfg_path = NULL, *path = NULL;
    ob_config *cfg = NULL;
    onl_install_report rep;
    char a[32], b[32];
    int i, rc;
    ob_diag d;
    ob_err err;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc && cfg_path == NULL)
            cfg_path = argv[++i];
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else {
            ob_msg("delegate install: unexpected argument '%s'", argv[i]);
            ob_usage_verb("delegate");
        }
    }
    if (cfg_path == NULL || path == NULL) {
        ob_msg("delegate install needs -c CONFIG and RESPONSE");
        ob_usage_verb("delegate");
    }
    if (ob_cli_load_config(cfg_path, &cfg, &rc) != 0)
        return rc;
    err = onl_delegate_install_file(cfg, path, (uint64_t)time(NULL), &rep, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    if (rep.n_installed > 0) {
        printf("Installed %zu certificate%s for %zu service%s: periods %llu .. %llu\n",
               rep.n_installed, rep.n_installed == 1 ? "" : "s", rep.n_services,
               rep.n_services == 1 ? "" : "s", (unsigned long long)rep.first_tp,
               (unsigned long long)rep.last_tp);
    }
    if (rep.n_already > 0)
        printf("%zu certificate%s already installed (the same response before)\n", rep.n_already,
               rep.n_already == 1 ? " was" : "s were");
    if (rep.n_over > 0)
        printf("%zu period%s already over: skipped\n", rep.n_over, rep.n_over == 1 ? "" : "s");
    for (i = 0; (size_t)i < cfg->n_services; i++) {
        const ob_cfg_service *cs = &cfg->services[i];
        onl_dkey_list l;
        if (cs->version != 3 || cs->address == NULL)
            continue;
        if (onl_delegate_list(cfg, cs->address, (uint64_t)time(NULL), &l, NULL) != OB_OK)
            continue;
        if (l.n > 0) {
            utc(a, l.certified_until);
            utc(b, ob_hsv3_tp_start_shown(l.last_tp + 1, &l.v[l.n - 1].tpp));
            printf("%s.onion: certified until %s (last period ends %s)\n", cs->address, a, b);
        }
        onl_dkey_list_free(&l);
    }
    rc = OB_EXIT_OK;
out:
    ob_config_free(cfg);
    return rc;
}

static void span(char out[32], uint64_t from, uint64_t to)
{
    uint64_t s = to > from ? to - from : 0;

    if (s < 7200)
        snprintf(out, 32, "%llu min", (unsigned long long)(s / 60));
    else if (s < 3 * 86400)
        snprintf(out, 32, "%.1f h", (double)s / 3600.0);
    else
        snprintf(out, 32, "%.1f days", (double)s / 86400.0);
}

static int cmd_status(int argc, char **argv)
{
    const char *cfg_path = NULL;
    ob_config *cfg = NULL;
    uint64_t now = (uint64_t)time(NULL);
    char a[32], b[32], c[32];
    size_t i, j;
    int rc;
    ob_diag d;
    ob_err err;

    for (i = 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < (size_t)argc && cfg_path == NULL)
            cfg_path = argv[++i];
        else {
            ob_msg("delegate status: unexpected argument '%s'", argv[i]);
            ob_usage_verb("delegate");
        }
    }
    if (cfg_path == NULL) {
        ob_msg("delegate status needs -c CONFIG");
        ob_usage_verb("delegate");
    }
    if (ob_cli_load_config(cfg_path, &cfg, &rc) != 0)
        return rc;
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *cs = &cfg->services[i];
        onl_dkey_list l;
        if (cs->address == NULL)
            continue;
        if (cs->version != 3) {
            printf("%s.onion: v2, ceremony mode only\n", cs->address);
            continue;
        }
        if ((err = onl_delegate_list(cfg, cs->address, now, &l, &d)) != OB_OK) {
            rc = ob_report(err, &d);
            goto out;
        }
        if (l.n == 0) {
            printf("%s.onion: no certified keys (ceremony mode)", cs->address);
        } else if (l.certified_until <= now) {
            printf("%s.onion: %zu certified period%s, none covering now (ceremony mode)",
                   cs->address, l.n, l.n == 1 ? "" : "s");
        } else {
            utc(a, l.certified_until);
            span(b, now, l.certified_until);
            printf("%s.onion: certified until %s (in %s), periods %llu .. %llu", cs->address, a, b,
                   (unsigned long long)l.v[0].tp, (unsigned long long)l.last_tp);
        }
        if (l.n_pending > 0)
            printf("; %zu key%s pending (waiting for a certification response)", l.n_pending,
                   l.n_pending == 1 ? "" : "s");
        putchar('\n');
        for (j = 0; j < l.n; j++) {
            const onl_dkey *k = &l.v[j];
            if (k->use_until <= now)
                continue;
            utc(a, k->valid_from);
            utc(b, k->valid_until);
            utc(c, k->cert_expires);
            printf("  period %llu: %s .. %s, certificate expires %s\n", (unsigned long long)k->tp,
                   a, b, c);
        }
        onl_dkey_list_free(&l);
    }
    rc = OB_EXIT_OK;
out:
    ob_config_free(cfg);
    return rc;
}

int onl_cmd_delegate(int argc, char **argv)
{
    if (argc < 2)
        ob_usage_verb("delegate");
    if (strcmp(argv[1], "request") == 0)
        return cmd_request(argc - 1, argv + 1);
    if (strcmp(argv[1], "install") == 0)
        return cmd_install(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    ob_msg("delegate: unknown subcommand '%s' (request, install or status)", argv[1]);
    ob_usage_verb("delegate");
}
