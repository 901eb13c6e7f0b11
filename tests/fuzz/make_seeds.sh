#!/bin/bash
# make_seeds.sh - (re)write the seed files of tests/fuzz/corpus/<target>/
# (`make fuzz-seeds` builds what it needs, then runs it).
#
# Seeds come from the test data (tests/data), from throwaway ceremonies run
# with the built programs (requests, compact and full responses, configs,
# backend descriptors, a ceremony log, QR pictures), from tests/fuzz/seeds.py
# (Python: the control port, consensuses, descriptor layers, configs, PEM
# keys) and from tests/fuzz/seedgen.c (material signed with the fixed keys of
# tests/fuzz/fixed.h).  Files the fuzzer added to a corpus (named by their
# SHA-1) are left alone.  Some seeds are random (fresh keys, the live time
# period), so a re-run changes them: commit only when a format changed.
set -eu
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build}
C=tests/fuzz/corpus
PY=/usr/bin/python3
for f in ob-online ob-offline tests/test_ceremony_fixture fuzz-replay/seedgen; do
    [ -x "$B/$f" ] || { echo "make_seeds: $B/$f is not built (make fuzz-seeds)"; exit 2; }
done
export OB_INSECURE_TEST_KDF=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OB_REQUEST_STORE=$tmp/store
. tests/cli/lib/ceremony.sh

for t in tests/fuzz/fuzz_*.c; do
    t=${t##*/}
    mkdir -p "$C/${t%.c}"
done

# Python-made seeds.
for pair in ctl:fuzz_ctl hsdir:fuzz_hsdir hsv2:fuzz_hsv2 hsv3:fuzz_hsv3_desc \
    layers:fuzz_hsv3_layers cert:fuzz_hsv3_cert config:fuzz_config keys:fuzz_keys clog:fuzz_clog; do
    "$PY" tests/fuzz/seeds.py "${pair%%:*}" "$C/${pair#*:}"
done
# Signed with the fixed keys.
"$B/fuzz-replay/seedgen" layers "$C/fuzz_hsv3_layers"
"$B/fuzz-replay/seedgen" compact "$C/fuzz_compact"
"$B/fuzz-replay/seedgen" keys "$C/fuzz_keys"
"$B/fuzz-replay/seedgen" keybundles "$C/fuzz_bundle"

# Ceremonies: v3 (3 backends, 2 intro points each) and v2 (2 backends).
cer_setup 3 3 2 "$tmp/v3" >/dev/null
"$B/ob-online" collect -c "$tmp/v3/online.yaml" --descriptors-from "$tmp/v3/descs" -o "$tmp/v3/req.obb" >/dev/null
"$B/ob-offline" sign -c "$tmp/v3/offline.yaml" --passphrase-file "$tmp/v3/pass" --yes \
    -i "$tmp/v3/req.obb" -o "$tmp/v3/compact.obb" >/dev/null
"$B/ob-offline" sign -c "$tmp/v3/offline.yaml" --passphrase-file "$tmp/v3/pass" --yes --resign --full \
    -i "$tmp/v3/req.obb" -o "$tmp/v3/full.obb" >/dev/null
# two services over the same backends: their descriptors travel once (request.descriptor)
"$B/ob-offline" keygen --version 3 -o "$tmp/v3/second.key" --passphrase-file "$tmp/v3/pass" >/dev/null
second=$("$B/ob-offline" address "$tmp/v3/second.key" --passphrase-file "$tmp/v3/pass")
{
    cat "$tmp/v3/online.yaml"
    echo "  - address: $second"
    echo "    instances:"
    while read -r a; do echo "      - address: $a.onion"; done <"$tmp/v3/descs/instances.txt"
} >"$tmp/v3/online2.yaml"
"$B/ob-online" collect -c "$tmp/v3/online2.yaml" --descriptors-from "$tmp/v3/descs" -o "$tmp/v3/shared.obb" >/dev/null
cer_setup 2 2 2 "$tmp/v2" >/dev/null
"$B/ob-online" collect -c "$tmp/v2/online.yaml" --descriptors-from "$tmp/v2/descs" -o "$tmp/v2/req.obb" >/dev/null
"$B/ob-offline" sign -c "$tmp/v2/offline.yaml" --passphrase-file "$tmp/v2/pass" --yes \
    -i "$tmp/v2/req.obb" -o "$tmp/v2/resp.obb" >/dev/null

cp tests/data/bundle/example-request.obb tests/data/bundle/example-response.obb "$C/fuzz_bundle/"
cp "$tmp/v3/req.obb" "$C/fuzz_bundle/v3-request.obb"
cp "$tmp/v3/shared.obb" "$C/fuzz_bundle/v3-request-shared.obb"
cp "$tmp/v3/compact.obb" "$C/fuzz_bundle/v3-response-compact.obb"
cp "$tmp/v3/full.obb" "$C/fuzz_bundle/v3-response-full.obb"
cp "$tmp/v2/req.obb" "$C/fuzz_bundle/v2-request.obb"
cp "$tmp/v2/resp.obb" "$C/fuzz_bundle/v2-response.obb"
for v in v3 v2; do
    cp "$tmp/$v/online.yaml" "$C/fuzz_config/ceremony-$v-online.yaml"
    cp "$tmp/$v/offline.yaml" "$C/fuzz_config/ceremony-$v-offline.yaml"
done
cp "$tmp/v3/ceremony.log" "$C/fuzz_clog/ceremony-v3.log"
cat "$tmp/v3/ceremony.log" "$tmp/v2/ceremony.log" >"$C/fuzz_clog/ceremony-two.log"
# backend descriptors: the v3 one for the outer parser, the v2 one whole
d3=$(ls "$tmp/v3/descs"/*.desc | head -n1)
{ printf '\001'; cat "$d3"; } >"$C/fuzz_hsv3_desc/1-backend"
cp "$(ls "$tmp/v2/descs"/*.desc | head -n1)" "$C/fuzz_hsv2/backend-ours"
# keys as keygen writes them: a store (Argon2id too dear for every run: the
# target checks its header only) and a v2 key (PKCS#8, scrypt)
"$B/ob-offline" keygen --version 3 -o "$tmp/k3" --passphrase-file "$tmp/v3/pass" >/dev/null
"$B/ob-offline" keygen --version 2 -o "$tmp/k2" --passphrase-file "$tmp/v3/pass" >/dev/null
{ printf '\000'; cat "$tmp/k3"; } >"$C/fuzz_keys/store-keygen"
{ printf '\000'; cat "$tmp/k2"; } >"$C/fuzz_keys/pem-rsa-scrypt"

# QR: frames of two bundles for the assembler and the reader; small pictures
"$B/fuzz-replay/seedgen" qrframe "$C/fuzz_qrframe" tests/data/bundle/example-request.obb "$tmp/v3/compact.obb"
"$B/ob-offline" qr encode tests/data/bundle/example-response.obb -o "$tmp/png" --qr-version 5 --scale 2 >/dev/null
"$B/ob-offline" qr encode tests/data/bundle/example-request.obb -o "$tmp/png2" --qr-version 10 --level H --scale 3 >/dev/null
cp "$tmp/png/frame-001.png" "$C/fuzz_qrimage/v5-frame1.png"
cp "$tmp/png/frame-002.png" "$C/fuzz_qrimage/v5-frame2.png"
cp "$tmp/png2/frame-001.png" "$C/fuzz_qrimage/v10h-frame1.png"

for d in "$C"/*/; do
    printf '%-28s %4d files %8d bytes\n' "$(basename "$d")" "$(ls "$d" | wc -l)" "$(cat "$d"/* | wc -c)"
done
