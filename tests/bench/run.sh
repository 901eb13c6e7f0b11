#!/bin/bash
# Measurements (make bench).  Builds the measurement programs in tests/bench
# against $OB_BUILD's libraries and runs them; docs/ quote their output.
#
#   tests/bench/run.sh [--quick]
set -eu
cd "$(dirname "$0")/../.."
B=${OB_BUILD:-build}
out=$B/bench
mkdir -p "$out"
CC=${CC:-cc}
CF="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iformat $(pkg-config --cflags libpng)"
LIBS="$(pkg-config --libs libcrypto libsodium libqrencode zbar zlib libpng)"

echo "== QR: frames needed with plain parts in a loop (tests/bench/qr_loss_sim.c)"
$CC $CF -o "$out/qr_loss_sim" tests/bench/qr_loss_sim.c
"$out/qr_loss_sim" 0.10 20000

echo
echo "== QR: transfer measurements (tests/bench/qr_measure.c)"
$CC $CF -o "$out/qr_measure" tests/bench/qr_measure.c "$B/libobformat.a" $LIBS
"$out/qr_measure" "$@"

echo
echo "== Key stores at scale (tests/bench/keystore_scale.sh)"
tests/bench/keystore_scale.sh "$@"
