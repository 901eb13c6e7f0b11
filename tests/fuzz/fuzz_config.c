/*
 * fuzz_config.c - the YAML configuration reader (format/config/config.c),
 * as both programs read it: ob_config_parse on the input, then what
 * ob-offline does once it has loaded a service's key (ob_config_bind_key)
 * and the lookups both sides make.
 *
 *   make fuzz && build/fuzz/fuzz_config -max_len=65536 tests/fuzz/corpus/fuzz_config
 *
 * Seeds: the configs of tests/data/config, those the tests and config-gen
 * write, and small ones for each key, type and refusal (make_seeds.sh).
 *
 * Beyond "no crash": a config that parses has at least one service and
 * every service at least one instance, addresses normalised (lower case,
 * 16 or 56 characters, the version they imply), each found again by its
 * own address, warnings bounded, positions 1-based; binding a key refuses
 * or records exactly the address given.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fzutil.h"
#include "onion.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a service's key "turned out to be" when ob-offline loaded it: a v3 or a v2 address. */
static const char *const bind_addr[2] = {
    "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd",
    "3g2upl4pq6kufc4m",
};

static int address_ok(const char *a, int version)
{
    size_t n = strlen(a), i;

    if (!((n == OB_ONION_V3_LEN && version == 3) || (n == OB_ONION_V2_LEN && version == 2)))
        return 0;
    for (i = 0; i < n; i++)
        if (!(islower((unsigned char)a[i]) || (a[i] >= '2' && a[i] <= '7')))
            return 0;
    return 1;
}

static void check(ob_config *c)
{
    size_t i, j;

    if (c->n_services == 0 || c->n_warnings > OB_CFG_MAX_WARNINGS + 1)
        abort();
    for (i = 0; i < c->n_warnings; i++)
        if (c->warnings[i] == NULL)
            abort();
    for (i = 0; i < c->n_services; i++) {
        const ob_cfg_service *s = &c->services[i];
        if (s->n_instances == 0 || s->line < 1 || s->column < 1 ||
            (s->key_path == NULL && s->address == NULL))
            abort();
        if (s->address != NULL &&
            (!address_ok(s->address, s->version) || ob_config_find_service(c, s->address) != s))
            abort();
        for (j = 0; j < s->n_instances; j++) {
            const ob_cfg_instance *in = &s->instances[j];
            if (!address_ok(in->address, in->version) || in->line < 1 || in->column < 1 ||
                ob_cfg_service_find_instance(s, in->address) != in)
                abort();
        }
    }
}

static void bind(ob_config *c)
{
    size_t i;
    ob_diag d;

    for (i = 0; i < c->n_services; i++) {
        const char *a = bind_addr[i & 1];
        ob_err e;
        if (c->services[i].key_path == NULL)
            continue;
        e = ob_config_bind_key(c, i, a, &d);
        fz_note("bind", e, &d);
        if (e == OB_OK &&
            (c->services[i].address == NULL || strcmp(c->services[i].address, a) != 0 ||
             c->services[i].version != (i & 1 ? 2 : 3)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    ob_config *c = NULL;
    ob_diag d;
    ob_err e;

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        /* The environment's ONIONBALANCE_* defaults must not change results. */
        unsetenv("ONIONBALANCE_STATUS_SOCKET_LOCATION");
        unsetenv("ONIONBALANCE_TOR_CONTROL_SOCKET");
        unsetenv("ONIONBALANCE_LOG_LEVEL");
        unsetenv("ONIONBALANCE_LOG_LOCATION");
        inited = 1;
    }
    if (size > (1u << 20))
        return 0;
    e = ob_config_parse("/fuzz/etc/config.yaml", (const char *)data, size, &c, &d);
    fz_note("parse", e, &d);
    if (e != OB_OK) {
        if (c != NULL)
            abort();
        return 0;
    }
    check(c);
    bind(c);
    check(c);
    ob_config_free(c);
    return 0;
}
