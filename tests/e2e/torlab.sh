#!/bin/bash
# torlab.sh - a private Tor network on 127.0.0.1 for the end-to-end tests.
#
# Source it, then:
#   lab_init DIR          make DIR the run directory (logs, data dirs, pids)
#   lab_network           3 authorities + 4 relays; returns when the consensus
#                         lists all 7 with the HSDir flag (voting every
#                         $LAB_VOTE s, default 20)
#   lab_web N             a web server on 127.0.0.1 serving "backend N"
#   lab_backend N MASTER  backend onion service N for master address MASTER
#                         (torrc + ob_config from the caller, or made here)
#   lab_tor NAME EXTRA    a plain tor (mgmt, client) with extra torrc lines
#   lab_wait_bootstrap NAME   until NAME's tor reports 100%
#   lab_stop_all          stop every process we started, by pid
#
# Every process started is recorded in $LAB/pids and stopped by lab_stop_all
# (TERM, then KILL after a grace period); callers install it in a trap.
# Should the driver itself be killed (SIGKILL: no trap runs), every tor
# exits on its own: __OwningControllerProcess names the driver's pid.
# Ports: $LAB_BASE (default picked from the run's pid) + fixed offsets, all on
# 127.0.0.1.  Nothing listens on or talks to any other address.
# Facts and pitfalls: docs/e2e.rst.

LAB_TOR=${LAB_TOR:-/usr/sbin/tor}
LAB_GENCERT=${LAB_GENCERT:-/usr/bin/tor-gencert}
# The authorities' voting interval, seconds.  A time period of a test network
# is 24 of them (8 minutes at 20 s; 60 minutes at 150 s), its offset 12.
# 10 s is the shortest that works: tor wants the vote and distribution delays
# (at least 2 s each, 4 s above 20 s of voting) below half the interval, and
# a period of a whole number of minutes (24 x 10 s = 4 min).
LAB_VOTE=${LAB_VOTE:-20}

lab_log() { printf '[torlab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Ports: base+0..2 OR of authorities, +3..6 OR of relays, +10..16 Dir, +20..26 Control of
# the network, +27 mgmt control, +28 client control, +30+N backend N control,
# +40.. Socks, +50.. web servers.
lab_port() { echo $((LAB_BASE + $1)); }

lab_init() {
    LAB=$1
    mkdir -p "$LAB"
    : >"$LAB/pids"
    if [ -z "${LAB_BASE:-}" ]; then
        # Spread concurrent runs apart; stay well below the ephemeral range.
        LAB_BASE=$((20000 + ($$ % 200) * 100))
    fi
    export LAB LAB_BASE
}

lab_free_port() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

lab_record() { echo "$1 $2" >>"$LAB/pids"; }

# Wait for a file to exist (tor writes its PidFile after daemonizing).
lab_wait_file() {
    local f=$1 secs=${2:-30} i=0
    while [ ! -s "$f" ]; do
        i=$((i + 1))
        [ $i -gt $((secs * 10)) ] && return 1
        sleep 0.1
    done
}

lab_common_torrc() {
    local name=$1 dir=$LAB/$1
    cat <<EOT
TestingTorNetwork 1
DataDirectory $dir
PidFile $dir/pid
RunAsDaemon 1
Nickname $name
Log notice file $dir/notice.log
SafeLogging 0
ShutdownWaitLength 0
AssumeReachable 1
PathsNeededToBuildCircuits 0.25
V3AuthNIntervalsValid 2
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
ClientUseIPv6 0
CookieAuthentication 1
__OwningControllerProcess ${LAB_OWNER:-$$}
EOT
    cat "$LAB/dirauthorities"
}

lab_start_tor() {
    local name=$1 dir=$LAB/$1
    "$LAB_TOR" --verify-config -f "$dir/torrc" >"$dir/verify.log" 2>&1 || {
        lab_log "torrc of $name rejected:"; cat "$dir/verify.log" >&2; return 1; }
    "$LAB_TOR" -f "$dir/torrc" >"$dir/start.log" 2>&1 || {
        lab_log "tor $name failed to start:"; tail -n 20 "$dir/start.log" >&2; return 1; }
    lab_wait_file "$dir/pid" 30 || { lab_log "no pid file for $name"; return 1; }
    lab_record "$(cat "$dir/pid")" "$name"
}

# 3 authorities (a0-a2) and 4 relays (r3-r6), all HSDirs.
lab_network() {
    local i name dir or dirp ctl fp v3
    : >"$LAB/dirauthorities"
    for i in 0 1 2; do
        name=a$i dir=$LAB/$name
        mkdir -p "$dir/keys" && chmod 700 "$dir"
        or=$(lab_port $i) dirp=$(lab_port $((10 + i)))
        (cd "$dir/keys" && echo "" | "$LAB_GENCERT" --create-identity-key --passphrase-fd 0 -m 12 \
            -a 127.0.0.1:"$dirp" >/dev/null 2>&1) || { lab_log "tor-gencert failed"; return 1; }
        v3=$(awk '/^fingerprint /{print $2}' "$dir/keys/authority_certificate")
        fp=$("$LAB_TOR" --ignore-missing-torrc -f /dev/null --quiet --list-fingerprint \
            --DataDirectory "$dir" --ORPort 127.0.0.1:"$or" \
            --DirAuthority "xyzzy 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff" 2>/dev/null |
            awk '{ $1=""; gsub(/ /,""); print }' | tail -n1)
        [ ${#fp} -eq 40 ] || { lab_log "no fingerprint for $name: '$fp'"; return 1; }
        echo "DirAuthority $name orport=$or no-v2 v3ident=$v3 127.0.0.1:$dirp $fp" >>"$LAB/dirauthorities"
    done
    for i in 0 1 2 3 4 5 6; do
        if [ $i -lt 3 ]; then name=a$i; else name=r$i; fi
        dir=$LAB/$name
        mkdir -p "$dir" && chmod 700 "$dir"
        {
            lab_common_torrc "$name"
            cat <<EOT
SocksPort 0
ORPort 127.0.0.1:$(lab_port $i)
DirPort 127.0.0.1:$(lab_port $((10 + i)))
Address 127.0.0.1
ControlPort 127.0.0.1:$(lab_port $((20 + i)))
ExitRelay 0
ExitPolicy reject *:*
ContactInfo onionbalance-offline e2e test <nobody@localhost>
EOT
            if [ $i -lt 3 ]; then
                cat <<EOT
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
V3AuthVotingInterval $LAB_VOTE
V3AuthVoteDelay $((LAB_VOTE >= 20 ? 4 : 2))
V3AuthDistDelay $((LAB_VOTE >= 20 ? 4 : 2))
TestingV3AuthInitialVotingInterval $LAB_VOTE
TestingV3AuthInitialVoteDelay $((LAB_VOTE >= 20 ? 4 : 2))
TestingV3AuthInitialDistDelay $((LAB_VOTE >= 20 ? 4 : 2))
EOT
            fi
        } >"$dir/torrc"
    done
    for name in a0 a1 a2 r3 r4 r5 r6; do
        lab_start_tor "$name" || return 1
    done
    lab_log "network started; waiting for a consensus with 7 HSDirs"
    # The first consensus comes at a wall-clock multiple of the voting
    # interval, and lists the relays only from the next one on.
    lab_wait_consensus 7 $((LAB_VOTE * 3 + 60))
}

# Until a0's cached consensus lists at least N relays with the HSDir flag.
lab_wait_consensus() {
    local want=$1 secs=${2:-120} i=0 n
    while :; do
        n=0
        [ -f "$LAB/a0/cached-consensus" ] && n=$(grep -c '^s .*HSDir' "$LAB/a0/cached-consensus")
        [ "$n" -ge "$want" ] && { lab_log "consensus has $n HSDirs"; return 0; }
        i=$((i + 1))
        [ $i -gt $((secs * 2)) ] && { lab_log "no consensus with $want HSDirs after ${secs}s"; return 1; }
        sleep 0.5
    done
}

# lab_tor NAME CONTROLPORT_OFFSET [extra torrc lines on stdin]
lab_tor() {
    local name=$1 ctl=$2 dir=$LAB/$1
    mkdir -p "$dir" && chmod 700 "$dir"
    {
        lab_common_torrc "$name"
        echo "ControlPort 127.0.0.1:$(lab_port "$ctl")"
        cat
    } >"$dir/torrc"
    lab_start_tor "$name"
}

# Until NAME's notice log says "Bootstrapped 100%".
lab_wait_bootstrap() {
    local name=$1 secs=${2:-120} i=0
    while ! grep -q 'Bootstrapped 100%' "$LAB/$name/notice.log" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $((secs * 2)) ] && { lab_log "$name did not bootstrap in ${secs}s"; return 1; }
        sleep 0.5
    done
    lab_log "$name bootstrapped"
}

# lab_web N: a static web server on 127.0.0.1:$(lab_port 50+N) answering "backend N".
lab_web() {
    local n=$1 dir=$LAB/web$1 port
    port=$(lab_port $((50 + n)))
    mkdir -p "$dir/root"
    echo "hello from backend $n" >"$dir/root/index.html"
    python3 -m http.server --bind 127.0.0.1 --directory "$dir/root" "$port" >"$dir/log" 2>&1 &
    lab_record $! "web$n"
    local i=0
    while lab_free_port "$port"; do
        i=$((i + 1)); [ $i -gt 100 ] && { lab_log "web server $n did not start"; return 1; }
        sleep 0.1
    done
}

# lab_backend N HSDIR: backend onion service N whose HiddenServiceDir is HSDIR
# (which must already hold ob_config naming the master address; tor refuses
# to start otherwise).  Serves port 80 from web server N.
lab_backend() {
    local n=$1 hsdir=$2
    lab_tor "hs$n" $((30 + n)) <<EOT
SocksPort 0
HiddenServiceDir $hsdir
HiddenServicePort 80 127.0.0.1:$(lab_port $((50 + n)))
HiddenServiceOnionbalanceInstance 1
EOT
}

lab_stop_all() {
    local pid name left
    [ -n "${LAB:-}" ] && [ -f "$LAB/pids" ] || return 0
    while read -r pid name; do
        kill -TERM "$pid" 2>/dev/null
    done <"$LAB/pids"
    for _ in $(seq 1 50); do
        left=0
        while read -r pid name; do
            kill -0 "$pid" 2>/dev/null && left=1
        done <"$LAB/pids"
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    while read -r pid name; do
        kill -KILL "$pid" 2>/dev/null && lab_log "killed $name ($pid) after grace period"
    done <"$LAB/pids"
    : >"$LAB/pids"
}

# Stop one recorded process by name (for failover and restart scenarios).
lab_stop() {
    local want=$1 pid name
    while read -r pid name; do
        [ "$name" = "$want" ] || continue
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done <"$LAB/pids"
    grep -v " $want\$" "$LAB/pids" >"$LAB/pids.new"; mv "$LAB/pids.new" "$LAB/pids"
}

# lab_fetch URL [proxy-user]: fetch through the client's SOCKS port.
lab_fetch() {
    curl -s --max-time "${LAB_FETCH_TIMEOUT:-60}" --socks5-hostname 127.0.0.1:"$(lab_port 40)" \
        ${2:+--proxy-user "$2:x"} "$1"
}
