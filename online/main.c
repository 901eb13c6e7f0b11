/*
 * ob-online - the networked half: collects backend descriptors from tor into
 * signing requests, and publishes signed responses to the HSDirs.  It holds
 * no master-key code (tests/unit/test_symbols.sh).
 */
#include "cli.h"
#include "commands.h"
#include "inspect.h"
#include "qr_cmd.h"
#include "secmem.h"

#include <stdio.h>

/* tor's control port, as OnionBalance spells the options (online/ctl.c). */
#define CTL_OPTS "[-i|--ip IP] [-p|--port PORT] [-s|--socket SOCKET] [--password-file FILE]"

/* Identical to the SYNOPSIS of man/ob-online.1 (tests/cli/test_usage.sh). */
static const char *const usage[] = {
    "ob-online collect -c CONFIG -o REQUEST [--descriptors-from DIR] " CTL_OPTS,
    "ob-online build -c CONFIG [--descriptors-from DIR] -o OUTDIR " CTL_OPTS,
    "ob-online publish -c CONFIG RESPONSE [--dry-run] [--request FILE] " CTL_OPTS,
    "ob-online run -c CONFIG [--inbox DIR] [--outbox DIR] [-v|--verbosity LEVEL] " CTL_OPTS,
    "ob-online delegate request -c CONFIG -o REQUEST [--days N]",
    "ob-online delegate install -c CONFIG RESPONSE",
    "ob-online delegate status -c CONFIG",
    "ob-online status [--socket PATH]",
    "ob-online tor-check " CTL_OPTS " [--auth METHOD] "
    "[--fetch ADDRESS | --post FILE --address ADDRESS] [--hsdirs ADDRESS] [--server FP]... "
    "[--timeout SECONDS] [--repeat N] [--retry SECONDS]",
    "ob-online inspect [--extract DIR] [--request FILE] FILE",
    "ob-online qr show FILE [--fps N] [--qr-version N] [--level L|M|Q|H]",
    "ob-online qr encode FILE -o DIR [--qr-version N] [--level L|M|Q|H] [--scale N]",
    "ob-online qr decode -o FILE [--expect ID] [--any] IMAGE...",
    "ob-online qr scan -o FILE [--device /dev/videoN] [--expect ID] [--any]",
    "ob-online version",
    NULL,
};

static const ob_cmd commands[] = {
    { "collect", onl_cmd_collect },
    { "build", onl_cmd_build },
    { "publish", onl_cmd_publish },
    { "run", onl_cmd_run },
    { "status", onl_cmd_status },
    { "delegate", onl_cmd_delegate },
    { "tor-check", onl_cmd_tor_check },
    { "inspect", ob_cmd_inspect },
    { "qr", ob_cmd_qr },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    if (ob_secmem_init() != 0) {
        fprintf(stderr, "ob-online: libsodium failed to initialise\n");
        return OB_EXIT_USAGE;
    }
    return ob_cli_main("ob-online", commands, usage, argc, argv);
}
