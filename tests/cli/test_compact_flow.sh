#!/bin/bash
# The compact signed response end to end (issue 6 item 4): collect keeps its
# request in the store -> sign (compact by default) -> a small response,
# few QR frames -> inspect --extract rebuilds exactly the signed bytes ->
# stem validates and decrypts them -> publish accepts it up to talking to
# tor; a response to a request this machine did not send is refused with
# the reason, --request overrides the store, sign --full still works, and
# the compact response survives a QR round trip byte for byte.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
PY=/usr/bin/python3
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the online side's request store (reqstore.h), here away from $HOME
export OB_REQUEST_STORE=$tmp/store
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
size() { wc -c <"$1" | tr -d ' '; }

D=$tmp/c
cer_setup 3 10 2 "$D" || { echo "fixture failed"; exit 1; }
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >"$tmp/out" 2>&1 ||
    bad "collect: $(cat "$tmp/out")"
rd=$(grep -o 'digest [0-9a-f]\{8\} [0-9a-f]\{8\}' "$tmp/out" | head -n1)
n=$(ls "$OB_REQUEST_STORE"/*.obb 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && cmp -s "$D/req.obb" "$OB_REQUEST_STORE"/*.obb && ok || bad "collect: request store has $n copies, want 1 equal to req.obb"
st=$(stat -c %a "$OB_REQUEST_STORE"/*.obb 2>/dev/null)
[ "$st" = 644 ] && ok || bad "store copy mode $st, want 644"
base=$(basename "$OB_REQUEST_STORE"/*.obb .obb)
[ ${#base} -eq 64 ] && ok || bad "store name '$base' is not a 64 hex digest"

"$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" -o "$D/resp.obb" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok || bad "sign: exit $rc: $(tail -5 "$tmp/out")"
grep -q "Signed 2 descriptors (2 of 2 v3 compact); response $D/resp.obb written, [0-9]* bytes = [0-9]* QR frames" "$tmp/out" &&
    ok || bad "sign: no compact/size line: $(tail -4 "$tmp/out")"
sz=$(size "$D/resp.obb")
said=$(sed -n 's/.* written, \([0-9]*\) bytes = .*/\1/p' "$tmp/out")
[ "$said" = "$sz" ] && ok || bad "sign said $said bytes, the file has $sz"
# Further revisions (72 bytes each) depend on the hour signed: up to 46
# at 00:xx UTC with tor's lifetime.  The bounds are for what they are not.
revs=$("$B/ob-online" inspect "$D/resp.obb" 2>/dev/null |
    sed -n 's/^    \([0-9]*\) more revisions, .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$sz" -lt $((8000 + 72 * revs)) ] && ok ||
    bad "compact response is $sz bytes (want < 8000 + 72 x $revs revisions for 2 x 20 intro points)"
mkdir "$tmp/fr"
"$B/ob-offline" qr encode "$D/resp.obb" -o "$tmp/fr" >/dev/null 2>&1 || bad "qr encode failed"
nf=$(ls "$tmp/fr"/*.png | wc -l)
# A 20-M frame carries about 640 bytes of the (incompressible) revisions.
maxf=$((12 + (72 * revs + 639) / 640))
[ "$nf" -ge 1 ] && [ "$nf" -le "$maxf" ] && ok || bad "$nf QR frames, want 1..$maxf ($revs revisions)"
said=$(sed -n 's/.* bytes = \([0-9]*\) QR frames.*/\1/p' "$tmp/out")
[ "$said" = "$nf" ] && ok || bad "sign said $said frames, qr encode made $nf"
"$B/ob-offline" qr decode -o "$tmp/qr.obb" $(ls "$tmp/fr"/*.png | shuf) >/dev/null 2>&1 &&
    cmp -s "$tmp/qr.obb" "$D/resp.obb" && ok || bad "QR round trip of the compact response differs"

"$B/ob-online" inspect "$D/resp.obb" >"$tmp/out" 2>&1 || bad "inspect: $(cat "$tmp/out")"
[ "$(grep -c 'bytes compact (rebuilt from the request it answers)' "$tmp/out")" -eq 2 ] &&
    ok || bad "inspect does not show 2 compact records: $(cat "$tmp/out")"

# --extract through the store
mkdir "$D/x"
"$B/ob-online" inspect --extract "$D/x" "$D/resp.obb" >"$tmp/out" 2>&1
rc=$?
# each descriptor, and each of its further revisions (hsv3_revs.h) as -r<i>.desc
nrev=$(sed -n 's/^    \([0-9]*\) more revisions, .*/\1/p' "$tmp/out" | awk '{ s += $1 } END { print s + 0 }')
[ "$nrev" -gt 0 ] && ok || bad "inspect shows no further revisions: $(cat "$tmp/out")"
[ $rc -eq 0 ] && [ "$(ls "$D/x"/*-[01].desc | wc -l)" -eq 2 ] &&
    [ "$(ls "$D/x"/*-r*.desc | wc -l)" -eq "$nrev" ] && ok || bad "extract: exit $rc: $(cat "$tmp/out")"
# the rebuilt descriptors checked by stem as a client would.
if "$PY" -c 'import stem.descriptor.hidden_service, cryptography' 2>/dev/null; then
    "$PY" tests/interop/lib/ceremony_stem_check.py v3 "$MASTER" "$D/descs" "$D/x" 20 >"$tmp/out" 2>&1 &&
        ok || bad "stem: $(tail -5 "$tmp/out")"
else
    echo "note: no stem at $PY; stem check not run"
fi
for f in "$D/x"/*.desc; do
    [ "$(size "$f")" -gt 20000 ] || bad "$f: $(size "$f") bytes, a 20 intro point descriptor is bigger"
done

# a response whose request is not there: inspect names it, publish refuses it
cp "$D/resp.obb" "$tmp/resp.obb"
mkdir "$tmp/x"
OB_REQUEST_STORE=$tmp/empty "$B/ob-online" inspect --extract "$tmp/x" "$tmp/resp.obb" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "answers request $(echo "$rd" | sed 's/digest //'), which this machine did not send (not in the request store: $tmp/empty/.*); pass --request FILE" "$tmp/out" && ok ||
    bad "inspect without the request: exit $rc: $(cat "$tmp/out")"
[ -z "$(ls "$tmp/x")" ] && ok || bad "inspect wrote files without the request"
"$B/ob-online" inspect --extract "$tmp/x" --request "$D/req.obb" "$tmp/resp.obb" >"$tmp/out" 2>&1 &&
    ok || bad "inspect --request: $(cat "$tmp/out")"
for f in "$D/x"/*.desc; do
    cmp -s "$f" "$tmp/x/$(basename "$f")" || bad "$(basename "$f"): --request and the store give different bytes"
done
mkdir "$tmp/o"
cp "$D/online.yaml" "$tmp/o/online.yaml"
OB_REQUEST_STORE=$tmp/empty "$B/ob-online" publish -c "$tmp/o/online.yaml" "$D/resp.obb" --dry-run -s "$tmp/no-socket" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "response answers request $(echo "$rd" | sed 's/digest //'), which this machine did not send (not in $tmp/empty); pass --request FILE" "$tmp/out" &&
    ok || bad "publish without the request: exit $rc: $(cat "$tmp/out")"
# with --request (or the store) the response is accepted; only tor is missing
OB_REQUEST_STORE=$tmp/empty "$B/ob-online" publish -c "$tmp/o/online.yaml" "$D/resp.obb" --dry-run --request "$D/req.obb" -s "$tmp/no-socket" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "cannot reach tor" "$tmp/out" && ok || bad "publish --request: exit $rc: $(cat "$tmp/out")"
"$B/ob-online" publish -c "$tmp/o/online.yaml" "$D/resp.obb" --dry-run -s "$tmp/no-socket" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "cannot reach tor" "$tmp/out" && ok || bad "publish via the store: exit $rc: $(cat "$tmp/out")"
# the wrong request is refused
cer_setup 3 2 2 "$tmp/w" >/dev/null 2>&1
"$B/ob-online" collect -c "$tmp/w/online.yaml" --descriptors-from "$tmp/w/descs" -o "$tmp/w/req.obb" >/dev/null 2>&1
OB_REQUEST_STORE=$tmp/empty "$B/ob-online" publish -c "$tmp/o/online.yaml" "$D/resp.obb" --dry-run --request "$tmp/w/req.obb" -s "$tmp/no-socket" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && ok || bad "publish with another request: exit $rc: $(cat "$tmp/out")"

# --full: every v3 descriptor in full, no request needed to extract it
"$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes --resign --full -i "$D/req.obb" -o "$D/full.obb" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "(0 of 2 v3 compact: --full)" "$tmp/out" && ok || bad "sign --full: exit $rc: $(tail -4 "$tmp/out")"
fs=$(size "$D/full.obb")
[ "$fs" -gt $((sz * 5)) ] && ok || bad "full response $fs bytes is not much bigger than compact $sz"
mkdir "$D/xf"
"$B/ob-online" inspect --extract "$D/xf" "$D/full.obb" >"$tmp/out" 2>&1 && [ "$(ls "$D/xf" | wc -l)" -eq 2 ] &&
    ok || bad "extract full: $(cat "$tmp/out")"
grep -q compact "$tmp/out" && bad "a full response shown as compact"

echo "$pass checks, $fail failures"
[ $fail -eq 0 ]
