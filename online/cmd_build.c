/*
 * cmd_build.c - "ob-online build": sign master descriptors here, with the
 * descriptor-signing keys the offline side certified (the delegated mode,
 * delegated.h; docs/online.rst).
 *
 *   ob-online build -c CONFIG [--descriptors-from DIR] -o OUTDIR
 *                   [-i IP] [-p PORT] [-s SOCKET]
 *
 * The backend descriptors come from tor (HSFETCH, as collect fetches them)
 * or from DIR/<instance address>.desc (as `collect --descriptors-from`
 * reads them; then the clock stands in for the consensus).  For every v3
 * service and both periods now in use (the first and second descriptor),
 * the installed key of the period signs the descriptors, each verified
 * before it is written to OUTDIR/<address>-<period>-<group>.desc (created
 * if missing; an existing file there is never overwritten: exit 2 and
 * nothing written).  The revision counters used are recorded, so a later
 * build or the daemon always counts higher.
 *
 * Exit status: 0 when every period of every v3 service was built; 1 when
 * some were not (named; what was built is written), or nothing could be
 * built (nothing written); 2 for usage and operational errors.
 */
#include "cli.h"
#include "collect.h"
#include "commands.h"
#include "config.h"
#include "delegated.h"
#include "fetch.h"
#include "fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *pstate_name(onl_deleg_pstate s)
{
    switch (s) {
    case ONL_DELEG_BUILT:
        return "built";
    case ONL_DELEG_NO_KEY:
        return "no installed certificate";
    case ONL_DELEG_EXPIRED:
        return "certificate expired";
    default:
        return "not built";
    }
}

static void file_name(char *out, size_t n, const char *dir, const ob_resp_descriptor *rd)
{
    snprintf(out, n, "%s/%s-%llu-%u.desc", dir, rd->service, (unsigned long long)rd->tp,
             rd->group + 1u);
}

/* Every target name is free before anything is written. */
static int names_free(const char *dir, const ob_response *r)
{
    char path[OB_CFG_MAX_PATH + 128];
    size_t i;

    for (i = 0; i < r->n_descriptors; i++) {
        file_name(path, sizeof(path), dir, &r->descriptors[i]);
        if (ob_path_exists(path)) {
            ob_msg("%s: exists; refusing to overwrite (remove it or choose another OUTDIR)", path);
            return 0;
        }
    }
    return 1;
}

static int out_dir(const char *dir)
{
    struct stat st;

    if (lstat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            ob_msg("%s: not a directory", dir);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT || mkdir(dir, 0755) != 0) {
        ob_msg("%s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Sign every v3 service of cfg into resp; the report goes to stdout. */
static ob_err build_all(const ob_config *cfg, const ob_request *req, uint64_t now, onl_revs *revs,
                        ob_response *resp, size_t *incomplete, ob_diag *d)
{
    ob_tp_params tpp = { req->consensus.tp_length_min, req->consensus.tp_offset_min };
    onl_deleg_period periods[2];
    size_t i, j;
    ob_err err;

    onl_deleg_slots(req->consensus.valid_after, &tpp, periods);
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *s = &cfg->services[i];
        onl_deleg_in in;
        onl_deleg_out out;
        const ob_req_service *rs = NULL;
        if (s->version != 3 || s->address == NULL)
            continue;
        for (j = 0; j < req->n_services; j++)
            if (strcmp(req->services[j].address, s->address) == 0)
                rs = &req->services[j];
        memset(&in, 0, sizeof(in));
        in.cfg = cfg;
        in.svc = s;
        in.rs = rs;
        in.tpp = &tpp;
        in.periods = periods;
        in.n_periods = 2;
        in.now = now;
        in.revs = revs;
        if ((err = onl_deleg_build(&in, resp, &out, d)) != OB_OK)
            return err;
        printf("%s.onion: %zu instance(s) used, %zu skipped; %zu descriptor(s) per period\n",
               s->address, out.n_ok, out.n_skipped, out.n_groups);
        if (out.n_skipped > 0)
            printf("  skipped %s\n", out.skipped);
        for (j = 0; j < 2; j++) {
            printf("  period %llu (%s descriptor): %s%s%s\n", (unsigned long long)periods[j].tp,
                   j == 0 ? "first" : "second", pstate_name(out.state[j]),
                   out.why[j][0] ? ": " : "", out.why[j]);
            *incomplete += out.state[j] != ONL_DELEG_BUILT;
        }
    }
    return OB_OK;
}

static ob_err write_all(const char *dir, const ob_response *r, ob_diag *d)
{
    char path[OB_CFG_MAX_PATH + 128];
    size_t i;
    ob_err err;

    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &r->descriptors[i];
        file_name(path, sizeof(path), dir, rd);
        err =
            ob_file_write_atomic(path, rd->descriptor, rd->descriptor_len, 0644, OB_WRITE_EXCL, d);
        if (err != OB_OK)
            return err;
        printf("wrote %s (period %llu, group %u of %u, revision %llu, %zu bytes)\n", path,
               (unsigned long long)rd->tp, rd->group + 1u, (unsigned)rd->group_count,
               (unsigned long long)rd->revision, rd->descriptor_len);
    }
    return OB_OK;
}

int onl_cmd_build(int argc, char **argv)
{
    onl_src_cli c;
    int rc = OB_EXIT_USAGE;
    ob_config *cfg = NULL;
    ob_request *req = NULL;
    ob_response *resp = NULL;
    onl_collect_stats st;
    onl_revs revs;
    uint64_t now;
    size_t incomplete = 0;
    ob_diag d;
    ob_err err;

    onl_revs_init_memory(&revs);
    onl_src_cli_parse(&c, argc, argv, "OUTDIR");
    if (ob_cli_load_config(c.cfg_path, &cfg, &rc) != 0)
        goto out;
    err = onl_src_cli_collect(&c, cfg, &req, &st, &now, &d);
    if (err != OB_OK) {
        rc = err == OB_ERR_UNSUPPORTED ? (ob_msg("%s", d.msg), OB_EXIT_USAGE) : ob_report(err, &d);
        goto out;
    }
    /* Held from here to the end: the daemon and other builds wait, so no
     * two signers ever use the same counter. */
    if ((err = onl_revs_open(cfg, &revs, &d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    resp = ob_response_new();
    if (resp == NULL) {
        rc = ob_report(ob_fail(&d, OB_ERR_NOMEM, "out of memory"), &d);
        goto out;
    }
    resp->created = now;
    if ((err = build_all(cfg, req, now, &revs, resp, &incomplete, &d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    if (resp->n_descriptors == 0) {
        ob_msg("nothing was built: no v3 service has an installed certificate for the periods in "
               "use with a usable instance (ob-online delegate status)");
        rc = OB_EXIT_BAD;
        goto out;
    }
    if (out_dir(c.out_path) != 0 || !names_free(c.out_path, resp))
        goto out;
    /* The counters are recorded first: a counter written out is never used again. */
    {
        ob_tp_params tpp = { req->consensus.tp_length_min, req->consensus.tp_offset_min };
        onl_revs_prune(&revs, &tpp, now);
    }
    if ((err = onl_revs_save(&revs, &d)) != OB_OK ||
        (err = write_all(c.out_path, resp, &d)) != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    rc = incomplete > 0 ? OB_EXIT_BAD : OB_EXIT_OK;
out:
    onl_revs_close(&revs);
    ob_response_free(resp);
    ob_request_free(req);
    ob_config_free(cfg);
    return rc;
}
