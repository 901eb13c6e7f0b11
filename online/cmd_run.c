/*
 * cmd_run.c - "ob-online run": the daemon (daemon.h, docs/online.rst).
 *
 *   ob-online run -c CONFIG [--inbox DIR] [--outbox DIR] [-v|--verbosity LEVEL] [tor options]
 *
 * -v/--verbosity LEVEL is OnionBalance's: debug, info, warning, error or
 * critical (any case); it overrides LOG_LEVEL (also after SIGHUP).
 *
 * Exit status: 0 after SIGTERM/SIGINT; 1 for a bad config; 2 for usage.
 */
#include "cli.h"
#include "commands.h"
#include "ctl.h"
#include "daemon.h"

#include <string.h>
#include <strings.h>

#define MAX_TOR_ARGS 8

int onl_cmd_run(int argc, char **argv)
{
    static char *tor_args[MAX_TOR_ARGS + 1];
    onl_daemon_opts o;
    int i, n_tor = 0;

    memset(&o, 0, sizeof(o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            ob_msg("run: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(a, "-c") == 0) {
            o.config_path = argv[++i];
        } else if (strcmp(a, "--inbox") == 0) {
            o.inbox = argv[++i];
        } else if (strcmp(a, "--outbox") == 0) {
            o.outbox = argv[++i];
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbosity") == 0) {
            static const char *const levels[] = { "debug", "info", "warning", "error", "critical" };
            size_t k;
            o.verbosity = argv[++i];
            for (k = 0; k < 5 && strcasecmp(o.verbosity, levels[k]) != 0; k++)
                ;
            if (k == 5) {
                ob_msg("run: %s '%s': the level is debug, info, warning, error or critical", a,
                       o.verbosity);
                ob_usage_verb(argv[0]);
            }
        } else if (onl_ctl_is_opt(a) && n_tor + 2 <= MAX_TOR_ARGS) {
            tor_args[n_tor++] = argv[i];
            tor_args[n_tor++] = argv[++i];
        } else {
            ob_msg("run: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
    }
    tor_args[n_tor] = NULL;
    if (o.config_path == NULL) {
        ob_msg("run needs -c CONFIG");
        ob_usage_verb(argv[0]);
    }
    o.n_tor_args = n_tor;
    o.tor_args = tor_args;
    return onl_daemon_main(&o);
}
