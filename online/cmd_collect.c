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
    onl_src_cli c;
    int rc = OB_EXIT_USAGE;
    uint64_t now;
    ob_config *cfg = NULL;
    ob_request *req = NULL;
    onl_collect_stats st;
    ob_diag d;
    ob_err err;

    onl_src_cli_parse(&c, argc, argv, "REQUEST");
    if (ob_cli_load_config(c.cfg_path, &cfg, &rc) != 0)
        goto out;
    if (same_file(c.out_path, c.cfg_path)) {
        ob_msg("%s: is the config file; refusing to write the request over it", c.out_path);
        goto out;
    }
    if (ob_path_exists(c.out_path)) {
        ob_msg("%s: exists; refusing to overwrite a request (remove it or choose another name)",
               c.out_path);
        goto out;
    }
    err = onl_src_cli_collect(&c, cfg, &req, &st, &now, &d);
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
    err = ob_request_write_file(c.out_path, req, OB_WRITE_EXCL, &d);
    if (err != OB_OK) {
        rc = err == OB_ERR_EXISTS ? (ob_msg("%s", d.msg), OB_EXIT_USAGE) : ob_report(err, &d);
        goto out;
    }
    print_written(req, c.out_path);
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
               c.out_path, c.out_path);
        rc = OB_EXIT_USAGE;
    }
out:
    ob_request_free(req);
    ob_config_free(cfg);
    return rc;
}
