#!/bin/bash
# Our HSDir ring against tor's own choice, on a private network (opt-in: slow).
#
#   OB_LIVE_NETWORK=1 tests/run.sh hsdir_ring_live
#
# Starts tests/e2e/torlab.sh's 3 authorities + 4 relays on 127.0.0.1 (20-second
# votes, so TestingTorNetwork rules: 8-minute periods), then a plain onion
# service.  stem (independent of our code) records the service's own
# "HS_DESC UPLOAD <addr> UNKNOWN <hsdir> <blinded key> HSDIR_INDEX=<hex>" events:
# the HSDirs tor picked for each descriptor and each one's ring position.
# ob-online tor-check --hsdirs, asked through the same tor, must derive the
# same blinded keys (period, blinding) and name the same HSDirs with the same
# hsdir_index values (SRV or disaster SRV, period, length, ed25519 ids).  About
# 3-12 minutes (the first SRV can take up to two 8-minute SR runs);
# skipped unless OB_LIVE_NETWORK is set.
set -u
[ -n "${OB_LIVE_NETWORK:-}" ] || { echo "set OB_LIVE_NETWORK=1 to run (starts a 7-relay network)"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/${OB_BUILD:-build/san}/ob-online
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "no $BIN"; exit 77; }
[ -x /usr/sbin/tor ] && [ -x /usr/bin/tor-gencert ] || { echo "tor/tor-gencert missing"; exit 77; }
$PY -c 'import stem' 2>/dev/null || { echo "python3-stem missing"; exit 77; }
# shellcheck source=../e2e/torlab.sh
. "$ROOT/tests/e2e/torlab.sh"

RUN=$(mktemp -d /tmp/ob-ringlive-XXXXXX)
ok=0
finish() {
    lab_stop_all
    [ $ok -eq 1 ] && rm -rf "$RUN" || echo "logs kept in $RUN"
}
trap finish EXIT
trap 'exit 2' INT TERM
lab_init "$RUN/lab"
lab_network || exit 1
# Start the service once the authorities have agreed on a shared random value,
# so the second descriptor's ring uses a real SRV (the first may still use the
# disaster SRV of a network this young; both paths get checked).
for _ in $(seq 1080); do
    grep -q '^shared-rand-current-value' "$RUN/lab/a0/cached-consensus" 2>/dev/null && break
    sleep 0.5
done
grep -q '^shared-rand-current-value' "$RUN/lab/a0/cached-consensus" ||
    { echo "FAIL: no shared random value after 9 minutes"; exit 1; }
mkdir -p "$RUN/lab/hs1/hs" && chmod 700 "$RUN/lab/hs1" "$RUN/lab/hs1/hs"
CTL=$(lab_port 31)
lab_tor hs1 31 <<EOT || exit 1
SocksPort 0
HiddenServiceDir $RUN/lab/hs1/hs
HiddenServicePort 80 127.0.0.1:1
EOT

# stem: record UPLOAD events until both descriptors have gone out (or 150 s)
$PY - "$CTL" "$RUN/uploads" <<'EOF' &
import sys, time
from stem.control import Controller, EventType
port, out = int(sys.argv[1]), sys.argv[2]
ups = {}
def on(ev):
    if ev.action == "UPLOAD" and ev.directory_fingerprint and ev.descriptor_id:
        idx = ev.keyword_args.get("HSDIR_INDEX", "?").lower()
        ups.setdefault(ev.descriptor_id, set()).add(ev.directory_fingerprint + ":" + idx)
for _ in range(100):
    try:
        c = Controller.from_port(port=port); break
    except Exception:
        time.sleep(0.2)
c.authenticate()
c.add_event_listener(on, EventType.HS_DESC)
end = time.time() + 150
# 7 HSDirs < 2 replicas x 4: each descriptor goes to all 7
while time.time() < end and (len(ups) < 2 or any(len(v) < 7 for v in ups.values())):
    time.sleep(1)
time.sleep(2)
with open(out, "w") as f:
    for k, v in ups.items():
        f.write("%s %s\n" % (k, ",".join(sorted(v))))
EOF
watcher=$!
wait $watcher
[ -s "$RUN/uploads" ] || { echo "FAIL: tor uploaded nothing"; exit 1; }
addr=$(cat "$RUN/lab/hs1/hs/hostname"); addr=${addr%.onion}
"$BIN" tor-check -s '' -p "$CTL" --hsdirs "$addr" >"$RUN/ours" 2>&1 || { cat "$RUN/ours"; exit 1; }
cat "$RUN/ours"
fails=0 matched=0 real_srv=0
while read -r key fps; do
    # "  hsdir $FP~nick index HEX" -> "FP:hex", the same shape as tor's
    ours=$(awk -v k="$key" '/^descriptor /{on = ($NF == k)} on && /hsdir \$/{fp = substr($2, 2, 40); print fp ":" tolower($4)}' "$RUN/ours" | sort | paste -sd, -)
    if [ -z "$ours" ]; then
        echo "note: tor uploaded $key, which is not one of our two current descriptors (period changed?)"
    elif [ "$ours" = "$fps" ]; then
        echo "ok   $key: $fps"; matched=$((matched + 1))
        grep -q "^descriptor .*SRV, blinded key $key\$" "$RUN/ours" && real_srv=$((real_srv + 1))
    else
        echo "FAIL $key"; echo "   tor:  $fps"; echo "   ours: $ours"; fails=$((fails + 1))
    fi
done <"$RUN/uploads"
[ $fails -eq 0 ] && [ $matched -ge 1 ] || { echo "FAIL: $fails mismatch(es), $matched match(es)"; exit 1; }
[ $real_srv -ge 1 ] || { echo "FAIL: no descriptor was checked with a real (non-disaster) SRV"; exit 1; }
ok=1
echo "tor and ob-online agree on $matched descriptor(s)"
