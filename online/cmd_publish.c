/*
 * cmd_publish.c - "ob-online publish": upload a signed response's
 * descriptors to their responsible HSDirs (publish.h, docs/online.rst).
 *
 *   ob-online publish -c CONFIG RESPONSE [--dry-run] [--request FILE] [-i IP] [-p PORT] [-s SOCKET]
 *
 * Exit status: 0 when every descriptor in force reached at least one HSDir
 * (--dry-run: when at least one descriptor is in force and has HSDirs);
 * 1 for a response that is bad, not for this config, or has nothing in
 * force (v2 descriptors count as not in force through a tor without v2,
 * which is named); 2 for usage errors, tor unreachable, tor without a consensus, or
 * a descriptor in force that no HSDir took.
 */
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "fetch.h"
#include "hsdir.h"
#include "publish.h"
#include "reqstore.h"
#include "revisions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOR_ARGS 8

static void print_line(void *ctx, const char *text)
{
    (void)ctx;
    printf("%s\n", text);
}

/* How long this response's v3 descriptors cover the publish slots, per
 * service; a slot needed now or within ONL_PUB_SOON with nothing is warned of. */
static void report_coverage(const ob_config *cfg, const ob_response *r, const onl_consensus *c,
                            uint64_t now)
{
    ob_tp_params tpp = onl_publish_tp_params(cfg, c);
    size_t i, j;

    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &r->descriptors[i];
        char text[400];
        ob_hsv3_gap g;
        for (j = 0; j < i && strcmp(r->descriptors[j].service, rd->service) != 0; j++)
            ;
        if (rd->version != 3 || j < i)
            continue;
        onl_publish_gap(&r, 1, rd->service, &tpp, now, &g);
        if (onl_publish_gap_text(rd->service, &g, &tpp, now, text, sizeof(text)) > 0)
            ob_msg("warning: %s", text);
        else
            printf("coverage: %s\n", text);
    }
}

int onl_cmd_publish(int argc, char **argv)
{
    const char *cfg_path = NULL, *resp_path = NULL, *req_path = NULL;
    char *tor_args[MAX_TOR_ARGS + 1];
    int n_tor = 0, i, dry = 0, rc = OB_EXIT_USAGE;
    ob_config *cfg = NULL;
    ob_response *resp = NULL;
    onl_consensus *c = NULL;
    onl_pub_plan *plan = NULL;
    onl_ctl *ctl = NULL;
    onl_ctl_opts co;
    onl_pub_opts po;
    size_t in_force = 0, reached = 0, k;
    uint8_t **bodies = NULL;
    ob_tp_params tpp;
    uint64_t now;
    char shrt[OB_BUNDLE_SHORT_LEN];
    ob_diag d;
    ob_err err;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dry-run") == 0) {
            dry = 1;
        } else if (strcmp(a, "--request") == 0 && i + 1 < argc) {
            req_path = argv[++i];
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (onl_ctl_is_opt(a) && i + 1 < argc && n_tor + 2 <= MAX_TOR_ARGS) {
            tor_args[n_tor++] = argv[i];
            tor_args[n_tor++] = argv[++i];
        } else if (a[0] != '-' && resp_path == NULL) {
            resp_path = a;
        } else {
            ob_msg("publish: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
    }
    tor_args[n_tor] = NULL;
    if (cfg_path == NULL || resp_path == NULL) {
        ob_msg("publish needs -c CONFIG and a RESPONSE file");
        ob_usage_verb(argv[0]);
    }
    if (ob_cli_load_config(cfg_path, &cfg, &rc) != 0)
        goto out;
    err = onl_fetch_ctl_opts(cfg, n_tor, tor_args, &co, &d);
    if (err != OB_OK) {
        ob_msg("publish: %s", d.msg);
        ob_usage_verb(argv[0]);
    }
    err = ob_response_read_file(resp_path, &resp, &d);
    if (err != OB_OK) {
        rc = ob_report(err, &d);
        goto out;
    }
    ob_bundle_digest_short(resp->digest, shrt);
    printf("response %s, digest %s, %zu descriptor(s)\n", resp_path, shrt, resp->n_descriptors);
    /* Refuse a foreign response before talking to tor at all.  The
     * descriptors are checked once the consensus gives the period length. */
    err = onl_publish_check_services(cfg, resp, &d);
    if (err != OB_OK) {
        ob_msg("%s: %s", resp_path, d.msg);
        rc = OB_EXIT_BAD;
        goto out;
    }
    /* A compact response is rebuilt from its request (reqstore.h). */
    err = onl_response_expand_for(cfg, resp, req_path, &d);
    if (err != OB_OK) {
        ob_msg("%s: %s", resp_path, d.msg);
        rc = ob_err_exit_status(err);
        goto out;
    }
    err = onl_ctl_connect(&co, &ctl, &d);
    if (err != OB_OK) {
        ob_msg("cannot reach tor: %s", d.msg);
        rc = OB_EXIT_USAGE;
        goto out;
    }
    err = onl_consensus_fetch(ctl, &c, &d);
    if (err != OB_OK && err != OB_ERR_NOTFOUND) {
        rc = ob_report(err, &d);
        goto out;
    }
    now = (uint64_t)time(NULL);
    err = onl_publish_plan(cfg, resp, c, now, &plan, &d);
    if (err != OB_OK) {
        ob_msg("%s: %s", resp_path, d.msg);
        rc = OB_EXIT_BAD;
        goto out;
    }
    for (k = 0; k < plan->n; k++) {
        char ver[64], why[160];
        if (plan->items[k].status != ONL_PUB_SEND || resp->descriptors[k].version != 2)
            continue;
        /* A tor without v2 would not even answer a v2 HSPOST. */
        if (onl_fetch_tor_has_v2(ctl, ver, sizeof(ver)) == 0) {
            snprintf(why, sizeof(why),
                     "this tor (%.40s) has no v2 support (0.4.6+, 0.4.5.11+, 0.3.5.17+)", ver);
            ob_msg("%zu v2 descriptor(s) cannot be published: %s",
                   onl_publish_skip_v2(resp, plan, why), why);
        }
        break;
    }
    onl_publish_counts(plan, &in_force, &reached);
    if (c == NULL || dry) {
        printf("plan%s:\n", c == NULL ? " (by the clock: tor has no consensus)" : "");
        onl_publish_describe(resp, c, plan, 0, print_line, NULL);
    }
    fflush(stdout);
    report_coverage(cfg, resp, c, now);
    if (c == NULL) {
        ob_msg("tor has no consensus yet, so the responsible HSDirs are unknown; nothing "
               "uploaded (is tor's network enabled? wait for it to bootstrap)");
        rc = OB_EXIT_USAGE;
        goto out;
    }
    if (in_force == 0) {
        ob_msg("no descriptor of this response is in force now: nothing to publish "
               "(a fresh ceremony is needed)");
        rc = OB_EXIT_BAD;
        goto out;
    }
    if (dry) {
        printf("dry run: %zu descriptor(s) in force, nothing uploaded\n", in_force);
        rc = OB_EXIT_OK;
        goto out;
    }
    /* The revision for use now of each descriptor signed with several (revisions.h). */
    tpp = onl_publish_tp_params(cfg, c);
    bodies = calloc(plan->n + 1, sizeof(*bodies));
    if (bodies == NULL) {
        ob_msg("out of memory");
        rc = OB_EXIT_USAGE;
        goto out;
    }
    for (k = 0; k < plan->n; k++) {
        onl_pub_item *it = &plan->items[k];
        const ob_resp_descriptor *rd = &resp->descriptors[it->desc];
        size_t rev = ob_resp_revision_at(rd, now);
        if (it->status != ONL_PUB_SEND || rev == 0)
            continue;
        err = ob_resp_revision_bytes(rd, &tpp, rev, &bodies[k], &it->body_len, &d);
        if (err != OB_OK) {
            ob_msg("%s: %s.onion period %llu: %s", resp_path, rd->service,
                   (unsigned long long)rd->tp, d.msg);
            rc = OB_EXIT_BAD;
            goto out;
        }
        it->body = bodies[k];
        it->revision = (unsigned)rev;
    }
    onl_pub_opts_init(&po);
    err = onl_publish_run(ctl, resp, c, plan, &po, &d);
    if (err != OB_OK) {
        ob_msg("lost tor while publishing: %s", d.msg);
        rc = OB_EXIT_USAGE;
        goto out;
    }
    onl_publish_describe(resp, c, plan, 1, print_line, NULL);
    onl_publish_counts(plan, &in_force, &reached);
    printf("%zu of %zu descriptor(s) in force reached at least one HSDir\n", reached, in_force);
    if (reached < in_force) {
        ob_msg("%zu descriptor(s) reached no HSDir", in_force - reached);
        rc = OB_EXIT_USAGE;
    } else {
        rc = OB_EXIT_OK;
    }
out:
    for (k = 0; bodies != NULL && plan != NULL && k < plan->n; k++)
        free(bodies[k]);
    free(bodies);
    onl_pub_plan_free(plan);
    onl_consensus_free(c);
    onl_ctl_close(ctl);
    ob_response_free(resp);
    ob_config_free(cfg);
    return rc;
}
