#!/bin/bash
# The systemd unit of ob-online (dist/systemd/ob-online.service) and its
# sysusers.d and tmpfiles.d files, checked by systemd's own tools:
#   - systemd-analyze verify passes without a single message (the unit's
#     ExecStart pointed at the built binary, its man page on MANPATH);
#   - the directives the service depends on are there (its own user, tor's
#     group, the state and runtime folders, the sandbox, the inbox and outbox
#     of the shipped example config writable, SIGHUP for reload);
#   - systemd-analyze security rates it 2.0 or better ("OK");
#   - systemd-sysusers and systemd-tmpfiles make the user and the inbox and
#     outbox in a scratch root (--root; the system is not touched);
#   - the example config loads (ob-online collect reads it).
# Skips (77) where systemd-analyze is missing.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
UNIT=dist/systemd/ob-online.service
EXAMPLE=dist/examples/ob-online.yaml
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze not installed (package systemd)"; exit 77; }
[ -x "$B/ob-online" ] || { echo "skip: $B/ob-online not built"; exit 77; }
T=$(mktemp -d /tmp/ob-test-unit.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); echo "ok: $*"; }
has() { # has "Directive=value" : an exact line of the unit
    grep -qxF -- "$1" "$UNIT" && ok "$1" || fail "$UNIT lacks '$1'"
}

# --- verify ---
bin=$(cd "$B" && pwd)/ob-online
grep -q '^ExecStart=/usr/bin/ob-online run -c /etc/ob-online/config.yaml$' "$UNIT" &&
    ok "ExecStart runs /usr/bin/ob-online run" || fail "ExecStart: $(grep ExecStart= "$UNIT")"
mkdir -p "$T/man/man1"
cp man/ob-online.1 "$T/man/man1/"
sed "s|/usr/bin/ob-online|$bin|" "$UNIT" >"$T/ob-online.service"
MANPATH=$T/man systemd-analyze verify "$T/ob-online.service" >"$T/verify" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$T/verify" ] && ok "systemd-analyze verify: clean" ||
    fail "systemd-analyze verify: exit $rc: $(cat "$T/verify")"

# --- what the service needs ---
for d in User=ob-online Group=ob-online SupplementaryGroups=debian-tor StateDirectory=ob-online \
    RuntimeDirectory=ob-online ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
    'ExecReload=/bin/kill -HUP $MAINPID' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    StandardError=journal 'SystemCallFilter=@system-service' CapabilityBoundingSet=; do
    has "$d"
done
rw=$(sed -n 's/^ReadWritePaths=//p' "$UNIT" | tr ' ' '\n' | sed 's/^-//')
for k in inbox outbox; do
    p=$(sed -n "s/^$k: //p" "$EXAMPLE")
    [ -n "$p" ] && grep -qx -- "$p" <<<"$rw" && ok "ReadWritePaths= holds the example's $k ($p)" ||
        fail "the example's $k '$p' is not in ReadWritePaths= ($rw)"
done
sock=$(sed -n 's/^STATUS_SOCKET_LOCATION: //p' "$EXAMPLE")
[ "${sock%/*}" = /run/ob-online ] && ok "the example's status socket is in RuntimeDirectory=" ||
    fail "status socket $sock outside /run/ob-online"
[ "$(sed -n 's/^TOR_CONTROL_SOCKET: //p' "$EXAMPLE")" = /run/tor/control ] &&
    ok "the example uses Debian tor's control socket" || fail "TOR_CONTROL_SOCKET of the example"

# --- the sandbox's rating ---
systemd-analyze security --offline=true "$T/ob-online.service" >"$T/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for ob-online.service: \([0-9.]*\).*/\1/p' "$T/security")
if [ -z "$score" ]; then
    fail "systemd-analyze security: $(tail -5 "$T/security")"
elif awk "BEGIN { exit !($score <= 2.0) }"; then
    ok "systemd-analyze security: exposure $score (2.0 or better)"
else
    fail "systemd-analyze security: exposure $score, over 2.0: $(grep '✗' "$T/security")"
fi

# --- user, group and folders, in a scratch root ---
mkdir -p "$T/root/etc"
echo "debian-tor:x:105:" >"$T/root/etc/group"
if systemd-sysusers --root="$T/root" "$PWD/dist/systemd/ob-online.sysusers" >"$T/sysusers" 2>&1 &&
    grep -q '^ob-online:x:[0-9]*:[0-9]*:.*:/var/lib/ob-online:/usr/sbin/nologin$' "$T/root/etc/passwd"; then
    ok "systemd-sysusers makes the system user ob-online"
else
    fail "systemd-sysusers: $(cat "$T/sysusers" "$T/root/etc/passwd" 2>&1)"
fi
if systemd-tmpfiles --root="$T/root" --create "$PWD/dist/systemd/ob-online.tmpfiles" >"$T/tmpfiles" 2>&1; then
    uid=$(awk -F: '$1 == "ob-online" { print $3 }' "$T/root/etc/passwd")
    [ "$(stat -c '%a %u' "$T/root/var/spool/ob-online/inbox")" = "2770 $uid" ] &&
        [ "$(stat -c '%a %u' "$T/root/var/spool/ob-online/outbox")" = "2750 $uid" ] &&
        ok "systemd-tmpfiles makes the inbox (2770) and outbox (2750) for ob-online" ||
        fail "tmpfiles modes: $(stat -c '%n %a %u' "$T"/root/var/spool/ob-online/*)"
else
    fail "systemd-tmpfiles: $(cat "$T/tmpfiles")"
fi

# --- the example config is one ob-online reads ---
mkdir "$T/descs"
OB_REQUEST_STORE=$T/store "$B/ob-online" collect -c "$EXAMPLE" --descriptors-from "$T/descs" -o "$T/req.obb" \
    >"$T/collect" 2>&1
# (No descriptor in the folder: the config is read, no request written.)
grep -q "^1 service(s): 0 instance(s) ok" "$T/collect" && ! grep -qi "warning\|unknown key" "$T/collect" &&
    ok "ob-online reads the example config without a warning" || fail "example config: $(cat "$T/collect")"

echo "$checks unit checks passed, $fails failed"
[ $fails -eq 0 ]
