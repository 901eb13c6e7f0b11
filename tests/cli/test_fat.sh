#!/bin/bash
# Removable media as operators format them: a FAT32 image mounted with
# fusefat and an exFAT image mounted with exfat-fuse (this kernel has no
# vfat).  Neither stores file modes (fusefat: fchmod fails with ENOSYS;
# exfat-fuse: fchmod "succeeds" and every file shows 0777), neither has hard
# links or RENAME_NOREPLACE, so every exclusive write takes the O_EXCL
# reservation path of ob_file_write_atomic.  On each: keygen, passwd and
# import of passphrase-protected keys work with a warning; an unencrypted key,
# config-gen (its backend keys) and the delegated key store are refused
# (exit 2, nothing left on the stick); collect
# --descriptors-from, sign (key, config and ceremony log on the stick),
# publish --dry-run, qr encode, inspect --extract, delegate request and
# certify all write there; nothing is ever overwritten; no temporary file is
# left; fsck.fat finds the FAT image clean and a remount shows the same bytes.
# Skipped (exit 77) where nothing can be mounted (not root, no /dev/fuse).
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/media.sh
why=$(media_why_not)
[ -z "$why" ] || { echo "skip: cannot mount a FAT image here: $why"; exit 77; }
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
torpid=
trap 'media_cleanup; [ -n "$torpid" ] && kill "$torpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
export OB_REQUEST_STORE=$tmp/requests OB_DELEGATED_STORE=$tmp/delegated

# run NAME WANT_EXIT CMD...: stdout in $tmp/out, stderr in $tmp/err
run() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    ok
    [ "$rc" -eq "$want" ] || bad "$name: exit $rc, want $want: $(cat "$tmp/out" "$tmp/err")"
}
# No warning about permissions expected (a public file).
quiet() { grep -q "keep file permissions" "$tmp/err" && bad "$1: warned: $(cat "$tmp/err")"; ok; }
# The warning for a passphrase-protected key.
warned() {
    grep -q "warning: .*$2: the file system does not keep file permissions (.*): the key is protected by its passphrase alone" "$tmp/err" ||
        bad "$1: no warning about the mode: $(cat "$tmp/err")"
    ok
}
no_tmp() {
    local left
    left=$(find "$1" -name '*.tmp-*' 2>/dev/null)
    [ -z "$left" ] || bad "$2: temporary files left: $left"
    ok
}

# A ceremony's inputs made on the local disk, as the online side would have them.
W=$tmp/work
cer_setup 3 3 3 "$W" >/dev/null 2>&1 || { echo "fixture setup failed"; exit 1; }
port=
if TOR=$(command -v tor); then
    # A tor with its network off: publish --dry-run gets no consensus and
    # plans by the clock (tests/cli/test_next_ceremony.sh).
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $TOR --DataDirectory "$tmp/tor" --ControlPort "127.0.0.1:$port" --CookieAuthentication 1 \
        --SocksPort 0 --DisableNetwork 1 --Log "notice file $tmp/tor.log" >/dev/null 2>&1 &
    torpid=$!
fi

on_media() {
    local fs=$1 M=$2 fmode=$3
    local S=$M/ob pass=$W/pass addr v2 before

    # ---- keys ----------------------------------------------------------------------
    mkdir "$S" || { bad "$fs: mkdir"; return; }
    run "$fs keygen v3" 0 "$B/ob-offline" keygen --version 3 -o "$S/master.key" --passphrase-file "$pass"
    warned "$fs keygen v3" "$S/master.key"
    addr=$(head -n1 "$tmp/out")
    run "$fs address" 0 "$B/ob-offline" address "$S/master.key" --passphrase-file "$pass"
    [ "$(cat "$tmp/out")" = "$addr" ] || bad "$fs: address of the store on the stick: $(cat "$tmp/out")"
    run "$fs keygen v2" 0 "$B/ob-offline" keygen --version 2 -o "$S/v2.key" --passphrase-file "$pass"
    warned "$fs keygen v2" "$S/v2.key"
    head -n1 "$S/v2.key" | grep -q "BEGIN ENCRYPTED PRIVATE KEY" || bad "$fs: v2 key not encrypted"
    # Unencrypted: refused before a byte is written, nothing left.
    run "$fs keygen --no-passphrase" 2 "$B/ob-offline" keygen --version 3 -o "$S/plain.key" --no-passphrase
    grep -q "$S/plain.key: the file system does not keep file permissions (.*): this file must stay private (mode 0600) and is not encrypted, so it is not written there" "$tmp/err" ||
        bad "$fs keygen --no-passphrase: $(cat "$tmp/err")"
    [ -e "$S/plain.key" ] && bad "$fs: an unencrypted key was written"
    [ -s "$tmp/out" ] && bad "$fs: an address was printed for a key not written"
    run "$fs keygen v2 --no-passphrase" 2 "$B/ob-offline" keygen --version 2 -o "$S/plain2.key" --no-passphrase
    [ -e "$S/plain2.key" ] && bad "$fs: an unencrypted v2 key was written"
    # passwd replaces the store (rename over it); the new passphrase opens it.
    printf 'another passphrase\n' >"$tmp/pass2"
    run "$fs passwd" 0 "$B/ob-offline" passwd "$S/master.key" --passphrase-file "$pass" --new-passphrase-file "$tmp/pass2"
    warned "$fs passwd" "$S/master.key"
    run "$fs address after passwd" 0 "$B/ob-offline" address "$S/master.key" --passphrase-file "$tmp/pass2"
    [ "$(cat "$tmp/out")" = "$addr" ] || bad "$fs: passwd lost the key"
    run "$fs passwd back" 0 "$B/ob-offline" passwd "$S/master.key" --passphrase-file "$tmp/pass2" --new-passphrase-file "$pass"
    # import adds a key to the store on the stick (an atomic rewrite).
    "$B/ob-offline" keygen --version 3 -o "$tmp/extra-$fs.key" --no-passphrase >/dev/null 2>&1
    run "$fs import" 0 "$B/ob-offline" import "$tmp/extra-$fs.key" -o "$S/master.key" --passphrase-file "$pass"
    warned "$fs import" "$S/master.key"
    run "$fs address after import" 0 "$B/ob-offline" address "$S/master.key" --passphrase-file "$pass"
    [ "$(wc -l <"$tmp/out")" -eq 2 ] || bad "$fs: the store should hold 2 keys: $(cat "$tmp/out")"
    # config-gen writes the backends' unencrypted tor keys: refused on the
    # stick, with everything it wrote there removed (docs/ceremony.rst).
    run "$fs config-gen" 2 "$B/ob-offline" config-gen --no-interactive -n 2 --output "$S/cg" \
        --passphrase-file "$pass"
    grep -q "hs_ed25519_secret_key: the file system does not keep file permissions" "$tmp/err" ||
        bad "$fs config-gen: $(cat "$tmp/err")"
    [ -e "$S/cg" ] && bad "$fs config-gen: $S/cg was left"
    [ -n "$(ls -A "$S" | grep -v '^master.key$\|^v2.key$')" ] && bad "$fs config-gen left: $(ls -A "$S")"
    # keygen never overwrites, here neither.
    before=$(sha256sum <"$S/master.key")
    run "$fs keygen over" 2 "$B/ob-offline" keygen --version 3 -o "$S/master.key" --passphrase-file "$pass"
    [ "$(sha256sum <"$S/master.key")" = "$before" ] || bad "$fs: keygen changed an existing store"
    no_tmp "$S" "$fs keys"

    # ---- a ceremony: the key media on the stick ---------------------------------------
    # The fixture's master key, config and ceremony log are copied to the stick.
    mkdir "$S/master" && cp "$W/master.key" "$W/offline.yaml" "$S/master/" || bad "$fs: copy"
    run "$fs collect" 0 "$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$S/req.obb"
    quiet "$fs collect"
    grep -q "3 instance(s) ok" "$tmp/out" || bad "$fs collect: $(cat "$tmp/out")"
    local want size
    size=$(stat -c %s "$S/req.obb")
    want=$(head -c $((size - 32)) "$S/req.obb" | sha256sum | cut -c1-16)
    grep -qF "digest ${want:0:8} ${want:8:8}" "$tmp/out" || bad "$fs collect: the digest printed is not the file's"
    # Exclusive writes on the fallback path still refuse to overwrite.
    before=$(sha256sum <"$S/req.obb")
    run "$fs collect over" 2 "$B/ob-online" collect -c "$W/online.yaml" --descriptors-from "$W/descs" -o "$S/req.obb"
    grep -q "refusing to overwrite" "$tmp/out" "$tmp/err" || bad "$fs collect over: $(cat "$tmp/out" "$tmp/err")"
    [ "$(sha256sum <"$S/req.obb")" = "$before" ] || bad "$fs: collect changed an existing request"
    run "$fs sign" 0 "$B/ob-offline" sign -c "$S/master/offline.yaml" --passphrase-file "$pass" --yes \
        -i "$S/req.obb" -o "$S/resp.obb"
    grep -q "Signed 2 descriptors" "$tmp/out" || bad "$fs sign: $(cat "$tmp/out")"
    quiet "$fs sign"
    grep -q "^request " "$S/master/ceremony.log" || bad "$fs: the ceremony log on the stick has no entry"
    before=$(sha256sum <"$S/resp.obb")
    run "$fs sign over" 2 "$B/ob-offline" sign -c "$S/master/offline.yaml" --passphrase-file "$pass" --yes \
        --resign -i "$S/req.obb" -o "$S/resp.obb"
    [ "$(sha256sum <"$S/resp.obb")" = "$before" ] || bad "$fs: sign changed an existing response"
    if [ -n "$port" ]; then
        run "$fs publish --dry-run" 2 "$B/ob-online" publish -c "$W/online.yaml" "$S/resp.obb" --dry-run \
            -i 127.0.0.1 -p "$port"
        grep -q "tor has no consensus" "$tmp/err" && grep -q "^plan (by the clock" "$tmp/out" ||
            bad "$fs publish --dry-run: $(cat "$tmp/out" "$tmp/err")"
    fi
    run "$fs qr encode" 0 "$B/ob-offline" qr encode "$S/resp.obb" -o "$S/qr"
    quiet "$fs qr encode"
    run "$fs qr decode" 0 "$B/ob-online" qr decode -o "$S/resp-qr.obb" "$S"/qr/*.png
    cmp -s "$S/resp-qr.obb" "$S/resp.obb" || bad "$fs: the response through QR frames on the stick differs"
    mkdir "$S/x" "$tmp/x-$fs"
    run "$fs inspect --extract" 0 "$B/ob-online" inspect --extract "$S/x" "$S/resp.obb"
    quiet "$fs inspect --extract"
    [ "$(ls "$S/x" | grep -c "\.desc$")" -ge 2 ] || bad "$fs inspect --extract: $(ls "$S/x")"
    # The same descriptors extracted on the local disk: the same bytes.
    "$B/ob-online" inspect --extract "$tmp/x-$fs" "$S/resp.obb" >/dev/null 2>&1
    for f in "$tmp/x-$fs"/*; do
        cmp -s "$f" "$S/x/$(basename "$f")" || bad "$fs: extracted $(basename "$f") differs"
    done
    ok

    # ---- the delegated mode ---------------------------------------------------------------
    local K=$tmp/deleg-$fs
    mkdir -p "$K"
    M3=$(sed -n 's/^  - address: \(.*\)\.onion$/\1/p' "$W/online.yaml")
    cat >"$K/online.yaml" <<EOF
TOR_CONTROL_SOCKET: $tmp/no-tor-here
TOR_PORT: 1
services:
  - address: $M3.onion
    instances:
$(sed -n 's/^\(      - address: .*\)$/\1/p' "$W/online.yaml")
EOF
    sed 's/^ceremony_log: .*/ceremony_log: certify.log/' "$S/master/offline.yaml" >"$S/master/certify.yaml"
    run "$fs delegate request" 0 "$B/ob-online" delegate request -c "$K/online.yaml" -o "$S/kreq.obb"
    quiet "$fs delegate request"
    run "$fs certify" 0 "$B/ob-offline" certify -c "$S/master/certify.yaml" -i "$S/kreq.obb" -o "$S/kresp.obb" \
        --yes --passphrase-file "$pass"
    quiet "$fs certify"
    run "$fs delegate install" 0 "$B/ob-online" delegate install -c "$K/online.yaml" "$S/kresp.obb"
    # The delegated keys are unencrypted secrets: a store on the stick is refused.
    OB_DELEGATED_STORE=$S/dstore run "$fs delegate request, store on the stick" 2 \
        "$B/ob-online" delegate request -c "$K/online.yaml" -o "$S/kreq2.obb"
    grep -q "$S/dstore.*\(not written there\|lets other users in\)" "$tmp/err" ||
        bad "$fs: delegated store on the stick: $(cat "$tmp/out" "$tmp/err")"
    [ -e "$S/kreq2.obb" ] && bad "$fs: a request was written though its keys were not"
    echo "$fs: delegated store on the stick: $(tail -n1 "$tmp/err")"
    [ -n "$(find "$S/dstore" -type f 2>/dev/null)" ] && bad "$fs: key files in the store on the stick: $(find "$S/dstore" -type f)"
    ok

    no_tmp "$M" "$fs"
    # What the file system shows for modes (for the log): fusefat 0700, exfat-fuse 0777.
    echo "$fs: files show mode $(stat -c %a "$S/resp.obb")"
    [ "$(stat -c %a "$S/resp.obb")" = "$fmode" ] || bad "$fs: expected mode $fmode on this file system"
    (cd "$M" && find . -type f -exec sha256sum {} + | sort -k2) >"$tmp/sums-$fs"
}

# ---- FAT32 -------------------------------------------------------------------------------
if media_fat32 "$tmp/fat.img" "$tmp/fat"; then
    on_media fat32 "$tmp/fat" 700
    media_umount "$tmp/fat" || bad "fat32: unmount"
    if command -v fsck.fat >/dev/null; then
        fsck.fat -n "$tmp/fat.img" >"$tmp/fsck" 2>&1 || bad "fat32: fsck.fat: $(cat "$tmp/fsck")"
        ok
    fi
    # Everything is on the image: mounted again, the same files, the same bytes.
    media_remount_fat "$tmp/fat.img" "$tmp/fat" || bad "fat32: remount"
    (cd "$tmp/fat" && find . -type f -exec sha256sum {} + | sort -k2) >"$tmp/sums-again"
    cmp -s "$tmp/sums-fat32" "$tmp/sums-again" || bad "fat32: the files changed across a remount"
    ok
    media_umount "$tmp/fat"
else
    bad "fat32: cannot mount a FAT32 image with fusefat"
fi

# ---- exFAT -------------------------------------------------------------------------------
if ! command -v mount.exfat-fuse >/dev/null || ! command -v mkfs.exfat >/dev/null; then
    echo "note: exFAT not tested: exfat-fuse or exfatprogs is not installed"
elif ! losetup -f >/dev/null 2>&1; then
    echo "note: exFAT not tested: no loop device (exfat-fuse needs a block device as root)"
elif media_exfat "$tmp/exfat.img" "$tmp/exfat"; then
    on_media exfat "$tmp/exfat" 777
    media_umount "$tmp/exfat" || bad "exfat: unmount"
else
    bad "exfat: cannot mount an exFAT image with exfat-fuse"
fi

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
