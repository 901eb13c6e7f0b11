#!/bin/bash
# The delegated mode's certificates checked by independent code: python makes
# a master identity key (tor's hs_ed25519_secret_key format), ob-online
# delegate request / ob-offline certify / ob-online delegate install run on
# it, then python, with its own reading of the bundle format
# (docs/bundle-format.rst) and of tor's certificate format, checks every
# period of the response:
#   - the type-08 certificate, put together from its parts with the signer
#     stem derives (_blinded_pubkey for the master address and the period),
#     verifies with python-cryptography's Ed25519 and parses with stem's
#     Ed25519CertificateV1 (type, certified key, signer extension);
#   - it certifies the key the request asked for that period;
#   - its expiry is the ceremony mode's rule (docs/v3-descriptors.rst);
#   - the revision-counter key is SHA3-256("rev-counter-generation\0" |
#     blinded expanded key), the blinded key computed in python;
# and that the installed key store holds none of the identity key's or the
# blinded keys' secret bytes.
set -eu
cd "$(dirname "$0")/../.."
: "${OB_BUILD:=build/san}"
py=/usr/bin/python3
if ! $py -c 'import stem.descriptor.hidden_service, stem.descriptor.certificate, cryptography' 2>/dev/null; then
    echo "skip: $py has no stem/cryptography"
    exit 77
fi
for f in ob-online ob-offline; do
    [ -x "$OB_BUILD/$f" ] || { echo "FAIL: $OB_BUILD/$f not built"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OB_DELEGATED_STORE=$tmp/store OB_REQUEST_STORE=$tmp/requests

# The master key: a seed, expanded as tor does, in tor's secret key file.
$py - "$tmp" <<'PY'
import hashlib, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stem.descriptor import hidden_service as hs
from stem.util import ed25519 as ed
d = sys.argv[1]
seed = os.urandom(32)
h = hashlib.sha512(seed).digest()
a = 2 ** 254 + sum(2 ** j * ed.bit(h, j) for j in range(3, 254))
exp = a.to_bytes(32, "little") + h[32:]
A = hs.stem.util._pubkey_bytes(Ed25519PrivateKey.from_private_bytes(seed))
addr = hs.HiddenServiceDescriptorV3.address_from_identity_key(A).replace(".onion", "")
with open(d + "/hs_ed25519_secret_key", "wb") as f:
    f.write(b"== ed25519v1-secret: type0 ==\0\0\0" + exp)
with open(d + "/seed", "wb") as f:
    f.write(seed)
with open(d + "/address", "w") as f:
    f.write(addr)
PY
M=$(cat "$tmp/address")
BE=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd
cat >"$tmp/online.yaml" <<EOF
TOR_CONTROL_SOCKET: $tmp/no-tor-here
TOR_PORT: 1
services:
  - address: $M.onion
    instances:
      - address: $BE.onion
EOF
cat >"$tmp/offline.yaml" <<EOF
ceremony_log: ceremony.log
descriptor_lifetime: 60
services:
  - key: hs_ed25519_secret_key
    address: $M.onion
    instances:
      - address: $BE.onion
EOF
"$OB_BUILD/ob-online" delegate request -c "$tmp/online.yaml" -o "$tmp/kreq.obb" --days 9 >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; exit 1; }
"$OB_BUILD/ob-offline" certify -c "$tmp/offline.yaml" -i "$tmp/kreq.obb" -o "$tmp/kresp.obb" --yes \
    >"$tmp/out" 2>&1 || { cat "$tmp/out"; exit 1; }
"$OB_BUILD/ob-online" delegate install -c "$tmp/online.yaml" "$tmp/kresp.obb" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; exit 1; }

$py - "$tmp" <<'PY'
import base64, datetime, hashlib, os, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from stem.descriptor import hidden_service as hs
from stem.descriptor.certificate import CertType, Ed25519Certificate, ExtensionType
from stem.util import ed25519 as ed

d = sys.argv[1]
seed = open(d + "/seed", "rb").read()
addr = open(d + "/address").read().strip()
priv = Ed25519PrivateKey.from_private_bytes(seed)
A = hs.stem.util._pubkey_bytes(priv)
h = hashlib.sha512(seed).digest()
a = 2 ** 254 + sum(2 ** j * ed.bit(h, j) for j in range(3, 254))
BSTR = (b"(15112221349535400772501151409588531511454012693041857206046113283949847762202, "
        b"46316835694926478169428394003475163141307993866256225615783033603165251855960)")

def bundle(path, kind):
    """The bundle container, read from docs/bundle-format.rst: header, TLV body, SHA-256."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89OBB\r\n\x1a\n" and b[8] == 1 and b[9] == kind, path
    n = struct.unpack(">I", b[12:16])[0]
    assert len(b) == 16 + n + 32 and hashlib.sha256(b[:16 + n]).digest() == b[16 + n:]
    return b[16:16 + n], hashlib.sha256(b[:16 + n]).digest()

def fields(body):
    out, i = [], 0
    while i < len(body):
        tag, n = struct.unpack(">HI", body[i:i + 6])
        out.append((tag, body[i + 6:i + 6 + n]))
        i += 6 + n
    assert i == len(body)
    return out

u64 = lambda v: struct.unpack(">Q", v)[0]
u32 = lambda v: struct.unpack(">I", v)[0]

# The request: the key asked for each period.
body, req_digest = bundle(d + "/kreq.obb", 3)
asked = {}
for tag, v in fields(body):
    if tag == 0x9005:
        svc = dict(fields(v))
        assert svc[0x9101].decode() == addr
        for t2, pv in fields(v):
            if t2 == 0x9102:
                p = dict(fields(pv))
                asked[u64(p[0x9201])] = p[0x9204]

body, _ = bundle(d + "/kresp.obb", 4)
top = fields(body)
hdr = dict((t, v) for t, v in top if t != 0x9306)
assert hdr[0x9301] == req_digest, "the response answers another request"
L, off = u32(hdr[0x9304]), u32(hdr[0x9305])
services = [v for t, v in top if t == 0x9306]
assert len(services) == 1
bexps = []
checked = 0
for t, v in fields(services[0]):
    if t == 0x9401:
        assert v.decode() == addr
        continue
    c = dict(fields(v))
    tp, key, expires, sig, rev = u64(c[0x9501]), c[0x9502], u64(c[0x9503]), c[0x9504], c[0x9505]
    assert key == asked[tp], "period %d: not the key the request asked for" % tp
    nonce = hashlib.sha3_256(b"Derive temporary signing key\0" + A + BSTR + b"key-blind" +
                             struct.pack(">Q", tp) + struct.pack(">Q", L)).digest()
    Ab = hs._blinded_pubkey(priv, nonce)
    assert expires % 3600 == 0
    raw = (b"\x01\x08" + struct.pack(">I", expires // 3600) + b"\x01" + key + b"\x01" +
           struct.pack(">HBB", 32, 4, 0) + Ab + sig)
    Ed25519PublicKey.from_public_bytes(Ab).verify(sig, raw[:-64])   # raises if it does not verify
    cert = Ed25519Certificate.from_base64(base64.b64encode(raw).decode())
    assert cert.type == CertType.HS_V3_DESC_SIGNING and cert.type_int == 8
    assert cert.key == key and cert.signing_key() == Ab
    assert [e.type for e in cert.extensions] == [ExtensionType.HAS_SIGNING_KEY]
    # Expiry: the end of the period's descriptor window + lifetime (60) + 1 h, in hours.
    run_start = (tp * L + off) * 60 - off * 60
    want = -(-(run_start + 2 * L * 60 + 60 * 60 + 3600) // 3600)
    assert expires // 3600 == want, (tp, expires // 3600, want)
    assert cert.expiration == datetime.datetime.utcfromtimestamp(expires), (cert.expiration, expires)
    # The revision-counter key, from the blinded expanded key computed here.
    mult = 2 ** 254 + sum(2 ** j * ed.bit(nonce, j) for j in range(3, 254))
    bexp = ((a * mult) % ed.l).to_bytes(32, "little") + \
        hashlib.sha512(b"Derive temporary signing key hash input" + h[32:]).digest()[:32]
    assert rev == hashlib.sha3_256(b"rev-counter-generation\0" + bexp).digest(), tp
    bexps.append(bexp)
    checked += 1
assert checked == len(asked) and checked >= 10, (checked, len(asked))

# The online key store: nothing the identity key can be derived from.
secrets = [h[:32], h[32:], seed, a.to_bytes(32, "little")]
for b in bexps:
    secrets += [b[:32], b[32:]]
n_files = 0
for root, _, files in os.walk(d + "/store"):
    for f in files:
        data = open(os.path.join(root, f), "rb").read()
        n_files += 1
        for s in secrets:
            assert s not in data, "%s holds a secret of the identity key" % f
assert n_files == checked, (n_files, checked)
print("ok: %d certificates verify against stem's blinded keys, expiries and revision-counter "
      "keys agree; %d key files hold no identity or blinded secret" % (checked, n_files))
PY
