/* commands.h - the verbs of ob-online, one function each (online/cmd_*.c). */
#ifndef OB_ONLINE_COMMANDS_H
#define OB_ONLINE_COMMANDS_H

int onl_cmd_build(int argc, char **argv);
int onl_cmd_collect(int argc, char **argv);
int onl_cmd_publish(int argc, char **argv);
int onl_cmd_run(int argc, char **argv);
int onl_cmd_delegate(int argc, char **argv);
int onl_cmd_status(int argc, char **argv);
int onl_cmd_tor_check(int argc, char **argv);

#endif
