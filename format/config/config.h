/*
 * config.h - the YAML configuration both programs read (docs/config.rst).
 *
 * OnionBalance's config.yaml is read as it is:
 *
 *     REFRESH_INTERVAL: 600            # OnionBalance globals, upper case
 *     services:
 *       - key: master.key              # offline: the master key file, or
 *         address: <56 chars>.onion    # online: the master address (not both)
 *         instances:
 *           - address: <56 chars>.onion
 *             name: node1
 *
 * plus this project's additions (lower case, listed in docs/config.rst).
 * Relative paths are resolved against the directory of the config file, as
 * OnionBalance does.  Unknown keys are not errors but are reported through
 * ob_config.warnings[], which the caller prints; wrong types and values are
 * errors whose message reads "FILE:LINE:COLUMN: what is wrong" (1-based).
 *
 * The parser is strict and bounded: the file size, the nesting depth, the
 * number of YAML values, the number of services and instances, the length
 * of every string and the keys per mapping are capped (OB_CFG_MAX_*); YAML
 * anchors, aliases, explicit tags and further documents are refused, the
 * YAML limits as the file is read, before a document is built; duplicate
 * keys, services and instances are errors naming both lines.  Secrets (TOR_CONTROL_PASSWORD, v2
 * auth cookies) are kept in ob_secalloc() memory and wiped by ob_config_free().
 */
#ifndef OB_CONFIG_H
#define OB_CONFIG_H

#include "diag.h"

#include <stddef.h>
#include <stdint.h>

#define OB_CFG_MAX_FILE            (16u * 1024 * 1024)
#define OB_CFG_MAX_SERVICES        20000   /* shared hosting: ~10000 customers */
#define OB_CFG_MAX_INSTANCES       4096    /* per service */
#define OB_CFG_MAX_INSTANCES_TOTAL 200000  /* over all services */
#define OB_CFG_MAX_PATH            4096    /* a path after resolution */
#define OB_CFG_MAX_STRING          1024    /* any other string value */
#define OB_CFG_MAX_KEYS            64      /* keys in one mapping */
#define OB_CFG_MAX_DEPTH           16      /* nested collections (a config needs 5) */
#define OB_CFG_MAX_NODES           2000000 /* YAML values (scalars and collections) in a file */
#define OB_CFG_MAX_WARNINGS        100     /* then one "more warnings" line */

/* Defaults and ranges of our additions (minutes unless stated). */
#define OB_CFG_LIFETIME_DEFAULT      180 /* tor's own descriptor-lifetime */
#define OB_CFG_LIFETIME_MIN          30  /* rend-spec-v3 2.4 */
#define OB_CFG_LIFETIME_MAX          720 /* HS_DESC_MAX_LIFETIME: HSDirs refuse more */
#define OB_CFG_PRESIGN_DEFAULT       1440
#define OB_CFG_PRESIGN_MAX_V3        10080 /* our bound: a week of pre-signed periods */
#define OB_CFG_PRESIGN_MAX_V2        4320  /* HSDirs drop publication-time < now - 3 days */
#define OB_CFG_TP_LENGTH_DEFAULT     1440  /* hsdir_interval on the live network */
#define OB_CFG_TP_LENGTH_MIN         2     /* test networks: 24 voting intervals of >= 5 s */
#define OB_CFG_TP_LENGTH_MAX         14400
#define OB_CFG_SKEW_DEFAULT          900 /* seconds */
#define OB_CFG_SKEW_MAX              86400
#define OB_CFG_MIN_INSTANCES_DEFAULT 1  /* valid instances a service needs to be signed */
#define OB_CFG_DELEGATION_DEFAULT    31 /* days: certify signs periods starting this soon */
#define OB_CFG_DELEGATION_MIN        1
#define OB_CFG_DELEGATION_MAX        366
#define OB_CFG_RENEW_DAYS_DEFAULT    7 /* delegated mode: ask for certificates this early */
#define OB_CFG_RENEW_DAYS_MAX        366

typedef struct ob_cfg_instance {
    char *address;              /* normalised: lower case, no ".onion" */
    int version;                /* 2 or 3, from the address */
    uint8_t key[32];            /* v3: the public key address names, checked once here */
    char *name;                 /* may be NULL */
    char *client_auth_key_path; /* v3, resolved; NULL if the backend uses no client auth */
    char *auth_cookie;          /* v2, 22 base64 chars (ob_secalloc); NULL if none */
    int line;                   /* 1-based line and column of the entry, for messages */
    int column;
} ob_cfg_instance;

typedef struct ob_cfg_service {
    char *key_path;               /* resolved; NULL on the online side */
    char *address;                /* normalised master address; NULL if only key given */
    int version;                  /* 2 or 3; 0 unknown until the key is loaded */
    uint8_t key[32];              /* v3 with address: its public key, checked once here */
    unsigned descriptor_lifetime; /* minutes, v3 */
    unsigned presign_window;      /* minutes */
    unsigned min_instances;       /* sign refuses with fewer valid instances; 1..n_instances */
    int lifetime_line;            /* line descriptor_lifetime was set on, or 0 */
    int presign_line;             /* line presign_window was set on, or 0 */
    ob_cfg_instance *instances;
    size_t n_instances;
    int line; /* 1-based line and column of the entry */
    int column;
} ob_cfg_service;

typedef struct ob_config {
    char *path; /* as given to ob_config_load() */
    char *dir;  /* absolute directory relative paths were resolved against */
    ob_cfg_service *services;
    size_t n_services;

    /* OnionBalance's globals (seconds unless stated); environment variables
     * ONIONBALANCE_* override the built-in default, the file overrides both. */
    unsigned refresh_interval;           /* REFRESH_INTERVAL, 600 */
    unsigned publish_check_interval;     /* PUBLISH_CHECK_INTERVAL, 300 */
    unsigned initial_delay;              /* INITIAL_DELAY, 45 */
    unsigned descriptor_validity_period; /* DESCRIPTOR_VALIDITY_PERIOD, 86400 (v2) */
    unsigned descriptor_overlap_period;  /* DESCRIPTOR_OVERLAP_PERIOD, 3600 (v2) */
    unsigned descriptor_upload_period;   /* DESCRIPTOR_UPLOAD_PERIOD, 3600 */
    int distinct_descriptors;            /* DISTINCT_DESCRIPTORS, 1 */
    unsigned replicas;                   /* REPLICAS, 2 (v2) */
    unsigned hsdir_set;                  /* HSDIR_SET, 3 (v2) */
    unsigned max_intro_points;           /* MAX_INTRO_POINTS, 10 (v2) */
    char *status_socket_location;        /* STATUS_SOCKET_LOCATION */
    char *tor_control_socket;            /* TOR_CONTROL_SOCKET */
    char *tor_address;                   /* TOR_ADDRESS, "127.0.0.1" */
    unsigned tor_port;                   /* TOR_PORT, 9051 */
    char *tor_control_password;          /* TOR_CONTROL_PASSWORD (ob_secalloc), or NULL */
    char *log_level;                     /* LOG_LEVEL: debug|info|warning|error|critical */
    char *log_location;                  /* LOG_LOCATION, or NULL (stderr) */

    /* Our additions. */
    unsigned time_period_length;  /* minutes, 1440; only test networks change it */
    unsigned descriptor_lifetime; /* default for services, minutes */
    unsigned presign_window;      /* default for services, minutes */
    char *ceremony_log;           /* resolved; default <dir>/ceremony.log */
    char *inbox;                  /* resolved, or NULL */
    char *outbox;                 /* resolved, or NULL */
    unsigned max_clock_skew;      /* seconds, 900 */
    unsigned delegation_max_days; /* offline: certify refuses periods starting later, 31 */
    unsigned delegate_renew_days; /* online, delegated mode: days, 7 */

    unsigned long long given; /* which global keys the file set (ob_config_given) */

    char **warnings; /* "FILE:LINE:COL: ..." lines for the caller to print */
    size_t n_warnings;
} ob_config;

/*
 * Read and check a config file (at most OB_CFG_MAX_FILE bytes, no symlink as
 * the last component).  On success *out is owned by the caller (free it with
 * ob_config_free()); on failure *out is NULL and d names file, line, column.
 */
ob_err ob_config_load(const char *path, ob_config **out, ob_diag *d);

/*
 * The same from text in memory (len bytes, no NUL needed).  path is used in
 * messages and to resolve relative paths; it is not opened.
 */
ob_err ob_config_parse(const char *path, const char *text, size_t len, ob_config **out, ob_diag *d);

/*
 * 1 when the file gave the global key name (spelled as in docs/config.rst,
 * e.g. "REFRESH_INTERVAL", "inbox") a value; 0 when it kept its default (not
 * written, or written without a value) and for names that are no global key.
 * config-gen --from-onionbalance carries over only what the file said.
 */
int ob_config_given(const ob_config *c, const char *name);

/* NULL-tolerant; wipes the secrets. */
void ob_config_free(ob_config *c);

/*
 * The service whose master address is address ("<56>", "<16>", either case,
 * with or without ".onion"), or NULL.  Services known only by key_path are
 * found once ob_config_bind_key() has given them their address.
 */
const ob_cfg_service *ob_config_find_service(const ob_config *c, const char *address);

/* The instance of s with that address (same spellings as above), or NULL. */
const ob_cfg_instance *ob_cfg_service_find_instance(const ob_cfg_service *s, const char *address);

/*
 * After the offline side has loaded service i's key: record the master
 * address and version it yields, and check what could not be checked before
 * (instances of the other version, descriptor_lifetime on a v2 service,
 * presign_window over the version's maximum, two key files of one service,
 * a backend that is the master itself).  The message names the config line.
 */
ob_err ob_config_bind_key(ob_config *c, size_t i, const char *address, ob_diag *d);

#endif
