/* cmd_todo.c - placeholder for verbs still being built; says so and exits 2. */
#include "cli.h"
#include "commands.h"

int onl_cmd_todo(int argc, char **argv)
{
    (void)argc;
    ob_msg("'%s' is not implemented yet", argv[0]);
    return OB_EXIT_USAGE;
}
