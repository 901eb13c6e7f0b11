/* confirm.c - a ceremony's yes/no question on the terminal (confirm.h). */
#include "confirm.h"

#include <stdio.h>
#include <string.h>

int ofl_confirm(const char *question, const char *verb)
{
    FILE *tty = fopen("/dev/tty", "r+");
    char line[64];
    int yes;

    if (tty == NULL)
        return -1;
    fprintf(tty, "%s Type 'yes' to %s: ", question, verb);
    fflush(tty);
    yes = fgets(line, sizeof(line), tty) != NULL && strcmp(line, "yes\n") == 0;
    fclose(tty);
    return yes;
}
