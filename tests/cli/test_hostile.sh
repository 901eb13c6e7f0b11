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

# ---- 3. replay by content ------------------------------------------------------------
# The same three backends (keys from a seed) with descriptors made at
# different times: OB_CEREMONY_REV_OFFSET counts their revision ahead.
R=$tmp/replay
OB_CEREMONY_SEED=hostile cer_setup 3 3 2 "$R" || { echo "replay fixture setup failed"; exit 1; }
SR=(-c "$R/offline.yaml" --passphrase-file "$R/pass" --yes)
# fresh_request OFFSET NAME: new descriptors of the same backends, collected into $R/NAME.obb
fresh_request() {
    mkdir -p "$R/descs-$2"
    OB_CEREMONY_GEN=$R/descs-$2 OB_CEREMONY_N=3 OB_CEREMONY_INTROS=2 OB_CEREMONY_SEED=hostile \
        OB_CEREMONY_REV_OFFSET=$1 "$B/tests/test_ceremony_fixture" || bad "fixture $2"
    cmp -s "$R/descs-$2/instances.txt" "$R/descs/instances.txt" || bad "fixture $2: other backends"
    "$B/ob-online" collect -c "$R/online.yaml" --descriptors-from "$R/descs-$2" -o "$R/$2.obb" \
        >/dev/null 2>&1 || bad "collect $2"
}
signs() { # NAME REQUEST [ARGS]: signs and exits 0
    local name=$1 in=$2
    shift 2
    timeout "$T" "$B/ob-offline" sign "${SR[@]}" "$@" -i "$in" -o "$R/resp-$name.obb" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    ok
    [ $rc -eq 0 ] && [ -s "$R/resp-$name.obb" ] || bad "$name: exit $rc: $(cat "$tmp/err")"
}
"$B/ob-online" collect -c "$R/online.yaml" --descriptors-from "$R/descs" -o "$R/old.obb" >/dev/null 2>&1 ||
    bad "collect old"
signs old "$R/old.obb"
fresh_request 600 new
signs new "$R/new.obb"
grep -c "^backend " "$R/ceremony.log" | grep -qx 6 || bad "log: 6 backend lines expected: $(cat "$R/ceremony.log")"
first=$(sed -n 1p "$R/descs/instances.txt")
# The issue: one byte of the non-critical origin changed, the old request was signed again.
edit "$R/old.obb" "$tmp/old-origin.obb" "0x0102=text:ob-online 0.1.1"
refused replay-older 1 "instance $first.onion: its descriptor (period " "$tmp/r-older.obb" -- \
    "$B/ob-offline" sign "${SR[@]}" -i "$tmp/old-origin.obb" -o "$tmp/r-older.obb"
grep -q "is older than one signed in the ceremony of 20.* (3 instance(s) in all)" "$tmp/err" ||
    bad "replay-older: $(cat "$tmp/err")"
# The newest request again with another origin (or created): exactly what was signed.
edit "$R/new.obb" "$tmp/new-origin.obb" "0x0102=text:x" 0x8101=$(($(date +%s) - 60))
refused replay-same 1 "this request offers exactly the 3 backend descriptor(s) signed in the ceremony of 20" \
    "$tmp/r-same.obb" -- "$B/ob-offline" sign "${SR[@]}" -i "$tmp/new-origin.obb" -o "$tmp/r-same.obb"
# The same descriptors for other periods are a new set: a period became
# signable while the backends kept their descriptors (the daemon asks then).
edit "$R/new.obb" "$tmp/new-period.obb" "0x0102=text:z" "del:0x8303#1"
signs other-periods "$tmp/new-period.obb"
grep -q "^service $MASTER v3 periods [0-9]* descriptors" "$R/ceremony.log" ||
    bad "other-periods: the log has no one-period service line"
# One backend gone (marked missing): a subset is signed, as a failover must be
# (min_instances, below, bounds how many may go)...
edit "$R/new.obb" "$tmp/new-missing.obb" "0x8503#0=1" "del:0x8506#0"
signs failover "$tmp/new-missing.obb"
# ...and that request again, re-dated, is the same set: refused.
edit "$tmp/new-missing.obb" "$tmp/new-missing-2.obb" "0x0102=text:y"
refused replay-subset 1 "this request offers exactly the 2 backend descriptor(s) signed in the ceremony of" \
    "$tmp/r-miss.obb" -- "$B/ob-offline" sign "${SR[@]}" -i "$tmp/new-missing-2.obb" -o "$tmp/r-miss.obb"
# --resign signs the older descriptors, and the summary lists them.
signs resign "$tmp/old-origin.obb" --resign
grep -q "3 backend descriptor(s) are older than ones signed before (listed below); --resign given" "$tmp/out" ||
    bad "resign: no note: $(cat "$tmp/out")"
grep -q "$first.onion older: period [0-9]* revision [0-9]*" "$tmp/out" || bad "resign: not listed"
# A newer set is signed as usual: the check compares with the newest signed.
fresh_request 1200 newer
signs newer "$R/newer.obb"

# ---- 4. min_instances -------------------------------------------------------------------
# A taken online side marks two of three backends missing: every client goes to the third.
fresh_request 1800 steer
edit "$R/steer.obb" "$R/steer-1.obb" "0x8503#0=1" "del:0x8506#0" "0x8503#1=1" "del:0x8506#0"
sed "s/^    instances:$/    min_instances: 2\n&/" "$R/offline.yaml" >"$R/offline-min.yaml"
grep -q "min_instances: 2" "$R/offline-min.yaml" || bad "min_instances config not edited"
refused min-instances 1 "$MASTER.onion: 1 valid instance(s), fewer than min_instances 2 (2 missing" \
    "$tmp/r-min.obb" -- "$B/ob-offline" sign -c "$R/offline-min.yaml" --passphrase-file "$R/pass" \
    --yes -i "$R/steer-1.obb" -o "$tmp/r-min.obb"
# Two of three is enough for 2.
edit "$R/steer.obb" "$R/steer-2.obb" "0x8503#0=1" "del:0x8506#0"
timeout "$T" "$B/ob-offline" sign -c "$R/offline-min.yaml" --passphrase-file "$R/pass" --yes \
    -i "$R/steer-2.obb" -o "$R/resp-steer-2.obb" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 0 ] || bad "min-instances 2 of 3: exit $rc: $(cat "$tmp/err")"
# More than the service lists is a config error, named.
sed "s/^    instances:$/    min_instances: 4\n&/" "$R/offline.yaml" >"$R/offline-min4.yaml"
refused min-instances-4 1 "min_instances 4 is more than the 3 instance(s) this service lists" - -- \
    "$B/ob-offline" sign -c "$R/offline-min4.yaml" --passphrase-file "$R/pass" --yes -i "$R/steer.obb" \
    -o "$tmp/r-min4.obb"

# ---- 2. the ceremony log: a short write, and no size limit ------------------------------
L=$R/ceremony.log
# Pad the log with one complete record so that 200 bytes are left below a
# file size limit (ulimit -f counts KiB): the next record is cut there.
python3 - "$L" <<'PY'
import os, sys
path = sys.argv[1]
size = os.path.getsize(path)
head = "ceremony 2000-01-01T00:00:00Z pad\nrequest " + "0" * 64 + "\nresponse " + "0" * 64 + "\n"
svc = "service " + "a" * 56 + " v3 periods "
tail = " descriptors 0 instances 0 ok 0 missing 0 stale\nend\n"
fixed = len(head) + len(svc) + len(tail)
# the target: at least 64 KiB, 200 bytes short of a KiB boundary
target = max(size + fixed + 1, 65536)
target += (1024 - 200 - target % 1024) % 1024
# lines stay under the reader's 4096 bytes: several records
while target - size > fixed + 3500:
    n = min(3500, target - size - 2 * fixed - 1)  # leaves room for a last record
    open(path, "a").write(head + svc + "1" * n + tail)
    size = os.path.getsize(path)
open(path, "a").write(head + svc + "1" * (target - size - fixed) + tail)
PY
size=$(stat -c %s "$L")
[ $(((size + 200) % 1024)) -eq 0 ] || bad "log padding: size $size"
fresh_request 2400 short
( ulimit -f $(((size + 200) / 1024)); trap '' XFSZ; exec timeout "$T" "$B/ob-offline" sign "${SR[@]}" \
    -i "$R/short.obb" -o "$R/resp-short.obb" ) >"$tmp/out" 2>"$tmp/err"
rc=$?
ok
[ $rc -eq 2 ] || bad "short write: exit $rc, want 2: $(cat "$tmp/err")"
grep -q "writing the ceremony log failed: File too large; the response .* was written but this ceremony is not logged" "$tmp/err" ||
    bad "short write: $(cat "$tmp/err")"
[ "$(stat -c %s "$L")" -eq $((size + 200)) ] || bad "short write: log is $(stat -c %s "$L") bytes, want $((size + 200))"
# The issue: every later sign refused until the log was mended by hand.  Now
# the cut record is named in a warning and the next ceremony is logged.
fresh_request 3000 after
signs after-short "$R/after.obb"
grep -q "warning: $L:[0-9]*: 1 record(s) of the ceremony log are incomplete, the first of the ceremony of 20" "$tmp/err" ||
    bad "after a short write: no warning: $(cat "$tmp/err")"
[ "$(tail -n1 "$L")" = end ] || bad "after a short write: the log does not end with a record"
grep -q "^ceremony .*" <(tail -c +$((size + 201)) "$L") || bad "after a short write: the record is not on a line of its own"
# The cut record's request line got through: that request stays refused.
refused short-replayed 1 "was already signed in the ceremony of 20" "$tmp/r-short.obb" -- \
    "$B/ob-offline" sign "${SR[@]}" -i "$R/short.obb" -o "$tmp/r-short.obb"
# No size limit: 300 MiB of crash garbage (a hole: NULs) before the last record.
truncate -s $(($(stat -c %s "$L") + (300 << 20))) "$L"
fresh_request 3600 big
signs big-log "$R/big.obb"
grep -q "warning: .* 2 record(s) of the ceremony log are incomplete" "$tmp/err" || bad "big log: $(cat "$tmp/err")"
[ "$(tail -n1 "$L")" = end ] || bad "big log: not appended"
refused big-replayed 1 "was already signed in the ceremony of 20" "$tmp/r-big.obb" -- \
    "$B/ob-offline" sign "${SR[@]}" -i "$R/big.obb" -o "$tmp/r-big.obb"

# ---- 5. YAML: bounded while it is read ------------------------------------------------
# libyaml's loader took more than 10 s on 100,000 nested brackets and 5.7 s
# on 40,000 anchors, and refused aliases only after loading everything.
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
open(d + "/nest.yaml", "w").write("[" * 100000 + "]" * 100000 + "\n")
open(d + "/anchors.yaml", "w").write("a: [" + ", ".join("&a%d x" % i for i in range(40000)) + "]\n")
open(d + "/alias.yaml", "w").write("a: [" + ", ".join("x%d" % i for i in range(100000)) + "]\nb: *x\n")
PY
refused yaml-nest 1 "nest.yaml:1:17: YAML nested deeper than 16 levels" - -- \
    "$B/ob-offline" sign -c "$tmp/nest.yaml" -i "$D/req.obb" -o "$tmp/r-yaml.obb"
refused yaml-anchors 1 "anchors.yaml:1:5: YAML anchors and aliases are not supported" - -- \
    "$B/ob-online" collect -c "$tmp/anchors.yaml" -o "$tmp/r-yaml.obb"
refused yaml-alias 1 "alias.yaml:2:4: YAML anchors and aliases are not supported" - -- \
    "$B/ob-online" collect -c "$tmp/alias.yaml" -o "$tmp/r-yaml.obb"

# ---- 6. a signal at the passphrase prompt --------------------------------------------
# ^C left the terminal with echo off.  Each signal, on a pty; the state is
# read with stty afterwards (tests/cli/lib/tty_signal.py).
for s in INT TERM HUP QUIT TSTP; do
    timeout 200 python3 tests/cli/lib/tty_signal.py "$s" "Passphrase for" \
        "$B/ob-offline" address "$R/master.key" >"$tmp/tty.out" 2>&1
    rc=$?
    ok
    [ $rc -eq 77 ] && { echo "skip: $(cat "$tmp/tty.out")"; continue; }
    [ $rc -eq 0 ] || bad "signal $s at the prompt: $(head -c 600 "$tmp/tty.out")"
done

# ---- 7. qr decode writes only a bundle ------------------------------------------------
# An empty payload was written, 0 bytes, "(checked)"; so was anything else.
: >"$tmp/empty.bin"
"$B/ob-online" qr encode "$tmp/empty.bin" -o "$tmp/qr-empty" >/dev/null 2>&1 || bad "qr encode of an empty file"
refused qr-empty 1 "the 0 bytes read are not a bundle (offset 0: not a bundle (the file is empty)); nothing written" \
    "$tmp/qr-empty.obb" -- "$B/ob-offline" qr decode -o "$tmp/qr-empty.obb" "$tmp"/qr-empty/*.png
head -c 3000 /dev/urandom >"$tmp/noise.bin"
"$B/ob-online" qr encode "$tmp/noise.bin" -o "$tmp/qr-noise" >/dev/null 2>&1 || bad "qr encode of noise"
refused qr-noise 1 "are not a bundle (offset 0: not a bundle (magic" "$tmp/qr-noise.obb" -- \
    "$B/ob-offline" qr decode -o "$tmp/qr-noise.obb" "$tmp"/qr-noise/*.png
# A crafted bundle whose digest matches: its fields are read too.
"$B/ob-offline" qr encode "$tmp/tp-hang.obb" -o "$tmp/qr-tp" >/dev/null 2>&1 || bad "qr encode of a crafted bundle"
refused qr-crafted 1 "(descriptor.tp): time period 18446744073709551612 is beyond 2^32" "$tmp/qr-tp.obb" -- \
    "$B/ob-online" qr decode -o "$tmp/qr-tp.obb" "$tmp"/qr-tp/*.png
# A real one goes through, and says what was checked.
"$B/ob-online" qr encode "$D/resp.obb" -o "$tmp/qr-ok" >/dev/null 2>&1 || bad "qr encode of a response"
"$B/ob-online" qr decode -o "$tmp/qr-ok.obb" "$tmp"/qr-ok/*.png >"$tmp/out" 2>&1
ok
cmp -s "$D/resp.obb" "$tmp/qr-ok.obb" && grep -q "(checked: digest and every field)" "$tmp/out" ||
    bad "qr decode of a real response: $(cat "$tmp/out")"

echo "$checks checks, $fails failures"
[ $fails -eq 0 ]
