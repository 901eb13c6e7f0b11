#!/bin/bash
# ob-online collect / publish / run / status against one real tor on
# 127.0.0.1 (DisableNetwork 1: no consensus, it never dials out).
#
#   collect: a clean per-instance report, exit 1, the request still written,
#            quickly; tor unreachable: exit 2
#   publish: --dry-run of a response the ceremony fixtures signed reports the
#            plan by the clock and that tor has no consensus (exit 2); a
#            tampered or foreign response is refused (exit 1) before tor is
#            asked; tor unreachable: exit 2
#   run:     picks a response up from the inbox (once per digest), status
#            socket answers in OnionBalance's JSON, SIGHUP reloads, tor killed
#            and restarted on the same port is reconnected to, SIGTERM exits 0
#            and removes the socket
# Every tor and daemon started here is stopped by its pid.
set -u
cd "$(dirname "$0")/../.."
TOR=${TOR:-/usr/sbin/tor}
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
[ -x "$TOR" ] || { echo "skip: tor not installed at $TOR"; exit 77; }
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/ceremony.sh

T=$(mktemp -d /tmp/ob-online-live-XXXXXX)
. tests/interop/lib/onetor.sh

start_tor || { bad "tor did not start"; exit 1; }
TARGS=(-s "$T/no-socket" -p "$PORT")

# ---- fixtures: three backends, a master key, a signed response ---------------
D=$T/fx
cer_setup 3 3 3 "$D" >/dev/null 2>&1 || { bad "fixture setup"; exit 1; }
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >/dev/null 2>&1 ||
    { bad "collect --descriptors-from"; exit 1; }
"$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" \
    -o "$D/resp.obb" >/dev/null 2>&1 || { bad "sign"; exit 1; }

# ---- collect from tor ----------------------------------------------------------
start=$(date +%s)
timeout 60 "$B/ob-online" collect -c "$D/online.yaml" -o "$T/live.obb" "${TARGS[@]}" >"$T/out" 2>&1
rc=$?
el=$(($(date +%s) - start))
[ $rc -eq 1 ] && ok "collect without consensus: exit 1" || bad "collect: exit $rc: $(cat "$T/out")"
[ "$(grep -c '^  missing  [a-z2-7]\{56\}\.onion: tor has no consensus yet' "$T/out")" -eq 3 ] &&
    ok "collect: each of 3 instances reported missing with the reason" || bad "collect report: $(cat "$T/out")"
grep -q "$MASTER.onion: no valid instance" "$T/out" && ok "collect names the service left out" ||
    bad "collect: service not named"
# No service has a valid instance: nothing to sign, so no request.
[ ! -e "$T/live.obb" ] && grep -q "no service has a valid instance: no request written" "$T/out" &&
    ok "collect wrote no request (no valid instance at all)" || bad "collect: a request was written: $(cat "$T/out")"
[ $el -lt 20 ] && ok "collect finished in ${el}s" || bad "collect took ${el}s"
timeout 60 "$B/ob-online" collect -c "$D/online.yaml" -o "$T/none.obb" -s "$T/no-socket" -p 1 >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/none.obb" ] && ok "collect with tor unreachable: exit 2, no request" ||
    bad "collect unreachable: exit $rc: $(cat "$T/out")"

# ---- publish ------------------------------------------------------------------
timeout 60 "$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" --dry-run "${TARGS[@]}" >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && ok "publish --dry-run without consensus: exit 2" || bad "dry-run: exit $rc: $(cat "$T/out")"
grep -q "tor has no consensus yet, so the responsible HSDirs are unknown; nothing uploaded" "$T/out" &&
    ok "dry-run says why" || bad "dry-run message: $(cat "$T/out")"
grep -q "^$MASTER.onion v3 period [0-9]* group 1/1: in force as the first descriptor; HSDirs unknown" "$T/out" &&
    grep -q "^$MASTER.onion v3 period [0-9]* group 1/1: in force as the second descriptor" "$T/out" &&
    ok "dry-run plans the first and second descriptor by the clock" || bad "dry-run plan: $(cat "$T/out")"
# a response for a master this config does not have: refused without asking tor
other=$("$B/ob-offline" keygen --version 3 -o "$T/other.key" --no-passphrase 2>/dev/null | head -n1)
other=${other%.onion}
sed "s/$MASTER/$other/" "$D/online.yaml" >"$T/other.yaml"
timeout 60 "$B/ob-online" publish -c "$T/other.yaml" "$D/resp.obb" -s "$T/no-socket" -p 1 >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "service $MASTER.onion is not in this machine's config" "$T/out" &&
    ok "publish refuses a response for another config (exit 1)" || bad "foreign: exit $rc: $(cat "$T/out")"
# one flipped byte in the middle: the bundle digest fails
size=$(stat -c %s "$D/resp.obb")
cp "$D/resp.obb" "$T/tampered.obb"
printf '\x41' | dd of="$T/tampered.obb" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s "$D/resp.obb" "$T/tampered.obb" && printf '\x42' | dd of="$T/tampered.obb" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
timeout 60 "$B/ob-online" publish -c "$D/online.yaml" "$T/tampered.obb" "${TARGS[@]}" >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "publish refuses a tampered response (exit 1)" || bad "tampered: exit $rc: $(cat "$T/out")"
timeout 60 "$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" -s "$T/no-socket" -p 1 >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "cannot reach tor" "$T/out" && ok "publish with tor unreachable: exit 2" ||
    bad "publish unreachable: exit $rc: $(cat "$T/out")"

# ---- the daemon -----------------------------------------------------------------
mkdir -p "$T/in" "$T/out.d"
{
    echo "STATUS_SOCKET_LOCATION: $T/status.sock"
    echo "REFRESH_INTERVAL: 5"
    echo "PUBLISH_CHECK_INTERVAL: 5"
    cat "$D/online.yaml"
} >"$T/run.yaml"
"$B/ob-online" run -c "$T/run.yaml" --inbox "$T/in" --outbox "$T/out.d" "${TARGS[@]}" 2>"$T/run.log" &
DPID=$!
wait_log "\[INFO\] connected to tor at 127.0.0.1:$PORT" 15 && ok "run: connected to tor" || bad "run: no connect: $(cat "$T/run.log")"
wait_log "refreshed 1 service\(s\): 0 instance\(s\) ok, 3 missing" 15 && ok "run: refreshed the instances" ||
    bad "run: no refresh"
cp "$D/resp.obb" "$T/in/resp.obb"
wait_log "inbox: picked up response resp.obb \(digest [0-9a-f]{8} [0-9a-f]{8}, 2 descriptors\)" 10 &&
    ok "run: response picked up from the inbox" || bad "run: response not picked up: $(cat "$T/run.log")"
wait_log "signed descriptors of $MASTER.onion run out at 20[0-9-]* [0-9:]* UTC" 5 &&
    ok "run: says when the signed descriptors run out" || bad "run: no run-out line"
wait_log "tor has no consensus yet: publishing waits" 10 && ok "run: publishing waits for a consensus" ||
    bad "run: no consensus line"
cp "$D/resp.obb" "$T/in/again.obb"
sleep 3
[ "$(grep -c 'picked up response' "$T/run.log")" -eq 1 ] && ok "run: the same digest is taken once" ||
    bad "run: response taken twice"
"$B/ob-online" status --socket "$T/status.sock" >"$T/status" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "status: exit 0" || bad "status: exit $rc: $(cat "$T/status")"
/usr/bin/python3 - "$T/status" "$MASTER" "$D/descs/instances.txt" <<'EOF' && ok "status: OnionBalance's JSON shape" || bad "status JSON: $(cat "$T/status")"
import json, sys
doc = json.load(open(sys.argv[1]))
want = [l.strip() + ".onion" for l in open(sys.argv[3]) if l.strip()]
(s,) = doc["services"]
assert s["onionAddress"] == sys.argv[2] + ".onion", s
assert sorted(s) == ["certifiedUntil", "instances", "onionAddress", "publishAttemptFirstDescriptor",
                     "publishAttemptSecondDescriptor", "signedUntil"], sorted(s)
assert s["publishAttemptFirstDescriptor"] is None and s["signedUntil"] is not None
assert s["certifiedUntil"] is None, s  # the ceremony mode: nothing certified
assert [i["onionAddress"] for i in s["instances"]] == want
assert all(i["received"] is None for i in s["instances"])
EOF
"$B/ob-online" status --socket "$T/no-such.sock" >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && ok "status without a daemon: exit 2" || bad "status no daemon: exit $rc"
kill -HUP "$DPID"
wait_log "SIGHUP: reloaded config $T/run.yaml" 10 && ok "run: SIGHUP reloads the config" || bad "run: no reload"
# tor goes away and comes back on the same port
n_conn=$(grep -c "connected to tor at" "$T/run.log")
stop_tor
wait_log "lost the connection to tor" 15 && ok "run: notices tor is gone" || bad "run: loss not logged: $(tail -5 "$T/run.log")"
kill -0 "$DPID" 2>/dev/null && ok "run: still running without tor" || bad "run: died with tor"
start_tor "$PORT" || bad "tor did not restart on port $PORT"
for _ in $(seq 300); do
    [ "$(grep -c "reconnected to tor at 127.0.0.1:$PORT" "$T/run.log")" -ge "$n_conn" ] && break
    sleep 0.1
done
[ "$(grep -c "reconnected to tor at 127.0.0.1:$PORT" "$T/run.log")" -ge "$n_conn" ] &&
    ok "run: reconnected to the restarted tor" || bad "run: no reconnect: $(tail -5 "$T/run.log")"
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=""
[ $rc -eq 0 ] && ok "run: SIGTERM exits 0" || bad "run: SIGTERM exit $rc"
[ -e "$T/status.sock" ] && bad "run: status socket left behind" || ok "run: status socket removed"
grep -q "ERROR\|CRITICAL" "$T/run.log" && bad "run: errors logged: $(grep 'ERROR\|CRITICAL' "$T/run.log")"

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
