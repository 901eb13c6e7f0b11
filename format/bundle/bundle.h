/*
 * bundle.h - the one container for everything that crosses the air gap.
 *
 * Layout (docs/bundle-format.rst is the full specification):
 *
 *   0    magic[8]      89 4F 42 42 0D 0A 1A 0A  ("\x89OBB\r\n\x1a\n")
 *   8    version u8    1
 *   9    kind u8       1 signing request, 2 signed response,
 *                      3/4 key-certification request/response
 *   10   reserved u16  0
 *   12   body_len u32  big-endian
 *   16   body          one record: TLV fields  tag u16 | len u32 | value
 *   16+body_len        sha256[32] over every byte before it: the bundle's digest
 *
 * A field's tag carries its number (low 15 bits, high byte = record type) and
 * a critical bit (0x8000).  Fields appear in increasing number order; only
 * repeatable fields (and unknown non-critical ones) may repeat, consecutively.
 * Unknown critical fields are refused; unknown non-critical fields are kept
 * (ob_bundle_ext) and written back in place, so serialize(parse(x)) == x.
 *
 * Ownership: every string and blob in these structs is heap memory owned by
 * the struct and released by its _free function.  Strings are NUL-terminated
 * printable ASCII.  Build structs with the _new/_add helpers (which copy) or
 * fill them by hand with malloc()ed members.
 */
#ifndef OB_BUNDLE_H
#define OB_BUNDLE_H

#include "buf.h"
#include "diag.h"
#include "obtime.h"
#include "hsv3_cert.h"

#include <stddef.h>
#include <stdint.h>

#define OB_BUNDLE_MAGIC      "\x89OBB\r\n\x1a\n"
#define OB_BUNDLE_MAGIC_LEN  8
#define OB_BUNDLE_VERSION    1
#define OB_BUNDLE_HDR_LEN    16
#define OB_BUNDLE_DIGEST_LEN 32

enum ob_bundle_kind {
    OB_BUNDLE_REQUEST = 1,      /* signing request, online -> offline */
    OB_BUNDLE_RESPONSE = 2,     /* signed response, offline -> online */
    OB_BUNDLE_CERT_REQUEST = 3, /* key-certification request, online -> offline */
    OB_BUNDLE_CERT_RESPONSE = 4 /* key-certification response, offline -> online */
};

/* Limits (documented in docs/bundle-format.rst, section "Limits"). */
#define OB_BUNDLE_MAX_SIZE        (256u * 1024 * 1024) /* whole file */
#define OB_BUNDLE_MAX_FIELD       (1024u * 1024)       /* any non-record field */
#define OB_BUNDLE_MAX_TEXT        512                  /* origin, name, reason, note */
#define OB_BUNDLE_MAX_SERVICES    20000                /* as many as a config may name */
#define OB_BUNDLE_MAX_PERIODS     8                    /* per service */
#define OB_BUNDLE_MAX_INSTANCES   4096                 /* per service */
#define OB_BUNDLE_MAX_DESCRIPTORS 65535                /* per response */
#define OB_BUNDLE_MAX_GROUPS      256                  /* group_count */
#define OB_BUNDLE_MAX_EXT         64                   /* unknown fields kept per record */
#define OB_BUNDLE_MAX_SHARED      100000               /* shared descriptors per request */
#define OB_BUNDLE_MAX_KEY_PERIODS 4096            /* per service in a key-certification bundle */
#define OB_BUNDLE_MAX_TP          (OB_TP_MAX + 1) /* period numbers are below it (obtime.h) */
#define OB_BUNDLE_MAX_TIME        OB_TIME_MAX     /* 9999-12-31 23:59:59 UTC (obtime.h) */

/* An unknown non-critical field, kept verbatim for the round trip. */
typedef struct ob_bundle_ext {
    uint16_t tag;
    uint8_t *val;
    size_t len;
} ob_bundle_ext;

typedef struct ob_bundle_exts {
    ob_bundle_ext *v;
    size_t n;
} ob_bundle_exts;

/* Instance status in a request. */
enum ob_instance_status {
    OB_INSTANCE_OK = 0,      /* descriptor fetched and verified online; descriptor required */
    OB_INSTANCE_MISSING = 1, /* no descriptor could be fetched; descriptor absent */
    OB_INSTANCE_INVALID = 2  /* fetched but failed checks; descriptor optional */
};

typedef struct ob_req_period {
    uint64_t tp;          /* time period number */
    uint64_t valid_from;  /* unix seconds */
    uint64_t valid_until; /* unix seconds, > valid_from */
    ob_bundle_exts ext;
} ob_req_period;

typedef struct ob_req_instance {
    char *address;       /* onion address without ".onion" (16 or 56 chars) */
    char *name;          /* optional (NULL) */
    uint8_t status;      /* enum ob_instance_status */
    char *reason;        /* optional (NULL) */
    uint64_t fetched_at; /* unix seconds */
    uint8_t *descriptor; /* optional (NULL): bytes exactly as tor served them */
    size_t descriptor_len;
    /*
     * 0: descriptor is the instance's own.  k + 1: descriptor points into
     * the request's shared table entry k (not freed with the instance).
     * On the wire the sharing is decided by content, not by this field:
     * see ob_request.shared.
     */
    size_t shared;
    ob_bundle_exts ext;
} ob_req_instance;

typedef struct ob_req_service {
    char *address;   /* master onion address without ".onion" */
    uint8_t version; /* 2 or 3 */
    ob_req_period *periods;
    size_t n_periods;
    ob_req_instance *instances;
    size_t n_instances;
    ob_bundle_exts ext;
} ob_req_service;

typedef struct ob_consensus_facts {
    uint64_t valid_after, fresh_until, valid_until; /* unix seconds */
    uint32_t tp_length_min;                         /* time period length, minutes */
    uint32_t tp_offset_min; /* rotation offset, minutes (720 live; 12 voting intervals testnet) */
    int has_srv_current;
    uint8_t srv_current[32];
    int has_srv_previous;
    uint8_t srv_previous[32];
    ob_bundle_exts ext;
} ob_consensus_facts;

/* A descriptor several instances of a request share (owned by the request). */
typedef struct ob_req_blob {
    uint8_t *p;
    size_t len;
} ob_req_blob;

typedef struct ob_request {
    uint8_t digest[OB_BUNDLE_DIGEST_LEN]; /* set by parse and serialize */
    uint64_t created;                     /* unix seconds */
    char *origin;                         /* optional: host / tool version */
    ob_consensus_facts consensus;
    ob_req_service *services;
    size_t n_services;
    /*
     * Descriptors that more than one instance carries, once each: on the
     * wire a request-level table (request.descriptor) that instances name
     * by index (instance.descriptor_ref), so a backend shared by many
     * services travels once.  The serializer decides the table from the
     * content (every descriptor carried by two or more instances, in order
     * of first use), whatever this field holds; the parser fills it, and
     * ob_request_share_descriptors() makes it for a request built by hand,
     * to keep one copy in memory.
     */
    ob_req_blob *shared;
    size_t n_shared;
    ob_bundle_exts ext;
} ob_request;

typedef struct ob_resp_descriptor {
    char *service;                    /* master onion address without ".onion" */
    uint8_t version;                  /* 2 or 3 */
    uint64_t tp;                      /* time period */
    uint8_t slot;                     /* v3: 0 first, 1 second descriptor; v2: replica */
    uint16_t group;                   /* 0 .. group_count-1 */
    uint16_t group_count;             /* >= 1: distinct descriptors for the same period */
    uint64_t valid_from, valid_until; /* unix seconds */
    uint64_t revision;
    uint8_t *descriptor; /* the exact bytes to upload; NULL while only compact is set */
    size_t descriptor_len;
    /*
     * v3 only: the compact entry (hsv3_compact.h) the online side rebuilds
     * the bytes from (ob_response_expand, compact.h).  On the wire a record has exactly
     * one of descriptor and compact; in memory the signer may set both, and
     * then the serializer writes only compact.
     */
    uint8_t *compact;
    size_t compact_len;
    /*
     * v3, with compact only: revisions 1..n of the same descriptor
     * (hs/hsv3_revs.h), each rebuilt from the expanded bytes, the compact
     * entry and its 72 bytes here (ob_resp_revision_bytes, compact.h).
     * NULL: the descriptor has only its own revision.
     */
    uint8_t *revisions;
    size_t revisions_len;
    ob_bundle_exts ext;
} ob_resp_descriptor;

typedef struct ob_response {
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];         /* set by parse and serialize */
    uint8_t request_digest[OB_BUNDLE_DIGEST_LEN]; /* the request this answers */
    uint64_t created;
    char *note; /* optional signer note */
    ob_resp_descriptor *descriptors;
    size_t n_descriptors;
    ob_bundle_exts ext;
} ob_response;

/*
 * Check the envelope of any bundle: magic, version, kind, reserved bits,
 * exact length (truncation and trailing bytes) and digest.  On success *kind
 * is 1..4 and digest (if not NULL) holds the bundle's digest.
 */
ob_err ob_bundle_peek(const uint8_t *p, size_t n, int *kind, uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                      ob_diag *d);

/* "signing request", "signed response", ...; "unknown" otherwise. */
const char *ob_bundle_kind_name(int kind);

/*
 * Parse a whole bundle of the given kind.  *out is a new struct owned by the
 * caller, or NULL on failure.  Every failure names the byte offset and field.
 */
ob_err ob_request_parse(const uint8_t *p, size_t n, ob_request **out, ob_diag *d);
ob_err ob_response_parse(const uint8_t *p, size_t n, ob_response **out, ob_diag *d);

/*
 * Append the canonical encoding to out and store its digest in the struct.
 * The struct is checked against the same rules the parser applies, so what
 * is written always parses; OB_ERR_RANGE/MALFORMED name the offending member.
 * Nothing is appended on failure.
 */
ob_err ob_request_serialize(ob_request *r, ob_buf *out, ob_diag *d);
ob_err ob_response_serialize(ob_response *r, ob_buf *out, ob_diag *d);

/* Empty structs (calloc) and NULL-tolerant frees. */
ob_request *ob_request_new(void);
void ob_request_free(ob_request *r);
ob_response *ob_response_new(void);
void ob_response_free(ob_response *r);

/*
 * Builders: append a copy of the arguments.  The returned pointer stays valid
 * until the next add to the same array.  Optional strings may be NULL; "" is
 * stored as NULL.  Informational text (origin, note, instance name and reason)
 * is made to fit: bytes outside printable ASCII become '?' and it is cut at
 * OB_BUNDLE_MAX_TEXT bytes.  Addresses are copied as they are and checked by
 * the serializer.
 */
ob_err ob_request_add_service(ob_request *r, const char *address, uint8_t version,
                              ob_req_service **out);
ob_err ob_req_service_add_period(ob_req_service *s, uint64_t tp, uint64_t valid_from,
                                 uint64_t valid_until);
ob_err ob_req_service_add_instance(ob_req_service *s, const char *address, const char *name,
                                   uint8_t status, const char *reason, uint64_t fetched_at,
                                   const uint8_t *descriptor, size_t descriptor_len);
/*
 * Keep one copy of every descriptor that several instances of r carry
 * (r->shared, the instances pointing into it), freeing the others: what a
 * collect of many services sharing backends holds in memory.  Nothing
 * changes on the wire.
 */
ob_err ob_request_share_descriptors(ob_request *r, ob_diag *d);

/* Copies every member of *tmpl (its ext list must be empty). */
ob_err ob_response_add_descriptor(ob_response *r, const ob_resp_descriptor *tmpl);
/* Optional text members (origin, note): replaces any previous value, made to fit as above. */
ob_err ob_bundle_set_text(char **field, const char *text);

/*
 * Files.  Reads are capped at OB_BUNDLE_MAX_SIZE and follow no symlink
 * (ob_file_read); *out is malloc()ed.  Writes are atomic (temp file, fsync,
 * rename), mode 0644; flags are ob_file_write_atomic's (OB_WRITE_EXCL).
 * Error messages start with the path.
 */
ob_err ob_bundle_read_file(const char *path, uint8_t **out, size_t *len, ob_diag *d);
ob_err ob_bundle_write_file(const char *path, const uint8_t *p, size_t n, int flags, ob_diag *d);
ob_err ob_request_read_file(const char *path, ob_request **out, ob_diag *d);
ob_err ob_response_read_file(const char *path, ob_response **out, ob_diag *d);
ob_err ob_request_write_file(const char *path, ob_request *r, int flags, ob_diag *d);
ob_err ob_response_write_file(const char *path, ob_response *r, int flags, ob_diag *d);

/*
 * Digests for people: the full 64 hex chars, and a short form of the first
 * 8 bytes in two groups ("ab12cd34 ef567890") to compare across screens.
 */
#define OB_BUNDLE_HEX_LEN   (2 * OB_BUNDLE_DIGEST_LEN + 1)
#define OB_BUNDLE_SHORT_LEN 18
void ob_bundle_digest_hex(const uint8_t digest[OB_BUNDLE_DIGEST_LEN], char out[OB_BUNDLE_HEX_LEN]);
void ob_bundle_digest_short(const uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                            char out[OB_BUNDLE_SHORT_LEN]);

/* Name of a field tag ("instance.descriptor"), or NULL if unknown. */
const char *ob_bundle_field_name(uint16_t tag);

/* ---- kinds 3 and 4: key certification for the delegated mode ---- */

/*
 * Key-certification request (kind 3): for each v3 service and period, a
 * fresh descriptor-signing public key the online side holds the private
 * half of (online/dkeys.h) and asks the offline side to certify.  The
 * period's start and end follow from tp and the request's period length and
 * offset; the parser checks that they do.
 */
typedef struct ob_keyreq_period {
    uint64_t tp;                      /* time period number, < OB_BUNDLE_MAX_TP */
    uint64_t valid_from, valid_until; /* start of tp and of tp + 1, unix seconds */
    uint8_t signing_key[32];          /* descriptor-signing public key */
    ob_bundle_exts ext;
} ob_keyreq_period;

typedef struct ob_keyreq_service {
    char *address;             /* v3 master address without ".onion" */
    ob_keyreq_period *periods; /* strictly increasing tp, 1..OB_BUNDLE_MAX_KEY_PERIODS */
    size_t n_periods;
    ob_bundle_exts ext;
} ob_keyreq_service;

typedef struct ob_keyrequest {
    uint8_t digest[OB_BUNDLE_DIGEST_LEN]; /* set by parse and serialize */
    uint64_t created;                     /* unix seconds */
    char *origin;                         /* optional */
    uint32_t tp_length_min;               /* time period length, minutes (1..525600) */
    uint32_t tp_offset_min;               /* rotation offset, minutes (< length) */
    ob_keyreq_service *services;          /* unique addresses, 1..OB_BUNDLE_MAX_SERVICES */
    size_t n_services;
    ob_bundle_exts ext;
} ob_keyrequest;

/*
 * Key-certification response (kind 4): per service and period, the type-08
 * certificate of the requested key signed with the period's blinded key,
 * its expiry, and the period's revision-counter key (hsv3_common.h).  The
 * certificate travels as the parts the online side cannot derive: the key
 * it certifies, its expiry and its signature; its signer is the blinded
 * public key of the service's address for the period, which anyone can
 * compute, and ob_keycert_cert() puts the 140 bytes together exactly as
 * `certify` signed them.  Whether the signature holds is for the installer
 * to check (online/dkeys.h onl_dkey_certify) and for inspect to show.
 */
typedef struct ob_keycert {
    uint64_t tp;
    uint8_t signing_key[32]; /* the descriptor-signing key it certifies */
    uint64_t expires;        /* unix seconds, a whole hour: the certificate's expiry */
    uint8_t signature[64];   /* the certificate's signature, by the blinded key */
    uint8_t rev_key[32];     /* the period's revision-counter key */
    ob_bundle_exts ext;
} ob_keycert;

typedef struct ob_keyresp_service {
    char *address;
    ob_keycert *certs; /* strictly increasing tp, 1..OB_BUNDLE_MAX_KEY_PERIODS */
    size_t n_certs;
    ob_bundle_exts ext;
} ob_keyresp_service;

typedef struct ob_keyresponse {
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];         /* set by parse and serialize */
    uint8_t request_digest[OB_BUNDLE_DIGEST_LEN]; /* the key request this answers */
    uint64_t created;
    char *note;                            /* optional */
    uint32_t tp_length_min, tp_offset_min; /* as in the request answered */
    ob_keyresp_service *services;
    size_t n_services;
    ob_bundle_exts ext;
} ob_keyresponse;

ob_err ob_keyrequest_parse(const uint8_t *p, size_t n, ob_keyrequest **out, ob_diag *d);
ob_err ob_keyresponse_parse(const uint8_t *p, size_t n, ob_keyresponse **out, ob_diag *d);
ob_err ob_keyrequest_serialize(ob_keyrequest *r, ob_buf *out, ob_diag *d);
ob_err ob_keyresponse_serialize(ob_keyresponse *r, ob_buf *out, ob_diag *d);
ob_keyrequest *ob_keyrequest_new(void);
void ob_keyrequest_free(ob_keyrequest *r);
ob_keyresponse *ob_keyresponse_new(void);
void ob_keyresponse_free(ob_keyresponse *r);

/* Builders: copies, as for kinds 1 and 2; the returned pointer lives until the next add. */
ob_err ob_keyrequest_add_service(ob_keyrequest *r, const char *address, ob_keyreq_service **out);
ob_err ob_keyreq_service_add_period(ob_keyreq_service *s, uint64_t tp, uint64_t valid_from,
                                    uint64_t valid_until, const uint8_t signing_key[32]);
ob_err ob_keyresponse_add_service(ob_keyresponse *r, const char *address, ob_keyresp_service **out);
ob_err ob_keyresp_service_add_cert(ob_keyresp_service *s, uint64_t tp,
                                   const uint8_t signing_key[32], uint64_t expires,
                                   const uint8_t signature[64], const uint8_t rev_key[32]);

/*
 * The certificate of c as the descriptor carries it (OB_CERT_LEN bytes):
 * type 08, c->signing_key, expiry c->expires / 3600, the signer extension
 * naming the blinded public key of address for c->tp and tp_length_min
 * (derived here: public blinding only), c->signature.  Not verified.
 */
ob_err ob_keycert_cert(const ob_keycert *c, const char *address, uint32_t tp_length_min,
                       uint8_t out[OB_CERT_LEN], ob_diag *d);

ob_err ob_keyrequest_read_file(const char *path, ob_keyrequest **out, ob_diag *d);
ob_err ob_keyresponse_read_file(const char *path, ob_keyresponse **out, ob_diag *d);
ob_err ob_keyrequest_write_file(const char *path, ob_keyrequest *r, int flags, ob_diag *d);
ob_err ob_keyresponse_write_file(const char *path, ob_keyresponse *r, int flags, ob_diag *d);

#endif
