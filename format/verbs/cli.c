/* cli.c - verb dispatch, usage text, messages. */
#include "cli.h"
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ob_progname = "ob";
static const char *const *usage_lines;

_Noreturn void ob_usage(void)
{
    size_t i;

    for (i = 0; usage_lines != NULL && usage_lines[i] != NULL; i++)
        fprintf(stderr, "%s %s\n", i == 0 ? "usage:" : "      ", usage_lines[i]);
    exit(OB_EXIT_USAGE);
}

/* Is l "PROG verb" followed by a space or its end? */
static int line_is_verb(const char *l, const char *verb)
{
    size_t plen = strlen(ob_progname), vlen = strlen(verb);

    return strncmp(l, ob_progname, plen) == 0 && l[plen] == ' ' &&
           strncmp(l + plen + 1, verb, vlen) == 0 &&
           (l[plen + 1 + vlen] == ' ' || l[plen + 1 + vlen] == '\0');
}

/* The synopsis lines of verb on out; how many. */
static size_t print_verb(FILE *out, const char *verb)
{
    size_t i, n = 0;

    for (i = 0; usage_lines != NULL && usage_lines[i] != NULL; i++)
        if (line_is_verb(usage_lines[i], verb))
            fprintf(out, "%s %s\n", n++ == 0 ? "usage:" : "      ", usage_lines[i]);
    return n;
}

_Noreturn void ob_usage_verb(const char *verb)
{
    if (print_verb(stderr, verb) == 0)
        ob_usage();
    exit(OB_EXIT_USAGE);
}

/*
 * "PROG verb ... -h|--help" (before any "--"): the verb's synopsis on
 * stdout, exit 0.  With a sub-verb ("qr show --help") only its lines, when
 * it has any.
 */
static int verb_help(int argc, char **argv)
{
    char both[128];
    int i;

    for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            break;
    if (i >= argc || strcmp(argv[i], "--") == 0)
        return 0;
    if (argc > 2 && argv[2][0] != '-' &&
        (size_t)snprintf(both, sizeof(both), "%s %s", argv[1], argv[2]) < sizeof(both) &&
        print_verb(stdout, both) > 0)
        return 1;
    if (print_verb(stdout, argv[1]) == 0)
        return 0;
    return 1;
}

/*
 * Messages carry text from outside (file names from a shell glob over a USB
 * stick, fields of a bundle): control characters could drive the terminal
 * (escape sequences) or forge extra lines, so C0 controls, DEL and the UTF-8
 * form of the C1 controls become '?'.  Other UTF-8 passes, for names.
 */
void ob_msg(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    size_t i, n;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (w < 0)
        line[0] = '\0';
    else if ((size_t)w >= sizeof(line))
        memcpy(line + sizeof(line) - 4, "...", 4);
    n = strlen(line);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f) {
            line[i] = '?';
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)line[i + 1] >= 0x80 &&
                   (unsigned char)line[i + 1] <= 0x9f) {
            line[i] = '?';
            line[i + 1] = '?';
            i++;
        }
    }
    fprintf(stderr, "%s: %s\n", ob_progname, line);
}

int ob_report(ob_err e, const ob_diag *d)
{
    if (e == OB_OK)
        return OB_EXIT_OK;
    if (d != NULL && d->msg[0] != '\0')
        ob_msg("%s", d->msg);
    else
        ob_msg("%s", ob_err_name(e));
    return ob_err_exit_status(e);
}

int ob_parse_u64(const char *s, unsigned long long min, unsigned long long max,
                 unsigned long long *out)
{
    unsigned long long v;
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* fileio's notes (a key written where its mode is not kept) are warnings. */
static void file_note(const char *msg)
{
    ob_msg("warning: %s", msg);
}

int ob_cli_main(const char *prog, const ob_cmd *cmds, const char *const *usage, int argc,
                char **argv)
{
    size_t i;

    ob_progname = prog;
    usage_lines = usage;
    ob_file_set_note(file_note);
    if (argc < 2)
        ob_usage();
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        for (i = 0; usage[i] != NULL; i++)
            printf("%s %s\n", i == 0 ? "usage:" : "      ", usage[i]);
        return OB_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("%s %s\n", prog, OB_VERSION);
        return OB_EXIT_OK;
    }
    for (i = 0; cmds[i].name != NULL; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (verb_help(argc, argv))
            return OB_EXIT_OK;
        return cmds[i].fn(argc - 1, argv + 1);
    }
    ob_msg("unknown command '%s'", argv[1]);
    ob_usage();
}

int ob_cli_load_config(const char *path, ob_config **cfg, int *rc)
{
    ob_diag d;
    ob_err err;
    size_t k;

    if ((err = ob_config_load(path, cfg, &d)) != OB_OK) {
        *rc = ob_report(err, &d);
        return -1;
    }
    for (k = 0; k < (*cfg)->n_warnings; k++)
        ob_msg("warning: %s", (*cfg)->warnings[k]);
    return 0;
}
