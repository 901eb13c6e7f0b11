/* inspect.c - `inspect`: summary of a bundle.  (Filled in with the bundle format.) */
#include "cli.h"
#include "inspect.h"

int ob_cmd_inspect(int argc, char **argv)
{
    (void)argc;
    ob_msg("'%s' is not implemented yet", argv[0]);
    return OB_EXIT_USAGE;
}
