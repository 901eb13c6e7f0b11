#!/bin/bash
# The key certification of the delegated mode through the programs:
# `ob-online delegate request` (tor unreachable: the period length from the
# config), `ob-offline certify --yes`, `ob-online delegate install` and
# `status`, `inspect` of both bundles, the ceremony log, the key store's
# modes; each refusal with its message, its exit status and no output file
# (an unknown service, a period beyond delegation_max_days, a period already
# over, a response for keys this machine does not hold, a damaged response);
# the response through real QR images (frame count printed); and the
# daemon's renewal request, whose log line gives its digest.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_delegation; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
export OB_DELEGATED_STORE=$tmp/store OB_REQUEST_STORE=$tmp/requests

# run NAME WANT_EXIT CMD...: output in $tmp/out and $tmp/err
run() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    ok
    [ "$rc" -eq "$want" ] || bad "$name: exit $rc, want $want: $(cat "$tmp/out" "$tmp/err")"
}

# refused NAME EXIT TEXT OUTFILE CMD...: refused with TEXT, OUTFILE not created
refused() {
    local name=$1 want=$2 text=$3 outf=$4
    shift 4
    run "$name" "$want" "$@"
    grep -qF -- "$text" "$tmp/err" || bad "$name: stderr lacks '$text': $(cat "$tmp/err")"
    [ -e "$outf" ] && bad "$name: $outf was written"
    ls "$(dirname "$outf")" 2>/dev/null | grep -q 'tmp-' && bad "$name: a temporary file was left"
}

D=$tmp/d
mkdir -p "$D"
printf 'correct horse battery staple\n' >"$D/pass"
"$B/ob-offline" keygen --version 3 -o "$D/master.key" --passphrase-file "$D/pass" >/dev/null ||
    { echo "keygen failed"; exit 1; }
M=$("$B/ob-offline" address "$D/master.key" --passphrase-file "$D/pass") || exit 1
M=${M%.onion}
BE=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd
OTHER=sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd
# No tor: a control socket that is not there and a port nothing listens on.
cat >"$D/online.yaml" <<EOF
TOR_CONTROL_SOCKET: $tmp/no-tor-here
TOR_PORT: 1
services:
  - address: $M.onion
    instances:
      - address: $BE.onion
EOF
cat >"$D/offline.yaml" <<EOF
ceremony_log: ceremony.log
services:
  - key: master.key
    address: $M.onion
    instances:
      - address: $BE.onion
EOF

# ---- request ---------------------------------------------------------------------
run "request" 0 "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/kreq.obb"
grep -q "from the config (time_period_length): tor is not reachable" "$tmp/out" ||
    bad "request: does not say the period length came from the config: $(cat "$tmp/out")"
n=$(sed -n "s/^$M.onion: \([0-9]*\) periods.*/\1/p" "$tmp/out")
[ -n "$n" ] && [ "$n" -ge 31 ] && [ "$n" -le 32 ] || bad "request: $n periods for 30 days"
ok
pending=$(ls "$OB_DELEGATED_STORE/$M" | grep -c '\.pending$')
[ "$pending" -eq "$n" ] || bad "request: $pending pending keys, $n periods"
[ "$(stat -c %a "$OB_DELEGATED_STORE")" = 700 ] || bad "store mode $(stat -c %a "$OB_DELEGATED_STORE")"
[ "$(stat -c %a "$OB_DELEGATED_STORE/$M")" = 700 ] || bad "service dir not 0700"
for f in "$OB_DELEGATED_STORE/$M"/*; do
    [ "$(stat -c %a "$f")" = 600 ] || bad "$f: mode $(stat -c %a "$f")"
done
ok
run "inspect request" 0 "$B/ob-offline" inspect "$D/kreq.obb"
grep -q "kind:        3 (key-certification request)" "$tmp/out" || bad "inspect request: kind"
[ "$(grep -c '      signing key ' "$tmp/out")" -eq "$n" ] || bad "inspect request: keys"
# Over an existing file: refused, and no new keys kept.
refused "request over a file" 2 "refusing to overwrite" "$D/none" \
    "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/kreq.obb"
[ "$(ls "$OB_DELEGATED_STORE/$M" | grep -c '\.pending$')" -eq "$n" ] || bad "request over a file made keys"
refused "request --days 0" 2 "--days 0" "$D/r0.obb" \
    "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/r0.obb" --days 0
refused "request --days 367" 2 "--days 367" "$D/r0.obb" \
    "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/r0.obb" --days 367

# ---- certify: refusals, each with no response file ---------------------------------
refused "certify: no terminal" 2 "no terminal to confirm on" "$D/kresp.obb" \
    setsid "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kreq.obb" -o "$D/kresp.obb" \
    --passphrase-file "$D/pass"
# A service the offline config does not have.
sed "s/$M/$OTHER/" "$D/offline.yaml" >"$D/other.yaml"
refused "certify: unknown service" 1 "service $M.onion is not in this machine's config" \
    "$D/kresp.obb" "$B/ob-offline" certify -c "$D/other.yaml" -i "$D/kreq.obb" -o "$D/kresp.obb" \
    --yes --passphrase-file "$D/pass"
# Beyond delegation_max_days (31): a 40-day request.
run "request 40 days" 0 "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/k40.obb" --days 40
n40=$(sed -n "s/^$M.onion: \([0-9]*\) periods.*/\1/p" "$tmp/out")
refused "certify: beyond the maximum" 1 "more than delegation_max_days (31)" "$D/r40.obb" \
    "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/k40.obb" -o "$D/r40.obb" --yes \
    --passphrase-file "$D/pass"
# ... which a config allowing 45 days certifies.
{ echo "delegation_max_days: 45"; cat "$D/offline.yaml"; } >"$D/long.yaml"
run "certify 40 days with delegation_max_days 45" 0 "$B/ob-offline" certify -c "$D/long.yaml" \
    -i "$D/k40.obb" -o "$D/r40.obb" --yes --passphrase-file "$D/pass"
{ echo "delegation_max_days: 367"; cat "$D/offline.yaml"; } >"$D/bad.yaml"
refused "delegation_max_days 367" 1 "delegation_max_days" "$D/rbad.obb" \
    "$B/ob-offline" certify -c "$D/bad.yaml" -i "$D/kreq.obb" -o "$D/rbad.obb" --yes \
    --passphrase-file "$D/pass"
# A request whose periods are over (moved 40 periods back).
OB_DELEGATION_MUTATE=past OB_DELEGATION_IN=$D/kreq.obb OB_DELEGATION_OUT=$D/kpast.obb \
    "$B/tests/test_delegation" || bad "fixture: past request"
refused "certify: period over" 1 "is over: its descriptors stopped being used" "$D/rpast.obb" \
    "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kpast.obb" -o "$D/rpast.obb" --yes \
    --passphrase-file "$D/pass"
# A wrong passphrase: refused after the summary, nothing written.
printf 'wrong\n' >"$D/wrong"
refused "certify: wrong passphrase" 1 "nothing was certified" "$D/kresp.obb" \
    "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kreq.obb" -o "$D/kresp.obb" --yes \
    --passphrase-file "$D/wrong"
grep -q "^certify $M" "$D/ceremony.log" 2>/dev/null && [ "$(grep -c "^certify $M" "$D/ceremony.log")" -ne 1 ] &&
    bad "refused ceremonies were logged"

# ---- certify ----------------------------------------------------------------------------
run "certify" 0 "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kreq.obb" -o "$D/kresp.obb" \
    --yes --passphrase-file "$D/pass"
for t in "Key certification request" "First period:" "Last period:" "Next certification due by:" \
    "Certified $n descriptor-signing keys"; do
    grep -qF "$t" "$tmp/out" || bad "certify: output lacks '$t'"
done
size=$(stat -c %s "$D/kreq.obb")
want=$(head -c $((size - 32)) "$D/kreq.obb" | sha256sum | cut -c1-64)
grep -qF "Key certification request ${want:0:8} ${want:8:8}" "$tmp/out" ||
    bad "certify: the request's digest is not in the summary"
grep -q "^request $want$" "$D/ceremony.log" || bad "certify: not logged"
grep -q "^certify $M v3 periods .* keys $n until " "$D/ceremony.log" || bad "certify: log line"
frames_said=$(sed -n 's/.* = \([0-9]*\) QR frames.*/\1/p' "$tmp/out")
refused "certify over a response" 2 "refusing to overwrite" "$D/none" \
    "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kreq.obb" -o "$D/kresp.obb" --yes \
    --passphrase-file "$D/pass"
run "inspect response" 0 "$B/ob-online" inspect "$D/kresp.obb"
[ "$(grep -c 'signed by the blinded key of this address and period' "$tmp/out")" -eq "$n" ] ||
    bad "inspect response: not every certificate verifies: $(cat "$tmp/out")"

# ---- install -------------------------------------------------------------------------------
# On another machine (another store) none of the keys is held: refused, nothing installed.
refused "install elsewhere" 1 "which this machine does not hold" "$tmp/store2/$M" \
    env OB_DELEGATED_STORE="$tmp/store2" "$B/ob-online" delegate install -c "$D/online.yaml" \
    "$D/kresp.obb"
# A damaged response.
cp "$D/kresp.obb" "$D/damaged.obb"
printf '\x01' | dd of="$D/damaged.obb" bs=1 seek=300 conv=notrunc 2>/dev/null
run "install damaged" 1 "$B/ob-online" delegate install -c "$D/online.yaml" "$D/damaged.obb"
grep -q "digest mismatch" "$tmp/err" || bad "install damaged: $(cat "$tmp/err")"
[ "$(ls "$OB_DELEGATED_STORE/$M" | grep -c '\.key$')" -eq 0 ] || bad "a refused install left keys"
run "install" 0 "$B/ob-online" delegate install -c "$D/online.yaml" "$D/kresp.obb"
grep -q "Installed $n certificates for 1 service" "$tmp/out" || bad "install: $(cat "$tmp/out")"
[ "$(ls "$OB_DELEGATED_STORE/$M" | grep -c '\.key$')" -eq "$n" ] || bad "install: key files"
[ "$(ls "$OB_DELEGATED_STORE/$M" | grep -c '\.pending$')" -eq "$n40" ] ||
    bad "install: the 40-day request's pending keys should remain: $(ls "$OB_DELEGATED_STORE/$M" | grep -c pending)"
run "install again" 0 "$B/ob-online" delegate install -c "$D/online.yaml" "$D/kresp.obb"
grep -q "$n certificates were already installed" "$tmp/out" || bad "install again: $(cat "$tmp/out")"
run "status" 0 "$B/ob-online" delegate status -c "$D/online.yaml"
grep -q "^$M.onion: certified until .*(in 29\|^$M.onion: certified until .*(in 30" "$tmp/out" ||
    bad "status: $(cat "$tmp/out")"
grep -q "pending" "$tmp/out" || bad "status: pending keys not shown"

# ---- QR: the response as real images ------------------------------------------------------
if "$B/ob-online" qr encode "$D/kresp.obb" -o "$tmp/frames" >"$tmp/out" 2>&1; then
    frames=$(ls "$tmp/frames" | grep -c '^frame-.*\.png$')
    echo "key-certification response for 1 service, $n periods: $(stat -c %s "$D/kresp.obb") bytes, $frames QR frames (certify said $frames_said)"
    ok
    [ "$frames" -le 10 ] || bad "QR: $frames frames, at most 10 wanted"
    [ "$frames" = "$frames_said" ] || bad "QR: certify said $frames_said frames, encode made $frames"
    run "qr decode" 0 "$B/ob-offline" qr decode -o "$tmp/back.obb" "$tmp/frames"/*.png
    cmp -s "$tmp/back.obb" "$D/kresp.obb" || bad "QR: the decoded response differs"
else
    bad "qr encode: $(cat "$tmp/out")"
fi

# ---- the daemon takes key-certification responses from its inbox -----------------------------
TOR=$(command -v tor || true)
if [ -n "$TOR" ]; then
    # A tor that answers the control port but has no consensus (the daemon needs one to start).
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$TOR" --DataDirectory "$tmp/tor" --ControlPort "127.0.0.1:$port" --CookieAuthentication 1 \
        --SocksPort 0 --DisableNetwork 1 --Log "notice file $tmp/tor.log" >/dev/null 2>&1 &
    torpid=$!
    trap 'kill $torpid 2>/dev/null; rm -rf "$tmp"' EXIT
    for _ in $(seq 1 100); do
        grep -q "Opened Control listener" "$tmp/tor.log" 2>/dev/null && [ -s "$tmp/tor/control_auth_cookie" ] && break
        sleep 0.1
    done
    run "request 2" 0 "$B/ob-online" delegate request -c "$D/online.yaml" -o "$D/kreq2.obb" --days 2
    n2=$(sed -n "s/^$M.onion: \([0-9]*\) periods.*/\1/p" "$tmp/out")
    run "certify 2" 0 "$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/kreq2.obb" -o "$D/kresp2.obb" \
        --yes --passphrase-file "$D/pass"
    mkdir -p "$tmp/in" "$tmp/outbox"
    cp "$D/damaged.obb" "$tmp/in/a-damaged.obb"
    cp "$D/kresp2.obb" "$tmp/in/b-kresp2.obb"
    # The key store opened to other users: the response is refused until the operator runs the
    # chmod the message names, then installed without a restart (a passing refusal is retried).
    chmod 750 "$tmp/store/$M"
    "$B/ob-online" run -c "$D/online.yaml" --inbox "$tmp/in" --outbox "$tmp/outbox" -i 127.0.0.1 \
        -p "$port" 2>"$tmp/run.log" &
    pid=$!
    for _ in $(seq 1 150); do
        grep -q "refusing key-certification response b-kresp2.obb" "$tmp/run.log" && break
        sleep 0.1
    done
    ok
    grep -q "refusing key-certification response b-kresp2.obb .*mode 750 lets other users in.*(trying again in 5 s)" \
        "$tmp/run.log" || bad "run: the key store open to others: $(grep b-kresp2 "$tmp/run.log")"
    chmod 700 "$tmp/store/$M"
    for _ in $(seq 1 300); do
        grep -q "installed key-certification response b-kresp2.obb" "$tmp/run.log" && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    ok
    grep -q "installed key-certification response b-kresp2.obb (digest .*): $n2 certificates for 1 service" \
        "$tmp/run.log" || bad "run: the inbox's key response was not installed: $(tail -5 "$tmp/run.log")"
    # A damaged bundle may be a copy in progress: left for the next scan, never installed.
    grep -q "key-certification response a-damaged" "$tmp/run.log" &&
        bad "run: the damaged response: $(grep damaged "$tmp/run.log")"
    run "status after run" 0 "$B/ob-online" delegate status -c "$D/online.yaml"
    grep -q "pending" "$tmp/out" || bad "status after run: the 40-day request's keys should still be pending"
else
    echo "note: tor is not installed; the daemon's inbox is not tested"
fi

# ---- the daemon's renewal request names its digest ----------------------------------------------
# A key request swapped in the outbox or on the way would certify keys someone else holds; what
# catches it is the operator comparing certify's digest with the one the online side gave when
# it wrote the request.  For a renewal that is the daemon's log line.  A control port with a
# consensus (fake_tor_v2.py --modern: no HSFETCH needed here) and a certification that ends within
# delegate_renew_days (7): the first cycle writes the request.
if command -v python3 >/dev/null; then
    R=$tmp/renew
    mkdir -p "$R/desc" "$R/in" "$R/outbox"
    python3 tests/interop/helpers/fake_tor_v2.py "$R/port" "$R/ctl.log" "$R/desc" --modern &
    fpid=$!
    for _ in $(seq 1 100); do [ -s "$R/port" ] && break; sleep 0.1; done
    export OB_DELEGATED_STORE=$R/store
    run "renew: request" 0 "$B/ob-online" delegate request -c "$D/online.yaml" -o "$R/k.obb" --days 2
    run "renew: certify" 0 "$B/ob-offline" certify -c "$D/offline.yaml" -i "$R/k.obb" -o "$R/r.obb" \
        --yes --passphrase-file "$D/pass"
    run "renew: install" 0 "$B/ob-online" delegate install -c "$D/online.yaml" "$R/r.obb"
    "$B/ob-online" run -c "$D/online.yaml" --inbox "$R/in" --outbox "$R/outbox" -i 127.0.0.1 \
        -p "$(cat "$R/port")" 2>"$R/run.log" &
    pid=$!
    for _ in $(seq 1 300); do
        grep -q "wrote key-certification request" "$R/run.log" && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    ok
    f=$(ls "$R/outbox"/keyrequest-*.obb 2>/dev/null | head -n1)
    if [ -z "$f" ]; then
        bad "renew: no request in the outbox: $(tail -5 "$R/run.log")"
    else
        size=$(stat -c %s "$f")
        dg=$(head -c $((size - 32)) "$f" | sha256sum | cut -c1-64)
        grep -qF "wrote key-certification request $f (digest ${dg:0:8} ${dg:8:8})" "$R/run.log" ||
            bad "renew: the log does not give the request's digest ${dg:0:8} ${dg:8:8}: $(grep keyrequest "$R/run.log")"
        # Restarted inside the renewal window: the request waiting for its response (its keys
        # pending in the store) is named again, not written a second time.
        sleep 1 # a second request would have another name (the time in it)
        "$B/ob-online" run -c "$D/online.yaml" --inbox "$R/in" --outbox "$R/outbox" -i 127.0.0.1 \
            -p "$(cat "$R/port")" 2>"$R/run2.log" &
        pid=$!
        for _ in $(seq 1 300); do
            grep -q "key-certification request\|renewal request" "$R/run2.log" && break
            sleep 0.1
        done
        sleep 1
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        ok
        grep -q "key-certification request up to period [0-9]* (digest ${dg:0:8} ${dg:8:8}, made .* UTC) is waiting for its response" \
            "$R/run2.log" || bad "renew after a restart: the waiting request is not named: $(grep -i 'request' "$R/run2.log")"
        [ "$(ls "$R/outbox"/keyrequest-*.obb | wc -l)" -eq 1 ] ||
            bad "renew after a restart: another request was written: $(ls "$R/outbox")"
    fi
    kill "$fpid" 2>/dev/null
    wait "$fpid" 2>/dev/null
    export OB_DELEGATED_STORE=$tmp/store
else
    echo "note: python3 is not installed; the daemon's renewal is not tested"
fi

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
