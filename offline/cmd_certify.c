/*
 * cmd_certify.c - "ob-offline certify": the key-certification ceremony
 * (docs/delegation.rst).
 *
 *   ob-offline certify -c CONFIG -i REQUEST -o RESPONSE [--yes]
 *                      [--passphrase-file F] [--allow-swap]
 *
 * The same order as sign (cmd_sign.c): read the key request and the log,
 * check everything, print the summary, ask, and only then unlock the keys,
 * certify and re-verify, write the response (never over an existing file),
 * wipe the keys, log.  Any refusal happens before the response file is
 * created.
 *
 * Exit: 0 certified; 1 refused (the message names service and period) or
 * wrong passphrase or not confirmed; 2 usage, I/O, no terminal to confirm on.
 */
#include "ceremony_log.h"
#include "certify.h"
#include "cli.h"
#include "commands.h"
#include "confirm.h"
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct certify_args {
    const char *cfg_path, *in_path, *out_path, *pass_file;
    int yes;
} certify_args;

static void parse_args(int argc, char **argv, certify_args *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--yes") == 0) {
            a->yes = 1;
            continue;
        }
        if (strcmp(s, "--allow-swap") == 0) {
            ofl_allow_swap();
            continue;
        }
        if (i + 1 >= argc) {
            ob_msg("certify: unexpected argument '%s'", s);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(s, "-c") == 0)
            a->cfg_path = argv[++i];
        else if (strcmp(s, "-i") == 0)
            a->in_path = argv[++i];
        else if (strcmp(s, "-o") == 0)
            a->out_path = argv[++i];
        else if (strcmp(s, "--passphrase-file") == 0)
            a->pass_file = argv[++i];
        else {
            ob_msg("certify: unexpected argument '%s'", s);
            ob_usage_verb(argv[0]);
        }
    }
    if (a->cfg_path == NULL || a->in_path == NULL || a->out_path == NULL) {
        ob_msg("certify needs -c CONFIG, -i REQUEST and -o RESPONSE");
        ob_usage_verb(argv[0]);
    }
}

/* Can the request be checked before unlocking (every service named by address:)? */
static int precheckable(const ob_config *cfg, const ob_keyrequest *req, const ob_cfg_service **why)
{
    const char **addr = calloc(req->n_services + 1, sizeof(*addr));
    size_t i;
    int r;

    *why = NULL;
    if (addr == NULL)
        return 0;
    for (i = 0; i < req->n_services; i++)
        addr[i] = req->services[i].address;
    r = ofl_cfg_is_precheckable(cfg, addr, req->n_services, why);
    free(addr);
    return r;
}

static void print_done(const ob_keyresponse *resp, const char *out_path, size_t wire_len,
                       size_t frames, const char *log_path)
{
    char hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN];
    size_t i, n = 0;

    for (i = 0; i < resp->n_services; i++)
        n += resp->services[i].n_certs;
    ob_bundle_digest_hex(resp->digest, hex);
    ob_bundle_digest_short(resp->digest, shrt);
    printf("\nCertified %zu descriptor-signing key%s; response %s written, %zu bytes = %zu QR "
           "frame%s, digest %s\n  (%s)\nLogged in %s\n",
           n, n == 1 ? "" : "s", out_path, wire_len, frames, frames == 1 ? "" : "s", shrt, hex,
           log_path);
}

int ofl_cmd_certify(int argc, char **argv)
{
    const ob_cfg_service *why = NULL;
    int found = 0, rc = OB_EXIT_USAGE, early;
    char when[32], shrt[OB_BUNDLE_SHORT_LEN], q[96];
    certify_args a;
    ob_config *cfg = NULL;
    ob_keyrequest *req = NULL;
    ob_keyresponse *resp = NULL;
    ofl_keyring *keys = NULL;
    ofl_cert_plan *plan = NULL;
    ob_buf summary, log;
    uint64_t now = (uint64_t)time(NULL);
    size_t wire_len = 0, frames = 0;
    ob_diag d;
    ob_err err;

    ob_buf_init(&summary);
    ob_buf_init(&log);
    parse_args(argc, argv, &a);
    if ((err = ofl_secure_heap_init(&d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    if (ob_cli_load_config(a.cfg_path, &cfg, &rc) != 0)
        goto out;
    if (ob_path_exists(a.out_path)) {
        ob_msg("%s: exists; refusing to overwrite (choose another name)", a.out_path);
        goto out;
    }
    if ((err = ob_keyrequest_read_file(a.in_path, &req, &d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    ob_bundle_digest_short(req->digest, shrt);
    if ((err = ofl_clog_find(cfg->ceremony_log, req->digest, &found, when, &d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    early = precheckable(cfg, req, &why);
    if (!early) {
        /* A service known only by its key file: its address is inside the key. */
        if ((err = ofl_sign_unlock_services(cfg, NULL, a.pass_file, &keys, &d)) != OB_OK) {
            rc = ob_report(err, &d);
            goto out;
        }
    }
    if ((err = ofl_certify_check(cfg, req, now, &plan, &d)) != OB_OK) {
        ob_msg("refused: %s", d.msg);
        rc = ob_err_exit_status(err) == OB_EXIT_USAGE ? OB_EXIT_USAGE : OB_EXIT_BAD;
        goto out;
    }
    if (!early && why != NULL)
        ob_buf_printf(&summary,
                      "Keys were unlocked before this summary: the service at %s:%d names only "
                      "its key file (add address: to the offline config to see this summary "
                      "before unlocking)\n\n",
                      cfg->path, why->line);
    if (found)
        ob_buf_printf(&summary,
                      "Note: this request was certified before (%s); certifying it again gives "
                      "the same certificates\n\n",
                      when);
    ofl_certify_summary(plan, &summary);
    if (!ob_buf_ok(&summary)) {
        ob_msg("out of memory");
        goto out;
    }
    fwrite(summary.p, 1, summary.len, stdout);
    fflush(stdout);
    if (!a.yes) {
        int c;
        snprintf(q, sizeof(q), "Certify these %zu descriptor-signing keys?", plan->n_keys);
        c = ofl_confirm(q, "certify");
        if (c < 0) {
            ob_msg("no terminal to confirm on: run it on a terminal, or give --yes after checking "
                   "the summary");
            goto out;
        }
        if (c == 0) {
            ob_msg("not confirmed; nothing was certified");
            rc = OB_EXIT_BAD;
            goto out;
        }
    }
    if (early &&
        (err = ofl_sign_unlock_services(cfg, plan->need, a.pass_file, &keys, &d)) != OB_OK) {
        rc = ob_err_exit_status(err);
        ob_msg("%s%s; nothing was certified", rc == OB_EXIT_BAD ? "refused: " : "", d.msg);
        goto out;
    }
    err = ofl_certify_execute(plan, keys, &resp, &d);
    /* The keys are not needed any more, whatever happened. */
    ofl_keyring_free(keys);
    keys = NULL;
    if (err == OB_OK)
        err = ofl_certify_selfcheck(plan, resp, &wire_len, &frames, &d);
    if (err == OB_OK)
        err = ob_keyresponse_write_file(a.out_path, resp, OB_WRITE_EXCL, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    ofl_clog_begin(&log, now, req->digest, resp->digest);
    ofl_certify_log_services(plan, &log);
    ofl_clog_end(&log);
    if ((err = ofl_clog_append(cfg->ceremony_log, &log, &d)) != OB_OK) {
        ob_msg("%s; the response %s was written but this ceremony is not logged: add it by hand",
               d.msg, a.out_path);
        rc = OB_EXIT_USAGE;
        goto out;
    }
    print_done(resp, a.out_path, wire_len, frames, cfg->ceremony_log);
    rc = OB_EXIT_OK;
out:
    ofl_keyring_free(keys);
    ofl_cert_plan_free(plan);
    ob_keyresponse_free(resp);
    ob_keyrequest_free(req);
    ob_config_free(cfg);
    ob_buf_free(&summary);
    ob_buf_free(&log);
    return rc;
}
