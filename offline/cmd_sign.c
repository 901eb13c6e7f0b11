/*
 * cmd_sign.c - "ob-offline sign": the signing ceremony (docs/signing.rst).
 *
 *   ob-offline sign -c CONFIG -i REQUEST -o RESPONSE [--yes] [--resign] [--threads N]
 *                   [--passphrase-file F] [--allow-swap]
 *
 * Order: read the request and the log (replay), check everything, print
 * the summary, ask, and only then unlock the keys, sign and re-verify,
 * write the response (never over an existing file), wipe the keys, log.
 * When a service the request needs names only its key file (no address:),
 * its address is known only once the key is unlocked, so the keys are
 * unlocked before the check and the summary's header says so.  Any refusal
 * happens before the response file is created.
 *
 * Exit: 0 signed; 1 refused (the message names service, instance and
 * reason) or wrong passphrase; 2 usage, I/O, no terminal to confirm on.
 */
#include "ceremony_log.h"
#include "cli.h"
#include "commands.h"
#include "confirm.h"
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "pool.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The offline config names a key file for every service; one that does not
 * is the online machine's config given by mistake (or a service that
 * cannot be signed): refused before anything is shown or asked.
 */
static int check_keys_named(const ob_config *cfg)
{
    size_t i, without = 0;
    const ob_cfg_service *first = NULL;

    for (i = 0; i < cfg->n_services; i++)
        if (cfg->services[i].key_path == NULL) {
            without++;
            if (first == NULL)
                first = &cfg->services[i];
        }
    if (without == 0)
        return 0;
    if (without == cfg->n_services)
        ob_msg("%s: no service names a key: file; this looks like the online machine's config "
               "(sign needs the offline config, with key: for each service)",
               cfg->path);
    else
        ob_msg("%s:%d: service %s.onion names no key: file; sign needs one for every service of "
               "the offline config",
               cfg->path, first->line, first->address ? first->address : "?");
    return -1;
}

/* A key file anyone who reads the media can use deserves a word. */
static void warn_plain_keys(const ob_config *cfg)
{
    size_t i, j;

    for (i = 0; i < cfg->n_services; i++) {
        const char *k = cfg->services[i].key_path;
        int seen = 0;
        for (j = 0; j < i; j++)
            seen |= cfg->services[j].key_path != NULL && strcmp(cfg->services[j].key_path, k) == 0;
        if (!seen && ofl_keyfile_is_plain(k))
            ob_msg("warning: %s (service at %s:%d) is stored unencrypted: whoever reads it "
                   "controls the service; 'ob-offline import %s -o NEW.key' makes a "
                   "passphrase-protected copy",
                   k, cfg->path, cfg->services[i].line, k);
    }
}

/* Ask on the terminal; 1 confirmed, 0 declined, -1 no terminal. */
static int confirm(size_t n_descriptors)
{
    char q[64];

    snprintf(q, sizeof(q), "Sign these %zu descriptors?", n_descriptors);
    return ofl_confirm(q, "sign");
}

int ofl_cmd_sign(int argc, char **argv)
{
    const char *cfg_path = NULL, *in_path = NULL, *out_path = NULL, *pass_file = NULL;
    const char *threads_opt = NULL;
    unsigned threads = 1;
    const ob_cfg_service *why = NULL;
    int yes = 0, resign = 0, full = 0, rc = OB_EXIT_USAGE, early, i;
    char hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN];
    ofl_clog_backend *seen = NULL;
    ofl_clog_result logged;
    size_t n_seen = 0;
    ob_config *cfg = NULL;
    ob_request *req = NULL;
    ob_response *resp = NULL;
    ofl_keyring *keys = NULL;
    ofl_plan *plan = NULL;
    ob_buf summary, log;
    uint64_t now = (uint64_t)time(NULL);
    ob_diag d;
    ob_err err;
    size_t k, wire_len = 0, n_compact = 0, frames = 0, n_v3 = 0;

    ob_buf_init(&summary);
    ob_buf_init(&log);
    memset(&logged, 0, sizeof(logged));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--yes") == 0) {
            yes = 1;
            continue;
        }
        if (strcmp(a, "--resign") == 0) {
            resign = 1;
            continue;
        }
        if (strcmp(a, "--full") == 0) {
            full = 1;
            continue;
        }
        if (strcmp(a, "--allow-swap") == 0) {
            ofl_allow_swap();
            continue;
        }
        if (i + 1 >= argc) {
            ob_msg("sign: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(a, "-c") == 0) {
            cfg_path = argv[++i];
        } else if (strcmp(a, "-i") == 0) {
            in_path = argv[++i];
        } else if (strcmp(a, "-o") == 0) {
            out_path = argv[++i];
        } else if (strcmp(a, "--passphrase-file") == 0) {
            pass_file = argv[++i];
        } else if (strcmp(a, "--threads") == 0) {
            threads_opt = argv[++i];
        } else {
            ob_msg("sign: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
    }
    if (cfg_path == NULL || in_path == NULL || out_path == NULL) {
        ob_msg("sign needs -c CONFIG, -i REQUEST and -o RESPONSE");
        ob_usage_verb(argv[0]);
    }
    if (ob_pool_threads(threads_opt, &threads) != 0) {
        ob_msg("sign: %s %s: the number of threads must be 1 to %d",
               threads_opt != NULL ? "--threads" : "OB_THREADS",
               threads_opt != NULL ? threads_opt : getenv("OB_THREADS"), OB_POOL_MAX_THREADS);
        ob_usage_verb(argv[0]);
    }
    if ((err = ofl_secure_heap_init(&d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    if (ob_cli_load_config(cfg_path, &cfg, &rc) != 0)
        goto out;
    if (check_keys_named(cfg) != 0) {
        rc = OB_EXIT_BAD;
        goto out;
    }
    /* Before the summary and the passphrase: a ceremony must not end in
     * "cannot create" after the operator typed yes. */
    if (ob_path_exists(out_path)) {
        ob_msg("%s: exists; refusing to overwrite (choose another name)", out_path);
        goto out;
    }
    err = ob_file_can_create(out_path, &d);
    if (err != OB_OK) {
        ob_msg("%s; nothing was signed", d.msg);
        goto out;
    }
    warn_plain_keys(cfg);
    err = ob_request_read_file(in_path, &req, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    ob_bundle_digest_short(req->digest, shrt);
    /* One pass over the log: this request's digest, and the newest
     * descriptor signed of every backend it names (compared below). */
    err = ofl_sign_backends_named(req, &seen, &n_seen, &d);
    if (err == OB_OK)
        err = ofl_clog_scan(cfg->ceremony_log, req->digest, seen, n_seen, &logged, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    if (logged.n_torn > 0)
        ob_msg("warning: %s:%zu: %zu record(s) of the ceremony log are incomplete, the first of "
               "the ceremony of %s (a write that failed or was cut short); their complete "
               "lines still count for replay detection",
               cfg->ceremony_log, logged.torn_line, logged.n_torn, logged.torn_when);
    if (logged.request_found && !resign) {
        ob_msg("request %s was already signed in the ceremony of %s (%s); a replayed request is "
               "refused: collect a fresh one, or use --resign if signing it again is intended",
               shrt, logged.request_when, cfg->ceremony_log);
        rc = OB_EXIT_BAD;
        goto out;
    }
    if (logged.request_found)
        printf("Note: request %s was signed before (%s); --resign given\n", shrt,
               logged.request_when);
    early = ofl_sign_is_precheckable(cfg, req, &why);
    if (!early) {
        err = ofl_sign_unlock(cfg, NULL, pass_file, &keys, &d);
        if (err != OB_OK) {
            rc = ob_report(err, &d);
            goto out;
        }
    }
    err = ofl_sign_check_threads(cfg, req, now, threads, &plan, &d);
    if (err == OB_OK)
        err = ofl_sign_check_replay(plan, seen, n_seen, &logged, resign, &d);
    if (err != OB_OK) {
        ob_msg("refused: %s", d.msg);
        rc = ob_err_exit_status(err) == OB_EXIT_USAGE ? OB_EXIT_USAGE : OB_EXIT_BAD;
        goto out;
    }
    if (plan->n_older > 0)
        printf("Note: %zu backend descriptor(s) are older than ones signed before (listed "
               "below); --resign given\n",
               plan->n_older);
    else if (plan->same_set != NULL)
        printf("Note: exactly these %zu backend descriptor(s) were signed in the ceremony of "
               "%s; --resign given\n",
               plan->n_used, plan->same_set->when);
    if (!early)
        ob_buf_printf(&summary,
                      "Keys were unlocked before this summary: the service at %s:%d names only "
                      "its key file (add address: to the offline config to see this summary "
                      "before unlocking)\n\n",
                      cfg->path, why->line);
    ofl_sign_summary(plan, cfg, &summary);
    if (!ob_buf_ok(&summary)) {
        ob_msg("out of memory");
        goto out;
    }
    fwrite(summary.p, 1, summary.len, stdout);
    fflush(stdout);
    if (!yes) {
        int c = confirm(plan->n_descriptors);
        if (c < 0) {
            ob_msg("no terminal to confirm on: run it on a terminal, or give --yes after checking "
                   "the summary");
            goto out;
        }
        if (c == 0) {
            ob_msg("not confirmed; nothing was signed");
            rc = OB_EXIT_BAD;
            goto out;
        }
    }
    if (early) {
        err = ofl_sign_unlock(cfg, plan, pass_file, &keys, &d);
        if (err != OB_OK) {
            rc = ob_err_exit_status(err);
            ob_msg("%s%s; nothing was signed", rc == OB_EXIT_BAD ? "refused: " : "", d.msg);
            goto out;
        }
    }
    plan->full = full;
    err = ofl_sign_execute(plan, keys, &resp, &d);
    /* The keys are not needed any more, whatever happened. */
    ofl_keyring_free(keys);
    keys = NULL;
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    err = ofl_sign_selfcheck(plan, resp, &wire_len, &n_compact, &frames, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    err = ob_response_write_file(out_path, resp, OB_WRITE_EXCL, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    ofl_clog_begin(&log, now, req->digest, resp->digest);
    ofl_sign_log_services(plan, resp, &log);
    ofl_clog_end(&log);
    err = ofl_clog_append(cfg->ceremony_log, &log, &d);
    if (err != OB_OK) {
        /* What did reach the log is a torn record: later ceremonies warn
         * about it, count its complete lines, and go on. */
        ob_msg("%s; the response %s was written but this ceremony is not logged, or only in "
               "part: keep a note of it (the next ceremony warns about a part)",
               d.msg, out_path);
        rc = OB_EXIT_USAGE;
        goto out;
    }
    ob_bundle_digest_hex(resp->digest, hex);
    ob_bundle_digest_short(resp->digest, shrt);
    n_v3 = 0;
    for (k = 0; k < resp->n_descriptors; k++)
        n_v3 += resp->descriptors[k].version == 3;
    /* Size and frame count are for the person planning a QR transfer; on
     * the lines already printed, so the output stays as short. */
    printf("\nSigned %zu descriptors (%zu of %zu v3 compact%s); response %s written, %zu bytes = "
           "%zu QR frame%s, digest %s\n  (%s)\nLogged in %s\n",
           resp->n_descriptors, n_compact, n_v3, full ? ": --full" : "", out_path, wire_len, frames,
           frames == 1 ? "" : "s", shrt, hex, cfg->ceremony_log);
    if (!full && n_compact < n_v3)
        printf("Note: %zu v3 descriptor%s sent in full: client authorization (the online side "
               "cannot rebuild them)\n",
               n_v3 - n_compact, n_v3 - n_compact == 1 ? "" : "s");
    rc = OB_EXIT_OK;
out:
    ofl_clog_result_clear(&logged);
    free(seen);
    ofl_keyring_free(keys);
    ofl_plan_free(plan);
    ob_response_free(resp);
    ob_request_free(req);
    ob_config_free(cfg);
    ob_buf_free(&summary);
    ob_buf_free(&log);
    return rc;
}
