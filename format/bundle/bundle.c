/*
 * bundle.c - parse and write the air-gap bundle (docs/bundle-format.rst).
 *
 *   +--------+-----+------+----------+----------+---------------------+------------+
 *   | magic  | ver | kind | reserved | body_len | body (TLV fields)   | sha256     |
 *   | 8      | 1   | 1    | 2 (= 0)  | 4 (BE)   | body_len            | 32         |
 *   +--------+-----+------+----------+----------+---------------------+------------+
 *   field:  tag u16 (0x8000 = critical) | len u32 | value[len]
 *
 * The parser checks the envelope (magic, version, kind, length, digest)
 * before it looks at a single field, so a bit flip anywhere is a digest
 * mismatch and field-level errors only come from bundles that were written
 * wrong.  Field schemas are tables (fdef); one reader (rd_next) enforces
 * order, duplicates, criticality and sizes for every record, and the record
 * parsers only convert values.  The same struct checks (check_*) run after
 * parsing and before serializing, so the writer cannot produce a bundle the
 * reader refuses.
 */
#include "bundle.h"

#include "dedup.h"
#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "hsv3_compact.h"
#include "hsv3_revs.h"
#include "obtime.h"
#include "onion.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRIT 0x8000u

/* Tags: high byte = record type, low byte = field, 0x8000 = critical. */
enum {
    T_REQ_CREATED = 0x8101,
    T_REQ_ORIGIN = 0x0102,
    T_REQ_CONSENSUS = 0x8103,
    T_REQ_SERVICE = 0x8104,
    T_REQ_SHARED = 0x8105, /* a descriptor several instances share (request.descriptor) */
    T_CON_VALID_AFTER = 0x8201,
    T_CON_FRESH_UNTIL = 0x8202,
    T_CON_VALID_UNTIL = 0x8203,
    T_CON_TP_LENGTH = 0x8204,
    T_CON_TP_OFFSET = 0x8205,
    T_CON_SRV_CURRENT = 0x8206,
    T_CON_SRV_PREVIOUS = 0x8207,
    T_SVC_ADDRESS = 0x8301,
    T_SVC_VERSION = 0x8302,
    T_SVC_PERIOD = 0x8303,
    T_SVC_INSTANCE = 0x8304,
    T_PER_TP = 0x8401,
    T_PER_VALID_FROM = 0x8402,
    T_PER_VALID_UNTIL = 0x8403,
    T_INS_ADDRESS = 0x8501,
    T_INS_NAME = 0x0502,
    T_INS_STATUS = 0x8503,
    T_INS_REASON = 0x0504,
    T_INS_FETCHED_AT = 0x8505,
    T_INS_DESCRIPTOR = 0x8506,
    T_INS_DESCRIPTOR_REF = 0x8507, /* index into request.descriptor */
    T_RSP_REQUEST_DIGEST = 0x8601,
    T_RSP_CREATED = 0x8602,
    T_RSP_NOTE = 0x0603,
    T_RSP_DESCRIPTOR = 0x8604,
    T_DSC_SERVICE = 0x8701,
    T_DSC_VERSION = 0x8702,
    T_DSC_TP = 0x8703,
    T_DSC_SLOT = 0x8704,
    T_DSC_GROUP = 0x8705,
    T_DSC_GROUP_COUNT = 0x8706,
    T_DSC_VALID_FROM = 0x8707,
    T_DSC_VALID_UNTIL = 0x8708,
    T_DSC_REVISION = 0x8709,
    T_DSC_BODY = 0x870a,
    T_DSC_COMPACT = 0x870b,   /* compact v3 descriptor (hsv3_compact.h) */
    T_DSC_REVISIONS = 0x070c, /* more revisions of a compact one (hsv3_revs.h) */
    /* Kinds 3 and 4 (key certification) use record types 0x10 and up. */
    T_KRQ_CREATED = 0x9001,
    T_KRQ_ORIGIN = 0x1002,
    T_KRQ_TP_LENGTH = 0x9003,
    T_KRQ_TP_OFFSET = 0x9004,
    T_KRQ_SERVICE = 0x9005,
    T_KSV_ADDRESS = 0x9101,
    T_KSV_PERIOD = 0x9102,
    T_KPR_TP = 0x9201,
    T_KPR_VALID_FROM = 0x9202,
    T_KPR_VALID_UNTIL = 0x9203,
    T_KPR_SIGNING_KEY = 0x9204,
    T_KRS_REQUEST_DIGEST = 0x9301,
    T_KRS_CREATED = 0x9302,
    T_KRS_NOTE = 0x1303,
    T_KRS_TP_LENGTH = 0x9304,
    T_KRS_TP_OFFSET = 0x9305,
    T_KRS_SERVICE = 0x9306,
    T_KCS_ADDRESS = 0x9401,
    T_KCS_CERT = 0x9402,
    T_KCR_TP = 0x9501,
    T_KCR_SIGNING_KEY = 0x9502,
    T_KCR_EXPIRES = 0x9503,
    T_KCR_SIGNATURE = 0x9504,
    T_KCR_REV_KEY = 0x9505
};

enum ftype {
    F_U8,
    F_U16,
    F_U32,
    F_U64,
    F_FIX32,
    F_TEXT,
    F_ADDR,
    F_BLOB,
    F_REC,
    F_RESERVED,
    F_FIX64
};
/* F_TIME: a unix time, at most OB_TIME_MAX; F_TP: a period number, at most OB_TP_MAX. */
enum { F_REQUIRED = 1, F_REPEAT = 2, F_TIME = 4, F_TP = 8 };

typedef struct fdef {
    uint16_t tag;
    uint8_t type;
    uint8_t flags;
    uint32_t max; /* text/blob: bytes; repeatable: occurrences (a repeatable blob's
                     bytes: OB_BUNDLE_MAX_FIELD) */
    const char *name;
} fdef;

typedef struct rdef {
    const char *name;
    const fdef *f;
    size_t n;
} rdef;

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static const fdef request_f[] = {
    { T_REQ_CREATED, F_U64, F_REQUIRED | F_TIME, 0, "request.created" },
    { T_REQ_ORIGIN, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "request.origin" },
    { T_REQ_CONSENSUS, F_REC, F_REQUIRED, 1, "request.consensus" },
    { T_REQ_SERVICE, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_SERVICES, "request.service" },
    { T_REQ_SHARED, F_BLOB, F_REPEAT, OB_BUNDLE_MAX_SHARED, "request.descriptor" },
};
static const fdef consensus_f[] = {
    { T_CON_VALID_AFTER, F_U64, F_REQUIRED | F_TIME, 0, "consensus.valid_after" },
    { T_CON_FRESH_UNTIL, F_U64, F_REQUIRED | F_TIME, 0, "consensus.fresh_until" },
    { T_CON_VALID_UNTIL, F_U64, F_REQUIRED | F_TIME, 0, "consensus.valid_until" },
    { T_CON_TP_LENGTH, F_U32, F_REQUIRED, 0, "consensus.tp_length_min" },
    { T_CON_TP_OFFSET, F_U32, F_REQUIRED, 0, "consensus.tp_offset_min" },
    { T_CON_SRV_CURRENT, F_FIX32, 0, 0, "consensus.srv_current" },
    { T_CON_SRV_PREVIOUS, F_FIX32, 0, 0, "consensus.srv_previous" },
};
static const fdef service_f[] = {
    { T_SVC_ADDRESS, F_ADDR, F_REQUIRED, 56, "service.address" },
    { T_SVC_VERSION, F_U8, F_REQUIRED, 0, "service.version" },
    { T_SVC_PERIOD, F_REC, F_REPEAT, OB_BUNDLE_MAX_PERIODS, "service.period" },
    { T_SVC_INSTANCE, F_REC, F_REPEAT, OB_BUNDLE_MAX_INSTANCES, "service.instance" },
};
static const fdef period_f[] = {
    { T_PER_TP, F_U64, F_REQUIRED | F_TP, 0, "period.tp" },
    { T_PER_VALID_FROM, F_U64, F_REQUIRED | F_TIME, 0, "period.valid_from" },
    { T_PER_VALID_UNTIL, F_U64, F_REQUIRED | F_TIME, 0, "period.valid_until" },
};
static const fdef instance_f[] = {
    { T_INS_ADDRESS, F_ADDR, F_REQUIRED, 56, "instance.address" },
    { T_INS_NAME, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "instance.name" },
    { T_INS_STATUS, F_U8, F_REQUIRED, 0, "instance.status" },
    { T_INS_REASON, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "instance.reason" },
    { T_INS_FETCHED_AT, F_U64, F_REQUIRED | F_TIME, 0, "instance.fetched_at" },
    { T_INS_DESCRIPTOR, F_BLOB, 0, OB_BUNDLE_MAX_FIELD, "instance.descriptor" },
    /* At most one of descriptor and descriptor_ref (check_instance). */
    { T_INS_DESCRIPTOR_REF, F_U32, 0, 0, "instance.descriptor_ref" },
};
static const fdef response_f[] = {
    { T_RSP_REQUEST_DIGEST, F_FIX32, F_REQUIRED, 0, "response.request_digest" },
    { T_RSP_CREATED, F_U64, F_REQUIRED | F_TIME, 0, "response.created" },
    { T_RSP_NOTE, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "response.note" },
    { T_RSP_DESCRIPTOR, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_DESCRIPTORS,
      "response.descriptor" },
};
static const fdef descriptor_f[] = {
    { T_DSC_SERVICE, F_ADDR, F_REQUIRED, 56, "descriptor.service" },
    { T_DSC_VERSION, F_U8, F_REQUIRED, 0, "descriptor.version" },
    { T_DSC_TP, F_U64, F_REQUIRED | F_TP, 0, "descriptor.tp" },
    { T_DSC_SLOT, F_U8, F_REQUIRED, 0, "descriptor.slot" },
    { T_DSC_GROUP, F_U16, F_REQUIRED, 0, "descriptor.group" },
    { T_DSC_GROUP_COUNT, F_U16, F_REQUIRED, 0, "descriptor.group_count" },
    { T_DSC_VALID_FROM, F_U64, F_REQUIRED | F_TIME, 0, "descriptor.valid_from" },
    { T_DSC_VALID_UNTIL, F_U64, F_REQUIRED | F_TIME, 0, "descriptor.valid_until" },
    { T_DSC_REVISION, F_U64, F_REQUIRED, 0, "descriptor.revision" },
    /* Exactly one of body and compact (check_rdesc, parse_rdesc). */
    { T_DSC_BODY, F_BLOB, 0, OB_BUNDLE_MAX_FIELD, "descriptor.body" },
    { T_DSC_COMPACT, F_BLOB, 0, OB_HSV3_COMPACT_MAX, "descriptor.compact" },
    { T_DSC_REVISIONS, F_BLOB, 0, OB_HSV3_REVS_MAX_LEN, "descriptor.revisions" },
};

static const fdef keyrequest_f[] = {
    { T_KRQ_CREATED, F_U64, F_REQUIRED | F_TIME, 0, "keyrequest.created" },
    { T_KRQ_ORIGIN, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "keyrequest.origin" },
    { T_KRQ_TP_LENGTH, F_U32, F_REQUIRED, 0, "keyrequest.tp_length_min" },
    { T_KRQ_TP_OFFSET, F_U32, F_REQUIRED, 0, "keyrequest.tp_offset_min" },
    { T_KRQ_SERVICE, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_SERVICES, "keyrequest.service" },
};
static const fdef keyservice_f[] = {
    { T_KSV_ADDRESS, F_ADDR, F_REQUIRED, 56, "keyservice.address" },
    { T_KSV_PERIOD, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_KEY_PERIODS, "keyservice.period" },
};
static const fdef keyperiod_f[] = {
    { T_KPR_TP, F_U64, F_REQUIRED | F_TP, 0, "keyperiod.tp" },
    { T_KPR_VALID_FROM, F_U64, F_REQUIRED | F_TIME, 0, "keyperiod.valid_from" },
    { T_KPR_VALID_UNTIL, F_U64, F_REQUIRED | F_TIME, 0, "keyperiod.valid_until" },
    { T_KPR_SIGNING_KEY, F_FIX32, F_REQUIRED, 0, "keyperiod.signing_key" },
};
static const fdef keyresponse_f[] = {
    { T_KRS_REQUEST_DIGEST, F_FIX32, F_REQUIRED, 0, "keyresponse.request_digest" },
    { T_KRS_CREATED, F_U64, F_REQUIRED | F_TIME, 0, "keyresponse.created" },
    { T_KRS_NOTE, F_TEXT, 0, OB_BUNDLE_MAX_TEXT, "keyresponse.note" },
    { T_KRS_TP_LENGTH, F_U32, F_REQUIRED, 0, "keyresponse.tp_length_min" },
    { T_KRS_TP_OFFSET, F_U32, F_REQUIRED, 0, "keyresponse.tp_offset_min" },
    { T_KRS_SERVICE, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_SERVICES, "keyresponse.service" },
};
static const fdef keycerts_f[] = {
    { T_KCS_ADDRESS, F_ADDR, F_REQUIRED, 56, "keycerts.address" },
    { T_KCS_CERT, F_REC, F_REQUIRED | F_REPEAT, OB_BUNDLE_MAX_KEY_PERIODS, "keycerts.cert" },
};
static const fdef keycert_f[] = {
    { T_KCR_TP, F_U64, F_REQUIRED | F_TP, 0, "keycert.tp" },
    { T_KCR_SIGNING_KEY, F_FIX32, F_REQUIRED, 0, "keycert.signing_key" },
    { T_KCR_EXPIRES, F_U64, F_REQUIRED | F_TIME, 0, "keycert.expires" },
    { T_KCR_SIGNATURE, F_FIX64, F_REQUIRED, 0, "keycert.signature" },
    { T_KCR_REV_KEY, F_FIX32, F_REQUIRED, 0, "keycert.rev_key" },
};

static const rdef R_REQUEST = { "request", request_f, NF(request_f) };
static const rdef R_CONSENSUS = { "consensus", consensus_f, NF(consensus_f) };
static const rdef R_SERVICE = { "service", service_f, NF(service_f) };
static const rdef R_PERIOD = { "period", period_f, NF(period_f) };
static const rdef R_INSTANCE = { "instance", instance_f, NF(instance_f) };
static const rdef R_RESPONSE = { "response", response_f, NF(response_f) };
static const rdef R_DESCRIPTOR = { "descriptor", descriptor_f, NF(descriptor_f) };
static const rdef R_KEYREQUEST = { "keyrequest", keyrequest_f, NF(keyrequest_f) };
static const rdef R_KEYSERVICE = { "keyservice", keyservice_f, NF(keyservice_f) };
static const rdef R_KEYPERIOD = { "keyperiod", keyperiod_f, NF(keyperiod_f) };
static const rdef R_KEYRESPONSE = { "keyresponse", keyresponse_f, NF(keyresponse_f) };
static const rdef R_KEYCERTS = { "keycerts", keycerts_f, NF(keycerts_f) };
static const rdef R_KEYCERT = { "keycert", keycert_f, NF(keycert_f) };

static const rdef *const all_records[] = {
    &R_REQUEST,     &R_CONSENSUS,  &R_SERVICE,    &R_PERIOD,     &R_INSTANCE,
    &R_RESPONSE,    &R_DESCRIPTOR, &R_KEYREQUEST, &R_KEYSERVICE, &R_KEYPERIOD,
    &R_KEYRESPONSE, &R_KEYCERTS,   &R_KEYCERT,
};

const char *ob_bundle_field_name(uint16_t tag)
{
    size_t i, j;

    for (i = 0; i < NF(all_records); i++) {
        for (j = 0; j < all_records[i]->n; j++) {
            if (all_records[i]->f[j].tag == tag)
                return all_records[i]->f[j].name;
        }
    }
    return NULL;
}

const char *ob_bundle_kind_name(int kind)
{
    switch (kind) {
    case OB_BUNDLE_REQUEST:
        return "signing request";
    case OB_BUNDLE_RESPONSE:
        return "signed response";
    case OB_BUNDLE_CERT_REQUEST:
        return "key-certification request";
    case OB_BUNDLE_CERT_RESPONSE:
        return "key-certification response";
    default:
        return "unknown";
    }
}

/* ---- value rules shared by the parser and the serializer ---- */

static int is_printable(const uint8_t *p, size_t n, size_t *bad)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e) {
            *bad = i;
            return 0;
        }
    }
    return 1;
}

/* Lower-case RFC 4648 base32, the length of a v2 (16) or v3 (56) address. */
static int is_address(const uint8_t *p, size_t n, size_t *bad)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '2' && p[i] <= '7'))) {
            *bad = i;
            return 0;
        }
    }
    *bad = n;
    return n == 16 || n == 56;
}

static size_t addr_len_for(uint8_t version)
{
    return version == 2 ? 16 : 56;
}

/* ---- the field reader ---- */

typedef struct rd {
    ob_cur c;
    size_t base;  /* absolute offset of c's first byte */
    size_t start; /* absolute offset of the record's own tag, for messages */
    const rdef *def;
    uint32_t last_num;
    int any;
    uint32_t count[16];
    size_t n_ext;
    ob_diag *d;
} rd;

typedef struct fld {
    uint16_t tag;
    const fdef *def; /* NULL: unknown non-critical */
    ob_cur v;
    size_t off;  /* absolute offset of the tag */
    size_t voff; /* absolute offset of the value */
} fld;

static void rd_init(rd *r, const rdef *def, const uint8_t *p, size_t n, size_t base, size_t start,
                    ob_diag *d)
{
    memset(r, 0, sizeof(*r));
    ob_cur_init(&r->c, p, n);
    r->base = base;
    r->start = start;
    r->def = def;
    r->d = d;
}

static const char *fname(const fld *f)
{
    return f->def != NULL ? f->def->name : "unknown field";
}

/*
 * Next field of the record, or *done at its end (after checking that every
 * required field was seen).  Order, duplicates, criticality, value sizes and
 * counts are all checked here, before the record parser sees the value.
 */
static ob_err rd_next(rd *r, fld *f, int *done)
{
    const fdef *def = NULL;
    size_t i, idx = 0, want = 0;
    uint32_t len, num;
    uint16_t tag;

    *done = 0;
    memset(f, 0, sizeof(*f));
    if (ob_cur_is_empty(&r->c)) {
        for (i = 0; i < r->def->n; i++) {
            if ((r->def->f[i].flags & F_REQUIRED) && r->count[i] == 0)
                return ob_fail(r->d, OB_ERR_MALFORMED,
                               "offset %zu: %s record lacks required field 0x%04x (%s)", r->start,
                               r->def->name, r->def->f[i].tag, r->def->f[i].name);
        }
        *done = 1;
        return OB_OK;
    }
    f->off = r->base + r->c.off;
    if (ob_cur_left(&r->c) < 6)
        return ob_fail(r->d, OB_ERR_TRUNCATED,
                       "offset %zu: %s record: truncated field header (%zu bytes left, 6 needed)",
                       f->off, r->def->name, ob_cur_left(&r->c));
    (void)ob_cur_get_u16(&r->c, &tag);
    (void)ob_cur_get_u32(&r->c, &len);
    f->tag = tag;
    num = tag & ~CRIT;
    for (i = 0; i < r->def->n; i++) {
        if ((r->def->f[i].tag & ~CRIT) == num) {
            def = &r->def->f[i];
            idx = i;
            break;
        }
    }
    if (def != NULL && def->tag != tag)
        return ob_fail(r->d, OB_ERR_MALFORMED,
                       "offset %zu: field 0x%04x (%s): critical bit must be %s (tag 0x%04x)",
                       f->off, tag, def->name, (def->tag & CRIT) ? "set" : "clear", def->tag);
    if (def == NULL && (tag & CRIT))
        return ob_fail(r->d, OB_ERR_UNSUPPORTED,
                       "offset %zu: field 0x%04x in %s record: unknown critical field (written by "
                       "a newer version?)",
                       f->off, tag, r->def->name);
    f->def = def;
    if (r->any && num < r->last_num)
        return ob_fail(r->d, OB_ERR_MALFORMED,
                       "offset %zu: field 0x%04x (%s): out of order (after field 0x%04x)", f->off,
                       tag, fname(f), (unsigned)r->last_num);
    if (r->any && num == r->last_num && def != NULL && !(def->flags & F_REPEAT))
        return ob_fail(r->d, OB_ERR_MALFORMED, "offset %zu: field 0x%04x (%s): duplicate field",
                       f->off, tag, def->name);
    if (def == NULL) {
        if (len > OB_BUNDLE_MAX_FIELD)
            return ob_fail(r->d, OB_ERR_RANGE,
                           "offset %zu: field 0x%04x (unknown field): length %u exceeds limit %u",
                           f->off, tag, (unsigned)len, OB_BUNDLE_MAX_FIELD);
        if (++r->n_ext > OB_BUNDLE_MAX_EXT)
            return ob_fail(r->d, OB_ERR_RANGE, "offset %zu: %s record: more than %d unknown fields",
                           f->off, r->def->name, OB_BUNDLE_MAX_EXT);
    } else {
        switch (def->type) {
        case F_U8:
            want = 1;
            break;
        case F_U16:
            want = 2;
            break;
        case F_U32:
            want = 4;
            break;
        case F_U64:
            want = 8;
            break;
        case F_FIX32:
            want = 32;
            break;
        case F_FIX64:
            want = 64;
            break;
        case F_TEXT:
        case F_ADDR:
        case F_BLOB:
            if (len == 0)
                return ob_fail(r->d, OB_ERR_MALFORMED,
                               "offset %zu: field 0x%04x (%s): empty (omit the field instead)",
                               f->off, tag, def->name);
            if (len > ((def->flags & F_REPEAT) ? OB_BUNDLE_MAX_FIELD : def->max))
                return ob_fail(
                    r->d, OB_ERR_RANGE, "offset %zu: field 0x%04x (%s): length %u exceeds limit %u",
                    f->off, tag, def->name, (unsigned)len,
                    (unsigned)((def->flags & F_REPEAT) ? OB_BUNDLE_MAX_FIELD : def->max));
            break;
        case F_RESERVED:
            return ob_fail(r->d, OB_ERR_UNSUPPORTED,
                           "offset %zu: field 0x%04x (%s): reserved, not supported by this version",
                           f->off, tag, def->name);
        default:
            break;
        }
        if (want != 0 && len != want)
            return ob_fail(r->d, OB_ERR_MALFORMED,
                           "offset %zu: field 0x%04x (%s): length %u, expected %zu", f->off, tag,
                           def->name, (unsigned)len, want);
        if ((def->flags & (F_TIME | F_TP)) && len == 8 && ob_cur_left(&r->c) >= 8) {
            uint64_t v = ob_load_u64(ob_cur_ptr(&r->c));
            if ((def->flags & F_TIME) && !ob_time_is_valid(v))
                return ob_fail(r->d, OB_ERR_RANGE,
                               "offset %zu: field 0x%04x (%s): time %llu is beyond year 9999 "
                               "(limit %llu)",
                               f->off, tag, def->name, (unsigned long long)v,
                               (unsigned long long)OB_TIME_MAX);
            if ((def->flags & F_TP) && !ob_tp_is_valid(v))
                return ob_fail(r->d, OB_ERR_RANGE,
                               "offset %zu: field 0x%04x (%s): time period %llu is beyond 2^32 "
                               "(limit %llu)",
                               f->off, tag, def->name, (unsigned long long)v,
                               (unsigned long long)OB_TP_MAX);
        }
        if ((def->flags & F_REPEAT) && r->count[idx] >= def->max)
            return ob_fail(r->d, OB_ERR_RANGE,
                           "offset %zu: field 0x%04x (%s): more than %u occurrences", f->off, tag,
                           def->name, (unsigned)def->max);
        r->count[idx]++;
    }
    if (len > ob_cur_left(&r->c))
        return ob_fail(r->d, OB_ERR_TRUNCATED,
                       "offset %zu: field 0x%04x (%s): length %u exceeds the %zu bytes left in the "
                       "%s record",
                       f->off, tag, fname(f), (unsigned)len, ob_cur_left(&r->c), r->def->name);
    f->voff = r->base + r->c.off;
    (void)ob_cur_sub(&r->c, len, &f->v);
    r->last_num = num;
    r->any = 1;
    return OB_OK;
}

static uint64_t fv_uint(const fld *f)
{
    ob_cur c = f->v;
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    uint8_t v8 = 0;

    /* rd_next already checked the width. */
    switch (f->v.len) {
    case 1:
        (void)ob_cur_get_u8(&c, &v8);
        return v8;
    case 2:
        (void)ob_cur_get_u16(&c, &v16);
        return v16;
    case 4:
        (void)ob_cur_get_u32(&c, &v32);
        return v32;
    default:
        (void)ob_cur_get_u64(&c, &v64);
        return v64;
    }
}

static ob_err fv_text(rd *r, const fld *f, char **out)
{
    const uint8_t *p = ob_cur_ptr(&f->v);
    size_t n = f->v.len, bad = 0;
    char *s;

    if (f->def->type == F_ADDR) {
        if (!is_address(p, n, &bad)) {
            if (bad < n)
                return ob_fail(r->d, OB_ERR_MALFORMED,
                               "offset %zu: field 0x%04x (%s): byte %zu is not a base32 letter "
                               "(onion address without \".onion\")",
                               f->voff + bad, f->tag, f->def->name, bad);
            return ob_fail(r->d, OB_ERR_MALFORMED,
                           "offset %zu: field 0x%04x (%s): %zu characters, expected 16 (v2) or "
                           "56 (v3)",
                           f->voff, f->tag, f->def->name, n);
        }
    } else if (!is_printable(p, n, &bad)) {
        return ob_fail(r->d, OB_ERR_MALFORMED,
                       "offset %zu: field 0x%04x (%s): byte 0x%02x is not printable ASCII",
                       f->voff + bad, f->tag, f->def->name, p[bad]);
    }
    if (*out != NULL)
        return ob_fail(r->d, OB_ERR_INTERNAL, "offset %zu: %s set twice", f->off, f->def->name);
    s = malloc(n + 1);
    if (s == NULL)
        return ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f->off);
    memcpy(s, p, n);
    s[n] = '\0';
    *out = s;
    return OB_OK;
}

static ob_err fv_blob(rd *r, const fld *f, uint8_t **out, size_t *len)
{
    uint8_t *b;

    if (*out != NULL)
        return ob_fail(r->d, OB_ERR_INTERNAL, "offset %zu: %s set twice", f->off, fname(f));
    b = malloc(f->v.len);
    if (b == NULL)
        return ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f->off);
    memcpy(b, ob_cur_ptr(&f->v), f->v.len);
    *out = b;
    *len = f->v.len;
    return OB_OK;
}

static ob_err ext_add(ob_bundle_exts *e, uint16_t tag, const uint8_t *p, size_t n)
{
    ob_bundle_ext *nv;
    uint8_t *val = NULL;

    if (n > 0) {
        val = malloc(n);
        if (val == NULL)
            return OB_ERR_NOMEM;
        memcpy(val, p, n);
    }
    nv = realloc(e->v, (e->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(val);
        return OB_ERR_NOMEM;
    }
    e->v = nv;
    e->v[e->n].tag = tag;
    e->v[e->n].val = val;
    e->v[e->n].len = n;
    e->n++;
    return OB_OK;
}

static ob_err rd_ext(rd *r, const fld *f, ob_bundle_exts *e)
{
    if (ext_add(e, f->tag, ob_cur_ptr(&f->v), f->v.len) != OB_OK)
        return ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f->off);
    return OB_OK;
}

/* Grow a parser-owned array to hold one more element (doubling). */
static ob_err grow(void **arr, size_t n, size_t *cap, size_t elem)
{
    size_t ncap;
    void *np;

    if (n < *cap)
        return OB_OK;
    ncap = *cap == 0 ? 4 : *cap * 2;
    np = realloc(*arr, ncap * elem);
    if (np == NULL)
        return OB_ERR_NOMEM;
    memset((uint8_t *)np + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = np;
    *cap = ncap;
    return OB_OK;
}

static void rd_child(const rd *parent, const fld *f, const rdef *def, rd *child)
{
    rd_init(child, def, ob_cur_ptr(&f->v), f->v.len, f->voff, f->off, parent->d);
}

/* ---- frees ---- */

static void exts_free(ob_bundle_exts *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->v[i].val);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

static void instance_clear(ob_req_instance *in)
{
    free(in->address);
    free(in->name);
    free(in->reason);
    if (in->shared == 0)
        free(in->descriptor); /* else the request's shared table owns it */
    exts_free(&in->ext);
}

static void service_clear(ob_req_service *s)
{
    size_t i;

    free(s->address);
    for (i = 0; i < s->n_periods; i++)
        exts_free(&s->periods[i].ext);
    free(s->periods);
    for (i = 0; i < s->n_instances; i++)
        instance_clear(&s->instances[i]);
    free(s->instances);
    exts_free(&s->ext);
}

ob_request *ob_request_new(void)
{
    return calloc(1, sizeof(ob_request));
}

void ob_request_free(ob_request *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->origin);
    exts_free(&r->consensus.ext);
    for (i = 0; i < r->n_services; i++)
        service_clear(&r->services[i]);
    free(r->services);
    for (i = 0; i < r->n_shared; i++)
        free(r->shared[i].p);
    free(r->shared);
    exts_free(&r->ext);
    free(r);
}

static void rdesc_clear(ob_resp_descriptor *x)
{
    free(x->service);
    free(x->descriptor);
    free(x->compact);
    free(x->revisions);
    exts_free(&x->ext);
}

ob_response *ob_response_new(void)
{
    return calloc(1, sizeof(ob_response));
}

void ob_response_free(ob_response *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->note);
    for (i = 0; i < r->n_descriptors; i++)
        rdesc_clear(&r->descriptors[i]);
    free(r->descriptors);
    exts_free(&r->ext);
    free(r);
}

/* ---- struct checks (parser: ctx names an offset; serializer: a member) ---- */

static ob_err check_text(const char *s, size_t max, const char *ctx, const char *what, ob_diag *d)
{
    size_t n, bad = 0;

    if (s == NULL)
        return OB_OK;
    n = strlen(s);
    if (n > max)
        return ob_fail(d, OB_ERR_RANGE, "%s: %s is %zu bytes, limit %zu", ctx, what, n, max);
    if (!is_printable((const uint8_t *)s, n, &bad))
        return ob_fail(d, OB_ERR_MALFORMED, "%s: %s: byte %zu is not printable ASCII", ctx, what,
                       bad);
    return OB_OK;
}

static ob_err check_addr(const char *s, uint8_t version, const char *ctx, const char *what,
                         ob_diag *d)
{
    size_t n, bad = 0;

    if (s == NULL)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: %s is missing", ctx, what);
    n = strlen(s);
    if (!is_address((const uint8_t *)s, n, &bad) && bad < n)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: %s: character %zu is not a base32 letter", ctx,
                       what, bad);
    if (n != addr_len_for(version))
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: %s has %zu characters; a v%u address has %zu (without \".onion\")", ctx,
                       what, n, (unsigned)version, addr_len_for(version));
    return OB_OK;
}

static ob_err check_blob(const uint8_t *p, size_t n, int required, const char *ctx,
                         const char *what, ob_diag *d)
{
    if (p == NULL || n == 0) {
        if (required)
            return ob_fail(d, OB_ERR_MALFORMED, "%s: %s is missing", ctx, what);
        return OB_OK;
    }
    if (n > OB_BUNDLE_MAX_FIELD)
        return ob_fail(d, OB_ERR_RANGE, "%s: %s is %zu bytes, limit %u", ctx, what, n,
                       OB_BUNDLE_MAX_FIELD);
    return OB_OK;
}

/* The same bounds rd_next applies to F_TIME and F_TP fields. */
static ob_err check_time(uint64_t t, const char *ctx, const char *what, ob_diag *d)
{
    if (!ob_time_is_valid(t))
        return ob_fail(d, OB_ERR_RANGE, "%s: %s %llu is beyond year 9999 (limit %llu)", ctx, what,
                       (unsigned long long)t, (unsigned long long)OB_TIME_MAX);
    return OB_OK;
}

static ob_err check_tp(uint64_t tp, const char *ctx, ob_diag *d)
{
    if (!ob_tp_is_valid(tp))
        return ob_fail(d, OB_ERR_RANGE, "%s: time period %llu is beyond 2^32 (limit %llu)", ctx,
                       (unsigned long long)tp, (unsigned long long)OB_TP_MAX);
    return OB_OK;
}

static ob_err check_version(uint8_t v, const char *ctx, ob_diag *d)
{
    if (v != 2 && v != 3)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: version %u, expected 2 or 3", ctx, (unsigned)v);
    return OB_OK;
}

static ob_err check_consensus(const ob_consensus_facts *c, const char *ctx, ob_diag *d)
{
    ob_err err;

    if ((err = check_time(c->valid_after, ctx, "valid_after", d)) != OB_OK ||
        (err = check_time(c->fresh_until, ctx, "fresh_until", d)) != OB_OK ||
        (err = check_time(c->valid_until, ctx, "valid_until", d)) != OB_OK)
        return err;
    if (!(c->valid_after < c->fresh_until && c->fresh_until <= c->valid_until))
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: valid_after %llu, fresh_until %llu, valid_until %llu are not in order",
                       ctx, (unsigned long long)c->valid_after, (unsigned long long)c->fresh_until,
                       (unsigned long long)c->valid_until);
    if (c->tp_length_min < 1 || c->tp_length_min > OB_HSV3_TP_LENGTH_MAX)
        return ob_fail(d, OB_ERR_RANGE, "%s: time period length %u minutes, expected 1..%d", ctx,
                       (unsigned)c->tp_length_min, OB_HSV3_TP_LENGTH_MAX);
    if (c->tp_offset_min >= c->tp_length_min)
        return ob_fail(d, OB_ERR_RANGE,
                       "%s: rotation offset %u minutes is not less than the period length %u", ctx,
                       (unsigned)c->tp_offset_min, (unsigned)c->tp_length_min);
    return OB_OK;
}

static ob_err check_period(const ob_req_period *p, const char *ctx, ob_diag *d)
{
    ob_err err;

    if ((err = check_tp(p->tp, ctx, d)) != OB_OK ||
        (err = check_time(p->valid_from, ctx, "valid_from", d)) != OB_OK ||
        (err = check_time(p->valid_until, ctx, "valid_until", d)) != OB_OK)
        return err;
    if (p->valid_from >= p->valid_until)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: valid_from %llu is not before valid_until %llu",
                       ctx, (unsigned long long)p->valid_from, (unsigned long long)p->valid_until);
    return OB_OK;
}

static ob_err check_instance(const ob_req_instance *in, uint8_t version, const char *ctx,
                             ob_diag *d)
{
    ob_err err;

    /* A shared descriptor may not be resolved yet (the parser resolves
     * references when the whole request is read). */
    int has = in->descriptor_len != 0 || in->shared != 0;

    if ((err = check_addr(in->address, version, ctx, "address", d)) != OB_OK ||
        (err = check_text(in->name, OB_BUNDLE_MAX_TEXT, ctx, "name", d)) != OB_OK ||
        (err = check_text(in->reason, OB_BUNDLE_MAX_TEXT, ctx, "reason", d)) != OB_OK ||
        (in->shared == 0 && (err = check_blob(in->descriptor, in->descriptor_len, 0, ctx,
                                              "descriptor", d)) != OB_OK) ||
        (err = check_time(in->fetched_at, ctx, "fetched_at", d)) != OB_OK)
        return err;
    if (in->status > OB_INSTANCE_INVALID)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: status %u, expected 0 (ok), 1 (missing) or 2 "
                       "(invalid)",
                       ctx, (unsigned)in->status);
    if (in->status == OB_INSTANCE_OK && !has)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: status ok but no descriptor", ctx);
    if (in->status == OB_INSTANCE_MISSING && has)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: status missing but a descriptor is present", ctx);
    return OB_OK;
}

/* Sorted-index duplicate detection: bundles may hold thousands of entries. */
typedef struct dkey {
    const char *s;
    uint64_t a;
    uint32_t b;
    size_t idx;
} dkey;

static int dkey_cmp(const void *x, const void *y)
{
    const dkey *p = x, *q = y;
    int c = strcmp(p->s, q->s);

    if (c != 0)
        return c;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->idx < q->idx ? -1 : p->idx > q->idx;
}

static int dkey_same(const dkey *p, const dkey *q)
{
    return strcmp(p->s, q->s) == 0 && p->a == q->a && p->b == q->b;
}

/* Sort keys; returns the index (in the original order) of a later duplicate, or SIZE_MAX. */
static size_t dkey_dup(dkey *k, size_t n)
{
    size_t i, found = SIZE_MAX;

    if (n < 2)
        return SIZE_MAX;
    qsort(k, n, sizeof(*k), dkey_cmp);
    for (i = 1; i < n; i++) {
        if (dkey_same(&k[i - 1], &k[i]) && (found == SIZE_MAX || k[i].idx < found))
            found = k[i].idx;
    }
    return found;
}

static ob_err check_service(const ob_req_service *s, const char *ctx, ob_diag *d)
{
    char sub[96];
    dkey *k = NULL;
    size_t i, dup;
    ob_err err;

    if ((err = check_version(s->version, ctx, d)) != OB_OK ||
        (err = check_addr(s->address, s->version, ctx, "address", d)) != OB_OK)
        return err;
    if (s->n_periods > OB_BUNDLE_MAX_PERIODS || s->n_instances > OB_BUNDLE_MAX_INSTANCES)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu periods and %zu instances, limits %d and %d", ctx,
                       s->n_periods, s->n_instances, OB_BUNDLE_MAX_PERIODS,
                       OB_BUNDLE_MAX_INSTANCES);
    for (i = 0; i < s->n_periods; i++) {
        snprintf(sub, sizeof(sub), "%s: period %zu", ctx, i);
        if ((err = check_period(&s->periods[i], sub, d)) != OB_OK)
            return err;
    }
    for (i = 0; i < s->n_instances; i++) {
        snprintf(sub, sizeof(sub), "%s: instance %zu", ctx, i);
        if ((err = check_instance(&s->instances[i], s->version, sub, d)) != OB_OK)
            return err;
    }
    k = calloc(s->n_periods + s->n_instances + 1, sizeof(*k));
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < s->n_periods; i++) {
        k[i].s = "";
        k[i].a = s->periods[i].tp;
        k[i].idx = i;
    }
    dup = dkey_dup(k, s->n_periods);
    if (dup != SIZE_MAX) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: period %zu repeats time period %llu", ctx, dup,
                      (unsigned long long)s->periods[dup].tp);
        goto out;
    }
    for (i = 0; i < s->n_instances; i++) {
        k[i].s = s->instances[i].address;
        k[i].a = 0;
        k[i].idx = i;
    }
    dup = dkey_dup(k, s->n_instances);
    if (dup != SIZE_MAX) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: instance %zu repeats address %s", ctx, dup,
                      s->instances[dup].address);
        goto out;
    }
    err = OB_OK;
out:
    free(k);
    return err;
}

static ob_err check_request(const ob_request *r, const char *ctx, ob_diag *d)
{
    char sub[96];
    dkey *k = NULL;
    size_t i, dup;
    ob_err err;

    if ((err = check_text(r->origin, OB_BUNDLE_MAX_TEXT, ctx, "origin", d)) != OB_OK ||
        (err = check_time(r->created, ctx, "created", d)) != OB_OK)
        return err;
    snprintf(sub, sizeof(sub), "%s: consensus", ctx);
    if ((err = check_consensus(&r->consensus, sub, d)) != OB_OK)
        return err;
    if (r->n_services < 1 || r->n_services > OB_BUNDLE_MAX_SERVICES)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu services, expected 1..%d", ctx, r->n_services,
                       OB_BUNDLE_MAX_SERVICES);
    for (i = 0; i < r->n_services; i++) {
        snprintf(sub, sizeof(sub), "%s: service %zu", ctx, i);
        if ((err = check_service(&r->services[i], sub, d)) != OB_OK)
            return err;
    }
    k = calloc(r->n_services, sizeof(*k));
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < r->n_services; i++) {
        k[i].s = r->services[i].address;
        k[i].idx = i;
    }
    dup = dkey_dup(k, r->n_services);
    err = OB_OK;
    if (dup != SIZE_MAX)
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: service %zu repeats address %s", ctx, dup,
                      r->services[dup].address);
    free(k);
    return err;
}

static ob_err check_rdesc(const ob_resp_descriptor *x, const char *ctx, ob_diag *d)
{
    ob_err err;

    if ((err = check_version(x->version, ctx, d)) != OB_OK ||
        (err = check_addr(x->service, x->version, ctx, "service", d)) != OB_OK ||
        (err = check_blob(x->descriptor, x->descriptor_len, 0, ctx, "descriptor", d)) != OB_OK ||
        (err = check_tp(x->tp, ctx, d)) != OB_OK ||
        (err = check_time(x->valid_from, ctx, "valid_from", d)) != OB_OK ||
        (err = check_time(x->valid_until, ctx, "valid_until", d)) != OB_OK)
        return err;
    /* v2 keeps its publication-time here; v3 a revision counter, not a time. */
    if (x->version == 2 &&
        (err = check_time(x->revision, ctx, "revision (publication time)", d)) != OB_OK)
        return err;
    if (x->compact != NULL && x->compact_len != 0) {
        if (x->version != 3)
            return ob_fail(d, OB_ERR_MALFORMED, "%s: a compact descriptor must be version 3", ctx);
        if ((err = ob_hsv3_compact_check(x->compact, x->compact_len, d)) != OB_OK) {
            ob_diag_prefix(d, "%s: compact descriptor: ", ctx);
            return err;
        }
    } else if (x->descriptor == NULL || x->descriptor_len == 0) {
        return ob_fail(d, OB_ERR_MALFORMED, "%s: descriptor is missing (neither body nor compact)",
                       ctx);
    }
    if (x->revisions != NULL && x->revisions_len != 0) {
        ob_hsv3_revs rv;
        /* Revisions are rebuilt from the compact entry's layout seed. */
        if (x->compact == NULL || x->compact_len == 0)
            return ob_fail(d, OB_ERR_MALFORMED, "%s: revisions without a compact descriptor", ctx);
        if ((err = ob_hsv3_revs_decode(x->revisions, x->revisions_len, x->revision, x->valid_from,
                                       x->valid_until, &rv, d)) != OB_OK) {
            ob_diag_prefix(d, "%s: revisions: ", ctx);
            return err;
        }
    }
    if (x->slot > 1)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: slot %u, expected 0 or 1", ctx, (unsigned)x->slot);
    if (x->group_count < 1 || x->group_count > OB_BUNDLE_MAX_GROUPS || x->group >= x->group_count)
        return ob_fail(d, OB_ERR_RANGE, "%s: group %u of %u, expected group < count <= %d", ctx,
                       (unsigned)x->group, (unsigned)x->group_count, OB_BUNDLE_MAX_GROUPS);
    if (x->valid_from >= x->valid_until)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: valid_from %llu is not before valid_until %llu",
                       ctx, (unsigned long long)x->valid_from, (unsigned long long)x->valid_until);
    return OB_OK;
}

static ob_err check_response(const ob_response *r, const char *ctx, ob_diag *d)
{
    char sub[96];
    dkey *k = NULL;
    size_t i, dup;
    ob_err err;

    if ((err = check_text(r->note, OB_BUNDLE_MAX_TEXT, ctx, "note", d)) != OB_OK ||
        (err = check_time(r->created, ctx, "created", d)) != OB_OK)
        return err;
    if (r->n_descriptors < 1 || r->n_descriptors > OB_BUNDLE_MAX_DESCRIPTORS)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu descriptors, expected 1..%d", ctx,
                       r->n_descriptors, OB_BUNDLE_MAX_DESCRIPTORS);
    for (i = 0; i < r->n_descriptors; i++) {
        snprintf(sub, sizeof(sub), "%s: descriptor %zu", ctx, i);
        if ((err = check_rdesc(&r->descriptors[i], sub, d)) != OB_OK)
            return err;
    }
    k = calloc(r->n_descriptors, sizeof(*k));
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *x = &r->descriptors[i];
        k[i].s = x->service;
        k[i].a = x->tp;
        k[i].b = (uint32_t)x->slot << 16 | x->group;
        k[i].idx = i;
    }
    dup = dkey_dup(k, r->n_descriptors);
    err = OB_OK;
    if (dup != SIZE_MAX) {
        const ob_resp_descriptor *x = &r->descriptors[dup];
        err =
            ob_fail(d, OB_ERR_MALFORMED,
                    "%s: descriptor %zu repeats service %s period %llu slot %u group %u", ctx, dup,
                    x->service, (unsigned long long)x->tp, (unsigned)x->slot, (unsigned)x->group);
        goto out;
    }
    /* Sorted by (service, tp, slot, group): neighbours must agree on the count. */
    for (i = 1; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *x = &r->descriptors[k[i - 1].idx];
        const ob_resp_descriptor *y = &r->descriptors[k[i].idx];
        if (strcmp(x->service, y->service) == 0 && x->tp == y->tp && x->slot == y->slot &&
            x->group_count != y->group_count) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s: descriptors %zu and %zu disagree on the group count of service %s "
                          "period %llu slot %u",
                          ctx, k[i - 1].idx, k[i].idx, x->service, (unsigned long long)x->tp,
                          (unsigned)x->slot);
            goto out;
        }
    }
out:
    free(k);
    return err;
}

/* ---- record parsers ---- */

#define TRY(x)                    \
    do {                          \
        if ((err = (x)) != OB_OK) \
            goto out;             \
    } while (0)

static ob_err parse_consensus(rd *r, ob_consensus_facts *c)
{
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_CON_VALID_AFTER:
            c->valid_after = fv_uint(&f);
            break;
        case T_CON_FRESH_UNTIL:
            c->fresh_until = fv_uint(&f);
            break;
        case T_CON_VALID_UNTIL:
            c->valid_until = fv_uint(&f);
            break;
        case T_CON_TP_LENGTH:
            c->tp_length_min = (uint32_t)fv_uint(&f);
            break;
        case T_CON_TP_OFFSET:
            c->tp_offset_min = (uint32_t)fv_uint(&f);
            break;
        case T_CON_SRV_CURRENT:
            memcpy(c->srv_current, ob_cur_ptr(&f.v), 32);
            c->has_srv_current = 1;
            break;
        case T_CON_SRV_PREVIOUS:
            memcpy(c->srv_previous, ob_cur_ptr(&f.v), 32);
            c->has_srv_previous = 1;
            break;
        default:
            TRY(rd_ext(r, &f, &c->ext));
        }
    }
    snprintf(ctx, sizeof(ctx), "offset %zu: consensus record", r->start);
    err = check_consensus(c, ctx, r->d);
out:
    return err;
}

static ob_err parse_period(rd *r, ob_req_period *p)
{
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_PER_TP:
            p->tp = fv_uint(&f);
            break;
        case T_PER_VALID_FROM:
            p->valid_from = fv_uint(&f);
            break;
        case T_PER_VALID_UNTIL:
            p->valid_until = fv_uint(&f);
            break;
        default:
            TRY(rd_ext(r, &f, &p->ext));
        }
    }
    snprintf(ctx, sizeof(ctx), "offset %zu: period record", r->start);
    err = check_period(p, ctx, r->d);
out:
    return err;
}

/* The instance's address length is checked against the service version later. */
static ob_err parse_instance(rd *r, ob_req_instance *in)
{
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_INS_ADDRESS:
            TRY(fv_text(r, &f, &in->address));
            break;
        case T_INS_NAME:
            TRY(fv_text(r, &f, &in->name));
            break;
        case T_INS_STATUS:
            in->status = (uint8_t)fv_uint(&f);
            break;
        case T_INS_REASON:
            TRY(fv_text(r, &f, &in->reason));
            break;
        case T_INS_FETCHED_AT:
            in->fetched_at = fv_uint(&f);
            break;
        case T_INS_DESCRIPTOR:
            TRY(fv_blob(r, &f, &in->descriptor, &in->descriptor_len));
            break;
        case T_INS_DESCRIPTOR_REF:
            if (in->descriptor != NULL)
                TRY(ob_fail(r->d, OB_ERR_MALFORMED,
                            "offset %zu: field 0x%04x (%s): the instance has its own descriptor "
                            "already",
                            f.off, f.tag, fname(&f)));
            in->shared = (size_t)fv_uint(&f) + 1;
            break;
        default:
            TRY(rd_ext(r, &f, &in->ext));
        }
    }
out:
    return err;
}

static ob_err parse_service(rd *r, ob_req_service *s)
{
    size_t pcap = 0, icap = 0;
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_SVC_ADDRESS:
            TRY(fv_text(r, &f, &s->address));
            break;
        case T_SVC_VERSION:
            s->version = (uint8_t)fv_uint(&f);
            break;
        case T_SVC_PERIOD:
            if (grow((void **)&s->periods, s->n_periods, &pcap, sizeof(*s->periods)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_PERIOD, &child);
            s->n_periods++;
            TRY(parse_period(&child, &s->periods[s->n_periods - 1]));
            break;
        case T_SVC_INSTANCE:
            if (grow((void **)&s->instances, s->n_instances, &icap, sizeof(*s->instances)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_INSTANCE, &child);
            s->n_instances++;
            TRY(parse_instance(&child, &s->instances[s->n_instances - 1]));
            break;
        default:
            TRY(rd_ext(r, &f, &s->ext));
        }
    }
    snprintf(ctx, sizeof(ctx), "offset %zu: service record", r->start);
    err = check_service(s, ctx, r->d);
out:
    return err;
}

/*
 * The sharing of descriptors, one rule for the writer and the reader: a
 * descriptor two or more instances carry is in the request's table, once,
 * in the order of its first use, and every instance carrying it names it;
 * a descriptor only one instance carries is written in that instance.  So
 * one content has one encoding.  *ref_of[k] for the k-th instance of the
 * request (services in order, then instances): its table index or -1;
 * *first[t]: the k of table entry t's first user.
 */
typedef struct share_plan {
    long *ref_of;
    size_t *first;
    size_t n_table;
} share_plan;

static void share_plan_free(share_plan *sp)
{
    free(sp->ref_of);
    free(sp->first);
    memset(sp, 0, sizeof(*sp));
}

static ob_err share_plan_make(const ob_request *r, share_plan *sp, ob_diag *d)
{
    ob_dedup *m = ob_dedup_new();
    size_t n = 0, k, i, j, *count = NULL;
    long *ix = NULL, *map = NULL;
    ob_err err = OB_ERR_NOMEM;

    memset(sp, 0, sizeof(*sp));
    for (i = 0; i < r->n_services; i++)
        n += r->services[i].n_instances;
    ix = malloc((n + 1) * sizeof(*ix));
    sp->ref_of = malloc((n + 1) * sizeof(*sp->ref_of));
    sp->first = malloc((n + 1) * sizeof(*sp->first));
    count = calloc(n + 1, sizeof(*count));
    map = malloc((n + 1) * sizeof(*map));
    if (m == NULL || ix == NULL || sp->ref_of == NULL || sp->first == NULL || count == NULL ||
        map == NULL)
        goto out;
    for (i = 0, k = 0; i < r->n_services; i++) {
        for (j = 0; j < r->services[i].n_instances; j++, k++) {
            const ob_req_instance *in = &r->services[i].instances[j];
            ob_iov key = { in->descriptor, in->descriptor_len };
            int added;
            ix[k] = -1;
            if (in->descriptor == NULL || in->descriptor_len == 0)
                continue;
            if ((ix[k] = ob_dedup_put(m, &key, 1, &added)) < 0)
                goto out;
            count[ix[k]]++;
        }
    }
    for (k = 0; k < ob_dedup_count(m); k++)
        map[k] = -1;
    for (k = 0; k < n; k++) {
        sp->ref_of[k] = -1;
        if (ix[k] < 0 || count[ix[k]] < 2)
            continue;
        if (map[ix[k]] < 0) {
            sp->first[sp->n_table] = k;
            map[ix[k]] = (long)sp->n_table++;
        }
        sp->ref_of[k] = map[ix[k]];
    }
    err = sp->n_table > OB_BUNDLE_MAX_SHARED
              ? ob_fail(d, OB_ERR_RANGE, "request: %zu shared descriptors, limit %d", sp->n_table,
                        OB_BUNDLE_MAX_SHARED)
              : OB_OK;
out:
    if (err == OB_ERR_NOMEM)
        ob_fail(d, err, "request: out of memory sharing descriptors");
    if (err != OB_OK)
        share_plan_free(sp);
    ob_dedup_free(m);
    free(ix);
    free(count);
    free(map);
    return err;
}

/* The k-th instance of r (services in order, then instances). */
static ob_req_instance *nth_instance(ob_request *r, size_t k, size_t *si, size_t *ii)
{
    size_t i;

    for (i = 0; i < r->n_services; i++) {
        if (k < r->services[i].n_instances) {
            *si = i;
            *ii = k;
            return &r->services[i].instances[k];
        }
        k -= r->services[i].n_instances;
    }
    return NULL;
}

/*
 * After parsing: point every reference at its table entry, and refuse a
 * request whose sharing is not the one share_plan_make gives for its
 * content (a reference out of range, an entry used once or never, entries
 * out of order, the same descriptor written twice).  A request without a
 * table is read as it is: it may come from a version that wrote every
 * instance's descriptor in the instance.
 */
static ob_err resolve_shared(ob_request *q, const char *ctx, ob_diag *d)
{
    share_plan sp;
    size_t i, j, k, n_refs = 0, used = 0;
    ob_err err;

    for (i = 0; i < q->n_services; i++) {
        for (j = 0; j < q->services[i].n_instances; j++) {
            ob_req_instance *in = &q->services[i].instances[j];
            if (in->shared == 0)
                continue;
            if (in->shared > q->n_shared)
                return ob_fail(d, OB_ERR_MALFORMED,
                               "%s: service %zu instance %zu: descriptor_ref %zu, the request has "
                               "%zu shared descriptor(s)",
                               ctx, i, j, in->shared - 1, q->n_shared);
            /* Numbered in order of first use: a new one is the next one. */
            if (in->shared - 1 > used)
                return ob_fail(d, OB_ERR_MALFORMED,
                               "%s: service %zu instance %zu: descriptor_ref %zu before %zu was "
                               "used (the table is in order of first use)",
                               ctx, i, j, in->shared - 1, used);
            if (in->shared - 1 == used)
                used++;
            in->descriptor = q->shared[in->shared - 1].p;
            in->descriptor_len = q->shared[in->shared - 1].len;
            n_refs++;
        }
    }
    if (used != q->n_shared)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: shared descriptor %zu is not used by any instance",
                       ctx, used);
    /* No table: written before descriptors were shared, or nothing to share.
     * Read as it is (and written back shared: the writer decides by content). */
    if (q->n_shared == 0)
        return OB_OK;
    /* A table: the content decides, and the plan for it must be exactly this table. */
    if ((err = share_plan_make(q, &sp, d)) != OB_OK)
        return err;
    err = OB_OK;
    for (i = 0, k = 0; i < q->n_services && err == OB_OK; i++) {
        for (j = 0; j < q->services[i].n_instances && err == OB_OK; j++, k++) {
            const ob_req_instance *in = &q->services[i].instances[j];
            long want = sp.ref_of[k], got = in->shared == 0 ? -1 : (long)in->shared - 1;
            if (want == got)
                continue;
            if (got < 0)
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "%s: service %zu instance %zu: its descriptor is also another "
                              "instance's, and must be in the shared table",
                              ctx, i, j);
            else
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "%s: service %zu instance %zu: shared descriptor %ld is used only "
                              "once, or written twice in the table",
                              ctx, i, j, got);
        }
    }
    share_plan_free(&sp);
    (void)n_refs;
    return err;
}

static ob_err parse_request_body(rd *r, ob_request *q)
{
    size_t scap = 0, tcap = 0;
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_REQ_CREATED:
            q->created = fv_uint(&f);
            break;
        case T_REQ_ORIGIN:
            TRY(fv_text(r, &f, &q->origin));
            break;
        case T_REQ_CONSENSUS:
            rd_child(r, &f, &R_CONSENSUS, &child);
            TRY(parse_consensus(&child, &q->consensus));
            break;
        case T_REQ_SERVICE:
            if (grow((void **)&q->services, q->n_services, &scap, sizeof(*q->services)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_SERVICE, &child);
            q->n_services++;
            TRY(parse_service(&child, &q->services[q->n_services - 1]));
            break;
        case T_REQ_SHARED:
            if (grow((void **)&q->shared, q->n_shared, &tcap, sizeof(*q->shared)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            q->n_shared++;
            q->shared[q->n_shared - 1].p = NULL;
            TRY(fv_blob(r, &f, &q->shared[q->n_shared - 1].p, &q->shared[q->n_shared - 1].len));
            break;
        default:
            TRY(rd_ext(r, &f, &q->ext));
        }
    }
    TRY(resolve_shared(q, "offset 16: request", r->d));
    err = check_request(q, "offset 16: request", r->d);
out:
    return err;
}

static ob_err parse_rdesc(rd *r, ob_resp_descriptor *x)
{
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_DSC_SERVICE:
            TRY(fv_text(r, &f, &x->service));
            break;
        case T_DSC_VERSION:
            x->version = (uint8_t)fv_uint(&f);
            break;
        case T_DSC_TP:
            x->tp = fv_uint(&f);
            break;
        case T_DSC_SLOT:
            x->slot = (uint8_t)fv_uint(&f);
            break;
        case T_DSC_GROUP:
            x->group = (uint16_t)fv_uint(&f);
            break;
        case T_DSC_GROUP_COUNT:
            x->group_count = (uint16_t)fv_uint(&f);
            break;
        case T_DSC_VALID_FROM:
            x->valid_from = fv_uint(&f);
            break;
        case T_DSC_VALID_UNTIL:
            x->valid_until = fv_uint(&f);
            break;
        case T_DSC_REVISION:
            x->revision = fv_uint(&f);
            break;
        case T_DSC_BODY:
            TRY(fv_blob(r, &f, &x->descriptor, &x->descriptor_len));
            break;
        case T_DSC_COMPACT:
            TRY(fv_blob(r, &f, &x->compact, &x->compact_len));
            break;
        case T_DSC_REVISIONS:
            TRY(fv_blob(r, &f, &x->revisions, &x->revisions_len));
            break;
        default:
            TRY(rd_ext(r, &f, &x->ext));
        }
    }
    snprintf(ctx, sizeof(ctx), "offset %zu: descriptor record", r->start);
    /* One form on the wire, so a response has one encoding (and one digest). */
    if (x->descriptor_len != 0 && x->compact_len != 0) {
        err = ob_fail(r->d, OB_ERR_MALFORMED, "%s: has both body and compact", ctx);
        goto out;
    }
    err = check_rdesc(x, ctx, r->d);
out:
    return err;
}

static ob_err parse_response_body(rd *r, ob_response *q)
{
    size_t dcap = 0;
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_RSP_REQUEST_DIGEST:
            memcpy(q->request_digest, ob_cur_ptr(&f.v), OB_BUNDLE_DIGEST_LEN);
            break;
        case T_RSP_CREATED:
            q->created = fv_uint(&f);
            break;
        case T_RSP_NOTE:
            TRY(fv_text(r, &f, &q->note));
            break;
        case T_RSP_DESCRIPTOR:
            if (grow((void **)&q->descriptors, q->n_descriptors, &dcap, sizeof(*q->descriptors)) !=
                OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_DESCRIPTOR, &child);
            q->n_descriptors++;
            TRY(parse_rdesc(&child, &q->descriptors[q->n_descriptors - 1]));
            break;
        default:
            TRY(rd_ext(r, &f, &q->ext));
        }
    }
    err = check_response(q, "offset 16: response", r->d);
out:
    return err;
}

/* ---- envelope ---- */

ob_err ob_bundle_peek(const uint8_t *p, size_t n, int *kind, uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                      ob_diag *d)
{
    uint8_t calc[OB_BUNDLE_DIGEST_LEN];
    char want_s[OB_BUNDLE_SHORT_LEN], got_s[OB_BUNDLE_SHORT_LEN];
    uint32_t body_len;
    size_t total;

    *kind = 0;
    if (n == 0 || p == NULL)
        return ob_fail(d, OB_ERR_MALFORMED, "offset 0: not a bundle (the file is empty)");
    if (n > OB_BUNDLE_MAX_SIZE)
        return ob_fail(d, OB_ERR_RANGE, "offset 0: bundle is %zu bytes, limit %u", n,
                       OB_BUNDLE_MAX_SIZE);
    if (n < OB_BUNDLE_MAGIC_LEN || memcmp(p, OB_BUNDLE_MAGIC, OB_BUNDLE_MAGIC_LEN) != 0) {
        /* "OBB" survives most mangling; say so, it tells the person what went wrong. */
        if (n >= 4 && memcmp(p + 1, "OBB", 3) == 0)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "offset 0: bundle magic is damaged (was the file copied in text mode "
                           "or through a 7-bit channel?)");
        if (n < OB_BUNDLE_MAGIC_LEN && memcmp(p, OB_BUNDLE_MAGIC, n) == 0)
            return ob_fail(d, OB_ERR_TRUNCATED,
                           "offset %zu: truncated: %zu bytes, a bundle header is %d", n, n,
                           OB_BUNDLE_HDR_LEN);
        return ob_fail(d, OB_ERR_MALFORMED,
                       "offset 0: not a bundle (magic is not 89 4f 42 42 0d 0a 1a 0a)");
    }
    if (n < OB_BUNDLE_HDR_LEN)
        return ob_fail(d, OB_ERR_TRUNCATED,
                       "offset %zu: truncated: %zu bytes, a bundle header is %d", n, n,
                       OB_BUNDLE_HDR_LEN);
    if (p[8] != OB_BUNDLE_VERSION)
        return ob_fail(d, OB_ERR_UNSUPPORTED,
                       "offset 8: bundle format version %u is not supported (this program reads "
                       "version %d)",
                       (unsigned)p[8], OB_BUNDLE_VERSION);
    if (p[9] < OB_BUNDLE_REQUEST || p[9] > OB_BUNDLE_CERT_RESPONSE)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "offset 9: unknown bundle kind %u", (unsigned)p[9]);
    if (p[10] != 0 || p[11] != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "offset 10: reserved bytes are %02x %02x, must be 0",
                       (unsigned)p[10], (unsigned)p[11]);
    body_len = ob_load_u32(p + 12);
    if (body_len > OB_BUNDLE_MAX_SIZE - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN)
        return ob_fail(d, OB_ERR_RANGE, "offset 12: body length %u exceeds limit %u",
                       (unsigned)body_len,
                       OB_BUNDLE_MAX_SIZE - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN);
    total = (size_t)OB_BUNDLE_HDR_LEN + body_len + OB_BUNDLE_DIGEST_LEN;
    if (n < total)
        return ob_fail(d, OB_ERR_TRUNCATED,
                       "offset %zu: truncated: the header announces %zu bytes, only %zu are "
                       "present",
                       n, total, n);
    if (n > total)
        return ob_fail(d, OB_ERR_MALFORMED, "offset %zu: %zu trailing bytes after the digest",
                       total, n - total);
    if (ob_sha256_buf(calc, p, total - OB_BUNDLE_DIGEST_LEN) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "offset 0: SHA-256 failed");
    if (memcmp(calc, p + total - OB_BUNDLE_DIGEST_LEN, OB_BUNDLE_DIGEST_LEN) != 0) {
        ob_bundle_digest_short(p + total - OB_BUNDLE_DIGEST_LEN, want_s);
        ob_bundle_digest_short(calc, got_s);
        return ob_fail(d, OB_ERR_VERIFY,
                       "offset %zu: digest mismatch (stored %s, computed %s): the bundle is "
                       "damaged or was altered",
                       total - OB_BUNDLE_DIGEST_LEN, want_s, got_s);
    }
    *kind = p[9];
    if (digest != NULL)
        memcpy(digest, calc, OB_BUNDLE_DIGEST_LEN);
    return OB_OK;
}

static ob_err expect_kind(const uint8_t *p, size_t n, int want, uint8_t digest[32], ob_diag *d)
{
    ob_err err;
    int kind = 0;

    if ((err = ob_bundle_peek(p, n, &kind, digest, d)) != OB_OK)
        return err;
    if (kind == want)
        return OB_OK;
    return ob_fail(d, OB_ERR_MALFORMED, "offset 9: kind %d (%s), expected %d (%s)", kind,
                   ob_bundle_kind_name(kind), want, ob_bundle_kind_name(want));
}

ob_err ob_request_parse(const uint8_t *p, size_t n, ob_request **out, ob_diag *d)
{
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_request *q = NULL;
    ob_err err;
    rd r;

    *out = NULL;
    if ((err = expect_kind(p, n, OB_BUNDLE_REQUEST, digest, d)) != OB_OK)
        return err;
    q = ob_request_new();
    if (q == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    rd_init(&r, &R_REQUEST, p + OB_BUNDLE_HDR_LEN, n - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN,
            OB_BUNDLE_HDR_LEN, OB_BUNDLE_HDR_LEN, d);
    if ((err = parse_request_body(&r, q)) != OB_OK) {
        ob_request_free(q);
        return err;
    }
    memcpy(q->digest, digest, sizeof(digest));
    *out = q;
    return OB_OK;
}

ob_err ob_response_parse(const uint8_t *p, size_t n, ob_response **out, ob_diag *d)
{
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_response *q = NULL;
    ob_err err;
    rd r;

    *out = NULL;
    if ((err = expect_kind(p, n, OB_BUNDLE_RESPONSE, digest, d)) != OB_OK)
        return err;
    q = ob_response_new();
    if (q == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    rd_init(&r, &R_RESPONSE, p + OB_BUNDLE_HDR_LEN, n - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN,
            OB_BUNDLE_HDR_LEN, OB_BUNDLE_HDR_LEN, d);
    if ((err = parse_response_body(&r, q)) != OB_OK) {
        ob_response_free(q);
        return err;
    }
    memcpy(q->digest, digest, sizeof(digest));
    *out = q;
    return OB_OK;
}

/* ---- serializer ---- */

static int tag_known(const rdef *def, uint16_t tag)
{
    size_t i;

    for (i = 0; i < def->n; i++) {
        if ((def->f[i].tag & ~CRIT) == (tag & ~CRIT))
            return 1;
    }
    return 0;
}

/* Unknown fields handed back must still obey the rules the parser applies. */
static ob_err check_exts(const ob_bundle_exts *e, const rdef *def, const char *ctx, ob_diag *d)
{
    size_t i;

    if (e->n > OB_BUNDLE_MAX_EXT)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu unknown fields, limit %d", ctx, e->n,
                       OB_BUNDLE_MAX_EXT);
    for (i = 0; i < e->n; i++) {
        uint16_t t = e->v[i].tag;
        if ((t & CRIT) || tag_known(def, t) || e->v[i].len > OB_BUNDLE_MAX_FIELD ||
            (e->v[i].len > 0 && e->v[i].val == NULL) ||
            (i > 0 && (t & ~CRIT) < (e->v[i - 1].tag & ~CRIT)))
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s: unknown field %zu (tag 0x%04x) is critical, known, too long or "
                           "out of order",
                           ctx, i, (unsigned)t);
    }
    return OB_OK;
}

typedef struct wr {
    ob_buf *b;
    const ob_bundle_exts *e;
    size_t ei;
} wr;

/* Emit kept unknown fields that sort before field number num. */
static void w_ext(wr *w, uint32_t num)
{
    while (w->e != NULL && w->ei < w->e->n && (uint32_t)(w->e->v[w->ei].tag & ~CRIT) < num) {
        const ob_bundle_ext *x = &w->e->v[w->ei++];
        ob_buf_put_u16(w->b, x->tag);
        ob_buf_put_u32(w->b, (uint32_t)x->len);
        ob_buf_put(w->b, x->val, x->len);
    }
}

static void w_hdr(wr *w, uint16_t tag, size_t len)
{
    w_ext(w, tag & ~CRIT);
    ob_buf_put_u16(w->b, tag);
    ob_buf_put_u32(w->b, (uint32_t)len);
}

static void w_u8(wr *w, uint16_t tag, uint8_t v)
{
    w_hdr(w, tag, 1);
    ob_buf_put_u8(w->b, v);
}

static void w_u16(wr *w, uint16_t tag, uint16_t v)
{
    w_hdr(w, tag, 2);
    ob_buf_put_u16(w->b, v);
}

static void w_u32(wr *w, uint16_t tag, uint32_t v)
{
    w_hdr(w, tag, 4);
    ob_buf_put_u32(w->b, v);
}

static void w_u64(wr *w, uint16_t tag, uint64_t v)
{
    w_hdr(w, tag, 8);
    ob_buf_put_u64(w->b, v);
}

static void w_bytes(wr *w, uint16_t tag, const void *p, size_t n)
{
    if (p == NULL || n == 0)
        return; /* optional and absent */
    w_hdr(w, tag, n);
    ob_buf_put(w->b, p, n);
}

static void w_text(wr *w, uint16_t tag, const char *s)
{
    if (s != NULL)
        w_bytes(w, tag, s, strlen(s));
}

/* Open a nested record: returns where its length goes. */
static size_t w_open(wr *w, uint16_t tag)
{
    size_t pos;

    w_hdr(w, tag, 0);
    pos = w->b->len - 4;
    return pos;
}

static void w_close(wr *w, size_t pos)
{
    size_t len;

    if (!ob_buf_ok(w->b))
        return;
    len = w->b->len - pos - 4;
    /* The total size is checked afterwards; a wrapped length cannot survive it. */
    ob_store_u32(w->b->p + pos, (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len));
}

static void w_finish(wr *w)
{
    w_ext(w, 0x10000);
}

static void ser_consensus(ob_buf *b, const ob_consensus_facts *c)
{
    wr w = { b, &c->ext, 0 };

    w_u64(&w, T_CON_VALID_AFTER, c->valid_after);
    w_u64(&w, T_CON_FRESH_UNTIL, c->fresh_until);
    w_u64(&w, T_CON_VALID_UNTIL, c->valid_until);
    w_u32(&w, T_CON_TP_LENGTH, c->tp_length_min);
    w_u32(&w, T_CON_TP_OFFSET, c->tp_offset_min);
    if (c->has_srv_current)
        w_bytes(&w, T_CON_SRV_CURRENT, c->srv_current, 32);
    if (c->has_srv_previous)
        w_bytes(&w, T_CON_SRV_PREVIOUS, c->srv_previous, 32);
    w_finish(&w);
}

static void ser_service(ob_buf *b, const ob_req_service *s, const long *ref_of)
{
    wr w = { b, &s->ext, 0 };
    size_t i, pos;

    w_text(&w, T_SVC_ADDRESS, s->address);
    w_u8(&w, T_SVC_VERSION, s->version);
    for (i = 0; i < s->n_periods; i++) {
        const ob_req_period *p = &s->periods[i];
        wr pw = { b, &p->ext, 0 };
        pos = w_open(&w, T_SVC_PERIOD);
        w_u64(&pw, T_PER_TP, p->tp);
        w_u64(&pw, T_PER_VALID_FROM, p->valid_from);
        w_u64(&pw, T_PER_VALID_UNTIL, p->valid_until);
        w_finish(&pw);
        w_close(&w, pos);
    }
    for (i = 0; i < s->n_instances; i++) {
        const ob_req_instance *in = &s->instances[i];
        wr iw = { b, &in->ext, 0 };
        pos = w_open(&w, T_SVC_INSTANCE);
        w_text(&iw, T_INS_ADDRESS, in->address);
        if (in->name != NULL && in->name[0] != '\0')
            w_text(&iw, T_INS_NAME, in->name);
        w_u8(&iw, T_INS_STATUS, in->status);
        if (in->reason != NULL && in->reason[0] != '\0')
            w_text(&iw, T_INS_REASON, in->reason);
        w_u64(&iw, T_INS_FETCHED_AT, in->fetched_at);
        if (ref_of[i] >= 0)
            w_u32(&iw, T_INS_DESCRIPTOR_REF, (uint32_t)ref_of[i]);
        else
            w_bytes(&iw, T_INS_DESCRIPTOR, in->descriptor, in->descriptor_len);
        w_finish(&iw);
        w_close(&w, pos);
    }
    w_finish(&w);
}

static void ser_rdesc(ob_buf *b, const ob_resp_descriptor *x)
{
    wr w = { b, &x->ext, 0 };

    w_text(&w, T_DSC_SERVICE, x->service);
    w_u8(&w, T_DSC_VERSION, x->version);
    w_u64(&w, T_DSC_TP, x->tp);
    w_u8(&w, T_DSC_SLOT, x->slot);
    w_u16(&w, T_DSC_GROUP, x->group);
    w_u16(&w, T_DSC_GROUP_COUNT, x->group_count);
    w_u64(&w, T_DSC_VALID_FROM, x->valid_from);
    w_u64(&w, T_DSC_VALID_UNTIL, x->valid_until);
    w_u64(&w, T_DSC_REVISION, x->revision);
    if (x->compact != NULL && x->compact_len != 0)
        w_bytes(&w, T_DSC_COMPACT, x->compact, x->compact_len);
    else
        w_bytes(&w, T_DSC_BODY, x->descriptor, x->descriptor_len);
    w_bytes(&w, T_DSC_REVISIONS, x->revisions, x->revisions_len);
    w_finish(&w);
}

/* Header, then body via fn, then patch the length and append the digest. */
static ob_err ser_envelope(ob_buf *out, int kind, uint8_t digest[32], ob_diag *d,
                           void (*body)(ob_buf *, const void *), const void *arg)
{
    size_t start = out->len, blen;

    ob_buf_put(out, OB_BUNDLE_MAGIC, OB_BUNDLE_MAGIC_LEN);
    ob_buf_put_u8(out, OB_BUNDLE_VERSION);
    ob_buf_put_u8(out, (uint8_t)kind);
    ob_buf_put_u16(out, 0);
    ob_buf_put_u32(out, 0);
    body(out, arg);
    if (!ob_buf_ok(out)) {
        out->len = start;
        return ob_fail(d, OB_ERR_NOMEM, "out of memory while writing the bundle");
    }
    blen = out->len - start - OB_BUNDLE_HDR_LEN;
    if (blen > OB_BUNDLE_MAX_SIZE - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN) {
        ob_wipe(out->p + start, out->len - start);
        out->len = start;
        return ob_fail(d, OB_ERR_RANGE, "bundle body would be %zu bytes, limit %u", blen,
                       OB_BUNDLE_MAX_SIZE - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN);
    }
    ob_store_u32(out->p + start + 12, (uint32_t)blen);
    if (ob_sha256_buf(digest, out->p + start, out->len - start) != 0) {
        out->len = start;
        return ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
    }
    ob_buf_put(out, digest, OB_BUNDLE_DIGEST_LEN);
    if (!ob_buf_ok(out)) {
        out->len = start;
        return ob_fail(d, OB_ERR_NOMEM, "out of memory while writing the bundle");
    }
    return OB_OK;
}

typedef struct req_writer {
    ob_request *r;
    const share_plan *sp;
} req_writer;

static void ser_request_body(ob_buf *b, const void *arg)
{
    const req_writer *x = arg;
    ob_request *r = x->r;
    wr w = { b, &r->ext, 0 };
    size_t i, k, pos, si, ii;

    w_u64(&w, T_REQ_CREATED, r->created);
    if (r->origin != NULL && r->origin[0] != '\0')
        w_text(&w, T_REQ_ORIGIN, r->origin);
    pos = w_open(&w, T_REQ_CONSENSUS);
    ser_consensus(b, &r->consensus);
    w_close(&w, pos);
    for (i = 0, k = 0; i < r->n_services; i++) {
        pos = w_open(&w, T_REQ_SERVICE);
        ser_service(b, &r->services[i], x->sp->ref_of + k);
        w_close(&w, pos);
        k += r->services[i].n_instances;
    }
    for (i = 0; i < x->sp->n_table; i++) {
        const ob_req_instance *in = nth_instance(r, x->sp->first[i], &si, &ii);
        w_bytes(&w, T_REQ_SHARED, in->descriptor, in->descriptor_len);
    }
    w_finish(&w);
}

static void ser_response_body(ob_buf *b, const void *arg)
{
    const ob_response *r = arg;
    wr w = { b, &r->ext, 0 };
    size_t i, pos;

    w_bytes(&w, T_RSP_REQUEST_DIGEST, r->request_digest, OB_BUNDLE_DIGEST_LEN);
    w_u64(&w, T_RSP_CREATED, r->created);
    if (r->note != NULL && r->note[0] != '\0')
        w_text(&w, T_RSP_NOTE, r->note);
    for (i = 0; i < r->n_descriptors; i++) {
        pos = w_open(&w, T_RSP_DESCRIPTOR);
        ser_rdesc(b, &r->descriptors[i]);
        w_close(&w, pos);
    }
    w_finish(&w);
}

ob_err ob_request_serialize(ob_request *r, ob_buf *out, ob_diag *d)
{
    char ctx[96];
    size_t i, j;
    ob_err err;

    if ((err = check_request(r, "request", d)) != OB_OK)
        return err;
    if ((err = check_exts(&r->ext, &R_REQUEST, "request", d)) != OB_OK ||
        (err = check_exts(&r->consensus.ext, &R_CONSENSUS, "request: consensus", d)) != OB_OK)
        return err;
    for (i = 0; i < r->n_services; i++) {
        const ob_req_service *s = &r->services[i];
        snprintf(ctx, sizeof(ctx), "request: service %zu", i);
        if ((err = check_exts(&s->ext, &R_SERVICE, ctx, d)) != OB_OK)
            return err;
        for (j = 0; j < s->n_periods; j++) {
            snprintf(ctx, sizeof(ctx), "request: service %zu: period %zu", i, j);
            if ((err = check_exts(&s->periods[j].ext, &R_PERIOD, ctx, d)) != OB_OK)
                return err;
        }
        for (j = 0; j < s->n_instances; j++) {
            snprintf(ctx, sizeof(ctx), "request: service %zu: instance %zu", i, j);
            if ((err = check_exts(&s->instances[j].ext, &R_INSTANCE, ctx, d)) != OB_OK)
                return err;
        }
    }
    {
        share_plan sp;
        req_writer x = { r, &sp };
        if ((err = share_plan_make(r, &sp, d)) != OB_OK)
            return err;
        err = ser_envelope(out, OB_BUNDLE_REQUEST, r->digest, d, ser_request_body, &x);
        share_plan_free(&sp);
        return err;
    }
}

ob_err ob_response_serialize(ob_response *r, ob_buf *out, ob_diag *d)
{
    char ctx[96];
    size_t i;
    ob_err err;

    if ((err = check_response(r, "response", d)) != OB_OK ||
        (err = check_exts(&r->ext, &R_RESPONSE, "response", d)) != OB_OK)
        return err;
    for (i = 0; i < r->n_descriptors; i++) {
        snprintf(ctx, sizeof(ctx), "response: descriptor %zu", i);
        if ((err = check_exts(&r->descriptors[i].ext, &R_DESCRIPTOR, ctx, d)) != OB_OK)
            return err;
    }
    return ser_envelope(out, OB_BUNDLE_RESPONSE, r->digest, d, ser_response_body, r);
}

/* ---- builders ---- */

static ob_err dup_text(char **dst, const char *s)
{
    char *c = NULL;

    if (s != NULL && s[0] != '\0') {
        c = strdup(s);
        if (c == NULL)
            return OB_ERR_NOMEM;
    }
    free(*dst);
    *dst = c;
    return OB_OK;
}

static ob_err dup_blob(uint8_t **dst, size_t *dlen, const uint8_t *p, size_t n)
{
    uint8_t *c = NULL;

    if (p != NULL && n > 0) {
        c = malloc(n);
        if (c == NULL)
            return OB_ERR_NOMEM;
        memcpy(c, p, n);
    }
    free(*dst);
    *dst = c;
    *dlen = c != NULL ? n : 0;
    return OB_OK;
}

/*
 * Informational text (origin, name, reason, note) often comes from tor or a
 * config file: make it fit the rules rather than fail the whole bundle.
 */
static ob_err dup_info_text(char **dst, const char *s)
{
    char *c = NULL;
    size_t i, n;

    if (s != NULL && s[0] != '\0') {
        n = strnlen(s, OB_BUNDLE_MAX_TEXT);
        c = malloc(n + 1);
        if (c == NULL)
            return OB_ERR_NOMEM;
        for (i = 0; i < n; i++)
            c[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
        c[n] = '\0';
    }
    free(*dst);
    *dst = c;
    return OB_OK;
}

ob_err ob_bundle_set_text(char **field, const char *text)
{
    return dup_info_text(field, text);
}

ob_err ob_request_add_service(ob_request *r, const char *address, uint8_t version,
                              ob_req_service **out)
{
    ob_req_service *nv, *s;

    if (out != NULL)
        *out = NULL;
    nv = realloc(r->services, (r->n_services + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    r->services = nv;
    s = &nv[r->n_services];
    memset(s, 0, sizeof(*s));
    if (dup_text(&s->address, address) != OB_OK)
        return OB_ERR_NOMEM;
    s->version = version;
    r->n_services++;
    if (out != NULL)
        *out = s;
    return OB_OK;
}

ob_err ob_req_service_add_period(ob_req_service *s, uint64_t tp, uint64_t valid_from,
                                 uint64_t valid_until)
{
    ob_req_period *nv;

    nv = realloc(s->periods, (s->n_periods + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    s->periods = nv;
    memset(&nv[s->n_periods], 0, sizeof(*nv));
    nv[s->n_periods].tp = tp;
    nv[s->n_periods].valid_from = valid_from;
    nv[s->n_periods].valid_until = valid_until;
    s->n_periods++;
    return OB_OK;
}

ob_err ob_req_service_add_instance(ob_req_service *s, const char *address, const char *name,
                                   uint8_t status, const char *reason, uint64_t fetched_at,
                                   const uint8_t *descriptor, size_t descriptor_len)
{
    ob_req_instance *nv, in;

    memset(&in, 0, sizeof(in));
    if (dup_text(&in.address, address) != OB_OK || dup_info_text(&in.name, name) != OB_OK ||
        dup_info_text(&in.reason, reason) != OB_OK ||
        dup_blob(&in.descriptor, &in.descriptor_len, descriptor, descriptor_len) != OB_OK)
        goto fail;
    in.status = status;
    in.fetched_at = fetched_at;
    nv = realloc(s->instances, (s->n_instances + 1) * sizeof(*nv));
    if (nv == NULL)
        goto fail;
    s->instances = nv;
    nv[s->n_instances++] = in;
    return OB_OK;
fail:
    instance_clear(&in);
    return OB_ERR_NOMEM;
}

ob_err ob_request_share_descriptors(ob_request *r, ob_diag *d)
{
    share_plan sp;
    ob_req_blob *t = NULL;
    size_t i, j, k, si, ii;
    ob_err err;

    if (r->n_shared != 0)
        return OB_OK; /* parsed, or shared already: one copy each */
    if ((err = share_plan_make(r, &sp, d)) != OB_OK)
        return err;
    if (sp.n_table > 0 && (t = calloc(sp.n_table, sizeof(*t))) == NULL) {
        share_plan_free(&sp);
        return ob_fail(d, OB_ERR_NOMEM, "request: out of memory sharing descriptors");
    }
    /* Each entry takes its first user's buffer; the other users' copies go. */
    for (k = 0; k < sp.n_table; k++) {
        ob_req_instance *in = nth_instance(r, sp.first[k], &si, &ii);
        t[k].p = in->descriptor;
        t[k].len = in->descriptor_len;
    }
    for (i = 0, k = 0; i < r->n_services; i++) {
        for (j = 0; j < r->services[i].n_instances; j++, k++) {
            ob_req_instance *in = &r->services[i].instances[j];
            if (sp.ref_of[k] < 0)
                continue;
            if (in->descriptor != t[sp.ref_of[k]].p)
                free(in->descriptor);
            in->descriptor = t[sp.ref_of[k]].p;
            in->shared = (size_t)sp.ref_of[k] + 1;
        }
    }
    r->shared = t;
    r->n_shared = sp.n_table;
    share_plan_free(&sp);
    return OB_OK;
}

ob_err ob_response_add_descriptor(ob_response *r, const ob_resp_descriptor *tmpl)
{
    ob_resp_descriptor *nv, x;

    if (tmpl->ext.n != 0)
        return OB_ERR_INTERNAL;
    x = *tmpl;
    x.service = NULL;
    x.descriptor = NULL;
    x.descriptor_len = 0;
    x.compact = NULL;
    x.compact_len = 0;
    x.revisions = NULL;
    x.revisions_len = 0;
    if (dup_text(&x.service, tmpl->service) != OB_OK ||
        dup_blob(&x.descriptor, &x.descriptor_len, tmpl->descriptor, tmpl->descriptor_len) !=
            OB_OK ||
        dup_blob(&x.compact, &x.compact_len, tmpl->compact, tmpl->compact_len) != OB_OK ||
        dup_blob(&x.revisions, &x.revisions_len, tmpl->revisions, tmpl->revisions_len) != OB_OK)
        goto fail;
    nv = realloc(r->descriptors, (r->n_descriptors + 1) * sizeof(*nv));
    if (nv == NULL)
        goto fail;
    r->descriptors = nv;
    nv[r->n_descriptors++] = x;
    return OB_OK;
fail:
    rdesc_clear(&x);
    return OB_ERR_NOMEM;
}

/* ---- files and digests ---- */

ob_err ob_bundle_read_file(const char *path, uint8_t **out, size_t *len, ob_diag *d)
{
    return ob_file_read(path, OB_BUNDLE_MAX_SIZE, out, len, d);
}

ob_err ob_bundle_write_file(const char *path, const uint8_t *p, size_t n, int flags, ob_diag *d)
{
    return ob_file_write_atomic(path, p, n, 0644, flags, d);
}

ob_err ob_request_read_file(const char *path, ob_request **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_err err;

    *out = NULL;
    if ((err = ob_bundle_read_file(path, &p, &n, d)) != OB_OK)
        return err;
    if ((err = ob_request_parse(p, n, out, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    free(p);
    return err;
}

ob_err ob_response_read_file(const char *path, ob_response **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_err err;

    *out = NULL;
    if ((err = ob_bundle_read_file(path, &p, &n, d)) != OB_OK)
        return err;
    if ((err = ob_response_parse(p, n, out, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    free(p);
    return err;
}

ob_err ob_request_write_file(const char *path, ob_request *r, int flags, ob_diag *d)
{
    ob_buf b;
    ob_err err;

    ob_buf_init(&b);
    if ((err = ob_request_serialize(r, &b, d)) == OB_OK)
        err = ob_bundle_write_file(path, b.p, b.len, flags, d);
    else
        ob_diag_prefix(d, "%s: ", path);
    ob_buf_free(&b);
    return err;
}

ob_err ob_response_write_file(const char *path, ob_response *r, int flags, ob_diag *d)
{
    ob_buf b;
    ob_err err;

    ob_buf_init(&b);
    if ((err = ob_response_serialize(r, &b, d)) == OB_OK)
        err = ob_bundle_write_file(path, b.p, b.len, flags, d);
    else
        ob_diag_prefix(d, "%s: ", path);
    ob_buf_free(&b);
    return err;
}

void ob_bundle_digest_hex(const uint8_t digest[OB_BUNDLE_DIGEST_LEN], char out[OB_BUNDLE_HEX_LEN])
{
    ob_hex_encode(out, digest, OB_BUNDLE_DIGEST_LEN);
}

void ob_bundle_digest_short(const uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                            char out[OB_BUNDLE_SHORT_LEN])
{
    ob_hex_encode(out, digest, 4);
    out[8] = ' ';
    ob_hex_encode(out + 9, digest + 4, 4);
}

/* ---- kinds 3 and 4: key certification (docs/bundle-format.rst) ---- */

static void keyrequest_clear_service(ob_keyreq_service *s)
{
    size_t i;

    free(s->address);
    for (i = 0; i < s->n_periods; i++)
        exts_free(&s->periods[i].ext);
    free(s->periods);
    exts_free(&s->ext);
}

ob_keyrequest *ob_keyrequest_new(void)
{
    return calloc(1, sizeof(ob_keyrequest));
}

void ob_keyrequest_free(ob_keyrequest *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->origin);
    for (i = 0; i < r->n_services; i++)
        keyrequest_clear_service(&r->services[i]);
    free(r->services);
    exts_free(&r->ext);
    free(r);
}

static void keyresponse_clear_service(ob_keyresp_service *s)
{
    size_t i;

    free(s->address);
    for (i = 0; i < s->n_certs; i++)
        exts_free(&s->certs[i].ext);
    free(s->certs);
    exts_free(&s->ext);
}

ob_keyresponse *ob_keyresponse_new(void)
{
    return calloc(1, sizeof(ob_keyresponse));
}

void ob_keyresponse_free(ob_keyresponse *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->note);
    for (i = 0; i < r->n_services; i++)
        keyresponse_clear_service(&r->services[i]);
    free(r->services);
    exts_free(&r->ext);
    free(r);
}

/* The period parameters both kinds carry; the same rule as the consensus record's. */
static ob_err check_tp_params(uint32_t length, uint32_t offset, const char *ctx, ob_diag *d)
{
    if (length < 1 || length > 525600)
        return ob_fail(d, OB_ERR_RANGE, "%s: time period length %u minutes, expected 1..525600",
                       ctx, (unsigned)length);
    if (offset >= length)
        return ob_fail(d, OB_ERR_RANGE,
                       "%s: rotation offset %u minutes is not less than the period length %u", ctx,
                       (unsigned)offset, (unsigned)length);
    return OB_OK;
}

/* A period number whose start and end (and the day after) are dates, not wrapped numbers. */
static ob_err check_key_tp(uint64_t tp, const ob_tp_params *tpp, const char *ctx, ob_diag *d)
{
    uint64_t end;

    /* ob_hsv3_tp_start refuses a start past OB_TIME_MAX (= OB_BUNDLE_MAX_TIME). */
    if (tp >= OB_BUNDLE_MAX_TP || ob_hsv3_tp_start(tp + 1, tpp, &end) != 0)
        return ob_fail(d, OB_ERR_RANGE,
                       "%s: time period %llu is out of range (a period number below 2^32 whose "
                       "end is before the year 10000)",
                       ctx, (unsigned long long)tp);
    return OB_OK;
}

static ob_err check_keyperiod(const ob_keyreq_period *p, const ob_tp_params *tpp, const char *ctx,
                              ob_diag *d)
{
    uint64_t from, until;
    ob_err err;

    if ((err = check_key_tp(p->tp, tpp, ctx, d)) != OB_OK)
        return err;
    if (ob_hsv3_tp_start(p->tp, tpp, &from) != 0 || ob_hsv3_tp_start(p->tp + 1, tpp, &until) != 0)
        return ob_fail(d, OB_ERR_INTERNAL, "%s: period %llu out of range", ctx,
                       (unsigned long long)p->tp);
    if (p->valid_from != from || p->valid_until != until)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: period %llu runs from %llu to %llu with this length and offset, not "
                       "%llu to %llu",
                       ctx, (unsigned long long)p->tp, (unsigned long long)from,
                       (unsigned long long)until, (unsigned long long)p->valid_from,
                       (unsigned long long)p->valid_until);
    return OB_OK;
}

static int key32_cmp(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

/* Service addresses of either kind are unique (sorted-index check). */
static ob_err check_unique_addresses(const char *const *addr, size_t n, const char *ctx, ob_diag *d)
{
    dkey *k = calloc(n + 1, sizeof(*k));
    size_t i, dup;

    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < n; i++) {
        k[i].s = addr[i];
        k[i].idx = i;
    }
    dup = dkey_dup(k, n);
    free(k);
    if (dup != SIZE_MAX)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: service %zu repeats address %s", ctx, dup,
                       addr[dup]);
    return OB_OK;
}

static ob_err check_keyrequest(const ob_keyrequest *r, const char *ctx, ob_diag *d)
{
    ob_tp_params tpp;
    const char **addr = NULL;
    const uint8_t **keys = NULL;
    size_t i, j, nk = 0;
    char sub[128];
    ob_err err;

    if ((err = check_text(r->origin, OB_BUNDLE_MAX_TEXT, ctx, "origin", d)) != OB_OK ||
        (err = check_time(r->created, ctx, "created", d)) != OB_OK ||
        (err = check_tp_params(r->tp_length_min, r->tp_offset_min, ctx, d)) != OB_OK)
        return err;
    if (r->n_services < 1 || r->n_services > OB_BUNDLE_MAX_SERVICES)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu services, expected 1..%d", ctx, r->n_services,
                       OB_BUNDLE_MAX_SERVICES);
    tpp.length_min = r->tp_length_min;
    tpp.offset_min = r->tp_offset_min;
    addr = calloc(r->n_services, sizeof(*addr));
    if (addr == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyreq_service *s = &r->services[i];
        snprintf(sub, sizeof(sub), "%s: service %zu", ctx, i);
        if ((err = check_addr(s->address, 3, sub, "address", d)) != OB_OK)
            goto out;
        addr[i] = s->address;
        if (s->n_periods < 1 || s->n_periods > OB_BUNDLE_MAX_KEY_PERIODS) {
            err = ob_fail(d, OB_ERR_RANGE, "%s: %zu periods, expected 1..%d", sub, s->n_periods,
                          OB_BUNDLE_MAX_KEY_PERIODS);
            goto out;
        }
        for (j = 0; j < s->n_periods; j++) {
            snprintf(sub, sizeof(sub), "%s: service %zu: period %zu", ctx, i, j);
            if ((err = check_keyperiod(&s->periods[j], &tpp, sub, d)) != OB_OK)
                goto out;
            if (j > 0 && s->periods[j].tp <= s->periods[j - 1].tp) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "%s: time period %llu does not follow %llu (periods are listed in "
                              "increasing order, each once)",
                              sub, (unsigned long long)s->periods[j].tp,
                              (unsigned long long)s->periods[j - 1].tp);
                goto out;
            }
        }
        nk += s->n_periods;
    }
    if ((err = check_unique_addresses(addr, r->n_services, ctx, d)) != OB_OK)
        goto out;
    /* One key, one certificate: a key asked for twice would be certified for two periods. */
    keys = calloc(nk + 1, sizeof(*keys));
    if (keys == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
        goto out;
    }
    for (i = 0, nk = 0; i < r->n_services; i++)
        for (j = 0; j < r->services[i].n_periods; j++)
            keys[nk++] = r->services[i].periods[j].signing_key;
    qsort(keys, nk, sizeof(*keys), key32_cmp);
    for (i = 1; i < nk; i++) {
        if (memcmp(keys[i - 1], keys[i], 32) == 0) {
            err = ob_fail(d, OB_ERR_MALFORMED, "%s: a signing key is listed for two periods", ctx);
            goto out;
        }
    }
    err = OB_OK;
out:
    free(keys);
    free(addr);
    return err;
}

static ob_err check_keycert(const ob_keycert *c, const ob_tp_params *tpp, const char *ctx,
                            ob_diag *d)
{
    ob_err err;

    if ((err = check_key_tp(c->tp, tpp, ctx, d)) != OB_OK)
        return err;
    if (c->expires % 3600 != 0 || c->expires > OB_BUNDLE_MAX_TIME)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: expires %llu is not a whole hour before the year 10000 (a "
                       "certificate's expiry is in hours)",
                       ctx, (unsigned long long)c->expires);
    return OB_OK;
}

ob_err ob_keycert_cert(const ob_keycert *c, const char *address, uint32_t tp_length_min,
                       uint8_t out[OB_CERT_LEN], ob_diag *d)
{
    uint8_t A[32], Ab[32];
    ob_err err;

    if ((err = ob_onion_v3_decode(A, address, strlen(address), d)) != OB_OK)
        return err;
    if (ob_hsv3_blind_public(Ab, A, c->tp, tp_length_min) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "%s.onion period %llu: public blinding failed", address,
                       (unsigned long long)c->tp);
    ob_ed_cert_assemble(out, OB_CERT_DESC_SIGNING, c->signing_key, (uint32_t)(c->expires / 3600),
                        Ab, c->signature);
    return OB_OK;
}

static ob_err check_keyresponse(const ob_keyresponse *r, const char *ctx, ob_diag *d)
{
    ob_tp_params tpp;
    const char **addr = NULL;
    size_t i, j;
    char sub[128];
    ob_err err;

    if ((err = check_text(r->note, OB_BUNDLE_MAX_TEXT, ctx, "note", d)) != OB_OK ||
        (err = check_time(r->created, ctx, "created", d)) != OB_OK ||
        (err = check_tp_params(r->tp_length_min, r->tp_offset_min, ctx, d)) != OB_OK)
        return err;
    if (r->n_services < 1 || r->n_services > OB_BUNDLE_MAX_SERVICES)
        return ob_fail(d, OB_ERR_RANGE, "%s: %zu services, expected 1..%d", ctx, r->n_services,
                       OB_BUNDLE_MAX_SERVICES);
    tpp.length_min = r->tp_length_min;
    tpp.offset_min = r->tp_offset_min;
    addr = calloc(r->n_services, sizeof(*addr));
    if (addr == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", ctx);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyresp_service *s = &r->services[i];
        snprintf(sub, sizeof(sub), "%s: service %zu", ctx, i);
        if ((err = check_addr(s->address, 3, sub, "address", d)) != OB_OK)
            goto out;
        addr[i] = s->address;
        if (s->n_certs < 1 || s->n_certs > OB_BUNDLE_MAX_KEY_PERIODS) {
            err = ob_fail(d, OB_ERR_RANGE, "%s: %zu certificates, expected 1..%d", sub, s->n_certs,
                          OB_BUNDLE_MAX_KEY_PERIODS);
            goto out;
        }
        for (j = 0; j < s->n_certs; j++) {
            snprintf(sub, sizeof(sub), "%s: service %zu: cert %zu", ctx, i, j);
            if ((err = check_keycert(&s->certs[j], &tpp, sub, d)) != OB_OK)
                goto out;
            if (j > 0 && s->certs[j].tp <= s->certs[j - 1].tp) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "%s: time period %llu does not follow %llu (periods are listed in "
                              "increasing order, each once)",
                              sub, (unsigned long long)s->certs[j].tp,
                              (unsigned long long)s->certs[j - 1].tp);
                goto out;
            }
        }
    }
    err = check_unique_addresses(addr, r->n_services, ctx, d);
out:
    free(addr);
    return err;
}

static ob_err parse_keyperiod(rd *r, ob_keyreq_period *p)
{
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KPR_TP:
            p->tp = fv_uint(&f);
            break;
        case T_KPR_VALID_FROM:
            p->valid_from = fv_uint(&f);
            break;
        case T_KPR_VALID_UNTIL:
            p->valid_until = fv_uint(&f);
            break;
        case T_KPR_SIGNING_KEY:
            memcpy(p->signing_key, ob_cur_ptr(&f.v), 32);
            break;
        default:
            TRY(rd_ext(r, &f, &p->ext));
        }
    }
out:
    return err;
}

static ob_err parse_keyservice(rd *r, ob_keyreq_service *s, const ob_tp_params *tpp)
{
    size_t cap = 0;
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KSV_ADDRESS:
            TRY(fv_text(r, &f, &s->address));
            break;
        case T_KSV_PERIOD:
            if (grow((void **)&s->periods, s->n_periods, &cap, sizeof(*s->periods)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_KEYPERIOD, &child);
            s->n_periods++;
            TRY(parse_keyperiod(&child, &s->periods[s->n_periods - 1]));
            snprintf(ctx, sizeof(ctx), "offset %zu: keyperiod record", f.off);
            TRY(check_keyperiod(&s->periods[s->n_periods - 1], tpp, ctx, r->d));
            break;
        default:
            TRY(rd_ext(r, &f, &s->ext));
        }
    }
out:
    return err;
}

static ob_err parse_keyrequest_body(rd *r, ob_keyrequest *q)
{
    size_t cap = 0;
    ob_tp_params tpp = { 0, 0 };
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KRQ_CREATED:
            q->created = fv_uint(&f);
            break;
        case T_KRQ_ORIGIN:
            TRY(fv_text(r, &f, &q->origin));
            break;
        case T_KRQ_TP_LENGTH:
            q->tp_length_min = (uint32_t)fv_uint(&f);
            break;
        case T_KRQ_TP_OFFSET:
            q->tp_offset_min = (uint32_t)fv_uint(&f);
            /* Length and offset come first: the periods are checked against them. */
            TRY(check_tp_params(q->tp_length_min, q->tp_offset_min, "offset 16: keyrequest", r->d));
            tpp.length_min = q->tp_length_min;
            tpp.offset_min = q->tp_offset_min;
            break;
        case T_KRQ_SERVICE:
            if (tpp.length_min == 0)
                TRY(ob_fail(r->d, OB_ERR_MALFORMED,
                            "offset %zu: keyrequest record: a service before tp_length_min and "
                            "tp_offset_min (both required)",
                            f.off));
            if (grow((void **)&q->services, q->n_services, &cap, sizeof(*q->services)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_KEYSERVICE, &child);
            q->n_services++;
            TRY(parse_keyservice(&child, &q->services[q->n_services - 1], &tpp));
            break;
        default:
            TRY(rd_ext(r, &f, &q->ext));
        }
    }
    err = check_keyrequest(q, "offset 16: keyrequest", r->d);
out:
    return err;
}

static ob_err parse_keycert(rd *r, ob_keycert *c)
{
    ob_err err = OB_OK;
    int done = 0;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KCR_TP:
            c->tp = fv_uint(&f);
            break;
        case T_KCR_SIGNING_KEY:
            memcpy(c->signing_key, ob_cur_ptr(&f.v), 32);
            break;
        case T_KCR_EXPIRES:
            c->expires = fv_uint(&f);
            break;
        case T_KCR_SIGNATURE:
            memcpy(c->signature, ob_cur_ptr(&f.v), 64);
            break;
        case T_KCR_REV_KEY:
            memcpy(c->rev_key, ob_cur_ptr(&f.v), 32);
            break;
        default:
            TRY(rd_ext(r, &f, &c->ext));
        }
    }
out:
    return err;
}

static ob_err parse_keycerts(rd *r, ob_keyresp_service *s, const ob_tp_params *tpp)
{
    size_t cap = 0;
    char ctx[96];
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KCS_ADDRESS:
            TRY(fv_text(r, &f, &s->address));
            break;
        case T_KCS_CERT:
            if (grow((void **)&s->certs, s->n_certs, &cap, sizeof(*s->certs)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_KEYCERT, &child);
            s->n_certs++;
            TRY(parse_keycert(&child, &s->certs[s->n_certs - 1]));
            snprintf(ctx, sizeof(ctx), "offset %zu: keycert record", f.off);
            TRY(check_keycert(&s->certs[s->n_certs - 1], tpp, ctx, r->d));
            break;
        default:
            TRY(rd_ext(r, &f, &s->ext));
        }
    }
out:
    return err;
}

static ob_err parse_keyresponse_body(rd *r, ob_keyresponse *q)
{
    size_t cap = 0;
    ob_tp_params tpp = { 0, 0 };
    ob_err err = OB_OK;
    int done = 0;
    rd child;
    fld f;

    for (;;) {
        TRY(rd_next(r, &f, &done));
        if (done)
            break;
        switch (f.tag) {
        case T_KRS_REQUEST_DIGEST:
            memcpy(q->request_digest, ob_cur_ptr(&f.v), OB_BUNDLE_DIGEST_LEN);
            break;
        case T_KRS_CREATED:
            q->created = fv_uint(&f);
            break;
        case T_KRS_NOTE:
            TRY(fv_text(r, &f, &q->note));
            break;
        case T_KRS_TP_LENGTH:
            q->tp_length_min = (uint32_t)fv_uint(&f);
            break;
        case T_KRS_TP_OFFSET:
            q->tp_offset_min = (uint32_t)fv_uint(&f);
            TRY(check_tp_params(q->tp_length_min, q->tp_offset_min, "offset 16: keyresponse",
                                r->d));
            tpp.length_min = q->tp_length_min;
            tpp.offset_min = q->tp_offset_min;
            break;
        case T_KRS_SERVICE:
            if (tpp.length_min == 0)
                TRY(ob_fail(r->d, OB_ERR_MALFORMED,
                            "offset %zu: keyresponse record: a service before tp_length_min and "
                            "tp_offset_min (both required)",
                            f.off));
            if (grow((void **)&q->services, q->n_services, &cap, sizeof(*q->services)) != OB_OK)
                TRY(ob_fail(r->d, OB_ERR_NOMEM, "offset %zu: out of memory", f.off));
            rd_child(r, &f, &R_KEYCERTS, &child);
            q->n_services++;
            TRY(parse_keycerts(&child, &q->services[q->n_services - 1], &tpp));
            break;
        default:
            TRY(rd_ext(r, &f, &q->ext));
        }
    }
    err = check_keyresponse(q, "offset 16: keyresponse", r->d);
out:
    return err;
}

ob_err ob_keyrequest_parse(const uint8_t *p, size_t n, ob_keyrequest **out, ob_diag *d)
{
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_keyrequest *q = NULL;
    ob_err err;
    rd r;

    *out = NULL;
    if ((err = expect_kind(p, n, OB_BUNDLE_CERT_REQUEST, digest, d)) != OB_OK)
        return err;
    q = ob_keyrequest_new();
    if (q == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    rd_init(&r, &R_KEYREQUEST, p + OB_BUNDLE_HDR_LEN, n - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN,
            OB_BUNDLE_HDR_LEN, OB_BUNDLE_HDR_LEN, d);
    if ((err = parse_keyrequest_body(&r, q)) != OB_OK) {
        ob_keyrequest_free(q);
        return err;
    }
    memcpy(q->digest, digest, sizeof(digest));
    *out = q;
    return OB_OK;
}

ob_err ob_keyresponse_parse(const uint8_t *p, size_t n, ob_keyresponse **out, ob_diag *d)
{
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_keyresponse *q = NULL;
    ob_err err;
    rd r;

    *out = NULL;
    if ((err = expect_kind(p, n, OB_BUNDLE_CERT_RESPONSE, digest, d)) != OB_OK)
        return err;
    q = ob_keyresponse_new();
    if (q == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    rd_init(&r, &R_KEYRESPONSE, p + OB_BUNDLE_HDR_LEN, n - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN,
            OB_BUNDLE_HDR_LEN, OB_BUNDLE_HDR_LEN, d);
    if ((err = parse_keyresponse_body(&r, q)) != OB_OK) {
        ob_keyresponse_free(q);
        return err;
    }
    memcpy(q->digest, digest, sizeof(digest));
    *out = q;
    return OB_OK;
}

static void ser_keyrequest_body(ob_buf *b, const void *arg)
{
    const ob_keyrequest *r = arg;
    wr w = { b, &r->ext, 0 };
    size_t i, j, pos, ppos;

    w_u64(&w, T_KRQ_CREATED, r->created);
    if (r->origin != NULL && r->origin[0] != '\0')
        w_text(&w, T_KRQ_ORIGIN, r->origin);
    w_u32(&w, T_KRQ_TP_LENGTH, r->tp_length_min);
    w_u32(&w, T_KRQ_TP_OFFSET, r->tp_offset_min);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyreq_service *s = &r->services[i];
        wr sw = { b, &s->ext, 0 };
        pos = w_open(&w, T_KRQ_SERVICE);
        w_text(&sw, T_KSV_ADDRESS, s->address);
        for (j = 0; j < s->n_periods; j++) {
            const ob_keyreq_period *p = &s->periods[j];
            wr pw = { b, &p->ext, 0 };
            ppos = w_open(&sw, T_KSV_PERIOD);
            w_u64(&pw, T_KPR_TP, p->tp);
            w_u64(&pw, T_KPR_VALID_FROM, p->valid_from);
            w_u64(&pw, T_KPR_VALID_UNTIL, p->valid_until);
            w_bytes(&pw, T_KPR_SIGNING_KEY, p->signing_key, 32);
            w_finish(&pw);
            w_close(&sw, ppos);
        }
        w_finish(&sw);
        w_close(&w, pos);
    }
    w_finish(&w);
}

static void ser_keyresponse_body(ob_buf *b, const void *arg)
{
    const ob_keyresponse *r = arg;
    wr w = { b, &r->ext, 0 };
    size_t i, j, pos, cpos;

    w_bytes(&w, T_KRS_REQUEST_DIGEST, r->request_digest, OB_BUNDLE_DIGEST_LEN);
    w_u64(&w, T_KRS_CREATED, r->created);
    if (r->note != NULL && r->note[0] != '\0')
        w_text(&w, T_KRS_NOTE, r->note);
    w_u32(&w, T_KRS_TP_LENGTH, r->tp_length_min);
    w_u32(&w, T_KRS_TP_OFFSET, r->tp_offset_min);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyresp_service *s = &r->services[i];
        wr sw = { b, &s->ext, 0 };
        pos = w_open(&w, T_KRS_SERVICE);
        w_text(&sw, T_KCS_ADDRESS, s->address);
        for (j = 0; j < s->n_certs; j++) {
            const ob_keycert *c = &s->certs[j];
            wr cw = { b, &c->ext, 0 };
            cpos = w_open(&sw, T_KCS_CERT);
            w_u64(&cw, T_KCR_TP, c->tp);
            w_bytes(&cw, T_KCR_SIGNING_KEY, c->signing_key, 32);
            w_u64(&cw, T_KCR_EXPIRES, c->expires);
            w_bytes(&cw, T_KCR_SIGNATURE, c->signature, 64);
            w_bytes(&cw, T_KCR_REV_KEY, c->rev_key, 32);
            w_finish(&cw);
            w_close(&sw, cpos);
        }
        w_finish(&sw);
        w_close(&w, pos);
    }
    w_finish(&w);
}

ob_err ob_keyrequest_serialize(ob_keyrequest *r, ob_buf *out, ob_diag *d)
{
    char ctx[96];
    size_t i, j;
    ob_err err;

    if ((err = check_keyrequest(r, "keyrequest", d)) != OB_OK ||
        (err = check_exts(&r->ext, &R_KEYREQUEST, "keyrequest", d)) != OB_OK)
        return err;
    for (i = 0; i < r->n_services; i++) {
        const ob_keyreq_service *s = &r->services[i];
        snprintf(ctx, sizeof(ctx), "keyrequest: service %zu", i);
        if ((err = check_exts(&s->ext, &R_KEYSERVICE, ctx, d)) != OB_OK)
            return err;
        for (j = 0; j < s->n_periods; j++) {
            snprintf(ctx, sizeof(ctx), "keyrequest: service %zu: period %zu", i, j);
            if ((err = check_exts(&s->periods[j].ext, &R_KEYPERIOD, ctx, d)) != OB_OK)
                return err;
        }
    }
    return ser_envelope(out, OB_BUNDLE_CERT_REQUEST, r->digest, d, ser_keyrequest_body, r);
}

ob_err ob_keyresponse_serialize(ob_keyresponse *r, ob_buf *out, ob_diag *d)
{
    char ctx[96];
    size_t i, j;
    ob_err err;

    if ((err = check_keyresponse(r, "keyresponse", d)) != OB_OK ||
        (err = check_exts(&r->ext, &R_KEYRESPONSE, "keyresponse", d)) != OB_OK)
        return err;
    for (i = 0; i < r->n_services; i++) {
        const ob_keyresp_service *s = &r->services[i];
        snprintf(ctx, sizeof(ctx), "keyresponse: service %zu", i);
        if ((err = check_exts(&s->ext, &R_KEYCERTS, ctx, d)) != OB_OK)
            return err;
        for (j = 0; j < s->n_certs; j++) {
            snprintf(ctx, sizeof(ctx), "keyresponse: service %zu: cert %zu", i, j);
            if ((err = check_exts(&s->certs[j].ext, &R_KEYCERT, ctx, d)) != OB_OK)
                return err;
        }
    }
    return ser_envelope(out, OB_BUNDLE_CERT_RESPONSE, r->digest, d, ser_keyresponse_body, r);
}

ob_err ob_keyrequest_add_service(ob_keyrequest *r, const char *address, ob_keyreq_service **out)
{
    ob_keyreq_service *nv, *s;

    if (out != NULL)
        *out = NULL;
    nv = realloc(r->services, (r->n_services + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    r->services = nv;
    s = &nv[r->n_services];
    memset(s, 0, sizeof(*s));
    if (dup_text(&s->address, address) != OB_OK)
        return OB_ERR_NOMEM;
    r->n_services++;
    if (out != NULL)
        *out = s;
    return OB_OK;
}

ob_err ob_keyreq_service_add_period(ob_keyreq_service *s, uint64_t tp, uint64_t valid_from,
                                    uint64_t valid_until, const uint8_t signing_key[32])
{
    ob_keyreq_period *nv;

    nv = realloc(s->periods, (s->n_periods + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    s->periods = nv;
    memset(&nv[s->n_periods], 0, sizeof(*nv));
    nv[s->n_periods].tp = tp;
    nv[s->n_periods].valid_from = valid_from;
    nv[s->n_periods].valid_until = valid_until;
    memcpy(nv[s->n_periods].signing_key, signing_key, 32);
    s->n_periods++;
    return OB_OK;
}

ob_err ob_keyresponse_add_service(ob_keyresponse *r, const char *address, ob_keyresp_service **out)
{
    ob_keyresp_service *nv, *s;

    if (out != NULL)
        *out = NULL;
    nv = realloc(r->services, (r->n_services + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    r->services = nv;
    s = &nv[r->n_services];
    memset(s, 0, sizeof(*s));
    if (dup_text(&s->address, address) != OB_OK)
        return OB_ERR_NOMEM;
    r->n_services++;
    if (out != NULL)
        *out = s;
    return OB_OK;
}

ob_err ob_keyresp_service_add_cert(ob_keyresp_service *s, uint64_t tp,
                                   const uint8_t signing_key[32], uint64_t expires,
                                   const uint8_t signature[64], const uint8_t rev_key[32])
{
    ob_keycert *nv, c;

    memset(&c, 0, sizeof(c));
    c.tp = tp;
    memcpy(c.signing_key, signing_key, 32);
    c.expires = expires;
    memcpy(c.signature, signature, 64);
    memcpy(c.rev_key, rev_key, 32);
    nv = realloc(s->certs, (s->n_certs + 1) * sizeof(*nv));
    if (nv == NULL)
        return OB_ERR_NOMEM;
    s->certs = nv;
    nv[s->n_certs++] = c;
    return OB_OK;
}

ob_err ob_keyrequest_read_file(const char *path, ob_keyrequest **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_err err;

    *out = NULL;
    if ((err = ob_bundle_read_file(path, &p, &n, d)) != OB_OK)
        return err;
    if ((err = ob_keyrequest_parse(p, n, out, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    free(p);
    return err;
}

ob_err ob_keyresponse_read_file(const char *path, ob_keyresponse **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_err err;

    *out = NULL;
    if ((err = ob_bundle_read_file(path, &p, &n, d)) != OB_OK)
        return err;
    if ((err = ob_keyresponse_parse(p, n, out, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    free(p);
    return err;
}

ob_err ob_keyrequest_write_file(const char *path, ob_keyrequest *r, int flags, ob_diag *d)
{
    ob_buf b;
    ob_err err;

    ob_buf_init(&b);
    if ((err = ob_keyrequest_serialize(r, &b, d)) == OB_OK)
        err = ob_bundle_write_file(path, b.p, b.len, flags, d);
    else
        ob_diag_prefix(d, "%s: ", path);
    ob_buf_free(&b);
    return err;
}

ob_err ob_keyresponse_write_file(const char *path, ob_keyresponse *r, int flags, ob_diag *d)
{
    ob_buf b;
    ob_err err;

    ob_buf_init(&b);
    if ((err = ob_keyresponse_serialize(r, &b, d)) == OB_OK)
        err = ob_bundle_write_file(path, b.p, b.len, flags, d);
    else
        ob_diag_prefix(d, "%s: ", path);
    ob_buf_free(&b);
    return err;
}
