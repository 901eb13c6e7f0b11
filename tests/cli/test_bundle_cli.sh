#!/bin/bash
# `inspect` in both programs on good and bad bundles, and ob-online's
# `inspect --extract`.  The bundles come from the unit test program in its
# fixture mode (OB_BUNDLE_FIXTURE_DIR), which also writes expect.txt:
# "file|exit status|text the output must contain".
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
for f in ob-online ob-offline tests/test_bundle; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkdir "$tmp/fx"
OB_BUNDLE_FIXTURE_DIR=$tmp/fx "$B/tests/test_bundle" || { echo "fixture generation failed"; exit 1; }
[ -s "$tmp/fx/expect.txt" ] || { echo "no expect.txt"; exit 1; }

n=0
while IFS='|' read -r file want msg; do
    for prog in ob-online ob-offline; do
        n=$((n + 1))
        "$B/$prog" inspect "$tmp/fx/$file" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq "$want" ] || { bad "$prog inspect $file: exit $rc, want $want"; cat "$tmp/err"; continue; }
        if [ "$want" -eq 0 ]; then
            grep -qF -- "$msg" "$tmp/out" || bad "$prog inspect $file: stdout lacks '$msg'"
            [ -s "$tmp/err" ] && bad "$prog inspect $file: unexpected stderr: $(cat "$tmp/err")"
        else
            [ "$(wc -l <"$tmp/err")" -eq 1 ] || bad "$prog inspect $file: error is not one line"
            grep -qF -- "$prog: $tmp/fx/$file: " "$tmp/err" || bad "$prog inspect $file: error does not name the file: $(cat "$tmp/err")"
            grep -qF -- "$msg" "$tmp/err" || bad "$prog inspect $file: error lacks '$msg': $(cat "$tmp/err")"
            grep -q 'offset [0-9]' "$tmp/err" || bad "$prog inspect $file: error names no offset"
            [ -s "$tmp/out" ] && bad "$prog inspect $file: printed a summary of a bad bundle"
            # Nothing from the file reaches the terminal raw.
            LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/err" && bad "$prog inspect $file: control bytes in the error"
        fi
    done
done <"$tmp/fx/expect.txt"
[ $n -ge 20 ] || bad "only $n fixture checks ran"

# The summary: dates in UTC, services, instance states, and a digest that
# agrees with an independent sha256sum over everything but the last 32 bytes.
req=$tmp/fx/request.obb
"$B/ob-offline" inspect "$req" >"$tmp/out" 2>&1 || bad "inspect request failed"
size=$(stat -c %s "$req")
want=$(head -c $((size - 32)) "$req" | sha256sum | cut -c1-64)
short="${want:0:8} ${want:8:8}"
grep -qF "digest:      $short" "$tmp/out" || bad "short digest is not '$short'"
grep -qF "$want" "$tmp/out" || bad "full digest $want not shown"
[ "$(tail -c 32 "$req" | od -An -tx1 | tr -d ' \n')" = "$want" ] || bad "stored digest differs from sha256sum"
for s in "kind:        1 (signing request)" "created:     2026-11-22 03:00:00 UTC" \
    "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion (v3)" \
    "period 20778: 2026-11-21 12:00:00 UTC .. 2026-11-22 12:00:00 UTC" \
    "instances: 2 (1 ok, 0 missing, 1 invalid)" "facebookcorewwwi.onion (v2)" \
    'reason "HS_DESC FAILED: NOT_FOUND"' "time period length 1440 min, rotation offset 720 min"; do
    grep -qF -- "$s" "$tmp/out" || bad "request summary lacks '$s'"
done
"$B/ob-online" inspect "$tmp/fx/response.obb" >"$tmp/out" 2>&1 || bad "inspect response failed"
for s in "kind:        2 (signed response)" "answers:     ${want:0:8} ${want:8:8}" \
    "period 20778 slot 0 group 0 of 1 revision 42, 36 bytes" "note:        \"signed at the kitchen table\""; do
    grep -qF -- "$s" "$tmp/out" || bad "response summary lacks '$s'"
done

# The committed examples (docs/bundle-format.rst) are good bundles.
for f in tests/data/bundle/example-request.obb tests/data/bundle/example-response.obb; do
    "$B/ob-offline" inspect "$f" >/dev/null 2>"$tmp/err" || bad "inspect $f: $(cat "$tmp/err")"
done

# --extract: every response descriptor as its own file, byte for byte; never overwrite.
mkdir "$tmp/x"
"$B/ob-online" inspect --extract "$tmp/x" "$tmp/fx/response.obb" >"$tmp/out" 2>&1 || bad "extract failed: $(cat "$tmp/out")"
addr=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd
for f in "$addr-tp20778-0.desc" "$addr-tp20779-1.desc"; do
    [ "$(cat "$tmp/x/$f" 2>/dev/null)" = "$(printf 'hs-descriptor 3\nrevision-counter 42')" ] || bad "extracted $f wrong or missing"
done
[ "$(ls "$tmp/x" | wc -l)" -eq 2 ] || bad "extract wrote $(ls "$tmp/x" | wc -l) files, want 2"
echo changed >"$tmp/x/$addr-tp20779-1.desc"
"$B/ob-online" inspect --extract "$tmp/x" "$tmp/fx/response.obb" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || bad "extract over existing files: exit $rc, want 2"
grep -q "already exists" "$tmp/err" || bad "extract over existing files: $(cat "$tmp/err")"
[ "$(cat "$tmp/x/$addr-tp20779-1.desc")" = changed ] || bad "extract overwrote a file"
ls "$tmp/x" | grep -q tmp- && bad "extract left a temporary file"
# A folder that is not there yet is created (0700); one whose parent is
# missing, or a file in its place, is refused plainly, and nothing is made.
"$B/ob-online" inspect --extract "$tmp/new" "$tmp/fx/response.obb" >"$tmp/out" 2>&1 &&
    [ "$(stat -c %a "$tmp/new")" = 700 ] && [ "$(ls "$tmp/new" | wc -l)" -eq 2 ] &&
    grep -q "created: *$tmp/new (mode 0700)" "$tmp/out" || bad "extract into a new folder: $(cat "$tmp/out")"
"$B/ob-online" inspect --extract "$tmp/nope/deeper" "$tmp/fx/response.obb" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q "cannot create the folder: its parent folder does not exist" "$tmp/err" && [ ! -e "$tmp/nope" ] ||
    bad "extract, parent missing: exit $rc: $(cat "$tmp/err")"
"$B/ob-online" inspect --extract "$tmp/fx/response.obb" "$tmp/fx/response.obb" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q "exists and is not a folder" "$tmp/err" || bad "extract onto a file: exit $rc: $(cat "$tmp/err")"
mkdir "$tmp/y"
"$B/ob-online" inspect --extract "$tmp/y" "$tmp/fx/request.obb" >/dev/null 2>&1 || bad "extract from request failed"
[ "$(ls "$tmp/y" | wc -l)" -eq 2 ] || bad "request extract wrote $(ls "$tmp/y" | wc -l) files, want 2 (instances with a descriptor)"

# Usage and operational errors exit 2.
"$B/ob-offline" inspect --extract "$tmp/x" "$req" >/dev/null 2>&1
[ $? -eq 2 ] || bad "ob-offline accepted --extract"
"$B/ob-online" inspect >/dev/null 2>&1
[ $? -eq 2 ] || bad "inspect without FILE did not exit 2"
"$B/ob-online" inspect "$tmp/none.obb" >/dev/null 2>&1
[ $? -eq 2 ] || bad "missing file did not exit 2"
ln -s "$req" "$tmp/link.obb"
"$B/ob-offline" inspect "$tmp/link.obb" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "symbolic link" "$tmp/err" || bad "symlink was followed or not reported"
"$B/ob-offline" inspect "$tmp" >/dev/null 2>&1
[ $? -eq 2 ] || bad "a directory did not exit 2"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: $n fixture checks and the summary, extract and error checks passed"
