#!/bin/bash
# Migration from OnionBalance (docs/migration.rst), with what the real
# onionbalance-config (Debian's onionbalance 0.2.2) writes:
#
#   v3 (0.2): onionbalance-config writes config.yaml and an Ed25519 PEM key;
#       the operator fills in the instance addresses (here: throwaway backends
#       of tests/test_ceremony_fixture, whose descriptors stand in for the
#       running ones).  Also its --key with a tor hs_ed25519_secret_key.
#   v2 (0.1 and 0.2 --hs-version v2): master/config.yaml and an encrypted
#       RSA key (-p), plus the 0.1 global keys and an instance with 'auth:'.
#
# Then the documented commands: `ob-offline import` of the key, and
# `ob-offline config-gen --from-onionbalance` writing both configs; the
# result must be a working pair: `ob-online collect` with the online config,
# `ob-offline sign` with the offline one, for the SAME master address, which
# python (cryptography, stem, openssl) derives from OnionBalance's key
# without our code; stem validates and decrypts the signed master
# descriptors with that address.  Refusals leave nothing behind.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
command -v onionbalance-config >/dev/null || { echo "skip: onionbalance-config not installed (make deps)"; exit 77; }
B=$(cd "$B" && pwd)
OFF=$B/ob-offline ONL=$B/ob-online
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ob-test-migration.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
run() { # no terminal; stdout, stderr and status kept
    setsid -w "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}
expect() { # expect RC "text in stderr" description
    if [ "$rc" -ne "$1" ]; then
        fail "$3: exit $rc, expected $1; stderr: $(cat "$T/err")"
    elif [ -n "$2" ] && ! grep -qF -- "$2" "$T/err"; then
        fail "$3: stderr lacks '$2': $(cat "$T/err")"
    else
        ok "$3"
    fi
}
treesum() { (cd "$1" && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# The v3 address of an OnionBalance PEM key or a tor secret key file, by
# python alone (cryptography for the PEM, RFC 8032 scalar arithmetic for
# tor's expanded key, stem for the address encoding).
v3addr_py() {
    $PY - "$1" <<'PYEOF'
import sys
from cryptography.hazmat.primitives import serialization
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3 as D
raw = open(sys.argv[1], "rb").read()
if raw.startswith(b"== ed25519v1-secret: type0 =="):
    # tor keeps a|RH; the public key is a*B (ed25519 base point, pure python)
    p = 2**255 - 19
    d = -121665 * pow(121666, p - 2, p) % p
    def add(P, Q):
        (x1, y1), (x2, y2) = P, Q
        t = d * x1 * x2 * y1 * y2 % p
        return ((x1 * y2 + x2 * y1) * pow(1 + t, p - 2, p) % p,
                (y1 * y2 + x1 * x2) * pow(1 - t, p - 2, p) % p)
    gy = 4 * pow(5, p - 2, p) % p
    gx2 = (gy * gy - 1) * pow(d * gy * gy + 1, p - 2, p) % p
    gx = pow(gx2, (p + 3) // 8, p)
    if (gx * gx - gx2) % p:
        gx = gx * pow(2, (p - 1) // 4, p) % p
    if gx & 1:
        gx = p - gx
    a = int.from_bytes(raw[32:64], "little")
    R, P = (0, 1), (gx, gy)
    while a:
        if a & 1:
            R = add(R, P)
        P, a = add(P, P), a >> 1
    pub = (R[1] | ((R[0] & 1) << 255)).to_bytes(32, "little")
else:
    k = serialization.load_pem_private_key(raw, password=None)
    pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
print(D.address_from_identity_key(pub))
PYEOF
}
v2addr_py() { # base32(SHA1(PKCS#1 DER public key)[:10]), through openssl and python
    openssl rsa -in "$1" -passin "file:$2" -RSAPublicKey_out -outform DER 2>/dev/null |
        $PY -c 'import sys,hashlib,base64
print(base64.b32encode(hashlib.sha1(sys.stdin.buffer.read()).digest()[:10]).decode().lower() + ".onion")'
}
# fill_instances CONFIG ADDRESSFILE: the operator's edit of a fresh 0.2 config,
# one placeholder after the other (awk, not our code).
fill_instances() {
    awk -v list="$2" '/<Enter the instance onion address here>/ {
        if ((getline a < list) > 0) sub(/<Enter the instance onion address here>/, a ".onion") }
        { print }' "$1" >"$1.new" && mv "$1.new" "$1"
}
# The instance addresses of a config, one per line, with python's YAML reader.
yaml_instances() {
    $PY -c 'import sys, yaml
for s in yaml.safe_load(open(sys.argv[1]))["services"]:
    for i in s["instances"]:
        print(i["address"].lower().replace(".onion", ""), i.get("name"))' "$1"
}

printf 'new offline secret\n' >"$T/pass"

# ================================================================ v3 (0.2)
D=$T/v3
mkdir -p "$D/descs"
OB_CEREMONY_GEN=$D/descs OB_CEREMONY_VERSION=3 OB_CEREMONY_N=3 OB_CEREMONY_INTROS=3 \
    "$B/tests/test_ceremony_fixture" >/dev/null || { echo "fixture failed"; exit 1; }
(cd "$D" && onionbalance-config --no-interactive -n 3 --output ob >"$D/obc.log" 2>&1) ||
    { echo "onionbalance-config failed: $(cat "$D/obc.log")"; exit 1; }
obkey=$(ls "$D"/ob/*.key)
OBADDR=$(v3addr_py "$obkey")
check "onionbalance-config v3 named its key after the address python derives" \
    [ "$(basename "$obkey" .key).onion" = "$OBADDR" ]

# An unedited config (placeholders) is refused with the line; nothing written.
run "$OFF" config-gen --from-onionbalance "$D/ob/config.yaml" --output "$D/unedited" --passphrase-file "$T/pass"
expect 1 "config.yaml:4:" "unedited onionbalance-config output refused, naming the line"
check "nothing written for the unedited config" [ ! -e "$D/unedited" ]

fill_instances "$D/ob/config.yaml" "$D/descs/instances.txt"
check "the operator's config lists the three backends" \
    [ "$(yaml_instances "$D/ob/config.yaml" | cut -d' ' -f1)" = "$(cat "$D/descs/instances.txt")" ]

# Step: ob-offline import of the key (the key alone, into our encrypted store).
run "$OFF" import "$obkey" -o "$D/imported.key" --passphrase-file "$T/pass"
expect 0 "" "ob-offline import of the OnionBalance 0.2 key"
check "import prints the OnionBalance address" [ "$(cat "$T/out")" = "$OBADDR" ]
run "$OFF" address "$D/imported.key" --passphrase-file "$T/pass"
check "the imported store holds the same address" [ "$(cat "$T/out")" = "$OBADDR" ]
check "the imported store is encrypted (not PEM)" [ "$(head -c 8 "$D/imported.key")" = OBKSTORE ]

# Step: both configs at once.
before=$(treesum "$D/ob")
(cd "$D" && run "$OFF" config-gen --from-onionbalance ob/config.yaml --output new --passphrase-file "$T/pass")
expect 0 "" "config-gen --from-onionbalance (v3)"
check "the OnionBalance folder is left as it was" [ "$(treesum "$D/ob")" = "$before" ]
grep -q "Next steps (docs/migration.rst)" "$T/out" && grep -qF "$OBADDR (v3): 3 instances" "$T/out" &&
    ok "summary: address, instance count, next steps" || fail "summary: $(cat "$T/out")"
check "only master/ and online/ written" [ "$(ls "$D/new" | tr '\n' ' ')" = "master online " ]
mk=$D/new/master/${OBADDR%.onion}.key
check "master key file named after the address" [ -f "$mk" ]
check "master key 0600, folders 0700" [ "$(stat -c %a "$mk" "$D/new" "$D/new/master" "$D/new/online" | tr '\n' ' ')" = "600 700 700 700 " ]
run "$OFF" address "$mk" --passphrase-file "$T/pass"
check "the new master key has the OnionBalance address" [ "$(cat "$T/out")" = "$OBADDR" ]
check "the new master key is encrypted" [ "$(head -c 8 "$mk")" = OBKSTORE ]
check "offline config: key: and address: of the service" \
    grep -qx "  - key: ${OBADDR%.onion}.key" "$D/new/master/config.yaml"
check "offline config names the address beside the key" grep -qx "    address: $OBADDR" "$D/new/master/config.yaml"
check "online config names the master address" grep -qx "  - address: $OBADDR" "$D/new/online/config.yaml"
# Onion addresses are taken out first: a random one holds "key" now and then.
grep -qi "key" <(grep -v '^#' "$D/new/online/config.yaml" | sed -E 's/[a-z2-7]{56}//g') && fail "online config mentions a key" ||
    ok "no key in the online config"
check "instances kept, in order, with their names (offline)" \
    [ "$(yaml_instances "$D/new/master/config.yaml")" = "$(yaml_instances "$D/ob/config.yaml")" ]
check "instances kept, in order, with their names (online)" \
    [ "$(yaml_instances "$D/new/online/config.yaml")" = "$(yaml_instances "$D/ob/config.yaml")" ]
check "no OnionBalance default written out (none was set)" \
    [ -z "$(grep -v '^#' "$D/new/online/config.yaml" | grep '^[A-Za-z_]*:' | grep -v '^services:')" ]

# The pair works: collect with the online config, sign with the offline one.
run "$ONL" collect -c "$D/new/online/config.yaml" --descriptors-from "$D/descs" -o "$D/req.obb"
cat "$T/err" >>"$T/out"
[ $rc -eq 0 ] && [ "$(grep -c '^  ok ' "$T/out")" -eq 3 ] && ok "ob-online collect with the migrated online config: 3 ok" ||
    fail "collect: exit $rc: $(cat "$T/out")"
run "$OFF" sign -c "$D/new/master/config.yaml" -i "$D/req.obb" -o "$D/resp.obb" --yes --passphrase-file "$T/pass"
expect 0 "" "ob-offline sign with the migrated offline config"
grep -qF "$OBADDR v3  3/0/0" "$T/out" && ok "the summary names the OnionBalance address and its 3 backends" ||
    fail "sign summary: $(cat "$T/out")"
run "$ONL" inspect --request "$D/req.obb" "$D/resp.obb"
[ $rc -eq 0 ] && [ "$(grep -c "$OBADDR v3 period " "$T/out")" -ge 2 ] &&
    ok "the response carries descriptors of $OBADDR" || fail "inspect: $(cat "$T/out" "$T/err")"
# stem, not our code: the master descriptors validate, decrypt with the
# OnionBalance address and carry the 9 intro points of the 3 backends.
mkdir "$D/extract"
"$ONL" inspect --request "$D/req.obb" --extract "$D/extract" "$D/resp.obb" >/dev/null 2>&1 &&
    $PY tests/interop/lib/ceremony_stem_check.py v3 "${OBADDR%.onion}" "$D/descs" "$D/extract" 9 >"$T/stem" 2>&1 &&
    ok "stem: the descriptors signed after the migration are valid for $OBADDR" || fail "stem: $(cat "$T/stem")"

# The same with the old tor key (onionbalance-config --key copies tor's file).
$PY - "$D/tor_secret" <<'PYEOF'
import hashlib, os, sys
h = bytearray(hashlib.sha512(os.urandom(32)).digest())
h[0] &= 248; h[31] &= 127; h[31] |= 64
open(sys.argv[1], "wb").write(b"== ed25519v1-secret: type0 ==\0\0\0" + bytes(h))
PYEOF
TORADDR=$(v3addr_py "$D/tor_secret")
(cd "$D" && onionbalance-config --no-interactive -n 1 --key tor_secret --output obtor >"$D/obc.log" 2>&1) ||
    fail "onionbalance-config --key: $(cat "$D/obc.log")"
check "onionbalance-config copied the tor key under its address" [ -f "$D/obtor/${TORADDR%.onion}.key" ]
head -n1 "$D/descs/instances.txt" >"$D/one.txt"
fill_instances "$D/obtor/config.yaml" "$D/one.txt"
run "$OFF" config-gen --from-onionbalance "$D/obtor/config.yaml" --output "$D/newtor" --passphrase-file "$T/pass"
expect 0 "" "config-gen --from-onionbalance with a tor key"
run "$OFF" address "$D/newtor/master/${TORADDR%.onion}.key" --passphrase-file "$T/pass"
check "the tor key keeps its address ($TORADDR)" [ "$(cat "$T/out")" = "$TORADDR" ]

# OnionBalance 0.2's status-socket-location: carried as STATUS_SOCKET_LOCATION
# once the config reader knows the key; until then named as not carried.
sed 's|^services:|status-socket-location: /run/onionbalance/status.sock\nservices:|' "$D/ob/config.yaml" >"$D/ob/status.yaml"
run "$OFF" config-gen --from-onionbalance "$D/ob/status.yaml" --output "$D/status" --no-passphrase
if grep -q "unknown key 'status-socket-location'" "$T/err"; then
    [ $rc -eq 0 ] && grep -qF "(not carried over)" "$T/err" && ! grep -qi "status.socket" "$D/status/online/config.yaml" &&
        ok "status-socket-location: unknown to the reader, said so, not carried" ||
        fail "status-socket-location (unknown): exit $rc: $(cat "$T/err")"
else
    [ $rc -eq 0 ] && grep -qxF 'STATUS_SOCKET_LOCATION: "/run/onionbalance/status.sock"' "$D/status/online/config.yaml" &&
        ok "status-socket-location carried as STATUS_SOCKET_LOCATION" ||
        fail "status-socket-location: exit $rc: $(cat "$T/err" "$D/status/online/config.yaml")"
fi

# Refusals: nothing written, the OnionBalance files untouched.
run "$OFF" config-gen --from-onionbalance "$D/ob/config.yaml" --output "$D/new" --passphrase-file "$T/pass"
expect 2 "already exists" "an existing output folder is refused"
run "$OFF" config-gen --from-onionbalance "$D/ob/config.yaml" -n 3 --output "$D/x" --passphrase-file "$T/pass"
expect 2 "-n makes a new deployment" "a generator option with --from-onionbalance is a usage error"
run "$OFF" config-gen --from-onionbalance "$D/new/online/config.yaml" --output "$D/x" --passphrase-file "$T/pass"
expect 1 "names no 'key:'" "an online config (no key) is refused"
run "$OFF" config-gen --from-onionbalance "$D/nosuch.yaml" --output "$D/x" --passphrase-file "$T/pass"
check "a missing config is refused (exit $rc)" [ $rc -ne 0 ]
run "$OFF" config-gen --from-onionbalance "$D/ob/config.yaml" --output "$D/x"
expect 2 "terminal" "no passphrase source and no terminal"
check "nothing written by any refusal" [ ! -e "$D/x" ]
ls -A "$D" | grep -q '\.tmp-' && fail "temporary folder left: $(ls -A "$D")" || ok "no temporary folder left"
# A key we do not know is named and not carried.
sed 's/^services:/UNKNOWN_OPTION: 1\nservices:/' "$D/ob/config.yaml" >"$D/ob/unknown.yaml"
run "$OFF" config-gen --from-onionbalance "$D/ob/unknown.yaml" --output "$D/unk" --no-passphrase
expect 0 "unknown key 'UNKNOWN_OPTION'" "an unknown key is reported"
grep -qF "(not carried over)" "$T/err" && ! grep -q UNKNOWN "$D/unk/online/config.yaml" "$D/unk/master/config.yaml" &&
    ok "... and not carried over" || fail "unknown key: $(cat "$T/err")"
grep -q "NOT encrypted" "$T/err" && ok "--no-passphrase warns" || fail "--no-passphrase: $(cat "$T/err")"

# ======================================================== v2 (0.1, 0.2 --hs-version v2)
D=$T/v2
mkdir -p "$D/descs"
OB_CEREMONY_GEN=$D/descs OB_CEREMONY_VERSION=2 OB_CEREMONY_N=2 OB_CEREMONY_INTROS=3 \
    "$B/tests/test_ceremony_fixture" >/dev/null || { echo "v2 fixture failed"; exit 1; }
printf 'old onionbalance password\n' >"$T/obpass"
(cd "$D" && onionbalance-config --hs-version v2 --no-interactive -n 2 -p "old onionbalance password" \
    --output ob >"$D/obc.log" 2>&1) || { echo "onionbalance-config v2 failed: $(cat "$D/obc.log")"; exit 1; }
obkey=$(ls "$D"/ob/master/*.key)
check "the v2 key is encrypted the OnionBalance way" grep -q "^Proc-Type: 4,ENCRYPTED" "$obkey"
OBADDR=$(v2addr_py "$obkey" "$T/obpass")
check "onionbalance-config v2 named its key after the address openssl gives" \
    [ "$(basename "$obkey" .key).onion" = "$OBADDR" ]
# The running deployment: its backends are the fixture's; an OnionBalance 0.1
# operator also set the 0.1 globals and a third backend with client auth.
{
    printf '# OnionBalance 0.1 globals\nREFRESH_INTERVAL: 300\nPUBLISH_CHECK_INTERVAL: 120\n'
    printf 'TOR_ADDRESS: 127.0.0.1\nTOR_PORT: 9151\nTOR_CONTROL_PASSWORD: "s3cret pass"\n'
    printf 'LOG_LEVEL: debug\nLOG_LOCATION: /var/log/onionbalance/log\nDISTINCT_DESCRIPTORS: false\n'
    n=0
    while IFS= read -r line; do
        case "$line" in
            *"- address: "*)
                n=$((n + 1))
                printf '  - address: %s\n' "$(sed -n "${n}p" "$D/descs/instances.txt")"
                ;;
            "  key: "*)
                printf '  - address: expyuzz4wqqyqhjn\n    name: stealth\n    auth: dCmx3CBYAgqJq1/WJPZbEA\n'
                printf '%s\n' "$line"
                ;;
            *) printf '%s\n' "$line" ;;
        esac
    done <"$D/ob/master/config.yaml"
} >"$D/ob/master/config01.yaml"
run "$OFF" config-gen --from-onionbalance "$D/ob/master/config01.yaml" --output "$D/new" \
    --passphrase-file "$T/pass" --source-passphrase-file "$T/badpass-missing"
check "a missing source passphrase file is refused (exit $rc)" [ $rc -ne 0 ] && [ ! -e "$D/new" ]
printf 'wrong\n' >"$T/wrong"
run "$OFF" config-gen --from-onionbalance "$D/ob/master/config01.yaml" --output "$D/new" \
    --passphrase-file "$T/pass" --source-passphrase-file "$T/wrong"
expect 1 "passphrase" "a wrong OnionBalance key password is refused"
check "nothing written after the wrong password" [ ! -e "$D/new" ]
run "$OFF" config-gen --from-onionbalance "$D/ob/master/config01.yaml" --output "$D/new" \
    --passphrase-file "$T/pass" --source-passphrase-file "$T/obpass"
expect 0 "" "config-gen --from-onionbalance (v2, 0.1 globals)"
mk=$D/new/master/${OBADDR%.onion}.key
run "$OFF" address "$mk" --passphrase-file "$T/pass"
check "the v2 master key keeps its address" [ "$(cat "$T/out")" = "$OBADDR" ]
check "... re-encrypted with the new passphrase (PKCS#8)" grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$mk"
check "v2 instances kept with their names" \
    [ "$(yaml_instances "$D/new/online/config.yaml")" = "$(yaml_instances "$D/ob/master/config01.yaml")" ]
for kv in "REFRESH_INTERVAL: 300" "PUBLISH_CHECK_INTERVAL: 120" 'TOR_ADDRESS: "127.0.0.1"' "TOR_PORT: 9151" \
    'TOR_CONTROL_PASSWORD: "s3cret pass"' 'LOG_LEVEL: "debug"' 'LOG_LOCATION: "/var/log/onionbalance/log"' \
    "DISTINCT_DESCRIPTORS: false"; do
    grep -qxF "$kv" "$D/new/online/config.yaml" || fail "online config lacks '$kv'"
done
ok "the 0.1 globals are in the online config"
grep -q "TOR_\|REFRESH\|LOG_" "$D/new/master/config.yaml" && fail "daemon settings in the offline config" ||
    ok "no daemon settings in the offline config"
check "the auth cookie goes to both sides" \
    [ "$(grep -c "auth_cookie: dCmx3CBYAgqJq1/WJPZbEA" "$D/new/online/config.yaml" "$D/new/master/config.yaml" | cut -d: -f2 | tr '\n' ' ')" = "1 1 " ]
check "files with a password or cookie are 0600" \
    [ "$(stat -c %a "$D/new/online/config.yaml" "$D/new/master/config.yaml" | tr '\n' ' ')" = "600 600 " ]
run "$ONL" collect -c "$D/new/online/config.yaml" --descriptors-from "$D/descs" -o "$D/req.obb"
cat "$T/err" >>"$T/out"
[ $rc -eq 0 ] && [ "$(grep -c '^  ok ' "$T/out")" -eq 2 ] && ok "ob-online collect (v2): 2 ok" ||
    fail "v2 collect: exit $rc: $(cat "$T/out")"
run "$OFF" sign -c "$D/new/master/config.yaml" -i "$D/req.obb" -o "$D/resp.obb" --yes --passphrase-file "$T/pass"
expect 0 "" "ob-offline sign (v2) with the migrated offline config"
run "$ONL" inspect "$D/resp.obb"
[ "$(grep -c "$OBADDR v2 period" "$T/out")" -ge 1 ] && ok "the v2 response is for $OBADDR" ||
    fail "v2 inspect: $(cat "$T/out" "$T/err")"
mkdir "$D/extract"
"$ONL" inspect --extract "$D/extract" "$D/resp.obb" >/dev/null 2>&1 &&
    $PY tests/interop/lib/ceremony_stem_check.py v2 "${OBADDR%.onion}" "$D/descs" "$D/extract" 6 >"$T/stem" 2>&1 &&
    ok "stem: the v2 descriptors are valid for $OBADDR" || fail "stem v2: $(cat "$T/stem")"

echo "$checks checks passed, $fails failed"
[ $fails -eq 0 ]
