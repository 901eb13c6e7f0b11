/*
 * cmd_tor.c - "ob-online tor-check": can we reach and use tor's control port?
 *
 * Connects the way collect/publish do (socket first, then IP:PORT),
 * authenticates, and prints what the HSDir ring needs: tor's version and
 * bootstrap state, the consensus times, the time period, the SRVs and the
 * number of usable HSDirs.  Optional probes: --fetch ADDRESS (HSFETCH and
 * wait for the HS_DESC events), --post FILE --address ADDRESS (HSPOST and
 * wait for UPLOADED/FAILED), --hsdirs ADDRESS (the HSDirs that should hold
 * the address' two current descriptors, from our own hash ring), and
 * --repeat N, which runs the check N times a
 * second apart, reconnecting (for up to --retry seconds) when tor goes away.
 *
 * Exit: 0 tor reachable, with a consensus, and every requested probe
 * succeeded; 1 a probe failed (descriptor not found, upload refused); 2 tor
 * unreachable, authentication failed, tor has no consensus (in the last
 * round; probes still run and a failed one gives 1), or a usage error.
 */
#include "cli.h"
#include "commands.h"
#include "ctl.h"
#include "encode.h"
#include "fileio.h"
#include "hsdir.h"
#include "obtime.h"
#include "onion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SERVERS 16

typedef struct tc_opts {
    onl_ctl_opts ctl;
    const char *fetch;
    const char *post;
    const char *address;
    const char *hsdirs;
    const char *servers[MAX_SERVERS];
    size_t n_servers;
    unsigned long long timeout_s, repeat, retry_s;
} tc_opts;

static void fmt_time(char *out, size_t n, uint64_t t)
{
    (void)ob_time_format(out, n, t, OB_TIME_PLAIN);
}

static void print_info(onl_ctl *ctl, const char *key, const char *label)
{
    char *v = NULL;
    ob_diag d;

    if (onl_ctl_getinfo(ctl, key, &v, NULL, &d) == OB_OK) {
        onl_ctl_sanitize(v);
        printf("%-22s %s\n", label, v[0] ? v : "(empty)");
    } else {
        onl_ctl_sanitize(d.msg);
        printf("%-22s (unavailable: %s)\n", label, d.msg);
    }
    free(v);
}

static void print_srv(const char *label, int has, const uint8_t srv[32])
{
    char b64[48];

    if (!has) {
        printf("%-22s none in the consensus (the disaster SRV applies)\n", label);
        return;
    }
    ob_base64_encode(b64, srv, 32, OB_B64_PAD);
    printf("%-22s %s\n", label, b64);
}

/* The responsible HSDirs of both current descriptors of addr. */
static ob_err print_hsdirs(const onl_consensus *c, const char *addr, ob_diag *d)
{
    uint8_t A[32], Ab[32], srv[32];
    ob_hsv3_slot slots[2];
    size_t out[256], n = 0, i, k;
    char b64[48];
    ob_err e;

    e = ob_onion_v3_decode(A, addr, strlen(addr), d);
    if (e != OB_OK)
        return e;
    ob_hsv3_publish_slots(c->valid_after, &c->tp, slots);
    for (k = 0; k < 2; k++) {
        int disaster = onl_consensus_slot_srv(c, &slots[k], srv);
        if (disaster < 0 || ob_hsv3_blind_public(Ab, A, slots[k].tp, c->tp.length_min) != 0)
            return ob_fail(d, OB_ERR_CRYPTO, "blinding or SRV computation failed");
        e = onl_hsdir_responsible(c, Ab, slots[k].tp, srv, c->spread_store, out,
                                  sizeof(out) / sizeof(out[0]), &n, d);
        if (e != OB_OK)
            return e;
        ob_base64_encode(b64, Ab, 32, OB_B64_NOPAD);
        printf("descriptor %zu:%*s tp %llu, %s SRV%s, blinded key %s\n", k + 1, 10, "",
               (unsigned long long)slots[k].tp, slots[k].use_current_srv ? "current" : "previous",
               disaster ? " (disaster)" : "", b64);
        for (i = 0; i < n; i++) {
            char fp[41];
            const onl_hsdir_node *nd = &c->nodes[out[i]];
            ob_hex_encode(fp, nd->rsa_id, 20);
            for (size_t j = 0; j < 40; j++)
                if (fp[j] >= 'a' && fp[j] <= 'f')
                    fp[j] = (char)(fp[j] - 'a' + 'A');
            char ix[65];
            uint8_t idx[32];
            if (ob_hsv3_hsdir_index(idx, nd->ed_id, srv, slots[k].tp, c->tp.length_min) != 0)
                return ob_fail(d, OB_ERR_CRYPTO, "SHA3-256 failed");
            ob_hex_encode(ix, idx, 32);
            printf("  hsdir $%s~%s index %s\n", fp, nd->nick, ix);
        }
    }
    return OB_OK;
}

/* One round of facts.  OB_ERR_NET if the connection broke; *none set
 * when tor has no consensus. */
static ob_err check_once(onl_ctl *ctl, const char *hsdirs_for, int *none, ob_diag *d)
{
    onl_consensus *c = NULL;
    char t1[OB_TIME_STR], t2[OB_TIME_STR], t3[OB_TIME_STR];
    ob_err e;

    printf("%-22s %s (auth %s, connection #%u)\n", "control port:", onl_ctl_endpoint(ctl),
           onl_ctl_auth_method(ctl), onl_ctl_generation(ctl));
    printf("%-22s %s\n",
           "tor version:", onl_ctl_tor_version(ctl)[0] ? onl_ctl_tor_version(ctl) : "(not given)");
    print_info(ctl, "status/bootstrap-phase", "bootstrap:");
    if (!onl_ctl_is_connected(ctl))
        return ob_fail(d, OB_ERR_NET, "lost the control connection");
    e = onl_consensus_fetch(ctl, &c, d);
    *none = e == OB_ERR_NOTFOUND;
    if (e == OB_ERR_NOTFOUND) {
        printf("%-22s none yet (%s)\n", "consensus:", d->msg);
        return hsdirs_for ? ob_fail(d, OB_ERR_NOTFOUND, "no consensus: cannot compute HSDirs")
                          : OB_OK;
    }
    if (e != OB_OK)
        return e;
    fmt_time(t1, sizeof(t1), c->valid_after);
    fmt_time(t2, sizeof(t2), c->fresh_until);
    fmt_time(t3, sizeof(t3), c->valid_until);
    printf("%-22s valid-after %s, fresh-until %s, valid-until %s\n", "consensus:", t1, t2, t3);
    printf("%-22s %llu s%s\n", "voting interval:", (unsigned long long)c->voting_interval,
           c->testing ? " (test network rules)" : "");
    printf("%-22s %llu (length %llu min, offset %llu min)\n",
           "time period:", (unsigned long long)ob_hsv3_tp_num(c->valid_after, &c->tp),
           (unsigned long long)c->tp.length_min, (unsigned long long)c->tp.offset_min);
    print_srv("srv current:", c->has_srv_cur, c->srv_cur);
    print_srv("srv previous:", c->has_srv_prev, c->srv_prev);
    printf("%-22s %zu usable (%zu with HSDir flag and HSDir=2, %zu relays)\n",
           "hsdirs:", onl_consensus_ring_size(c), c->n_nodes, c->n_relays);
    printf("%-22s replicas %u, spread store %u, fetch %u\n", "ring parameters:", c->n_replicas,
           c->spread_store, c->spread_fetch);
    if (hsdirs_for != NULL)
        e = print_hsdirs(c, hsdirs_for, d);
    onl_consensus_free(c);
    return e;
}

/*
 * Wait up to timeout_s for the HS_DESC events about addr that end a fetch or
 * an upload.  Returns 0 success, 1 failure (reported), 2 connection lost.
 */
static int wait_results(onl_ctl *ctl, const char *addr, int upload, unsigned long long timeout_s,
                        size_t expect)
{
    size_t ok = 0, failed = 0, requested = 0;
    time_t end = time(NULL) + (time_t)timeout_s;
    ob_diag d;

    for (;;) {
        onl_ctl_event *ev = NULL;
        time_t now = time(NULL);
        ob_err e;

        if (now >= end)
            break;
        e = onl_ctl_next_event(ctl, &ev, (int)(end - now) * 1000, &d);
        if (e != OB_OK) {
            ob_msg("%s", d.msg);
            return 2;
        }
        if (ev == NULL)
            break;
        if (ev->malformed || strcmp(ev->address, addr) != 0) {
            onl_ctl_event_free(ev);
            continue;
        }
        if (ev->kind == ONL_EV_HS_DESC) {
            const char *who = ev->hsdir[0] ? ev->hsdir : "UNKNOWN";
            if (ev->action == ONL_HSA_REQUESTED) {
                requested++;
                printf("requested from $%s\n", who);
            } else if (ev->action == ONL_HSA_FAILED) {
                failed++;
                printf("failed at $%s: %s\n", who, ev->reason[0] ? ev->reason : "no reason");
            } else if (upload && ev->action == ONL_HSA_UPLOADED) {
                ok++;
                printf("uploaded to $%s\n", who);
            }
        } else if (ev->kind == ONL_EV_HS_DESC_CONTENT && !upload) {
            if (ev->body_len > 0) {
                ok++;
                printf("descriptor received from $%s (%zu bytes)\n",
                       ev->hsdir[0] ? ev->hsdir : "UNKNOWN", ev->body_len);
            }
        }
        onl_ctl_event_free(ev);
        if (!upload && ok > 0)
            return 0;
        if (upload && expect > 0 && ok + failed >= expect)
            break;
        if (!upload && requested > 0 && failed >= requested)
            break;
    }
    if (ok > 0)
        return 0;
    if (failed == 0 && requested == 0) {
        ob_msg("%s: no result from tor within %llu s (no consensus, or no HSDir it could ask)",
               upload ? "HSPOST" : "HSFETCH", timeout_s);
        return 1;
    }
    ob_msg("%s: %zu HSDir(s) failed, none succeeded", upload ? "HSPOST" : "HSFETCH", failed);
    return 1;
}

static int do_fetch(onl_ctl *ctl, const tc_opts *o)
{
    ob_diag d;
    ob_err e = onl_ctl_hsfetch(ctl, o->fetch, o->servers, o->n_servers, &d);

    if (e != OB_OK)
        return ob_report(e, &d);
    printf("HSFETCH %s: tor accepted the request\n", o->fetch);
    return wait_results(ctl, o->fetch, 0, o->timeout_s, 0);
}

static int do_post(onl_ctl *ctl, const tc_opts *o)
{
    uint8_t *desc = NULL;
    size_t len = 0;
    ob_diag d;
    ob_err e;
    int rc;

    e = ob_file_read(o->post, 1024 * 1024, &desc, &len, &d);
    if (e != OB_OK)
        return ob_report(e, &d);
    e = onl_ctl_hspost(ctl, desc, len, o->servers, o->n_servers, o->address, &d);
    free(desc);
    if (e != OB_OK)
        return ob_report(e, &d);
    printf("HSPOST %s: tor accepted the descriptor (250)\n", o->address);
    rc = wait_results(ctl, o->address, 1, o->timeout_s, o->n_servers);
    return rc;
}

static void parse(int argc, char **argv, tc_opts *o)
{
    int i;
    ob_diag d;

    memset(o, 0, sizeof(*o));
    onl_ctl_opts_init(&o->ctl);
    o->timeout_s = 10;
    o->repeat = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = onl_ctl_opts_arg(&o->ctl, argc, argv, &i, &d);
        if (r < 0) {
            ob_msg("%s", d.msg);
            ob_usage_verb(argv[0]);
        }
        if (r > 0)
            continue;
        if (i + 1 >= argc) {
            ob_msg("tor-check: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
        if (strcmp(a, "--auth") == 0) {
            const char *m = argv[++i];
            if (strcmp(m, "auto") == 0)
                o->ctl.auth = ONL_AUTH_AUTO;
            else if (strcmp(m, "null") == 0)
                o->ctl.auth = ONL_AUTH_NULL;
            else if (strcmp(m, "password") == 0)
                o->ctl.auth = ONL_AUTH_PASSWORD;
            else if (strcmp(m, "cookie") == 0)
                o->ctl.auth = ONL_AUTH_COOKIE;
            else if (strcmp(m, "safecookie") == 0)
                o->ctl.auth = ONL_AUTH_SAFECOOKIE;
            else {
                ob_msg("--auth must be auto, null, password, cookie or safecookie");
                ob_usage_verb(argv[0]);
            }
        } else if (strcmp(a, "--fetch") == 0) {
            o->fetch = argv[++i];
        } else if (strcmp(a, "--post") == 0) {
            o->post = argv[++i];
        } else if (strcmp(a, "--hsdirs") == 0) {
            o->hsdirs = argv[++i];
        } else if (strcmp(a, "--address") == 0) {
            o->address = argv[++i];
        } else if (strcmp(a, "--server") == 0) {
            if (o->n_servers == MAX_SERVERS) {
                ob_msg("at most %d --server options", MAX_SERVERS);
                ob_usage_verb(argv[0]);
            }
            o->servers[o->n_servers++] = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--repeat") == 0 ||
                   strcmp(a, "--retry") == 0) {
            unsigned long long *slot =
                a[2] == 't' ? &o->timeout_s : (a[4] == 'p' ? &o->repeat : &o->retry_s);
            if (ob_parse_u64(argv[++i], a[4] == 'p' ? 1 : 0, 86400, slot) != 0) {
                ob_msg("%s: expected a number", a);
                ob_usage_verb(argv[0]);
            }
        } else {
            ob_msg("tor-check: unexpected argument '%s'", a);
            ob_usage_verb(argv[0]);
        }
    }
    if ((o->post != NULL) != (o->address != NULL) || (o->fetch && o->post)) {
        ob_msg("--post needs --address (and does not go with --fetch)");
        ob_usage_verb(argv[0]);
    }
    if ((o->fetch && strlen(o->fetch) > 6 &&
         strcmp(o->fetch + strlen(o->fetch) - 6, ".onion") == 0) ||
        (o->address && strlen(o->address) > 6 &&
         strcmp(o->address + strlen(o->address) - 6, ".onion") == 0)) {
        ob_msg("give onion addresses without the .onion suffix");
        ob_usage_verb(argv[0]);
    }
}

int onl_cmd_tor_check(int argc, char **argv)
{
    tc_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    ob_err e;
    unsigned long long round;
    int rc = OB_EXIT_OK, none = 0;

    parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);
    e = onl_ctl_connect(&o.ctl, &ctl, &d);
    if (e != OB_OK) {
        ob_report(e, &d);
        return OB_EXIT_USAGE; /* tor unreachable or refusing us: operational */
    }
    for (round = 0; round < o.repeat; round++) {
        if (round > 0) {
            struct timespec ts = { 1, 0 };
            nanosleep(&ts, NULL);
        }
        if (!onl_ctl_is_connected(ctl)) {
            ob_msg("lost tor; reconnecting (up to %llu s)", o.retry_s);
            e = onl_ctl_reconnect(ctl, (int)(o.retry_s * 1000), &d);
            if (e != OB_OK) {
                ob_report(e, &d);
                rc = OB_EXIT_USAGE;
                goto out;
            }
            ob_msg("reconnected to %s (connection #%u)", onl_ctl_endpoint(ctl),
                   onl_ctl_generation(ctl));
        }
        e = check_once(ctl, o.hsdirs, &none, &d);
        if (e == OB_ERR_NET && round + 1 < o.repeat) {
            ob_msg("%s", d.msg);
            continue;
        }
        if (e != OB_OK) {
            rc = ob_report(e, &d);
            if (e == OB_ERR_NET || rc == OB_EXIT_OK)
                rc = OB_EXIT_USAGE;
            goto out;
        }
        fflush(stdout);
    }
    if (o.fetch != NULL || o.post != NULL) {
        e = onl_ctl_setevents(ctl, "HS_DESC HS_DESC_CONTENT", &d);
        if (e != OB_OK) {
            ob_report(e, &d);
            rc = OB_EXIT_USAGE;
            goto out;
        }
        rc = o.fetch != NULL ? do_fetch(ctl, &o) : do_post(ctl, &o);
    }
    /* Reachable is not usable: nothing can be published without one. */
    if (rc == OB_EXIT_OK && none) {
        ob_msg("tor has no consensus yet: it cannot publish or fetch descriptors (is its network "
               "enabled? has it bootstrapped?)");
        rc = OB_EXIT_USAGE;
    }
out:
    onl_ctl_close(ctl);
    return rc;
}
