/*
 * confirm.h - the question a ceremony asks before it unlocks a key
 * (sign, certify): on the terminal (/dev/tty, so it works with stdin and
 * stdout redirected), answered by typing "yes".
 */
#ifndef OFL_CONFIRM_H
#define OFL_CONFIRM_H

/*
 * Print "<question> Type 'yes' to <verb>: " on /dev/tty and read a line.
 * 1 for exactly "yes", 0 for anything else, -1 when there is no terminal.
 */
int ofl_confirm(const char *question, const char *verb);

#endif
