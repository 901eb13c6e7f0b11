/*
 * reqstore.c - the online side's copies of the requests it sent
 * (reqstore.h).
 */
#include "reqstore.h"

#include "fileio.h"
#include "compact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * One state directory per user (or per service under systemd), not per
 * config: collect, publish and the daemon of one operator often run with
 * different config files (a test config, the daemon's), and each must find
 * what the others wrote.  systemd's StateDirectory= sets $STATE_DIRECTORY
 * (a colon-separated list when several are set: the first is ours).
 */
char *onl_state_dir(const ob_config *cfg)
{
    const char *sd = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    size_t n = OB_CFG_MAX_PATH + 64, sdlen;
    char *p = malloc(n);

    if (p == NULL)
        return NULL;
    sdlen = sd != NULL ? strcspn(sd, ":") : 0;
    if (sd != NULL && sd[0] == '/' && sdlen < n)
        snprintf(p, n, "%.*s", (int)sdlen, sd);
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(p, n, "%s/ob-online", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(p, n, "%s/.local/state/ob-online", home);
    else
        snprintf(p, n, "%s", cfg->dir);
    return p;
}

char *onl_reqstore_dir(const ob_config *cfg)
{
    const char *env = getenv("OB_REQUEST_STORE");
    size_t n = OB_CFG_MAX_PATH + 128;
    char *state, *p;

    if (env != NULL && env[0] == '/')
        return strlen(env) < n ? strdup(env) : NULL;
    if ((state = onl_state_dir(cfg)) == NULL || (p = malloc(n)) == NULL) {
        free(state);
        return NULL;
    }
    snprintf(p, n, "%s/%s", state, ONL_REQSTORE_DIR);
    free(state);
    return p;
}

/* mkdir -p, 0755: the store's parents may not exist yet. */
static int make_dirs(char *path)
{
    char *s;
    for (s = path + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static char *entry_path(const char *dir, const uint8_t digest[OB_BUNDLE_DIGEST_LEN])
{
    char hex[OB_BUNDLE_HEX_LEN];
    size_t n = strlen(dir) + OB_BUNDLE_HEX_LEN + 8;
    char *p = malloc(n);
    ob_bundle_digest_hex(digest, hex);
    if (p != NULL)
        snprintf(p, n, "%s/%s.obb", dir, hex);
    return p;
}

ob_err onl_reqstore_save(const ob_config *cfg, ob_request *req, ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    ob_buf wire;
    ob_err err;

    ob_buf_init(&wire);
    dir = onl_reqstore_dir(cfg);
    if (dir == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (make_dirs(dir) != 0) {
        err = ob_fail(d, OB_ERR_IO, "request store %s: cannot create: %s", dir, strerror(errno));
        goto out;
    }
    err = ob_request_serialize(req, &wire, d);
    if (err != OB_OK)
        goto out;
    path = entry_path(dir, req->digest);
    if (path == NULL || !ob_buf_ok(&wire)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = ob_file_write_atomic(path, wire.p, wire.len, 0644, OB_WRITE_EXCL, d);
    if (err == OB_ERR_EXISTS)
        err = OB_OK; /* named by its digest: the same request */
    else if (err != OB_OK)
        ob_diag_prefix(d, "request store: ");
out:
    ob_buf_free(&wire);
    free(path);
    free(dir);
    return err;
}

ob_err onl_reqstore_find(const ob_config *cfg, const uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                         ob_request **req, ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    struct stat st;
    ob_err err;

    *req = NULL;
    dir = onl_reqstore_dir(cfg);
    path = dir != NULL ? entry_path(dir, digest) : NULL;
    if (path == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        err = ob_fail(d, OB_ERR_NOTFOUND, "%s: not in the request store", path);
        goto out;
    }
    err = ob_request_read_file(path, req, d);
    if (err == OB_OK && memcmp((*req)->digest, digest, OB_BUNDLE_DIGEST_LEN) != 0) {
        ob_request_free(*req);
        *req = NULL;
        err = ob_fail(d, OB_ERR_VERIFY, "%s: its digest is not its name", path);
    }
out:
    free(path);
    free(dir);
    return err;
}

int onl_response_is_compact(const ob_response *resp)
{
    size_t i;
    for (i = 0; i < resp->n_descriptors; i++)
        if (resp->descriptors[i].compact != NULL)
            return 1;
    return 0;
}

ob_err onl_response_expand_for(const ob_config *cfg, ob_response *resp, const char *request_path,
                               ob_diag *d)
{
    ob_request *req = NULL;
    char shrt[OB_BUNDLE_SHORT_LEN];
    char *dir = NULL;
    ob_err err;

    if (!onl_response_is_compact(resp) && request_path == NULL)
        return OB_OK; /* full descriptors: nothing to rebuild */
    ob_bundle_digest_short(resp->request_digest, shrt);
    if (request_path != NULL) {
        err = ob_request_read_file(request_path, &req, d);
    } else {
        err = onl_reqstore_find(cfg, resp->request_digest, &req, d);
        if (err == OB_ERR_NOTFOUND) {
            dir = onl_reqstore_dir(cfg);
            err = ob_fail(d, OB_ERR_REFUSED,
                          "response answers request %s, which this machine did not send (not in "
                          "%s); pass --request FILE",
                          shrt, dir != NULL ? dir : ONL_REQSTORE_DIR);
        }
    }
    if (err == OB_OK)
        err = ob_response_expand(resp, req, d);
    free(dir);
    ob_request_free(req);
    return err;
}

ob_err onl_response_load(const ob_config *cfg, const char *path, const char *request_path,
                         ob_response **out, ob_diag *d)
{
    ob_response *resp = NULL;
    ob_err err;

    *out = NULL;
    err = ob_response_read_file(path, &resp, d);
    if (err == OB_OK)
        err = onl_response_expand_for(cfg, resp, request_path, d);
    if (err == OB_OK) {
        *out = resp;
        resp = NULL;
    }
    ob_response_free(resp);
    return err;
}
