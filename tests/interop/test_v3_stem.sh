#!/bin/bash
# test_v3_stem.sh - our v3 descriptors against stem (python3-stem), both ways.
#
# 1. stem's builder makes 10 backend descriptors (3 intro points each, current time
#    period) and tampered ones (flipped signature byte, listed under another address,
#    another period, expired signing-key certificate);
# 2. test_hsv3_build in interop mode verifies them all with our verifier, then selects
#    intro points and signs master descriptors with a fresh master key;
# 3. stem parses, signature-checks and decrypts every master descriptor with the master
#    address and finds 20 intro points in each, all of them the backends';
# 4. if tor is installed: a tor with DisableNetwork (control port on 127.0.0.1) accepts
#    every master descriptor through HSPOST and refuses a copy with a flipped signature.
# Details: tests/interop/helpers/v3_stem.py.  Skips (77) without stem or the test binary.
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
bin=${OB_BUILD:-build/san}/tests/test_hsv3_build
[ -x "$PY" ] && "$PY" -c 'import stem.descriptor.hidden_service, cryptography' 2>/dev/null ||
    { echo "python3-stem (with cryptography) is not installed"; exit 77; }
[ -x "$bin" ] || { echo "$bin is not built (make unit)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$PY" tests/interop/helpers/v3_stem.py gen "$dir"
OB_V3_INTEROP_DIR=$dir "$bin"
"$PY" tests/interop/helpers/v3_stem.py check "$dir"
rc=0
"$PY" tests/interop/helpers/v3_stem.py tor "$dir" || rc=$?
[ $rc -eq 0 ] || [ $rc -eq 77 ] || exit $rc
