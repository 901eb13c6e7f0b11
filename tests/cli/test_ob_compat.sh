#!/bin/bash
# OnionBalance 0.2 conventions of ob-online, against a tor whose network is
# off (it answers the control port, has no consensus): no status socket
# unless one is configured (and then status-socket-location works), no
# error about one; -v/--verbosity LEVEL over LOG_LEVEL, a bad level a usage
# error; LOG_LOCATION a file; the control-port options' long forms.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
for f in ob-online ob-offline; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
TOR=$(command -v tor) || { echo "skip: tor is not installed"; exit 77; }
PY=/usr/bin/python3
tmp=$(mktemp -d)
torpid=
trap '[ -n "$torpid" ] && kill "$torpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
unset ONIONBALANCE_STATUS_SOCKET_LOCATION ONIONBALANCE_LOG_LEVEL ONIONBALANCE_LOG_LOCATION

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$TOR --DataDirectory "$tmp/tor" --ControlPort "127.0.0.1:$port" --CookieAuthentication 1 --SocksPort 0 \
    --DisableNetwork 1 --Log "notice file $tmp/tor.log" >/dev/null 2>&1 &
torpid=$!
for _ in $(seq 1 100); do
    grep -q "Opened Control listener" "$tmp/tor.log" 2>/dev/null && [ -s "$tmp/tor/control_auth_cookie" ] && break
    sleep 0.1
done

m=$("$B/ob-offline" keygen --version 3 -o "$tmp/m.key" --no-passphrase 2>/dev/null | head -n1)
i=$("$B/ob-offline" keygen --version 3 -o "$tmp/i.key" --no-passphrase 2>/dev/null | head -n1)
printf 'services:\n  - address: %s\n    instances:\n      - address: %s\n' "$m" "$i" >"$tmp/base.yaml"

# run_for SECONDS LOG ARGS...: the daemon for a while, then SIGTERM.
run_for() {
    local secs=$1 log=$2 pid
    shift 2
    "$B/ob-online" run "$@" 2>"$log" &
    pid=$!
    sleep "$secs"
    kill "$pid" 2>/dev/null
    wait "$pid"
}

# No socket configured: none opened, nothing said about one.
mkdir -p "$tmp/in"
run_for 3 "$tmp/run1.log" -c "$tmp/base.yaml" --inbox "$tmp/in" --ip 127.0.0.1 --port "$port"
rc=$?
ok
[ $rc -eq 0 ] || bad "run without a socket: exit $rc: $(cat "$tmp/run1.log")"
grep -qi "status socket\|onionbalance/control" "$tmp/run1.log" && bad "run without a socket: $(cat "$tmp/run1.log")"
grep -q "\[ERROR\]" "$tmp/run1.log" && bad "run without a socket logged an error: $(cat "$tmp/run1.log")"
grep -q "connected to tor at 127.0.0.1:$port" "$tmp/run1.log" || bad "run --ip/--port: $(cat "$tmp/run1.log")"

# status-socket-location (OnionBalance 0.2, v3) opens one; status reads it.
{ echo "status-socket-location: $tmp/s.sock"; cat "$tmp/base.yaml"; } >"$tmp/sock.yaml"
"$B/ob-online" run -c "$tmp/sock.yaml" --inbox "$tmp/in" -p "$port" -i 127.0.0.1 2>"$tmp/run2.log" &
pid=$!
for _ in $(seq 1 50); do [ -S "$tmp/s.sock" ] && break; sleep 0.1; done
"$B/ob-online" status --socket "$tmp/s.sock" >"$tmp/status" 2>&1
rc=$?
kill "$pid"
wait "$pid"
ok
[ $rc -eq 0 ] && grep -q "\"onionAddress\": \"$m\"" "$tmp/status" ||
    bad "status-socket-location: status exit $rc: $(cat "$tmp/status" "$tmp/run2.log")"
"$B/ob-online" status --socket "$tmp/none.sock" >"$tmp/status" 2>&1
rc=$?
ok
[ $rc -eq 2 ] && grep -q "only when its config names one" "$tmp/status" || bad "status, no socket: exit $rc: $(cat "$tmp/status")"

# -v/--verbosity over LOG_LEVEL; LOG_LOCATION a file.
{ echo "LOG_LEVEL: warning"; echo "LOG_LOCATION: $tmp/ob.log"; cat "$tmp/base.yaml"; } >"$tmp/log.yaml"
run_for 3 "$tmp/run3.log" -c "$tmp/log.yaml" --inbox "$tmp/in" -p "$port" -i 127.0.0.1 -v DEBUG
ok
grep -q "\[DEBUG\]" "$tmp/ob.log" && grep -q "\[INFO\] connected to tor" "$tmp/ob.log" ||
    bad "-v DEBUG over LOG_LEVEL warning, into LOG_LOCATION: $(cat "$tmp/ob.log" "$tmp/run3.log")"
[ -s "$tmp/run3.log" ] && bad "LOG_LOCATION: stderr has $(cat "$tmp/run3.log")"
rm -f "$tmp/ob.log"
run_for 3 "$tmp/run4.log" -c "$tmp/log.yaml" --inbox "$tmp/in" -p "$port" -i 127.0.0.1 --verbosity error
ok
grep -q "\[INFO\]\|\[WARNING\]" "$tmp/ob.log" 2>/dev/null && bad "--verbosity error: $(cat "$tmp/ob.log")"
run_for 3 "$tmp/run5.log" -c "$tmp/log.yaml" --inbox "$tmp/in" -p "$port" -i 127.0.0.1
ok
grep -q "\[INFO\]" "$tmp/ob.log" && bad "LOG_LEVEL warning let INFO through: $(cat "$tmp/ob.log")"
"$B/ob-online" run -c "$tmp/log.yaml" -v loud >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 2 ] && grep -q "debug, info, warning, error or critical" "$tmp/out" || bad "-v loud: exit $rc: $(cat "$tmp/out")"

# collect takes the long forms too (no consensus: the instance is missing).
"$B/ob-online" collect -c "$tmp/base.yaml" -o "$tmp/req.obb" --ip 127.0.0.1 --port "$port" --socket "" \
    >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 1 ] && grep -q "missing" "$tmp/out" || bad "collect --ip --port --socket: exit $rc: $(cat "$tmp/out")"

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
