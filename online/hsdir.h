/*
 * hsdir.h - consensus facts and the v3 HSDir hash ring (rend-spec-v3 §2.2).
 *
 * Input is what tor's control port gives: the microdescriptor-flavoured
 * consensus (GETINFO dir/status-vote/current/consensus-microdesc), one
 * microdescriptor per HSDir (GETINFO md/id/<fp>, for its "id ed25519" line)
 * and GETCONF TestingTorNetwork.  From them:
 *
 *   voting interval vi = fresh-until - valid-after              (seconds)
 *   period offset      = (12 * vi) / 60                          (minutes)
 *   period length      = (24 * vi) / 60 on a TestingTorNetwork,
 *                        else param hsdir_interval (1440, 30..14400)
 *   candidates         = routers with the HSDir flag, protocol HSDir=2,
 *                        and a known ed25519 identity
 *   ring               = candidates sorted by
 *                        hsdir_index = SHA3("node-idx"|ed|SRV|INT8(tp)|INT8(L))
 *   responsible(A',tp) = for replica 1..hsdir_n_replicas:
 *                          first node with hsdir_index >= hs_index(A',replica),
 *                          walk on (wrapping), take hsdir_spread_store nodes
 *                          not already taken for an earlier replica
 *
 * These are tor's own rules (hs_common.c, shared_random_client.c), so the
 * same binary is right on the live network and on a private test network
 * with 20-second votes, without a switch.
 */
#ifndef OB_ONLINE_HSDIR_H
#define OB_ONLINE_HSDIR_H

#include "ctl.h"
#include "diag.h"
#include "hsv3_common.h"

#include <stddef.h>
#include <stdint.h>

#define ONL_HSDIR_MAX_RELAYS 65536

typedef struct onl_hsdir_node {
    uint8_t rsa_id[20];
    uint8_t ed_id[32];
    int has_ed;   /* ed_id is known (from its microdescriptor) */
    int is_hsdir; /* HSDir flag and HSDir=2 protocol */
    char nick[20];
} onl_hsdir_node;

typedef struct onl_consensus {
    uint64_t valid_after, fresh_until, valid_until; /* unix seconds */
    uint64_t voting_interval;                       /* seconds */
    int testing;                                    /* TestingTorNetwork rules apply */
    ob_tp_params tp;
    int has_srv_cur, has_srv_prev;
    uint8_t srv_cur[32], srv_prev[32];
    unsigned n_replicas, spread_store, spread_fetch;
    size_t n_relays; /* every router in the consensus */
    size_t n_nodes;  /* entries in nodes[]: routers with is_hsdir */
    onl_hsdir_node *nodes;
    /*
     * v2 (tor <= 0.4.5, rend-spec-v2 1.4): every router of the consensus in
     * its order (sorted by RSA identity), with its HSDir flag alone; the
     * v2 ring of ob_hsv2_responsible_hsdirs().  n_relays entries.
     */
    uint8_t (*v2_ids)[20];
    int *v2_flags;
    char (*v2_nicks)[20];
} onl_consensus;

/*
 * Parse a microdesc consensus (LF line ends).  testing: 1 if the tor that
 * serves it runs with TestingTorNetwork.  Keeps only HSDir-capable routers;
 * their ed25519 ids are added with onl_consensus_set_md().
 */
ob_err onl_consensus_parse(const char *doc, size_t len, int testing, onl_consensus **out,
                           ob_diag *d);
/* Take node i's ed25519 id from its microdescriptor text. */
ob_err onl_consensus_set_md(onl_consensus *c, size_t i, const char *md, size_t len, ob_diag *d);
/*
 * All of the above from a live tor: GETCONF TestingTorNetwork, the consensus,
 * and md/id/<fp> for every HSDir (batched).  OB_ERR_NOTFOUND when tor has no
 * consensus yet.
 */
ob_err onl_consensus_fetch(onl_ctl *ctl, onl_consensus **out, ob_diag *d);
void onl_consensus_free(onl_consensus *c);
/* Number of nodes usable in the ring (is_hsdir and has_ed). */
size_t onl_consensus_ring_size(const onl_consensus *c);

/*
 * The SRV a descriptor for slot uses: the consensus' previous or current
 * value, or the disaster SRV for slot->tp when the consensus lacks it.
 * Returns 1 when the disaster value was used, 0 otherwise, -1 on failure.
 */
int onl_consensus_slot_srv(const onl_consensus *c, const ob_hsv3_slot *slot, uint8_t srv[32]);

/*
 * Responsible HSDirs for blinded key Ab in period tp with srv: indexes into
 * c->nodes, in the order tor would upload to them (replica 1 first).
 * spread: c->spread_store for uploads, c->spread_fetch for fetches.  At most
 * max are written; *n is the number found (fewer when the ring is small).
 */
ob_err onl_hsdir_responsible(const onl_consensus *c, const uint8_t Ab[32], uint64_t tp,
                             const uint8_t srv[32], unsigned spread, size_t *out, size_t max,
                             size_t *n, ob_diag *d);

/* "YYYY-MM-DD HH:MM:SS" (UTC) -> unix seconds; -1 if malformed. */
int onl_parse_isotime(const char *s, size_t n, uint64_t *out);

#endif
