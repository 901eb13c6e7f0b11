#!/bin/bash
# The online clock stepping back an hour under `ob-online run`, against one
# real tor on 127.0.0.1 (DisableNetwork 1: no consensus, nothing uploaded).
# The daemon's wall clock comes from libfaketime, its offset read from a file
# at every call and changed by this test; CLOCK_MONOTONIC is left alone, as
# an NTP step or `date -s` leaves it.  After each step the daemon:
#
#   - says so in its log ("the clock jumped back by 3600 s");
#   - keeps refreshing every REFRESH_INTERVAL and scanning its inbox (a
#     response dropped in after the step is picked up within seconds);
#   - reconnects to a tor restarted after a step within its backoff;
#   - keeps the responses it holds (status: signedUntil), stays alive, does
#     not spin (its CPU time over 10 s), writes no burst of requests;
#   - and, stepped forward two hours, goes on the same way; SIGTERM exits 0.
#
# Before the daemon measured its timers against CLOCK_MONOTONIC, a step back
# stopped every one of those for an hour.  Every tor and daemon started here
# is stopped by its pid.
set -u
cd "$(dirname "$0")/../.."
TOR=${TOR:-/usr/sbin/tor}
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -x "$TOR" ] || { echo "skip: tor not installed at $TOR"; exit 77; }
[ -f "$FT" ] || FT=$(find /usr/lib* -name libfaketime.so.1 2>/dev/null | head -n1)
[ -n "$FT" ] && [ -f "$FT" ] || { echo "skip: libfaketime is not installed (tests/deps.sh)"; exit 77; }
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/ceremony.sh

T=$(mktemp -d /tmp/ob-daemon-clock-XXXXXX)
. tests/interop/lib/onetor.sh

count() { grep -Ec -- "$1" "$T/run.log"; }
# step OFFSET: the daemon's clock is now real time + OFFSET seconds
step() { echo "$1" >"$T/offset"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat" 2>/dev/null; }

start_tor || { bad "tor did not start"; exit 1; }

# ---- fixtures: three backends, a master key, three signed responses ----------
D=$T/fx
cer_setup 3 3 3 "$D" >/dev/null 2>&1 || { bad "fixture setup"; exit 1; }
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >/dev/null 2>&1 ||
    { bad "collect --descriptors-from"; exit 1; }
for n in 1 2 3; do
    "$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes --resign -i "$D/req.obb" \
        -o "$D/resp$n.obb" >/dev/null 2>&1 || { bad "sign $n"; exit 1; }
done

# ---- the daemon, on a clock this test steps ------------------------------------------
mkdir -p "$T/in" "$T/out.d"
{
    echo "STATUS_SOCKET_LOCATION: $T/status.sock"
    echo "REFRESH_INTERVAL: 5"
    echo "PUBLISH_CHECK_INTERVAL: 5"
    cat "$D/online.yaml"
} >"$T/run.yaml"
step +0
LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$T/offset FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    "$B/ob-online" run -c "$T/run.yaml" --inbox "$T/in" --outbox "$T/out.d" -s "$T/no-socket" -p "$PORT" \
    2>"$T/run.log" &
DPID=$!
wait_log "connected to tor at 127.0.0.1:$PORT" 20 && ok "run: connected" || { bad "run: no connect: $(cat "$T/run.log")"; exit 1; }
wait_log "refreshed 1 service" 20 && ok "run: refreshed" || bad "run: no refresh"
cp "$D/resp1.obb" "$T/in/"
wait_log "inbox: picked up response resp1.obb" 10 && ok "run: resp1 picked up" || bad "run: resp1 not picked up"

# ---- an hour back ----------------------------------------------------------------------
step -3600
wait_log "the clock jumped back by 3600 s" 10 && ok "the step back is logged" ||
    bad "the step back is not logged: $(tail -n 5 "$T/run.log")"
n=$(count "refreshed 1 service")
c0=$(cpu_ticks)
sleep 12
c1=$(cpu_ticks)
m=$(count "refreshed 1 service")
[ $((m - n)) -ge 2 ] && ok "refreshing goes on after the step back ($((m - n)) in 12 s)" ||
    bad "refreshing stopped after the step back ($((m - n)) in 12 s)"
hz=$(getconf CLK_TCK)
[ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -lt $((hz * 12 / 2)) ] &&
    ok "no spinning: $((c1 - c0)) CPU ticks in 12 s (at $hz Hz)" || bad "CPU: ${c0:-?} -> ${c1:-?} ticks in 12 s"
cp "$D/resp2.obb" "$T/in/"
wait_log "inbox: picked up response resp2.obb" 10 && ok "a response dropped in after the step is picked up" ||
    bad "resp2 not picked up after the step back"

# tor goes away, the daemon starts its backoff, the clock goes back another
# hour, tor comes back: reconnected within the backoff.
oldport=$PORT
stop_tor
wait_log "lost the connection to tor" 15 && ok "tor loss noticed" || bad "tor loss not noticed"
wait_log "cannot reach tor" 15 && ok "reconnecting with backoff" || bad "no reconnect attempt logged"
step -7200
wait_log "the clock jumped back by 3600 s" 10 1 && ok "the second step back is logged" || bad "second step not logged"
start_tor "$oldport" || { bad "tor did not start again on port $oldport"; exit 1; }
wait_log "reconnected to tor" 40 && ok "reconnected to tor after the step back" ||
    bad "no reconnect after the step back: $(tail -n 5 "$T/run.log")"

# ---- two hours forward ---------------------------------------------------------------
reqs=$(ls "$T/out.d" | wc -l)
step +0
wait_log "the clock jumped forward by 7200 s" 10 && ok "the step forward is logged" || bad "step forward not logged"
n=$(count "refreshed 1 service")
sleep 12
m=$(count "refreshed 1 service")
[ $((m - n)) -ge 2 ] && [ $((m - n)) -le 4 ] && ok "refreshing at its interval after the step forward ($((m - n)) in 12 s)" ||
    bad "refreshes after the step forward: $((m - n)) in 12 s"
[ $(($(ls "$T/out.d" | wc -l) - reqs)) -le 1 ] && ok "no burst of requests" || bad "requests: $reqs -> $(ls "$T/out.d" | wc -l)"
cp "$D/resp3.obb" "$T/in/"
wait_log "inbox: picked up response resp3.obb" 10 && ok "resp3 picked up after the step forward" || bad "resp3 not picked up"

# ---- what it holds, and the end ---------------------------------------------------------
"$B/ob-online" status --socket "$T/status.sock" >"$T/status" 2>&1 && ok "status answers" || bad "status: $(cat "$T/status")"
MASTER=$(sed -n 's/^  - address: \(.*\)\.onion$/\1/p' "$D/online.yaml")
/usr/bin/python3 - "$T/status" "$MASTER" <<'EOF' && ok "status: the signed descriptors are still held" || bad "status: $(cat "$T/status")"
import json, sys
st = json.load(open(sys.argv[1]))
svc = [s for s in st["services"] if s["onionAddress"].startswith(sys.argv[2])]
assert svc and svc[0]["signedUntil"], svc
EOF
[ "$(count "inbox: picked up response")" -eq 3 ] && ok "each response taken once" || bad "picked up: $(count "inbox: picked up response")"
grep -E "AddressSanitizer|runtime error" "$T/run.log" && bad "sanitizer report"
kill -TERM "$DPID"
for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
wait "$DPID"
rc=$?
DPID=""
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
