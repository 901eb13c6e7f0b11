/* qr_cmd.c - `qr` verbs.  (Filled in with the QR transfer issue.) */
#include "cli.h"
#include "qr_cmd.h"

int ob_cmd_qr(int argc, char **argv)
{
    (void)argc;
    ob_msg("'%s' is not implemented yet", argv[0]);
    return OB_EXIT_USAGE;
}
