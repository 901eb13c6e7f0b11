/*
 * cmd_status.c - "ob-online status": print what the running daemon's status
 * socket says (status.h has the format).
 *
 *   ob-online status [--socket PATH]
 *
 * Without --socket: $ONIONBALANCE_STATUS_SOCKET_LOCATION, else
 * OnionBalance's default /var/run/onionbalance/control.  Exit 0 with the
 * JSON document on stdout; 2 when nothing answers there.
 */
#include "cli.h"
#include "commands.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_DEFAULT "/var/run/onionbalance/control"

int onl_cmd_status(int argc, char **argv)
{
    const char *path = getenv("ONIONBALANCE_STATUS_SOCKET_LOCATION");
    char *text = NULL;
    size_t len = 0;
    ob_diag d;
    ob_err err;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            ob_msg("status: unexpected argument '%s'", argv[i]);
            ob_usage_verb(argv[0]);
        }
    }
    if (path == NULL || path[0] == '\0')
        path = STATUS_DEFAULT;
    err = onl_status_fetch(path, 10000, &text, &len, &d);
    if (err != OB_OK) {
        ob_msg("%s (the daemon opens a status socket only when its config names one: "
               "STATUS_SOCKET_LOCATION or status-socket-location)",
               d.msg);
        return OB_EXIT_USAGE;
    }
    /* The daemon wrote it, but it is still bytes from a socket. */
    for (i = 0; (size_t)i < len; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            text[i] = '?';
    printf("%s\n", text);
    free(text);
    return OB_EXIT_OK;
}
