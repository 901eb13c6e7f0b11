#!/bin/bash
# Issue 14, replayed against the built programs: what a hostile online side
# (crafted requests, responses and configs) could do.  Every reproduction
# must end in a clear refusal: the field or reason named, exit 1, no hang
# (each run is under `timeout`), no crash (the sanitizer build aborts on
# one), and no output file.  Bundles are crafted with tests/cli/lib/obb_edit.py
# (edit a field, recompute lengths and digest).
set -u
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build/san}
export OB_INSECURE_TEST_KDF=1
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "skip: $B/$f is not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: python3 is not installed"; exit 77; }
. tests/cli/lib/ceremony.sh
tmp=$(mktemp -d)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0 checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
edit() { python3 tests/cli/lib/obb_edit.py "$@" || bad "obb_edit $*"; }
T=60 # seconds any one command may take: a hang is a failure, not a stuck test

# refused NAME EXIT TEXT OUTFILE -- CMD...: CMD exits EXIT within $T s with
# TEXT on stderr or stdout, and OUTFILE (if not -) does not exist afterwards.
refused() {
    local name=$1 want=$2 text=$3 out=$4 rc
    shift 5
    timeout "$T" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ok
    [ $rc -eq 124 ] && { bad "$name: still running after $T s (hang)"; return; }
    [ $rc -eq "$want" ] || bad "$name: exit $rc, want $want: $(cat "$tmp/err")"
    grep -qF -- "$text" "$tmp/err" "$tmp/out" || bad "$name: output lacks '$text': $(cat "$tmp/err" "$tmp/out")"
    grep -q "1969\|1970-01-01" "$tmp/err" "$tmp/out" && bad "$name: a wrapped time shown as a date"
    [ "$out" != - ] && [ -e "$out" ] && bad "$name: $out was written"
}

D=$tmp/v3
cer_setup 3 4 3 "$D" || { echo "fixture setup failed"; exit 1; }
"$B/ob-online" collect -c "$D/online.yaml" --descriptors-from "$D/descs" -o "$D/req.obb" >/dev/null 2>&1 ||
    { echo "collect failed"; exit 1; }
S=(-c "$D/offline.yaml" --passphrase-file "$D/pass" --yes)
"$B/ob-offline" sign "${S[@]}" -i "$D/req.obb" -o "$D/resp.obb" >"$tmp/out" 2>&1 ||
    { echo "sign failed: $(cat "$tmp/out")"; exit 1; }
# The same, with full descriptors: what publish verifies directly.
"$B/ob-offline" sign "${S[@]}" --full --resign -i "$D/req.obb" -o "$D/resp-full.obb" >"$tmp/out" 2>&1 ||
    { echo "sign --full failed: $(cat "$tmp/out")"; exit 1; }
cp "$D/ceremony.log" "$D/ceremony.log.orig"
NOTOR=(-s '' -i 127.0.0.1 -p 1)

# ---- 1. time periods and times out of range ---------------------------------------
# publish/run hung on a response whose period is 2^64-4 (tp + 3 = UINT64_MAX).
edit "$D/resp-full.obb" "$tmp/tp-hang.obb" 0x8703=2^64-4
refused publish-tp 1 "(descriptor.tp): time period 18446744073709551612 is beyond 2^32" - -- \
    "$B/ob-online" publish -c "$D/online.yaml" "$tmp/tp-hang.obb" --request "$D/req.obb" --dry-run "${NOTOR[@]}"
refused inspect-tp 1 "beyond 2^32" - -- "$B/ob-online" inspect "$tmp/tp-hang.obb"
# The daemon: it refuses the response from its inbox and stays responsive.
mkdir -p "$tmp/inbox" "$tmp/outbox"
sed "1i STATUS_SOCKET_LOCATION: $tmp/status.sock" "$D/online.yaml" >"$tmp/run.yaml"
cp "$tmp/tp-hang.obb" "$tmp/inbox/"
"$B/ob-online" run -c "$tmp/run.yaml" --inbox "$tmp/inbox" --outbox "$tmp/outbox" "${NOTOR[@]}" \
    >"$tmp/run.log" 2>&1 &
daemon=$!
for _ in $(seq 1 $((T * 2))); do
    grep -q "refusing response tp-hang.obb" "$tmp/run.log" && break
    sleep 0.5
done
ok
grep -q "refusing response tp-hang.obb .*time period 18446744073709551612 is beyond 2^32" "$tmp/run.log" ||
    bad "run: the response was not refused: $(cat "$tmp/run.log")"
kill -TERM "$daemon"
for _ in $(seq 1 40); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.25; done
ok
if kill -0 "$daemon" 2>/dev/null; then
    bad "run: still running 10 s after SIGTERM (hung)"
    kill -KILL "$daemon"
fi
wait "$daemon" 2>/dev/null
daemon=

# The signer signed period tp + 2^57: (tp*len+off)*60 wrapped to tp's start.
tp=$("$B/ob-online" inspect "$D/req.obb" | sed -n 's/^ *period \([0-9]*\):.*/\1/p' | head -n1)
[ -n "$tp" ] || bad "no period in the request: $("$B/ob-online" inspect "$D/req.obb")"
edit "$D/req.obb" "$tmp/tp-wrap.obb" "0x8401#0=$((tp + (1 << 57)))"
refused sign-tp-wrap 1 "(period.tp): time period $((tp + (1 << 57))) is beyond 2^32" "$tmp/r-wrap.obb" -- \
    "$B/ob-offline" sign "${S[@]}" -i "$tmp/tp-wrap.obb" -o "$tmp/r-wrap.obb"
edit "$D/req.obb" "$tmp/tp-big.obb" "0x8401#0=2^32"
refused sign-tp-2^32 1 "time period 4294967296 is beyond 2^32" "$tmp/r-big.obb" -- \
    "$B/ob-offline" sign "${S[@]}" -i "$tmp/tp-big.obb" -o "$tmp/r-big.obb"
# created 2^64-1 printed as 1969; now it is refused by name wherever it is read.
edit "$D/req.obb" "$tmp/created.obb" 0x8101=2^64-1
refused sign-created 1 "(request.created): time 18446744073709551615 is beyond year 9999" "$tmp/r-created.obb" -- \
    "$B/ob-offline" sign "${S[@]}" -i "$tmp/created.obb" -o "$tmp/r-created.obb"
refused inspect-created 1 "(request.created): time 18446744073709551615 is beyond year 9999" - -- \
    "$B/ob-offline" inspect "$tmp/created.obb"
for f in 0x8201 0x8202 0x8203 0x8402 0x8403 0x8505; do
    edit "$D/req.obb" "$tmp/time-$f.obb" "$f#0=253402300800"
    refused "sign-time-$f" 1 "time 253402300800 is beyond year 9999" "$tmp/r-$f.obb" -- \
        "$B/ob-offline" sign "${S[@]}" -i "$tmp/time-$f.obb" -o "$tmp/r-$f.obb"
done
edit "$D/resp.obb" "$tmp/resp-created.obb" 0x8602=2^64-1
refused publish-created 1 "(response.created): time 18446744073709551615 is beyond year 9999" - -- \
    "$B/ob-online" publish -c "$D/online.yaml" "$tmp/resp-created.obb" --request "$D/req.obb" --dry-run "${NOTOR[@]}"
cmp -s "$D/ceremony.log" "$D/ceremony.log.orig" || bad "a refused ceremony changed the log"

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
