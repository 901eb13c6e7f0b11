#!/bin/bash
# v2 interop: descriptors built and signed by our code (throwaway RSA-1024
# keys) must be accepted by stem's HiddenServiceDescriptorV2(validate=True),
# with descriptor-id/secret-id-part equal to a hashlib computation and intro
# points equal to the backends'; tampered and DigestInfo-signed descriptors
# must be rejected by stem and by us; the four stem samples must verify and
# decrypt with our code.  Needs /usr/bin/python3 with stem (skips otherwise).
set -eu
cd "$(dirname "$0")/../.."
OB_BUILD=${OB_BUILD:-build/san}
OB_TESTDATA=${OB_TESTDATA:-$PWD/tests/data/vectors}
bin=$OB_BUILD/tests/test_hsv2
py=/usr/bin/python3
if ! "$py" -c 'import stem.descriptor.hidden_service, cryptography' 2>/dev/null; then
    echo "skip: $py has no stem/cryptography"
    exit 77
fi
[ -x "$bin" ] || { echo "missing $bin (run make unit)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OB_HSV2_EMIT_DIR=$tmp "$bin"
"$py" tests/interop/lib/v2_stem_check.py "$tmp" "$OB_TESTDATA/v2" "$bin"
