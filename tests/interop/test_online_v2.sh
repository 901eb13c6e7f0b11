#!/bin/bash
# The v2 HSDir choice of ob-online's publisher against an independent
# hashlib computation (tests/interop/helpers/v2_hsdir_check.py) on the
# synthetic consensus and the signed descriptors test_online_v2 plans with.
set -eu
cd "$(dirname "$0")/../.."
OB_BUILD=${OB_BUILD:-build/san}
bin=$OB_BUILD/tests/test_online_v2
[ -x "$bin" ] || { echo "missing $bin (run make unit)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OB_ONLINE_V2_EMIT_DIR=$tmp "$bin" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
/usr/bin/python3 tests/interop/helpers/v2_hsdir_check.py "$tmp"
# The checker must notice a wrong choice: swap two fingerprints of the first line.
awk 'NR == 1 { t = $5; $5 = $6; $6 = t } { print }' "$tmp/plan" >"$tmp/plan.bad"
mv "$tmp/plan.bad" "$tmp/plan"
if /usr/bin/python3 tests/interop/helpers/v2_hsdir_check.py "$tmp" >/dev/null 2>&1; then
    echo "FAIL: the checker accepted a wrong HSDir order"
    exit 1
fi
echo "hsdir check ok"

# ---- the CLI through a fake tor 0.4.5 on 127.0.0.1 (helpers/fake_tor_v2.py) ----
B=$OB_BUILD
export OB_INSECURE_TEST_KDF=1 OB_FETCH_TIMEOUT_MS=3000 OB_PUBLISH_TIMEOUT_MS=3000
for f in ob-online ob-offline tests/test_ceremony_fixture; do
    [ -x "$B/$f" ] || { echo "missing $B/$f"; exit 2; }
done
. tests/cli/lib/ceremony.sh
D=$tmp/cer
cer_setup 2 3 3 "$D" || { echo "v2 fixture setup failed"; exit 1; }
gone=$(sed -n 2p "$D/descs/instances.txt")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
# start_tor NAME ARGS...: a fake tor; sets PORT
start_tor() {
    local name=$1
    shift
    OB_FAKE_TOR_ADDR=$MASTER /usr/bin/python3 tests/interop/helpers/fake_tor_v2.py \
        "$tmp/$name.port" "$tmp/$name.log" "$D/descs" "$@" &
    pids+=($!)
    for _ in $(seq 50); do [ -s "$tmp/$name.port" ] && break; sleep 0.1; done
    PORT=$(cat "$tmp/$name.port")
}
fail() { echo "FAIL: $*"; exit 1; }

start_tor old --missing "$gone"
"$B/ob-online" collect -c "$D/online.yaml" -o "$D/req.obb" -s '' -i 127.0.0.1 -p "$PORT" >"$tmp/out" 2>&1 ||
    fail "collect through tor 0.4.5: $(cat "$tmp/out")"
[ "$(grep -c '^  ok ' "$tmp/out")" -eq 2 ] || fail "collect: not 2 ok: $(cat "$tmp/out")"
grep -q "missing  $gone.onion: not fetched after 3 attempt(s): HSDir 9695DFC35FFEB861329B9F1AB04C46397020CE31: NOT_FOUND" "$tmp/out" ||
    fail "collect: NOT_FOUND not reported: $(cat "$tmp/out")"
grep -q "^HSFETCH $gone$" "$tmp/old.log" || fail "collect: no HSFETCH by v2 address"
"$B/ob-offline" sign -c "$D/offline.yaml" --passphrase-file "$D/pass" --yes -i "$D/req.obb" -o "$D/resp.obb" >"$tmp/out" 2>&1 ||
    fail "sign: $(cat "$tmp/out")"
"$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" --dry-run -s '' -i 127.0.0.1 -p "$PORT" >"$tmp/plan" 2>&1 ||
    fail "publish --dry-run: $(cat "$tmp/plan")"
grep -q "^$MASTER.onion v2 period [0-9]* replica 0.*: [1-3] HSDirs$" "$tmp/plan" || fail "dry run: no replica 0 line: $(cat "$tmp/plan")"
grep -q "^$MASTER.onion v2 period [0-9]* replica 1.*: [1-3] HSDirs$" "$tmp/plan" || fail "dry run: no replica 1 line"
grep -q "HSPOST" "$tmp/old.log" && fail "dry run posted"
# one HSDir of the plan refuses once, then takes it
rej=$(grep -m1 -- '  -> \$' "$tmp/plan" | sed 's/.*\$\([0-9A-F]*\)~.*/\1/')
kill "${pids[0]}"
start_tor pub --reject-once "$rej"
"$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" -s '' -i 127.0.0.1 -p "$PORT" >"$tmp/out" 2>&1 ||
    fail "publish: $(cat "$tmp/out")"
n_in=$(grep -c "^$MASTER.onion v2 period .*: uploaded to" "$tmp/out")
[ "$n_in" -ge 2 ] || fail "publish: $n_in descriptors reported: $(cat "$tmp/out")"
grep -q "FAILED" "$tmp/out" && fail "publish: a failure left after the retry: $(cat "$tmp/out")"
grep -q "reached at least one HSDir" "$tmp/out" || fail "publish: no summary"
grep -q "HSADDRESS" "$tmp/pub.log" && fail "publish: v2 HSPOST with HSADDRESS"
nposts=$(grep -c '^+HSPOST SERVER=' "$tmp/pub.log")
[ "$nposts" -eq $((n_in + 1)) ] || fail "publish: $nposts HSPOSTs for $n_in descriptors and one retry"
# every posted body is one of the signed descriptors, for this master
for p in "$tmp"/pub.log.posts.*; do
    head -1 "$p" | grep -q '^rendezvous-service-descriptor ' || fail "posted body: $(head -2 "$p")"
done
# the HSDirs posted to: the independent computation again, from what tor was told
/usr/bin/python3 - "$tmp" "$D/consensus" <<'PY' || fail "posted HSDirs disagree with the independent computation"
import glob, os, re, sys
sys.path.insert(0, "tests/interop/helpers")
import v2_hsdir_check as c
d = sys.argv[1]
rs = c.relays(sys.argv[2])
cmds = [l.split() for l in open(d + "/pub.log") if l.startswith("+HSPOST")]
for k, cmd in enumerate(cmds, 1):
    fps = [x[len("SERVER="):].lstrip("$") for x in cmd[1:]]
    want = c.responsible(rs, c.desc_id(open("%s/pub.log.posts.%d" % (d, k)).read()))
    # a retry names the HSDirs still missing; distinct descriptors name one
    assert fps and all(f in want for f in fps), (fps, want)
print("posted HSDirs agree")
PY
kill "${pids[1]}"

# ---- a modern tor: collect exits 1 naming why; publish posts nothing ----
set +e
start_tor new --modern
"$B/ob-online" collect -c "$D/online.yaml" -o "$tmp/req2.obb" -s '' -i 127.0.0.1 -p "$PORT" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "collect through 0.4.9.11: exit $rc, want 1: $(cat "$tmp/out")"
grep -q "this tor has no v2 support (0.4.6+, 0.4.5.11+, 0.3.5.17+); v2 instances cannot be fetched (tor 0.4.9.11)" "$tmp/out" ||
    fail "collect modern: no reason: $(cat "$tmp/out")"
grep -q "$MASTER.onion: no valid instance" "$tmp/out" || fail "collect modern: service not named"
grep -q "^HSFETCH" "$tmp/new.log" && fail "collect modern: HSFETCH sent to a tor without v2"
"$B/ob-online" publish -c "$D/online.yaml" "$D/resp.obb" -s '' -i 127.0.0.1 -p "$PORT" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "publish through 0.4.9.11: exit $rc, want 1: $(cat "$tmp/out")"
grep -q "v2 descriptor(s) cannot be published: this tor (0.4.9.11) has no v2 support" "$tmp/out" ||
    fail "publish modern: no reason: $(cat "$tmp/out")"
grep -q "HSPOST" "$tmp/new.log" && fail "publish modern: HSPOST sent"
echo "cli ok"
