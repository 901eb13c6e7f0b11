#!/bin/bash
# e2e_lib.sh - the steps of the end-to-end scenarios, shared by
# tests/e2e/test_e2e.sh and tests/demo.sh.  Source tests/e2e/torlab.sh first.
#
#   e2e_bins                 OFF, ONL: absolute paths of the programs ($OB_BUILD)
#   e2e_config_gen DIR       config-gen for 2 backends of one v3 service
#   e2e_start_backend N      backend N from config-gen's nodeN/torrc (a copy,
#                            with the harness lines appended)
#   e2e_start_mgmt           the management tor from config-gen's online/torrc
#   e2e_start_client         the tor client with a SOCKS port
#   e2e_collect OUT          ob-online collect until every instance is ok
#   e2e_sign IN OUT          ob-offline sign with the passphrase file, --yes
#   e2e_publish RESP         ob-online publish
#   e2e_forget               the client drops its descriptor of the master
#   e2e_reach SECS           fetch the master address until a backend's page
#                            comes back; REACH_SECS is how long it took
#   e2e_ctl NAME CMD         one control command to tor NAME (cookie auth)
#
# Everything started is recorded in $LAB/pids (lab_stop_all stops it).

E2E_PASS="e2e test passphrase"
# A test network's time period: 24 voting intervals of torlab's LAB_VOTE s.
E2E_TP_MIN=$((24 * ${LAB_VOTE:-20} / 60))

e2e_bins() {
    local b=${OB_BUILD:-build/san}
    OFF=$(cd "$b" && pwd)/ob-offline
    ONL=$(cd "$b" && pwd)/ob-online
    [ -x "$OFF" ] && [ -x "$ONL" ]
}

e2e_now() { date +%s.%N | cut -c1-14; }
e2e_since() { awk -v a="$1" -v b="$(e2e_now)" 'BEGIN { printf "%.1f", b - a }'; }

# e2e_config_gen DIR: the deployment the scenarios run (master address in
# $MASTER).  Both backends send port 80 to web server 1: config-gen gives
# every instance the same target.
e2e_config_gen() {
    local out=$1
    printf '%s\n' "$E2E_PASS" >"$LAB/passphrase"
    chmod 600 "$LAB/passphrase"
    OB_INSECURE_TEST_KDF=1 "$OFF" config-gen --no-interactive -n 2 --output "$out" \
        --passphrase-file "$LAB/passphrase" --service-target "127.0.0.1:$(lab_port 51)" \
        --time-period-length "$E2E_TP_MIN" >"$LAB/config-gen.out" 2>&1 || {
        lab_log "config-gen failed:"; cat "$LAB/config-gen.out" >&2; return 1; }
    CFG=$out
    MASTER=$(sed -n 's/^  - address: \(.*\.onion\)$/\1/p' "$CFG/online/config.yaml")
    [ ${#MASTER} -eq 62 ] || { lab_log "no master address in $CFG/online/config.yaml"; return 1; }
}

# e2e_tor_args NAME ARGS...: like lab_start_tor, with command-line options
# (they replace the torrc's lines of the same name).
e2e_tor_args() {
    local name=$1 dir=$LAB/$1
    shift
    "$LAB_TOR" --verify-config -f "$dir/torrc" "$@" >"$dir/verify.log" 2>&1 || {
        lab_log "torrc of $name rejected:"; cat "$dir/verify.log" >&2; return 1; }
    rm -f "$dir/pid"
    "$LAB_TOR" -f "$dir/torrc" "$@" >"$dir/start.log" 2>&1 || {
        lab_log "tor $name failed to start:"; tail -n 20 "$dir/start.log" >&2; return 1; }
    lab_wait_file "$dir/pid" 30 || { lab_log "no pid file for $name"; return 1; }
    lab_record "$(cat "$dir/pid")" "$name"
}

# A copy of config-gen's torrc for NAME, with what the harness must add
# appended: DataDirectory, pid file, log, the test network.
e2e_torrc_copy() {
    local src=$1 name=$2 dir=$LAB/$2
    mkdir -p "$dir" && chmod 700 "$dir"
    {
        cat "$src"
        echo
        echo "# --- added by the e2e harness: data, logs, the private test network ---"
        lab_common_torrc "$name"
    } >"$dir/torrc"
}

e2e_start_backend() {
    local n=$1
    e2e_torrc_copy "$CFG/node$n/torrc" "hs$n"
    e2e_tor_args "hs$n" --ControlPort "127.0.0.1:$(lab_port $((30 + n)))"
}

# The management tor: config-gen's control port (9051) is replaced on the
# command line by the lab's, so concurrent runs do not collide.
e2e_start_mgmt() {
    e2e_torrc_copy "$CFG/online/torrc" mgmt
    MGMT_PORT=$(lab_port 27)
    e2e_tor_args mgmt --ControlPort "127.0.0.1:$MGMT_PORT"
}

e2e_start_client() {
    lab_tor client 28 <<EOT
SocksPort 127.0.0.1:$(lab_port 40)
EOT
}

# e2e_ctl NAME COMMAND: send one command to tor NAME's control port after
# cookie authentication; prints tor's reply.
e2e_ctl() {
    local name=$1 cmd=$2 port cookie
    port=$(sed -n 's/^ControlPort 127.0.0.1:\([0-9]*\)$/\1/p' "$LAB/$name/torrc" | tail -n1)
    case $name in hs1) port=$(lab_port 31) ;; hs2) port=$(lab_port 32) ;; mgmt) port=$(lab_port 27) ;; esac
    cookie=$(od -An -tx1 -v "$LAB/$name/control_auth_cookie" | tr -d ' \n')
    (
        exec 3<>/dev/tcp/127.0.0.1/"$port" || exit 1
        printf 'AUTHENTICATE %s\r\n%s\r\nQUIT\r\n' "$cookie" "$cmd" >&3
        timeout 10 cat <&3
    )
}

ONL_TOR=() # ob-online's control-port options
e2e_onl_tor() { ONL_TOR=(-i 127.0.0.1 -p "$MGMT_PORT" -s ''); }

# e2e_collect OUT [TRIES] [WANT]: collect until WANT (default 2; at least) instances
# are ok.  The backends upload their descriptors a moment after
# bootstrapping; a collect that finds one missing or invalid is the signal to
# try again (collect itself exits 0 as soon as one instance per service is
# valid, which is right for an operator and too little for this test).
e2e_collect() {
    local out=$1 tries=${2:-6} want=${3:-${E2E_WANT:-2}} i n
    for i in $(seq 1 "$tries"); do
        rm -f "$out"
        if "$ONL" collect -c "$CFG/online/config.yaml" -o "$out" "${ONL_TOR[@]}" >"$out.log" 2>&1; then
            n=$(sed -n 's/.*: \([0-9]*\) instance(s) ok.*/\1/p' "$out.log")
            [ "${n:-0}" -ge "$want" ] && return 0
        fi
        lab_log "collect attempt $i: $(grep -E '^ +(missing|invalid) ' "$out.log" | tr -s ' ' | head -c 300)"
        sleep 3
    done
    cat "$out.log" >&2
    return 1
}

# e2e_sign IN OUT: returns 0 signed, 3 refused because the request names a
# period the signer's clock holds over (see docs/e2e.rst, known problems:
# right at a period boundary the two sides can disagree; a fresh collect is
# the operator's answer), 1 otherwise.
e2e_sign() {
    OB_INSECURE_TEST_KDF=1 "$OFF" sign -c "$CFG/master/config.yaml" -i "$1" -o "$2" --yes \
        --passphrase-file "$LAB/passphrase" >"$2.log" 2>&1 && return 0
    cat "$2.log" >&2
    grep -q "refused: .* is over: by this machine's clock" "$2.log" && return 3
    return 1
}

# e2e_wait_consensus FILE: until the management tor holds a consensus newer
# than FILE (a request made from the previous one).
e2e_wait_consensus() {
    local i
    for i in $(seq 1 80); do
        [ "$LAB/mgmt/cached-microdesc-consensus" -nt "$1" ] && return 0
        sleep 0.5
    done
    return 1
}

# e2e_ceremony REQ RESP: collect and sign; once more with a fresh request
# when the signer finds a period over (e2e_sign returns 3).
e2e_ceremony() {
    local round rc
    for round in 1 2; do
        e2e_collect "$1" || return 1
        e2e_sign "$1" "$2"
        rc=$?
        [ $rc -eq 3 ] && [ $round -eq 1 ] && {
            lab_log "sign: a period is over at the boundary; collecting again on the next consensus"
            e2e_wait_consensus "$1"
            continue
        }
        return $rc
    done
}

e2e_publish() {
    "$ONL" publish -c "$CFG/online/config.yaml" "$1" "${ONL_TOR[@]}" >"$1.publish.log" 2>&1 || {
        cat "$1.publish.log" >&2; return 1; }
}

# e2e_forget: the client forgets what it learnt about the master address.
# SIGNAL NEWNYM purges its onion service descriptor cache and its record of
# HSDirs asked recently (without that, an HSDir that answered 404 once is not
# asked again for 15 minutes).  Tor delays a NEWNYM that comes within 10 s of
# the last one, so wait until the cached descriptor is really gone.
e2e_forget() {
    local a=${MASTER%.onion} i
    e2e_ctl client "SIGNAL NEWNYM" >/dev/null 2>&1
    for i in $(seq 1 40); do
        e2e_ctl client "GETINFO hs/client/desc/id/$a" 2>/dev/null | grep -q '^250+' || return 0
        sleep 0.5
    done
    lab_log "the client still holds a descriptor of $MASTER after NEWNYM"
    return 1
}

# e2e_reach SECS [EXPECT]: fetch http://MASTER/ through the client until the
# page contains EXPECT (default "hello from backend").  Before each try the
# client forgets (e2e_forget), so every answer comes from a descriptor
# fetched from the HSDirs now; each try uses its own SOCKS user name, so its
# own circuits.  Sets REACH_SECS and PAGE.
E2E_TRY=0
e2e_reach() {
    local secs=$1 want=${2:-hello from backend} start end
    start=$(e2e_now)
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        E2E_TRY=$((E2E_TRY + 1))
        e2e_forget
        PAGE=$(LAB_FETCH_TIMEOUT=30 lab_fetch "http://$MASTER/" "try$E2E_TRY-$$")
        if printf '%s' "$PAGE" | grep -q "$want"; then
            REACH_SECS=$(e2e_since "$start")
            return 0
        fi
        sleep 1
    done
    REACH_SECS=$(e2e_since "$start")
    return 1
}

# The current time period number by the lab consensus' clock rule: periods
# of E2E_TP_MIN minutes, shifted by 12 voting intervals (half a period).
e2e_tp_now() { echo $((($(date +%s) / 60 - E2E_TP_MIN / 2) / E2E_TP_MIN)); }
# Seconds until the next period starts.
e2e_tp_left() {
    local m=$((E2E_TP_MIN * 60)) o=$((E2E_TP_MIN * 30)) t
    t=$(date +%s)
    echo $((m - (t - o) % m))
}
