/*
 * cmd_source.c - the command line collect and build share: which config,
 * which output, and where the backend descriptors come from.
 */
#include "cli.h"
#include "commands.h"

#include <string.h>
#include <time.h>

void onl_src_cli_parse(onl_src_cli *c, int argc, char **argv, const char *out_name)
{
    int i;

    memset(c, 0, sizeof(*c));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            ob_msg("%s: unexpected argument '%s'", argv[0], a);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(a, "-c") == 0) {
            c->cfg_path = argv[++i];
        } else if (strcmp(a, "-o") == 0) {
            c->out_path = argv[++i];
        } else if (strcmp(a, "--descriptors-from") == 0) {
            c->dir = argv[++i];
        } else if (onl_ctl_is_opt(a) && c->n_tor + 2 <= ONL_SRC_MAX_TOR_ARGS) {
            c->tor_args[c->n_tor++] = argv[i];
            c->tor_args[c->n_tor++] = argv[++i];
        } else {
            ob_msg("%s: unexpected argument '%s'", argv[0], a);
            ob_usage_verb(argv[0]);
        }
    }
    c->tor_args[c->n_tor] = NULL;
    if (c->cfg_path == NULL || c->out_path == NULL) {
        ob_msg("%s needs -c CONFIG and -o %s", argv[0], out_name);
        ob_usage_verb(argv[0]);
    }
    if (c->dir != NULL && c->n_tor > 0) {
        ob_msg("--descriptors-from does not go with -i/-p/-s: tor is not asked");
        ob_usage_verb(argv[0]);
    }
}

ob_err onl_src_cli_collect(onl_src_cli *c, const ob_config *cfg, ob_request **out,
                           onl_collect_stats *stats, uint64_t *now, ob_diag *d)
{
    ob_consensus_facts facts;
    ob_err err;

    *now = (uint64_t)time(NULL);
    if (c->dir == NULL) {
        err = onl_fetch_collect_cli(cfg, c->n_tor, c->tor_args, out, stats, d);
        *now = (uint64_t)time(NULL); /* fetching takes a while */
        return err;
    }
    onl_collect_clock_facts(cfg, *now, &facts);
    return onl_collect_build(cfg, &facts, *now, onl_collect_fetch_from_dir, (void *)c->dir, out,
                             stats, d);
}
