#!/bin/bash
# The project must build and test from a clone with nothing beside it: no
# test, script, Makefile rule or CI step may read a folder outside the tree
# (an earlier version read the test data from a sibling folder only CI had).  The
# vectors live in tests/data/vectors; this fails on any reference to a
# sibling folder of the checkout.
set -u
cd "$(dirname "$0")/../.."
self=tests/unit/test_self_contained.sh
hits=$(git grep -n -I -E '(\.\./)+shared|/work/shared|OB_SHARED' -- \
    tests Makefile .ci README.rst docs ':!tests/data/vectors' ":!$self" || true)
if [ -n "$hits" ]; then
    echo "FAIL: these lines refer to a folder outside the project:"
    echo "$hits"
    exit 1
fi
# And the vectors the tests name are there.
missing=0
for f in v2/expected_values.txt v3/expected_values.txt v3/tor_hs_common_vectors.txt \
    v3/known_key_v3_descriptor ed25519/tor_ed25519_blinding_vectors.txt \
    control/safecookie_vector.txt; do
    [ -s "tests/data/vectors/$f" ] || { echo "FAIL: tests/data/vectors/$f is missing"; missing=1; }
done
[ $missing -eq 0 ] || exit 1
echo "self-contained: nothing under tests/, docs/, the Makefile or .ci reads outside the tree"
