/*
 * ctl.h - a client for tor's control port (control-spec §2-§4).
 *
 * One onl_ctl is one authenticated connection, TCP (host:port) or a unix
 * socket.  Commands are synchronous: a command waits (poll(), with a deadline)
 * for its reply; asynchronous 650 events that arrive before or between
 * replies are parsed and queued, and onl_ctl_next_event() hands them out in
 * order.  Everything tor sends is untrusted: lines are capped, a reply is
 * capped in total, NULs and stray CRs are refused, and event fields are
 * validated before a caller sees them.
 *
 * Wire shapes handled (tor always ends lines in CRLF):
 *
 *   250-key=value            mid-reply line
 *   250+key=                 data block follows: dot-stuffed lines ... "."
 *   250 OK                   final line; its code is the reply's status
 *   650 HS_DESC ...          event (one line)
 *   650+HS_DESC_CONTENT ...  event with a data block, closed by "650 OK"
 *
 * Failures and the connection.  A timeout, a protocol violation or the peer
 * closing all return OB_ERR_NET and close the connection (a late reply would
 * be taken for the answer to the next command).  The object survives: the
 * caller calls onl_ctl_reconnect(), which retries with exponential backoff,
 * re-authenticates (re-reading the cookie, which tor rewrites on restart),
 * restores the SETEVENTS subscription and bumps onl_ctl_generation(), and
 * then repeats its own operation.  Events queued before the loss are kept;
 * HSFETCH/HSPOST results still outstanding at that moment will never arrive,
 * which the generation counter lets a caller notice.
 *
 * A reply with a 4xx/5xx status is not a connection failure: the helper
 * functions return OB_ERR_REFUSED with tor's message (sanitised) in the diag,
 * and onl_ctl_last_code() gives the status.
 */
#ifndef OB_ONLINE_CTL_H
#define OB_ONLINE_CTL_H

#include "diag.h"

#include <stddef.h>
#include <stdint.h>

/* Bounds on what tor may send us. */
#define ONL_CTL_MAX_LINE     (64u * 1024u)          /* one line, without CRLF */
#define ONL_CTL_MAX_REPLY    (64u * 1024u * 1024u)  /* default cap of one reply */
#define ONL_CTL_MAX_QUEUED   4096u                  /* events waiting in the queue */
#define ONL_CTL_MAX_QUEUED_B (128u * 1024u * 1024u) /* bytes waiting in the queue */
#define ONL_CTL_TIMEOUT_MS   30000                  /* default wait for a reply */
#define ONL_CTL_DEFAULT_IP   "127.0.0.1"
#define ONL_CTL_DEFAULT_PORT 9051
#define ONL_CTL_DEFAULT_SOCK "/var/run/tor/control"
/* OnionBalance's variable for the socket; ours for the password (see docs). */
#define ONL_CTL_ENV_SOCKET   "ONIONBALANCE_TOR_CONTROL_SOCKET"
#define ONL_CTL_ENV_PASSWORD "ONIONBALANCE_TOR_CONTROL_PASSWORD"

typedef enum {
    ONL_AUTH_AUTO = 0, /* NULL if offered, else SAFECOOKIE, COOKIE, HASHEDPASSWORD */
    ONL_AUTH_NULL,
    ONL_AUTH_PASSWORD,
    ONL_AUTH_COOKIE,
    ONL_AUTH_SAFECOOKIE
} onl_auth;

typedef struct onl_ctl_opts {
    const char *socket_path;   /* tried first when non-NULL and non-empty */
    const char *host;          /* numeric IPv4/IPv6 address */
    unsigned port;             /* 1..65535 */
    const char *password_file; /* HASHEDPASSWORD secret (first line of the file) */
    const char *password;      /* or the secret itself (e.g. config TOR_CONTROL_PASSWORD);
                                  copied into guarded memory, kept for reconnects */
    onl_auth auth;
    int timeout_ms;   /* connect, PROTOCOLINFO and AUTHENTICATE each */
    size_t max_reply; /* 0 = ONL_CTL_MAX_REPLY */
} onl_ctl_opts;

/*
 * OnionBalance's defaults: 127.0.0.1:9051, socket $ONIONBALANCE_TOR_CONTROL_SOCKET
 * or /var/run/tor/control, automatic authentication.
 */
void onl_ctl_opts_init(onl_ctl_opts *o);
/*
 * Command-line helper for every verb that talks to tor: if argv[*i] is
 * -i/--ip, -p/--port, -s/--socket or --password-file, store its value (the
 * strings are borrowed from argv), advance *i past it and return 1; 0 if the
 * word is not one of these; -1 if its value is missing or bad (d says why).
 * "-s ''" disables the socket.
 */
int onl_ctl_opts_arg(onl_ctl_opts *o, int argc, char **argv, int *i, ob_diag *d);
/* Is a one of the words onl_ctl_opts_arg takes (each with a value)? */
int onl_ctl_is_opt(const char *a);

/* One reply line.  text/data are NUL-terminated and owned by the reply. */
typedef struct onl_ctl_line {
    int code;   /* 100..699 */
    char sep;   /* '-', '+' or ' ' */
    char *text; /* after "NNN?" */
    size_t text_len;
    char *data; /* sep '+': the dot-decoded block, lines ending in '\n' */
    size_t data_len;
} onl_ctl_line;

typedef struct onl_ctl_reply {
    int code; /* status of the final line */
    size_t n;
    onl_ctl_line *lines;
} onl_ctl_reply;

/* Free the lines; the reply is left empty.  NULL-tolerant. */
void onl_ctl_reply_free(onl_ctl_reply *r);

typedef enum {
    ONL_EV_OTHER = 0, /* any other event; only name and text are set */
    ONL_EV_HS_DESC,
    ONL_EV_HS_DESC_CONTENT
} onl_ev_kind;

typedef enum {
    ONL_HSA_OTHER = 0, /* an action this code does not know */
    ONL_HSA_REQUESTED,
    ONL_HSA_UPLOAD,
    ONL_HSA_RECEIVED,
    ONL_HSA_UPLOADED,
    ONL_HSA_IGNORE,
    ONL_HSA_FAILED,
    ONL_HSA_CREATED
} onl_hs_action;

typedef struct onl_ctl_event {
    onl_ev_kind kind;
    int malformed; /* an HS_DESC(_CONTENT) whose fields failed validation */
    char name[32]; /* event keyword, e.g. "HS_DESC" */
    char *text;    /* first line after "650 " / "650+" (NUL-terminated) */
    /* HS_DESC and HS_DESC_CONTENT */
    onl_hs_action action; /* HS_DESC only */
    char action_str[16];
    char address[57];    /* 56- or 16-char address, or "UNKNOWN" */
    char authtype[16];   /* HS_DESC only */
    char hsdir[41];      /* 40 upper-case hex digits; "" if UNKNOWN */
    char hsdir_nick[20]; /* "" if none */
    char descid[64];     /* "" if absent (or UNKNOWN) */
    char reason[32];     /* REASON=, "" if absent */
    int replica;         /* REPLICA=, -1 if absent */
    int has_hsdir_index;
    uint8_t hsdir_index[32];
    /* HS_DESC_CONTENT: the descriptor, '\n' line ends, NUL-terminated; may be empty */
    char *body;
    size_t body_len;
} onl_ctl_event;

void onl_ctl_event_free(onl_ctl_event *ev);

typedef struct onl_ctl onl_ctl;

/*
 * Connect (socket first, then host:port, as OnionBalance does), run
 * PROTOCOLINFO and authenticate.  The options are copied.
 */
ob_err onl_ctl_connect(const onl_ctl_opts *opts, onl_ctl **out, ob_diag *d);
/* Close and free; NULL-tolerant. */
void onl_ctl_close(onl_ctl *ctl);

/*
 * Drop the connection (if any) and connect again, retrying with exponential
 * backoff (250 ms doubling to 8 s) until it works or max_wait_ms has passed.
 * Restores the last SETEVENTS.  A refused authentication is not retried.
 */
ob_err onl_ctl_reconnect(onl_ctl *ctl, int max_wait_ms, ob_diag *d);
int onl_ctl_is_connected(const onl_ctl *ctl);
/* Incremented by every successful (re)connect; starts at 1. */
unsigned onl_ctl_generation(const onl_ctl *ctl);
/* "unix:/path" or "127.0.0.1:9051"; the method used ("SAFECOOKIE", ...). */
const char *onl_ctl_endpoint(const onl_ctl *ctl);
const char *onl_ctl_auth_method(const onl_ctl *ctl);
/* Tor's version from PROTOCOLINFO (sanitised; "" if not given). */
const char *onl_ctl_tor_version(const onl_ctl *ctl);
/* Status code of the last reply (0 before any). */
int onl_ctl_last_code(const onl_ctl *ctl);
/* Events dropped because the queue was full (ONL_CTL_MAX_QUEUED*). */
size_t onl_ctl_events_dropped(const onl_ctl *ctl);

/*
 * Send one command line (no CR, LF or NUL allowed in cmd; CRLF is added) and
 * wait up to timeout_ms (<= 0: the default) for its reply.  OB_OK whatever
 * the reply's status; *reply must be empty (zeroed) and is filled.
 */
ob_err onl_ctl_command(onl_ctl *ctl, const char *cmd, onl_ctl_reply *reply, int timeout_ms,
                       ob_diag *d);
/*
 * A multi-line command: "+KEYWORD args" then data, sent with CRLF line ends,
 * dot-stuffed and terminated by ".".  data must not hold NUL or CR.
 */
ob_err onl_ctl_command_data(onl_ctl *ctl, const char *cmd, const void *data, size_t len,
                            onl_ctl_reply *reply, int timeout_ms, ob_diag *d);

/*
 * GETINFO one key.  *value is malloc()ed, NUL-terminated (data blocks keep
 * their '\n' line ends).  5xx -> OB_ERR_REFUSED with tor's message.
 */
ob_err onl_ctl_getinfo(onl_ctl *ctl, const char *key, char **value, size_t *len, ob_diag *d);
/* Find key in a GETINFO reply (single-line or data block); NULL if absent. */
const char *onl_ctl_reply_value(const onl_ctl_reply *r, const char *key, size_t *len);

/* SETEVENTS (space-separated list, may be ""); remembered for reconnects. */
ob_err onl_ctl_setevents(onl_ctl *ctl, const char *events, ob_diag *d);

/*
 * HSFETCH addr56 [SERVER=$fp]...  servers: 40-hex fingerprints (optionally
 * '$'-prefixed).  OB_OK means tor said 250; results arrive as events, or not
 * at all (no consensus, no HSDir pickable): wait with a timeout.
 */
ob_err onl_ctl_hsfetch(onl_ctl *ctl, const char *addr56, const char *const *servers, size_t n,
                       ob_diag *d);
/*
 * +HSPOST [SERVER=$fp]... HSADDRESS=addr56 with the descriptor (LF or CRLF
 * line ends).  HSADDRESS is mandatory: without it tor never answers.
 */
ob_err onl_ctl_hspost(onl_ctl *ctl, const void *desc, size_t len, const char *const *servers,
                      size_t n, const char *hsaddress56, ob_diag *d);

/*
 * The next event: from the queue, else wait up to timeout_ms for one.  On a
 * timeout returns OB_OK with *ev == NULL.  The caller frees *ev.
 */
ob_err onl_ctl_next_event(onl_ctl *ctl, onl_ctl_event **ev, int timeout_ms, ob_diag *d);

/*
 * Pieces exposed for tests and for the collector/publisher.
 */
/* Parse one event (reply lines with code 650) into *ev (zeroed by caller). */
ob_err onl_ctl_event_parse(const onl_ctl_reply *r, onl_ctl_event *ev, ob_diag *d);
/* SAFECOOKIE (control-spec §3.24): both HMACs from cookie and nonces. */
int onl_ctl_safecookie_hashes(const uint8_t cookie[32], const uint8_t cnonce[32],
                              const uint8_t snonce[32], uint8_t server_hash[32],
                              uint8_t client_hash[32]);
/*
 * Decode a QuotedString/C-string starting at in[0] == '"'.  Writes at most
 * outmax-1 bytes and a NUL; *used = bytes consumed including both quotes.
 */
ob_err onl_ctl_unquote(const char *in, size_t n, char *out, size_t outmax, size_t *used,
                       ob_diag *d);
/*
 * Value of KEY=VALUE (VALUE may be quoted) in a space-separated line; copies
 * at most outmax-1 bytes.  OB_ERR_NOTFOUND if absent.
 */
ob_err onl_ctl_kv(const char *line, const char *key, char *out, size_t outmax, ob_diag *d);
/* Is s a syntactically valid v3 address (56 base32 chars, no ".onion")? */
int onl_ctl_is_v3addr(const char *s);
/* Replace bytes outside printable ASCII by '?', in place; for printing. */
void onl_ctl_sanitize(char *s);
/* Test hook: wrap an already connected, authenticated stream fd. */
ob_err onl_ctl_from_fd(int fd, onl_ctl **out, ob_diag *d);

#endif
