#!/bin/bash
# End to end on a private Tor network on 127.0.0.1 (issue 7, docs/e2e.rst).
# One network, started once, serves the scenarios in sequence; each prints
# its own PASS/FAIL line with its duration:
#
#   ceremony      config-gen -> backends -> collect -> sign -> publish -> the
#                 client fetches the master address through SOCKS
#   qr            the same, the request and the response crossing only as
#                 PNG frames (qr encode -> zbar via qr decode)
#   reference     Debian's onionbalance 0.2.2 on the same backends: its cold
#                 start to reachable against ours, descriptor shape by stem
#   daemon        ob-online run with inbox/outbox and a scripted signer; the
#                 client reaches the service before and after a time period
#                 change
#   torrestart    the management tor restarted during run; publishing resumes
#   torkill       the management tor killed (SIGKILL) right after it took an
#                 HSPOST from publish: a clean exit 2 naming the lost tor,
#                 the response untouched, publish again works; killed with
#                 a tor back at once: publish reconnects and finishes; the
#                 same under ob-online run: the daemon reconnects, uploads
#   failover      backend 2 stopped; after the daemon's next refresh and a new
#                 ceremony the client still reaches the service on backend 1
#
#   E2E_ONLY="qr daemon"   run only these (ceremony is always run first)
# The run directory (logs of every tor, the programs' outputs) is kept when
# anything fails and its path printed; removed after a clean run.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export OB_BUILD=${OB_BUILD:-build/san}
[ -x /usr/sbin/tor ] || { echo "skip: tor is not installed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
. tests/e2e/torlab.sh
. tests/e2e/e2e_lib.sh
e2e_bins || { echo "skip: $OB_BUILD/ob-online and ob-offline are not built"; exit 77; }

RUN=$(mktemp -d /tmp/ob-e2e-XXXXXX)
chmod 700 "$RUN"
lab_init "$RUN"
fails=0
T0=$(e2e_now)
finish() {
    lab_stop_all
    if [ $fails -eq 0 ]; then
        rm -rf "$RUN"
    else
        echo "logs of the failed run kept in $RUN"
    fi
}
trap finish EXIT
trap 'echo "interrupted"; fails=$((fails + 1)); exit 2' INT TERM

want() { [ -z "${E2E_ONLY:-}" ] || [[ " $E2E_ONLY " == *" $1 "* ]]; }
# scenario NAME FUNCTION: run it, print PASS/FAIL and its duration
scenario() {
    local name=$1 start rc
    start=$(e2e_now)
    lab_log "=== scenario $name"
    "$2"
    rc=$?
    if [ $rc -eq 0 ]; then
        printf 'PASS %-12s %6ss\n' "$name" "$(e2e_since "$start")"
    else
        printf 'FAIL %-12s %6ss\n' "$name" "$(e2e_since "$start")"
        fails=$((fails + 1))
    fi
    return $rc
}
note() { printf '     %s\n' "$*"; }

# --- the network, the deployment, the tors -----------------------------------
setup() {
    local t
    t=$(e2e_now)
    lab_network || return 1
    NET_SECS=$(e2e_since "$t")
    note "network up (consensus with 7 HSDirs): ${NET_SECS}s"
    e2e_config_gen "$RUN/deploy" || return 1
    note "master address $MASTER"
    lab_web 1 || return 1
    t=$(e2e_now)
    e2e_start_backend 1 && e2e_start_backend 2 && e2e_start_mgmt && e2e_start_client || return 1
    e2e_onl_tor
    for n in hs1 hs2 mgmt client; do lab_wait_bootstrap "$n" 120 || return 1; done
    note "backends, management tor and client bootstrapped: $(e2e_since "$t")s"
}

# --- ceremony ---------------------------------------------------------------
ceremony() {
    local t
    t=$(e2e_now)
    e2e_ceremony "$RUN/req1.obb" "$RUN/resp1.obb" || { note "collect or sign failed: $(tail -n3 "$RUN/resp1.obb.log")"; return 1; }
    e2e_publish "$RUN/resp1.obb" || { note "publish failed"; return 1; }
    note "collect+sign+publish: $(e2e_since "$t")s; $(grep -c 'uploaded' "$RUN/resp1.obb.publish.log") upload lines"
    e2e_reach 120 || { note "master $MASTER not reachable in ${REACH_SECS}s"; return 1; }
    COLD_SECS=$(e2e_since "$t")
    note "page through Tor: '$PAGE' (${REACH_SECS}s after publish; cold start to reachable ${COLD_SECS}s)"
}

# --- QR ceremony: the bundles cross only as PNG frames -----------------------
qr() {
    local a=$RUN/qr round rc
    for round in 1 2; do
        rm -rf "$a"
        mkdir -p "$a/online" "$a/offline" "$a/req-frames" "$a/resp-frames"
        e2e_collect "$a/online/request.obb" || return 1
        "$ONL" qr encode "$a/online/request.obb" -o "$a/req-frames" >"$a/enc1.log" 2>&1 || {
            note "qr encode request: $(cat "$a/enc1.log")"; return 1; }
        # The offline side sees the pictures only.
        "$OFF" qr decode -o "$a/offline/request.obb" "$a"/req-frames/*.png >"$a/dec1.log" 2>&1 || {
            note "qr decode request: $(tail -n2 "$a/dec1.log")"; return 1; }
        cmp -s "$a/online/request.obb" "$a/offline/request.obb" || { note "request changed in transit"; return 1; }
        e2e_sign "$a/offline/request.obb" "$a/offline/response.obb"
        rc=$?
        [ $rc -eq 3 ] && [ $round -eq 1 ] && {
            note "sign: a period is over at the boundary; again on the next consensus"
            e2e_wait_consensus "$a/online/request.obb"
            continue
        }
        [ $rc -eq 0 ] || return 1
        break
    done
    "$OFF" qr encode "$a/offline/response.obb" -o "$a/resp-frames" >"$a/enc2.log" 2>&1 || {
        note "qr encode response: $(cat "$a/enc2.log")"; return 1; }
    "$ONL" qr decode -o "$a/online/response.obb" "$a"/resp-frames/*.png >"$a/dec2.log" 2>&1 || {
        note "qr decode response: $(tail -n2 "$a/dec2.log")"; return 1; }
    cmp -s "$a/offline/response.obb" "$a/online/response.obb" || { note "response changed in transit"; return 1; }
    note "frames: request $(ls "$a"/req-frames/*.png | wc -l), response $(ls "$a"/resp-frames/*.png | wc -l) PNGs"
    e2e_publish "$a/online/response.obb" || return 1
    e2e_reach 120 || { note "not reachable after the QR ceremony"; return 1; }
    note "page through Tor after the QR ceremony in ${REACH_SECS}s"
}

# --- tor killed in the middle of an upload ------------------------------------
# tests/e2e/ctlkill.py relays ob-online's control connection to the
# management tor and kills that tor (SIGKILL, by pid) the moment it answers
# an HSPOST with 250: the descriptor is being uploaded and publish waits for
# tor's HS_DESC events.
# ctlkill_start TOR_PORT PIDFILE [AFTER_PORT]: a fresh relay on KPORT
ctlkill_start() {
    local n
    KPORT=$(lab_port 29)
    lab_stop ctlkill
    : >>"$RUN/ctlkill.log"
    n=$(grep -c "listening on" "$RUN/ctlkill.log")
    /usr/bin/python3 "$ROOT/tests/e2e/ctlkill.py" "$KPORT" "$@" >>"$RUN/ctlkill.log" 2>&1 &
    lab_record $! ctlkill
    COUNT=$n wait_grep "$RUN/ctlkill.log" "listening on" 5
}
torkill_run() { # torkill_run RESP LOG [AFTER_PORT]: publish through a fresh relay; exit status
    local rc
    ctlkill_start "$MGMT_PORT" "$LAB/mgmt/pid" ${3:+"$3"} || { note "ctlkill.py did not start"; return 1; }
    # A publish that never ends is a failure too (exit 124), not a hung test.
    timeout 300 "$ONL" publish -c "$CFG/online/config.yaml" "$1" -i 127.0.0.1 -p "$KPORT" -s '' >"$2" 2>&1
    rc=$?
    [ $rc -eq 124 ] && note "publish hung (killed after 300 s)"
    return $rc
}

# mgmt_restart: start the management tor again; wait until this run of it
# bootstrapped (its log keeps the earlier runs' lines).
mgmt_restart() {
    local n i
    n=$(grep -c 'Bootstrapped 100%' "$LAB/mgmt/notice.log" 2>/dev/null)
    e2e_tor_args mgmt --ControlPort "127.0.0.1:$MGMT_PORT" || return 1
    for i in $(seq 1 240); do
        [ "$(grep -c 'Bootstrapped 100%' "$LAB/mgmt/notice.log")" -gt "$n" ] && return 0
        sleep 0.5
    done
    note "the management tor did not bootstrap again"
    return 1
}

# The daemon's upload: the standby tor (up, bootstrapped) killed the moment
# it takes the daemon's HSPOST of a new response from the inbox, and no tor
# there for a while: the upload in progress gives up (2 s), the daemon's
# loop reconnects with backoff to the management tor once it is started
# again (the relay turns to it), uploads the response again, keeps running.
# (With a tor back within the 2 s, the upload itself reconnects, as
# publish's does above.)
torkill_daemon() {
    local d=$RUN/tk-daemon.log t saved=("${ONL_TOR[@]}")
    lab_stop mgmt
    ctlkill_start "$(lab_port 38)" "$LAB/standby/pid" "$MGMT_PORT" || { note "ctlkill.py did not start"; return 1; }
    mkdir -p "$RUN/tk-in" "$RUN/tk-out"
    { cat "$CFG/online/config.yaml"; echo "STATUS_SOCKET_LOCATION: $RUN/tk-status.sock"; } >"$RUN/tk-run.yaml"
    "$ONL" run -c "$RUN/tk-run.yaml" --inbox "$RUN/tk-in" --outbox "$RUN/tk-out" -i 127.0.0.1 -p "$KPORT" -s '' \
        >"$d" 2>&1 &
    lab_record $! tkdaemon
    wait_grep "$d" "connected to tor" 30 || { note "the daemon did not connect: $(tail -n3 "$d")"; return 1; }
    # The ceremony's collect straight from the standby (the management tor is down).
    ONL_TOR=(-i 127.0.0.1 -p "$(lab_port 38)" -s '')
    e2e_ceremony "$RUN/req-tk3.obb" "$RUN/tk-in/.resp-tk3.tmp"
    t=$?
    ONL_TOR=("${saved[@]}")
    [ $t -eq 0 ] || return 1
    mv "$RUN/tk-in/.resp-tk3.tmp" "$RUN/tk-in/response-tk3.obb"
    COUNT=2 wait_grep "$RUN/ctlkill.log" "killed it" 60 || { note "the daemon's HSPOST never reached tor"; return 1; }
    t=$(e2e_now)
    wait_grep "$d" "lost the connection to tor" 30 || { note "the daemon did not notice: $(tail -n3 "$d")"; return 1; }
    mgmt_restart || return 1
    wait_grep "$d" "reconnected to tor" 60 || { note "the daemon did not reconnect: $(tail -n3 "$d")"; return 1; }
    # An upload that reached HSDirs, logged after the reconnect.
    for _ in $(seq 1 120); do
        sed -n '/reconnected to tor/,$p' "$d" | grep -q "published .* to [1-9]" && break
        sleep 0.5
    done
    sed -n '/reconnected to tor/,$p' "$d" | grep -q "published .* to [1-9]" || {
        note "no upload after the reconnect:"; grep -v refreshed "$d" | tail -n 8 | sed 's/^/       /'; return 1; }
    note "the daemon, tor killed after its HSPOST and started again: published $(e2e_since "$t")s after the kill:" \
        "$(sed -n '/reconnected to tor/,$p' "$d" | grep -m1 "published .* to [1-9]" | cut -d' ' -f4-)"
    kill -0 "$(sed -n 's/ tkdaemon$//p' "$LAB/pids")" 2>/dev/null || { note "the daemon died: $(tail -n3 "$d")"; return 1; }
    grep -qi "sanitizer\|runtime error" "$d" && { cat "$d"; return 1; }
    lab_stop tkdaemon
}

torkill() {
    local resp=$RUN/resp-tk.obb sum rc t
    # A second tor, bootstrapping meanwhile, to be "tor back at once" below.
    lab_tor standby 38 <<<"SocksPort 0" || return 1
    e2e_ceremony "$RUN/req-tk.obb" "$resp" || return 1
    sum=$(sha256sum <"$resp")
    # Killed, not started again: publish gives up after its reconnect wait.
    t=$(e2e_now)
    torkill_run "$resp" "$RUN/tk1.log"
    rc=$?
    grep -q "took the HSPOST; killed it" "$RUN/ctlkill.log" || { note "tor was never killed: $(cat "$RUN/ctlkill.log")"; return 1; }
    note "publish with tor killed mid-upload: exit $rc after $(e2e_since "$t")s: $(grep -v '^response ' "$RUN/tk1.log" | tail -n1)"
    [ $rc -eq 2 ] && grep -q "lost tor while publishing" "$RUN/tk1.log" || {
        note "want exit 2 and 'lost tor while publishing'"; cat "$RUN/tk1.log"; return 1; }
    # Not before its reconnect wait (60 s, docs/online.rst) was over.
    awk -v s="$(e2e_since "$t")" 'BEGIN { exit !(s >= 59) }' || { note "publish gave up before 60 s"; return 1; }
    grep -qi "sanitizer\|runtime error" "$RUN/tk1.log" && { cat "$RUN/tk1.log"; return 1; }
    [ "$(sha256sum <"$resp")" = "$sum" ] || { note "the response changed"; return 1; }
    # Later, with tor back: the same response is published and reachable.
    lab_stop mgmt
    mgmt_restart || return 1
    e2e_publish "$resp" || { note "publish after tor came back failed"; return 1; }
    note "tor back: $(tail -n1 "$resp.publish.log")"
    e2e_reach 120 || { note "not reachable after publishing again"; return 1; }
    note "reachable ${REACH_SECS}s after publishing again"
    # Killed with a tor back at once (the standby, to which the relay turns):
    # publish reconnects, posts again, finishes.  A new ceremony: the HSDirs
    # hold the first response's revision now and refuse the same one again.
    lab_wait_bootstrap standby 120 || return 1
    e2e_ceremony "$RUN/req-tk2.obb" "$RUN/resp-tk2.obb" || return 1
    t=$(e2e_now)
    torkill_run "$RUN/resp-tk2.obb" "$RUN/tk2.log" "$(lab_port 38)"
    rc=$?
    [ "$(grep -c "killed it" "$RUN/ctlkill.log")" -eq 2 ] || { note "tor was not killed the second time"; return 1; }
    note "killed with a tor back at once: publish exit $rc after $(e2e_since "$t")s: $(tail -n1 "$RUN/tk2.log")"
    [ $rc -eq 0 ] && grep -q "reached at least one HSDir" "$RUN/tk2.log" || { cat "$RUN/tk2.log"; return 1; }
    torkill_daemon || return 1
    lab_stop ctlkill
    lab_stop standby
    lab_stop mgmt
    mgmt_restart
}

# --- the daemon, with a scripted offline signer ------------------------------
# The signer answers every new request in the outbox with a response in the
# inbox (written under a dot name and renamed, as an operator's copy would).
signer_loop() {
    local f base
    while :; do
        for f in "$RUN/outbox"/request-*.obb; do
            [ -f "$f" ] || continue
            base=$(basename "$f" .obb)
            [ -e "$RUN/signed/$base" ] && continue
            if OB_INSECURE_TEST_KDF=1 "$OFF" sign -c "$CFG/master/config.yaml" -i "$f" -o "$RUN/inbox/.$base.tmp" \
                --yes --passphrase-file "$LAB/passphrase" >"$RUN/signed/$base.log" 2>&1; then
                mv "$RUN/inbox/.$base.tmp" "$RUN/inbox/response-${base#request-}.obb"
            fi
            touch "$RUN/signed/$base"
        done
        sleep 1
    done
}

start_daemon() {
    mkdir -p "$RUN/inbox" "$RUN/outbox" "$RUN/signed"
    if [ ! -f "$RUN/run.yaml" ]; then
        # A short refresh so failover does not wait 10 minutes.
        { cat "$CFG/online/config.yaml"; echo "REFRESH_INTERVAL: 20"; echo "PUBLISH_CHECK_INTERVAL: 20"
          echo "STATUS_SOCKET_LOCATION: $RUN/status.sock"; } >"$RUN/run.yaml"
    fi
    "$ONL" run -c "$RUN/run.yaml" --inbox "$RUN/inbox" --outbox "$RUN/outbox" "${ONL_TOR[@]}" \
        >>"$RUN/daemon.log" 2>&1 &
    lab_record $! daemon
    if ! grep -q ' signer$' "$LAB/pids"; then
        signer_loop &
        lab_record $! signer
    fi
}

# wait_grep FILE PATTERN SECS: until FILE has a line matching PATTERN; with
# COUNT set, until it has more than COUNT such lines.
wait_grep() {
    local i n
    for i in $(seq 1 $(($3 * 2))); do
        n=$(grep -c -- "$2" "$1" 2>/dev/null)
        [ "${n:-0}" -gt "${COUNT:-0}" ] && return 0
        sleep 0.5
    done
    return 1
}

daemon() {
    local tp0 left n_req n_pub
    start_daemon
    wait_grep "$RUN/daemon.log" "picked up response" 90 || { note "no response picked up"; return 1; }
    wait_grep "$RUN/daemon.log" "published .* to [1-9]" 60 || { note "no publishing"; return 1; }
    e2e_reach 120 || { note "not reachable with the daemon (before the period change)"; return 1; }
    tp0=$(e2e_tp_now)
    note "reachable with the daemon in ${REACH_SECS}s (period $tp0)"
    # Across the period change: the backends' descriptors for the new period
    # carry other introduction points, so the daemon must write a new
    # request, the signer answer it, and the daemon publish the new period's
    # descriptor from it.
    n_req=$(grep -c "outbox: wrote signing request" "$RUN/daemon.log")
    n_pub=$(grep -c "published .* period $((tp0 + 1)) .* to [1-9]" "$RUN/daemon.log")
    left=$(e2e_tp_left)
    note "waiting ${left}s for the next time period"
    sleep "$left"
    while [ "$(e2e_tp_now)" -eq "$tp0" ]; do sleep 1; done
    COUNT=$n_req wait_grep "$RUN/daemon.log" "outbox: wrote signing request" 90 || {
        note "no new request after the change"; return 1; }
    COUNT=$n_pub wait_grep "$RUN/daemon.log" "published .* period $((tp0 + 1)) .* to [1-9]" 60 || {
        note "no descriptor for period $((tp0 + 1)) published; daemon log:"
        grep -v refreshed "$RUN/daemon.log" | tail -n 8 | sed 's/^/       /'
        return 1
    }
    note "after the change: requests written $(ls "$RUN/outbox" | wc -l), answered $(ls "$RUN/inbox" | wc -l)," \
        "period $((tp0 + 1)) published"
    e2e_reach 120 || { note "not reachable after the period change (period $(e2e_tp_now))"; return 1; }
    note "reachable after the period change (period $(e2e_tp_now)) in ${REACH_SECS}s"
}

torrestart() {
    local n_rec n_ref n_pub t
    grep -q ' daemon$' "$LAB/pids" || start_daemon
    n_rec=$(grep -c "reconnected to tor" "$RUN/daemon.log")
    lab_stop mgmt
    t=$(e2e_now)
    e2e_tor_args mgmt --ControlPort "127.0.0.1:$MGMT_PORT" || return 1
    COUNT=$n_rec wait_grep "$RUN/daemon.log" "reconnected to tor" 60 || {
        note "the daemon did not reconnect"; return 1; }
    note "the daemon reconnected $(e2e_since "$t")s after tor was started again"
    # Fetching through the new tor: the daemon's next refresh finds both
    # instances.
    n_ref=$(grep -c "refreshed .* 2 instance(s) ok" "$RUN/daemon.log")
    COUNT=$n_ref wait_grep "$RUN/daemon.log" "refreshed .* 2 instance(s) ok" 60 || {
        note "no good refresh after the restart"; return 1; }
    # Uploading through the new tor: a new response in the inbox, as the
    # operator brings one, is published without anything else done.
    n_pub=$(grep -c "published .* to [1-9]" "$RUN/daemon.log")
    e2e_ceremony "$RUN/req-tr.obb" "$RUN/inbox/.resp-tr.tmp" || return 1
    mv "$RUN/inbox/.resp-tr.tmp" "$RUN/inbox/response-torrestart.obb"
    COUNT=$n_pub wait_grep "$RUN/daemon.log" "published .* to [1-9]" 60 || {
        note "no upload after the restart"; return 1; }
    e2e_reach 120 || return 1
    note "published again through the restarted tor; reachable in ${REACH_SECS}s"
}

failover() {
    local stop_t refreshes
    refreshes=$(grep -c "refreshed" "$RUN/daemon.log")
    lab_stop hs2
    stop_t=$(e2e_now)
    # The client, forgetting everything before each try, from the moment of
    # the stop: how long until it gets the page again.
    e2e_reach 180 || { note "not reachable within ${REACH_SECS}s of stopping backend 2"; return 1; }
    FAILOVER_SECS=$(e2e_since "$stop_t")
    note "backend 2 stopped: first page again ${FAILOVER_SECS}s after the stop ($E2E_TRY tries so far)"
    # The daemon's next refresh after the stop, then a new ceremony by hand.
    COUNT=$refreshes wait_grep "$RUN/daemon.log" "refreshed" 60 || { note "no refresh after the stop"; return 1; }
    note "daemon after the stop: $(grep refreshed "$RUN/daemon.log" | tail -n1 | cut -d' ' -f4-)"
    E2E_WANT=1 e2e_ceremony "$RUN/req-fo.obb" "$RUN/resp-fo.obb" || return 1
    e2e_publish "$RUN/resp-fo.obb" || return 1
    e2e_reach 180 || { note "not reachable on backend 1 alone after the new ceremony"; return 1; }
    note "after the new ceremony: page through backend 1 alone in ${REACH_SECS}s"
}

# --- reference check: Debian's onionbalance 0.2.2 on the same backends -------
# It gets a master key of its own (onionbalance-config); the harness adds that
# address as a second MasterOnionAddress to each backend's ob_config (tor
# accepts several) and reloads them, so the backends serve clients of either
# master.  Both tools' master descriptors, fetched by the client, are decrypted
# by stem and compared.
PY=/usr/bin/python3
desc_shape() { # desc_shape NAME ADDRESS: "<intro points> <lifetime>" of the client's copy
    local a=${2%.onion} i
    for i in $(seq 1 20); do
        e2e_ctl client "GETINFO hs/client/desc/id/$a" | tr -d '\r' | sed -n '/^250+/,/^\.$/p' | sed '1d;$d' \
            >"$RUN/$1.desc"
        [ -s "$RUN/$1.desc" ] && break
        e2e_ctl client "HSFETCH $a" >/dev/null
        sleep 1
    done
    $PY - "$RUN/$1.desc" "$2" <<'PYEOF'
import sys
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
d = HiddenServiceDescriptorV3.from_str(open(sys.argv[1]).read())
inner = d.decrypt(sys.argv[2])
print(len(inner.introduction_points), d.lifetime)
PYEOF
}

reference() {
    local t ours theirs key refaddr saved rc
    command -v onionbalance >/dev/null || { note "onionbalance is not installed (tests/deps.sh)"; return 1; }
    onionbalance-config --hs-version v3 --no-interactive -n 2 --output "$RUN/ref" >"$RUN/ref-config.log" 2>&1 || {
        note "onionbalance-config: $(cat "$RUN/ref-config.log")"; return 1; }
    key=$(basename "$(ls "$RUN"/ref/*.key)")
    refaddr=${key%.key}.onion
    {
        echo "services:"
        echo "- key: $key"
        echo "  instances:"
        echo "  - address: $(cat "$CFG/node1/hidden_service/hostname")"
        echo "    name: node1"
        echo "  - address: $(cat "$CFG/node2/hidden_service/hostname")"
        echo "    name: node2"
    } >"$RUN/ref/config.yaml"
    for n in 1 2; do
        echo "MasterOnionAddress $refaddr" >>"$CFG/node$n/hidden_service/ob_config"
        e2e_ctl "hs$n" "SIGNAL RELOAD" | grep -q "^250 OK" || { note "hs$n did not reload"; return 1; }
    done
    # Ours from a cold start under the same conditions (backends long up):
    # collect, sign, publish, page.
    t=$(e2e_now)
    e2e_ceremony "$RUN/req-ref.obb" "$RUN/resp-ref.obb" && e2e_publish "$RUN/resp-ref.obb" && e2e_reach 120 || {
        note "our ceremony before the reference failed"; return 1; }
    OURS_COLD=$(e2e_since "$t")
    t=$(e2e_now)
    onionbalance --is-testnet -i 127.0.0.1 -p "$MGMT_PORT" -s "$RUN/no-such-socket" -c "$RUN/ref/config.yaml" \
        -v info >"$RUN/onionbalance.log" 2>&1 &
    lab_record $! onionbalance
    saved=$MASTER
    MASTER=$refaddr
    e2e_reach 150
    rc=$?
    MASTER=$saved
    if [ $rc -eq 0 ]; then
        REF_COLD=$(e2e_since "$t")
        note "onionbalance 0.2.2: cold start to reachable ${REF_COLD}s (ours: ${OURS_COLD}s)"
    else
        REF_COLD=never
        note "onionbalance 0.2.2: its master $refaddr NOT reachable within ${REACH_SECS}s of its start" \
            "($(grep -c 'Uploading' "$RUN/onionbalance.log") uploads in its log; ours: ${OURS_COLD}s)"
    fi
    theirs=$(desc_shape ref "$refaddr") || { note "stem could not read onionbalance's descriptor"; lab_stop onionbalance; return 1; }
    ours=$(desc_shape ours "$MASTER") || { note "stem could not read our descriptor"; lab_stop onionbalance; return 1; }
    note "descriptor shape by stem (intro points, lifetime min): ours $ours, onionbalance $theirs"
    lab_stop onionbalance
    [ "${ours%% *}" -ge 1 ] && [ "${theirs%% *}" -ge 1 ] && [ "${ours#* }" = "${theirs#* }" ] || {
        note "the descriptors differ in shape"; return 1; }
    [ "$REF_COLD" = never ] || awk -v a="$OURS_COLD" -v b="$REF_COLD" 'BEGIN { exit !(a <= b) }' || {
        note "ours was slower from a cold start"; return 1; }
}

for fn in setup; do scenario setup setup || exit 1; done
scenario ceremony ceremony || exit 1
want qr && scenario qr qr
want torkill && scenario torkill torkill
want reference && scenario reference reference
if want daemon || want torrestart || want failover; then
    want daemon && scenario daemon daemon
    want torrestart && scenario torrestart torrestart
    want failover && scenario failover failover
fi
echo "total $(e2e_since "$T0")s; network ${NET_SECS:-?}s; cold start to reachable: ours ${OURS_COLD:-${COLD_SECS:-?}}s," \
    "onionbalance $(case ${REF_COLD:-?} in never | '?') echo "${REF_COLD:-?}" ;; *) echo "${REF_COLD}s" ;; esac); failover: page again ${FAILOVER_SECS:-?}s after the stop"
[ $fails -eq 0 ]
