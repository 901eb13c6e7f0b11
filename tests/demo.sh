#!/bin/bash
# make demo: one load-balanced onion service, signed offline, reached through
# Tor - on a private Tor network on this machine (127.0.0.1 only).
# make demo MODE=delegated (DEMO_MODE=delegated): the delegated mode instead,
# described below the ceremony's steps.
#
# Installs what is missing (make deps), builds (make all), then runs the
# ceremony with narration: config-gen, the backends, collect on the online
# side, the request crossing as QR frames (PNGs), sign on the offline side, the
# response crossing back, publish, and the page fetched from the master onion
# address through a Tor client.  Everything it starts is stopped by pid; the
# run folder is removed after a clean run and kept (path printed) otherwise.
#
# Delegated mode: after the backends, the online side asks for a
# certification (ob-online delegate request), the request crosses as QR
# frames, the offline side certifies descriptor-signing keys for the coming
# days (ob-offline certify), the response crosses back and is dropped into
# the inbox of `ob-online run`, which installs it, signs and publishes by
# itself; the client reaches the service; a backend is restarted (new
# introduction points) and the daemon signs anew with no trip to the offline
# machine; the client reaches it again.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export OB_BUILD=$BUILD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
role() { printf '   [%s] %s\n' "$1" "$2"; }

if ! ./tests/deps.sh >/dev/null 2>&1; then
    say "Installing what is missing (make deps)"
    make deps || { echo "demo: make deps failed (run it as root)"; exit 2; }
fi
make -s BUILD="$BUILD" all || { echo "demo: the build failed"; exit 2; }

. tests/e2e/torlab.sh
. tests/e2e/e2e_lib.sh
e2e_bins || { echo "demo: $BUILD/ob-online or ob-offline missing"; exit 2; }

RUN=$(mktemp -d /tmp/ob-demo-XXXXXX)
chmod 700 "$RUN"
lab_init "$RUN"
ok=0
T0=$(e2e_now)
finish() {
    lab_stop_all
    if [ $ok -eq 1 ] && [ -z "${DEMO_KEEP:-}" ]; then
        rm -rf "$RUN"
        echo "demo: every process stopped, $RUN removed."
    else
        echo "demo: something failed; every process stopped; logs (each tor's notice.log, the programs' outputs) are in $RUN"
    fi
}
trap finish EXIT
trap 'exit 2' INT TERM
die() { echo "demo: $*"; exit 1; }

say "A private Tor network on 127.0.0.1 (3 directory authorities, 4 relays)"
echo "   It stands in for the Tor network; nothing here talks to anything but 127.0.0.1."
lab_network 2>>"$RUN/torlab.log" || die "the test network did not come up"
role network "consensus with 7 HSDirs after $(e2e_since "$T0")s"

say "OFFLINE machine: ob-offline config-gen"
role offline "makes the master key (encrypted with a passphrase), its config, and one folder per backend"
e2e_config_gen "$RUN/deploy" || die "config-gen failed"
role offline "master onion address: $MASTER"
role offline "backends: $(cat "$CFG"/node1/hidden_service/hostname) $(cat "$CFG"/node2/hidden_service/hostname)"

say "BACKENDS and the ONLINE machine start their tors"
role backend "two tors from config-gen's node1/ and node2/ (HiddenServiceOnionbalanceInstance), serving one web page"
role online "the management tor from config-gen's online/torrc (control port only); a Tor client to test with"
lab_web 1 || die "web server"
e2e_start_backend 1 && e2e_start_backend 2 && e2e_start_mgmt && e2e_start_client || die "a tor did not start"
e2e_onl_tor
for n in hs1 hs2 mgmt client; do lab_wait_bootstrap "$n" 120 2>>"$RUN/torlab.log" || die "$n did not bootstrap"; done
role network "all bootstrapped after $(e2e_since "$T0")s"

digest() { "$1" inspect "$2" 2>/dev/null | sed -n 's/^digest: *//p'; }

# wait_log PATTERN SECS [COUNT]: until the daemon's log has more than COUNT such lines.
wait_log() {
    local i
    for i in $(seq 1 $(($2 * 2))); do
        [ "$(grep -c -- "$1" "$RUN/daemon.log" 2>/dev/null)" -gt "${3:-0}" ] && return 0
        sleep 0.5
    done
    return 1
}

delegated() {
    export OB_DELEGATED_STORE=$RUN/online-state/delegated OB_REQUEST_STORE=$RUN/online-state/requests
    mkdir -p "$RUN/online" "$RUN/offline" "$RUN/qr-request" "$RUN/qr-response" "$RUN/inbox" "$RUN/outbox"
    sed "s/^TOR_PORT: .*/TOR_PORT: $MGMT_PORT/" "$CFG/online/config.yaml" >"$RUN/online/config.yaml"

    say "ONLINE machine: ob-online delegate request"
    role online "makes a descriptor-signing key per time period of the next day, keeps the private halves,"
    role online "and asks the offline side to certify the public halves"
    "$ONL" delegate request -c "$RUN/online/config.yaml" -o "$RUN/online/certreq.obb" --days 1 \
        >"$RUN/certreq.log" 2>&1 || { cat "$RUN/certreq.log"; die "delegate request failed"; }
    sed 's/^/     /' "$RUN/certreq.log" | head -n 12

    say "The request crosses the air gap as QR codes"
    "$ONL" qr encode "$RUN/online/certreq.obb" -o "$RUN/qr-request" >/dev/null || die "qr encode"
    "$OFF" qr decode -o "$RUN/offline/certreq.obb" "$RUN"/qr-request/*.png >"$RUN/qr-decode1.log" 2>&1 || die "qr decode"
    role offline "$(ls "$RUN"/qr-request/*.png | wc -l) frames read back by zbar"

    say "OFFLINE machine: ob-offline certify"
    role offline "checks every period against its own clock and config, then signs a certificate per period"
    role offline "with that period's blinded key; the identity key and the blinded keys stay here"
    OB_INSECURE_TEST_KDF=1 "$OFF" certify -c "$CFG/master/config.yaml" -i "$RUN/offline/certreq.obb" \
        -o "$RUN/offline/certresp.obb" --yes --passphrase-file "$LAB/passphrase" >"$RUN/certify.log" 2>&1 || {
        cat "$RUN/certify.log"; die "certify failed"; }
    sed 's/^/     /' "$RUN/certify.log" | head -n 30

    say "The certification crosses back as QR codes, into the daemon's inbox"
    "$OFF" qr encode "$RUN/offline/certresp.obb" -o "$RUN/qr-response" >/dev/null || die "qr encode"
    "$ONL" qr decode -o "$RUN/inbox/.certresp.tmp" "$RUN"/qr-response/*.png >"$RUN/qr-decode2.log" 2>&1 || die "qr decode"
    role online "$(ls "$RUN"/qr-response/*.png | wc -l) frames read back by zbar"

    say "ONLINE machine: ob-online run, the daemon"
    role online "installs the certification from its inbox, then signs and publishes the master descriptors itself"
    { cat "$RUN/online/config.yaml"; echo "REFRESH_INTERVAL: 10"; echo "PUBLISH_CHECK_INTERVAL: 10"
      echo "STATUS_SOCKET_LOCATION: $RUN/status.sock"; } >"$RUN/online/run.yaml"
    "$ONL" run -c "$RUN/online/run.yaml" --inbox "$RUN/inbox" --outbox "$RUN/outbox" "${ONL_TOR[@]}" \
        >>"$RUN/daemon.log" 2>&1 &
    lab_record $! daemon
    mv "$RUN/inbox/.certresp.tmp" "$RUN/inbox/certresp.obb"
    wait_log "published .*delegated.*: uploaded to [1-9]" 90 || { tail -n 20 "$RUN/daemon.log"; die "nothing published"; }
    grep -E "certif|signed [0-9]|published" "$RUN/daemon.log" | cut -d' ' -f2- | sed 's/^/     /' | head -n 12

    say "A Tor client visits http://$MASTER/"
    e2e_reach 90 2>>"$RUN/torlab.log" || die "the master address was not reachable"
    role client "got: $PAGE (${REACH_SECS}s)"

    say "A backend restarts: new introduction points, no trip to the offline machine"
    n=$(grep -c "signed .*delegated keys (.*introduction points changed" "$RUN/daemon.log")
    lab_stop hs1
    e2e_tor_args hs1 --ControlPort "127.0.0.1:$(lab_port 31)" || die "backend 1 did not start again"
    wait_log "signed .*delegated keys (.*introduction points changed" 90 "$n" || die "the daemon did not sign anew"
    grep -E "introduction points changed|published" "$RUN/daemon.log" | tail -n 4 | cut -d' ' -f2- | sed 's/^/     /'
    e2e_reach 90 2>>"$RUN/torlab.log" || die "the master address was not reachable after the restart"
    role client "got: $PAGE (${REACH_SECS}s)"

    say "What the online side holds"
    "$ONL" delegate status -c "$RUN/online/config.yaml" 2>&1 | sed 's/^/     /' | head -n 8
    "$ONL" status --socket "$RUN/status.sock" | tr ',' '\n' | grep -E "certifiedUntil|onionAddress\": \"$MASTER" |
        sed 's/^[ {]*/     /'
    role client "the whole demo took $(e2e_since "$T0")s"
    echo "   The master key never left the OFFLINE side: the online machine holds descriptor-signing keys"
    echo "   for the certified periods only, and signs with them by itself until they run out."
    ok=1
    exit 0
}
[ "${DEMO_MODE:-}" = delegated ] && delegated
[ -z "${DEMO_MODE:-}" ] || [ "$DEMO_MODE" = ceremony ] || die "MODE=$DEMO_MODE: ceremony (the default) or delegated"

for round in 1 2; do
    say "ONLINE machine: ob-online collect"
    role online "fetches each backend's descriptor through tor and writes a signing request"
    rm -rf "$RUN/online" "$RUN/offline" "$RUN/qr-request" "$RUN/qr-response"
    mkdir -p "$RUN/online" "$RUN/offline" "$RUN/qr-request" "$RUN/qr-response"
    e2e_collect "$RUN/online/request.obb" 2>>"$RUN/torlab.log" || die "collect failed"
    sed 's/^/     /' "$RUN/online/request.obb.log"

    say "The request crosses the air gap as QR codes"
    "$ONL" qr encode "$RUN/online/request.obb" -o "$RUN/qr-request" >/dev/null || die "qr encode"
    role online "$(ls "$RUN"/qr-request/*.png | wc -l) frames written as PNGs (shown one after another on screen in real use)"
    "$OFF" qr decode -o "$RUN/offline/request.obb" "$RUN"/qr-request/*.png >"$RUN/qr-decode1.log" 2>&1 || die "qr decode"
    role offline "read back by zbar from the pictures alone: request digest $(digest "$OFF" "$RUN/offline/request.obb")"

    say "OFFLINE machine: ob-offline sign"
    role offline "checks the request against its OWN config, shows the ceremony summary, signs with the master key"
    e2e_sign "$RUN/offline/request.obb" "$RUN/offline/response.obb" 2>/dev/null
    rc=$?
    sed 's/^/     /' "$RUN/offline/response.obb.log"
    [ $rc -eq 0 ] && break
    # Right at a period boundary the two sides can disagree (docs/e2e.rst);
    # the operator's answer is a fresh request.
    [ $rc -eq 3 ] && [ $round -eq 1 ] || die "sign failed"
    role offline "refused at a time period boundary: the online side collects a fresh request on tor's next consensus"
    e2e_wait_consensus "$RUN/online/request.obb"
done

say "The response crosses back as QR codes"
"$OFF" qr encode "$RUN/offline/response.obb" -o "$RUN/qr-response" >/dev/null || die "qr encode"
"$ONL" qr decode -o "$RUN/online/response.obb" "$RUN"/qr-response/*.png >"$RUN/qr-decode2.log" 2>&1 || die "qr decode"
role online "$(ls "$RUN"/qr-response/*.png | wc -l) frames read back by zbar: response digest $(digest "$ONL" "$RUN/online/response.obb")"
role online "frames: $RUN/qr-request/*.png, $RUN/qr-response/*.png (DEMO_KEEP=1 keeps them)"

say "ONLINE machine: ob-online publish"
role online "checks the signed descriptors and uploads them to the HSDirs responsible for the master address"
e2e_publish "$RUN/online/response.obb" || die "publish failed"
sed 's/^/     /' "$RUN/online/response.obb.publish.log" | head -n 30

say "A Tor client visits http://$MASTER/"
e2e_reach 90 2>>"$RUN/torlab.log" || die "the master address was not reachable"
role client "got: $PAGE"
role client "reached ${REACH_SECS}s after publishing; the whole demo took $(e2e_since "$T0")s"
echo "   The master key never left the OFFLINE side: the online machine only ever held the signed response."
ok=1
