#!/bin/bash
# ob-offline config-gen through the command line, checked by independent
# parts: the real tor (--verify-config on every torrc written, and one
# instance started with DisableNetwork to show it takes the keys as its own),
# openssl + python for v2 addresses, ob-offline address for the keys.
# Also: modes, an existing folder, --key reuse, bad options, and the
# dialogue on a pseudo-terminal with default answers.
# (tests/unit/test_config_gen.c reads the configs back with the config reader.)
set -u
OFF=${OB_BUILD:-build/san}/ob-offline
[ -x "$OFF" ] || { echo "no $OFF"; exit 1; }
OFF=$(cd "$(dirname "$OFF")" && pwd)/$(basename "$OFF")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOR=/usr/sbin/tor
[ -x $TOR ] || { echo "tor not installed"; exit 77; }
PY=/usr/bin/python3
export OB_INSECURE_TEST_KDF=1 # test-only: cheap Argon2id
T=$(mktemp -d /tmp/ob-test-config-gen.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

run() { # without a controlling terminal; stdout, stderr, status recorded
    setsid -w "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}
expect() { # expect RC "text in stderr" description
    if [ "$rc" -ne "$1" ]; then
        fail "$3: exit $rc, expected $1; stderr: $(cat "$T/err")"
    elif [ -n "$2" ] && ! grep -q -- "$2" "$T/err"; then
        fail "$3: stderr lacks '$2': $(cat "$T/err")"
    else
        ok "$3"
    fi
}
mode() { stat -c %a "$1"; }
treesum() { (cd "$1" && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }
verify_torrc() { # tor --verify-config, with a DataDirectory of its own
    local dd
    dd=$(mktemp -d "$T/dd.XXXXXX")
    if $TOR --verify-config -f "$1" --DataDirectory "$dd" >"$T/tor.log" 2>&1 &&
        grep -q "Configuration was valid" "$T/tor.log"; then
        ok "tor --verify-config ${1#"$T"/}"
    else
        fail "tor --verify-config $1: $(cat "$T/tor.log")"
    fi
}
v2addr() { # base32(SHA1(PKCS#1 DER public key)[:10]) without ob-offline
    openssl rsa -in "$1" -RSAPublicKey_out -outform DER 2>/dev/null |
        $PY -c 'import sys,hashlib,base64
print(base64.b32encode(hashlib.sha1(sys.stdin.buffer.read()).digest()[:10]).decode().lower() + ".onion")'
}
yaml_instances() { # "address name" per instance, read with python's own YAML-free parsing
    $PY - "$1" <<'PYEOF'
import sys, re
text = open(sys.argv[1]).read()
for a, n in re.findall(r"- address: (\S+)\n\s+name: (\S+)", text):
    print(a, n)
PYEOF
}

printf 'config gen secret\n' >"$T/pass"
printf 'second secret\n' >"$T/pass2"

# Everything one folder must satisfy.  check_tree DIR VERSION N TAG [PASSFILE]
check_tree() {
    local out=$1 ver=$2 n=$3 tag=$4 pf=${5:-} key maddr i name hs want got secret pass=()
    [ -n "$pf" ] && pass=(--passphrase-file "$pf")
    [ "$(mode "$out")" = 700 ] && [ "$(mode "$out/master")" = 700 ] && [ "$(mode "$out/online")" = 700 ] &&
        ok "$ver: folders 0700" || fail "$ver: folder modes"
    key=$(ls "$out"/master/*.key)
    [ "$(mode "$key")" = 600 ] && ok "v$ver: master key 0600" || fail "v$ver: master key mode $(mode "$key")"
    run "$OFF" address "$key" "${pass[@]}"
    expect 0 "" "v$ver: ob-offline address master key"
    maddr=$(cat "$T/out")
    [ "$(basename "$key")" = "${maddr%.onion}.key" ] && ok "v$ver: key file named after its address" ||
        fail "v$ver: key file $(basename "$key") vs $maddr"
    grep -q "^  - key: ${maddr%.onion}.key$" "$out/master/config.yaml" && ok "v$ver: offline config names the key" ||
        fail "v$ver: offline config: $(cat "$out/master/config.yaml")"
    grep -A1 "^  - key: " "$out/master/config.yaml" | grep -qx "    address: $maddr" &&
        ok "v$ver: offline config names the master address beside the key (summary before passphrase)" ||
        fail "v$ver: offline config lacks address: $(cat "$out/master/config.yaml")"
    grep -q "^  - address: $maddr$" "$out/online/config.yaml" && ok "v$ver: online config names the master address" ||
        fail "v$ver: online config: $(cat "$out/online/config.yaml")"
    grep -qi "key:\|PRIVATE" "$out/online/config.yaml" && fail "v$ver: online config mentions a key" ||
        ok "v$ver: no key in the online config"
    ls "$out/online" | grep -qv '^config.yaml$\|^torrc$' && fail "v$ver: extra files in online/" || ok "v$ver: online/ holds config.yaml and torrc only"
    cmp -s <(yaml_instances "$out/master/config.yaml") <(yaml_instances "$out/online/config.yaml") &&
        ok "v$ver: both configs list the same instances" || fail "v$ver: instance lists differ"
    [ "$(yaml_instances "$out/master/config.yaml" | wc -l)" -eq "$n" ] && ok "v$ver: $n instances listed" ||
        fail "v$ver: instances listed: $(yaml_instances "$out/master/config.yaml")"
    verify_torrc "$out/online/torrc"
    grep -q '^ControlPort 127.0.0.1:9051$' "$out/online/torrc" && grep -q '^CookieAuthentication 1$' "$out/online/torrc" &&
        grep -q '^SocksPort 0$' "$out/online/torrc" && grep -q '^#.*control port' "$out/online/torrc" &&
        ok "v$ver: management torrc: control port on 127.0.0.1, cookie, no SOCKS, explained" ||
        fail "v$ver: management torrc: $(cat "$out/online/torrc")"
    for i in $(seq 1 "$n"); do
        name=$tag$i hs=$out/$tag$i/hidden_service
        [ "$(mode "$out/$name")" = 700 ] && [ "$(mode "$hs")" = 700 ] && ok "v$ver: $name folders 0700" ||
            fail "v$ver: $name folder modes"
        got=$(cat "$hs/hostname")
        want=$(yaml_instances "$out/master/config.yaml" | awk -v n="$name" '$2 == n { print $1 }')
        [ "$got" = "$want" ] && ok "v$ver: $name hostname = config entry" || fail "v$ver: $name hostname $got, config $want"
        run "$OFF" address "$hs"
        [ $rc -eq 0 ] && [ "$(cat "$T/out")" = "$got" ] && ok "v$ver: $name key folder gives its hostname" ||
            fail "v$ver: $name: ob-offline address: $(cat "$T/out" "$T/err")"
        secret=$hs/hs_ed25519_secret_key
        [ "$ver" = 2 ] && secret=$hs/private_key
        run "$OFF" address "$secret"
        [ $rc -eq 0 ] && [ "$(cat "$T/out")" = "$got" ] && ok "v$ver: $name secret key file gives its hostname" ||
            fail "v$ver: $name: ob-offline address $secret: $(cat "$T/out" "$T/err")"
        grep -qx "HiddenServiceDir $out/$name/hidden_service" "$out/$name/torrc" &&
            ok "v$ver: $name torrc has the absolute HiddenServiceDir" || fail "v$ver: $name torrc: $(cat "$out/$name/torrc")"
        grep -qx "SocksPort 0" "$out/$name/torrc" && ok "v$ver: $name SocksPort 0" || fail "v$ver: $name SocksPort"
        verify_torrc "$out/$name/torrc"
        if [ "$ver" = 3 ]; then
            [ "$(cat "$hs/ob_config")" = "MasterOnionAddress $maddr" ] && ok "v3: $name ob_config = master address" ||
                fail "v3: $name ob_config: $(cat "$hs/ob_config") vs $maddr"
            grep -qx "HiddenServiceOnionbalanceInstance 1" "$out/$name/torrc" && ok "v3: $name is an OnionBalance instance" ||
                fail "v3: $name torrc lacks HiddenServiceOnionbalanceInstance"
            for f in hs_ed25519_secret_key hs_ed25519_public_key hostname; do
                [ "$(mode "$hs/$f")" = 600 ] || fail "v3: $name $f mode $(mode "$hs/$f")"
            done
            [ "$(head -c 32 "$hs/hs_ed25519_secret_key" | od -An -c | tr -d ' \n')" = '==ed25519v1-secret:type0==\0\0\0' ] &&
                [ "$(stat -c %s "$hs/hs_ed25519_secret_key")" = 96 ] &&
                [ "$(head -c 32 "$hs/hs_ed25519_public_key" | od -An -c | tr -d ' \n')" = '==ed25519v1-public:type0==\0\0\0' ] &&
                [ "$(stat -c %s "$hs/hs_ed25519_public_key")" = 64 ] &&
                ok "v3: $name key files in tor's layout" || fail "v3: $name key file layout"
        else
            [ -e "$hs/ob_config" ] && fail "v2: $name has an ob_config" || ok "v2: $name has no ob_config"
            grep -q Onionbalance "$out/$name/torrc" && fail "v2: $name torrc has a v3 option" || ok "v2: no v3 option in $name torrc"
            head -1 "$hs/private_key" | grep -qx -- "-----BEGIN RSA PRIVATE KEY-----" &&
                openssl rsa -in "$hs/private_key" -check -noout >/dev/null 2>&1 &&
                [ "$(openssl rsa -in "$hs/private_key" -noout -text 2>/dev/null | head -1)" = "Private-Key: (1024 bit, 2 primes)" ] &&
                ok "v2: $name private_key is a valid 1024-bit PKCS#1 key" || fail "v2: $name private_key"
            [ "$(v2addr "$hs/private_key")" = "$got" ] && ok "v2: $name hostname = address by openssl+python" ||
                fail "v2: $name $(v2addr "$hs/private_key") vs $got"
            [ "$(mode "$hs/private_key")" = 600 ] && ok "v2: $name private_key 0600" || fail "v2: $name key mode"
        fi
    done
    [ "$(ls -A "$out" | wc -l)" -eq $((n + 2)) ] && ok "v$ver: nothing else in the folder" || fail "v$ver: $(ls -A "$out")"
    MADDR=$maddr
}

# --- v3, flags-driven ---
cd "$T" || exit 1
run "$OFF" config-gen --no-interactive -n 3 -t web --service-virtual-port 443 --service-target 127.0.0.1:8443 \
    --output "$T/v3" --passphrase-file "$T/pass"
expect 0 "" "config-gen v3"
cp "$T/out" "$T/summary"
grep -q "Next steps" "$T/summary" && grep -q "OFFLINE" "$T/summary" && grep -q "delete the instance folders" "$T/summary" &&
    ok "summary names the machines and next steps" || fail "summary: $(cat "$T/summary")"
check_tree "$T/v3" 3 3 web "$T/pass"
V3ADDR=$MADDR
grep -qx "HiddenServicePort 443 127.0.0.1:8443" "$T/v3/web2/torrc" && ok "virtual port and target" ||
    fail "HiddenServicePort: $(grep HiddenServicePort "$T/v3/web2/torrc")"
grep -q "$V3ADDR" "$T/summary" && ok "summary shows the master address" || fail "summary lacks $V3ADDR"

# tor takes the generated keys as its own.  Started with the network off (it
# contacts nobody), it reads ob_config, keeps both key files, and writes the
# hostname it derives from the secret key again: spoil the file first, so
# that only tor's own derivation can make it right.
hs=$T/v3/web1/hidden_service
want=$(cat "$hs/hostname")
keys=$(sha256sum "$hs/hs_ed25519_secret_key" "$hs/hs_ed25519_public_key")
echo "not-derived-by-tor.onion" >"$hs/hostname"
$TOR -f "$T/v3/web1/torrc" --DataDirectory "$T/tor-run" --DisableNetwork 1 --Log "notice file $T/tor-run.log" \
    >/dev/null 2>&1 &
torpid=$!
for _ in $(seq 1 100); do
    [ "$(cat "$hs/hostname")" = "$want" ] && break
    sleep 0.1
done
kill "$torpid" 2>/dev/null
wait "$torpid" 2>/dev/null
[ "$(cat "$hs/hostname")" = "$want" ] && [ "$(sha256sum "$hs/hs_ed25519_secret_key" "$hs/hs_ed25519_public_key")" = "$keys" ] &&
    ! grep -q "\[err\]\|\[warn\].*\(onion\|hidden\|key\)" "$T/tor-run.log" &&
    ok "tor on web1's folder: same keys, and the hostname it derives is the generated one" ||
    fail "tor on web1: hostname $(cat "$hs/hostname"), want $want: $(cat "$T/tor-run.log")"
grep -q "MasterOnionAddress $V3ADDR registered" "$T/tor-run.log" && ok "tor registered the master address from ob_config" ||
    fail "tor did not register $V3ADDR: $(cat "$T/tor-run.log")"
rm -rf "$hs/authorized_clients" "$T/tor-run"

# The management tor starts from online/torrc (the control port moved to a
# free one on the command line, which replaces the file's line; network off)
# and ob-online authenticates to it with the cookie.
ONL=$(dirname "$OFF")/ob-online
if [ -x "$ONL" ]; then
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $TOR -f "$T/v3/online/torrc" --DataDirectory "$T/mgmt" --ControlPort "127.0.0.1:$port" --DisableNetwork 1 \
        --Log "notice file $T/mgmt.log" >/dev/null 2>&1 &
    torpid=$!
    for _ in $(seq 1 100); do
        grep -q "Opened Control listener" "$T/mgmt.log" 2>/dev/null && [ -s "$T/mgmt/control_auth_cookie" ] && break
        sleep 0.1
    done
    "$ONL" tor-check -i 127.0.0.1 -p "$port" >"$T/tc.out" 2>&1
    tcrc=$?
    kill "$torpid" 2>/dev/null
    wait "$torpid" 2>/dev/null
    # Its network is off, so it has no consensus: authenticated, but exit 2.
    [ $tcrc -eq 2 ] && grep -q "auth .*COOKIE" "$T/tc.out" && grep -q "tor has no consensus yet" "$T/tc.out" &&
        [ "$(grep -c "Opened Control listener" "$T/mgmt.log")" -eq 1 ] &&
        ok "management tor from online/torrc: ob-online tor-check authenticates with the cookie (no consensus: exit 2)" ||
        fail "management tor: tor-check exit $tcrc: $(cat "$T/tc.out" "$T/mgmt.log")"
    rm -rf "$T/mgmt"
else
    echo "note: $ONL not built; management tor start not checked"
fi

# --- v2, with OnionBalance's spelling of the version ---
run "$OFF" config-gen --no-interactive --hs-version v2 -n 2 --output "$T/v2" --no-passphrase
expect 0 "NOT encrypted" "config-gen v2 --no-passphrase warns"
check_tree "$T/v2" 2 2 node
[ "$(v2addr "$(ls "$T"/v2/master/*.key)")" = "$MADDR" ] && ok "v2 master address by openssl+python" || fail "v2 master address"
grep -q "0.4.5" "$T/v2/node1/torrc" && ok "v2 torrc says which tor it needs" || fail "v2 torrc lacks the tor version note"

# --- an existing folder: exit 2, nothing changed ---
before=$(treesum "$T/v3")
run "$OFF" config-gen --no-interactive --output "$T/v3" --no-passphrase
expect 2 "already exists" "existing output folder refused"
[ "$(treesum "$T/v3")" = "$before" ] && ok "existing folder unchanged" || fail "existing folder changed"
mkdir "$T/empty"
run "$OFF" config-gen --no-interactive --output "$T/empty/" --no-passphrase
expect 2 "already exists" "existing empty folder refused"
[ -z "$(ls -A "$T/empty")" ] && ok "empty folder left empty" || fail "empty folder got $(ls -A "$T/empty")"
ln -s "$T/nowhere" "$T/dangling"
run "$OFF" config-gen --no-interactive --output "$T/dangling" --no-passphrase
expect 2 "already exists" "dangling symlink as output refused"
[ ! -e "$T/nowhere" ] && ok "symlink target not created" || fail "followed the symlink"
ls -A "$T" | grep -q '\.tmp-' && fail "temporary folders left: $(ls -A "$T")" || ok "no temporary folders left"

# --- --key: the same master address, any format the keystore reads ---
run "$OFF" config-gen --no-interactive -n 1 --output "$T/reuse" --key "$(ls "$T"/v3/master/*.key)" \
    --source-passphrase-file "$T/pass" --passphrase-file "$T/pass2"
expect 0 "" "--key with our encrypted store"
run "$OFF" address "$(ls "$T"/reuse/master/*.key)" --passphrase-file "$T/pass2"
[ "$(cat "$T/out")" = "$V3ADDR" ] && ok "--key keeps the master address (new passphrase)" || fail "--key: $(cat "$T/out") vs $V3ADDR"
[ "$(cat "$T/reuse/node1/hidden_service/ob_config")" = "MasterOnionAddress $V3ADDR" ] &&
    ok "--key: ob_config names the reused address" || fail "--key: ob_config"
verify_torrc "$T/reuse/node1/torrc"
run "$OFF" keygen --version 3 -o "$T/pem.key" --no-passphrase
pemaddr=$(cat "$T/out")
run "$OFF" config-gen --no-interactive -n 1 --output "$T/reuse-pem" --key "$T/pem.key" --passphrase-file "$T/pass"
expect 0 "" "--key with an OnionBalance PEM key"
run "$OFF" address "$(ls "$T"/reuse-pem/master/*.key)" --passphrase-file "$T/pass"
[ "$(cat "$T/out")" = "$pemaddr" ] && ok "--key PEM keeps the address" || fail "--key PEM: $(cat "$T/out") vs $pemaddr"
run "$OFF" config-gen --no-interactive -n 1 --output "$T/reuse-v2" --key "$(ls "$T"/v2/master/*.key)" --no-passphrase
expect 0 "" "--key with a v2 key"
[ -e "$T/reuse-v2/master/$(basename "$(ls "$T"/v2/master/*.key)")" ] && ok "--key v2 keeps the address" || fail "--key v2"
run "$OFF" config-gen --no-interactive --output "$T/mismatch" --key "$(ls "$T"/v2/master/*.key)" --version 3 --no-passphrase
expect 1 "holds a v2 key" "--key of the other version refused"
run "$OFF" config-gen --no-interactive --output "$T/badpass" --key "$(ls "$T"/v3/master/*.key)" \
    --source-passphrase-file "$T/pass2" --passphrase-file "$T/pass"
expect 1 "passphrase" "--key with a wrong passphrase"
run "$OFF" config-gen --no-interactive --output "$T/nokey" --key "$T/missing.key" --no-passphrase
[ $rc -ne 0 ] && ok "--key of a missing file fails (exit $rc)" || fail "--key missing file accepted"
for d in mismatch badpass nokey; do [ -e "$T/$d" ] && fail "$d: folder written after a refusal"; done

# --- bad options: usage errors, nothing written ---
bad() { # bad "stderr text" ARGS...
    local want=$1
    shift
    run "$OFF" config-gen --no-interactive --output "$T/bad" --no-passphrase "$@"
    local what="$*"
    expect 2 "$want" "refused: ${what//$'\n'/\\n}"
    [ -e "$T/bad" ] && { fail "folder written for: $*"; rm -rf "$T/bad"; }
}
bad "1 to 256" -n 0
bad "1 to 256" -n 257
bad "1 to 256" -n 2x
bad "letter first" -t 1node
bad "letter first" -t 'no de'
bad "at most 32" -t abcdefghijklmnopqrstuvwxyzabcdefghij
bad "a port is 1 to 65535" --service-virtual-port 0
bad "a port is 1 to 65535" --service-virtual-port 65536
bad "no host names" --service-target example.org:80
bad "no host names" --service-target 127.0.0.1:0
bad "no host names" --service-target "$(printf '127.0.0.1:80\nControlPort 9999')"
bad "absolute path" --service-target unix:relative.sock
bad "unquoted" --service-target 'unix:/run/my app.sock'
bad "minutes, 2 to 14400" --time-period-length 1
bad "3 or 2" --version 4
bad "given twice" --version 3 --hs-version v3
bad "command line" -p hunter2
bad "exclude" --passphrase-file "$T/pass"
bad "unexpected" --frobnicate
run "$OFF" config-gen --no-interactive --output "$T/with space" --no-passphrase
expect 2 "unquoted" "an output path that needs quoting in a torrc"
run "$OFF" config-gen --no-interactive --output "$T/no/such/parent/out" --no-passphrase
expect 2 "parent folder" "a missing parent folder"
run "$OFF" config-gen --no-interactive --output "$T/noterm"
expect 2 "terminal" "no passphrase source and no terminal"
[ -e "$T/noterm" ] && fail "folder written without a passphrase" || ok "nothing written without a passphrase"
run "$OFF" config-gen --no-interactive --output "$T/v6" -n 1 --service-target '[::1]:8080' --no-passphrase
expect 0 "" "IPv6 target"
verify_torrc "$T/v6/node1/torrc"
run "$OFF" config-gen --no-interactive --output "$T/unix" -n 1 --service-target unix:/run/web/app.sock --no-passphrase
expect 0 "" "unix socket target"
verify_torrc "$T/unix/node1/torrc"

# --- every option is known to the program and documented in both places ---
for opt in -n -t --tag --service-virtual-port --service-target --output -o --version --hs-version --key \
    --source-passphrase-file --passphrase-file --no-passphrase --no-interactive --interactive --time-period-length \
    --from-onionbalance; do
    run "$OFF" config-gen --no-interactive --output "$T/optcheck" "$opt"
    grep -q "unexpected argument" "$T/err" && fail "option $opt unknown to config-gen"
    manopt=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    grep -q -- "\`\`$opt\b" "$ROOT/docs/config-gen.rst" || fail "option $opt missing from docs/config-gen.rst"
    grep -q -- "$manopt\b" "$ROOT/man/ob-offline.1" || fail "option $opt missing from man/ob-offline.1"
done
rm -rf "$T/optcheck"
ok "options known to the program and listed in docs/config-gen.rst and the man page"

# --- the dialogue on a pseudo-terminal: Enter at every question ---
# ptyrun DIR ANSWER... : ANSWER is "prompt text=reply"; each reply is sent
# once its prompt has appeared (the passphrase prompt flushes typed-ahead input).
cat >"$T/tty_drive.py" <<'PYEOF'
import os, pty, select, sys, time
cwd, prog = sys.argv[1], sys.argv[2]
pairs = [a.split("=", 1) for a in sys.argv[3:]]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execv(prog, [prog, "config-gen"])
buf, done, step, deadline = b"", 0, 0, time.time() + 120
while time.time() < deadline:
    if step < len(pairs):
        prompt = pairs[step][0].encode()
        at = buf.find(prompt, done)
        if at >= 0:
            done = at + len(prompt)
            os.write(fd, pairs[step][1].encode() + b"\n")
            step += 1
            continue
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    buf += data
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
if step < len(pairs):
    sys.stdout.write("\n[tty_drive.py: no prompt '%s']\n" % pairs[step][0])
    sys.exit(99)
sys.exit(os.waitstatus_to_exitcode(status))
PYEOF
mkdir "$T/tty"
$PY "$T/tty_drive.py" "$T/tty" "$OFF" "Folder to create=" "Existing master key=" "version, 3 or 2=" "Number of backend=" \
    "Name prefix=" "Port clients=" "Where the service=" "New passphrase for=tty secret" "Repeat=tty secret" >"$T/tty.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "dialogue with default answers" || fail "dialogue: exit $rc: $(cat "$T/tty.log")"
grep -q "\[config\]" "$T/tty.log" && grep -q "\[2\]" "$T/tty.log" && grep -q "\[node\]" "$T/tty.log" &&
    grep -q "\[80\]" "$T/tty.log" && grep -q "\[127.0.0.1:80\]" "$T/tty.log" && grep -q "3 or 2.*\[3\]" "$T/tty.log" &&
    ok "the questions show the documented defaults" || fail "defaults: $(cat "$T/tty.log")"
grep -q "tty secret" "$T/tty.log" && fail "passphrase echoed" || ok "passphrase not echoed"
if [ -d "$T/tty/config" ]; then
    echo "tty secret" >"$T/ttypass"
    check_tree "$T/tty/config" 3 2 node "$T/ttypass"
    grep -qx "HiddenServicePort 80 127.0.0.1:80" "$T/tty/config/node1/torrc" && ok "dialogue: default port line" ||
        fail "dialogue: $(grep HiddenServicePort "$T/tty/config/node1/torrc")"
else
    fail "dialogue: no ./config folder"
fi

# Wrong answers are asked again; an existing folder is refused and asked again.
$PY "$T/tty_drive.py" "$T/tty" "$OFF" "Folder to create=config" "Folder to create=second" "Existing master key=/no/such.key" \
    "Existing master key=" \
    "version, 3 or 2=4" "version, 3 or 2=2" "Number of backend=0" "Number of backend=1" "Name prefix=9x" \
    "Name prefix=www" "Port clients=http" "Port clients=8080" "Where the service=localhost:80" \
    "Where the service=" "New passphrase for=tty secret" "Repeat=tty secret" >"$T/tty2.log" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "already exists" "$T/tty2.log" && grep -q "answer 3 or 2" "$T/tty2.log" &&
    grep -q "/no/such.key: no such file" "$T/tty2.log" &&
    grep -q "1 to 256" "$T/tty2.log" && grep -q "letter first" "$T/tty2.log" && grep -q "no host names" "$T/tty2.log" &&
    grep -q "\[127.0.0.1:8080\]" "$T/tty2.log" && ok "dialogue re-asks after wrong answers" || fail "dialogue re-ask: exit $rc: $(cat "$T/tty2.log")"
[ -d "$T/tty/second/www1" ] && [ ! -e "$T/tty/second/www2" ] && grep -qx "HiddenServicePort 8080 127.0.0.1:8080" "$T/tty/second/www1/torrc" &&
    [ "$(cat "$T/tty/second/www1/hidden_service/hostname" | wc -c)" = 23 ] && ok "dialogue answers used (v2, 1 instance, www, 8080)" ||
    fail "dialogue answers: $(ls -R "$T/tty/second" 2>&1 | head)"

[ $fails -eq 0 ] && echo "all config-gen CLI checks passed" || echo "$fails config-gen CLI checks failed"
[ $fails -eq 0 ]
