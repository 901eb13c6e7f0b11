/*
 * cli.h - what the two programs' entry points share: the verb table, usage
 * text, messages and exit statuses.  This is the one part of format/ that
 * prints and exits; library modules never call it.
 *
 * Exit statuses (documented in both man pages):
 *   0  success
 *   1  bad input or failed verification (a bundle, key, descriptor, config)
 *   2  usage error or operational error (I/O, missing file, tor unreachable)
 */
#ifndef OB_CLI_H
#define OB_CLI_H

#include "config.h"
#include "diag.h"

#define OB_EXIT_OK    0
#define OB_EXIT_BAD   1
#define OB_EXIT_USAGE 2

#define OB_VERSION "0.1.0"

/* A verb: fn gets argv with argv[0] = the verb's name. */
typedef int (*ob_cmd_fn)(int argc, char **argv);
typedef struct ob_cmd {
    const char *name;
    ob_cmd_fn fn;
} ob_cmd;

/* Set by ob_cli_main(); "ob-online" or "ob-offline". */
extern const char *ob_progname;

/*
 * Run the program: argv[1] names the verb.  usage is a NULL-terminated list
 * of synopsis lines (identical to the man page SYNOPSIS, which a test checks).
 */
int ob_cli_main(const char *prog, const ob_cmd *cmds, const char *const *usage, int argc,
                char **argv);

/* Print the synopsis lines to stderr and exit 2. */
_Noreturn void ob_usage(void);
/* Print the synopsis lines that start with "PROG verb" and exit 2. */
_Noreturn void ob_usage_verb(const char *verb);

/* "prog: message" on stderr. */
void ob_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "prog: <diag or error name>" and return the exit status for e. */
int ob_report(ob_err e, const ob_diag *d);

/*
 * Load the config at path and print its warnings: 0, or -1 after the error
 * was reported, with *rc set to its exit status (*rc is left alone on
 * success, so a caller's "failed so far" status stays).
 */
int ob_cli_load_config(const char *path, ob_config **cfg, int *rc);

/*
 * Parse a decimal unsigned integer in [min, max]; 0 or -1.  Used for option
 * values, so "12x", "", "-1" and overflow are all refused.
 */
int ob_parse_u64(const char *s, unsigned long long min, unsigned long long max,
                 unsigned long long *out);

#endif
