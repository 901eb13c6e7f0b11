/*
 * collect.h - build a signing request from backend descriptors, whatever
 * fetched them (files today: `collect --descriptors-from DIR`; tor's control
 * port: online/fetch.c, onl_fetch_collect_cli()).
 *
 * For every instance of every service in the online config the caller's
 * fetch function supplies the descriptor bytes exactly as served (or says
 * why there are none).  The core verifies each one with the shared code
 * (v3: blinded for one of the periods around now, signature, layers, intro
 * points; v2: parse, signature, descriptor-id, publication-time window) and
 * records it as ok, missing or invalid with the reason.  The online side's
 * checks only save a ceremony from surprises: the offline signer repeats
 * every check against its own config and never trusts these statuses.
 */
#ifndef ONL_COLLECT_H
#define ONL_COLLECT_H

#include "bundle.h"
#include "config.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

/* Largest descriptor file read from disk (v3 descriptors stay below 50000). */
#define ONL_COLLECT_MAX_DESC (64u * 1024)

/*
 * What a fetcher reports for one instance.  On OB_OK, *desc (malloc()ed,
 * owned by the caller afterwards) and *len hold the bytes and *fetched_at
 * when they were obtained.  OB_ERR_NOTFOUND means "no descriptor" (the
 * instance is recorded as missing, why says so); any other error is an
 * operational failure that stops the collection.
 */
typedef ob_err (*onl_collect_fetch_fn)(void *ctx, const ob_cfg_service *s,
                                       const ob_cfg_instance *in, uint8_t **desc, size_t *len,
                                       uint64_t *fetched_at, char *why, size_t why_len, ob_diag *d);

/* Counts over the whole request, for the caller's report. */
typedef struct onl_collect_stats {
    size_t services, services_empty; /* services_empty: no valid instance */
    size_t ok, missing, invalid;
} onl_collect_stats;

/*
 * Build the request.  facts: the consensus facts to record (valid_after
 * decides the v3 periods proposed: the two publish slots of
 * ob_hsv3_publish_slots(); v2 services get ob_hsv2_presign_periods() at
 * now for their presign_window).  now: the clock used to check descriptor
 * times.  *out is a new request owned by the caller; services with no
 * valid instance are still in it (the offline side names them when it
 * refuses) and counted in stats->services_empty.
 */
ob_err onl_collect_build(const ob_config *cfg, const ob_consensus_facts *facts, uint64_t now,
                         onl_collect_fetch_fn fetch, void *ctx, ob_request **out,
                         onl_collect_stats *stats, ob_diag *d);

/*
 * Consensus facts from the local clock alone, for --descriptors-from:
 * valid_after = now rounded down to the hour, fresh_until +1 h, valid_until
 * +3 h, the config's time_period_length and an offset of half of it (720
 * minutes on the live network), no SRVs.
 */
void onl_collect_clock_facts(const ob_config *cfg, uint64_t now, ob_consensus_facts *f);

/* Fetcher that reads DIR/<instance address>.desc (ctx is the directory). */
ob_err onl_collect_fetch_from_dir(void *ctx, const ob_cfg_service *s, const ob_cfg_instance *in,
                                  uint8_t **desc, size_t *len, uint64_t *fetched_at, char *why,
                                  size_t why_len, ob_diag *d);

#endif
