#!/bin/bash
# "When is the next ceremony needed", one answer everywhere (hsv3_cover.h),
# under an injected clock (faketime) at several hours of one day: sign's
# summary names the next 00:00 UTC and the period the second slot lacks
# then; publish --dry-run (tor with its network off: no consensus, so the
# plan is by the clock) says the same, warns when it is near, and, the day
# after, warns that the second slot has nothing now.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1 TZ=UTC
# libfaketime is preloaded before the sanitizer runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
command -v faketime >/dev/null || { echo "skip: faketime is not installed (tests/deps.sh)"; exit 77; }
TOR=$(command -v tor) || { echo "skip: tor is not installed"; exit 77; }
PY=/usr/bin/python3
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
torpid= daemon_pgid=
trap '[ -n "$torpid" ] && kill "$torpid" 2>/dev/null; [ -n "$daemon_pgid" ] && kill -- -"$daemon_pgid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
at() { local when=$1; shift; faketime "$when" "$@"; }

# A tor that answers the control port but has no consensus.
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$TOR --DataDirectory "$tmp/tor" --ControlPort "127.0.0.1:$port" --CookieAuthentication 1 --SocksPort 0 \
    --DisableNetwork 1 --Log "notice file $tmp/tor.log" >/dev/null 2>&1 &
torpid=$!
for _ in $(seq 1 100); do
    grep -q "Opened Control listener" "$tmp/tor.log" 2>/dev/null && [ -s "$tmp/tor/control_auth_cookie" ] && break
    sleep 0.1
done

DAY=2025-11-22
NEXT="2025-11-23 00:00"
TP_NEXT=20415 # the live period that starts at 2025-11-23 12:00 UTC
for hm in 00:20 06:00 11:50 12:10 18:30 23:40; do
    D=$tmp/h${hm/:/}
    now="$DAY $hm:00"
    at "$now" bash -c ". tests/cli/lib/ceremony.sh; B='$B'; cer_setup 3 2 3 '$D'" >/dev/null 2>&1 ||
        { bad "$hm: fixture setup failed"; continue; }
    MASTER=$(sed -n 's/^  - address: \(.*\)\.onion$/\1/p' "$D/online.yaml")
    at "$now" "$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" \
        >"$tmp/out" 2>&1 || { bad "$hm: collect: $(cat "$tmp/out")"; continue; }
    at "$now" "$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" \
        -o "$D/resp.obb" >"$tmp/out" 2>&1 || { bad "$hm: sign: $(cat "$tmp/out")"; continue; }
    ok
    grep -qF "Next ceremony needed by: $NEXT UTC (the second descriptor then needs period $TP_NEXT" "$tmp/out" ||
        bad "$hm: summary: $(grep -i "next ceremony" "$tmp/out")"
    at "$now" "$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" --dry-run -i 127.0.0.1 -p "$port" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ok
    # No consensus: exit 2 after the plan by the clock and the coverage.
    [ $rc -eq 2 ] && grep -q "tor has no consensus" "$tmp/err" || bad "$hm: publish: exit $rc: $(cat "$tmp/err")"
    case $hm in
    18:30 | 23:40) # within 6 h: a warning naming the moment and the period
        grep -qF "warning: $MASTER.onion: the second descriptor needs period $TP_NEXT from $NEXT:00 UTC and nothing is signed for it" "$tmp/err" ||
            bad "$hm: publish: no warning: $(cat "$tmp/out" "$tmp/err")" ;;
    *)
        grep -qF "coverage: $MASTER.onion: signed descriptors cover both publish slots until $NEXT:00 UTC (then the second descriptor needs period $TP_NEXT)" "$tmp/out" ||
            bad "$hm: publish: coverage: $(cat "$tmp/out" "$tmp/err")"
        grep -q "warning: .*descriptor" "$tmp/err" && bad "$hm: publish warned: $(cat "$tmp/err")" ;;
    esac
    # The day after at 06:00: the first slot still has a descriptor (plan:
    # one in force), the second has nothing: said plainly.
    at "2025-11-23 06:00:00" "$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" --dry-run -i 127.0.0.1 \
        -p "$port" >"$tmp/out" 2>"$tmp/err"
    ok
    grep -qF "warning: $MASTER.onion: nothing signed for the second descriptor needed now (period $TP_NEXT): run a ceremony now" "$tmp/err" ||
        bad "$hm: the day after: $(cat "$tmp/out" "$tmp/err")"
done

# The daemon under the same clocks: the run-out line, the warning and
# status' signedUntil give the same moment.  ($D: the last hour's ceremony.)
# run_daemon WHEN: start it, wait for the run-out line, ask status.
run_daemon() {
    local when=$1 pid
    rm -rf "$tmp/in" "$tmp/outbox" "$tmp/status.sock"
    mkdir -p "$tmp/in" "$tmp/outbox"
    cp "$D/resp.obb" "$tmp/in/"
    { echo "STATUS_SOCKET_LOCATION: $tmp/status.sock"; cat "$D/online.yaml"; } >"$tmp/run.yaml"
    # faketime forks the program and waits for it: the daemon runs in a
    # process group of its own, so that both are stopped, not only faketime.
    setsid faketime "$when" "$B/ob-online" run -c "$tmp/run.yaml" --inbox "$tmp/in" \
        --outbox "$tmp/outbox" -i 127.0.0.1 -p "$port" 2>"$tmp/run.log" &
    pid=$!
    daemon_pgid=$pid
    for _ in $(seq 1 100); do
        grep -q "run out at" "$tmp/run.log" && [ -S "$tmp/status.sock" ] && break
        sleep 0.1
    done
    at "$when" "$B/ob-online" status --socket "$tmp/status.sock" >"$tmp/status" 2>&1
    # Stop the daemon, not faketime: faketime then exits by itself and removes
    # its semaphore and shared memory (a killed one leaves them in /dev/shm,
    # and a later faketime with the same pid fails "sem_open: File exists").
    pkill -TERM -P "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # The daemon removes its status socket as it goes: wait until it has, so
    # that it does not remove the next daemon's.
    for _ in $(seq 1 100); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.1; done
    kill -- -"$pid" 2>/dev/null
    daemon_pgid=
}
run_daemon "$DAY 23:40:00"
ok
grep -qF "signed descriptors of $MASTER.onion run out at $NEXT:00 UTC (then the second descriptor needs period $TP_NEXT)" "$tmp/run.log" ||
    bad "daemon: run-out line: $(cat "$tmp/run.log")"
grep -qF "[WARNING] signed descriptors of $MASTER.onion: the second descriptor needs period $TP_NEXT from $NEXT:00 UTC" "$tmp/run.log" ||
    bad "daemon: no warning 20 min ahead: $(cat "$tmp/run.log")"
grep -qF "\"signedUntil\": \"$NEXT:00\"" "$tmp/status" || bad "status: signedUntil: $(cat "$tmp/status")"
run_daemon "2025-11-23 06:00:00"
ok
grep -qF "[WARNING] signed descriptors of $MASTER.onion: nothing signed for the second descriptor needed now (period $TP_NEXT)" "$tmp/run.log" ||
    bad "daemon, the day after: $(cat "$tmp/run.log")"
grep -qF "\"signedUntil\": \"2025-11-23 06:00:" "$tmp/status" || bad "status, the day after: $(cat "$tmp/status")"

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
