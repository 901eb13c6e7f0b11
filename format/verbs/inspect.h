/* inspect.h - `inspect FILE`: a human summary of any bundle (both programs). */
#ifndef OB_INSPECT_H
#define OB_INSPECT_H

int ob_cmd_inspect(int argc, char **argv);

#endif
