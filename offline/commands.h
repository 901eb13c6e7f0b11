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
int ofl_cmd_todo(int argc, char **argv);

#endif
