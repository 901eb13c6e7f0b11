#!/bin/bash
# Measurements (make bench).  Builds the measurement programs in tests/bench
# against $OB_BUILD's libraries, sets up throwaway ceremonies under
# $OB_BUILD/bench/work and prints, in one run, what docs/performance.rst and
# docs/qr-transfer.rst quote: CPU time of each command against the crypto
# floor measured in the same run (tests/bench/floor.c) and their ratio, a
# 1000-service ceremony, request sizes, and OnionBalance's own descriptor
# building when it is installed.  The summary is also left in
# $OB_BUILD/bench/summary.txt.
#
#   tests/bench/run.sh [--quick]     --quick: fewer runs, 200 services instead of 1000
#
# OB_BENCH_BIG=N signs a ceremony of N services instead of 1000 (0: none).
#
# Needs $OB_BUILD/ob-online, ob-offline and tests/test_ceremony_fixture
# (make bench builds them).  Times are medians of whole-process runs
# (tests/bench/runcpu.c: CPU = user + system of every thread).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/${OB_BUILD:-build}
case "${OB_BUILD:-build}" in /*) B=$OB_BUILD ;; esac
quick=0
[ "${1:-}" = --quick ] && quick=1
out=$B/bench
work=$out/work
mkdir -p "$out"
rm -rf "$work"
mkdir -p "$work"
CC=${CC:-cc}
INC=$(for d in core hs bundle config transfer verbs; do printf -- '-Iformat/%s ' "$d"; done)
CF="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 $INC -Ioffline $(pkg-config --cflags libpng)"
LIBS="$(pkg-config --libs libcrypto libsodium libqrencode zbar zlib libpng yaml-0.1) -pthread"
ONL=$B/ob-online
OFL=$B/ob-offline
FIX=$B/tests/test_ceremony_fixture
for f in "$ONL" "$OFL" "$FIX"; do
    [ -x "$f" ] || { echo "bench: $f missing (make bench builds it)" >&2; exit 2; }
done
export OB_REQUEST_STORE=$work/request-store
mkdir -p "$OB_REQUEST_STORE"

$CC $CF -o "$out/runcpu" tests/bench/runcpu.c
$CC $CF -o "$out/floor" tests/bench/floor.c "$B/liboboffline.a" "$B/libobformat.a" $LIBS
$CC $CF -o "$out/qr_loss_sim" tests/bench/qr_loss_sim.c
$CC $CF -o "$out/qr_measure" tests/bench/qr_measure.c "$B/libobformat.a" $LIBS

REPS=5
NBIG=1000
if [ $quick = 1 ]; then REPS=3; NBIG=200; fi
NBIG=${OB_BENCH_BIG:-$NBIG}
summary=$out/summary.txt
: >"$summary"
say() { printf '%s\n' "$*" | tee -a "$summary"; }
# runcpu ARGS... -> "cpu_ms MED MIN MAX wall_ms MED MIN MAX maxrss_kb MED rc RC"
measure() { "$out/runcpu" "$@"; }
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { # name ours_ms floor_ms
    printf '%-56s %9.2f ms %9.2f ms %6.2fx\n' "$1" "$2" "$3" "$(div "$2" "$3")" | tee -a "$summary"
}
check_rc() { # result wanted what
    local rc
    rc=$(field "$1" rc)
    [ "$rc" = "$2" ] || { echo "bench: $3 exited $rc, expected $2" >&2; exit 1; }
}

# keys DIR N: N unencrypted v3 key files DIR/kI.key; their addresses in DIR/addresses
keys() {
    local dir=$1 n=$2 i
    mkdir -p "$dir"
    : >"$dir/addresses"
    for i in $(seq 1 "$n"); do
        "$OFL" keygen --version 3 -o "$dir/k$i.key" --no-passphrase >/dev/null 2>&1
        "$OFL" address "$dir/k$i.key" >>"$dir/addresses"
    done
}
# configs DIR KEYDIR NSVC PER: service i has instances (i-1)*PER+1 .. i*PER of
# DIR/descs/instances.txt (PER=0: every service has all of them)
configs() {
    local dir=$1 kd=$2 n=$3 per=$4 i a lo hi
    mapfile -t inst <"$dir/descs/instances.txt"
    mapfile -t addr <"$kd/addresses"
    { echo "services:"; } >"$dir/online.yaml"
    { echo "ceremony_log: ceremony.log"; echo "services:"; } >"$dir/offline.yaml"
    for ((i = 0; i < n; i++)); do
        a=${addr[$i]}
        if [ "$per" = 0 ]; then lo=0 hi=${#inst[@]}; else lo=$((i * per)) hi=$((i * per + per)); fi
        {
            echo "  - address: $a"
            echo "    instances:"
            for ((j = lo; j < hi; j++)); do echo "      - address: ${inst[$j]}.onion"; done
        } >>"$dir/online.yaml"
        {
            echo "  - key: $kd/k$((i + 1)).key"
            echo "    address: $a"
            echo "    instances:"
            for ((j = lo; j < hi; j++)); do echo "      - address: ${inst[$j]}.onion"; done
        } >>"$dir/offline.yaml"
    done
}
backends() { # DIR N INTROS
    mkdir -p "$1/descs"
    OB_CEREMONY_GEN=$1/descs OB_CEREMONY_N=$2 OB_CEREMONY_INTROS=$3 "$FIX"
}

cores=$(getconf _NPROCESSORS_ONLN)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
say "== make bench, $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -srm); $cpu, $cores core(s) online;"
say "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; CPU times are medians of $REPS runs"

# ---- the floor ----------------------------------------------------------------
"$out/floor" --reps $((REPS * 6 + 1)) >"$work/floor.txt"
"$out/floor" kdf >>"$work/floor.txt"
fl() { awk -v k="$1" '$1 == "floor" && $2 == k { print $4 }' "$work/floor.txt"; }
unit() { awk -v k="$1" '$1 == "unit" && $2 == k { print $4 }' "$work/floor.txt"; }
# revisions RESPONSE: further revisions the response carries (inspect's count)
revisions() { "$OFL" inspect "$1" | awk '$2 == "more" && $3 == "revisions," { n += $1 } END { print n + 0 }'; }

# ---- per service: 10 services, each with its own 10 backends of 2 intro points ----
K=10
S=$work/svc
mkdir -p "$S"
backends "$S" $((K * 10)) 2
keys "$S/keys" $K
configs "$S" "$S/keys" $K 10
cd "$S"
r=$(measure -n $REPS --rm req -- "$ONL" collect -c online.yaml -o req --descriptors-from descs)
check_rc "$r" 0 collect
collect_ms=$(div "$(field "$r" cpu_ms)" $K)
# The last measured run leaves its output (here req) for the next step.
r=$(measure -n $REPS --rm resp --rm ceremony.log -- "$OFL" sign -c offline.yaml -i req -o resp --yes)
check_rc "$r" 0 sign
sign_ms=$(div "$(field "$r" cpu_ms)" $K)
# Planning only: no tor listens on the socket named, so publish prints the
# plan by the clock and exits 2 (docs/online.rst).
r=$(measure -n $REPS -- "$ONL" publish -c online.yaml resp --dry-run --request req -s "$S/no-tor.sock")
check_rc "$r" 2 "publish --dry-run"
publish_ms=$(div "$(field "$r" cpu_ms)" $K)
r=$(measure -n $REPS --rm qr -- "$OFL" qr encode resp -o qr)
check_rc "$r" 0 "qr encode"
nframes=$(ls qr/*.png | wc -l)
enc_ms=$(div "$(field "$r" cpu_ms)" "$nframes")
r=$(measure -n $REPS --rm resp2 -- "$OFL" qr decode -o resp2 qr/*.png)
check_rc "$r" 0 "qr decode"
dec_ms=$(div "$(field "$r" cpu_ms)" "$nframes")
cmp -s resp resp2 || { echo "bench: qr decode did not give the response back" >&2; exit 1; }
"$out/floor" --reps 3 qr qr/*.png >>"$work/floor.txt"
# keygen (one Argon2id run) and import into an existing store
printf 'correct horse battery staple\n' >pass
"$OFL" keygen --version 3 -o store.key --passphrase-file pass >/dev/null 2>&1
cp store.key store.orig
r=$(measure -n 3 --rm new.key -- "$OFL" keygen --version 3 -o new.key --passphrase-file pass)
check_rc "$r" 0 keygen
keygen_ms=$(field "$r" cpu_ms)
r=$(measure -n 3 --cp store.orig store.key -- "$OFL" import keys/k1.key -o store.key --passphrase-file pass)
check_rc "$r" 0 import
import_ms=$(field "$r" cpu_ms)
start=$(measure -n $REPS -- "$OFL" version)
req_one=$(stat -c %s req)
resp_size=$(stat -c %s resp)
revs=$(revisions resp)
cd "$ROOT"

say
say "== CPU time against the crypto floor (tests/bench/floor.c, measured in this run)"
printf '%-56s %12s %12s %7s\n' "" ours floor ratio | tee -a "$summary"
sign_floor=$(awk -v f="$(fl sign_service)" -v r="$revs" -v u="$(unit revision_20)" -v k=$K 'BEGIN { printf "%.2f", f + r / k * u / 1000 }')
row "sign, per service (10 backends, 2 descriptors of 20)" "$sign_ms" "$sign_floor"
row "collect --descriptors-from, per service" "$collect_ms" "$(fl collect_service)"
publish_floor=$(awk -v f="$(fl publish_service)" -v r="$revs" -v u="$(unit revision_read_20)" -v k=$K 'BEGIN { printf "%.2f", f + r / k * u / 1000 }')
row "publish --dry-run (planning), per service" "$publish_ms" "$publish_floor"
row "qr encode, per frame ($nframes frames)" "$enc_ms" "$(fl qr_encode_frame)"
row "qr decode, per frame" "$dec_ms" "$(fl qr_decode_frame)"
row "keygen --passphrase-file (one key)" "$keygen_ms" "$(fl kdf)"
row "import into an existing store" "$import_ms" "$(fl kdf)"
say "   ($K services of 10 backends each; request $req_one bytes, response $resp_size bytes;"
say "   $revs further revisions of the master descriptors, $(div "$revs" $K) per service, in the sign and publish floors;"
say "   starting a process (ob-offline version) takes $(field "$start" cpu_ms) ms, 1/$K of it in each service's figure)"
say "   floor units (us): $(awk '$1 == "unit" { printf "%s %s  ", $2, $4 }' "$work/floor.txt")"

# ---- request size: 20 services sharing 10 backends against 1 -------------------
R=$work/share
mkdir -p "$R/descs"
head -n 10 "$S/descs/instances.txt" >"$R/descs/instances.txt"
while read -r a; do cp "$S/descs/$a.desc" "$R/descs/"; done <"$R/descs/instances.txt"
keys "$R/keys" 20
configs "$R" "$R/keys" 1 0
(cd "$R" && "$ONL" collect -c online.yaml -o one.req --descriptors-from descs >/dev/null)
configs "$R" "$R/keys" 20 0
(cd "$R" && "$ONL" collect -c online.yaml -o twenty.req --descriptors-from descs >/dev/null)
one=$(stat -c %s "$R/one.req")
twenty=$(stat -c %s "$R/twenty.req")
say
say "== Request size: 1 service of 10 backends $one bytes; 20 services sharing them $twenty bytes ($(div "$twenty" "$one")x)"

# ---- a 1000-service ceremony: 2 shared backends of 10 intro points ------------
if [ "$NBIG" -gt 0 ]; then
C=$work/big
mkdir -p "$C"
backends "$C" 2 10
keys "$C/keys" $NBIG
configs "$C" "$C/keys" $NBIG 0
cd "$C"
r=$(measure -n 1 -w 0 --rm req -- "$ONL" collect -c online.yaml -o req --descriptors-from descs)
check_rc "$r" 0 "collect ($NBIG services)"
big_collect=$r
r=$(measure -n 1 -w 0 --rm resp --rm ceremony.log -- "$OFL" sign -c offline.yaml -i req -o resp --yes)
check_rc "$r" 0 "sign ($NBIG services)"
cd "$ROOT"
floor_big=$(fl ceremony_1000)
[ "$NBIG" = 1000 ] || floor_big=$(awk -v f="$floor_big" -v n="$NBIG" 'BEGIN { printf "%.0f", f * n / 1000 }')
revs_big=$(revisions "$C/resp")
floor_big=$(awk -v f="$floor_big" -v r="$revs_big" -v u="$(unit revision_20)" 'BEGIN { printf "%.0f", f + r * u / 1000 }')
say
say "== Ceremony of $NBIG services (2 shared backends of 10 intro points, 2 descriptors of 20 each, $revs_big further revisions)"
say "   sign: $(awk -v w="$(field "$r" wall_ms)" 'BEGIN { printf "%.1f", w / 1000 }') s wall, $(awk -v c="$(field "$r" cpu_ms)" 'BEGIN { printf "%.1f", c / 1000 }') s CPU, $(($(field "$r" maxrss_kb) / 1024)) MiB peak on $cores core(s); floor $(awk -v f="$floor_big" 'BEGIN { printf "%.1f", f / 1000 }') s CPU ($(awk -v f="$floor_big" -v c="$cores" 'BEGIN { printf "%.1f", f / 1000 / c }') s on $cores cores), ratio $(div "$(field "$r" cpu_ms)" "$floor_big")x"
say "   collect: $(awk -v w="$(field "$big_collect" wall_ms)" 'BEGIN { printf "%.1f", w / 1000 }') s wall; request $(stat -c %s "$C/req") bytes, response $(stat -c %s "$C/resp") bytes"
fi

# ---- OnionBalance 0.2.2 ----------------------------------------------------------
say
if ob=$(/usr/bin/python3 tests/bench/ob_build.py "$R/descs" $REPS 2>/dev/null); then
    say "== OnionBalance $(dpkg-query -W -f='${Version}' onionbalance 2>/dev/null || echo '?'): 2 descriptors of 20 intro points: $(field "$ob" onionbalance_ms) ms CPU, of which its revision counter $(field "$ob" rev_counter_ms) ms (tests/bench/ob_build.py)"
else
    say "== OnionBalance: not installed (Debian package onionbalance), not measured"
fi

echo
echo "== QR: frames needed with plain parts in a loop (tests/bench/qr_loss_sim.c)"
"$out/qr_loss_sim" 0.10 20000

echo
echo "== QR: transfer measurements (tests/bench/qr_measure.c)"
"$out/qr_measure" "$@"

echo
echo "== Key stores at scale (tests/bench/keystore_scale.sh)"
tests/bench/keystore_scale.sh "$@"
