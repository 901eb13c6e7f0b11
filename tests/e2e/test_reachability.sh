#!/bin/bash
# Continuous reachability of a ceremony-mode service over a long run (issue
# 14 item 2, docs/reachability.rst).  Takes about 90 minutes, so `make
# check` skips it; `make reachability` runs it (OB_REACHABILITY=1).
#
# A private Tor network voting every 150 s (time periods of 60 minutes, SRV
# runs starting 30 minutes before each), one v3 service of two backends with
# descriptor_lifetime 30 (the shortest an HSDir takes) in both configs,
# `ob-online run` with its default intervals and a scripted signer answering
# every request it writes (a ceremony as soon as one is asked for).  From the
# first upload on, a separate tor (the lab's client) asks every HSDir for the
# master descriptor every 30 s with HSFETCH ... SERVER=... (tests/e2e/hsprobe.py),
# which neither its cache nor its record of HSDirs asked can short-cut, and
# records which HSDirs served it and with which revision counter.
#
#   REACH_MIN=80        minutes of probing (at least 75 for the issue's figure)
#   REACH_INTERVAL=30   seconds between probes
#   REACH_LOG=FILE      where the measurement is appended (default
#                       $OB_BUILD/reachability.log)
#   REACH_ONLINE_EXTRA  extra lines for the daemon's config (e.g.
#                       "PUBLISH_CHECK_INTERVAL: 60"); none by default
#
# Passes when no probe found the descriptor missing from every HSDir.  The
# run folder is kept when it fails, removed otherwise.
set -u
cd "$(dirname "$0")/../.."
export OB_BUILD=${OB_BUILD:-build/san}
[ "${OB_REACHABILITY:-}" = 1 ] || {
    echo "skip: a 90-minute measurement; run it with make reachability (OB_REACHABILITY=1)"; exit 77; }
[ -x /usr/sbin/tor ] || { echo "skip: tor is not installed"; exit 77; }
export LAB_VOTE=150
. tests/e2e/torlab.sh
. tests/e2e/e2e_lib.sh
E2E_TP_MIN=$((LAB_VOTE * 24 / 60))
e2e_bins || { echo "skip: $OB_BUILD/ob-online and ob-offline are not built"; exit 77; }

REACH_MIN=${REACH_MIN:-80}
# The commit measured, taken now: the tree may change during the 90 minutes.
TREE=$(git describe --always --dirty 2>/dev/null) || TREE="unknown (not a git checkout)"
REACH_INTERVAL=${REACH_INTERVAL:-30}
REACH_LOG=${REACH_LOG:-$OB_BUILD/reachability.log}
LIFETIME=30
mkdir -p "$(dirname "$REACH_LOG")"
REACH_LOG=$(cd "$(dirname "$REACH_LOG")" && pwd)/$(basename "$REACH_LOG")

RUN=$(mktemp -d /tmp/ob-reach-XXXXXX)
chmod 700 "$RUN"
lab_init "$RUN"
ok=0
finish() {
    lab_stop_all
    if [ $ok -eq 1 ]; then rm -rf "$RUN"; else echo "logs kept in $RUN"; fi
}
trap finish EXIT
trap 'echo "interrupted"; exit 2' INT TERM
say() { lab_log "$*"; printf '%s\n' "$*" >>"$RUN/summary"; }

signer_loop() {
    local f base
    while :; do
        for f in "$RUN/outbox"/request-*.obb; do
            [ -f "$f" ] || continue
            base=$(basename "$f" .obb)
            [ -e "$RUN/signed/$base" ] && continue
            if OB_INSECURE_TEST_KDF=1 "$OFF" sign -c "$CFG/master/config.yaml" -i "$f" \
                -o "$RUN/inbox/.$base.tmp" --yes --passphrase-file "$LAB/passphrase" \
                >"$RUN/signed/$base.log" 2>&1; then
                mv "$RUN/inbox/.$base.tmp" "$RUN/inbox/response-${base#request-}.obb"
            fi
            touch "$RUN/signed/$base"
        done
        sleep 1
    done
}

t0=$(e2e_now)
lab_network || exit 1
say "network up (voting every ${LAB_VOTE}s, time periods of ${E2E_TP_MIN} min): $(e2e_since "$t0")s"
e2e_config_gen "$RUN/deploy" || exit 1
for f in "$CFG/master/config.yaml" "$CFG/online/config.yaml"; do
    echo "descriptor_lifetime: $LIFETIME" >>"$f"
done
lab_web 1 || exit 1
e2e_start_backend 1 && e2e_start_backend 2 && e2e_start_mgmt && e2e_start_client || exit 1
e2e_onl_tor
for n in hs1 hs2 mgmt client; do lab_wait_bootstrap "$n" 600 || exit 1; done

mkdir -p "$RUN/inbox" "$RUN/outbox" "$RUN/signed"
{
    cat "$CFG/online/config.yaml"
    echo "STATUS_SOCKET_LOCATION: $RUN/status.sock"
    [ -n "${REACH_ONLINE_EXTRA:-}" ] && printf '%s\n' "$REACH_ONLINE_EXTRA"
} >"$RUN/run.yaml"
"$ONL" run -c "$RUN/run.yaml" --inbox "$RUN/inbox" --outbox "$RUN/outbox" "${ONL_TOR[@]}" \
    >>"$RUN/daemon.log" 2>&1 &
lab_record $! daemon
signer_loop &
lab_record $! signer
for _ in $(seq 1 1800); do
    grep -q "published .* to [1-9]" "$RUN/daemon.log" && break
    sleep 0.5
done
grep -q "published .* to [1-9]" "$RUN/daemon.log" || { say "the daemon published nothing in 15 minutes"; exit 1; }
say "master $MASTER first published $(e2e_since "$t0")s after the network started"

cport=$(lab_port 28)
python3 tests/e2e/hsprobe.py "$cport" "$LAB/client/control_auth_cookie" "$MASTER" \
    $((REACH_MIN * 60)) "$REACH_INTERVAL" "$RUN/probes"
rc=$?
[ $rc -eq 2 ] && { say "the probe could not run"; exit 1; }

{
    echo "=== reachability run $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
    echo "binaries: $OB_BUILD ($("$ONL" version 2>/dev/null | head -n1)); tree $TREE"
    echo "tor: $(/usr/sbin/tor --version | head -n1)"
    echo "network: voting ${LAB_VOTE}s, time period ${E2E_TP_MIN} min; descriptor_lifetime $LIFETIME;" \
        "daemon config extra: ${REACH_ONLINE_EXTRA:-none (defaults)}"
    cat "$RUN/summary"
    echo "daemon: $(grep -c 'published ' "$RUN/daemon.log") upload rounds logged," \
        "$(grep -c 'inbox: picked up response' "$RUN/daemon.log") responses picked up"
    grep -E 'published |picked up|wrote signing request' "$RUN/daemon.log" | sed 's/^/  daemon| /'
    sed 's/^/  probe| /' "$RUN/probes"
} >>"$REACH_LOG"
echo "measurement appended to $REACH_LOG"
[ $rc -eq 0 ] && ok=1
exit $rc
