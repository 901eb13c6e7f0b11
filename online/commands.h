/* commands.h - the verbs of ob-online, one function each (online/cmd_*.c). */
#ifndef OB_ONLINE_COMMANDS_H
#define OB_ONLINE_COMMANDS_H

#include "fetch.h"

int onl_cmd_build(int argc, char **argv);
int onl_cmd_collect(int argc, char **argv);
int onl_cmd_publish(int argc, char **argv);
int onl_cmd_run(int argc, char **argv);
int onl_cmd_delegate(int argc, char **argv);
int onl_cmd_status(int argc, char **argv);
int onl_cmd_tor_check(int argc, char **argv);

/*
 * The command line `collect` and `build` share: -c CONFIG -o OUT and either
 * --descriptors-from DIR or the control-port options -i/-p/-s/--password-file.
 */
#define ONL_SRC_MAX_TOR_ARGS 8
typedef struct onl_src_cli {
    const char *cfg_path, *out_path, *dir;
    char *tor_args[ONL_SRC_MAX_TOR_ARGS + 1];
    int n_tor;
} onl_src_cli;

/* Parse argv (argv[0] the verb); misuse: a message naming out_name, exit 2. */
void onl_src_cli_parse(onl_src_cli *c, int argc, char **argv, const char *out_name);

/*
 * Collect as c says: from the folder, with the clock's facts, or from tor.
 * *now is the time the descriptors were complete (fetching takes a while).
 */
ob_err onl_src_cli_collect(onl_src_cli *c, const ob_config *cfg, ob_request **out,
                           onl_collect_stats *stats, uint64_t *now, ob_diag *d);

#endif
