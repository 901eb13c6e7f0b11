#!/bin/bash
# The ceremony's output checked by stem: 10 throwaway v3 backends with 3
# intro points each -> collect -> sign -> every master descriptor validates
# in stem, decrypts with the master address and holds 20 intro points, all
# the backends'; a tampered copy is refused by stem too.  Then a v2
# ceremony with 3 backends whose master descriptors stem validates.
# Skips (77) without /usr/bin/python3 + stem or the binaries.
set -eu
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
PY=/usr/bin/python3
export OB_INSECURE_TEST_KDF=1
"$PY" -c 'import stem.descriptor.hidden_service, cryptography' 2>/dev/null ||
    { echo "skip: $PY has no stem/cryptography"; exit 77; }
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # VERSION N INTROS WANT_PER_DESC
    local D=$tmp/v$1
    cer_setup "$1" "$2" "$3" "$D"
    "$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >/dev/null
    "$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes \
        -i "$D/req.obb" -o "$D/resp.obb" >/dev/null
    mkdir "$D/x"
    "$B/ob-online" inspect --extract "$D/x" "$D/resp.obb" >/dev/null
    "$PY" tests/interop/lib/ceremony_stem_check.py "v$1" "$MASTER" "$D/descs" "$D/x" "$4"
}

run 3 10 3 20
# stem must reject a master descriptor with one signed byte changed.
f=$(ls "$tmp/v3/x"/*.desc | head -n1)
sed -i 's/^revision-counter \([0-9]\)/revision-counter 9\1/' "$f"
mkdir "$tmp/bad"
mv "$f" "$tmp/bad/"
if "$PY" -c 'import sys
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
HiddenServiceDescriptorV3.from_str(open(sys.argv[1]).read(), validate=True)' "$tmp/bad"/*.desc 2>/dev/null; then
    echo "FAIL: stem accepted a tampered master descriptor"
    exit 1
fi
run 2 3 3 9
echo "ok"
