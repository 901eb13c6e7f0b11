# onetor.sh - one real tor on 127.0.0.1 (DisableNetwork 1: no consensus, it
# never dials out) and a daemon, for the interop tests that run ob-online
# against them.  Source it after `T` (a fresh folder) is set; it sets
# TORPID, DPID (the test sets it when it starts a daemon), fails and
# checks, and a trap that stops both by their pids and removes $T when no
# check failed.  start_tor [PORT] sets TORPID and PORT; stop_tor;
# wait_log PATTERN SECONDS [COUNT] waits for more than COUNT (default 0)
# lines matching PATTERN in $T/run.log.
chmod 700 "$T"
TORPID="" DPID="" fails=0 checks=0
cleanup() {
    local p
    for p in $DPID $TORPID; do kill "$p" 2>/dev/null; done
    for p in $DPID $TORPID; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    if [ $fails -eq 0 ]; then rm -rf "$T"; else echo "logs kept in $T"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM
ok() { checks=$((checks + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# start_tor [PORT]: sets TORPID and PORT
start_tor() {
    local d=$T/tor
    mkdir -p "$d/data"
    chmod 700 "$d" "$d/data"
    {
        echo "DataDirectory $d/data"
        echo "DisableNetwork 1"
        echo "SocksPort 0"
        echo "ControlPort ${1:-auto}"
        echo "ControlPortWriteToFile $d/port"
        echo "CookieAuthentication 1"
        echo "PidFile $d/pid"
        echo "Log notice file $d/log"
        echo "RunAsDaemon 1"
        echo "ShutdownWaitLength 0"
    } >"$d/torrc"
    rm -f "$d/port" "$d/pid"
    "$TOR" -f "$d/torrc" --quiet || return 1
    for _ in $(seq 100); do
        [ -s "$d/pid" ] && [ -s "$d/port" ] && break
        sleep 0.1
    done
    TORPID=$(cat "$d/pid" 2>/dev/null)
    PORT=$(sed -n 's/^PORT=127\.0\.0\.1://p' "$d/port" 2>/dev/null)
    [ -n "$TORPID" ] && [ -n "$PORT" ]
}
stop_tor() {
    kill "$TORPID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$TORPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$TORPID" 2>/dev/null
    TORPID=""
}
# wait_log PATTERN SECONDS [COUNT]: the log gets more than COUNT (default 0) lines matching PATTERN
wait_log() {
    local i
    for i in $(seq $(($2 * 10))); do
        [ "$(grep -Ec -- "$1" "$T/run.log")" -gt "${3:-0}" ] && return 0
        sleep 0.1
    done
    return 1
}
