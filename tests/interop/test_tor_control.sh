#!/bin/bash
# Live control-port tests: ob-online tor-check against a real tor on 127.0.0.1.
# Its network is off, so tor-check reports "no consensus" and exits 2 after
# everything else it checks (the patterns below say what was checked).
#
# Each tor runs with DisableNetwork 1 and SocksPort 0 (it never dials out),
# its own DataDirectory under a temp dir, and is stopped by its pid on every
# exit path.  Covered: PROTOCOLINFO (version), SAFECOOKIE (preferred), COOKIE,
# HASHEDPASSWORD (file and environment), NULL, a wrong password, the unix
# socket and OnionBalance's socket-then-port fallback, GETINFO, SETEVENTS,
# HSFETCH of an address that exists nowhere (tor says 250 and then nothing:
# a clean timeout), HSPOST with no consensus (accepted / 554 refused), and a
# tor killed and restarted on the same port being reconnected to.
set -u
TOR=${TOR:-/usr/sbin/tor}
[ -x "$TOR" ] || { echo "tor not installed at $TOR"; exit 77; }
BIN=${OB_BUILD:-build/san}/ob-online
[ -x "$BIN" ] || { echo "no $BIN (build first)"; exit 77; }
VEC=${OB_TESTDATA:-$(dirname "$0")/../data/vectors}
DESC_OLD=$VEC/v3/hidden_service_v3
ADDR_OLD=sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad

T=$(mktemp -d /tmp/ob-torctl-XXXXXX)
chmod 700 "$T"
PIDS=()
fails=0

stop_all() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    PIDS=()
}
cleanup() {
    stop_all
    if [ $fails -eq 0 ]; then rm -rf "$T"; else echo "logs kept in $T"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# start_tor NAME EXTRA-TORRC-LINES... ; sets PORT and DIR; waits for the port file
start_tor() {
    local name=$1; shift
    DIR=$T/$name
    mkdir -p "$DIR/data"
    chmod 700 "$DIR" "$DIR/data"
    {
        echo "DataDirectory $DIR/data"
        echo "DisableNetwork 1"
        echo "SocksPort 0"
        echo "ControlPort ${FIXED_PORT:-auto}"
        echo "ControlPortWriteToFile $DIR/port"
        echo "PidFile $DIR/pid"
        echo "Log notice file $DIR/log"
        echo "RunAsDaemon 1"
        echo "ShutdownWaitLength 0"
        for l in "$@"; do echo "$l"; done
    } >"$DIR/torrc"
    rm -f "$DIR/port" "$DIR/pid"
    "$TOR" -f "$DIR/torrc" --quiet || { bad "$name: tor did not start"; return 1; }
    for _ in $(seq 100); do
        [ -s "$DIR/pid" ] && [ -s "$DIR/port" ] && break
        sleep 0.1
    done
    [ -s "$DIR/pid" ] || { bad "$name: no pid file"; return 1; }
    PIDS+=("$(cat "$DIR/pid")")
    PORT=$(sed -n 's/^PORT=127\.0\.0\.1://p' "$DIR/port")
    [ -n "$PORT" ] || { bad "$name: no control port"; return 1; }
}

# check NAME EXPECTED-EXIT GREP-PATTERN -- ARGS... : run tor-check, match output
check() {
    local name=$1 want=$2 pat=$3; shift 4
    local out rc
    out=$(timeout 60 "$BIN" tor-check "$@" 2>&1)
    rc=$?
    if [ $rc -ne "$want" ]; then
        bad "$name: exit $rc, wanted $want"; echo "$out" | sed 's/^/     | /'; return
    fi
    if ! echo "$out" | grep -Eq -- "$pat"; then
        bad "$name: output lacks /$pat/"; echo "$out" | sed 's/^/     | /'; return
    fi
    ok "$name"
}

NOSOCK=(-s "$T/no-such-socket")
version=$("$TOR" --version | sed -n 's/^Tor version \([0-9.]*\)\..*/\1/p')

# --- cookie authentication (SAFECOOKIE and COOKIE), unix socket ------------
start_tor cookie "CookieAuthentication 1" "ControlSocket $T/cookie/ctl.sock" || exit 1
check "PROTOCOLINFO version" 2 "tor version: +$version" -- "${NOSOCK[@]}" -p "$PORT"
check "SAFECOOKIE preferred" 2 "auth SAFECOOKIE" -- "${NOSOCK[@]}" -p "$PORT"
check "COOKIE forced" 2 "auth COOKIE," -- "${NOSOCK[@]}" -p "$PORT" --auth cookie
check "NULL not offered" 2 "offers: SAFECOOKIE COOKIE" -- "${NOSOCK[@]}" -p "$PORT" --auth null
check "GETINFO bootstrap" 2 "bootstrap: +NOTICE BOOTSTRAP PROGRESS=" -- "${NOSOCK[@]}" -p "$PORT"
check "no consensus: reported, exit 2" 2 "tor has no consensus yet" -- "${NOSOCK[@]}" -p "$PORT"
check "unix socket first" 2 "unix:$T/cookie/ctl.sock" -- -s "$T/cookie/ctl.sock" -p 1
out=$(ONIONBALANCE_TOR_CONTROL_SOCKET="$T/cookie/ctl.sock" timeout 30 "$BIN" tor-check -p 1 2>&1)
if [ $? -eq 2 ] && echo "$out" | grep -q "unix:$T/cookie/ctl.sock"; then
    ok "socket from ONIONBALANCE_TOR_CONTROL_SOCKET"
else
    bad "socket from ONIONBALANCE_TOR_CONTROL_SOCKET"; echo "$out" | sed 's/^/     | /'
fi
check "port when the socket is absent" 2 "127.0.0.1:$PORT" -- "${NOSOCK[@]}" -p "$PORT"
check "nothing listening" 2 "cannot reach tor" -- "${NOSOCK[@]}" -p 1

# HSFETCH of an address that exists nowhere: 250 OK, then silence (no consensus)
start=$(date +%s)
check "HSFETCH times out cleanly" 1 "no result from tor within 3 s" -- "${NOSOCK[@]}" -p "$PORT" \
    --fetch "$ADDR_OLD" --timeout 3
[ $(($(date +%s) - start)) -lt 15 ] || bad "HSFETCH took too long"
check "HSFETCH accepted first" 1 "tor accepted the request" -- "${NOSOCK[@]}" -p "$PORT" \
    --fetch "$ADDR_OLD" --timeout 1
check "HSFETCH unknown HSDir refused" 1 "552 Server .* not found" -- "${NOSOCK[@]}" -p "$PORT" \
    --fetch "$ADDR_OLD" --server 9695DFC35FFEB861329B9F1AB04C46397020CE31
check "HSFETCH v2 address refused locally" 1 "not a v3 onion address" -- "${NOSOCK[@]}" -p "$PORT" --fetch 3g2upl4pq6kufc4m

# HSPOST with no consensus: a fresh descriptor is accepted, an expired one is
# not.  The fresh one is made now by stem (a recorded one expires).
if /usr/bin/python3 "$(dirname "$0")/helpers/v3_stem.py" fresh "$T" >"$T/fresh.log" 2>&1; then
    DESC_OK=$T/fresh.desc
    ADDR_OK=$(cat "$T/fresh.addr")
    check "HSPOST accepted (250), no upload without consensus" 1 \
        "tor accepted the descriptor \(250\)" -- "${NOSOCK[@]}" -p "$PORT" \
        --post "$DESC_OK" --address "$ADDR_OK" --timeout 2
    check "HSPOST expired descriptor refused" 1 "554 Invalid descriptor" -- "${NOSOCK[@]}" \
        -p "$PORT" --post "$DESC_OLD" --address "$ADDR_OLD" --timeout 1
else
    bad "stem could not make a fresh descriptor: $(tail -n 3 "$T/fresh.log")"
fi

# --- restart: tor killed and started again on the same port -----------------
FIXED_PORT=$PORT
out=$T/restart.out
(timeout 60 "$BIN" tor-check "${NOSOCK[@]}" -p "$PORT" --repeat 6 --retry 20 >"$out" 2>&1
 echo "exit=$?" >>"$out") &
checker=$!
for _ in $(seq 50); do grep -q "connection #1" "$out" 2>/dev/null && break; sleep 0.1; done
oldpid=$(cat "$DIR/pid")
kill "$oldpid"
for _ in $(seq 50); do kill -0 "$oldpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$oldpid" 2>/dev/null && bad "tor did not stop"
PIDS=()
sleep 1
start_tor cookie "CookieAuthentication 1" "ControlSocket $T/cookie/ctl.sock"
wait $checker
# (Its network is off: no consensus in the last round either, so exit 2.)
if grep -q "reconnected to 127.0.0.1:$PORT (connection #2)" "$out" && grep -q "exit=2" "$out" &&
   grep -q "auth SAFECOOKIE, connection #2" "$out"; then
    ok "reconnected after tor restart (fresh cookie)"
else
    bad "restart"; sed 's/^/     | /' "$out"
fi
unset FIXED_PORT
stop_all

# --- HASHEDPASSWORD ---------------------------------------------------------
pw='correct horse "battery" \staple'
hash=$("$TOR" --quiet --hash-password "$pw" | tail -n1)
printf '%s\n' "$pw" >"$T/pw"
printf 'wrong\n' >"$T/pw-wrong"
chmod 600 "$T/pw" "$T/pw-wrong"
start_tor password "HashedControlPassword $hash" || exit 1
check "HASHEDPASSWORD from file" 2 "auth HASHEDPASSWORD" -- "${NOSOCK[@]}" -p "$PORT" \
    --password-file "$T/pw"
out=$(ONIONBALANCE_TOR_CONTROL_PASSWORD="$pw" timeout 30 "$BIN" tor-check "${NOSOCK[@]}" \
      -p "$PORT" 2>&1)
if [ $? -eq 2 ] && echo "$out" | grep -q "auth HASHEDPASSWORD"; then
    ok "HASHEDPASSWORD from environment"
else
    bad "HASHEDPASSWORD from environment"; echo "$out" | sed 's/^/     | /'
fi
check "wrong password refused" 2 "515" -- "${NOSOCK[@]}" -p "$PORT" --password-file "$T/pw-wrong"
check "no password given" 2 "password" -- "${NOSOCK[@]}" -p "$PORT"
stop_all

# --- NULL (no authentication configured) -------------------------------------
start_tor null || exit 1
check "NULL authentication" 2 "auth NULL" -- "${NOSOCK[@]}" -p "$PORT"
check "NULL: SETEVENTS + HSFETCH" 1 "no result from tor" -- "${NOSOCK[@]}" -p "$PORT" \
    --fetch "$ADDR_OK" --timeout 1
stop_all

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all live control-port checks passed"
