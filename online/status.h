/*
 * status.h - the daemon's status socket, in OnionBalance's v3 format.
 *
 * A unix stream socket at STATUS_SOCKET_LOCATION: every client that
 * connects gets one JSON document and the socket is closed, as OnionBalance
 * 0.2 does (onionbalance/hs_v3/status.py).  Keys sorted, Python's json
 * separators (", " and ": "), timestamps "YYYY-MM-DD HH:MM:SS" UTC or null:
 *
 *   {"services": [{"certifiedUntil": T|null,
 *                  "instances": [INSTANCE, ...],
 *                  "onionAddress": "<master>.onion",
 *                  "publishAttemptFirstDescriptor": T|null,
 *                  "publishAttemptSecondDescriptor": T|null,
 *                  "signedUntil": T|null}, ...]}
 *   INSTANCE (never fetched):  {"onionAddress": "<a>.onion", "received": null}
 *   INSTANCE (fetched):        {"descriptorReceived": T, "introPointsNum": N,
 *                               "introSetModified": T, "onionAddress": "<a>.onion"}
 *
 * "signedUntil" is ours (when the signed descriptors in hand run out: v3,
 * the first moment a publish slot has none, hsv3_cover.h);
 * OnionBalance's readers ignore keys they do not know.
 */
#ifndef ONL_STATUS_H
#define ONL_STATUS_H

#include "buf.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

#define ONL_STATUS_MAX_DOC (64u * 1024u * 1024u) /* what `status` reads at most */

typedef struct onl_status_instance {
    char address[57];        /* without ".onion" */
    uint64_t received;       /* unix seconds the last descriptor came; 0 never */
    uint64_t intro_modified; /* when its intro point set last changed; 0 never */
    unsigned n_intro;
} onl_status_instance;

typedef struct onl_status_service {
    char address[57];
    uint64_t publish_first, publish_second; /* last publish attempts; 0 never */
    uint64_t signed_until;                  /* 0: no signed descriptors */
    uint64_t certified_until;               /* 0: no certified keys (delegated mode) */
    onl_status_instance *instances;
    size_t n_instances;
} onl_status_service;

typedef struct onl_status {
    onl_status_service *services;
    size_t n_services;
} onl_status;

/* Append the JSON document (no trailing newline) to out. */
ob_err onl_status_json(const onl_status *s, ob_buf *out, ob_diag *d);

/*
 * Create the listening socket at path (mode 0600 by umask; an old socket
 * file there is removed, anything else there is refused).  Returns the fd
 * (non-blocking) or -1 with d set.
 */
int onl_status_listen(const char *path, ob_diag *d);
/* Answer every client waiting on fd (non-blocking; returns at once). */
void onl_status_serve(int fd, const onl_status *s);
/* Close fd and remove the socket file.  fd < 0 is ignored. */
void onl_status_close(int fd, const char *path);

/* Connect to path and read the document (malloc()ed, NUL-terminated). */
ob_err onl_status_fetch(const char *path, int timeout_ms, char **text, size_t *len, ob_diag *d);

/* The empty document, and freeing. */
void onl_status_free(onl_status *s);

#endif
