#!/bin/bash
# Onion addresses against independent implementations:
#   - the real tor (0.4.9) writes a HiddenServiceDir; `ob-offline address`
#     on the directory and on hs_ed25519_secret_key must equal tor's hostname
#     and stem's address_from_identity_key(hs_ed25519_public_key);
#   - an OnionBalance 0.2 style key (python cryptography, PKCS#8 PEM) gives
#     the address stem computes from its public key;
#   - addresses from `ob-offline keygen` round-trip through stem.
# tor runs with DisableNetwork 1 and SocksPort 0: it touches no network.
set -u
OFF=${OB_BUILD:-build/san}/ob-offline
PY=/usr/bin/python3
[ -x "$OFF" ] || { echo "no $OFF"; exit 1; }
command -v tor >/dev/null || { echo "tor not installed"; exit 77; }
$PY -c 'import stem, cryptography' 2>/dev/null || { echo "python3-stem or python3-cryptography missing"; exit 77; }
export OB_INSECURE_TEST_KDF=1 # test-only: cheap Argon2id
T=$(mktemp -d /tmp/ob-test-stem.XXXXXX)
torpid=
cleanup() {
    [ -n "$torpid" ] && kill "$torpid" 2>/dev/null && wait "$torpid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
stem_addr() { # stem_addr RAW32FILE-OFFSET: address stem derives from the public key bytes
    $PY -c 'import sys
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3 as H
d=open(sys.argv[1],"rb").read()[int(sys.argv[2]):]
assert len(d)==32
print(H.address_from_identity_key(d))' "$1" "$2"
}

# --- the real tor makes a v3 service ---
mkdir -p "$T/data" "$T/hs"
chmod 700 "$T/data" "$T/hs"
cat >"$T/torrc" <<TORRC
DataDirectory $T/data
DisableNetwork 1
SocksPort 0
ControlPort 0
Log notice file $T/tor.log
HiddenServiceDir $T/hs
HiddenServicePort 80 127.0.0.1:1
TORRC
tor -f "$T/torrc" --ignore-missing-torrc >/dev/null 2>&1 &
torpid=$!
for _ in $(seq 1 100); do
    [ -s "$T/hs/hostname" ] && [ -s "$T/hs/hs_ed25519_secret_key" ] && break
    sleep 0.1
done
kill "$torpid" 2>/dev/null
wait "$torpid" 2>/dev/null
torpid=
if [ ! -s "$T/hs/hostname" ]; then
    echo "tor did not write a hostname file:"
    cat "$T/tor.log" 2>/dev/null
    exit 1
fi
torhost=$(cat "$T/hs/hostname")
stemhost=$(stem_addr "$T/hs/hs_ed25519_public_key" 32)
[ "$torhost" = "$stemhost" ] && ok "tor hostname = stem address" || fail "tor $torhost vs stem $stemhost"
got=$("$OFF" address "$T/hs/hs_ed25519_secret_key" 2>&1)
[ "$got" = "$torhost" ] && ok "ob-offline address on tor's secret key = tor hostname" || fail "secret key: $got vs $torhost"
got=$("$OFF" address "$T/hs" 2>&1)
[ "$got" = "$torhost" ] && ok "ob-offline address on the HiddenServiceDir" || fail "dir: $got vs $torhost"
# Import into our store and read it back.
printf 'interop\n' >"$T/pass"
# (stderr apart: a store made under OB_INSECURE_TEST_KDF=1 warns on every open)
got=$("$OFF" import "$T/hs" -o "$T/store" --passphrase-file "$T/pass" 2>"$T/err")
[ "$got" = "$torhost" ] && ok "import of tor's key keeps its address" || fail "import: $got $(cat "$T/err")"
got=$("$OFF" address "$T/store" --passphrase-file "$T/pass" 2>"$T/err")
[ "$got" = "$torhost" ] && ok "store holding tor's key" || fail "store: $got $(cat "$T/err")"
# A hostname file that disagrees with the key is caught.
cp -r "$T/hs" "$T/hs2"
other=$("$OFF" keygen --version 3 -o "$T/otherkey" --no-passphrase 2>/dev/null)
printf '%s\n' "$other" >"$T/hs2/hostname"
"$OFF" address "$T/hs2" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q hostname "$T/err" && ok "mismatching hostname refused" || fail "mismatching hostname: rc=$rc $(cat "$T/err")"

# --- OnionBalance 0.2 style key made by python cryptography ---
$PY - "$T/ob.pem" "$T/ob.pub" <<'PYEOF'
import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
k = Ed25519PrivateKey.generate()
open(sys.argv[1], "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(sys.argv[2], "wb").write(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))
PYEOF
want=$(stem_addr "$T/ob.pub" 0)
got=$("$OFF" address "$T/ob.pem" 2>&1)
[ "$got" = "$want" ] && ok "OnionBalance PEM key: ob-offline = stem" || fail "OnionBalance PEM: $got vs $want"

# --- our keygen, checked by stem and read back by python cryptography ---
for i in 1 2 3; do
    a=$("$OFF" keygen --version 3 -o "$T/gen$i" --no-passphrase 2>/dev/null)
    back=$($PY -c 'import sys
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3 as H
from cryptography.hazmat.primitives import serialization as s
k = s.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
pub = k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
assert H.identity_key_from_address(sys.argv[1]) == pub, "stem decodes another key"
print(H.address_from_identity_key(pub))' "$a" "$T/gen$i" 2>&1)
    [ "$back" = "$a" ] && ok "keygen $i: stem and cryptography agree" || fail "keygen $i: $a vs $back"
done
[ $fails -eq 0 ] && echo "all interop address checks passed"
[ $fails -eq 0 ]
