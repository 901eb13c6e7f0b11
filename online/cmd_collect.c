/*
 * cmd_collect.c - "ob-online collect": gather every configured instance's
 * descriptor into a signing request for the offline side.
 *
 *   ob-online collect -c CONFIG -o REQUEST [--descriptors-from DIR]
 *                     [-i IP] [-p PORT] [-s SOCKET]
 *
 * With --descriptors-from, DIR/<instance address>.desc files are the source
 * and the local clock stands in for the consensus (docs/signing.rst).
 * Without it the descriptors come from tor (onl_fetch_collect_cli, fetch.h).
 *
 * The request is never written over an existing file (exit 2; remove it or
 * pick another name): a request already carried to the offline machine must
 * not silently change under the same name.  It is written when some
 * service has no valid instance (exit 1, those services named: the offline
 * side refuses them), but not when none has one (exit 1, nothing written).
 * The report comes first; a request store that cannot be written is then
 * an error (exit 2) that names the request written.
 */
#include "cli.h"
#include "collect.h"
#include "commands.h"
#include "reqstore.h"
#include "config.h"
#include "fetch.h"
#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_TOR_ARGS 8

static const char *status_name(uint8_t st)
{
    switch (st) {
    case OB_INSTANCE_OK:
        return "ok";
    case OB_INSTANCE_MISSING:
        return "missing";
    default:
        return "invalid";
    }
}

/* Per service and instance: what arrived, what did not and why. */
static void print_report(const ob_request *r)
{
    size_t i, j;

    for (i = 0; i < r->n_services; i++) {
        const ob_req_service *s = &r->services[i];
        printf("%s.onion (v%u): periods", s->address, s->version);
        for (j = 0; j < s->n_periods; j++)
            printf(" %llu", (unsigned long long)s->periods[j].tp);
        printf("\n");
        for (j = 0; j < s->n_instances; j++) {
            const ob_req_instance *in = &s->instances[j];
            printf("  %-8s %s.onion%s%s%s", status_name(in->status), in->address,
                   in->name ? " (" : "", in->name ? in->name : "", in->name ? ")" : "");
            if (in->status == OB_INSTANCE_OK)
                printf(", %zu bytes\n", in->descriptor_len);
            else
                printf(": %s\n", in->reason ? in->reason : "no reason given");
        }
    }
}

static void print_written(const ob_request *r, const char *out)
{
    char hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN];

    ob_bundle_digest_hex(r->digest, hex);
    ob_bundle_digest_short(r->digest, shrt);
    printf("request %s written, digest %s\n  (%s)\n", out, shrt, hex);
}

/* Name each service left without a valid instance. */
static void name_empty(const ob_request *req)
{
    size_t k, j;

    for (k = 0; k < req->n_services; k++) {
        const ob_req_service *s = &req->services[k];
        size_t ok = 0;
        for (j = 0; j < s->n_instances; j++)
            ok += s->instances[j].status == OB_INSTANCE_OK;
        if (ok == 0)
            ob_msg("%s.onion: no valid instance; the offline side will refuse to sign it",
                   s->address);
    }
}

/* Same file as an existing input?  Refuse before writing anything. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return a != NULL && b != NULL && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int onl_cmd_collect(int argc, char **argv)
{
    const char *cfg_path = NULL, *out_path = NULL, *dir = NULL;
    char *tor_args[MAX_TOR_ARGS + 1];
    int n_tor = 0, i, rc = OB_EXIT_USAGE;
    ob_config *cfg = NULL;
    ob_request *req = NULL;
    ob_consensus_facts facts;
    onl_collect_stats st;
    ob_diag d;
    ob_err err;
    size_t k;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            ob_msg("collect: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(a, "-c") == 0) {
            cfg_path = argv[++i];
        } else if (strcmp(a, "-o") == 0) {
            out_path = argv[++i];
        } else if (strcmp(a, "--descriptors-from") == 0) {
            dir = argv[++i];
        } else if (onl_ctl_is_opt(a) && n_tor + 2 <= MAX_TOR_ARGS) {
            tor_args[n_tor++] = argv[i];
            tor_args[n_tor++] = argv[++i];
        } else {
            ob_msg("collect: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
    }
    tor_args[n_tor] = NULL;
    if (cfg_path == NULL || out_path == NULL) {
        ob_msg("collect needs -c CONFIG and -o REQUEST");
        ob_usage_verb(argv[0]);
    }
    if (dir != NULL && n_tor > 0) {
        ob_msg("--descriptors-from does not go with -i/-p/-s: tor is not asked");
        ob_usage_verb(argv[0]);
    }
    err = ob_config_load(cfg_path, &cfg, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    for (k = 0; k < cfg->n_warnings; k++)
        ob_msg("warning: %s", cfg->warnings[k]);
    if (same_file(out_path, cfg_path)) {
        ob_msg("%s: is the config file; refusing to write the request over it", out_path);
        goto out;
    }
    if (ob_path_exists(out_path)) {
        ob_msg("%s: exists; refusing to overwrite a request (remove it or choose another name)",
               out_path);
        goto out;
    }
    if (dir != NULL) {
        uint64_t now = (uint64_t)time(NULL);
        onl_collect_clock_facts(cfg, now, &facts);
        err = onl_collect_build(cfg, &facts, now, onl_collect_fetch_from_dir, (void *)dir, &req,
                                &st, &d);
    } else {
        err = onl_fetch_collect_cli(cfg, n_tor, tor_args, &req, &st, &d);
    }
    if (err != OB_OK) {
        rc = err == OB_ERR_UNSUPPORTED ? (ob_msg("%s", d.msg), OB_EXIT_USAGE) : ob_report(err, &d);
        goto out;
    }
    print_report(req);
    printf("%zu service(s): %zu instance(s) ok, %zu missing, %zu invalid\n", st.services, st.ok,
           st.missing, st.invalid);
    fflush(stdout);
    /* A request the signer would refuse whole is not worth carrying. */
    if (st.services_empty == st.services) {
        name_empty(req);
        ob_msg("no service has a valid instance: no request written");
        rc = OB_EXIT_BAD;
        goto out;
    }
    err = ob_request_write_file(out_path, req, OB_WRITE_EXCL, &d);
    if (err != OB_OK) {
        rc = err == OB_ERR_EXISTS ? (ob_msg("%s", d.msg), OB_EXIT_USAGE) : ob_report(err, &d);
        goto out;
    }
    print_written(req, out_path);
    fflush(stdout);
    rc = OB_EXIT_OK;
    if (st.services_empty > 0) {
        name_empty(req);
        rc = OB_EXIT_BAD;
    }
    /* Kept so a compact response to it can be rebuilt (reqstore.h); a
     * store that cannot be written is reported after what was done. */
    err = onl_reqstore_save(cfg, req, &d);
    if (err != OB_OK) {
        ob_msg("%s", d.msg);
        ob_msg("the request %s was written, but its copy in the request store was not: "
               "'publish --request %s' will be needed for its compact response "
               "($OB_REQUEST_STORE or $STATE_DIRECTORY chooses the store)",
               out_path, out_path);
        rc = OB_EXIT_USAGE;
    }
out:
    ob_request_free(req);
    ob_config_free(cfg);
    return rc;
}
