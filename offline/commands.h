/* commands.h - the verbs of ob-offline, one function each (offline/cmd_*.c). */
#ifndef OB_OFFLINE_COMMANDS_H
#define OB_OFFLINE_COMMANDS_H

int ofl_cmd_keygen(int argc, char **argv);
int ofl_cmd_address(int argc, char **argv);
int ofl_cmd_passwd(int argc, char **argv);
int ofl_cmd_import(int argc, char **argv);
int ofl_cmd_sign(int argc, char **argv);
int ofl_cmd_certify(int argc, char **argv);
int ofl_cmd_config_gen(int argc, char **argv);

#include <stddef.h>
/* A "warning: ..." when a new passphrase is short (ofl_pass_is_short); cmd_keys.c. */
void ofl_cmd_warn_short_pass(const char *pass, size_t len);

#endif
