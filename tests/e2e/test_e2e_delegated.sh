#!/bin/bash
# The delegated mode end to end on a private Tor network on 127.0.0.1
# (issue 13 item 8; docs/e2e.rst, "delegated").
#
#   1. the network votes every 10 s, so a time period is 4 minutes (the
#      shortest tor allows, torlab.sh);
#   2. config-gen, the backends, the management tor and three clients;
#   3. ONE certification: ob-online delegate request (its periods from the
#      consensus) -> ob-offline certify -> the response is dropped into the
#      daemon's inbox; then every file of the offline side (the master key,
#      its config, the passphrase) is deleted: nothing on this machine can
#      make a ceremony any more, and the daemon was never told where they
#      were;
#   4. ob-online run installs the certificates from its inbox, signs and
#      publishes by itself;
#   5. a prober fetches the page every few seconds, through the three
#      clients in turn, each forgetting every descriptor before it asks
#      (so every answer comes from the HSDirs at that moment);
#   6. across three period boundaries, one backend is restarted in each
#      period (new introduction points): the daemon must sign anew for each
#      restart and each period, every upload taken by the HSDirs (no
#      revision counter refused), and the page must keep coming.
# Reported: the longest time between two successful probes, the longest
# run of failed ones, the probes in all.  Exit 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export OB_BUILD=${OB_BUILD:-build/san}
export LAB_VOTE=${LAB_VOTE:-10}
[ -x /usr/sbin/tor ] || { echo "skip: tor is not installed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
. tests/e2e/torlab.sh
. tests/e2e/e2e_lib.sh
e2e_bins || { echo "skip: $OB_BUILD/ob-online and ob-offline are not built"; exit 77; }

# e2e_reach (the first page) uses the lab's usual client; the prober its own three.
# Longest tolerated gap between two successful probes (s): a probe takes up
# to ~15 s (the client forgets, then fetches), so this is a few probes lost.
MAX_GAP=${E2E_MAX_GAP:-60}
PERIODS=${E2E_PERIODS:-3} # period boundaries to cross

RUN=$(mktemp -d /tmp/ob-e2e-deleg-XXXXXX)
chmod 700 "$RUN"
lab_init "$RUN"
export OB_DELEGATED_STORE=$RUN/online-state/delegated OB_REQUEST_STORE=$RUN/online-state/requests
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
note() { printf '     %s\n' "$*"; }
bad() { note "FAIL: $*"; fails=$((fails + 1)); }
step() { # step NAME FUNCTION: run it, print PASS/FAIL and its duration
    local start rc
    start=$(e2e_now)
    "$2"
    rc=$?
    if [ $rc -eq 0 ]; then
        printf 'PASS %-12s %6ss\n' "$1" "$(e2e_since "$start")"
    else
        printf 'FAIL %-12s %6ss\n' "$1" "$(e2e_since "$start")"
        fails=$((fails + 1))
    fi
    return $rc
}

# wait_grep FILE PATTERN SECS [COUNT]: until FILE has more than COUNT lines matching.
wait_grep() {
    local i n
    for i in $(seq 1 $(($3 * 2))); do
        n=$(grep -c -- "$2" "$1" 2>/dev/null)
        [ "${n:-0}" -gt "${4:-0}" ] && return 0
        sleep 0.5
    done
    return 1
}

# --- the network and the deployment ------------------------------------------
NCLIENTS=3
setup() {
    local t k
    t=$(e2e_now)
    lab_network || return 1
    note "network up (voting every ${LAB_VOTE}s, ${E2E_TP_MIN}-minute periods): $(e2e_since "$t")s"
    e2e_config_gen "$RUN/deploy" || return 1
    note "master address $MASTER"
    lab_web 1 || return 1
    e2e_start_backend 1 && e2e_start_backend 2 && e2e_start_mgmt && e2e_start_client || return 1
    for k in $(seq 1 $NCLIENTS); do
        lab_tor "c$k" $((34 + k)) <<EOT || return 1
SocksPort 127.0.0.1:$(lab_port $((40 + k)))
EOT
    done
    e2e_onl_tor
    for n in hs1 hs2 mgmt client $(seq -f 'c%g' 1 $NCLIENTS); do lab_wait_bootstrap "$n" 120 || return 1; done
    # The online config as the operator would set it: tor's control port here.
    sed "s/^TOR_PORT: .*/TOR_PORT: $MGMT_PORT/" "$CFG/online/config.yaml" >"$RUN/online.yaml"
    { cat "$RUN/online.yaml"; echo "REFRESH_INTERVAL: 10"; echo "PUBLISH_CHECK_INTERVAL: 10"
      echo "STATUS_SOCKET_LOCATION: $RUN/status.sock"; } >"$RUN/run.yaml"
    note "backends, management tor and $((NCLIENTS + 1)) clients bootstrapped: $(e2e_since "$t")s"
}

# --- one certification, then the offline side is gone --------------------------
certification() {
    local t f n
    t=$(e2e_now)
    "$ONL" delegate request -c "$RUN/online.yaml" -o "$RUN/certreq.obb" --days 1 >"$RUN/certreq.log" 2>&1 || {
        note "delegate request: $(cat "$RUN/certreq.log")"; return 1; }
    OB_INSECURE_TEST_KDF=1 "$OFF" certify -c "$CFG/master/config.yaml" -i "$RUN/certreq.obb" \
        -o "$RUN/certresp.obb" --yes --passphrase-file "$LAB/passphrase" >"$RUN/certify.log" 2>&1 || {
        note "certify: $(tail -n 5 "$RUN/certify.log")"; return 1; }
    note "$(grep -E '^Certified ' "$RUN/certify.log" | cut -d';' -f1): $(grep -E '^ .*\.onion: [0-9]+ periods' \
        "$RUN/certify.log" | sed 's/^ *[a-z2-7]*\.onion: //')"
    # The offline side leaves this machine for good: the master key store,
    # the offline config and ceremony log, the passphrase.  What is left
    # that looks like one of our key stores (*.key) must not be one.
    rm -rf "$CFG/master" "$LAB/passphrase"
    n=0
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        note "offline-side file left: $f"
    done < <(find "$RUN" \( -name '*.key' -o -name 'passphrase*' -o -name 'ceremony.log' \) -print0)
    [ $n -eq 0 ] && [ ! -e "$CFG/master" ] || return 1
    note "certification $(e2e_since "$t")s; the master key, the offline config and the passphrase deleted"
}

# --- the daemon ------------------------------------------------------------
start_daemon() {
    mkdir -p "$RUN/inbox" "$RUN/outbox"
    "$ONL" run -c "$RUN/run.yaml" --inbox "$RUN/inbox" --outbox "$RUN/outbox" "${ONL_TOR[@]}" \
        >>"$RUN/daemon.log" 2>&1 &
    DAEMON=$!
    lab_record $DAEMON daemon
}

# The daemon asks for no ceremony for a period the certification covers.  A
# period in use that it does not cover is the ceremony's (docs/online.rst):
# at a period boundary, when the daemon's consensus is a few seconds older
# than the one the certification request was made from, the period before.
ceremony_requests_ok() {
    local range first last f tp n=0
    range=$(sed -n 's/^ *[a-z2-7]*\.onion: [0-9]* periods, \([0-9]*\) \.\. \([0-9]*\).*/\1 \2/p' "$RUN/certify.log")
    read -r first last <<<"$range"
    [ -n "${last:-}" ] || { note "certified periods not found in certify's output"; return 1; }
    for f in "$RUN"/outbox/request-*.obb; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        for tp in $("$ONL" inspect "$f" | sed -n 's/^ *period \([0-9]*\):.*/\1/p'); do
            if [ "$tp" -ge "$first" ] && [ "$tp" -le "$last" ]; then
                note "the daemon asked for a ceremony for period $tp, which the certification covers ($f)"
                return 1
            fi
        done
    done
    [ $n -eq 0 ] || note "$n ceremony signing request(s) for periods in use the certification does not cover"
}

first_publish() {
    local t f
    t=$(e2e_now)
    # The certification waits in the inbox, as the operator brings it.
    mkdir -p "$RUN/inbox" "$RUN/outbox"
    cp "$RUN/certresp.obb" "$RUN/inbox/.certresp.tmp" && mv "$RUN/inbox/.certresp.tmp" "$RUN/inbox/certresp.obb"
    start_daemon
    wait_grep "$RUN/daemon.log" "inbox: installed key-certification response" 30 || { note "certification not installed"; return 1; }
    wait_grep "$RUN/daemon.log" "published .* (.*delegated.*): uploaded to [1-9]" 90 || {
        note "nothing published by the delegated mode; daemon log:"; tail -n 15 "$RUN/daemon.log" | sed 's/^/       /'
        return 1; }
    # Nothing of the offline side is open in, or named to, the daemon.
    if ls -l "/proc/$DAEMON/fd" 2>/dev/null | grep -q "$CFG/master"; then note "the daemon holds an offline file"; return 1; fi
    tr '\0' ' ' <"/proc/$DAEMON/cmdline" | grep -q master && { note "the daemon was told about master/"; return 1; }
    grep -q "key:" "$RUN/run.yaml" && { note "the daemon's config names a key"; return 1; }
    e2e_reach 120 || { note "not reachable after the first delegated publish"; return 1; }
    note "installed from the inbox, signed and published by the daemon, page in $(e2e_since "$t")s"
    ceremony_requests_ok || return 1
    # Certified for one day, renewal 7 days ahead: the daemon asks again at once.
    wait_grep "$RUN/daemon.log" "wrote key-certification request" 30 || {
        note "no renewal request in the outbox"; return 1; }
    f=$(ls "$RUN"/outbox/keyrequest-*.obb 2>/dev/null | head -n1)
    "$ONL" inspect "$f" >"$RUN/renewal.inspect" 2>&1 || { note "renewal request $f: $(cat "$RUN/renewal.inspect")"; return 1; }
    note "renewal: $(basename "$f") in the outbox, $(grep -oE '[0-9]+ periods' "$RUN/renewal.inspect" | head -n1)"
}

# --- the prober -------------------------------------------------------------
# One line per probe: "<start epoch> <end epoch> ok|fail <client> <period>".
prober() {
    local k=0 n=0 a=${MASTER%.onion} s e page port i
    while :; do
        k=$((k % NCLIENTS + 1))
        n=$((n + 1))
        s=$(e2e_now)
        e2e_ctl "c$k" "SIGNAL NEWNYM" >/dev/null 2>&1
        for i in $(seq 1 30); do
            e2e_ctl "c$k" "GETINFO hs/client/desc/id/$a" 2>/dev/null | grep -q '^250+' || break
            sleep 0.5
        done
        port=$(lab_port $((40 + k)))
        page=$(curl -s --max-time 30 --socks5-hostname 127.0.0.1:"$port" --proxy-user "p$n-$$:x" \
            "http://$MASTER/")
        e=$(e2e_now)
        if printf '%s' "$page" | grep -q "hello from backend"; then
            echo "$s $e ok c$k $(e2e_tp_now)"
        else
            echo "$s $e fail c$k $(e2e_tp_now)"
        fi
        sleep 1
    done >>"$RUN/probes.log"
}

restart_backend() { # restart_backend N: new introduction points
    local n=$1 before
    before=$(grep -c "signed .*delegated keys (.*introduction points changed" "$RUN/daemon.log")
    lab_stop "hs$n"
    e2e_tor_args "hs$n" --ControlPort "127.0.0.1:$(lab_port $((30 + n)))" || return 1
    lab_wait_bootstrap "hs$n" 60 2>/dev/null || true
    wait_grep "$RUN/daemon.log" "signed .*delegated keys (.*introduction points changed" 90 "$before" || {
        note "backend $n restarted: the daemon did not sign anew"; return 1; }
}

across_periods() {
    local tp want_pub left k=0 pub
    prober &
    lab_record $! prober
    # The periods counted start with the next one unless most of this one is left.
    TP0=$(e2e_tp_now)
    if [ "$(e2e_tp_left)" -lt 180 ]; then
        TP0=$((TP0 + 1))
        while [ "$(e2e_tp_now)" -lt "$TP0" ]; do sleep 1; done
    fi
    note "probing; periods $TP0 .. $((TP0 + PERIODS)) counted, a backend restarted in each of the first $PERIODS"
    for tp in $(seq "$TP0" $((TP0 + PERIODS - 1))); do
        # A restart 90 s into the period (before the publish slots move on, halfway).
        left=$(e2e_tp_left)
        [ "$left" -gt $((E2E_TP_MIN * 60 - 90)) ] && sleep $((left - (E2E_TP_MIN * 60 - 90)))
        k=$((k % 2 + 1))
        restart_backend "$k" || return 1
        note "period $tp: backend $k restarted at $(date -u +%T), the daemon signed anew"
        # Then the boundary, and the new period's descriptor published (it is
        # the second descriptor from half a period before: uploaded already).
        while [ "$(e2e_tp_now)" -le "$tp" ]; do sleep 1; done
        want_pub="published .* period $((tp + 1)) .*delegated.*: uploaded to [1-9]"
        wait_grep "$RUN/daemon.log" "$want_pub" 60 || { note "period $((tp + 1)): nothing published"; return 1; }
    done
    # Half a minute into the last period, so its first probes count.
    sleep 30
    lab_stop prober
    ceremony_requests_ok || return 1
    pub=$(grep -c "published .*delegated" "$RUN/daemon.log")
    note "$pub delegated uploads, $(grep -c 'signed [0-9]* descriptor(s) with the delegated keys' "$RUN/daemon.log") builds"
}

# Longest time between successful probes, longest run of failures, counts.
measure() {
    local out
    out=$(awk -v maxgap="$MAX_GAP" -v tp0="${TP0:-0}" -v np="$PERIODS" '
        $3 == "ok" { ok++; if (last != "" && $1 - last > gap) { gap = $1 - last; at = $1 }
                     if (fstart != "" && $1 - fstart > frun) frun = $1 - fstart
                     fstart = ""; last = $1; if ($5 >= tp0 && $5 <= tp0 + np) seen[$5] = 1 }
        $3 == "fail" { bad++; if (fstart == "") fstart = $1 }
        END { np = 0; for (p in seen) np++
              printf "%d %d %.1f %.1f %d %d %d\n", ok, bad, gap, frun, np, at - gap, at
              exit !(ok > 0 && gap <= maxgap) }' "$RUN/probes.log")
    local rc=$?
    read -r P_OK P_FAIL P_GAP P_FRUN P_PERIODS P_FROM P_TO <<<"$out"
    note "probes: $P_OK ok, $P_FAIL failed, successful in $P_PERIODS of the periods counted; longest time between two successful" \
        "probes ${P_GAP}s (from $(date -u -d "@$P_FROM" +%T) to $(date -u -d "@$P_TO" +%T)); longest run of failures ${P_FRUN}s"
    # Each failed probe with its moment, to set against the restarts and period boundaries above.
    awk '$3 == "fail" { printf "%d %d %s %s\n", $1, $2 - $1, $4, $5 }' "$RUN/probes.log" |
        while read -r s d c tp; do note "failed probe at $(date -u -d "@$s" +%T) (${d}s, client $c, period $tp)"; done
    [ "$P_PERIODS" -eq $((PERIODS + 1)) ] || { note "successful probes in only $P_PERIODS of periods $TP0 .. $((TP0 + PERIODS))"; rc=1; }
    # No HSDir refused an upload (a repeated revision counter would be UPLOAD_REJECTED).
    if grep "delegated" "$RUN/daemon.log" | grep -q "UPLOAD_REJECTED"; then
        note "an HSDir refused a delegated upload:"; grep "UPLOAD_REJECTED" "$RUN/daemon.log" | head -n3
        rc=1
    fi
    note "uploads with a failure: $(grep 'published .*delegated' "$RUN/daemon.log" | grep -c 'first failure')"
    return $rc
}

step setup setup || exit 1
step certify certification || exit 1
step publish first_publish || exit 1
step periods across_periods
step measure measure
echo "total $(e2e_since "$T0")s; longest time without a successful probe ${P_GAP:-?}s (probes every" \
    "few seconds: ${P_OK:-?} ok, ${P_FAIL:-?} failed)"
[ $fails -eq 0 ]
