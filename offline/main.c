/*
 * ob-offline - the air-gapped half: holds the encrypted master keys, checks
 * signing requests against its own config, signs, and writes responses.
 * It links no network or control-port code (tests/unit/test_symbols.sh).
 */
#include "cli.h"
#include "commands.h"
#include "inspect.h"
#include "qr_cmd.h"
#include "secmem.h"

#include <stdio.h>

/* Identical to the SYNOPSIS of man/ob-offline.1 (tests/cli/test_usage.sh). */
static const char *const usage[] = {
    "ob-offline keygen --version 3|2 -o FILE [--passphrase-file F | --no-passphrase] "
    "[--allow-swap]",
    "ob-offline address FILE [--passphrase-file F] [--allow-swap]",
    "ob-offline passwd KEY [--passphrase-file F] [--new-passphrase-file F] [--allow-swap]",
    "ob-offline import SOURCE -o FILE [--passphrase-file F] [--source-passphrase-file F] "
    "[--allow-swap]",
    "ob-offline sign -c CONFIG -i REQUEST -o RESPONSE [--yes] [--resign] [--full] [--threads N] "
    "[--passphrase-file F] [--allow-swap]",
    "ob-offline certify -c CONFIG -i REQUEST -o RESPONSE [--yes] [--passphrase-file F] "
    "[--allow-swap]",
    "ob-offline config-gen [-n N] [--version 3|2 | --hs-version v3|v2] [-o|--output DIR] "
    "[--key FILE [--source-passphrase-file F]] [-t|--tag TAG] [--service-virtual-port PORT] "
    "[--service-target HOST:PORT] [--time-period-length MINUTES] [--passphrase-file F | "
    "--no-passphrase] [--interactive | --no-interactive] [--allow-swap]",
    "ob-offline config-gen --from-onionbalance CONFIG [-o|--output DIR] [--source-passphrase-file "
    "F] [--passphrase-file F | --no-passphrase] [--time-period-length MINUTES] "
    "[--no-interactive] [--allow-swap]",
    "ob-offline inspect FILE",
    "ob-offline qr show FILE [--fps N] [--qr-version N] [--level L|M|Q|H]",
    "ob-offline qr encode FILE -o DIR [--qr-version N] [--level L|M|Q|H] [--scale N]",
    "ob-offline qr decode -o FILE [--expect ID] [--any] IMAGE...",
    "ob-offline qr scan -o FILE [--device /dev/videoN] [--expect ID] [--any]",
    "ob-offline version",
    NULL,
};

static const ob_cmd commands[] = {
    { "keygen", ofl_cmd_keygen },
    { "address", ofl_cmd_address },
    { "passwd", ofl_cmd_passwd },
    { "import", ofl_cmd_import },
    { "sign", ofl_cmd_sign },
    { "certify", ofl_cmd_certify },
    { "config-gen", ofl_cmd_config_gen },
    { "inspect", ob_cmd_inspect },
    { "qr", ob_cmd_qr },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    /* Before anything touches a secret: no core file, no ptrace attach. */
    if (ob_secmem_harden_process() != 0) {
        fprintf(stderr, "ob-offline: cannot disable core dumps; refusing to run\n");
        return OB_EXIT_USAGE;
    }
    if (ob_secmem_init() != 0) {
        fprintf(stderr, "ob-offline: libsodium failed to initialise\n");
        return OB_EXIT_USAGE;
    }
    /* How a refusal to run with unlocked secrets ends (format/core/secmem.c). */
    ob_secmem_set_hint(", or give --allow-swap to accept that secrets may be written to swap");
    return ob_cli_main("ob-offline", commands, usage, argc, argv);
}
