/* qr_cmd.h - `qr show|encode|decode|scan` (both programs). */
#ifndef OB_QR_CMD_H
#define OB_QR_CMD_H

int ob_cmd_qr(int argc, char **argv);

#endif
