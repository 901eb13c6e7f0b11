#!/bin/bash
# The ceremony end to end: `ob-online collect --descriptors-from` on throwaway
# backends (tests/test_ceremony_fixture), then `ob-offline sign` with
# --passphrase-file and --yes; every refusal with its message, exit 1 and no
# response file; the ceremony log; a v2 ceremony; several services at once.
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }

# expect_refusal NAME EXIT TEXT -- ob-offline sign args...   (no response file may appear)
expect_refusal() {
    local name=$1 want=$2 text=$3 out=$tmp/refused-$1.obb
    shift 4
    "$B/ob-offline" sign "$@" -o "$out" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    ok
    [ "$rc" -eq "$want" ] || bad "$name: exit $rc, want $want: $(cat "$tmp/err")"
    grep -qF -- "$text" "$tmp/err" || bad "$name: stderr lacks '$text': $(cat "$tmp/err")"
    [ -e "$out" ] && bad "$name: a response file was written"
    ls "$(dirname "$out")" | grep -q '^\.\?refused-.*tmp' && bad "$name: a temporary file was left"
}

D=$tmp/v3
cer_setup 3 10 3 "$D" || { echo "fixture setup failed"; exit 1; }

# ---- collect ------------------------------------------------------------------
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 0 ] || bad "collect: exit $rc: $(cat "$tmp/out")"
[ "$(grep -c '^  ok ' "$tmp/out")" -eq 10 ] || bad "collect: not 10 ok instances: $(cat "$tmp/out")"
size=$(stat -c %s "$D/req.obb")
want=$(head -c $((size - 32)) "$D/req.obb" | sha256sum | cut -c1-64)
grep -qF "digest ${want:0:8} ${want:8:8}" "$tmp/out" || bad "collect: short digest not printed"
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 2 ] || bad "collect over an existing request: exit $rc, want 2"
grep -q "refusing to overwrite" "$tmp/out" || bad "collect over an existing request: $(cat "$tmp/out")"
[ "$(stat -c %s "$D/req.obb")" -eq "$size" ] || bad "collect changed the existing request"

# A missing file and a garbage file: reported, request still written, exit 0 (others are ok).
mkdir "$tmp/partial"
cp "$D"/descs/*.desc "$tmp/partial/"
first=$(sed -n 1p "$D/descs/instances.txt")
second=$(sed -n 2p "$D/descs/instances.txt")
rm "$tmp/partial/$first.desc"
printf 'hs-descriptor 3\ngarbage\n' >"$tmp/partial/$second.desc"
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$tmp/partial" -o "$tmp/partial.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 0 ] || bad "collect partial: exit $rc"
grep -q "missing  $first.onion: no file $first.desc" "$tmp/out" || bad "collect partial: missing not reported: $(cat "$tmp/out")"
grep -q "invalid  $second.onion: " "$tmp/out" || bad "collect partial: invalid not reported"
grep -q "8 instance(s) ok, 1 missing, 1 invalid" "$tmp/out" || bad "collect partial: counts"
# Nothing at all: the report, exit 1 naming the service, and no request
# (the signer could sign nothing from it).
mkdir "$tmp/empty"
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$tmp/empty" -o "$tmp/empty.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 1 ] || bad "collect empty: exit $rc, want 1"
grep -q "$MASTER.onion: no valid instance" "$tmp/out" || bad "collect empty: service not named"
grep -q "no service has a valid instance: no request written" "$tmp/out" || bad "collect empty: $(cat "$tmp/out")"
[ "$(grep -c '^  missing  ' "$tmp/out")" -eq 10 ] || bad "collect empty: the per-instance report is missing"
[ -e "$tmp/empty.obb" ] && bad "collect empty: a request was written"
# One service of two without a valid instance: written, exit 1, that one named.
other_m=$("$B/ob-offline" keygen --version 3 -o "$tmp/other-m.key" --no-passphrase 2>/dev/null | head -n1)
other_i=$("$B/ob-offline" keygen --version 3 -o "$tmp/other-i.key" --no-passphrase 2>/dev/null | head -n1)
{ cat "$D/online.yaml"; printf '  - address: %s\n    instances:\n      - address: %s\n' "$other_m" "$other_i"; } \
    >"$tmp/two.yaml"
"$B/ob-online" collect -c "$tmp/two.yaml" --descriptors-from "$D/descs" -o "$tmp/two.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 1 ] && [ -s "$tmp/two.obb" ] && grep -q "$other_m: no valid instance" "$tmp/out" &&
    ! grep -q "$MASTER.onion: no valid instance" "$tmp/out" || bad "collect, one service empty: exit $rc: $(cat "$tmp/out")"
# A request store that cannot be written: the report and the digest first,
# then the error (exit 2) naming the request that was written.
OB_REQUEST_STORE=/proc/ob-no-store "$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" \
    -o "$tmp/nostore.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] && [ -s "$tmp/nostore.obb" ] && [ "$(grep -c '^  ok  ' "$tmp/out")" -eq 10 ] &&
    grep -q "^request $tmp/nostore.obb written, digest [0-9a-f]\{8\} [0-9a-f]\{8\}$" "$tmp/out" &&
    grep -q "/proc/ob-no-store" "$tmp/err" && grep -q "was written, but its copy in the request store was not" "$tmp/err" ||
    bad "collect, store not writable: exit $rc: $(cat "$tmp/out" "$tmp/err")"
# Under systemd the store is $STATE_DIRECTORY/requests ($OB_REQUEST_STORE
# first, then $STATE_DIRECTORY, the first of a list, then XDG).
rm -rf "$tmp/state" "$tmp/xdg"
mkdir -p "$tmp/state" "$tmp/xdg"
rm -f "$tmp/nostore.obb"
env -u OB_REQUEST_STORE STATE_DIRECTORY="$tmp/state:/var/lib/other" XDG_STATE_HOME="$tmp/xdg" "$B/ob-online" collect \
    -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$tmp/nostore.obb" >"$tmp/out" 2>&1
rc=$?
ok
hex=$(tail -c 32 "$tmp/nostore.obb" | od -An -tx1 | tr -d ' \n')
[ $rc -eq 0 ] && [ -s "$tmp/state/requests/$hex.obb" ] && [ -z "$(ls -A "$tmp/xdg")" ] ||
    bad "STATE_DIRECTORY store: exit $rc, $(ls -R "$tmp/state" "$tmp/xdg"): $(cat "$tmp/out")"
# Without --descriptors-from tor is asked; none listens on port 1: exit 2, no request.
"$B/ob-online" collect -c "$D/online.yaml" -o "$tmp/tor.obb" -s '' -i 127.0.0.1 -p 1 >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 2 ] || bad "collect without tor: exit $rc, want 2: $(cat "$tmp/out")"
[ -e "$tmp/tor.obb" ] && bad "collect without tor: request written"

# ---- refusals before signing ----------------------------------------------------
S=(-c "$D/offline.yaml" --passphrase-file "$D/pass" --yes)
# The output must be creatable before the summary (and the passphrase):
# a missing folder, a file where the folder should be, a folder where no
# file can be made (/proc, even for root).
for o in "$tmp/no/such/dir/resp.obb" "$D/req.obb/resp.obb" /proc/ob-test-resp.obb; do
    "$B/ob-offline" sign "${S[@]}" -i "$D/req.obb" -o "$o" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ok
    [ $rc -eq 2 ] && grep -q "does not exist\|is not a folder\|cannot create a file in" "$tmp/err" &&
        grep -q "nothing was signed" "$tmp/err" && ! grep -q "Totals\|Signing request" "$tmp/out" ||
        bad "output $o: exit $rc, before the summary? $(cat "$tmp/err" "$tmp/out" | head -n 5)"
done
ls /proc/ob-test-resp.obb* >/dev/null 2>&1 && bad "a probe file was left in /proc"
# The online config given by mistake: refused before the summary.
"$B/ob-offline" sign -c "$D/online.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" -o "$tmp/online-cfg.obb" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 1 ] && grep -q "no service names a key: file; this looks like the online machine's config" "$tmp/err" &&
    ! grep -q "Totals" "$tmp/out" && [ ! -e "$tmp/online-cfg.obb" ] ||
    bad "online config: exit $rc: $(cat "$tmp/err" "$tmp/out" | head -n 5)"
{ cat "$D/offline.yaml"; printf '  - address: %s.onion\n    instances:\n      - address: %s.onion\n' "$MASTER" \
    "$(sed -n 1p "$D/descs/instances.txt")"; } >"$tmp/mixed.yaml"
sed -i "s|^ceremony_log: .*|ceremony_log: $D/ceremony.log|; s|^  - key: master.key|  - key: $D/master.key|" "$tmp/mixed.yaml"
"$B/ob-offline" sign -c "$tmp/mixed.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" -o "$tmp/mixed.obb" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 1 ] && grep -q "mixed.yaml:[0-9]*: service $MASTER.onion names no key: file" "$tmp/err" ||
    bad "a service without key: exit $rc: $(cat "$tmp/err" | head -n 3)"
# (A request with no valid instance at all is no longer written by collect:
# the fixture's "allmissing" below stands for one.)
cer_mutate tamper "$D/req.obb" "$tmp/tamper.obb" || bad "mutate tamper"
expect_refusal tamper 1 "descriptor refused" -- "${S[@]}" -i "$tmp/tamper.obb"
grep -q "instance [a-z2-7]\{56\}.onion: descriptor refused: " "$tmp/err" || bad "tamper: instance not named"
cer_mutate allmissing "$D/req.obb" "$tmp/allmissing.obb" || bad "mutate allmissing"
expect_refusal allmissing 1 "no valid instance" -- "${S[@]}" -i "$tmp/allmissing.obb"
cer_mutate period "$D/req.obb" "$tmp/period.obb" || bad "mutate period"
# v3: a period whose revision-counter run has not begun cannot be signed,
# whatever presign_window says (it is v2 only).
expect_refusal period 1 "cannot be signed before" -- "${S[@]}" -i "$tmp/period.obb"
# A period that ended between collect and sign is skipped, the rest signed;
# with every period over, the request is refused.
cer_mutate allover "$D/req.obb" "$tmp/allover.obb" || bad "mutate allover"
expect_refusal allover 1 "is over" -- "${S[@]}" -i "$tmp/allover.obb"
cer_mutate clock "$D/req.obb" "$tmp/clock.obb" || bad "mutate clock"
expect_refusal clock 1 "the clocks disagree" -- "${S[@]}" -i "$tmp/clock.obb"
cer_mutate old "$D/req.obb" "$tmp/old.obb" || bad "mutate old"
expect_refusal old 1 "collect a fresh one, or check the clocks" -- "${S[@]}" -i "$tmp/old.obb"

# An instance the offline config does not list.
grep -v "$first" "$D/offline.yaml" >"$D/offline-short.yaml"
expect_refusal notinconfig 1 "instance $first.onion is not in this machine's config" -- \
    -c "$D/offline-short.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb"
# A service the offline config does not know: the online config names another master.
other=$("$B/ob-offline" keygen --version 3 -o "$tmp/other.key" --no-passphrase 2>/dev/null | head -n1)
other=${other%.onion}
sed "s/$MASTER/$other/" "$D/online.yaml" >"$tmp/other-online.yaml"
"$B/ob-online" collect -c "$tmp/other-online.yaml" --descriptors-from "$D/descs" -o "$tmp/other.obb" >/dev/null 2>&1 ||
    bad "collect for another master"
expect_refusal unknown 1 "service $other.onion is not in this machine's config" -- "${S[@]}" -i "$tmp/other.obb"
# Wrong passphrase.
printf 'wrong\n' >"$tmp/wrongpass"
expect_refusal passphrase 1 "passphrase" -- -c "$D/offline.yaml" --passphrase-file "$tmp/wrongpass" --yes -i "$D/req.obb"
# No terminal to confirm on, no --yes: exit 2.
setsid -w "$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" -i "$D/req.obb" \
    -o "$tmp/notty.obb" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] || bad "no terminal: exit $rc, want 2: $(cat "$tmp/err")"
grep -q "no terminal to confirm on" "$tmp/err" || bad "no terminal: $(cat "$tmp/err")"
[ -e "$tmp/notty.obb" ] && bad "no terminal: response written"
[ -e "$D/ceremony.log" ] && bad "a refused ceremony wrote the log"

# ---- the ceremony ------------------------------------------------------------------
"$B/ob-offline" sign "${S[@]}" -i "$D/req.obb" -o "$D/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "sign: exit $rc: $(cat "$tmp/err")"
# The master key is a test store (OB_INSECURE_TEST_KDF=1): said on every open, nothing else.
grep -q "made with the insecure test KDF" "$tmp/err" || bad "sign: no warning about the test key store"
grep -v "made with the insecure test KDF" "$tmp/err" >"$tmp/err2"
[ -s "$tmp/err2" ] && bad "sign: unexpected stderr: $(cat "$tmp/err2")"
for s in "Signing request ${want:0:8} ${want:8:8}" "($want)" "v3 period " \
    "$MASTER.onion v3  10/0/0  30 intro points  4 descriptors (2 per period, 20 intro points each)" \
    "Totals: 1 service(s) (1 v3, 0 v2), 4 descriptors to sign" "Next ceremony needed by: 20" \
    "Validity: the signed descriptors may be published from 20" "Signed 4 descriptors"; do
    grep -qF -- "$s" "$tmp/out" || bad "sign summary lacks '$s'"
done
[ "$(grep -c '^  v3 period [0-9]*: 20.* UTC .. 20.* UTC$' "$tmp/out")" -eq 2 ] || bad "two periods with dates expected"
"$B/ob-online" inspect "$D/resp.obb" >"$tmp/insp" 2>&1 || bad "inspect response: $(cat "$tmp/insp")"
grep -q "answers:     ${want:0:8} ${want:8:8}" "$tmp/insp" || bad "response does not answer the request"
[ "$(grep -c "$MASTER.onion v3 period .* group [01] of 2 " "$tmp/insp")" -eq 4 ] || bad "inspect: 4 descriptors in 2 groups expected"
rsize=$(stat -c %s "$D/resp.obb")
rwant=$(head -c $((rsize - 32)) "$D/resp.obb" | sha256sum | cut -c1-64)
# The log entry.
L=$D/ceremony.log
[ "$(stat -c %a "$L")" = 600 ] || bad "log mode $(stat -c %a "$L")"
[ "$(grep -c '^ceremony ' "$L")" -eq 1 ] || bad "log: one entry expected"
grep -q "^ceremony 20[0-9-]*T[0-9:]*Z ob-offline " "$L" || bad "log: date line"
grep -qx "request $want" "$L" || bad "log: request digest"
grep -qx "response $rwant" "$L" || bad "log: response digest"
grep -qE "^service $MASTER v3 periods [0-9]+,[0-9]+ descriptors 4 instances 10 ok 0 missing 0 stale$" "$L" || bad "log: service line: $(cat "$L")"
[ "$(grep -cE "^backend $MASTER [a-z2-7]{56} v3 tp [0-9]+ rev [0-9]+ sha256 [0-9a-f]{64}$" "$L")" -eq 10 ] ||
    bad "log: one backend line per instance used expected: $(cat "$L")"
[ "$(tail -n1 "$L")" = end ] || bad "log: no end line"
# One period over (collect long before sign): skipped and named, the period
# still ahead signed.  Its own config, so the ceremony log above stays as it is.
cer_mutate overperiod "$D/req.obb" "$tmp/over.obb" || bad "mutate overperiod"
sed "s/^ceremony_log: .*/ceremony_log: over.log/" "$D/offline.yaml" >"$D/over.yaml"
if "$B/ob-offline" sign -c "$D/over.yaml" --passphrase-file "$D/pass" --yes -i "$tmp/over.obb" \
    -o "$tmp/over-resp.obb" >"$tmp/over.out" 2>&1; then
    grep -q "Skipped, already over by this machine's clock" "$tmp/over.out" || bad "over: no skipped note"
    n=$("$B/ob-online" inspect "$tmp/over-resp.obb" | grep -c "$MASTER.onion v3 period ")
    [ "$n" -eq 2 ] || bad "over: $n descriptors (want the 2 of the period still ahead)"
    grep -qE "^service $MASTER v3 periods [0-9]+ descriptors 2 " "$D/over.log" || bad "over: log names only the signed period"
else
    bad "over: sign refused a request with one period over: $(tail -n 3 "$tmp/over.out")"
fi
ok
grep -q "stored unencrypted" "$tmp/err" && bad "an encrypted store was warned of as unencrypted"

# Replay: refused, then accepted with --resign (and logged again).
expect_refusal replay 1 "was already signed in the ceremony of 20" -- "${S[@]}" -i "$D/req.obb"
"$B/ob-offline" sign "${S[@]}" --resign -i "$D/req.obb" -o "$D/resp2.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "resign: exit $rc: $(cat "$tmp/err")"
grep -q "signed before" "$tmp/out" || bad "resign: no note"
[ "$(grep -cx "request $want" "$L")" -eq 2 ] || bad "resign: not logged"
# Threads (docs/signing.rst): a bad count is a usage error before anything
# is read, from the option or from OB_THREADS; three threads sign and verify
# the same response a single one would (the unit test compares the bytes).
expect_refusal threads0 2 "the number of threads must be 1 to 256" -- "${S[@]}" --resign --threads 0 -i "$D/req.obb"
expect_refusal threadsx 2 "--threads many" -- "${S[@]}" --resign --threads many -i "$D/req.obb"
OB_THREADS=300 "$B/ob-offline" sign "${S[@]}" --resign -i "$D/req.obb" -o "$tmp/threads.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] && grep -qF "OB_THREADS 300" "$tmp/err" || bad "OB_THREADS=300: exit $rc: $(cat "$tmp/err")"
[ -e "$tmp/threads.obb" ] && bad "OB_THREADS=300: a response was written"
for t in 1 3; do
    "$B/ob-offline" sign "${S[@]}" --resign --threads $t -i "$D/req.obb" -o "$tmp/threads$t.obb" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ok
    [ $rc -eq 0 ] || bad "--threads $t: exit $rc: $(cat "$tmp/err")"
    "$B/ob-online" inspect --request "$D/req.obb" "$tmp/threads$t.obb" >"$tmp/insp$t" 2>&1 || bad "--threads $t: inspect: $(cat "$tmp/insp$t")"
done
ok
[ "$(grep -c 'period' "$tmp/insp1")" -eq "$(grep -c 'period' "$tmp/insp3")" ] || bad "--threads 1 and 3 differ in shape"
# Never over an existing response.
"$B/ob-offline" sign "${S[@]}" --resign -i "$D/req.obb" -o "$D/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] || bad "existing response: exit $rc, want 2"
grep -q "exists; refusing to overwrite" "$tmp/err" || bad "existing response: $(cat "$tmp/err")"
[ "$(stat -c %s "$D/resp.obb")" -eq "$rsize" ] || bad "existing response changed"

# Confirmation on a terminal (script(1) gives the program a pty): "no" signs
# nothing (exit 1), "yes" signs; the summary comes before the question.
if command -v script >/dev/null; then
    for answer in no yes; do
        printf '%s\n' "$answer" | script -qec "'$B/ob-offline' sign -c '$D/offline.yaml' --passphrase-file '$D/pass' --resign -i '$D/req.obb' -o '$tmp/tty-$answer.obb'" /dev/null >"$tmp/out" 2>&1
        rc=$?
        ok
        grep -q "Totals: .*Sign these 4 descriptors? Type 'yes' to sign" <(tr -d '\r' <"$tmp/out" | tr '\n' ' ') ||
            bad "tty $answer: summary then question expected: $(cat "$tmp/out")"
        if [ "$answer" = no ]; then
            [ $rc -eq 1 ] && grep -q "not confirmed; nothing was signed" "$tmp/out" || bad "tty no: exit $rc"
            [ -e "$tmp/tty-no.obb" ] && bad "tty no: response written"
        else
            [ $rc -eq 0 ] && [ -s "$tmp/tty-yes.obb" ] || bad "tty yes: exit $rc: $(cat "$tmp/out")"
        fi
    done
fi

# A stale instance is skipped and shown, the rest is signed.  These two
# requests carry backend descriptors signed above (replay by content,
# tests/cli/test_hostile.sh): --resign.
cer_mutate stale "$D/req.obb" "$tmp/stale.obb" || bad "mutate stale"
"$B/ob-offline" sign "${S[@]}" --resign -i "$tmp/stale.obb" -o "$tmp/stale-resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "stale: exit $rc: $(cat "$tmp/err")"
grep -q "10 0/0/1  27 intro points\|v3  9/0/1  27 intro points" "$tmp/out" || bad "stale: counts: $(grep onion "$tmp/out")"
grep -q "stale: fetched 7.0 h ago (limit 6 h)" "$tmp/out" || bad "stale: reason not shown"
grep -q "stale: stale\|missing: missing\|invalid: invalid" "$tmp/out" && bad "stale: a state word said twice"
# The partial request: missing and invalid instances shown with reasons.
"$B/ob-offline" sign "${S[@]}" --resign -i "$tmp/partial.obb" -o "$tmp/partial-resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "partial: exit $rc: $(cat "$tmp/err")"
grep -q "$first.onion missing: no file" "$tmp/out" || bad "partial: missing not shown"
grep -q "$second.onion invalid: by the online side: " "$tmp/out" || bad "partial: invalid not shown"
grep -q "missing: missing\|invalid: invalid" "$tmp/out" && bad "partial: a state word said twice"
grep -q "v3  8/2/0  24 intro points" "$tmp/out" || bad "partial: counts"

# ---- a backend with client authorization -------------------------------------------
C=$tmp/ca
OB_CEREMONY_CLIENT_AUTH=1 cer_setup 3 4 3 "$C" || bad "client-auth fixture"
cauth=$(ls "$C"/descs/*.auth)
caddr=$(basename "$cauth" .auth)
"$B/ob-online" collect -c "$C/online.yaml" --descriptors-from "$C/descs" -o "$C/req.obb" >"$tmp/out" 2>&1
rc=$?
ok
[ $rc -eq 0 ] && grep -q "ok       $caddr.onion" "$tmp/out" || bad "client auth: collect: exit $rc: $(cat "$tmp/out")"
# Without the client key the offline side cannot check the intro points: refused.
expect_refusal noclientkey 1 "instance $caddr.onion: descriptor refused" -- \
    -c "$C/offline.yaml" --passphrase-file "$C/pass" --yes -i "$C/req.obb"
sed "s|^      - address: $caddr.onion$|&\n        client_auth_key: descs/$caddr.auth|" "$C/offline.yaml" >"$C/offline-ca.yaml"
grep -q client_auth_key "$C/offline-ca.yaml" || bad "client auth: config not edited"
# A wrong client key: refused too.
head -c 32 /dev/urandom | base64 >"$C/wrong.auth"
sed "s|descs/$caddr.auth|wrong.auth|" "$C/offline-ca.yaml" >"$C/offline-wrong.yaml"
expect_refusal wrongclientkey 1 "instance $caddr.onion: descriptor refused" -- \
    -c "$C/offline-wrong.yaml" --passphrase-file "$C/pass" --yes -i "$C/req.obb"
"$B/ob-offline" sign -c "$C/offline-ca.yaml" --passphrase-file "$C/pass" --yes -i "$C/req.obb" -o "$C/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "client auth: sign: exit $rc: $(cat "$tmp/err")"
grep -q "$MASTER.onion v3  4/0/0  12 intro points" "$tmp/out" || bad "client auth: summary: $(grep onion "$tmp/out")"

# ---- v2 ----------------------------------------------------------------------------
D2=$tmp/v2
cer_setup 2 3 3 "$D2" || { echo "v2 fixture setup failed"; exit 1; }
"$B/ob-online" collect -c "$D2/online.yaml" --descriptors-from "$D2/descs" -o "$D2/req.obb" >"$tmp/out" 2>&1 ||
    bad "v2 collect: $(cat "$tmp/out")"
"$B/ob-offline" sign -c "$D2/offline.yaml" --passphrase-file "$D2/pass" --yes -i "$D2/req.obb" -o "$D2/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "v2 sign: exit $rc: $(cat "$tmp/err")"
grep -q "$MASTER.onion v2  3/0/0  9 intro points" "$tmp/out" || bad "v2 summary: $(cat "$tmp/out")"
n2=$("$B/ob-online" inspect "$D2/resp.obb" | grep -c "$MASTER.onion v2 period")
[ "$n2" -ge 2 ] && [ $((n2 % 2)) -eq 0 ] || bad "v2: $n2 descriptors (want both replicas per period)"
grep -qE "^service $MASTER v2 periods [0-9,]+ descriptors $n2 instances 3 ok" "$D2/ceremony.log" || bad "v2 log"

# ---- several services, one ceremony (shared hosting) ---------------------------------
H=$tmp/host
mkdir -p "$H"
printf 'correct horse battery staple\n' >"$H/pass"
echo "ceremony_log: ceremony.log" >"$H/offline.yaml"
echo "services:" >>"$H/offline.yaml"
echo "services:" >"$H/online.yaml"
mkdir "$H/descs"
for i in 1 2 3; do
    cer_setup 3 2 2 "$H/s$i" >/dev/null || bad "host fixture $i"
    cp "$H/s$i/master.key" "$H/key$i"
    cp "$H/s$i"/descs/*.desc "$H/descs/"
    sed -n '2,$p' "$H/s$i/online.yaml" >>"$H/online.yaml"
    sed -n '3,$p' "$H/s$i/offline.yaml" | sed "s|key: master.key|key: key$i|" >>"$H/offline.yaml"
done
"$B/ob-online" collect -c "$H/online.yaml" --descriptors-from "$H/descs" -o "$H/req.obb" >"$tmp/out" 2>&1 ||
    bad "host collect: $(cat "$tmp/out")"
"$B/ob-offline" sign -c "$H/offline.yaml" --passphrase-file "$H/pass" --yes -i "$H/req.obb" -o "$H/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "host sign: exit $rc: $(cat "$tmp/err")"
[ "$(grep -c '\.onion v3  2/0/0  4 intro points  2 descriptors' "$tmp/out")" -eq 3 ] || bad "host: one line per service expected"
grep -q "Totals: 3 service(s) (3 v3, 0 v2), 6 descriptors to sign" "$tmp/out" || bad "host: totals"
[ "$(grep -c '^service ' "$H/ceremony.log")" -eq 3 ] || bad "host: log lines"

# Many services sharing two backends, one key file each (unencrypted: no
# passphrase needed): one summary line per service, nothing else grows.
M=$tmp/many
mkdir -p "$M/descs"
OB_CEREMONY_GEN=$M/descs OB_CEREMONY_N=2 "$B/tests/test_ceremony_fixture" || bad "many: fixture"
printf 'ceremony_log: ceremony.log\nservices:\n' >"$M/offline.yaml"
echo "services:" >"$M/online.yaml"
for i in $(seq 1 40); do
    a=$("$B/ob-offline" keygen --version 3 -o "$M/k$i" --no-passphrase 2>/dev/null | head -n1)
    printf '  - key: k%s\n    instances:\n' "$i" >>"$M/offline.yaml"
    printf '  - address: %s\n    instances:\n' "$a" >>"$M/online.yaml"
    for b in $(cat "$M/descs/instances.txt"); do
        printf '      - address: %s.onion\n' "$b" | tee -a "$M/offline.yaml" >>"$M/online.yaml"
    done
done
"$B/ob-online" collect -c "$M/online.yaml" --descriptors-from "$M/descs" -o "$M/req.obb" >/dev/null 2>&1 || bad "many: collect"
"$B/ob-offline" sign -c "$M/offline.yaml" --yes -i "$M/req.obb" -o "$M/resp.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "many: exit $rc: $(cat "$tmp/err")"
[ "$(grep -c '\.onion v3  2/0/0  6 intro points  2 descriptors' "$tmp/out")" -eq 40 ] || bad "many: 40 service lines expected"
[ "$(wc -l <"$tmp/out")" -le 62 ] || bad "many: summary has $(wc -l <"$tmp/out") lines for 40 services"
grep -q "Totals: 40 service(s) (40 v3, 0 v2), 80 descriptors to sign" "$tmp/out" || bad "many: totals"
grep -qE "^Key files: 40 for 40 service\(s\): .*/k1 \(1\), .*/k2 \(1\), .*/k3 \(1\) and 37 more$" "$tmp/out" || bad "many: key files line: $(grep 'Key files' "$tmp/out")"
# keygen --no-passphrase wrote plain PEM keys: each named once, before the summary.
[ "$(grep -c "warning: .*/k[0-9]* (service at .*offline.yaml:[0-9]*) is stored unencrypted" "$tmp/err")" -eq 40 ] ||
    bad "many: unencrypted keys not warned of: $(head -n 3 "$tmp/err")"

# ---- address: in the offline config: the summary before any passphrase ---------------
# Key-only config (above): the keys are unlocked first and the header says why.
MASTER=$("$B/ob-offline" address "$D/master.key" --passphrase-file "$D/pass") || bad "address of D"
MASTER=${MASTER%.onion}
"$B/ob-offline" sign "${S[@]}" --resign -i "$D/req.obb" -o "$tmp/keyonly.obb" >"$tmp/out" 2>"$tmp/err"
ok
grep -qF "names only its key file (add address: to the offline config to see this summary before unlocking)" "$tmp/out" ||
    bad "key only: no header saying why the keys came first: $(head -3 "$tmp/out")"
sed -e "s|^ceremony_log: .*|ceremony_log: addr.log|" -e "s|^  - key: master.key$|&\n    address: $MASTER.onion|" \
    "$D/offline.yaml" >"$D/offline-addr.yaml"
grep -q "^    address: $MASTER.onion" "$D/offline-addr.yaml" || bad "address config not edited"
# "no" on the terminal: the summary and the question, never a passphrase prompt.
cer_pty "$tmp/pty" "Type 'yes' to sign: =>no" "$B/ob-offline" sign -c "$D/offline-addr.yaml" \
    -i "$D/req.obb" -o "$tmp/addr-no.obb"
rc=$?
ok
[ $rc -eq 1 ] || bad "address, no: exit $rc, want 1: $(cat "$tmp/pty")"
grep -q "Totals: .*Sign these 4 descriptors? Type 'yes' to sign" <(tr -d '\r' <"$tmp/pty" | tr '\n' ' ') ||
    bad "address, no: summary then question expected: $(cat "$tmp/pty")"
grep -q "not confirmed; nothing was signed" "$tmp/pty" || bad "address, no: $(cat "$tmp/pty")"
grep -qi "passphrase" "$tmp/pty" && bad "address, no: a passphrase was asked: $(cat "$tmp/pty")"
grep -q "Keys were unlocked" "$tmp/pty" && bad "address, no: the keys-first header shown"
[ -e "$tmp/addr-no.obb" ] && bad "address, no: response written"
[ -e "$D/addr.log" ] && bad "address, no: logged"
# "yes": then, and only then, the passphrase; signed.
cer_pty "$tmp/pty" "Type 'yes' to sign: =>yes|Passphrase for =>correct horse battery staple" \
    "$B/ob-offline" sign -c "$D/offline-addr.yaml" -i "$D/req.obb" -o "$tmp/addr-yes.obb"
rc=$?
ok
[ $rc -eq 0 ] && [ -s "$tmp/addr-yes.obb" ] || bad "address, yes: exit $rc: $(cat "$tmp/pty")"
order=$(tr -d '\r' <"$tmp/pty" | grep -n -e "^Signing request" -e "^Totals: " -e "Type 'yes' to sign" -e "Passphrase for" -e "^Signed 4 descriptors" | cut -d: -f1 | tr '\n' ' ')
n=$(echo "$order" | wc -w)
[ "$n" -eq 5 ] && [ "$order" = "$(echo "$order" | tr ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')" ] ||
    bad "address, yes: want request, totals, question, passphrase, signed in this order (lines $order): $(cat "$tmp/pty")"
[ "$(grep -c "Passphrase for" "$tmp/pty")" -eq 1 ] || bad "address, yes: passphrase asked more than once"
grep -q "^request $want$" "$D/addr.log" || bad "address, yes: not logged"
# A wrong passphrase after the summary: exit 1, nothing written.
expect_refusal addrpass 1 "passphrase" -- -c "$D/offline-addr.yaml" --passphrase-file "$tmp/wrongpass" --yes --resign -i "$D/req.obb"
grep -q "^Totals: " "$tmp/out" || bad "addrpass: the summary should come before the passphrase is read"
# --yes but neither a terminal nor --passphrase-file: the summary, then exit 2.
setsid -w "$B/ob-offline" sign -c "$D/offline-addr.yaml" --yes --resign -i "$D/req.obb" \
    -o "$tmp/addr-notty.obb" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] && grep -q "no terminal to ask for the passphrase.*; nothing was signed" "$tmp/err" ||
    bad "address, no tty: exit $rc: $(cat "$tmp/err")"
grep -q "refused:" "$tmp/err" && bad "address, no tty: an operational error called a refusal"
grep -q "^Totals: " "$tmp/out" || bad "address, no tty: no summary first"
[ -e "$tmp/addr-notty.obb" ] && bad "address, no tty: response written"
# The config names another address than the key has: refused after the summary, exit 1.
sed "s|^    address: $MASTER.onion|    address: $other.onion|" "$D/offline-addr.yaml" >"$D/offline-wrongaddr.yaml"
expect_refusal wrongaddr 1 "master.key is the key of $MASTER.onion, not of $other.onion" -- \
    -c "$D/offline-wrongaddr.yaml" --passphrase-file "$D/pass" --yes --resign -i "$tmp/other.obb"
grep -q "^Totals: " "$tmp/out" || bad "wrongaddr: the summary should come before the key is read"
[ -e "$D/addr.log" ] && [ "$(grep -c '^ceremony ' "$D/addr.log")" -ne 1 ] && bad "wrongaddr: logged"

# ---- shared hosting: one encrypted store for many services ------------------------------
# NSTORE services from ONE multi-key store (built with keygen + import), plus
# one service with its own encrypted key file and one with an unencrypted
# one, every service naming its address; two backends shared by all.
NSTORE=${OB_TEST_STORE_SERVICES:-50}
K=$tmp/store
mkdir -p "$K/descs"
OB_CEREMONY_GEN=$K/descs OB_CEREMONY_N=2 "$B/tests/test_ceremony_fixture" || bad "store: fixture"
printf 'correct horse battery staple\n' >"$K/pass"
printf 'ceremony_log: ceremony.log\nservices:\n' >"$K/offline.yaml"
echo "services:" >"$K/online.yaml"
add_service() { # KEYPATH ADDRESS
    printf '  - key: %s\n    address: %s\n    instances:\n' "$1" "$2" >>"$K/offline.yaml"
    printf '  - address: %s\n    instances:\n' "$2" >>"$K/online.yaml"
    for b in $(cat "$K/descs/instances.txt"); do
        printf '      - address: %s.onion\n' "$b" | tee -a "$K/offline.yaml" >>"$K/online.yaml"
    done
}
a=$("$B/ob-offline" keygen --version 3 -o "$K/hosted.key" --passphrase-file "$K/pass" 2>/dev/null | head -n1)
add_service hosted.key "$a"
for i in $(seq 2 "$NSTORE"); do
    "$B/ob-offline" keygen --version 3 -o "$K/plain$i" --no-passphrase >/dev/null 2>&1 || bad "store: keygen $i"
    a=$("$B/ob-offline" import "$K/plain$i" -o "$K/hosted.key" --passphrase-file "$K/pass" 2>/dev/null | head -n1)
    rm -f "$K/plain$i"
    case $a in *.onion) add_service hosted.key "$a" ;; *) bad "store: import $i: '$a'" ;; esac
done
a=$("$B/ob-offline" keygen --version 3 -o "$K/own.key" --passphrase-file "$K/pass" 2>/dev/null | head -n1)
add_service own.key "$a"
a=$("$B/ob-offline" keygen --version 3 -o "$K/open.key" --no-passphrase 2>/dev/null | head -n1)
add_service open.key "$a"
ntot=$((NSTORE + 2))
[ "$("$B/ob-offline" address "$K/hosted.key" --passphrase-file "$K/pass" | wc -l)" -eq "$NSTORE" ] ||
    bad "store: $NSTORE keys expected in the store"
"$B/ob-online" collect -c "$K/online.yaml" --descriptors-from "$K/descs" -o "$K/req.obb" >"$tmp/out" 2>&1 || bad "store: collect: $(tail -3 "$tmp/out")"
# On a terminal, no passphrase file: the summary, the question, then exactly
# two passphrases (the store once, own.key once; open.key needs none).
cer_pty "$tmp/pty" "Type 'yes' to sign: =>yes|Passphrase for $K/hosted.key: =>correct horse battery staple|Passphrase for $K/own.key: =>correct horse battery staple" \
    "$B/ob-offline" sign -c "$K/offline.yaml" -i "$K/req.obb" -o "$K/resp.obb"
rc=$?
ok
tr -d '\r' <"$tmp/pty" >"$tmp/out"
[ $rc -eq 0 ] && [ -s "$K/resp.obb" ] || bad "store: exit $rc: $(tail -5 "$tmp/out")"
[ "$(grep -c "Passphrase for" "$tmp/out")" -eq 2 ] || bad "store: $(grep -c "Passphrase for" "$tmp/out") passphrase prompts, want 2"
[ "$(grep -c "Passphrase for $K/hosted.key" "$tmp/out")" -eq 1 ] || bad "store: the store's passphrase not asked exactly once"
q=$(grep -n "Type 'yes' to sign" "$tmp/out" | head -n1 | cut -d: -f1)
p1=$(grep -n "Passphrase for" "$tmp/out" | head -n1 | cut -d: -f1)
[ -n "$q" ] && [ -n "$p1" ] && [ "$q" -lt "$p1" ] || bad "store: the question must come before any passphrase"
[ "$(grep -c '\.onion v3  2/0/0  6 intro points  2 descriptors' "$tmp/out")" -eq "$ntot" ] || bad "store: $ntot service lines expected"
# (The terminal also shows stderr: the warnings, e.g. open.key unencrypted, are not summary.)
nsum=$(grep -vc "^ob-offline: \(warning\|WARNING\): " "$tmp/out")
[ "$nsum" -le $((ntot + 25)) ] || bad "store: summary has $nsum lines for $ntot services"
grep -q "warning: $K/open.key (service at .*) is stored unencrypted" "$tmp/out" || bad "store: open.key not warned of"
grep -q "Totals: $ntot service(s) ($ntot v3, 0 v2), $((2 * ntot)) descriptors to sign" "$tmp/out" || bad "store: totals"
grep -q "Keys were unlocked" "$tmp/out" && bad "store: keys-first header with address: everywhere"
grep -qF "Key files: 3 for $ntot service(s): $K/hosted.key ($NSTORE), $K/own.key (1), $K/open.key (1)" "$tmp/out" ||
    bad "store: key files line: $(grep 'Key files' "$tmp/out")"
[ "$(grep -c '^service ' "$K/ceremony.log")" -eq "$ntot" ] || bad "store: log lines"
[ "$("$B/ob-online" inspect "$K/resp.obb" | grep -c '\.onion v3 period ')" -eq $((2 * ntot)) ] || bad "store: descriptors in the response"
# A service whose address the store does not hold: refused, exit 1, nothing written.
sed "s|key: open.key|key: hosted.key|" "$K/offline.yaml" >"$K/offline-missing.yaml"
grep -q "key: open.key" "$K/offline-missing.yaml" && bad "store: config not edited"
expect_refusal storemissing 1 "holds $NSTORE key(s), none for ${a%.onion}.onion" -- -c "$K/offline-missing.yaml" \
    --passphrase-file "$K/pass" --yes --resign -i "$K/req.obb"
[ "$(grep -c '^ceremony ' "$K/ceremony.log")" -eq 1 ] || bad "storemissing: logged"

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
