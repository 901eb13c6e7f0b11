#!/bin/bash
# Faults while the real programs write a signing request (ob-online
# collect), a signed response (ob-offline sign) and a key store
# (ob-offline passwd and import): docs/bundle-format.rst, "Faults".
#
#   disk full    a 1 MiB tmpfs filled up to the last page: the write fails
#                with exit 2 and "No space left on device", the previous
#                file is byte for byte what it was, no temporary file is
#                left, nothing else on the disk changed; with room again the
#                same command works.  The ceremony log on the full disk:
#                the failure said, its earlier entries kept, the next
#                ceremony logged once there is room.
#   stick pulled a FAT32 image through fusefat, the FUSE process killed
#                (SIGKILL, injected by strace at its Nth write(2)) at points
#                spread over the whole operation: the program ends (no hang)
#                with exit 2; mounted again, the previous file is intact:
#                the old or the new content, complete, under its name or
#                beside it (NAME.old-XXXXXX, NAME.tmp-XXXXXX), and never
#                anything else under NAME; an exclusive write leaves its
#                target absent, empty (the O_EXCL reservation) or complete,
#                and the request and response already on the stick as
#                they were.
#
# Skipped (exit 77) where nothing can be mounted (not root, no /dev/fuse);
# the stick part also needs strace.  OB_FAULT_POINTS (default 16) sets how
# many pull points each operation gets.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/media.sh
why=$(media_why_not)
[ -z "$why" ] || { echo "skip: cannot mount file systems here: $why"; exit 77; }
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
trap 'media_cleanup; rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
export OB_REQUEST_STORE=$tmp/requests

W=$tmp/work
cer_setup 3 10 3 "$W" >/dev/null 2>&1 || { echo "fixture setup failed"; exit 1; }
pass=$W/pass
printf 'another passphrase\n' >"$tmp/pass2"
"$B/ob-offline" keygen --version 3 -o "$tmp/extra.key" --no-passphrase >/dev/null 2>&1 || exit 1
"$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$W/req.obb" >/dev/null 2>&1 ||
    { echo "collect failed"; exit 1; }

# snapshot DIR: every file's name and digest (what must not change)
snapshot() { (cd "$1" && find . -type f -exec sha256sum {} + | sort -k2); }

# ---- disk full ----------------------------------------------------------------------------
D=$tmp/full
media_tmpfs "$D" 1m || { echo "skip: cannot mount a tmpfs"; exit 77; }
# fill DIR: fill the file system completely with DIR/filler
fill() {
    rm -f "$D/filler"
    dd if=/dev/zero of="$D/filler" bs=4k 2>/dev/null
    sync
}
# expect_full NAME FILE CMD...: exit 2, ENOSPC named, FILE not created, nothing else changed
expect_full() {
    local name=$1 target=$2
    shift 2
    snapshot "$D" >"$tmp/before"
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    ok
    [ $rc -eq 2 ] || bad "$name: exit $rc, want 2: $(cat "$tmp/out" "$tmp/err")"
    grep -q "No space left on device" "$tmp/err" || bad "$name: ENOSPC not named: $(cat "$tmp/err")"
    [ -n "$target" ] && [ -e "$target" ] && bad "$name: $target was written"
    snapshot "$D" >"$tmp/after"
    cmp -s "$tmp/before" "$tmp/after" || bad "$name: files changed: $(diff "$tmp/before" "$tmp/after")"
    [ -z "$(find "$D" -name '*.tmp-*')" ] || bad "$name: temporary file left: $(find "$D" -name '*.tmp-*')"
}

# A request: the previous one stays, the new one is not written.
cp "$W/req.obb" "$D/previous-request.obb"
fill
expect_full "collect, disk full" "$D/request.obb" \
    "$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$D/request.obb"
grep -q "request.obb: write failed: No space left on device" "$tmp/err" || bad "collect: message: $(cat "$tmp/err")"
rm "$D/filler"
"$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$D/request.obb" >/dev/null 2>&1 ||
    bad "collect with room again failed"
ok

# A response: not written, the ceremony not logged (the log is elsewhere).
cp "$W/offline.yaml" "$W/master.key" "$tmp/"
log_before=$(cat "$W/ceremony.log" 2>/dev/null | sha256sum)
fill
expect_full "sign, disk full" "$D/response.obb" \
    "$B/ob-offline" sign -c "$W/offline.yaml" --passphrase-file "$pass" --yes -i "$W/req.obb" -o "$D/response.obb"
grep -q "response.obb: write failed: No space left on device" "$tmp/err" || bad "sign: message: $(cat "$tmp/err")"
[ "$(cat "$W/ceremony.log" 2>/dev/null | sha256sum)" = "$log_before" ] || bad "sign: a failed write was logged"
rm "$D/filler"
"$B/ob-offline" sign -c "$W/offline.yaml" --passphrase-file "$pass" --yes -i "$W/req.obb" -o "$D/response.obb" \
    >/dev/null 2>&1 || bad "sign with room again failed"
ok

# The ceremony log on the full disk (the key media), the response elsewhere:
# the response is written, the log's earlier entries stay as they were, the
# failure is said, and with room again the next ceremony is logged.
sed "s|^ceremony_log: .*|ceremony_log: $D/ceremony.log|" "$W/offline.yaml" >"$W/full-log.yaml"
"$B/ob-offline" sign -c "$W/full-log.yaml" --passphrase-file "$pass" --yes --resign -i "$W/req.obb" \
    -o "$tmp/logged.obb" >/dev/null 2>&1 || bad "sign with the log on the tmpfs failed"
cp "$D/ceremony.log" "$tmp/log-before"
fill
"$B/ob-offline" sign -c "$W/full-log.yaml" --passphrase-file "$pass" --yes --resign -i "$W/req.obb" \
    -o "$tmp/unlogged.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] || bad "sign, log on a full disk: exit $rc, want 2"
grep -q "ceremony.log: writing the ceremony log failed: No space left on device.*not logged" "$tmp/err" ||
    bad "sign, log on a full disk: message: $(cat "$tmp/err")"
[ -s "$tmp/unlogged.obb" ] || bad "sign, log on a full disk: the response is missing"
cmp -s "$tmp/log-before" <(head -c "$(stat -c %s "$tmp/log-before")" "$D/ceremony.log") ||
    bad "sign, log on a full disk: the earlier entries changed"
rm "$D/filler"
"$B/ob-offline" sign -c "$W/full-log.yaml" --passphrase-file "$pass" --yes --resign -i "$W/req.obb" \
    -o "$tmp/relogged.obb" >"$tmp/out" 2>&1 || bad "sign with room again: $(cat "$tmp/out")"
grep -q "^response $(head -c $(($(stat -c %s "$tmp/relogged.obb") - 32)) "$tmp/relogged.obb" | sha256sum | cut -c1-64)$" "$D/ceremony.log" ||
    bad "sign with room again: not logged"
ok
rm -f "$D/ceremony.log"

# A key store: passwd (same size) and import (it grows) keep the old store.
cp "$W/master.key" "$D/master.key"
fill
expect_full "passwd, disk full" "" \
    "$B/ob-offline" passwd "$D/master.key" --passphrase-file "$pass" --new-passphrase-file "$tmp/pass2"
grep -q "master.key: write failed: No space left on device" "$tmp/err" || bad "passwd: message: $(cat "$tmp/err")"
"$B/ob-offline" address "$D/master.key" --passphrase-file "$pass" >/dev/null 2>&1 || bad "passwd: the old store does not open"
expect_full "import, disk full" "" \
    "$B/ob-offline" import "$tmp/extra.key" -o "$D/master.key" --passphrase-file "$pass"
expect_full "keygen, disk full" "$D/new.key" \
    "$B/ob-offline" keygen --version 3 -o "$D/new.key" --passphrase-file "$pass"
rm "$D/filler"
"$B/ob-offline" import "$tmp/extra.key" -o "$D/master.key" --passphrase-file "$pass" >/dev/null 2>&1 ||
    bad "import with room again failed"
[ "$("$B/ob-offline" address "$D/master.key" --passphrase-file "$pass" 2>/dev/null | wc -l)" -eq 2 ] ||
    bad "import with room again: not 2 keys"
ok
media_umount "$D"

# ---- the stick pulled ------------------------------------------------------------------------
if ! command -v strace >/dev/null; then
    echo "note: stick-pulled cases not run: strace is not installed (tests/deps.sh)"
    echo "$checks checks, $fails failures"
    [ "$fails" -eq 0 ]
    exit
fi
POINTS=${OB_FAULT_POINTS:-16}
S=$tmp/stick
media_fat32 "$tmp/base.img" "$S" || { bad "cannot mount a FAT32 image"; exit 1; }
mkdir "$S/ob"
cp "$W/master.key" "$S/ob/master.key"
cp "$W/req.obb" "$S/ob/previous-request.obb"
cp "$tmp/logged.obb" "$S/ob/previous-response.obb"
media_umount "$S"

# classify FILE: the key store before (old: the first passphrase, one key),
# after (new: passwd's new passphrase, or import's second key) or bad
store_is() {
    local n
    if n=$("$B/ob-offline" address "$1" --passphrase-file "$pass" 2>/dev/null); then
        [ "$(echo "$n" | wc -l)" -eq 1 ] && echo old || echo new
    elif "$B/ob-offline" address "$1" --passphrase-file "$tmp/pass2" >/dev/null 2>&1; then
        echo new
    else
        echo bad
    fi
}
# bundle_ok FILE: a complete bundle (its digest checks out)
bundle_ok() { "$B/ob-online" inspect "$1" >/dev/null 2>&1; }

# After a pull, the store: old or new, complete, under its name or beside it.
# (Checks set OUTCOME: they run in this shell, so their failures count.)
check_store() {
    local n=$1 what f have=""
    if [ -e "$S/ob/master.key" ]; then
        what=$(store_is "$S/ob/master.key")
        [ "$what" = bad ] && bad "pull $n: master.key is damaged ($(ls "$S/ob" | tr '\n' ' '))"
        have=$what
    else
        for f in "$S"/ob/master.key.old-* "$S"/ob/master.key.tmp-*; do
            [ -e "$f" ] || continue
            what=$(store_is "$f")
            case $f in *.old-*) [ "$what" = old ] && have=old ;; *) [ "$what" = new ] && have=new ;; esac
        done
        [ -n "$have" ] || bad "pull $n: the key store is lost: $(ls "$S/ob" | tr '\n' ' ')"
        have="$have-beside"
    fi
    OUTCOME=$have
}

# pulls NAME CHECK CMD...: calibrate (count fusefat's write(2) calls over the
# command), then run it again and again on a fresh copy of the image with the
# FUSE process killed at points spread over that range.  CHECK is a function
# run on the remounted image with the point's number.
pulls() {
    local name=$1 check=$2 c0 c1 step n rc outcomes=""
    shift 2
    : >"$tmp/msgs"
    cp --sparse=always "$tmp/base.img" "$tmp/cal.img"
    MEDIA_WRAP=(strace -f -qq -e trace=write -o "$tmp/cal.log")
    media_remount_fat "$tmp/cal.img" "$S" || { MEDIA_WRAP=(); bad "$name: mount"; return; }
    MEDIA_WRAP=()
    c0=$(wc -l <"$tmp/cal.log")
    "$@" >/dev/null 2>&1 || bad "$name: the calibration run failed"
    c1=$(wc -l <"$tmp/cal.log")
    media_umount "$S"
    step=$(((c1 - c0) / POINTS))
    [ $step -ge 1 ] || step=1
    for n in $(seq $((c0 + 1)) $step "$c1"); do
        cp --sparse=always "$tmp/base.img" "$tmp/i.img"
        MEDIA_WRAP=(strace -f -qq -e trace=write -e "inject=write:signal=KILL:when=$n" -o /dev/null)
        media_remount_fat "$tmp/i.img" "$S" || { MEDIA_WRAP=(); bad "$name $n: mount"; continue; }
        MEDIA_WRAP=()
        timeout 120 "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        media_pull "$S" 2>/dev/null
        ok
        [ $rc -eq 124 ] && bad "$name, pulled at write $n: the program hung"
        [ $rc -eq 0 ] || [ $rc -eq 2 ] || bad "$name, pulled at write $n: exit $rc: $(cat "$tmp/err")"
        grep -q "AddressSanitizer\|runtime error" "$tmp/err" && bad "$name, pulled at write $n: $(cat "$tmp/err")"
        media_remount_fat "$tmp/i.img" "$S" || { bad "$name $n: remount"; continue; }
        grep -v "test KDF\|warning: " "$tmp/err" | sed "s|$S/||g" >>"$tmp/msgs"
        OUTCOME=
        "$check" "$n"
        outcomes="$outcomes $OUTCOME/$rc"
        media_umount "$S"
    done
    echo "$name: pulled at writes $((c0 + 1))..$c1 every $step: outcome/exit:$outcomes"
    sort -u "$tmp/msgs" | sed 's/^/    /'

}

store_after() { check_store "$1"; }
pulls "passwd" store_after \
    "$B/ob-offline" passwd "$S/ob/master.key" --passphrase-file "$pass" --new-passphrase-file "$tmp/pass2"
pulls "import" store_after \
    "$B/ob-offline" import "$tmp/extra.key" -o "$S/ob/master.key" --passphrase-file "$pass"

# An exclusive write: the target absent, empty, or complete; the previous
# request and response beside it intact.
excl_after() {
    local n=$1 f=$2 state
    cmp -s "$S/ob/previous-request.obb" "$W/req.obb" || bad "pull $n: the previous request changed"
    cmp -s "$S/ob/previous-response.obb" "$tmp/logged.obb" || bad "pull $n: the previous response changed"
    if [ ! -e "$S/ob/$f" ]; then
        state=absent
    elif [ ! -s "$S/ob/$f" ]; then
        state=empty
    elif bundle_ok "$S/ob/$f"; then
        state=complete
    else
        state=damaged
        bad "pull $n: $f is damaged ($(stat -c %s "$S/ob/$f") bytes)"
    fi
    OUTCOME=$state
}
request_after() { excl_after "$1" request.obb; }
response_after() { excl_after "$1" response.obb; }
pulls "collect" request_after \
    "$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$S/ob/request.obb"
# The key media stay on the local disk; the response goes to the stick.
sed "s/^ceremony_log: .*/ceremony_log: pulled.log/" "$W/offline.yaml" >"$W/pulled.yaml"
pulls "sign" response_after \
    "$B/ob-offline" sign -c "$W/pulled.yaml" --passphrase-file "$pass" --yes --resign -i "$W/req.obb" \
    -o "$S/ob/response.obb"

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
