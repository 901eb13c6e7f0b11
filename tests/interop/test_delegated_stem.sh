#!/bin/bash
# The delegated mode's descriptors checked by stem and by tor (issue 13):
# 10 throwaway v3 backends with 3 intro points each; one certification
# (delegate request -> certify -> delegate install); then `ob-online build`
# signs on the online side, with no master key there, and
#   - stem validates every master descriptor, decrypts it with the master
#     address and finds 20 intro points each, all the backends' (the
#     ceremony's groups: 30 intro points in 2 descriptors per period);
#   - a real tor (DisableNetwork) takes each with HSPOST and refuses it with
#     a flipped signature byte;
#   - a second and a third build, the second in the same second as the
#     first where the clock allows, carry strictly greater revision counters
#     for every (period, group), and the counters file says so;
#   - the online side's files hold no master key (what it does hold is
#     checked by test_dkeys).
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
export OB_DELEGATED_STORE=$tmp/online-state/delegated
export OB_REQUEST_STORE=$tmp/online-state/requests
fail() { echo "FAIL: $*"; exit 1; }

D=$tmp/d
cer_setup 3 10 3 "$D"
ONL() { "$B/ob-online" "$@"; }

# One certification, a few days ahead.
ONL delegate request -c "$D/online.yaml" -o "$D/certreq.obb" --days 3 >"$D/request.log" 2>&1 ||
    fail "delegate request: $(cat "$D/request.log")"
"$B/ob-offline" certify -c "$D/offline.yaml" -i "$D/certreq.obb" -o "$D/certresp.obb" --yes \
    --passphrase-file "$D/pass" >"$D/certify.log" 2>&1 || fail "certify: $(cat "$D/certify.log")"
ONL delegate install -c "$D/online.yaml" "$D/certresp.obb" >"$D/install.log" 2>&1 ||
    fail "delegate install: $(cat "$D/install.log")"

# Nothing on the online side can give the master key: no key file, the
# online config names only the address.
grep -q '^ *key:' "$D/online.yaml" && fail "the online config names a key"
nfiles=0
while IFS= read -r -d '' f; do
    nfiles=$((nfiles + 1))
    "$B/ob-offline" address "$f" --passphrase-file "$D/pass" >/dev/null 2>&1 &&
        fail "$f opens as a master key"
done < <(find "$tmp/online-state" -type f -print0)
[ $nfiles -gt 0 ] || fail "nothing was installed in $tmp/online-state"

build() { # build OUT: exit status 0 and every descriptor written
    ONL build -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$1" >"$1.log" 2>&1 ||
        fail "build $1: $(cat "$1.log")"
}
build "$D/out1"
build "$D/out2"
sleep 1
build "$D/out3"
n=$(ls "$D/out1" | grep -c "^$MASTER-.*\.desc$")
[ "$n" -eq 4 ] || fail "want 4 descriptors (2 periods x 2 groups), got $n: $(ls "$D/out1")"

# stem: valid, decrypts with the master address, 20 intro points each, all 30 backends'.
"$PY" tests/interop/lib/ceremony_stem_check.py v3 "$MASTER" "$D/descs" "$D/out1" 20

# Counters: each build strictly above the one before, for every (period, group).
for f in "$D/out1"/*.desc; do
    b=$(basename "$f")
    r1=$(sed -n 's/^revision-counter //p' "$f")
    r2=$(sed -n 's/^revision-counter //p' "$D/out2/$b")
    r3=$(sed -n 's/^revision-counter //p' "$D/out3/$b")
    [ -n "$r1" ] && [ "$r2" -gt "$r1" ] && [ "$r3" -gt "$r2" ] ||
        fail "$b: revision counters $r1, $r2, $r3 do not grow"
done
# ... and above every counter of the build before, whatever the group.
max1=$(sed -n 's/^revision-counter //p' "$D"/out1/*.desc | sort -n | tail -n1)
tp=$(ls "$D/out1" | sed -n "s/^$MASTER-\([0-9]*\)-1\.desc$/\1/p" | head -n1)
min2=$(sed -n 's/^revision-counter //p' "$D/out2/$MASTER-$tp"-*.desc | sort -n | head -n1)
max1=$(sed -n 's/^revision-counter //p' "$D/out1/$MASTER-$tp"-*.desc | sort -n | tail -n1)
[ "$min2" -gt "$max1" ] || fail "period $tp: the second build's $min2 is not above the first's $max1"
grep -q "^$MASTER $tp $(sed -n 's/^revision-counter //p' "$D/out3/$MASTER-$tp"-*.desc | sort -n | tail -n1)\$" \
    "$OB_DELEGATED_STORE/revisions" || fail "the counters file does not hold the last counter used"
echo "revision counters grow across three builds (period $tp: $max1 -> $min2 -> ...)"

# An existing file is never overwritten: exit 2, nothing written.
cp -r "$D/out3" "$D/out3.copy"
set +e
ONL build -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/out3" >"$D/again.log" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "build into a full OUTDIR: exit $rc, want 2"
diff -r "$D/out3" "$D/out3.copy" >/dev/null || fail "build changed an existing OUTDIR"

# tor takes them (HSPOST, its own parser and checks).
mkdir "$D/tor"
echo "$MASTER" >"$D/tor/master.txt"
for f in "$D/out1"/*.desc; do cp "$f" "$D/tor/master-$(basename "$f")"; done
"$PY" tests/interop/helpers/v3_stem.py tor "$D/tor"
echo "ok"
