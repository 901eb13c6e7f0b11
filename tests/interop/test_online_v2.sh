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
echo "ok"
